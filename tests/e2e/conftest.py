"""Real-process clusters for end-to-end tests: meseta-master and meseta-agent as OS processes.

``cluster`` starts nothing by itself; a test calls ``cluster.master()`` and
``cluster.agent(resources=...)``. Every process runs in its own session and its whole
process group is killed at teardown, so no master, agent, executor or task outlives a
test. Each process's stderr goes to a log file in the test's temporary directory, and
the logs are printed when the test fails.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psutil
import pytest

BIN = Path(sys.executable).parent
READY_TIMEOUT = 60.0


def _drain(stream: IO[bytes], log: IO[bytes]) -> None:
    for line in iter(stream.readline, b""):
        log.write(line)
        log.flush()


@dataclass
class Node:
    name: str
    proc: subprocess.Popen[bytes]
    pid: str
    """The actor PID it printed (``master@127.0.0.1:PORT``)."""
    http: str
    """Its HTTP base URL."""
    log: Path

    @property
    def address(self) -> str:
        return self.pid.split("@", 1)[1]

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(30)


@dataclass
class LocalCluster:
    tmp: Path
    nodes: list[Node] = field(default_factory=list)

    def process(self, name: str, argv: list[str], ready: str) -> Node:
        """Start ``argv`` and wait for its stdout line starting ``ready`` and ending in
        ``<pid or id> <http url>``; stopped (its process group) with the cluster."""
        log_path = self.tmp / f"{name}.log"
        log = open(log_path, "wb")
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log,
                                start_new_session=True)
        assert proc.stdout is not None
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            line = proc.stdout.readline().decode(errors="replace")
            if not line:
                break
            if line.startswith(ready):
                threading.Thread(target=_drain, args=(proc.stdout, log), daemon=True).start()
                pid, http = line.split()[-2:]
                node = Node(name, proc, pid, http, log_path)
                self.nodes.append(node)
                return node
        proc.kill()
        raise AssertionError(f"{name} did not start:\n{log_path.read_text(errors='replace')}")

    def master(self, *flags: str, name: str = "master") -> Node:
        return self.process(name, [str(BIN / "meseta-master"), "--ip=127.0.0.1", "--port=0",
                                  "--http_port=0", f"--work_dir={self.tmp / name}",
                                  *flags], "meseta-master:")

    def agent(self, master: Node | str,
              resources: str = "cpus:4;mem:4096;disk:4096;ports:[31000-32000]",
              *flags: str) -> Node:
        """An agent of ``master`` (a started master, or a ``zk://`` URL to follow)."""
        index = sum(1 for n in self.nodes if n.name.startswith("agent")) + 1
        return self.process(f"agent{index}", [
            str(BIN / "meseta-agent"), "--ip=127.0.0.1", "--port=0", "--http_port=0",
            f"--master={master if isinstance(master, str) else master.address}",
            f"--work_dir={self.tmp / f'agent{index}'}",
            f"--resources={resources}", *flags], "meseta-agent:")

    def stop(self) -> None:
        # Executors and tasks run in sessions of their own: note every descendant first,
        # so whatever the graceful stop leaves behind can be killed by pid afterwards.
        descendants: list[psutil.Process] = []
        for node in self.nodes:
            try:
                descendants += psutil.Process(node.proc.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                pass
        for node in reversed(self.nodes):
            if node.proc.poll() is None:
                os.killpg(node.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for node in reversed(self.nodes):
            try:
                node.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(node.proc.pid, signal.SIGKILL)
                node.proc.wait()
        for proc in descendants:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass

    def logs(self) -> str:
        return "\n".join(f"--- {n.name} ---\n{n.log.read_text(errors='replace')[-6000:]}"
                         for n in self.nodes)


@pytest.fixture
def cluster(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[LocalCluster]:
    local = LocalCluster(tmp_path)
    try:
        yield local
    finally:
        local.stop()
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print(local.logs())


@pytest.fixture
def noted() -> Iterator[list[int]]:
    """Pids a test noted (executors, tasks): killed at teardown, whatever happened
    (checkpointing executors outlive a SIGKILLed agent on purpose)."""
    pids: list[int] = []
    try:
        yield pids
    finally:
        for pid in pids:
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)
