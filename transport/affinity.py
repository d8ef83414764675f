"""Where a node's Python threads run: one CPU for all of them (``Node(cpu_affinity=...)``).

Why: under the GIL a node's Python threads never run Python code at the same time, yet
every message crosses two of them on each side (the I/O thread hands an inbound batch
to the actor's inbox; the actor's send wakes the I/O thread). A thread woken on another,
idle core pays for waking that core (on a virtual machine an inter-processor interrupt
and a VM exit: ~25 µs here, against ~3-6 µs on the waker's own core), so a round trip
between two actors on two nodes paid four such wake-ups more than raw pyzmq does.
Keeping a node's Python threads together on one core makes those hand-offs cheap;
libzmq's own I/O threads (C, no GIL) are started before the pin and run anywhere.

Policies (``--cpu_affinity`` / ``MESETA_CPU_AFFINITY``):

- ``auto`` (the default): threads start where the kernel puts them; after the first
  ``interval`` the node pins its threads to the least busy allowed core, and at every
  later check it moves them when another core is idler, by ``margin`` of a core, than
  the load *other* programs put on its own (``choose_core``, a pure function). Moves are
  taken at random half of the time, so two nodes sharing a core do not both leave it.
- ``none``: the kernel places every thread; nothing is read or pinned.
- ``N``: every thread of the node on CPU ``N``, never moved.

Who talks to it: the node's I/O thread and every ``Process`` thread call ``adopt()`` as
they start and ``release()`` as they end; the I/O thread calls ``check()`` about every
``interval``. Code that starts OS processes from a node's thread wraps the spawn in
``unpinned()``, so children inherit the whole allowed CPU set, not the node's one core.
Threads started from a pinned thread inherit its core and are not moved with the node.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

__all__ = ["Placement", "check_cpu_affinity", "choose_core", "parse_cpu_affinity", "unpinned"]

_SUPPORTED = hasattr(os, "sched_setaffinity")
_local = threading.local()


def parse_cpu_affinity(text: str | int | None) -> str | int:
    """``auto`` | ``none`` | a CPU number; raises ``ValueError`` saying what is accepted."""
    if text is None or text == "":
        return "auto"
    if isinstance(text, int):
        value = text
    else:
        word = text.strip().lower()
        if word in ("auto", "none"):
            return word
        try:
            value = int(word)
        except ValueError:
            raise ValueError(f"cpu_affinity must be 'auto', 'none' or a CPU number, "
                             f"not {text!r}") from None
    if value < 0:
        raise ValueError(f"cpu_affinity must be a CPU number >= 0, not {value}")
    return value


def check_cpu_affinity(value: str) -> str | None:
    """A ``--cpu_affinity`` flag check (``transport.flags``): the error, or ``None``."""
    try:
        policy = parse_cpu_affinity(value)
    except ValueError as exc:
        return str(exc).removeprefix("cpu_affinity ")
    if isinstance(policy, int) and _SUPPORTED:
        allowed = os.sched_getaffinity(0)
        if policy not in allowed:
            return f"CPU {policy} is not among this process's CPUs {sorted(allowed)}"
    return None


def choose_core(busy: Mapping[int, float], ours: float, current: int | None,
                margin: float = 0.15, rng: random.Random | None = None) -> int | None:
    """The core a node's threads should be on, given each core's busy share (0..1).

    ``ours`` is the share of a core the node itself used over the same interval (it
    leaves with the node). With no current core, the least busy one (ties broken at
    random); otherwise the least busy other core when it is idler than the load others
    put on ours by more than ``margin``, on half of the checks; else stay.
    """
    if not busy:
        return current
    roll: Any = rng or random
    if current is None or current not in busy:
        least = min(busy.values())
        return roll.choice(sorted(c for c, b in busy.items() if b <= least + 0.05))
    others_here = max(0.0, busy[current] - ours)
    candidates = [c for c in busy if c != current]
    if not candidates:
        return current
    best = min(candidates, key=lambda c: (busy[c], c))
    if busy[best] + margin < others_here and roll.random() < 0.5:
        return best
    return current


def _read_core_ticks() -> dict[int, tuple[int, int]]:
    """``{cpu: (busy ticks, total ticks)}`` from ``/proc/stat``."""
    result: dict[int, tuple[int, int]] = {}
    with open("/proc/stat", "rb") as f:
        for line in f:
            if not line.startswith(b"cpu") or line[3:4] == b" ":
                if result:
                    break
                continue
            fields = line.split()
            values = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
            idle = values[3] + values[4]
            total = sum(values)
            result[int(fields[0][3:])] = (total - idle, total)
    return result


def _read_thread_ticks(tid: int) -> int | None:
    """utime + stime of one of our threads, in clock ticks (``None`` once it is gone)."""
    try:
        with open(f"/proc/self/task/{tid}/stat", "rb") as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rfind(b")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)


class Placement:
    """The CPU placement of one node's threads; see the module docstring."""

    def __init__(
        self,
        policy: str | int | None = "auto",
        *,
        interval: float = 0.5,
        margin: float = 0.15,
        rng: random.Random | None = None,
        read_core_ticks: Callable[[], dict[int, tuple[int, int]]] = _read_core_ticks,
        read_thread_ticks: Callable[[int], int | None] = _read_thread_ticks,
        set_affinity: Callable[[int, set[int]], None] | None = None,
        allowed: set[int] | None = None,
    ) -> None:
        self.policy = parse_cpu_affinity(policy)
        self.interval = interval
        self.margin = margin
        self.cpu: int | None = None
        self.moves = 0
        self._rng = rng or random.Random()
        self._read_core_ticks = read_core_ticks
        self._read_thread_ticks = read_thread_ticks
        self._set = set_affinity or (os.sched_setaffinity if _SUPPORTED else None)
        if allowed is None:
            allowed = set(os.sched_getaffinity(os.getpid())) if _SUPPORTED else set()
        self.allowed = allowed
        if self._set is None or len(allowed) < 2:
            self.policy = "none"  # nothing to choose between, or no way to pin
        elif isinstance(self.policy, int):
            if self.policy not in allowed:
                raise ValueError(f"cpu_affinity {self.policy} is not among this process's "
                                 f"CPUs {sorted(allowed)}")
            self.cpu = self.policy
        self._lock = threading.Lock()
        self._threads: set[int] = set()
        self._spawning: set[int] = set()
        self._last_cores: dict[int, tuple[int, int]] | None = None
        self._last_ours: dict[int, int] = {}
        self._next_check = 0.0

    # --- threads of the node ------------------------------------------------------------

    def free(self) -> None:
        """Give the calling thread every allowed CPU (before it starts libzmq's threads)."""
        if self._set is not None and self.allowed:
            self._pin(threading.get_native_id(), self.allowed)

    def adopt(self) -> None:
        """The calling thread belongs to the node: pin it with the others."""
        if self.policy == "none":
            return
        tid = threading.get_native_id()
        _local.placement = self
        with self._lock:
            self._threads.add(tid)
            cpu = self.cpu
        if cpu is not None:
            self._pin(tid, {cpu})

    def release(self) -> None:
        """The calling thread ends (or leaves the node)."""
        tid = threading.get_native_id()
        with self._lock:
            self._threads.discard(tid)
            self._last_ours.pop(tid, None)
        if getattr(_local, "placement", None) is self:
            del _local.placement

    def describe(self) -> dict[str, Any]:
        return {"policy": self.policy, "cpu": self.cpu, "moves": self.moves,
                "threads": len(self._threads)}

    # --- the periodic check (the I/O thread) ---------------------------------------------

    def due(self, now: float) -> bool:
        return self.policy == "auto" and now >= self._next_check

    def check(self, now: float | None = None) -> None:
        """Measure the last interval and pin or move the node's threads if it pays."""
        now = time.monotonic() if now is None else now
        self._next_check = now + self.interval
        try:
            cores = {c: t for c, t in self._read_core_ticks().items() if c in self.allowed}
        except OSError:
            return
        with self._lock:
            threads = set(self._threads)
        ours_ticks = {tid: t for tid in threads
                      if (t := self._read_thread_ticks(tid)) is not None}
        last, self._last_cores = self._last_cores, cores
        last_ours, self._last_ours = self._last_ours, ours_ticks
        if last is None:
            return
        busy: dict[int, float] = {}
        span = 0
        for cpu, (b, t) in cores.items():
            if cpu in last and t > last[cpu][1]:
                busy[cpu] = (b - last[cpu][0]) / (t - last[cpu][1])
                span = max(span, t - last[cpu][1])
        if not busy or not span:
            return
        ours = sum(t - last_ours.get(tid, t) for tid, t in ours_ticks.items()) / span
        target = choose_core(busy, ours, self.cpu, self.margin, self._rng)
        if target is not None and target != self.cpu:
            self._move(target)

    def _move(self, cpu: int) -> None:
        with self._lock:
            moved = self.cpu is not None
            self.cpu = cpu
            threads = self._threads - self._spawning
        if moved:
            self.moves += 1
        for tid in threads:
            if not self._pin(tid, {cpu}):
                with self._lock:
                    self._threads.discard(tid)

    def _pin(self, tid: int, cpus: set[int]) -> bool:
        assert self._set is not None
        try:
            self._set(tid, cpus)
        except (ProcessLookupError, PermissionError):
            return False
        except OSError:  # e.g. the CPU went offline; the kernel keeps the old mask
            return False
        return True

    # --- children ---------------------------------------------------------------------------

    @contextmanager
    def _unpinned(self) -> Iterator[None]:
        tid = threading.get_native_id()
        with self._lock:
            self._spawning.add(tid)
        self._pin(tid, self.allowed)
        try:
            yield
        finally:
            with self._lock:
                self._spawning.discard(tid)
                cpu = self.cpu if tid in self._threads else None
            if cpu is not None:
                self._pin(tid, {cpu})


@contextmanager
def unpinned() -> Iterator[None]:
    """Run the block on every allowed CPU, so processes it starts are not pinned.

    A no-op on threads no node has pinned.
    """
    placement: Placement | None = getattr(_local, "placement", None)
    if placement is None:
        yield
        return
    with placement._unpinned():
        yield
