"""Isolation and usage monitoring of executor containers (Mesos' containerizer).

``limits`` (pure: ``--isolation``, limits from resources, the memory decision),
``cgroups`` (probing v1/v2, one container's groups), ``usage`` (psutil process-tree
sums), ``containerizer`` (the ``Containerizer`` seam and ``IsolatingContainerizer``)
and ``monitor`` (``/monitor/statistics``). ``AgentActor`` owns one containerizer.
"""

from actors.agent.containerizer.containerizer import (
    WATCH_INTERVAL,
    Containerizer,
    ContainerizerError,
    IsolatingContainerizer,
    LimitationCallback,
)
from actors.agent.containerizer.limits import (
    DEFAULT_ISOLATION,
    ContainerLimits,
    Isolation,
    container_limits,
    parse_isolation,
)

__all__ = [
    "DEFAULT_ISOLATION",
    "WATCH_INTERVAL",
    "ContainerLimits",
    "Containerizer",
    "ContainerizerError",
    "IsolatingContainerizer",
    "Isolation",
    "LimitationCallback",
    "container_limits",
    "parse_isolation",
]
