"""cgroups for the ``cgroups/*`` isolators: probing the hierarchies, one container's groups.

``Containerizer`` (``containerizer``) probes once at agent start (``probe``) and then
makes a ``ContainerCgroups`` per executor run. Every container's groups live under
the agent's OWN cgroup in each hierarchy (``/proc/self/cgroup``), as
``<own>/<cgroups_root>/<container_id>``; processes are never moved out of their
hierarchy otherwise.

- v1 (one mount per controller, ``cpu`` and ``cpuacct`` possibly apart): ``memory``
  (``memory.limit_in_bytes``, ``memory.memsw.limit_in_bytes`` when present,
  ``memory.oom_control``), ``cpu`` (``cpu.shares``, ``cpu.cfs_period_us`` /
  ``cpu.cfs_quota_us``, ``cpu.stat``), ``pids`` (accounting only: Mesos has no pids
  resource) and ``freezer`` (destroy: FROZEN, SIGKILL every pid, THAWED);
- v2 (one unified tree, used only when it offers memory, cpu and pids): ``memory.max``,
  ``cpu.max``, ``cpu.weight``, ``memory.events``; destroy by
  ``cgroup.kill`` where present, else SIGKILL each pid.

The parsing (``parse_proc_cgroup``, ``parse_mounts``, ``parse_flat_keyed``) is pure.
Under v1 the kernel's OOM killer is disabled in the container's memory group
(``oom_kill_disable 1``): a container at its limit is paused (``under_oom 1``) until the
watchdog sees it and the agent kills the whole container, so the exit is always
attributed to the limitation (the kernel killing one process would race the
executor's own report of its task's death).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass

from actors.agent.containerizer.limits import (
    CFS_PERIOD_US,
    ContainerLimits,
    cfs_quota_us,
    cpu_shares,
)

__all__ = [
    "CgroupSupport",
    "ContainerCgroups",
    "parse_flat_keyed",
    "parse_mounts",
    "parse_proc_cgroup",
    "probe",
]

V1_CONTROLLERS = ("memory", "cpu", "pids", "freezer")
_V1_PROBE_FILE = {"memory": "memory.limit_in_bytes", "cpu": "cpu.cfs_quota_us",
                  "pids": "cgroup.procs", "freezer": "cgroup.procs"}
_V2_NEEDED = ("memory", "cpu", "pids")


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """``/proc/<pid>/cgroup`` -> controller -> path (``""`` is the v2 unified tree)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.strip().split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if not controllers:
            out[""] = path
            continue
        for name in controllers.split(","):
            out[name.removeprefix("name=")] = path
    return out


def parse_mounts(text: str) -> tuple[dict[str, str], str | None]:
    """``/proc/mounts`` -> (v1 controller -> mount point, the cgroup2 mount or None)."""
    v1: dict[str, str] = {}
    v2: str | None = None
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        mount, fstype, options = fields[1], fields[2], fields[3].split(",")
        if fstype == "cgroup2" and v2 is None:
            v2 = mount
        elif fstype == "cgroup":
            for option in options:
                v1.setdefault(option, mount)
    return v1, v2


