"""The ``Containerizer`` seam and Meseta's one implementation, ``IsolatingContainerizer``.

``AgentActor`` (``running``) owns one. Per executor run (container id = run id):

- ``prepare(container_id, limits)`` before the launch: under ``cgroups/*`` it creates
  the container's groups and writes the limits; it returns the ``cgroup.procs`` files
  the launched child writes its own pid into before it runs the executor
  (``LaunchSpec.cgroups``; the warm child does it in Python, the subprocess launcher
  through a ``/bin/sh`` prologue), so nothing the executor starts escapes them;
- ``launched(container_id, pid)`` after it, ``update`` when its tasks change;
- ``destroy(container_id)`` kills every process of the container (the tree under
  ``posix/*``; the freezer sweep of the groups under ``cgroups/*``) and removes its
  groups once they are empty; the launcher still reports the executor's exit.

One thread of its own (the watchdog, every ``interval`` = 0.5 s) samples each
container's usage (``usage``, one /proc pass per tick; cgroup files under
``cgroups/*``) into ``statistics()`` — what ``/monitor/statistics`` serves, read by
the actor without touching /proc — enforces memory (``posix/mem``: the tree's RSS over
the limit, confirmed by its PSS, which shares the pages a warm-forked executor has in
common with the warm launcher among all of them; ``cgroups/mem``: the group under
OOM), and retries the removal of destroyed
containers' groups. A container over its memory limit is stopped at once (SIGSTOP of
its tree, or the freezer), then reported through ``on_limitation(container_id,
reason, message)``; the agent fails its tasks with that reason and destroys it.
"""

from __future__ import annotations

import dataclasses
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from actors.agent.containerizer.cgroups import CgroupSupport, ContainerCgroups, probe
from actors.agent.containerizer.limits import (
    ContainerLimits,
    Isolation,
    memory_limitation,
    memory_message,
)
from actors.agent.containerizer.usage import (
    children_map,
    signal_tree,
    tree_pids,
    tree_pss,
    tree_usage,
)
from actors.agent.launcher import kill_tree
from actors.errors import ActorsError
from actors.messages.statistics import ResourceStatistics
from actors.messages.task_state import Reason

__all__ = [
    "WATCH_INTERVAL",
    "Containerizer",
    "ContainerizerError",
    "IsolatingContainerizer",
    "LimitationCallback",
]

_log = structlog.get_logger("meseta.agent.containerizer")

WATCH_INTERVAL = 0.5
"""Seconds between the watchdog's samples (memory enforcement, statistics)."""
_PSS_REFRESH_TICKS = 10
_REMOVE_ATTEMPTS = 240
"""Ticks a destroyed container's groups are retried for removal (~2 min)."""

LimitationCallback = Callable[[str, Reason, str], None]
"""``on_limitation(container_id, reason, message)``; called from the watchdog thread."""


class ContainerizerError(ActorsError):
    """The isolation asked for is not available here (the agent cannot start)."""


class Containerizer(Protocol):
    """Isolates executor runs and measures them; see the module docstring."""

    def start(self, on_limitation: LimitationCallback) -> None: ...

    def prepare(self, container_id: str, limits: ContainerLimits) -> tuple[str, ...]: ...

    def launched(self, container_id: str, pid: int) -> None: ...

    def recover(self, container_id: str, pid: int, limits: ContainerLimits) -> None: ...

    def update(self, container_id: str, limits: ContainerLimits) -> None: ...

    def destroy(self, container_id: str) -> None: ...

    def statistics(self) -> dict[str, ResourceStatistics]: ...

    def stop(self) -> None: ...


@dataclass(slots=True, eq=False)
class _Container:
    container_id: str
    limits: ContainerLimits
    cgroups: ContainerCgroups | None = None
    pid: int | None = None
    limited: bool = False
    destroying: bool = False
    remove_attempts: int = 0
    peak_used: int = 0
    pss_seen: tuple[int, int, int] | None = None
    """(RSS, PSS, tick) of the last PSS read (``_pss``)."""
    stats: ResourceStatistics | None = field(default=None)


