"""Sandbox garbage collection: what to remove when (pure), and the removal itself.

Mesos' ``src/slave/gc.cpp`` and ``Slave::checkDiskUsage``. ``sandboxes`` (the agent)
schedules a path when it is done with it -- an executor run's sandbox and meta run
directory once the run is over and its tasks' terminal updates are acknowledged, the
executor's directories with it, the framework's once it has no executor left -- for
``now + --gc_delay``; and unschedules the framework / executor directories when a new
executor of theirs starts. ``GcSchedule`` keeps ``path -> removal time``:

- ``due(now)``: the paths whose time has come (the agent's timer fires at
  ``next_removal()``);
- every ``--disk_watch_interval`` the agent measures the work_dir's disk (``disk_usage``:
  used / size of its file system) and ``prune``s: a sandbox may then be at most
  ``max_allowed_age(gc_delay, gc_disk_headroom, usage)`` = ``gc_delay * max(0, 1 -
  headroom - usage)`` old, so everything scheduled at least that long ago goes now.

At start (after recovery) ``unknown_dirs`` finds what the agent has no record of -- old
agents' trees, frameworks, executors and runs left by an earlier life -- which is
scheduled by its modification time (Mesos: ``gc_delay - (now - mtime)``).

``trash`` and ``remove_tree`` do the removal: the agent renames a path into
``<work_dir>/.trash`` on its own thread (one rename: a new sandbox created at the
same path a moment later is safe) and a ``Background`` thread deletes the trash.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass, field

__all__ = ["DEFAULT_DISK_WATCH_INTERVAL", "DEFAULT_GC_DELAY", "DEFAULT_GC_DISK_HEADROOM",
           "GcSchedule", "disk_usage", "max_allowed_age", "remove_tree", "trash",
           "trash_dir", "unknown_dirs"]

DEFAULT_GC_DELAY = 7 * 86400.0
"""Seconds a finished sandbox is kept, at most (Mesos ``--gc_delay``: 1weeks)."""

DEFAULT_DISK_WATCH_INTERVAL = 60.0
"""Seconds between disk usage checks (Mesos ``--disk_watch_interval``: 1mins)."""

DEFAULT_GC_DISK_HEADROOM = 0.1
"""Share of the disk kept free by pruning sooner (Mesos ``--gc_disk_headroom``)."""


def max_allowed_age(gc_delay: float, headroom: float, usage: float) -> float:
    """How old a finished sandbox may be at this disk ``usage`` (0..1), as Mesos computes."""
    return gc_delay * max(0.0, 1.0 - headroom - usage)


@dataclass(slots=True)
class GcSchedule:
    """Paths and when to remove them; pure (times are passed in)."""

    removals: dict[str, float] = field(default_factory=dict)
    """path -> removal time (epoch seconds)."""
    delays: dict[str, float] = field(default_factory=dict)
    """path -> the delay it was scheduled with (its schedule time is removal - delay)."""

    def schedule(self, path: str, now: float, delay: float) -> None:
        """Remove ``path`` at ``now + delay`` (rescheduling it if it was scheduled)."""
        self.removals[path] = now + delay
        self.delays[path] = delay

    def unschedule(self, path: str) -> bool:
        self.delays.pop(path, None)
        return self.removals.pop(path, None) is not None

    def __contains__(self, path: str) -> bool:
        return path in self.removals

    def __len__(self) -> int:
        return len(self.removals)

    def next_removal(self) -> float | None:
        return min(self.removals.values(), default=None)

    def due(self, now: float) -> list[str]:
        """Take the paths whose removal time is ``now`` or earlier, oldest first."""
        return self._take([p for p, when in self.removals.items() if when <= now])

    def prune(self, now: float, max_age: float) -> list[str]:
        """Take the paths scheduled ``max_age`` seconds ago or more, oldest first."""
        return self._take([p for p, when in self.removals.items()
                           if when - self.delays[p] <= now - max_age])

    def _take(self, paths: list[str]) -> list[str]:
        paths.sort(key=lambda p: (self.removals[p], p))
        for path in paths:
            self.unschedule(path)
        return paths


def disk_usage(path: str) -> float:
    """Used share (0..1) of the file system holding ``path`` (Mesos' ``fs::usage``)."""
    st = os.statvfs(path)
    total = st.f_blocks * st.f_frsize
    if total <= 0:
        return 0.0
    return max(0.0, min(1.0, (total - st.f_bavail * st.f_frsize) / total))


def trash_dir(work_dir: str) -> str:
    return os.path.join(work_dir, ".trash")


def trash(path: str, work_dir: str) -> str | None:
    """Move ``path`` into the work_dir's trash (one rename); where it went, or ``None``
    if it is gone already. Falls back to ``path`` itself across file systems."""
    if not os.path.lexists(path):
        return None
    target = os.path.join(trash_dir(work_dir), uuid.uuid4().hex)
    os.makedirs(trash_dir(work_dir), exist_ok=True)
    try:
        os.rename(path, target)
    except OSError:
        return path  # another file system: removed in place, on the worker thread
    return target


def remove_tree(path: str) -> str:
    """Delete ``path`` (a directory tree, never following its symlinks, or a file)."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)
    return path


def _subdirs(path: str) -> list[str]:
    try:
        names = sorted(os.listdir(path))
    except OSError:
        return []
    return [os.path.join(path, n) for n in names
            if os.path.isdir(os.path.join(path, n)) and not os.path.islink(os.path.join(path, n))]


def unknown_dirs(agents_dirs: tuple[str, ...], agent_id: str, known: set[str]) -> list[str]:
    """The largest directories under each ``<root>/agents`` that hold no ``known`` path:
    other agents' whole trees, else this agent's frameworks, executors or runs."""
    def holds(path: str) -> bool:
        return any(k == path or k.startswith(path + os.sep) for k in known)

    found: list[str] = []
    for root in agents_dirs:
        for agent in _subdirs(root):
            if os.path.basename(agent) != agent_id:
                found.append(agent)
                continue
            for framework in _subdirs(os.path.join(agent, "frameworks")):
                if not holds(framework):
                    found.append(framework)
                    continue
                for executor in _subdirs(os.path.join(framework, "executors")):
                    if not holds(executor):
                        found.append(executor)
                        continue
                    found += [run for run in _subdirs(os.path.join(executor, "runs"))
                              if not holds(run)]
    return found
