"""Which agent reconfigurations a restarted agent may keep its id through.

Pure functions (Mesos' ``src/slave/compatibility.cpp``), called by ``recovering`` with
the checkpointed ``AgentInfo`` and the one the new flags describe; each returns ``None``
when the agent may recover its id, else why not (the agent then exits with that text,
unless the machine rebooted: then it starts as a new agent). ``--reconfiguration_policy``
picks one:

- ``equal`` (the default): hostname, port, resources, attributes and fault domain must
  be what they were; the message names each field that differs, then shows both infos;
- ``additive``: hostname and port as before, an old fault domain unchanged (one may be
  added), every old resource entry still there (same name and reservations) with at
  least its old value (a scalar no smaller, ranges and sets no narrower), every old
  attribute still there with its type, a scalar or text attribute with its value, a
  ranges or set attribute no narrower; new resources and attributes may be added.

``id`` and ``http_port`` are not compared: the id is what is being recovered, and the
HTTP port may be picked afresh (``--http_port=0``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from actors.messages.info import (
    AgentInfo,
    Attribute,
    DomainInfo,
    Range,
    ValueType,
    attribute_text,
)
from actors.resources import Resource, Resources

ResourceValue = float | tuple[tuple[int, int], ...] | frozenset[str]
"""What a ``Resource`` view holds: a scalar, coalesced ranges or a set."""

__all__ = ["COMPARED", "POLICIES", "additive", "check", "equal"]

COMPARED = ("hostname", "port", "resources", "attributes", "domain")
"""The ``AgentInfo`` fields a reconfiguration policy looks at."""

_ADDITIVE = "Configuration change not permitted under 'additive' policy: "


def equal(old: AgentInfo, new: AgentInfo) -> str | None:
    """``None`` if nothing compared changed, else Mesos' "Incompatible agent info"."""
    changed = [name for name in COMPARED if getattr(old, name) != getattr(new, name)]
    if not changed:
        return None
    rule = "-" * 60
    lines = ["Incompatible agent info detected (--reconfiguration_policy=equal): "
             + "; ".join(f"{name} changed from {_show(name, getattr(old, name))} to "
                         f"{_show(name, getattr(new, name))}" for name in changed),
             rule, "Old agent info:", _describe(old), rule, "New agent info:",
             _describe(new), rule]
    return "\n".join(lines)


def additive(old: AgentInfo, new: AgentInfo) -> str | None:
    """``None`` if ``new`` only adds to ``old`` (see the module docstring), else why not."""
    if old.hostname != new.hostname:
        return f"{_ADDITIVE}Hostname changed from {old.hostname} to {new.hostname}"
    if old.port != new.port:
        return f"{_ADDITIVE}Port changed from {old.port} to {new.port}"
    if old.domain is not None and old.domain != new.domain:
        return (f"{_ADDITIVE}Domain changed from {_show('domain', old.domain)} to "
                f"{_show('domain', new.domain)}")
    return _resources_grew(old.resources, new.resources) or _attributes_kept(
        old.attributes, new.attributes)


POLICIES: dict[str, Callable[[AgentInfo, AgentInfo], str | None]] = {
    "equal": equal, "additive": additive}
"""``--reconfiguration_policy`` values."""


def check(policy: str, old: AgentInfo, new: AgentInfo) -> str | None:
    """Apply the named policy; ``ValueError`` for an unknown one."""
    try:
        rule = POLICIES[policy]
    except KeyError:
        raise ValueError(f"unknown reconfiguration policy {policy!r} (equal or additive)") \
            from None
    return rule(old, new)


# --- additive, piece by piece ----------------------------------------------------------


