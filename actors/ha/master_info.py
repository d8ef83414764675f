"""MasterInfo <-> the JSON Mesos masters publish in their ``json.info_`` znodes.

The contender writes ``master_info_to_json(info)`` as its znode's data; detectors read
it back with ``master_info_from_json``. The layout is Mesos' ``JSON::protobuf(MasterInfo)``
so third-party Mesos detectors can read our znodes::

    {"id": "...", "ip": 16777226, "port": 5150, "pid": "master@10.0.0.1:5050",
     "hostname": "...", "version": "...",
     "address": {"hostname": "...", "ip": "10.0.0.1", "port": 5150},
     "domain": {"fault_domain": {"region": {"name": "..."}, "zone": {"name": "..."}}},
     "capabilities": [{"type": "AGENT_UPDATE"}]}

``pid`` is the ZeroMQ PID (where messages go), ``port`` and ``address`` the HTTP
endpoint (DESIGN.md). Mesos stores ``ip`` in network byte order read as a native
(little-endian) uint32 (MESOS-1201): 10.0.0.1 is 0x0100000A there, whereas
``MasterInfo.ip`` holds ``ip_to_uint32`` (0x0A000001); the byte swap happens here only.
"""

from __future__ import annotations

import json
from typing import Any

from actors.messages.info import (
    Address,
    DomainInfo,
    MasterCapability,
    MasterInfo,
    ip_from_uint32,
    ip_to_uint32,
)
from transport.pid import PID

__all__ = ["master_info_from_json", "master_info_to_json", "mesos_ip", "mesos_ip_to_str"]


def mesos_ip(ip: str) -> int:
    """``"10.0.0.1"`` -> Mesos' ``MasterInfo.ip`` (network byte order, read little-endian)."""
    return _swap32(ip_to_uint32(ip))


def mesos_ip_to_str(value: int) -> str:
    """The reverse of ``mesos_ip``."""
    return ip_from_uint32(_swap32(value))


def _swap32(value: int) -> int:
    return int.from_bytes(value.to_bytes(4, "big"), "little")


def master_info_to_json(info: MasterInfo) -> bytes:
    """The znode payload for ``info``: UTF-8 JSON in Mesos' field layout."""
    data: dict[str, Any] = {
        "id": info.id,
        "ip": _swap32(info.ip),
        "port": info.port,
        "hostname": info.hostname,
        "version": info.version,
    }
    if info.pid is not None:
        data["pid"] = str(info.pid)
    if info.address is not None:
        address: dict[str, Any] = {"port": info.address.port}
        if info.address.hostname:
            address["hostname"] = info.address.hostname
        if info.address.ip:
            address["ip"] = info.address.ip
        data["address"] = address
    if info.domain is not None:
        data["domain"] = {"fault_domain": {"region": {"name": info.domain.region},
                                           "zone": {"name": info.domain.zone}}}
    if info.capabilities:
        data["capabilities"] = [{"type": c.name}
                                for c in sorted(info.capabilities, key=lambda c: c.value)]
    return json.dumps(data, separators=(",", ":")).encode()


def master_info_from_json(payload: bytes | str) -> MasterInfo:
    """Parse a ``json.info_`` znode's data; raise ``ValueError`` saying what is wrong.

    Unknown fields and unknown capabilities are ignored (newer masters may add them).
    """
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"MasterInfo is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("MasterInfo JSON must be an object")
    master_id = _field(data, "id", str)
    ip = _field(data, "ip", int)
    port = _field(data, "port", int)
    if not 0 <= ip < 2**32:
        raise ValueError(f"MasterInfo ip {ip} is not a uint32")
    pid_text = data.get("pid")
    pid = PID.parse(pid_text) if pid_text is not None else None
    return MasterInfo(
        id=master_id,
        ip=_swap32(ip),
        port=port,
        pid=pid,
        hostname=_optional(data, "hostname"),
        version=_optional(data, "version"),
        address=_address(data.get("address")),
        domain=_domain(data.get("domain")),
        capabilities=_capabilities(data.get("capabilities")),
    )


def _field(data: dict[str, Any], name: str, kind: type) -> Any:
    if name not in data:
        raise ValueError(f"MasterInfo JSON lacks {name!r}")
    value = data[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"MasterInfo {name!r} must be {kind.__name__}, not {value!r}")
    return value


def _optional(data: dict[str, Any], name: str) -> str:
    value = data.get(name, "")
    if not isinstance(value, str):
        raise ValueError(f"MasterInfo {name!r} must be a string, not {value!r}")
    return value


def _address(data: Any) -> Address | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ValueError("MasterInfo 'address' must be an object")
    return Address(port=_field(data, "port", int), hostname=_optional(data, "hostname"),
                   ip=_optional(data, "ip"))


def _domain(data: Any) -> DomainInfo | None:
    if data is None:
        return None
    try:
        fault = data["fault_domain"]
        return DomainInfo(region=str(fault["region"]["name"]), zone=str(fault["zone"]["name"]))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"MasterInfo 'domain' is malformed: {data!r}") from exc


def _capabilities(data: Any) -> frozenset[MasterCapability]:
    if data is None:
        return frozenset()
    if not isinstance(data, list):
        raise ValueError("MasterInfo 'capabilities' must be a list")
    known = {c.name: c for c in MasterCapability}
    return frozenset(known[c["type"]] for c in data
                     if isinstance(c, dict) and c.get("type") in known)
