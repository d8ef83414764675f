"""Resource formats: the agent flag text, Mesos' JSON, and compact data for msgpack.

Parsing and printing of ``Resources`` entries (``actors.resources.core`` calls these);
every parser raises ``ValueError`` saying what is wrong and where.
"""

from __future__ import annotations

import math
from typing import Any

from actors.resources.values import (
    _MAX_RANGE,
    _RESERVATION_TYPES,
    DEFAULT_ROLE,
    Key,
    Ranges,
    Reservation,
    Resource,
    Value,
    _coalesce,
    _kind,
    format_milli,
    is_strict_subrole_of,
    to_milli,
    validate_role,
)


def _view(key: Key, value: Value) -> Resource:
    shown: float | Ranges | frozenset[str] = value / 1000 if isinstance(value, int) else value
    return Resource(key[0], key[1], shown)


# --- text, JSON and plain-data codecs -------------------------------------------------

_NAME_FORBIDDEN = set("()[]{}:;, \t\n")


def _check_name(name: object, where: str) -> str:
    if not isinstance(name, str) or not name or any(c in _NAME_FORBIDDEN for c in name):
        raise ValueError(f"{where}: bad resource name {name!r}")
    return name


def _check_stack(stack: tuple[Reservation, ...], where: str) -> tuple[Reservation, ...]:
    for index, reservation in enumerate(stack):
        if reservation.type not in _RESERVATION_TYPES:
            raise ValueError(f"{where}: reservation type must be STATIC or DYNAMIC")
        if reservation.role == DEFAULT_ROLE:
            raise ValueError(f"{where}: cannot reserve to the unreserved role '*'")
        try:
            validate_role(reservation.role)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if index and not is_strict_subrole_of(reservation.role, stack[index - 1].role):
            raise ValueError(
                f"{where}: refined reservation role {reservation.role!r} is not "
                f"below {stack[index - 1].role!r}"
            )
    return stack


def _static(role: str, where: str) -> tuple[Reservation, ...]:
    if role == DEFAULT_ROLE:
        return ()
    return _check_stack((Reservation("STATIC", role),), where)


def _parse_entries(text: str, default_role: str) -> list[tuple[Key, Value]]:
    entries: list[tuple[Key, Value]] = []
    offset = 0
    for index, token in enumerate(text.split(";"), start=1):
        where = f"resource #{index} {token.strip()!r} at offset {offset}"
        offset += len(token) + 1
        token = token.strip()
        if not token:
            continue
        head, sep, raw = token.rpartition(":")
        if not sep or not head.strip():
            raise ValueError(f"{where}: expected 'name:value' or 'name(role):value'")
        entries.append((_parse_head(head.strip(), default_role, where), _parse_value(raw, where)))
    return entries


def _parse_head(head: str, default_role: str, where: str) -> Key:
    if "(" not in head:
        return (_check_name(head, where), _static(default_role, where))
    opening = head.index("(")
    if not head.endswith(")"):
        raise ValueError(f"{where}: mismatched parentheses in {head!r}")
    name = _check_name(head[:opening].strip(), where)
    inner = head[opening + 1 : -1].strip()
    if not inner.startswith("reservations:"):
        return (name, _static(inner, where))
    body = inner[len("reservations:") :].strip()
    if not (body.startswith("[") and body.endswith("]")):
        raise ValueError(f"{where}: expected 'reservations: [(TYPE,role[,principal]),...]'")
    groups = [g for g in body[1:-1].replace(" ", "").split("),") if g]
    stack = []
    for group in groups:
        fields = group.strip("()").split(",")
        if len(fields) not in (2, 3) or fields[0] not in _RESERVATION_TYPES:
            raise ValueError(
                f"{where}: bad reservation {group!r}, expected (TYPE,role[,principal])"
            )
        principal = fields[2] if len(fields) == 3 else None
        stack.append(Reservation(fields[0], fields[1], principal))  # type: ignore[arg-type]
    return (name, _check_stack(tuple(stack), where))


def _parse_value(raw: str, where: str) -> Value:
    text = raw.replace(" ", "")
    if text.startswith("["):
        if not text.endswith("]"):
            raise ValueError(f"{where}: ranges must end with ']'")
        ranges = []
        for part in filter(None, text[1:-1].split(",")):
            begin, sep, end = part.partition("-")
            if not (sep and begin.isdigit() and end.isdigit()):
                raise ValueError(f"{where}: bad range {part!r}, expected 'begin-end'")
            ranges.append(_range(int(begin), int(end), where))
        return _coalesce(ranges)
    if text.startswith("{"):
        if not text.endswith("}"):
            raise ValueError(f"{where}: set must end with '}}'")
        return frozenset(filter(None, text[1:-1].split(",")))
    try:
        number = float(text) if text and "_" not in text else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{where}: expected a non-negative number, '[ranges]' or '{{set}}'")
    return to_milli(number)


def _range(begin: object, end: object, where: str) -> tuple[int, int]:
    if type(begin) is not int or type(end) is not int:
        raise ValueError(f"{where}: range bounds must be integers")
    if not 0 <= begin <= end <= _MAX_RANGE:
        raise ValueError(f"{where}: bad range {begin}-{end}")
    return (begin, end)


def _format_key(key: Key) -> str:
    name, stack = key
    if not stack:
        return name
    if len(stack) == 1 and stack[0].type == "STATIC" and stack[0].principal is None:
        return f"{name}({stack[0].role})"
    shown = ",".join(
        "(" + ",".join([r.type, r.role] + ([r.principal] if r.principal is not None else [])) + ")"
        for r in stack
    )
    return f"{name}(reservations: [{shown}])"


