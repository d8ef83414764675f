"""MasterDetector against a real ZooKeeper: no leader, foreign children, bad data, changes."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from kazoo.client import KazooClient

from actors.ha import MasterDetector, master_info_to_json
from actors.messages.info import MasterInfo, ip_to_uint32
from transport.pid import PID

WAIT = 30.0


def master(n: int) -> MasterInfo:
    return MasterInfo(id=f"master-{n}", ip=ip_to_uint32("127.0.0.1"), port=5150 + n,
                      pid=PID("master", "127.0.0.1", 5050 + n))


class Changes:
    """Collects ``on_change`` reports; ``wait_for(info)`` blocks until that one arrives."""

    def __init__(self) -> None:
        self.seen: list[MasterInfo | None] = []
        self._cond = threading.Condition()

    def __call__(self, info: MasterInfo | None) -> None:
        with self._cond:
            self.seen.append(info)
            self._cond.notify_all()

    def wait_for(self, info: MasterInfo | None) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: bool(self.seen) and self.seen[-1] == info, WAIT)


@pytest.fixture
def client(zookeeper: str) -> Iterator[KazooClient]:
    client = KazooClient(hosts=zookeeper, timeout=2.0)
    client.start(timeout=WAIT)
    yield client
    client.stop()
    client.close()


def publish(client: KazooClient, path: str, info: MasterInfo) -> str:
    node: str = client.create(f"{path}/json.info_", master_info_to_json(info),
                              sequence=True, makepath=True)
    return node


def test_no_leader_is_reported_as_none(zookeeper: str, zk_path: str) -> None:
    changes = Changes()
    detector = MasterDetector(zookeeper, zk_path, changes, session_timeout=2.0).start()
    try:
        assert changes.wait_for(None)
        assert changes.seen == [None]
        assert detector.leader is None
    finally:
        detector.stop()


def test_children_that_are_not_json_info_are_ignored(client: KazooClient,
                                                     zk_path: str) -> None:
    client.ensure_path(zk_path)
    for name in ("log_replicas", "election", "info_0000000000", "json.info_abc"):
        client.create(f"{zk_path}/{name}", b"\x08\x01protobuf")
    changes = Changes()
    detector = MasterDetector(client, zk_path, changes).start()
    assert changes.wait_for(None)
    first = publish(client, zk_path, master(1))
    assert changes.wait_for(master(1))
    client.create(f"{zk_path}/another", b"")
    publish(client, zk_path, master(2))
    client.delete(first)
    assert changes.wait_for(master(2))
    detector.stop()
    assert changes.seen == [None, master(1), master(2)]


def test_the_lowest_sequence_leads_and_its_removal_moves_leadership_on(
        client: KazooClient, zk_path: str) -> None:
    first = publish(client, zk_path, master(1))
    second = publish(client, zk_path, master(2))
    changes = Changes()
    detector = MasterDetector(client, zk_path, changes).start()
    assert changes.wait_for(master(1))
    client.delete(first)
    assert changes.wait_for(master(2))
    client.delete(second)
    assert changes.wait_for(None)
    detector.stop()
    assert changes.seen == [master(1), master(2), None]


def test_an_unreadable_leader_is_reported_as_none(client: KazooClient, zk_path: str) -> None:
    client.create(f"{zk_path}/json.info_", b"not json", sequence=True, makepath=True)
    changes = Changes()
    detector = MasterDetector(client, zk_path, changes).start()
    assert changes.wait_for(None)
    detector.stop()
