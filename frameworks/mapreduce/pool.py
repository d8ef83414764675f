"""``WorkerPool``: an executor's slots, each a worker process fed by a thread.

Why processes: the map functions are pure Python and hold the GIL, so threads would run
one item at a time however many slots the executor has (measured: see the package
docstring). ``multiprocessing`` is awkward here: the executor already runs threads and a
ZeroMQ context when it learns its slot count, so it must not ``fork``, and ``spawn``
re-imports the executor's main module in every child. Plain subprocesses
(``python -m frameworks.mapreduce.worker``) are explicit instead: one per slot, started
once, each fed items as JSON lines on its stdin by one thread of the pool, which blocks
on the pipe with the GIL released. The worker leaves with its executor (end of input).

``submit(item)`` queues an item; ``on_result(dict)`` is called on a pool thread with the
worker's answer (``{"id", "value", "seconds"}`` or ``{"id", "error"}``); the executor
hops back onto its driver's thread from there. A worker that dies is started again and
its item reported as an error.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["WORKER_COMMAND", "WorkerPool"]

WORKER_COMMAND = (sys.executable, "-m", "frameworks.mapreduce.worker")

_STOP = None


class WorkerPool:
    """``slots`` worker processes; see the module docstring."""

    def __init__(self, slots: int, on_result: Callable[[dict[str, Any]], None],
                 command: tuple[str, ...] = WORKER_COMMAND) -> None:
        self.slots = slots
        self.on_result = on_result
        self.command = command
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._procs: list[subprocess.Popen[str]] = []
        self._closed = False
        self._threads = [threading.Thread(target=self._serve, name=f"worker-{i}", daemon=True)
                         for i in range(slots)]
        for thread in self._threads:
            thread.start()

    def submit(self, item: dict[str, Any]) -> None:
        self._queue.put(item)

    def close(self) -> None:
        """Stop taking items; each worker ends after its current one (does not wait)."""
        with self._lock:
            self._closed = True
        for _ in self._threads:
            self._queue.put(_STOP)

    def pids(self) -> list[int]:
        with self._lock:
            return [p.pid for p in self._procs]

    def _start(self) -> subprocess.Popen[str] | None:
        with self._lock:
            if self._closed:
                return None
            proc = subprocess.Popen(self.command, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True, bufsize=1)
            self._procs.append(proc)
            return proc

    def _serve(self) -> None:
        proc = self._start()
        while proc is not None:
            item = self._queue.get()
            if item is _STOP:
                break
            answer = self._run(proc, item)
            if answer is None:  # the worker died: report, start another
                self._end(proc)
                answer = {"id": item.get("id"), "error": "the worker process exited"}
                proc = self._start()
            self.on_result(answer)
        if proc is not None:
            self._end(proc)

    @staticmethod
    def _run(proc: subprocess.Popen[str], item: dict[str, Any]) -> dict[str, Any] | None:
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(json.dumps(item, separators=(",", ":")) + "\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
        except (BrokenPipeError, OSError):
            return None
        try:
            answer = json.loads(line) if line else None
        except ValueError:
            return None
        return answer if isinstance(answer, dict) else None

    def _end(self, proc: subprocess.Popen[str]) -> None:
        with self._lock:
            if proc in self._procs:
                self._procs.remove(proc)
        try:
            if proc.stdin is not None:
                proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
