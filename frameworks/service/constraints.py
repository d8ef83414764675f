"""Placement constraints (Marathon's ``[field, operator, value]``), evaluated on facts.

``AgentFacts`` is what placement knows of an agent: its hostname and attributes as
text (from an offer: ``AgentFacts.of(offer)``). ``allows(constraints, facts, placed)``
says whether one more instance of an app may go on that agent, given the facts of the
agents its other live instances run on. Operators:

- ``UNIQUE``: no other instance has the same value (``[["hostname", "UNIQUE"]]``:
  one per agent);
- ``CLUSTER value``: the value must equal ``value`` (without one: all instances share
  the value of the first);
- ``MAX_PER n``: at most ``n`` instances per value;
- ``LIKE regex`` / ``UNLIKE regex``: the value must (not) match ``regex`` in full.

An agent without the attribute fails every operator but ``UNLIKE``. Pure; used by
``frameworks.service.planner``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from actors.messages import Offer
from actors.messages.info import attribute_text
from frameworks.service.spec import Constraint

__all__ = ["AgentFacts", "allows", "attribute_text"]


@dataclass(frozen=True)
class AgentFacts:
    """An agent's hostname and attributes (name -> text), as constraints see them."""

    hostname: str = ""
    attributes: dict[str, str] = field(default_factory=dict, hash=False)

    @classmethod
    def of(cls, offer: Offer) -> AgentFacts:
        return cls(offer.hostname, {a.name: attribute_text(a) for a in offer.attributes})

    def value(self, name: str) -> str | None:
        if name == "hostname":
            return self.hostname or None
        return self.attributes.get(name)


def allows(constraints: Iterable[Constraint], facts: AgentFacts,
           placed: Sequence[AgentFacts]) -> bool:
    """May one more instance run on ``facts``' agent, with others on ``placed``?"""
    return all(_allows(c, facts, placed) for c in constraints)


def _allows(c: Constraint, facts: AgentFacts, placed: Sequence[AgentFacts]) -> bool:
    value = facts.value(c.field)
    if c.operator == "UNLIKE":
        return value is None or re.fullmatch(c.value, value) is None
    if value is None:
        return False
    others = [p.value(c.field) for p in placed]
    if c.operator == "UNIQUE":
        return value not in others
    if c.operator == "CLUSTER":
        if c.value:
            return value == c.value
        return all(o == value for o in others if o is not None)
    if c.operator == "MAX_PER":
        return others.count(value) < int(c.value)
    if c.operator == "LIKE":
        return re.fullmatch(c.value, value) is not None
    raise ValueError(f"unknown constraint operator {c.operator!r}")
