"""MasterContender against a real ZooKeeper: election, failover, session loss, suspension."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kazoo.client import KazooClient
from kazoo.protocol.states import KazooState

from actors.ha import MasterContender, MasterDetector
from actors.messages.info import Address, MasterInfo, ip_to_uint32
from tests.zk_helpers import ZkProxy, expire_session
from transport.pid import PID

WAIT = 30.0
SESSION = 2.0
ROOT = Path(__file__).resolve().parents[3]


def master(n: int) -> MasterInfo:
    return MasterInfo(id=f"master-{n}", ip=ip_to_uint32("127.0.0.1"), port=5150 + n,
                      pid=PID("master", "127.0.0.1", 5050 + n), hostname="localhost",
                      version="0.1.0", address=Address(port=5150 + n, ip="127.0.0.1"))


class Recorder:
    """Callbacks that set events, for waiting without sleeping."""

    def __init__(self) -> None:
        self.elected = threading.Event()
        self.lost = threading.Event()
        self.reasons: list[str] = []
        self.elected_at = 0.0

    def on_elected(self) -> None:
        self.elected_at = time.monotonic()
        self.elected.set()

    def on_lost(self, reason: str) -> None:
        self.reasons.append(reason)
        self.lost.set()


@pytest.fixture
def clients(zookeeper: str) -> Iterator[Callable[..., KazooClient]]:
    """``clients(hosts=None, timeout=SESSION)`` -> a started client; all closed at teardown."""
    made: list[KazooClient] = []

    def make(hosts: str | None = None, timeout: float = SESSION) -> KazooClient:
        client = KazooClient(hosts=hosts or zookeeper, timeout=timeout)
        made.append(client)
        client.start(timeout=WAIT)
        return client

    yield make
    for client in made:
        client.stop()
        client.close()


def contend(client: KazooClient, path: str, n: int) -> tuple[MasterContender, Recorder]:
    rec = Recorder()
    contender = MasterContender(client, path, master(n), rec.on_elected, rec.on_lost)
    return contender.start(), rec


def test_the_lowest_sequence_leads_and_the_other_waits(clients: Callable[..., KazooClient],
                                                         zk_path: str) -> None:
    first, rec1 = contend(clients(), zk_path, 1)
    second, rec2 = contend(clients(), zk_path, 2)
    assert rec1.elected.wait(WAIT)
    assert first.elected
    assert first.znode is not None and second.znode is not None
    assert first.znode < second.znode
    assert not rec2.elected.is_set() and not second.elected
    assert not rec1.lost.is_set() and not rec2.lost.is_set()


def test_the_znode_is_what_mesos_detectors_expect(clients: Callable[..., KazooClient],
                                                  zk_path: str) -> None:
    contender, rec = contend(clients(), zk_path, 1)
    assert rec.elected.wait(WAIT)
    observer = clients()
    (name,) = observer.get_children(zk_path)
    assert re.fullmatch(r"json\.info_\d{10}", name)
    assert contender.znode == f"{zk_path}/{name}"
    data, stat = observer.get(f"{zk_path}/{name}")
    assert stat.ephemeralOwner != 0
    payload = json.loads(data)
    assert payload["pid"] == "master@127.0.0.1:5051"
    assert payload["address"] == {"ip": "127.0.0.1", "port": 5151}
    assert payload["id"] == "master-1" and payload["port"] == 5151
    # Third-party detectors take min(children): nothing else may sort first.
    assert min(observer.get_children(zk_path)) == name


def test_closing_the_leaders_client_elects_the_next_and_detectors_follow(
        clients: Callable[..., KazooClient], zk_path: str) -> None:
    seen: list[MasterInfo | None] = []
    changed = threading.Condition()

    def on_change(info: MasterInfo | None) -> None:
        with changed:
            seen.append(info)
            changed.notify_all()

    detector = MasterDetector(clients(), zk_path, on_change).start()
    leader_client = clients()
    _, rec1 = contend(leader_client, zk_path, 1)
    _, rec2 = contend(clients(), zk_path, 2)
    assert rec1.elected.wait(WAIT)
    with changed:
        assert changed.wait_for(lambda: seen and seen[-1] == master(1), WAIT)
    closed_at = time.monotonic()
    leader_client.stop()
    assert rec2.elected.wait(WAIT)
    with changed:
        assert changed.wait_for(lambda: seen[-1] == master(2), WAIT)
    assert rec2.elected_at - closed_at < SESSION  # a clean close deletes the znode at once
    assert seen[0] is None  # nobody led when the detector started
    assert detector.leader == master(2)
    assert rec1.lost.wait(WAIT)  # its session is gone, so is its candidacy


def test_a_sigkilled_leader_is_replaced_within_the_session_timeout(
        clients: Callable[..., KazooClient], zookeeper: str, zk_path: str) -> None:
    script = (
        "import sys, threading\n"
        "from actors.ha import MasterContender\n"
        "from actors.messages.info import MasterInfo\n"
        "done = threading.Event()\n"
        f"c = MasterContender({zookeeper!r}, {zk_path!r}, MasterInfo(id='doomed'),\n"
        f"    lambda: print('elected', flush=True), lambda r: done.set(),\n"
        f"    session_timeout={SESSION})\n"
        "c.start()\n"
        "done.wait()\n")
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "elected"
        _, rec = contend(clients(), zk_path, 2)
        detected = threading.Event()
        detected_at: list[float] = []

        def on_change(info: MasterInfo | None) -> None:
            if info == master(2):
                detected_at.append(time.monotonic())
                detected.set()

        MasterDetector(clients(), zk_path, on_change).start()
        killed_at = time.monotonic()
        child.kill()
        assert rec.elected.wait(WAIT)
        assert detected.wait(WAIT)
    finally:
        child.kill()
        child.wait()
    took = rec.elected_at - killed_at
    print(f"leader SIGKILLed -> next elected in {took:.2f} s, detected in "
          f"{detected_at[0] - killed_at:.2f} s (session timeout {SESSION} s)")
    assert took < SESSION + 3.0
    assert detected_at[0] - killed_at < SESSION + 3.0


def test_an_expired_session_makes_the_leader_lose(clients: Callable[..., KazooClient],
                                                  zookeeper: str, zk_path: str) -> None:
    client = clients()
    _, rec = contend(client, zk_path, 1)
    assert rec.elected.wait(WAIT)
    expire_session(client, zookeeper)
    assert rec.lost.wait(WAIT)
    assert rec.reasons and ("session lost" in rec.reasons[0] or "disappeared" in rec.reasons[0])
    assert len(rec.reasons) == 1


def test_a_deleted_znode_loses_candidacy(clients: Callable[..., KazooClient],
                                         zk_path: str) -> None:
    contender, rec = contend(clients(), zk_path, 1)
    assert rec.elected.wait(WAIT)
    clients().delete(contender.znode)
    assert rec.lost.wait(WAIT)
    assert "disappeared" in rec.reasons[0]


def test_suspended_longer_than_the_session_timeout_loses_leadership(
        clients: Callable[..., KazooClient], zookeeper: str, zk_path: str) -> None:
    # The client talks through a proxy we can cut: it stays SUSPENDED and never hears of
    # its session's fate, as a partitioned leader would; only the local timer can act.
    proxy = ZkProxy(zookeeper)
    try:
        client = clients(proxy.address)
        suspended = threading.Event()
        client.add_listener(lambda s: suspended.set() if s == KazooState.SUSPENDED else None)
        _, rec = contend(client, zk_path, 1)
        assert rec.elected.wait(WAIT)
        proxy.cut()
        assert suspended.wait(WAIT)
        cut_at = time.monotonic()
        assert rec.lost.wait(WAIT)
        took = time.monotonic() - cut_at
        assert "suspended longer than the session timeout" in rec.reasons[0]
        assert SESSION * 0.9 <= took < SESSION + 3.0
    finally:
        proxy.close()


def test_a_short_suspension_keeps_the_leader(clients: Callable[..., KazooClient],
                                             zookeeper: str, zk_path: str) -> None:
    proxy = ZkProxy(zookeeper)
    try:
        client = clients(proxy.address, timeout=8.0)
        states = {s: threading.Event()
                  for s in (KazooState.CONNECTED, KazooState.SUSPENDED, KazooState.LOST)}
        client.add_listener(lambda s: states[s].set())
        contender, rec = contend(client, zk_path, 1)
        assert contender.session_timeout == 8.0
        assert rec.elected.wait(WAIT)
        proxy.cut()
        assert states[KazooState.SUSPENDED].wait(WAIT)
        proxy.heal()
        assert states[KazooState.CONNECTED].wait(WAIT)
        assert client.exists(contender.znode) is not None
        assert not rec.lost.is_set()
    finally:
        proxy.close()
