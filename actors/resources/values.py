"""Resource values: reservations, roles, fixed-point scalars, ranges and sets.

The building blocks under ``Resources`` (``actors.resources.core``): the
``Reservation`` stack that says who owns an entry, role names and their ancestry,
milli-unit scalar conversion, and the arithmetic on one entry's value (add, subtract,
contains) for scalars, coalesced ranges and sets. Pure functions, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

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
