"""Test helpers for a real ZooKeeper: a standalone server, session expiry, a cuttable proxy.

``ZooKeeperServer`` runs Debian's ZooKeeper JVM directly (no init scripts) with a fast
test configuration (``tickTime=500``, sessions of 1 s and up, no fsync) in its own
temporary directory, bound to 127.0.0.1. ``tests/conftest.py`` shares one per session.

Fault injection, in the spirit of kazoo's own harness:

- ``expire_session(client)``: the classic trick: a second client attaches to the same
  session id and password and closes it, so the server expires it for the first client.
- ``ZkProxy``: a TCP forwarder a client connects through; ``cut()`` drops every
  connection and refuses new ones (the client stays SUSPENDED and never learns whether
  its session lives), ``heal()`` lets it reconnect.
"""

from __future__ import annotations

import contextlib
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from kazoo.client import KazooClient

ZK_JAR = Path("/usr/share/java/zookeeper.jar")
SLF4J_JAR = Path("/usr/share/java/slf4j-simple.jar")
READY_TIMEOUT = 60.0
STOP_GRACE = 5.0


class ZooKeeperUnavailable(RuntimeError):
    """The ZooKeeper server could not be started or did not become ready."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def four_letter(host: str, port: int, word: str, timeout: float = 2.0) -> str:
    """Send a ZooKeeper four-letter command (``srvr``, ``ruok``...) and return the answer."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(word.encode())
        chunks = []
        while chunk := sock.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


class ZooKeeperServer:
    """A standalone ZooKeeper JVM on 127.0.0.1; ``start()`` waits until it serves sessions."""

    def __init__(self, tick_ms: int = 500) -> None:
        """``tick_ms``: ZooKeeper's tickTime; sessions expire on tick boundaries, so a dead
        client's session ends between its timeout and its timeout plus one tick."""
        self.tick_ms = tick_ms
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.workdir = Path(tempfile.mkdtemp(prefix="meseta-zk-"))

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> str:
        for jar in (ZK_JAR, SLF4J_JAR):
            if not jar.exists():
                raise ZooKeeperUnavailable(
                    f"{jar} is missing: run ./scripts/test (it installs Debian's zookeeper) "
                    "or set MESETA_TEST_ZK=host:port")
        java = shutil.which("java")
        if java is None:
            raise ZooKeeperUnavailable("no java on PATH: install default-jre-headless")
        self.port = free_port()
        data = self.workdir / "data"
        data.mkdir(exist_ok=True)
        cfg = self.workdir / "zoo.cfg"
        cfg.write_text(
            f"tickTime={self.tick_ms}\nminSessionTimeout=1000\nmaxSessionTimeout=60000\n"
            f"dataDir={data}\nclientPort={self.port}\nclientPortAddress=127.0.0.1\n"
            "maxClientCnxns=0\nadmin.enableServer=false\nforceSync=no\n"
            "4lw.commands.whitelist=ruok,srvr,mntr,stat\n")
        log = (self.workdir / "zookeeper.log").open("wb")
        classpath = f"{ZK_JAR}:{SLF4J_JAR}"
        self.proc = subprocess.Popen(
            [java, "-Xms64m", "-Xmx256m", "-XX:+UseSerialGC", "-cp", classpath,
             "org.apache.zookeeper.server.quorum.QuorumPeerMain", str(cfg)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=self.workdir, start_new_session=True)
        log.close()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self.address

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + READY_TIMEOUT
        answer = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ZooKeeperUnavailable(
                    f"ZooKeeper exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                answer = four_letter("127.0.0.1", self.port, "srvr")
            except OSError:
                answer = ""
            if "Mode: standalone" in answer:
                return
            time.sleep(0.05)
        raise ZooKeeperUnavailable(
            f"ZooKeeper not ready after {READY_TIMEOUT:.0f} s (srvr said {answer!r}):\n"
            f"{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        path = self.workdir / "zookeeper.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM, SIGKILL after a grace period, then remove the server's files."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


def expire_session(client: KazooClient, hosts: str, timeout: float = 30.0) -> None:
    """Make the server expire ``client``'s session (the client sees LOST when it notices)."""
    session_id, password = client.client_id
    twin = KazooClient(hosts=hosts, client_id=(session_id, password))
    twin.start(timeout=timeout)
    twin.stop()
    twin.close()


class ZkProxy:
    """A TCP forwarder on 127.0.0.1 to ``target``; ``cut()`` partitions, ``heal()`` restores."""

    def __init__(self, target: str) -> None:
        host, _, port = target.rpartition(":")
        self._target = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._cut = False
        self._closed = False
        self._threads = [threading.Thread(target=self._accept, daemon=True, name="zk-proxy")]
        self._threads[0].start()

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            pairs, self._pairs = self._pairs, []
        for a, b in pairs:
            _close(a)
            _close(b)

    def heal(self) -> None:
        with self._lock:
            self._cut = False

    def close(self) -> None:
        self._closed = True
        self.cut()
        _close(self._listener)
        for thread in self._threads:
            thread.join(5)

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                refuse = self._cut or self._closed
            if refuse:
                _close(conn)
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                _close(conn)
                continue
            with self._lock:
                self._pairs.append((conn, upstream))
            thread = threading.Thread(target=self._pump, args=(conn, upstream), daemon=True,
                                      name="zk-proxy-pump")
            self._threads.append(thread)
            thread.start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while True:
                readable, _, _ = select.select([a, b], [], [], 0.5)
                if self._closed:
                    return
                for src in readable:
                    data = src.recv(65536)
                    if not data:
                        return
                    peers[src].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            _close(a)
            _close(b)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


__all__ = ["ZkProxy", "ZooKeeperServer", "ZooKeeperUnavailable", "expire_session",
           "four_letter", "free_port"]
