"""Shared helpers of the transport tests: a recording process and child-process peers."""

from __future__ import annotations

import os
import queue
import selectors
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from transport import PID, Node, Process
from transport.curve import create_key_pair

ROOT = Path(__file__).resolve().parents[2]
WAIT = 20.0
"""Generous timeout for anything that should happen 'soon' (a loaded CI box is slow)."""


@dataclass
class Mailbox:
    """What an ``Inbox`` process received, readable from the test thread."""

    messages: queue.Queue[tuple[PID, Any]] = field(default_factory=queue.Queue)
    exits: queue.Queue[PID] = field(default_factory=queue.Queue)

    def get(self, timeout: float = WAIT) -> tuple[PID, Any]:
        return self.messages.get(timeout=timeout)

    def get_msg(self, timeout: float = WAIT) -> Any:
        return self.get(timeout)[1]

    def get_exit(self, timeout: float = WAIT) -> PID:
        return self.exits.get(timeout=timeout)


class Inbox(Process):
    """Records every message (through ``unhandled``) and every ``exited`` into a Mailbox."""

    def __init__(self, node: Node, box: Mailbox, name: str | None = None) -> None:
        super().__init__(node, name)
        self.box = box

    def unhandled(self, frm: PID, msg: Any) -> None:
        self.box.messages.put((frm, msg))

    def exited(self, pid: PID) -> None:
        self.box.exits.put(pid)


def spawn_inbox(node: Node, name: str = "inbox") -> tuple[PID, Mailbox]:
    box = Mailbox()
    ref = node.spawn(Inbox, box, name)
    return ref.proxy().pid.get(timeout=WAIT), box


@dataclass
class Peer:
    """A ``tests.transport.peer`` node running in a child OS process (its own session)."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    http_port: int | None = None

    @property
    def echo(self) -> PID:
        return PID("echo", "127.0.0.1", self.port)

    def signal(self, sig: signal.Signals) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        """SIGKILL the whole process group and reap the child."""
        self.signal(signal.SIGKILL)
        self.proc.wait(WAIT)


def _read_ready(
    stdout: IO[bytes], proc: subprocess.Popen[bytes], log: Path
) -> tuple[int, int | None]:
    """The ``READY <port>`` line's port, and the ``HTTP <port>`` line's if it came first."""
    deadline = time.monotonic() + WAIT
    buf = b""
    with selectors.DefaultSelector() as sel:
        sel.register(stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not sel.select(deadline - time.monotonic()):
                break
            chunk = os.read(stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            http_port = None
            for line in buf.decode(errors="replace").splitlines():
                if line.startswith("HTTP "):
                    http_port = int(line.split()[1])
                if line.startswith("READY "):
                    return int(line.split()[1]), http_port
    raise RuntimeError(f"peer did not get ready (exit {proc.poll()}): {buf!r}\n"
                       f"{log.read_text(errors='replace')[-4000:]}")


def start_peer(log_dir: Path, *args: str, port: int = 0) -> Peer:
    """Start a peer node in a new session; returns once it printed ``READY <port>``."""
    log = log_dir / f"peer-{time.monotonic_ns()}.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.transport.peer", "--port", str(port), *args],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
            start_new_session=True,
        )
    try:
        assert proc.stdout is not None
        port, http_port = _read_ready(proc.stdout, proc, log)
        return Peer(proc, port, log, http_port)
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(WAIT)
        raise


def keys_dir(tmp: Path, own: str, *allowed: str) -> Path:
    """A node's keys directory: its own pair and the public keys it admits."""
    pool = tmp / "pool"
    for name in (own, *allowed):
        if not (pool / f"{name}.key").exists():
            create_key_pair(pool, name)
    directory = tmp / f"node-{own}"
    directory.mkdir(exist_ok=True)
    shutil.copy(pool / f"{own}.key_secret", directory)
    for name in (own, *allowed):
        shutil.copy(pool / f"{name}.key", directory)
    return directory
