"""The Mesos v1 scheduler HTTP API on the master (``POST /api/v1/scheduler``).

- ``route``: the HTTP handler (status codes, SUBSCRIBE's stream, the other calls);
- ``calls``: a v1 ``Call`` (JSON) -> the native message a ``SchedulerDriver`` would send;
- ``events``: a message the master sends a framework -> the v1 ``Event``, RecordIO-framed;
- ``link``: ``HttpLinks``, the open event streams, heartbeats, and a closed stream as the
  framework's ``exited``;
- ``auth``: ``--authenticate_http_frameworks`` (the ``mesos-master-scheduler`` realm and
  the principal checks of SUBSCRIBE and later calls).

An HTTP framework is addressed inside the master by a PID on no node
(``actors.master.frameworks.http_scheduler_pid``), so every handler serves it as it
serves a native framework.
"""

from actors.master.scheduler_api.calls import Call, CallError, decode_call
from actors.master.scheduler_api.link import HttpLink, HttpLinks

__all__ = ["Call", "CallError", "HttpLink", "HttpLinks", "decode_call"]
