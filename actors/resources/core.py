"""``Resources``: the immutable bag of resources itself (see the package docstring)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from actors.resources.formats import (
    _data_entries,
    _entry_json,
    _format_entries,
    _format_key,
    _format_value,
    _json_entries,
    _parse_entries,
    _view,
)
from actors.resources.values import (
    DEFAULT_ROLE,
    Key,
    Ranges,
    Reservation,
    Resource,
    Value,
    _add_value,
    _coalesce,
    _kind,
    _role_of,
    _sub_value,
    _value_contains,
    to_milli,
    validate_role,
)

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

    def state_map(self) -> dict[str, Any]:
        """Mesos' ``/state`` resource map: ``{"cpus": 2.0, "ports": "[31000-32000]"}``
        (scalars as numbers, ranges and sets as Mesos prints them)."""
        out: dict[str, Any] = dict(self.scalars())
        for name in sorted(self.names() - set(out)):
            ranges = self.ranges(name)
            if ranges:
                out[name] = "[" + ",".join(f"{b}-{e}" for b, e in ranges) + "]"
            else:
                out[name] = "{" + ",".join(sorted(self.items_of(name))) + "}"
        return out

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

    def find(self, target: Resources | Mapping[str, float]) -> Resources | None:
        """Entries of this bag holding ``target``'s scalar quantities, or None if short.

        Mesos' ``Resources::find`` for scalars: what a task needs, cut from an offer
        whatever the offer's roles — unreserved entries first, then reserved ones — so
        a framework asks for ``cpus:1;mem:64`` and launches with ``cpus(batch):1;...``
        when its role's reservation is what it was offered. ``target``'s own roles are
        ignored; its non-scalar entries are not looked for (cut ports out separately).
        """
        wanted = (target.quantities() if isinstance(target, Resources)
                  else {name: to_milli(v) for name, v in target.items()})
        items: dict[Key, Value] = {}
        for name, need in wanted.items():
            entries = sorted(((k, v) for k, v in self._items.items()
                              if k[0] == name and isinstance(v, int)),
                             key=lambda kv: (len(kv[0][1]), str(kv[0][1])))
            for key, value in entries:
                if need <= 0:
                    break
                assert isinstance(value, int)
                take = min(value, need)
                items[key] = take
                need -= take
            if need > 0:
                return None
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
