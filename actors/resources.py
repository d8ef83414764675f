"""Resources: the immutable value type for what agents offer and tasks consume.

Everything that counts CPUs, memory, disk or ports talks through this module: the
allocator (its sorters and quota arithmetic), the master (offers, task validation),
agents (their ``--resources`` flag) and frameworks. It has no dependency beyond the
standard library.

A ``Resources`` value is a bag of entries keyed by ``(name, reservations)``:

- scalars (``cpus:2.5``) with three decimal digits of fixed-point precision, as in
  Mesos; they are stored as integer milli-units so sums never drift;
- ranges (``ports:[31000-32000]``, ``[1-3,5-9]``), always coalesced;
- sets (``{a,b}``).

A reservation stack (a tuple of ``Reservation``) says who owns an entry; the last
element is the reservation role. An empty stack means the unreserved role ``"*"``.
``cpus(eng):2`` is a static reservation for ``eng``; dynamic or refined stacks print
as ``cpus(reservations: [(STATIC,eng),(DYNAMIC,eng/web,alice)]):2``, which parses back.

Three external forms are supported: the agent flag text (``parse``/``str``), the
Mesos JSON form (``from_json``/``to_json``) and compact plain data for msgpack
(``from_data``/``to_data``). Bad input raises ``ValueError`` saying what and where.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "DEFAULT_ROLE",
    "EMPTY",
    "Reservation",
    "Resource",
    "Resources",
    "format_milli",
    "is_strict_subrole_of",
    "role_ancestors",
    "to_milli",
    "validate_role",
]

DEFAULT_ROLE = "*"
"""The unreserved role: resources reserved to nobody."""

ReservationType = Literal["STATIC", "DYNAMIC"]
Ranges = tuple[tuple[int, int], ...]
Value = int | Ranges | frozenset[str]
"""Scalar (milli-units), coalesced ranges, or a set of items."""

_RESERVATION_TYPES = ("STATIC", "DYNAMIC")
_MAX_RANGE = 2**64 - 1


@dataclass(frozen=True, slots=True, order=True)
class Reservation:
    """One level of a reservation stack: who reserved the resource, and how."""

    type: ReservationType
    """``STATIC`` (agent ``--resources`` flag) or ``DYNAMIC`` (RESERVE operation)."""
    role: str
    """The role the resource is reserved to."""
    principal: str | None = None
    """The principal that made a dynamic reservation, if known."""


Key = tuple[str, tuple[Reservation, ...]]


@dataclass(frozen=True, slots=True)
class Resource:
    """A read-only view of one entry of a ``Resources`` value (see ``__iter__``)."""

    name: str
    reservations: tuple[Reservation, ...]
    value: float | Ranges | frozenset[str]

    @property
    def role(self) -> str:
        """The reservation role, ``"*"`` when unreserved."""
        return self.reservations[-1].role if self.reservations else DEFAULT_ROLE


# --- roles ------------------------------------------------------------------------


def validate_role(role: str) -> None:
    """Raise ``ValueError`` unless ``role`` is a valid (possibly hierarchical) role."""
    if role == DEFAULT_ROLE:
        return
    if not role:
        raise ValueError("role must not be empty")
    for part in role.split("/"):
        if part in ("", ".", "..", "*"):
            raise ValueError(f"invalid role {role!r}: bad path component {part!r}")
        if part.startswith("-"):
            raise ValueError(f"invalid role {role!r}: component {part!r} starts with '-'")
        if any(c.isspace() or c in "*\\()[]{}:;,\x7f" or ord(c) < 32 for c in part):
            raise ValueError(f"invalid role {role!r}: forbidden character in {part!r}")


def role_ancestors(role: str) -> list[str]:
    """Ancestors of a role, nearest first: ``a/b/c`` -> ``["a/b", "a"]``."""
    result = []
    while "/" in role:
        role = role.rsplit("/", 1)[0]
        result.append(role)
    return result


def is_strict_subrole_of(role: str, ancestor: str) -> bool:
    """True when ``role`` lies strictly below ``ancestor`` in the role tree."""
    return role.startswith(ancestor + "/")


# --- scalar helpers ---------------------------------------------------------------


def to_milli(value: float) -> int:
    """Convert a scalar to milli-units, rounding to 3 decimal digits as Mesos does."""
    if not math.isfinite(value):
        raise ValueError(f"scalar value {value!r} is not finite")
    return round(value * 1000)


def format_milli(milli: int) -> str:
    """Format milli-units the shortest exact way: 2000 -> '2', 2500 -> '2.5'."""
    units, frac = divmod(milli, 1000)
    if frac == 0:
        return str(units)
    return f"{units}.{frac:03d}".rstrip("0")


# --- value arithmetic -------------------------------------------------------------


def _coalesce(ranges: list[tuple[int, int]]) -> Ranges:
    ranges.sort()
    out: list[tuple[int, int]] = []
    for begin, end in ranges:
        if out and begin <= out[-1][1] + 1:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((begin, end))
    return tuple(out)


def _ranges_contain(outer: Ranges, inner: Ranges) -> bool:
    return all(any(b >= ob and e <= oe for ob, oe in outer) for b, e in inner)


def _ranges_subtract(left: Ranges, right: Ranges) -> Ranges:
    pieces = list(left)
    for rb, re in right:
        kept: list[tuple[int, int]] = []
        for pb, pe in pieces:
            if re < pb or rb > pe:
                kept.append((pb, pe))
                continue
            if pb < rb:
                kept.append((pb, rb - 1))
            if re < pe:
                kept.append((re + 1, pe))
        pieces = kept
    return tuple(pieces)


def _kind(value: Value) -> str:
    if isinstance(value, int):
        return "SCALAR"
    if isinstance(value, tuple):
        return "RANGES"
    return "SET"


def _add_value(key: Key, left: Value, right: Value) -> Value:
    if isinstance(left, int) and isinstance(right, int):
        return left + right
    if isinstance(left, tuple) and isinstance(right, tuple):
        return _coalesce(list(left + right))
    if isinstance(left, frozenset) and isinstance(right, frozenset):
        return left | right
    raise ValueError(f"resource {key[0]!r} is both {_kind(left)} and {_kind(right)}")


def _value_contains(left: Value, right: Value) -> bool:
    if isinstance(left, int) and isinstance(right, int):
        return left >= right
    if isinstance(left, tuple) and isinstance(right, tuple):
        return _ranges_contain(left, right)
    if isinstance(left, frozenset) and isinstance(right, frozenset):
        return left >= right
    return False


def _sub_value(left: Value, right: Value) -> Value:
    if isinstance(left, int) and isinstance(right, int):
        return left - right
    if isinstance(left, tuple) and isinstance(right, tuple):
        return _ranges_subtract(left, right)
    assert isinstance(left, frozenset) and isinstance(right, frozenset)
    return left - right


def _role_of(key: Key) -> str:
    return key[1][-1].role if key[1] else DEFAULT_ROLE


# --- the value type ---------------------------------------------------------------


class Resources:
    """An immutable bag of resources; see the module docstring for the model."""

    __slots__ = ("_hash", "_items", "_qty", "_reserved")

    _items: dict[Key, Value]
    _hash: int | None
    _qty: dict[str, int] | None
    _reserved: bool

    def __init__(self) -> None:
        self._items = {}
        self._hash = None
        self._qty = None
        self._reserved = False

    @classmethod
    def _wrap(cls, items: dict[Key, Value]) -> Resources:
        """Adopt ``items`` (already normalised, no empty values) without copying."""
        self = cls.__new__(cls)
        self._items = items
        self._hash = None
        self._qty = None
        self._reserved = any(key[1] for key in items)
        return self

    @classmethod
    def _build(cls, entries: list[tuple[Key, Value]]) -> Resources:
        items: dict[Key, Value] = {}
        names: dict[str, str] = {}
        for key, value in entries:
            kind = _kind(value)
            if names.setdefault(key[0], kind) != kind:
                raise ValueError(f"resource {key[0]!r} is both {names[key[0]]} and {kind}")
            if key in items:
                value = _add_value(key, items[key], value)
            items[key] = value
        return cls._wrap({k: v for k, v in items.items() if v})

    # -- constructors ---------------------------------------------------------------

    @classmethod
    def from_scalars(cls, scalars: Mapping[str, float], role: str = DEFAULT_ROLE) -> Resources:
        """Scalars from a ``{name: value}`` mapping, statically reserved unless role is '*'."""
        validate_role(role)
        stack = () if role == DEFAULT_ROLE else (Reservation("STATIC", role),)
        return cls._build([((name, stack), to_milli(v)) for name, v in scalars.items()])

    @classmethod
    def parse(cls, text: str, default_role: str = DEFAULT_ROLE) -> Resources:
        """Parse the agent flag syntax (``cpus:4;mem:4096;ports:[31000-32000]``) or JSON."""
        if text.lstrip().startswith("["):
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"resources look like JSON but are not: {exc}") from exc
            return cls.from_json(data, default_role)
        return cls._build(_parse_entries(text, default_role))

    @classmethod
    def from_json(cls, data: str | list[Any], default_role: str = DEFAULT_ROLE) -> Resources:
        """Parse Mesos' JSON form: a list of ``{"name", "type", "scalar"|...}`` objects."""
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except json.JSONDecodeError as exc:
                raise ValueError(f"resources JSON does not parse: {exc}") from exc
        return cls._build(_json_entries(data, default_role))

    @classmethod
    def from_data(cls, data: Any) -> Resources:
        """Rebuild from ``to_data()`` output (for example after a msgpack round trip)."""
        return cls._build(_data_entries(data))

    # -- external forms -------------------------------------------------------------

    def __str__(self) -> str:
        return _format_entries(sorted(self._items.items()))

    def __repr__(self) -> str:
        return f"Resources({str(self)!r})"

    def to_json(self) -> list[dict[str, Any]]:
        """Mesos' JSON form, a list of Resource objects (``json.dumps``-able)."""
        return [_entry_json(k, v) for k, v in sorted(self._items.items())]

    def to_data(self) -> list[list[Any]]:
        """Compact builtin data for msgpack: ``[[name, [[type, role, principal]], kind, v]]``."""
        out: list[list[Any]] = []
        for (name, stack), value in sorted(self._items.items()):
            res = [[r.type, r.role, r.principal] for r in stack]
            if isinstance(value, int):
                out.append([name, res, "SCALAR", value])
            elif isinstance(value, tuple):
                out.append([name, res, "RANGES", [[b, e] for b, e in value]])
            else:
                out.append([name, res, "SET", sorted(value)])
        return out

    # -- inspection -----------------------------------------------------------------

    @property
    def empty(self) -> bool:
        """True when there is nothing in here."""
        return not self._items

    def __bool__(self) -> bool:
        return bool(self._items)

    def __iter__(self) -> Iterator[Resource]:
        for (name, stack), value in sorted(self._items.items()):
            shown: float | Ranges | frozenset[str]
            shown = value / 1000 if isinstance(value, int) else value
            yield Resource(name, stack, shown)

    def names(self) -> set[str]:
        """Names of every entry (``cpus``, ``ports`` ...)."""
        return {name for name, _ in self._items}

    def quantities(self) -> Mapping[str, int]:
        """Scalar totals per name in milli-units, summed across reservations (cached)."""
        qty = self._qty
        if qty is None:
            qty = {}
            for (name, _), value in self._items.items():
                if isinstance(value, int):
                    qty[name] = qty.get(name, 0) + value
            self._qty = qty
        return qty

    def scalars(self) -> dict[str, float]:
        """Scalar totals per name, summed across reservations: ``{"cpus": 2.5}``."""
        return {name: milli / 1000 for name, milli in self.quantities().items()}

    def get(self, name: str) -> float:
        """Total of the scalar ``name`` across reservations, 0.0 when absent."""
        return self.quantities().get(name, 0) / 1000

    def ranges(self, name: str) -> Ranges:
        """Coalesced ranges of ``name`` across reservations."""
        found: list[tuple[int, int]] = []
        for (n, _), value in self._items.items():
            if n == name and isinstance(value, tuple):
                found.extend(value)
        return _coalesce(found)

    def items_of(self, name: str) -> frozenset[str]:
        """Union of the set-valued ``name`` across reservations."""
        found: frozenset[str] = frozenset()
        for (n, _), value in self._items.items():
            if n == name and isinstance(value, frozenset):
                found = found | value
        return found

    # -- filters --------------------------------------------------------------------

    def filter(self, predicate: Callable[[Resource], bool]) -> Resources:
        """The entries for which ``predicate(entry)`` holds."""
        return Resources._wrap({k: v for k, v in self._items.items() if predicate(_view(k, v))})

    def unreserved(self) -> Resources:
        """Entries reserved to nobody (role ``"*"``)."""
        if not self._reserved:
            return self
        return Resources._wrap({k: v for k, v in self._items.items() if not k[1]})

    def reserved(self, role: str | None = None) -> Resources:
        """Reserved entries; only those whose reservation role is ``role`` if given."""
        if not self._reserved:
            return EMPTY
        return Resources._wrap(
            {k: v for k, v in self._items.items() if k[1] and (role is None or _role_of(k) == role)}
        )

    def reservations(self) -> dict[str, Resources]:
        """Reserved entries grouped by reservation role."""
        grouped: dict[str, dict[Key, Value]] = {}
        for key, value in self._items.items():
            if key[1]:
                grouped.setdefault(_role_of(key), {})[key] = value
        return {role: Resources._wrap(items) for role, items in grouped.items()}

    def allocatable_to(self, role: str) -> Resources:
        """Unreserved entries plus those reserved to ``role`` or one of its ancestors."""
        if not self._reserved:
            return self
        prefix = role + "/"
        return Resources._wrap(
            {
                k: v
                for k, v in self._items.items()
                if not k[1] or k[1][-1].role == role or prefix.startswith(k[1][-1].role + "/")
            }
        )

    def reserved_to_role_subtree(self, role: str) -> Resources:
        """Entries reserved to ``role`` or to one of its descendants."""
        prefix = role + "/"
        return Resources._wrap(
            {
                k: v
                for k, v in self._items.items()
                if k[1] and (k[1][-1].role == role or k[1][-1].role.startswith(prefix))
            }
        )

    def scalar_entries(self) -> Resources:
        """Only the scalar entries."""
        return Resources._wrap({k: v for k, v in self._items.items() if isinstance(v, int)})

    def shrink_milli(self, target: Mapping[str, int], absent_is_zero: bool) -> Resources:
        """Chop unreserved scalars so each name's total fits ``target`` (milli-units).

        Names missing from ``target`` are dropped when ``absent_is_zero`` (quantities
        semantics: guarantees, headroom) and kept when not (limits semantics). Reserved
        and non-scalar entries are kept unchanged.
        """
        left = dict(target)
        items: dict[Key, Value] = {}
        for key, value in self._items.items():
            if key[1] or not isinstance(value, int):
                items[key] = value
                continue
            name = key[0]
            if name not in left:
                if not absent_is_zero:
                    items[key] = value
                continue
            take = min(value, left[name])
            if take > 0:
                items[key] = take
                left[name] -= take
        return Resources._wrap(items)

    # -- algebra --------------------------------------------------------------------

    def __add__(self, other: Resources) -> Resources:
        if not isinstance(other, Resources):
            return NotImplemented
        if not other._items:
            return self
        if not self._items:
            return other
        items = dict(self._items)
        for key, value in other._items.items():
            mine = items.get(key)
            if mine is None:
                items[key] = value
            else:
                items[key] = _add_value(key, mine, value)
        # Mixed kinds under one name with different reservations are caught here.
        kinds: dict[str, str] = {}
        for (name, _), value in items.items():
            if kinds.setdefault(name, _kind(value)) != _kind(value):
                raise ValueError(f"resource {name!r} is both {kinds[name]} and {_kind(value)}")
        return Resources._wrap(items)

    def __sub__(self, other: Resources) -> Resources:
        if not isinstance(other, Resources):
            return NotImplemented
        if other is self:
            return EMPTY
        if not other._items:
            return self
        items = dict(self._items)
        for key, value in other._items.items():
            mine = items.get(key)
            if mine is None or not _value_contains(mine, value):
                have = "nothing" if mine is None else _format_value(mine)
                raise ValueError(
                    f"cannot subtract {_format_key(key)}:{_format_value(value)} from {self}: "
                    f"it holds {have} of that"
                )
            rest = _sub_value(mine, value)
            if rest:
                items[key] = rest
            else:
                del items[key]
        return Resources._wrap(items)

    def contains(self, other: Resources) -> bool:
        """True when every entry of ``other`` is in here (same name and reservations)."""
        if other is self or not other._items:
            return True
        items = self._items
        for key, value in other._items.items():
            mine = items.get(key)
            if mine is None or not _value_contains(mine, value):
                return False
        return True

    def __contains__(self, other: object) -> bool:
        return isinstance(other, Resources) and self.contains(other)

    def __le__(self, other: Resources) -> bool:
        return other.contains(self)

    def __ge__(self, other: Resources) -> bool:
        return self.contains(other)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Resources):
            return NotImplemented
        return self._items == other._items

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._items.items()))
        return self._hash


EMPTY = Resources()
"""The empty value; operations that leave nothing return this very object."""


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
