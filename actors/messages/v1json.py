"""Meseta records <-> Mesos v1 protobuf-JSON, both ways, driven by the records' type hints.

``to_v1(obj)`` turns any record of ``actors.messages`` (``FrameworkInfo``, ``TaskInfo``,
``TaskStatus``, ``Offer``, ``Operation``...) into the dict Mesos' v1 HTTP APIs carry;
``from_v1(cls, data)`` builds the record back from such a dict. The HTTP scheduler API
on the master and the HTTP executor API on the agent use these two functions; nothing
else about JSON lives in the records.

How a field maps follows from its type, with Mesos' protobuf-JSON conventions:

- an id (a ``str`` field named ``id`` or ``*_id``) is wrapped: ``{"value": "..."}``;
  ``*_ids`` tuples become lists of wrapped ids (``MasterInfo.id`` stays a plain string);
- enums travel by member name (a number is accepted on the way in);
- ``bytes`` are base64; ``Resources`` use ``Resources.to_json``/``from_json``;
- ``capabilities`` sets become ``[{"type": NAME}]``; tuples become lists;
- a few fields differ in shape, listed in ``_FIELDS`` (durations as ``DurationInfo``
  nanoseconds, ``Unavailability`` in integer nanoseconds, ``Offer.role`` as
  ``allocation_info``, ``DiscoveryInfo.ports`` wrapped) and ``_CLASSES`` (``Attribute``,
  ``DomainInfo``, ``ContainerStatus``, ``OfferFilters``).

``to_v1`` leaves out optional fields at their default (as protobuf does for unset
fields). ``from_v1`` ignores fields it does not know, reads ``slave_*`` as ``agent_*``,
and raises ``ValueError`` naming the path of a missing required or ill-typed field
(``TaskInfo.command.value: expected a string``).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import math
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from actors.messages.info import (
    Attribute,
    DomainInfo,
    FrameworkInfo,
    MasterInfo,
    OfferFilters,
    Range,
    ValueType,
)
from actors.messages.maintenance import Unavailability
from actors.messages.offers import Offer
from actors.messages.tasks import (
    ContainerStatus,
    DiscoveryInfo,
    ExecutorInfo,
    KillPolicy,
    Port,
    TaskInfo,
    TaskStatus,
)
from actors.resources import Resources
from transport.pid import PID

__all__ = ["bytes_from_v1", "from_v1", "nanos", "seconds", "to_v1"]

T = TypeVar("T")
ToJson = Callable[[Any], Any]
FromJson = Callable[[Any, str], Any]


# -- scalar conversions ------------------------------------------------------------------


def _fail(path: str, what: str) -> ValueError:
    return ValueError(f"{path}: {what}")


def _str(data: Any, path: str) -> str:
    if not isinstance(data, str):
        raise _fail(path, "expected a string")
    return data


def _int(data: Any, path: str) -> int:
    if isinstance(data, str) and data.lstrip("-").isdigit():
        return int(data)  # protobuf JSON may quote 64-bit integers
    if isinstance(data, int) and not isinstance(data, bool):
        return data
    if isinstance(data, float) and data.is_integer():  # also false for inf and nan
        return int(data)
    raise _fail(path, "expected an integer")


def _float(data: Any, path: str) -> float:
    if isinstance(data, bool) or not isinstance(data, int | float | str):
        raise _fail(path, "expected a number")
    try:
        value = float(data)
    except ValueError:
        raise _fail(path, "expected a number") from None
    if not math.isfinite(value):  # no field of the API means anything by NaN or infinity
        raise _fail(path, "expected a finite number")
    return value


def _bool(data: Any, path: str) -> bool:
    if not isinstance(data, bool):
        raise _fail(path, "expected true or false")
    return data


def _bytes(data: Any, path: str) -> bytes:
    try:
        return base64.b64decode(_str(data, path), validate=True)
    except (binascii.Error, ValueError):
        raise _fail(path, "expected base64 bytes") from None


def bytes_from_v1(data: Any, path: str) -> bytes:
    """Protobuf-JSON ``bytes`` (base64) as bytes; ``ValueError`` naming ``path``."""
    return _bytes(data, path)


def _object(data: Any, path: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _fail(path, "expected an object")
    return data


def _list(data: Any, path: str) -> list[Any]:
    if not isinstance(data, list):
        raise _fail(path, "expected a list")
    return data


def _wrapped_id(data: Any, path: str) -> str:
    return _str(_object(data, path).get("value"), f"{path}.value")


def nanos(value: float) -> dict[str, int]:
    """Seconds as Mesos' ``DurationInfo`` / ``TimeInfo``: ``{"nanoseconds": n}``."""
    return {"nanoseconds": round(value * 1e9)}


