"""``RegistrarWorker``: the registry's writes, off the master's thread (Mesos' registrar).

The master owns one worker and hands it work: ``recover(callback)`` once it leads, then
``submit(operation, callback, *args)`` for every change it must make durable before it
acts (admit an agent, mark one unreachable...). One thread of the worker's own takes
everything queued, applies it with one ``Registrar.apply_batch`` (one storage write for
the lot, each operation with its own outcome) and hands each outcome back through
``deliver`` -- the master's ``_post`` -- so ``callback(outcome, *args)`` runs on the
master's thread once the write is durable. ``outcome`` is ``True`` / ``False`` (the
operation changed the registry or not) or the ``OperationRefused`` it raised.

A failed write (``StorageConflict``: another master wrote since this one recovered, it
was deposed; ``StorageUnavailable``: the store failed) or a failed recovery is reported
once, through ``deliver(on_failure, reason)``: the master exits (fail fast, as Mesos'
does). After it nothing more is written and no callback runs: nothing queued is ever
acknowledged.

``hold()`` makes queued work wait (the master's ZooKeeper connection is SUSPENDED: it
may have been deposed) until ``release()``; a lost session exits the master instead.
``wait_idle`` is for tests and benchmarks. The thread never touches the master's state:
it reads only what was queued and the ``Registrar``, which nothing else uses.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from actors.metrics import WindowTimer
from actors.registry.operations import Operation
from actors.registry.registrar import Registrar
from actors.registry.storage import OperationRefused, RegistryError
from transport.affinity import Placement

__all__ = ["DEFAULT_MAX_BATCH", "Outcome", "RegistrarWorker"]

_log = structlog.get_logger("meseta.registrar")

DEFAULT_MAX_BATCH = 1024
"""At most this many operations in one storage write."""

Outcome = bool | OperationRefused
"""What ``submit``'s callback gets: changed (or not), or why the operation was refused."""

Deliver = Callable[..., None]
"""``deliver(fn, *args)`` runs ``fn(*args)`` on the owner's thread (``Process._post``)."""


@dataclass(frozen=True, slots=True)
class _Recover:
    callback: Callable[..., None]


@dataclass(frozen=True, slots=True)
class _Apply:
    operation: Operation
    callback: Callable[..., None]
    args: tuple[Any, ...]


class RegistrarWorker:
    """Queues registry work and does it on its own thread; see the module docstring."""

    def __init__(self, registrar: Registrar, deliver: Deliver,
                 on_failure: Callable[[str], None], *, max_batch: int = DEFAULT_MAX_BATCH,
                 placement: Placement | None = None, name: str = "meseta-registrar") -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.registrar = registrar
        self._deliver = deliver
        self._on_failure = on_failure
        self._max_batch = max_batch
        self._placement = placement
        self._cond = threading.Condition()
        self._queue: deque[_Recover | _Apply] = deque()
        self._held = False
        self._busy = False
        self._stopped = False
        self.failed: str | None = None
        """Why the worker stopped writing, once a write or the recovery failed."""
        self.batches = 0
        """Storage round trips made (recoveries and batches)."""
        self.applied = 0
        """Operations answered."""
        self.fetch_timer = WindowTimer()
        """How long recoveries took (``registrar/state_fetch_ms``)."""
        self.store_timer = WindowTimer()
        """How long batch writes took (``registrar/state_store_ms``)."""
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    # --- the owner's side (any thread) --------------------------------------------------

    def start(self) -> RegistrarWorker:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the write in flight, if any; queued work is dropped unanswered."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def recover(self, callback: Callable[..., None]) -> None:
        """Recover the registry; then ``callback(registry)`` on the owner's thread."""
        self._put(_Recover(callback))

    def submit(self, operation: Operation, callback: Callable[..., None], *args: Any) -> None:
        """Make ``operation`` durable; then ``callback(outcome, *args)`` on the owner's thread."""
        self._put(_Apply(operation, callback, args))

    def hold(self) -> None:
        """Write nothing until ``release`` (the write in flight, if any, still ends)."""
        with self._cond:
            if not self._held:
                _log.warning("registry writes held", queued=len(self._queue))
            self._held = True

    def release(self) -> None:
        with self._cond:
            if self._held:
                _log.info("registry writes released", queued=len(self._queue))
            self._held = False
            self._cond.notify_all()

    @property
    def held(self) -> bool:
        return self._held

    @property
    def queued(self) -> int:
        with self._cond:
            return len(self._queue)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or in flight (or held, or stopped); for tests."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._stopped or self._held or (not self._queue and not self._busy),
                timeout)

    def _put(self, item: _Recover | _Apply) -> None:
        with self._cond:
            if self._stopped:
                _log.warning("registrar stopped: operation dropped", failed=self.failed)
                return
            self._queue.append(item)
            self._cond.notify_all()

    # --- the worker's thread ------------------------------------------------------------

    def _run(self) -> None:
        if self._placement is not None:
            self._placement.adopt()
        try:
            while True:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
                    self._cond.wait_for(lambda: self._stopped or (
                        bool(self._queue) and not self._held))
                    if self._stopped:
                        return
                    items = self._take()
                    self._busy = True
                self._process(items)
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()
            if self._placement is not None:
                self._placement.release()

    def _take(self) -> list[_Recover | _Apply]:
        """A recovery alone, or the operations queued before the next recovery."""
        if isinstance(self._queue[0], _Recover):
            return [self._queue.popleft()]
        items: list[_Recover | _Apply] = []
        while (self._queue and len(items) < self._max_batch
               and isinstance(self._queue[0], _Apply)):
            items.append(self._queue.popleft())
        return items

    def _process(self, items: list[_Recover | _Apply]) -> None:
        first = items[0]
        if isinstance(first, _Recover):
            started = time.perf_counter()
            try:
                registry = self.registrar.recover()
            except RegistryError as exc:
                self._fail(f"cannot recover the registry: {exc}")
                return
            self.fetch_timer.record(time.perf_counter() - started)
            self.batches += 1
            self._deliver(first.callback, registry)
            return
        applies = [item for item in items if isinstance(item, _Apply)]
        started = time.perf_counter()
        try:
            outcomes = self.registrar.apply_batch(item.operation for item in applies)
        except RegistryError as exc:
            names = sorted({type(item.operation).__name__ for item in applies})
            self._fail(f"cannot write the registry ({', '.join(names)}): {exc}")
            return
        self.store_timer.record(time.perf_counter() - started)
        self.batches += 1
        self.applied += len(applies)
        for item, outcome in zip(applies, outcomes, strict=True):
            self._deliver(item.callback, outcome, *item.args)

    def _fail(self, reason: str) -> None:
        with self._cond:
            self.failed = reason
            self._stopped = True
            dropped = len(self._queue)
            self._queue.clear()
            self._cond.notify_all()
        _log.error("registrar failed", reason=reason, dropped=dropped)
        self._deliver(self._on_failure, reason)
