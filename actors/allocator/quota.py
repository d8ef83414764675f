"""Quota: per-role guarantees and limits, and the books that enforce them.

``HierarchicalAllocator.update_quota`` stores a ``Quota`` per top-level role; the
allocation cycle asks ``QuotaBooks`` what each role has consumed and how much
unreserved headroom must be held back for guarantees not yet met. Quantities are
``{name: milli-units}`` dicts with Mesos' "absent means zero" meaning; limits use
"absent means no limit".

Consumed quota of a role = its (and its subroles') reservations, allocated or not,
plus its unreserved allocations. Headroom::

    required  = sum over roles of max(guarantee - consumed, 0)
    available = total - all reservations - unreserved allocations
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from actors.resources import Resources

__all__ = [
    "Quota",
    "QuotaBooks",
    "add_into",
    "parse_quantities",
    "remaining_limits",
    "saturating_sub",
    "top_role",
]

Quantities = dict[str, int]


@dataclass(frozen=True, slots=True)
class Quota:
    """Guarantees (absent = 0) and limits (absent = unlimited), in milli-units."""

    guarantees: Mapping[str, int] = field(default_factory=dict)
    limits: Mapping[str, int] = field(default_factory=dict)

    @property
    def is_default(self) -> bool:
        return not self.guarantees and not self.limits


def top_role(role: str) -> str:
    return role.split("/", 1)[0]


def add_into(into: Quantities, qty: Mapping[str, int], sign: int = 1) -> None:
    for name, value in qty.items():
        rest = into.get(name, 0) + sign * value
        if rest:
            into[name] = rest
        else:
            into.pop(name, None)


def saturating_sub(left: Mapping[str, int], right: Mapping[str, int]) -> Quantities:
    """``left - right`` per name, never below zero; zero entries are dropped."""
    out = {}
    for name, value in left.items():
        rest = value - right.get(name, 0)
        if rest > 0:
            out[name] = rest
    return out


def remaining_limits(limits: Mapping[str, int], consumed: Mapping[str, int]) -> Quantities:
    """What is left under each limit; unlike ``saturating_sub`` it keeps zero entries,
    because for limits an absent name means "unlimited", not zero."""
    return {name: max(0, value - consumed.get(name, 0)) for name, value in limits.items()}


def parse_quantities(spec: str | Mapping[str, float] | Resources) -> Quantities:
    """Quantities from ``cpus:2;mem:1024`` or a mapping, keeping explicit zeros."""
    if isinstance(spec, Resources):
        return dict(spec.quantities())
    if isinstance(spec, str):
        pairs: dict[str, float] = {}
        for index, token in enumerate(filter(None, (t.strip() for t in spec.split(";"))), 1):
            name, sep, raw = token.partition(":")
            try:
                number = float(raw)
            except ValueError:
                number = -1.0
            if not sep or not name.strip() or not number >= 0 or number == float("inf"):
                raise ValueError(f"quantity #{index} {token!r}: expected name:non-negative-number")
            pairs[name.strip()] = pairs.get(name.strip(), 0.0) + number
        spec = pairs
    out = {}
    for name, amount in spec.items():
        if not amount >= 0:
            raise ValueError(f"quantity of {name!r} must be non-negative, got {amount}")
        out[name] = round(amount * 1000)
    return out


def _unreserved_qty(resources: Resources) -> Mapping[str, int]:
    return resources.unreserved().quantities()


def _reserved_by_top_role(resources: Resources) -> dict[str, Mapping[str, int]]:
    out: dict[str, Quantities] = {}
    for role, reserved in resources.reservations().items():
        add_into(out.setdefault(top_role(role), {}), reserved.quantities())
    return dict(out)


class QuotaBooks:
    """Running totals needed for quota: reservations and unreserved allocations."""

    def __init__(self) -> None:
        self.total: Quantities = {}
        self.reserved: dict[str, Quantities] = {}
        self.total_reserved: Quantities = {}
        self.allocated: dict[str, Quantities] = {}
        self.total_allocated: Quantities = {}

    def add_agent(self, total: Resources, sign: int = 1) -> None:
        add_into(self.total, total.quantities(), sign)
        for role, qty in _reserved_by_top_role(total).items():
            add_into(self.reserved.setdefault(role, {}), qty, sign)
            add_into(self.total_reserved, qty, sign)

    def track(self, role: str, resources: Resources, sign: int = 1) -> None:
        """Count (sign=1) or uncount (sign=-1) an allocation's unreserved scalars."""
        qty = _unreserved_qty(resources)
        if qty:
            add_into(self.allocated.setdefault(top_role(role), {}), qty, sign)
            add_into(self.total_allocated, qty, sign)

    def consumed(self, role: str) -> Quantities:
        out = dict(self.reserved.get(role, {}))
        add_into(out, self.allocated.get(role, {}))
        return out

    def available_headroom(self) -> Quantities:
        return saturating_sub(saturating_sub(self.total, self.total_reserved), self.total_allocated)

    def required_headroom(self, quotas: Mapping[str, Quota]) -> Quantities:
        out: Quantities = {}
        for role, quota in quotas.items():
            add_into(out, saturating_sub(quota.guarantees, self.consumed(role)))
        return out
