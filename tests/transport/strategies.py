"""Hypothesis strategies for the transport's value types (registered on import)."""

from __future__ import annotations

import string

from hypothesis import strategies as st

from transport import PID

names = st.text(alphabet=string.ascii_letters + string.digits + "()_-.:@/", min_size=1,
                max_size=20)
hosts = st.one_of(
    st.sampled_from(["127.0.0.1", "10.0.0.5", "localhost", "[::1]", "agent-1.example.com"]),
    st.ip_addresses(v=4).map(str),
)
ports = st.integers(min_value=1, max_value=65535)
pids = st.builds(PID, names, hosts, ports)

st.register_type_strategy(PID, pids)
