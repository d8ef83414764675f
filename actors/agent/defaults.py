"""The agent's default timings and bounds (Mesos' agent flag defaults and constants).

A leaf module: ``config`` (``AgentConfig``'s defaults and checks, re-exported from
there, as everything outside the package imports them), ``command_line`` (the flag
defaults) and ``registration`` (the retry bound) read them; it imports only ``PID``.
"""

from __future__ import annotations

from transport.pid import PID

__all__ = [
    "DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT",
    "DEFAULT_EXECUTOR_REREGISTRATION_RETRY_INTERVAL",
    "DEFAULT_EXECUTOR_REREGISTRATION_TIMEOUT",
    "DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD",
    "DEFAULT_MASTER",
    "DEFAULT_RECOVERY_TIMEOUT",
    "DEFAULT_REGISTRATION_BACKOFF_FACTOR",
    "MAX_EXECUTOR_REREGISTRATION_TIMEOUT",
    "REGISTRATION_RETRY_INTERVAL_MAX",
    "STATUS_UPDATE_RETRY_INTERVAL_MAX",
    "STATUS_UPDATE_RETRY_INTERVAL_MIN",
]

DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT = 60.0
"""Seconds an executor has to register before it is killed (Mesos: 1 min)."""

DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD = 5.0
"""Seconds between ShutdownExecutor and the kill of the executor's processes (Mesos: 5 s)."""

DEFAULT_EXECUTOR_REREGISTRATION_TIMEOUT = 2.0
"""Seconds a restarted agent waits for its recovered executors to re-register (Mesos: 2 s)."""

MAX_EXECUTOR_REREGISTRATION_TIMEOUT = 15.0
"""Upper bound of ``--executor_reregistration_timeout`` (Mesos: 15 s)."""

DEFAULT_EXECUTOR_REREGISTRATION_RETRY_INTERVAL = 1.0
"""Seconds between ReconnectExecutor re-sends (Mesos' flag has no default: no re-sends;
our executors cannot re-link a stale connection, so re-sending is on by default)."""

DEFAULT_RECOVERY_TIMEOUT = 900.0
"""Seconds a checkpointing executor waits for its disconnected agent (Mesos: 15 mins)."""

DEFAULT_REGISTRATION_BACKOFF_FACTOR = 0.5
"""The first registration goes out after a random delay in [0, this].

Mesos' default is 1 s, to spread a new master's herd of re-registering agents. Ours
admits them in batches (the registry worker: 1,000 agents in ~0.15 s), so half of it
spreads them enough and cuts ~0.5 s off every failover (``scripts/bench failover``)."""

REGISTRATION_RETRY_INTERVAL_MAX = 60.0
"""Registration retries back off up to this (Mesos ``REGISTER_RETRY_INTERVAL_MAX``)."""

STATUS_UPDATE_RETRY_INTERVAL_MIN = 10.0
"""First re-send of an unacknowledged status update (Mesos' constants.hpp)."""

STATUS_UPDATE_RETRY_INTERVAL_MAX = 600.0
"""Status update re-sends back off up to this (10 min)."""

DEFAULT_MASTER = PID("master", "127.0.0.1", 5050)
"""``AgentConfig.master`` by default (with ``--master=zk://``: unused until a leader
is detected)."""