def seconds(data: Any, path: str) -> float:
    """The reverse of ``nanos``."""
    return _int(_object(data, path).get("nanoseconds"), f"{path}.nanoseconds") / 1e9


def _enum_from(cls: type[enum.Enum]) -> FromJson:
    def read(data: Any, path: str) -> enum.Enum:
        try:
            return cls[data] if isinstance(data, str) else cls(data)
        except (KeyError, ValueError):
            raise _fail(path, f"unknown {cls.__name__} {data!r}") from None

    return read


def _seq(to: ToJson, frm: FromJson, kind: Callable[[Any], Any] = tuple) -> tuple[ToJson, FromJson]:
    return (
        lambda v: [to(x) for x in sorted(v, key=str)] if kind is frozenset else [to(x) for x in v],
        lambda d, p: kind(frm(x, f"{p}[{i}]") for i, x in enumerate(_list(d, p))),
    )


# -- per-type conversions -----------------------------------------------------------------


def _for_type(tp: Any, name: str) -> tuple[ToJson, FromJson]:
    """How a value of type ``tp`` in a field named ``name`` maps to JSON and back."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _for_type(inner[0], name)
    if origin in (tuple, frozenset):
        item = args[0]
        if item is str and name.endswith("_ids"):
            return _seq(lambda v: {"value": v}, _wrapped_id)
        if isinstance(item, type) and issubclass(item, enum.Enum) and name == "capabilities":
            read = _enum_from(item)
            return _seq(
                lambda v: {"type": v.name},
                lambda d, p: read(_object(d, p).get("type"), f"{p}.type"),
                frozenset,
            )
        to, frm = _for_type(item, "")
        return _seq(to, frm, origin)
    if tp is str:
        if name == "id" or name.endswith("_id"):
            return (lambda v: {"value": v}), _wrapped_id
        return (lambda v: v), _str
    if tp is bool:
        return (lambda v: v), _bool
    if tp is int:
        return (lambda v: v), _int
    if tp is float:
        return (lambda v: v), _float
    if tp is bytes:
        return (lambda v: base64.b64encode(v).decode("ascii")), _bytes
    if tp is Resources:
        return _resources_to, _resources_from
    if tp is PID:
        return str, lambda d, p: PID.parse(_str(d, p))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return (lambda v: v.name), _enum_from(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return to_v1, lambda d, p: _from(tp, d, p)
    raise TypeError(f"v1json: no JSON form for {tp!r}")


def _resources_to(value: Resources) -> list[dict[str, Any]]:
    return value.to_json()


def _resources_from(data: Any, path: str) -> Resources:
    try:
        return Resources.from_json(_list(data, path))
    except ValueError as exc:
        raise _fail(path, str(exc)) from None


# -- fields whose JSON shape differs from their type ---------------------------------------


def _attribute_to(a: Attribute) -> dict[str, Any]:
    out: dict[str, Any] = {"name": a.name, "type": a.type.name}
    if a.type is ValueType.SCALAR:
        out["scalar"] = {"value": a.scalar}
    elif a.type is ValueType.RANGES:
        out["ranges"] = {"range": [{"begin": r.begin, "end": r.end} for r in a.ranges]}
    elif a.type is ValueType.SET:
        out["set"] = {"item": sorted(a.set)}
    else:
        out["text"] = {"value": a.text}
    return out


def _attribute_from(data: Any, path: str) -> Attribute:
    obj = _object(data, path)
    kind = _enum_from(ValueType)(obj.get("type"), f"{path}.type")
    name = _str(obj.get("name"), f"{path}.name")
    body = _object(obj.get(kind.name.lower(), {}), f"{path}.{kind.name.lower()}")
    if kind is ValueType.SCALAR:
        return Attribute(name=name, type=kind, scalar=_float(body.get("value"), f"{path}.scalar"))
    if kind is ValueType.RANGES:
        ranges = tuple(
            Range(begin=_int(r.get("begin"), path), end=_int(r.get("end"), path))
            for r in _list(body.get("range", []), f"{path}.ranges.range")
        )
        return Attribute(name=name, type=kind, ranges=ranges)
    if kind is ValueType.SET:
        items = _list(body.get("item", []), f"{path}.set.item")
        return Attribute(name=name, type=kind, set=frozenset(_str(i, path) for i in items))
    return Attribute(name=name, type=kind, text=_str(body.get("value"), f"{path}.text.value"))


def _domain_to(d: DomainInfo) -> dict[str, Any]:
    return {"fault_domain": {"region": {"name": d.region}, "zone": {"name": d.zone}}}


def _domain_from(data: Any, path: str) -> DomainInfo:
    fault = _object(_object(data, path).get("fault_domain"), f"{path}.fault_domain")
    region = _object(fault.get("region"), f"{path}.fault_domain.region")
    zone = _object(fault.get("zone"), f"{path}.fault_domain.zone")
    return DomainInfo(
        region=_str(region.get("name"), f"{path}.fault_domain.region.name"),
        zone=_str(zone.get("name"), f"{path}.fault_domain.zone.name"),
    )


def _container_status_to(c: ContainerStatus) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if c.container_id:
        out["container_id"] = {"value": c.container_id}
    if c.executor_pid is not None:
        out["executor_pid"] = c.executor_pid
    if c.ip_addresses:
        out["network_infos"] = [{"ip_addresses": [{"ip_address": ip} for ip in c.ip_addresses]}]
    return out


def _container_status_from(data: Any, path: str) -> ContainerStatus:
    obj = _object(data, path)
    ips = [
        _str(ip.get("ip_address"), f"{path}.network_infos.ip_addresses.ip_address")
        for net in _list(obj.get("network_infos", []), f"{path}.network_infos")
        for ip in _list(_object(net, path).get("ip_addresses", []), path)
    ]
    pid = obj.get("executor_pid")
    return ContainerStatus(
        container_id=_wrapped_id(obj["container_id"], path) if "container_id" in obj else "",
        executor_pid=None if pid is None else _int(pid, f"{path}.executor_pid"),
        ip_addresses=tuple(ips),
    )


def _offer_filters_to(f: OfferFilters) -> dict[str, Any]:
    alternatives = []
    for alt in filter(None, f.min_allocatable_resources.split("|")):
        pairs = (p.split(":", 1) for p in alt.split(";") if ":" in p)
        alternatives.append({"quantities": {k.strip(): {"value": float(v)} for k, v in pairs}})
    return {"min_allocatable_resources": {"quantities": alternatives}} if alternatives else {}


def _offer_filters_from(role: str, data: Any, path: str) -> OfferFilters:
    raw = _object(_object(data, path).get("min_allocatable_resources", {}), path)
    alts = []
    for i, alt in enumerate(_list(raw.get("quantities", []), f"{path}.quantities")):
        q = _object(_object(alt, path).get("quantities", {}), f"{path}.quantities[{i}]")
        amounts = (f"{k}:{_float(_object(v, path).get('value'), path):g}" for k, v in q.items())
        alts.append(";".join(amounts))
    return OfferFilters(role=role, min_allocatable_resources="|".join(alts))


_DURATION: tuple[str, ToJson, FromJson] = ("", nanos, seconds)
_NANOSECONDS: tuple[str, ToJson, FromJson] = (
    "",
    lambda v: {"nanoseconds": v},
    lambda d, p: _int(_object(d, p).get("nanoseconds"), f"{p}.nanoseconds"),
)
"""A ``TimeInfo`` / ``DurationInfo`` kept as integer nanoseconds (``Unavailability``)."""

_CLASSES: dict[type, tuple[ToJson, FromJson]] = {
    Attribute: (_attribute_to, _attribute_from),
    DomainInfo: (_domain_to, _domain_from),
    ContainerStatus: (_container_status_to, _container_status_from),
}
"""Records whose JSON shape is not their fields'."""

