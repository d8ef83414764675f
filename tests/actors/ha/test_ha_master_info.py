"""MasterInfo as the JSON Mesos masters publish in ZooKeeper."""

from __future__ import annotations

import json
import socket
import struct

import pytest

from actors.ha.master_info import (
    master_info_from_json,
    master_info_to_json,
    mesos_ip,
    mesos_ip_to_str,
)
from actors.messages.info import (
    Address,
    DomainInfo,
    MasterCapability,
    MasterInfo,
    ip_to_uint32,
)
from transport.pid import PID

INFO = MasterInfo(
    id="a1b2-c3",
    ip=ip_to_uint32("10.0.0.1"),
    port=5150,
    pid=PID("master", "10.0.0.1", 5050),
    hostname="master1.example.com",
    version="0.1.0",
    address=Address(port=5150, hostname="master1.example.com", ip="10.0.0.1"),
    domain=DomainInfo(region="eu-west", zone="rack-3"),
    capabilities=frozenset({MasterCapability.AGENT_UPDATE, MasterCapability.QUOTA_V2}),
)


def test_the_json_has_mesos_field_layout() -> None:
    data = json.loads(master_info_to_json(INFO))
    assert data == {
        "id": "a1b2-c3",
        # Mesos' ip: the network-order address read as a little-endian uint32.
        "ip": struct.unpack("<L", socket.inet_aton("10.0.0.1"))[0],
        "port": 5150,
        "pid": "master@10.0.0.1:5050",
        "hostname": "master1.example.com",
        "version": "0.1.0",
        "address": {"hostname": "master1.example.com", "ip": "10.0.0.1", "port": 5150},
        "domain": {"fault_domain": {"region": {"name": "eu-west"},
                                    "zone": {"name": "rack-3"}}},
        "capabilities": [{"type": "AGENT_UPDATE"}, {"type": "QUOTA_V2"}],
    }


def test_round_trip_keeps_every_field() -> None:
    assert master_info_from_json(master_info_to_json(INFO)) == INFO
    bare = MasterInfo(id="x", ip=ip_to_uint32("127.0.0.1"), port=1)
    assert master_info_from_json(master_info_to_json(bare)) == bare


def test_a_mesos_masters_payload_is_understood() -> None:
    payload = json.dumps({
        "address": {"hostname": "m2", "ip": "192.168.1.20", "port": 5050},
        "hostname": "m2", "id": "6f2d", "ip": 335653056, "pid": "master@192.168.1.20:5050",
        "port": 5050, "version": "1.11.0",
        "capabilities": [{"type": "AGENT_UPDATE"}, {"type": "SOMETHING_NEWER"}],
    })
    info = master_info_from_json(payload)
    assert mesos_ip_to_str(335653056) == "192.168.1.20"
    assert info.ip == ip_to_uint32("192.168.1.20")
    assert info.pid == PID("master", "192.168.1.20", 5050)
    assert info.capabilities == frozenset({MasterCapability.AGENT_UPDATE})
    assert mesos_ip("192.168.1.20") == 335653056


@pytest.mark.parametrize(("payload", "complaint"), [
    (b"not json", "not JSON"),
    (b"[1]", "object"),
    (b'{"ip": 1, "port": 1}', "'id'"),
    (b'{"id": "x", "ip": "10.0.0.1", "port": 1}', "'ip'"),
    (b'{"id": "x", "ip": -1, "port": 1}', "uint32"),
    (b'{"id": "x", "ip": 1, "port": 1, "pid": "nonsense"}', "PID"),
    (b'{"id": "x", "ip": 1, "port": 1, "domain": {"x": 1}}', "domain"),
])
def test_bad_payloads_raise_value_error(payload: bytes, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        master_info_from_json(payload)