def _format_value(value: Value) -> str:
    if isinstance(value, int):
        return format_milli(value)
    if isinstance(value, tuple):
        return "[" + ",".join(f"{b}-{e}" for b, e in value) + "]"
    return "{" + ",".join(sorted(value)) + "}"


def _format_entries(items: list[tuple[Key, Value]]) -> str:
    return ";".join(f"{_format_key(k)}:{_format_value(v)}" for k, v in items)


def _entry_json(key: Key, value: Value) -> dict[str, Any]:
    name, stack = key
    out: dict[str, Any] = {"name": name, "type": _kind(value)}
    if isinstance(value, int):
        out["scalar"] = {"value": value / 1000}
    elif isinstance(value, tuple):
        out["ranges"] = {"range": [{"begin": b, "end": e} for b, e in value]}
    else:
        out["set"] = {"item": sorted(value)}
    if stack:
        out["reservations"] = [
            {"type": r.type, "role": r.role}
            | ({"principal": r.principal} if r.principal is not None else {})
            for r in stack
        ]
    return out


def _json_entries(data: Any, default_role: str) -> list[tuple[Key, Value]]:
    if not isinstance(data, list):
        raise ValueError("resources JSON must be a list of Resource objects")
    entries: list[tuple[Key, Value]] = []
    for index, obj in enumerate(data, start=1):
        where = f"JSON resource #{index}"
        if not isinstance(obj, dict):
            raise ValueError(f"{where}: expected an object, got {type(obj).__name__}")
        name = _check_name(obj.get("name"), where)
        where = f"JSON resource #{index} {name!r}"
        entries.append(((name, _json_stack(obj, default_role, where)), _json_value(obj, where)))
    return entries


def _json_stack(obj: dict[str, Any], default_role: str, where: str) -> tuple[Reservation, ...]:
    raw = obj.get("reservations")
    if raw:
        if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
            raise ValueError(f"{where}: 'reservations' must be a list of objects")
        stack = []
        for r in raw:
            kind, role, principal = r.get("type", "STATIC"), r.get("role"), r.get("principal")
            if not isinstance(role, str) or not (principal is None or isinstance(principal, str)):
                raise ValueError(f"{where}: reservation needs a string 'role'")
            stack.append(Reservation(kind, role, principal))
        return _check_stack(tuple(stack), where)
    role = obj.get("role", default_role)
    if not isinstance(role, str):
        raise ValueError(f"{where}: 'role' must be a string")
    if role != DEFAULT_ROLE and isinstance(obj.get("reservation"), dict):
        principal = obj["reservation"].get("principal")
        return _check_stack((Reservation("DYNAMIC", role, principal),), where)
    return _static(role, where)


def _json_value(obj: dict[str, Any], where: str) -> Value:
    kind = obj.get("type")
    try:
        if kind == "SCALAR":
            number = obj["scalar"]["value"]
            if isinstance(number, bool) or not isinstance(number, int | float) or number < 0:
                raise ValueError(f"{where}: scalar value must be a non-negative number")
            return to_milli(float(number))
        if kind == "RANGES":
            raw = obj["ranges"].get("range", [])
            return _coalesce([_range(r["begin"], r["end"], where) for r in raw])
        if kind == "SET":
            items = obj["set"].get("item", [])
            if not all(isinstance(i, str) for i in items):
                raise ValueError(f"{where}: set items must be strings")
            return frozenset(items)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{where}: malformed {kind} value ({exc!r})") from None
    raise ValueError(f"{where}: 'type' must be SCALAR, RANGES or SET, not {kind!r}")


def _data_entries(data: Any) -> list[tuple[Key, Value]]:
    if not isinstance(data, list | tuple):
        raise ValueError("resources data must be a list")
    entries: list[tuple[Key, Value]] = []
    for index, item in enumerate(data, start=1):
        where = f"resources data entry #{index}"
        if not isinstance(item, list | tuple) or len(item) != 4:
            raise ValueError(f"{where}: expected [name, reservations, kind, value]")
        name, raw_stack, kind, raw = item
        _check_name(name, where)
        if not isinstance(raw_stack, list | tuple) or not all(
            isinstance(r, list | tuple) and len(r) == 3 and isinstance(r[1], str) for r in raw_stack
        ):
            raise ValueError(f"{where}: reservations must be [type, role, principal] triples")
        stack = _check_stack(tuple(Reservation(r[0], r[1], r[2]) for r in raw_stack), where)
        if any(r.principal is not None and not isinstance(r.principal, str) for r in stack):
            raise ValueError(f"{where}: principal must be a string or None")
        value: Value
        if kind == "SCALAR" and type(raw) is int and raw >= 0:
            value = raw
        elif kind == "RANGES" and isinstance(raw, list | tuple):
            if not all(isinstance(r, list | tuple) and len(r) == 2 for r in raw):
                raise ValueError(f"{where}: ranges must be [begin, end] pairs")
            value = _coalesce([_range(b, e, where) for b, e in raw])
        elif (
            kind == "SET" and isinstance(raw, list | tuple) and all(isinstance(i, str) for i in raw)
        ):
            value = frozenset(raw)
        else:
            raise ValueError(f"{where}: bad {kind!r} value {raw!r}")
        entries.append(((name, stack), value))
    return entries