_FIELDS: dict[tuple[type, str], tuple[str, ToJson, FromJson]] = {
    (KillPolicy, "grace_period"): _DURATION,
    (ExecutorInfo, "shutdown_grace_period"): _DURATION,
    (TaskInfo, "max_completion_time"): _DURATION,
    (TaskStatus, "unreachable_time"): _DURATION,
    (MasterInfo, "id"): ("", lambda v: v, _str),
    (Unavailability, "start"): _NANOSECONDS,
    (Unavailability, "duration"): _NANOSECONDS,
    (Offer, "role"): (
        "allocation_info",
        lambda v: {"role": v},
        lambda d, p: _str(_object(d, p).get("role"), f"{p}.role"),
    ),
    (DiscoveryInfo, "ports"): (
        "",
        lambda v: {"ports": [to_v1(x) for x in v]},
        lambda d, p: tuple(
            _from(Port, x, f"{p}.ports[{i}]")
            for i, x in enumerate(_list(_object(d, p).get("ports", []), f"{p}.ports"))
        ),
    ),
    (FrameworkInfo, "offer_filters"): (
        "",
        lambda v: {f.role: _offer_filters_to(f) for f in v},
        lambda d, p: tuple(
            _offer_filters_from(k, v, f"{p}.{k}") for k, v in _object(d, p).items()
        ),
    ),
}
"""``(record, field) -> (JSON name or "" for the same, to JSON, from JSON)``."""


