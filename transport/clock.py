"""Injected time: the ``Clock`` seam, the real clock and a manual clock for tests.

Processes never call ``time.time()`` or ``threading.Timer`` for behaviour; they ask
their node's clock (``now()``, ``call_later()``). ``RealClock`` runs every timer of a
node on one thread; ``ManualClock`` fires timers only when a test calls ``advance()``
(libprocess ``Clock::pause()`` / ``advance()``), in the caller's thread, in due order.
A fired timer's callback must be quick: ``Process.delay`` makes it a ``tell``.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Clock", "ManualClock", "RealClock", "Timer"]


class Timer:
    """A scheduled callback; ``cancel()`` stops it if it has not fired yet."""

    __slots__ = ("_fn", "cancelled", "when")

    def __init__(self, when: float, fn: Callable[[], None]) -> None:
        self.when = when
        self._fn: Callable[[], None] | None = fn
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        self._fn = None

    def _fire(self) -> None:
        fn, self._fn = self._fn, None
        if fn is not None and not self.cancelled:
            fn()


class Clock(Protocol):
    """What processes need of time."""

    def now(self) -> float:
        """Seconds since the epoch (a manual clock starts where it is told)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for durations)."""
        ...

    def call_later(self, delay: float, fn: Callable[[], None]) -> Timer:
        """Run ``fn`` once, ``delay`` seconds from now."""
        ...


class _TimerHeap:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()

    def push(self, timer: Timer) -> None:
        heapq.heappush(self._heap, (timer.when, next(self._seq), timer))

    def pop_due(self, now: float) -> Timer | None:
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
        if self._heap and self._heap[0][0] <= now:
            return heapq.heappop(self._heap)[2]
        return None

    def next_due(self) -> float | None:
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None


class RealClock:
    """Wall time, with all of a node's timers on one daemon thread."""

    def __init__(self) -> None:
        self._timers = _TimerHeap()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def call_later(self, delay: float, fn: Callable[[], None]) -> Timer:
        timer = Timer(time.monotonic() + max(0.0, delay), fn)
        with self._cond:
            if self._stopped:
                timer.cancel()  # the node is gone; nothing would run the callback
                return timer
            self._timers.push(timer)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="meseta-clock", daemon=True)
                self._thread.start()
            self._cond.notify()
        return timer

    def stop(self) -> None:
        """Cancel every timer and end the timer thread (the node is stopping)."""
        with self._cond:
            self._stopped = True
            self._cond.notify()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stopped:
                    return
                timer = self._timers.pop_due(time.monotonic())
                if timer is None:
                    due = self._timers.next_due()
                    self._cond.wait(None if due is None else max(0.0, due - time.monotonic()))
                    continue
            timer._fire()


class ManualClock:
    """A clock that moves only when ``advance()`` is called; timers fire in due order."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self._now = start
        self._timers = _TimerHeap()
        self._lock = threading.RLock()

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._now

    def call_later(self, delay: float, fn: Callable[[], None]) -> Timer:
        with self._lock:
            timer = Timer(self._now + max(0.0, delay), fn)
            self._timers.push(timer)
        return timer

    def advance(self, seconds: float) -> None:
        """Move time forward, firing every timer that falls due, each at its own time."""
        with self._lock:
            target = self._now + seconds
            while (timer := self._timers.pop_due(target)) is not None:
                self._now = max(self._now, timer.when)
                timer._fire()
            self._now = target

    def pending(self) -> int:
        """Timers not yet fired or cancelled."""
        with self._lock:
            return sum(1 for _, _, t in self._timers._heap if not t.cancelled)
