"""Helpers of the fault tests: the ``/__hooks__`` remote control, task pids, schedulers.

``drop(node, ...)`` / ``heal(node)`` drive a process's drop hooks over HTTP (the process
was started with ``MESETA_TEST_HOOKS=1``); ``pid_task`` is a command that records its
OS pid in a file (appended, so a second launch would show) and stays up; ``SchedProc``
runs ``tests.e2e.scheduler_proc`` as an OS process whose output lines are events.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from tests.e2e.conftest import Node
from tests.e2e.harness import WAIT

ROOT = Path(__file__).resolve().parents[2]


def http(url: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def drop(node: Node, **rule: Any) -> dict[str, Any]:
    status, body = http(f"{node.http}/__hooks__", "POST", rule)
    assert status == 201, body
    return dict(body)


def rules(node: Node) -> list[dict[str, Any]]:
    return list(http(f"{node.http}/__hooks__")[1]["rules"])


def heal(node: Node) -> None:
    assert http(f"{node.http}/__hooks__", "DELETE")[0] == 200


def state(node: Node) -> dict[str, Any]:
    status, body = http(f"{node.http}/master/state")
    assert status == 200, body
    return dict(body)


def wait_for(predicate: Callable[[], Any], timeout: float = WAIT, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.05)


def pid_task(pid_file: Path) -> str:
    """A shell command that appends its pid to ``pid_file`` and becomes ``sleep 300``."""
    return f"echo $$ >> {pid_file}; exec sleep 300"


def task_pids(pid_file: Path) -> list[int]:
    """Every pid the task wrote (one per launch), waiting for the first."""
    wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), what=str(pid_file))
    return [int(line) for line in pid_file.read_text().split()]


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class SchedProc:
    """``tests.e2e.scheduler_proc`` in an OS process (its own session); ``kill()`` it."""

    def __init__(self, log: Path, *args: str) -> None:
        self.log = log
        self.lines: queue.Queue[str] = queue.Queue()
        self._log_file = open(log, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.scheduler_proc", *args], cwd=ROOT,
            stdout=subprocess.PIPE, stderr=self._log_file, start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in iter(self.proc.stdout.readline, b""):
            self.lines.put(raw.decode(errors="replace").strip())

    def wait(self, prefix: str, timeout: float = WAIT) -> str:
        """The next output line starting with ``prefix`` (earlier other lines are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"scheduler printed no {prefix!r} line:\n"
                                     + self.log.read_text(errors="replace")[-3000:])
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line.startswith(prefix):
                return line

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)
        self._log_file.close()