# -- records ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class _Field:
    name: str
    json: str
    to: ToJson
    frm: FromJson
    required: bool
    default: Any


_FIELD_CACHE: dict[type, tuple[_Field, ...]] = {}


def _fields(cls: type) -> tuple[_Field, ...]:
    cached = _FIELD_CACHE.get(cls)
    if cached is not None:
        return cached
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if (cls, f.name) in _FIELDS:
            json_name, to, frm = _FIELDS[cls, f.name]
        else:
            json_name, (to, frm) = "", _for_type(hints[f.name], f.name)
        if f.default is not dataclasses.MISSING:
            required, default = False, f.default
        elif f.default_factory is not dataclasses.MISSING:
            required, default = False, f.default_factory()
        else:
            required, default = True, None
        out.append(_Field(f.name, json_name or f.name, to, frm, required, default))
    _FIELD_CACHE[cls] = tuple(out)
    return _FIELD_CACHE[cls]


def to_v1(obj: Any) -> dict[str, Any]:
    """The Mesos v1 JSON object for a record (optional fields at their default left out)."""
    special = _CLASSES.get(type(obj))
    if special is not None:
        return typing.cast(dict[str, Any], special[0](obj))
    out: dict[str, Any] = {}
    for f in _fields(type(obj)):
        value = getattr(obj, f.name)
        if value is None or (not f.required and value == f.default):
            continue
        out[f.json] = f.to(value)
    _after_to(obj, out)
    return out


def from_v1(cls: type[T], data: Any) -> T:
    """Build a ``cls`` record from its Mesos v1 JSON object (``ValueError`` if unusable)."""
    return typing.cast(T, _from(cls, data, cls.__name__))


def _from(cls: type, data: Any, path: str) -> Any:
    special = _CLASSES.get(cls)
    if special is not None:
        return special[1](data, path)
    obj = dict(_object(data, path))
    _before_from(cls, obj)
    kwargs: dict[str, Any] = {}
    for f in _fields(cls):
        raw = obj.get(f.json)
        if raw is None and f.json.startswith("agent"):
            raw = obj.get("slave" + f.json[len("agent") :])
        if raw is None:
            if f.required:
                raise _fail(f"{path}.{f.json}", "required field missing")
            continue
        kwargs[f.name] = f.frm(raw, f"{path}.{f.json}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise _fail(path, str(exc)) from None


def _after_to(obj: Any, out: dict[str, Any]) -> None:
    """Mesos' redundant fields: a single-role framework's ``role``, offers' allocation_info."""
    if isinstance(obj, FrameworkInfo) and len(obj.roles) == 1:
        out.setdefault("roles", list(obj.roles))
        out["role"] = obj.roles[0]
    if isinstance(obj, Offer) and obj.role:
        for r in out.get("resources", ()):
            r["allocation_info"] = {"role": obj.role}


def _before_from(cls: type, obj: dict[str, Any]) -> None:
    if cls is FrameworkInfo and "roles" not in obj and isinstance(obj.get("role"), str):
        obj["roles"] = [obj["role"]]