class IsolatingContainerizer:
    """``posix/*`` or ``cgroups/*`` isolation (``ContainerizerError`` if unavailable)."""

    def __init__(self, isolation: Isolation, cgroups_root: str = "meseta",
                 interval: float = WATCH_INTERVAL,
                 support: CgroupSupport | None = None) -> None:
        self.isolation = isolation
        self.cgroups_root = cgroups_root
        self.interval = interval
        self.support = support if support is not None else probe()
        if isolation.cgroups and self.support.version == 0:
            raise ContainerizerError(
                f"--isolation={isolation} needs cgroups: {self.support.describe()}")
        self._controllers = frozenset(
            name.split("/", 1)[1].replace("mem", "memory")
            for name in isolation.isolators if name.startswith("cgroups/"))
        self._containers: dict[str, _Container] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._on_limitation: LimitationCallback | None = None
        self._ticks = 0

    # --- the agent's calls (its actor thread) -----------------------------------------

    def start(self, on_limitation: LimitationCallback) -> None:
        self._on_limitation = on_limitation
        self._thread = threading.Thread(target=self._run, name="meseta-containerizer",
                                        daemon=True)
        self._thread.start()

    def prepare(self, container_id: str, limits: ContainerLimits) -> tuple[str, ...]:
        container = _Container(container_id, limits)
        if self.isolation.cgroups:
            groups = ContainerCgroups(self.support, self.cgroups_root, container_id,
                                      self._controllers)
            try:
                groups.create()
                groups.set_limits(limits)
            except OSError as exc:
                groups.remove()
                raise ContainerizerError(f"cannot create the container's cgroups: {exc}") \
                    from exc
            container.cgroups = groups
        with self._lock:
            self._containers[container_id] = container
        return container.cgroups.procs_files() if container.cgroups else ()

    def launched(self, container_id: str, pid: int) -> None:
        with self._lock:
            container = self._containers.get(container_id)
            if container is not None:
                container.pid = pid
        self._wake.set()

    def recover(self, container_id: str, pid: int, limits: ContainerLimits) -> None:
        """Adopt a recovered executor (its groups, if a previous agent made them)."""
        container = _Container(container_id, limits, pid=pid)
        if self.isolation.cgroups:
            groups = ContainerCgroups(self.support, self.cgroups_root, container_id,
                                      self._controllers)
            if groups.pids():
                container.cgroups = groups
        with self._lock:
            self._containers[container_id] = container

    def update(self, container_id: str, limits: ContainerLimits) -> None:
        with self._lock:
            container = self._containers.get(container_id)
            if container is None or container.destroying or limits == container.limits:
                return
            container.limits = limits
            groups = container.cgroups
        if groups is not None:
            try:
                groups.set_limits(limits, grow_only_memory=True)
            except OSError as exc:
                _log.warning("cannot update the container's limits",
                             container_id=container_id, error=str(exc))

    def destroy(self, container_id: str) -> None:
        with self._lock:
            container = self._containers.get(container_id)
            if container is None:
                return
            container.destroying = True
            pid = container.pid
        if pid is not None:
            kill_tree(pid)
        self._wake.set()  # the watchdog sweeps the groups and removes them

    def statistics(self) -> dict[str, ResourceStatistics]:
        """The latest sample of every live container."""
        with self._lock:
            return {c.container_id: c.stats for c in self._containers.values()
                    if c.stats is not None and not c.destroying}

    def limits(self, container_id: str) -> ContainerLimits | None:
        with self._lock:
            container = self._containers.get(container_id)
            return container.limits if container is not None else None

    def stop(self, timeout: float = 5.0) -> None:
        """End the watchdog; sweep destroyed containers for up to ``timeout`` seconds.
        Containers not destroyed (executors left to a restarted agent) keep running."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._sweep()
            with self._lock:
                if not any(c.destroying for c in self._containers.values()):
                    return
            time.sleep(0.05)

    # --- the watchdog thread ----------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                self._tick()
            except Exception:  # a bad read must not end enforcement; say so loudly
                _log.exception("containerizer tick failed")
            self._wake.wait(max(0.0, self.interval - (time.monotonic() - started)))
            self._wake.clear()

    def _tick(self) -> None:
        self._ticks += 1
        self._sweep()
        with self._lock:
            live = [c for c in self._containers.values() if not c.destroying]
        if not live:
            return
        children = children_map()
        for container in live:
            self._sample(container, children)

    def _sample(self, container: _Container, children: dict[int, list[int]]) -> None:
        if container.pid is None:
            return
        pids = tree_pids(container.pid, children)
        usage = tree_usage(pids)
        groups = container.cgroups
        extra = groups.statistics() if groups is not None else {}
        limits = container.limits
        stats = ResourceStatistics(
            timestamp=time.time(),
            processes=usage.processes if usage else None,
            threads=usage.threads if usage else None,
            cpus_user_time_secs=usage.user_secs if usage else None,
            cpus_system_time_secs=usage.system_secs if usage else None,
            cpus_limit=limits.cpus, mem_rss_bytes=usage.rss_bytes if usage else None,
            mem_limit_bytes=limits.mem_bytes)
        if extra:
            stats = dataclasses.replace(stats, **extra)  # type: ignore[arg-type]
        container.stats = stats
        if container.limited:
            return
        message: str | None = None
        if groups is not None and "memory" in self._controllers:
            if limits.mem_bytes is not None and groups.out_of_memory():
                groups.freeze()
                message = memory_message(limits.mem_bytes,
                                         groups.memory_peak() or limits.mem_bytes)
        elif self.isolation.has("posix/mem") and usage is not None \
                and memory_limitation(usage.rss_bytes, limits.mem_bytes) is not None:
            # RSS counts pages a warm-forked executor shares with the warm launcher
            # (~30 MB of Python, more than Mesos' 32 MB allowance): confirm with PSS.
            used = self._pss(container, pids, usage.rss_bytes)
            container.peak_used = max(container.peak_used, used)
            message = memory_limitation(used, limits.mem_bytes, container.peak_used)
            if message is not None:
                signal_tree(pids, signal.SIGSTOP)  # nothing of it runs (or reports) on
        if message is None:
            return
        container.limited = True
        _log.warning("container over its memory limit", container_id=container.container_id,
                     message=message)
        if self._on_limitation is not None:
            self._on_limitation(container.container_id,
                                Reason.REASON_CONTAINER_LIMITATION_MEMORY, message)

    def _pss(self, container: _Container, pids: list[int], rss: int) -> int:
        """The tree's PSS, or a bound of it: the last PSS plus the RSS grown since (PSS
        grows no faster), while that stays under the limit and is under 5 s old."""
        seen = container.pss_seen
        if seen is not None and self._ticks - seen[2] < _PSS_REFRESH_TICKS:
            bound = seen[1] + max(0, rss - seen[0])
            if container.limits.mem_bytes is not None and bound <= container.limits.mem_bytes:
                return bound
        pss = tree_pss(pids)
        container.pss_seen = (rss, pss, self._ticks)
        return pss

    def _sweep(self) -> None:
        """Kill what is left in destroyed containers' groups; remove the empty ones."""
        with self._lock:
            doomed = [c for c in self._containers.values() if c.destroying]
        for container in doomed:
            groups = container.cgroups
            removed = True
            if groups is not None:
                if groups.pids():
                    groups.kill_all()
                removed = groups.remove()
            container.remove_attempts += 1
            if removed or container.remove_attempts >= _REMOVE_ATTEMPTS:
                if not removed:
                    _log.warning("cannot remove a destroyed container's cgroups",
                                 container_id=container.container_id)
                with self._lock:
                    self._containers.pop(container.container_id, None)