def parse_flat_keyed(text: str) -> dict[str, int]:
    """``key value`` lines (``cpu.stat``, ``memory.stat``, ``memory.oom_control``)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        try:
            out[key] = int(value)
        except ValueError:
            continue
    return out


def _join(mount: str, path: str) -> str:
    return os.path.join(mount, path.lstrip("/"))


@dataclass(frozen=True, slots=True)
class CgroupSupport:
    """What the kernel offers this process: ``version`` 1 or 2 and the own cgroup dirs
    (v1: per controller; v2: ``{"": unified dir}``); ``missing`` says what is not."""

    version: int
    own: dict[str, str]
    missing: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.version == 0:
            return "no usable cgroups (" + "; ".join(self.missing) + ")"
        return f"cgroups v{self.version}: " + ", ".join(
            f"{name or 'unified'}={path}" for name, path in sorted(self.own.items()))


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def probe(proc_cgroup: str | None = None, mounts: str | None = None) -> CgroupSupport:
    """Find the memory, cpu, pids and freezer controllers: v1 if all mount, else v2."""
    try:
        proc_cgroup = _read("/proc/self/cgroup") if proc_cgroup is None else proc_cgroup
        mounts = _read("/proc/mounts") if mounts is None else mounts
    except OSError as exc:
        return CgroupSupport(0, {}, (f"cannot read /proc: {exc}",))
    paths = parse_proc_cgroup(proc_cgroup)
    v1_mounts, v2_mount = parse_mounts(mounts)
    own: dict[str, str] = {}
    missing: list[str] = []
    for name in V1_CONTROLLERS:
        mount, path = v1_mounts.get(name), paths.get(name)
        if mount is None or path is None:
            missing.append(f"v1 {name} not mounted")
            continue
        directory = _join(mount, path)
        if not os.access(os.path.join(directory, _V1_PROBE_FILE[name]), os.W_OK) \
                and not os.access(directory, os.W_OK):
            missing.append(f"v1 {name} at {directory} not writable")
            continue
        own[name] = directory
    if not missing:
        return CgroupSupport(1, own)
    if v2_mount is not None and "" in paths:
        directory = _join(v2_mount, paths[""])
        try:
            available = _read(os.path.join(directory, "cgroup.controllers")).split()
        except OSError:
            available = []
        lacking = [c for c in _V2_NEEDED if c not in available]
        if not lacking and os.access(directory, os.W_OK):
            return CgroupSupport(2, {"": directory})
        missing.append(f"v2 at {directory} lacks {', '.join(lacking) or 'write access'}")
    return CgroupSupport(0, {}, tuple(missing))


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _try_write(path: str, value: str) -> bool:
    try:
        _write(path, value)
    except OSError:
        return False
    return True


class ContainerCgroups:
    """One container's groups (see the module docstring). Not thread-safe by itself:
    the containerizer calls it from one thread at a time per container."""

    def __init__(self, support: CgroupSupport, root: str, container_id: str,
                 controllers: Iterable[str]) -> None:
        self.version = support.version
        wanted = set(controllers) | ({"freezer"} if support.version == 1 else set())
        self.dirs: dict[str, str] = {
            name: os.path.join(base, root, container_id)
            for name, base in support.own.items() if support.version == 2 or name in wanted}
        self.roots = {name: os.path.join(base, root) for name, base in support.own.items()}
        self.controllers = frozenset(controllers)
        self.oom_kill_disabled = False

    def _dir(self, controller: str) -> str | None:
        return self.dirs.get("" if self.version == 2 else controller)

    def create(self) -> None:
        """Make the directories (``OSError`` if the kernel refuses)."""
        if self.version == 2:
            root = self.roots[""]
            os.makedirs(root, exist_ok=True)
            # The children's controllers are enabled one level down: <own>/<root>.
            _try_write(os.path.join(os.path.dirname(root), "cgroup.subtree_control"),
                       "+memory +cpu +pids")
            _write(os.path.join(root, "cgroup.subtree_control"), "+memory +cpu +pids")
        for directory in self.dirs.values():
            os.makedirs(directory, exist_ok=True)
        memory = self._dir("memory")
        if self.version == 1 and memory is not None and "memory" in self.controllers:
            self.oom_kill_disabled = _try_write(
                os.path.join(memory, "memory.oom_control"), "1")

    def procs_files(self) -> tuple[str, ...]:
        """The ``cgroup.procs`` files a new executor writes its pid into."""
        return tuple(os.path.join(d, "cgroup.procs") for d in self.dirs.values())

    def set_limits(self, limits: ContainerLimits, grow_only_memory: bool = False) -> None:
        """Write the cpu and memory limits (memory lowered only above current usage)."""
        cpu, memory = self._dir("cpu"), self._dir("memory")
        if cpu is not None and "cpu" in self.controllers and limits.cpus:
            quota = cfs_quota_us(limits.cpus)
            if self.version == 1:
                _write(os.path.join(cpu, "cpu.shares"), str(cpu_shares(limits.cpus)))
                _write(os.path.join(cpu, "cpu.cfs_period_us"), str(CFS_PERIOD_US))
                _write(os.path.join(cpu, "cpu.cfs_quota_us"), str(quota))
            else:
                _write(os.path.join(cpu, "cpu.max"), f"{quota} {CFS_PERIOD_US}")
                weight = max(1, min(10000, int(100 * limits.cpus)))
                _try_write(os.path.join(cpu, "cpu.weight"), str(weight))
        if memory is not None and "memory" in self.controllers and limits.mem_bytes:
            if grow_only_memory and (self.memory_usage() or 0) >= limits.mem_bytes:
                return
            if self.version == 1:
                self._set_v1_memory(memory, limits.mem_bytes)
            else:
                _write(os.path.join(memory, "memory.max"), str(limits.mem_bytes))
                _try_write(os.path.join(memory, "memory.swap.max"), "0")

    @staticmethod
    def _set_v1_memory(memory: str, limit: int) -> None:
        memsw = os.path.join(memory, "memory.memsw.limit_in_bytes")
        plain = os.path.join(memory, "memory.limit_in_bytes")
        if not os.path.exists(memsw):
            _write(plain, str(limit))
            return
        # memsw must stay >= the plain limit: raise memsw first, lower it last.
        if _try_write(memsw, str(limit)):
            _write(plain, str(limit))
        else:
            _write(plain, str(limit))
            _write(memsw, str(limit))

    # --- reading ----------------------------------------------------------------------

    def _stat(self, controller: str, name: str) -> dict[str, int]:
        directory = self._dir(controller)
        if directory is None:
            return {}
        try:
            return parse_flat_keyed(_read(os.path.join(directory, name)))
        except OSError:
            return {}

    def _int(self, controller: str, name: str) -> int | None:
        directory = self._dir(controller)
        if directory is None:
            return None
        try:
            return int(_read(os.path.join(directory, name)).split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def memory_usage(self) -> int | None:
        return self._int("memory", "memory.usage_in_bytes" if self.version == 1
                         else "memory.current")

    def memory_peak(self) -> int | None:
        return self._int("memory", "memory.max_usage_in_bytes" if self.version == 1
                         else "memory.peak")

    def out_of_memory(self) -> bool:
        """Paused at the limit (v1, OOM killer off) or a process was OOM-killed."""
        if self.version == 1:
            oom = self._stat("memory", "memory.oom_control")
            return bool(oom.get("under_oom") or oom.get("oom_kill"))
        return bool(self._stat("memory", "memory.events").get("oom_kill"))

    def statistics(self) -> dict[str, int | float]:
        """The ``ResourceStatistics`` fields the groups can tell (what is readable)."""
        out: dict[str, int | float] = {}
        if "cpu" in self.controllers:
            stat = self._stat("cpu", "cpu.stat")
            if "nr_periods" in stat:
                out["cpus_nr_periods"] = stat["nr_periods"]
                out["cpus_nr_throttled"] = stat.get("nr_throttled", 0)
            if "throttled_time" in stat:  # v1: nanoseconds
                out["cpus_throttled_time_secs"] = stat["throttled_time"] / 1e9
            elif "throttled_usec" in stat:
                out["cpus_throttled_time_secs"] = stat["throttled_usec"] / 1e6
        if "memory" in self.controllers:
            usage = self.memory_usage()
            if usage is not None:
                out["mem_total_bytes"] = usage
            mstat = self._stat("memory", "memory.stat")
            cache = mstat.get("total_cache", mstat.get("file"))
            if cache is not None:
                out["mem_cache_bytes"] = cache
            swap = mstat.get("total_swap")
            if swap is not None:
                out["mem_swap_bytes"] = swap
        return out  # (v1 pids.current counts threads, not processes: psutil's count stays)

    def pids(self) -> set[int]:
        found: set[int] = set()
        for path in self.procs_files():
            try:
                found.update(int(p) for p in _read(path).split())
            except (OSError, ValueError):
                continue
        return found

    # --- destroying -------------------------------------------------------------------

    def freeze(self, timeout: float = 1.0) -> bool:
        """v1 freezer FROZEN (waiting up to ``timeout``); False if it did not settle."""
        freezer = self.dirs.get("freezer") if self.version == 1 else None
        if freezer is None:
            return False
        state = os.path.join(freezer, "freezer.state")
        if not _try_write(state, "FROZEN"):
            return False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if _read(state).strip() == "FROZEN":
                    return True
            except OSError:
                return False
            time.sleep(0.01)
        return False

    def thaw(self) -> None:
        freezer = self.dirs.get("freezer") if self.version == 1 else None
        if freezer is not None:
            _try_write(os.path.join(freezer, "freezer.state"), "THAWED")

    def kill_all(self) -> None:
        """SIGKILL every process in the container (frozen first where a freezer is)."""
        if self.version == 2:
            unified = self.dirs.get("")
            if unified is not None and _try_write(os.path.join(unified, "cgroup.kill"), "1"):
                return
        self.freeze()
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.thaw()

    def remove(self) -> bool:
        """rmdir the groups (True once none is left; False while processes linger)."""
        done = True
        for directory in self.dirs.values():
            try:
                os.rmdir(directory)
            except FileNotFoundError:
                continue
            except OSError:
                done = False
        return done
