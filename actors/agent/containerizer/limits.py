"""The pure rules of isolation: which isolators, what limits, when memory is exceeded.

``Containerizer`` (``containerizer``) and the agent call these; nothing here touches
the OS. Names and numbers follow Mesos' isolators
(``src/slave/containerizer/mesos/isolators/{posix,cgroups}``):

- ``parse_isolation``: the ``--isolation`` flag (comma-separated; default
  ``posix/cpu,posix/mem``); ``posix/*`` and ``cgroups/*`` do not mix;
- ``container_limits``: an executor's container is limited by its resources plus its
  tasks' (``ExecutorRecord.resources``); a command executor adds Mesos' allowance of
  0.1 cpus and 32 MB (``DEFAULT_EXECUTOR_CPUS`` / ``DEFAULT_EXECUTOR_MEM``), a small
  overcommit the master does not see, as in Mesos;
- ``cfs_quota_us`` (``cpus * period``, at least 1 ms) and ``cpu_shares``
  (``1024 * cpus``, at least 2);
- ``memory_limitation``: the watchdog's decision (``used > limit``) and Mesos' message
  ``Memory limit exceeded: Requested: 64MB Maximum Used: 70MB``.
"""

from __future__ import annotations

from dataclasses import dataclass

from actors.resources import Resources

__all__ = [
    "CFS_PERIOD_US",
    "CGROUPS_ISOLATORS",
    "CPU_SHARES_PER_CPU",
    "DEFAULT_EXECUTOR_CPUS",
    "DEFAULT_EXECUTOR_MEM_MB",
    "DEFAULT_ISOLATION",
    "MIN_CFS_QUOTA_US",
    "MIN_CPU_SHARES",
    "POSIX_ISOLATORS",
    "ContainerLimits",
    "Isolation",
    "cfs_quota_us",
    "container_limits",
    "cpu_shares",
    "memory_limitation",
    "memory_message",
    "parse_isolation",
]

DEFAULT_ISOLATION = "posix/cpu,posix/mem"
POSIX_ISOLATORS = frozenset({"posix/cpu", "posix/mem"})
CGROUPS_ISOLATORS = frozenset({"cgroups/cpu", "cgroups/mem", "cgroups/pids"})
DEFAULT_EXECUTOR_CPUS = 0.1
DEFAULT_EXECUTOR_MEM_MB = 32.0
CFS_PERIOD_US = 100_000
"""Mesos' ``CPU_CFS_PERIOD`` (100 ms)."""
MIN_CFS_QUOTA_US = 1_000
"""Mesos' ``MIN_CPU_CFS_QUOTA`` (1 ms)."""
CPU_SHARES_PER_CPU = 1024
MIN_CPU_SHARES = 2
_MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Isolation:
    """The isolators ``--isolation`` names (a set of ``posix/...`` or ``cgroups/...``)."""

    isolators: frozenset[str]

    @property
    def cgroups(self) -> bool:
        return any(name.startswith("cgroups/") for name in self.isolators)

    def has(self, name: str) -> bool:
        return name in self.isolators

    def __str__(self) -> str:
        return ",".join(sorted(self.isolators))


def parse_isolation(text: str) -> Isolation:
    """``--isolation`` text -> ``Isolation``; ``ValueError`` names what is wrong."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise ValueError("--isolation names no isolator")
    known = POSIX_ISOLATORS | CGROUPS_ISOLATORS
    unknown = sorted(set(names) - known)
    if unknown:
        raise ValueError(f"unknown isolator(s) {', '.join(unknown)} (known: "
                         f"{', '.join(sorted(known))})")
    chosen = frozenset(names)
    if chosen & POSIX_ISOLATORS and chosen & CGROUPS_ISOLATORS:
        raise ValueError("posix/* and cgroups/* isolators do not mix")
    return Isolation(chosen)


@dataclass(frozen=True, slots=True)
class ContainerLimits:
    """What a container may use: ``cpus`` (shares of a CPU) and ``mem_bytes``."""

    cpus: float | None = None
    mem_bytes: int | None = None


def container_limits(resources: Resources, command_executor: bool) -> ContainerLimits:
    """The limits of an executor's container from its (and its tasks') resources."""
    scalars = resources.scalars()
    cpus, mem = scalars.get("cpus"), scalars.get("mem")
    if command_executor:
        cpus = (cpus or 0.0) + DEFAULT_EXECUTOR_CPUS
        mem = (mem or 0.0) + DEFAULT_EXECUTOR_MEM_MB
    return ContainerLimits(cpus=cpus if cpus else None,
                           mem_bytes=int(mem * _MB) if mem else None)


def cfs_quota_us(cpus: float, period_us: int = CFS_PERIOD_US) -> int:
    """``cpu.cfs_quota_us`` (v1) / the quota of ``cpu.max`` (v2) for ``cpus``."""
    return max(MIN_CFS_QUOTA_US, int(cpus * period_us))


def cpu_shares(cpus: float) -> int:
    """``cpu.shares`` (v1) for ``cpus``."""
    return max(MIN_CPU_SHARES, int(CPU_SHARES_PER_CPU * cpus))


def _mb(n: int) -> str:
    return f"{n // _MB}MB"


def memory_limitation(used_bytes: int, limit_bytes: int | None,
                      max_used_bytes: int | None = None) -> str | None:
    """The limitation message when ``used_bytes`` is over the limit, else None."""
    if limit_bytes is None or used_bytes <= limit_bytes:
        return None
    return memory_message(limit_bytes, max(used_bytes, max_used_bytes or 0))


def memory_message(limit_bytes: int, max_used_bytes: int) -> str:
    """Mesos' words for a container killed over its memory limit."""
    return (f"Memory limit exceeded: Requested: {_mb(limit_bytes)} "
            f"Maximum Used: {_mb(max_used_bytes)}")
