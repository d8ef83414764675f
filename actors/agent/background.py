"""``Background``: slow file work (fetching URIs, removing sandboxes) off the agent's thread.

The agent owns two (``sandboxes``): one for the fetcher, one for garbage collection.
``submit(fn, args, then)`` queues ``fn(*args)`` for one of the worker's daemon threads;
its result (or the exception it raised) comes back as ``deliver(then, result)`` --
the agent's ``_post`` -- so ``then`` runs on the agent's thread. The threads touch
nothing of the agent's; a stopped worker drops what is still queued.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

import structlog

__all__ = ["Background"]

_log = structlog.get_logger("meseta.agent")

Deliver = Callable[..., None]


class Background:
    """A few daemon threads doing queued work; see the module docstring."""

    def __init__(self, deliver: Deliver, threads: int = 1, name: str = "meseta-work") -> None:
        self._deliver = deliver
        self._queue: queue.Queue[tuple[Callable[..., Any], tuple[Any, ...],
                                       Callable[[Any], None]] | None] = queue.Queue()
        self._threads = [threading.Thread(target=self._run, name=f"{name}-{i}", daemon=True)
                         for i in range(threads)]
        self._started = False
        self._stopped = False

    def start(self) -> Background:
        if not self._started:
            self._started = True
            for thread in self._threads:
                thread.start()
        return self

    def stop(self) -> None:
        self._stopped = True
        for _ in self._threads:
            self._queue.put(None)

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...],
               then: Callable[[Any], None]) -> None:
        """Run ``fn(*args)`` on a worker thread, then ``then(result)`` via ``deliver``."""
        if not self._stopped:
            self._queue.put((fn, args, then))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None or self._stopped:
                return
            fn, args, then = item
            result: Any
            try:
                result = fn(*args)
            except Exception as exc:  # reported to the owner, who decides
                _log.warning("background work failed", work=getattr(fn, "__name__", fn),
                             error=str(exc))
                result = exc
            self._deliver(then, result)