def _resources_grew(old: Resources, new: Resources) -> str | None:
    current = {(r.name, r.reservations): r for r in new}
    for before in old:
        after = current.get((before.name, before.reservations))
        if after is None:
            return f"{_ADDITIVE}Resource not found: {_entry(old, before)}"
        kind_before, kind_after = _kind(before.value), _kind(after.value)
        if kind_before != kind_after:
            return (f"{_ADDITIVE}Type of resource '{before.name}' changed from "
                    f"{kind_before} to {kind_after}")
        if _value_contains(after.value, before.value):
            continue
        if kind_before == "SCALAR":
            return (f"{_ADDITIVE}Value of scalar resource '{_entry_name(old, before)}' "
                    f"decreased from {_value(before.value)} to {_value(after.value)}")
        return (f"{_ADDITIVE}Previous value of {kind_before.lower()} resource "
                f"'{_entry_name(old, before)}' ({_value(before.value)}) not included in "
                f"current {_value(after.value)}")
    return None


def _value_contains(outer: ResourceValue, inner: ResourceValue) -> bool:
    if isinstance(outer, float) and isinstance(inner, float):
        return outer >= inner
    if isinstance(outer, tuple) and isinstance(inner, tuple):  # coalesced already
        return all(any(b <= ib and ie <= e for b, e in outer) for ib, ie in inner)
    if isinstance(outer, frozenset) and isinstance(inner, frozenset):
        return inner <= outer
    return False


def _attributes_kept(old: Iterable[Attribute], new: Iterable[Attribute]) -> str | None:
    current = {a.name: a for a in new}
    for before in old:
        after = current.get(before.name)
        if after is None:
            return f"{_ADDITIVE}Couldn't find attribute {_attribute(before)}"
        if after.type is not before.type:
            return (f"{_ADDITIVE}Type of attribute '{before.name}' changed from "
                    f"{before.type.name} to {after.type.name}")
        kind = before.type.name.lower()
        if before.type in (ValueType.SCALAR, ValueType.TEXT):
            if (before.scalar, before.text) != (after.scalar, after.text):
                return (f"{_ADDITIVE}Value of {kind} attribute '{before.name}' changed from "
                        f"{attribute_text(before)} to {attribute_text(after)}")
        elif not _attribute_contains(after, before):
            return (f"{_ADDITIVE}Previous value of {kind} attribute '{before.name}' "
                    f"({attribute_text(before)}) not included in current "
                    f"{attribute_text(after)}")
    return None


def _attribute_contains(outer: Attribute, inner: Attribute) -> bool:
    if inner.type is ValueType.SET:
        return inner.set <= outer.set
    spans = _coalesce(outer.ranges)
    return all(any(b <= r.begin and r.end <= e for b, e in spans) for r in inner.ranges)


def _coalesce(ranges: Iterable[Range]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for begin, end in sorted((r.begin, r.end) for r in ranges):
        if out and begin <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((begin, end))
    return out


# --- how things print in the messages --------------------------------------------------


def _kind(value: ResourceValue) -> str:
    if isinstance(value, float):
        return "SCALAR"
    return "RANGES" if isinstance(value, tuple) else "SET"


def _entry(resources: Resources, entry: Resource) -> str:
    """One entry as the flag syntax prints it (``cpus(eng):2``)."""
    return str(resources.filter(lambda r: r == entry))


def _entry_name(resources: Resources, entry: Resource) -> str:
    """The entry's name with its reservations (``cpus(eng)``)."""
    return _entry(resources, entry).rsplit(":", 1)[0]


def _value(value: ResourceValue) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "[" + ",".join(f"{b}-{e}" for b, e in value) + "]"
    return "{" + ",".join(sorted(value)) + "}"


def _attribute(attribute: Attribute) -> str:
    return f"{attribute.name}:{attribute_text(attribute)}"


def _show(name: str, value: object) -> str:
    if name == "attributes":
        assert isinstance(value, tuple)
        return "'" + ";".join(_attribute(a) for a in value) + "'"
    if name == "resources":
        return f"'{value}'"
    if isinstance(value, DomainInfo):
        return f"region {value.region}, zone {value.zone}"
    return "none" if value is None else str(value)


def _describe(info: AgentInfo) -> str:
    return "\n".join(f"  {name}: {_show(name, getattr(info, name))}" for name in COMPARED)
