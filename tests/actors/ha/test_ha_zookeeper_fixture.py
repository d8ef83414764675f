"""The suite's ZooKeeper fixture: a real server that serves sessions, and session expiry."""

from __future__ import annotations

import threading

from kazoo.client import KazooClient
from kazoo.protocol.states import KazooState

from tests.zk_helpers import expire_session, four_letter


def test_zookeeper_fixture_serves_a_standalone_server(zookeeper: str, zk_path: str) -> None:
    host, _, port = zookeeper.rpartition(":")
    assert "Mode: standalone" in four_letter(host, int(port), "srvr")
    client = KazooClient(hosts=zookeeper, timeout=2.0)
    client.start(timeout=30)
    try:
        client.create(f"{zk_path}/node", b"data", makepath=True)
        assert client.get(f"{zk_path}/node")[0] == b"data"
    finally:
        client.stop()
        client.close()


def test_expire_session_makes_the_client_lose_its_session_and_ephemerals(
        zookeeper: str, zk_path: str) -> None:
    client = KazooClient(hosts=zookeeper, timeout=2.0)
    observer = KazooClient(hosts=zookeeper, timeout=2.0)
    lost = threading.Event()
    client.add_listener(lambda state: lost.set() if state == KazooState.LOST else None)
    client.start(timeout=30)
    observer.start(timeout=30)
    try:
        client.create(f"{zk_path}/eph", ephemeral=True, makepath=True)
        expire_session(client, zookeeper)
        assert lost.wait(30), "the client never saw its session LOST"
        assert observer.exists(f"{zk_path}/eph") is None
    finally:
        for c in (client, observer):
            c.stop()
            c.close()
