"""Mesos' ACLs and its local authorizer's decision, as pure functions.

``--acls`` takes JSON (inline, ``/path`` or ``file://path``) of Mesos' shape::

    {"permissive": true,
     "register_frameworks": [{"principals": {"values": ["a"]}, "roles": {"values": ["r"]}}],
     "run_tasks": [{"principals": {"type": "ANY"}, "users": {"type": "NONE"}}]}

Each action holds a list of rules; a rule has a subject entity (``principals``) and an
object entity (named per action: ``roles``, ``users``, ``framework_principals``...). An
entity is ``{"values": [...]}`` (SOME), ``{"type": "ANY"}`` or ``{"type": "NONE"}``.

A request is (subject, object): a principal and a value, each ``None`` when there is
none (an unauthenticated caller; an object that names nothing), which then counts as
ANY. ``authorized`` walks the action's rules in order; the first rule whose subject and
object both *match* decides, and it allows only if both entities *allow* (Mesos'
matrices: a SOME request matches a SOME rule holding its value, and any ANY or NONE
rule; an ANY request matches ANY and NONE rules; ANY allows everything, NONE allows
nothing, SOME allows its values). No matching rule: ``permissive`` (default true).
So a caller with no principal is matched only by ``{"type": "ANY"}`` subjects.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from actors.errors import ActorsError
from transport.flags import FlagError, load_json_flag

__all__ = ["ACTIONS", "ACLError", "ACLs", "Entity", "EntityType", "Rule", "load_acls",
           "parse_acls"]

ACTIONS: dict[str, str] = {
    "register_frameworks": "roles",
    "run_tasks": "users",
    "teardown_frameworks": "framework_principals",
    "register_agents": "agents",
    "view_frameworks": "users",
    "view_tasks": "users",
    "view_executors": "users",
    "access_sandboxes": "users",
    "view_flags": "flags",
    "access_mesos_logs": "logs",
    "get_endpoints": "paths",
    "update_maintenance_schedules": "machines",
    "get_maintenance_schedules": "machines",
    "start_maintenances": "machines",
    "stop_maintenances": "machines",
    "get_maintenance_statuses": "machines",
}
"""The actions Meseta enforces, each with the name of its object entity (Mesos')."""

IGNORED_ACTIONS = frozenset({
    "reserve_resources", "unreserve_resources", "create_volumes", "destroy_volumes",
    "get_quotas", "update_quotas", "view_roles", "update_weights", "set_log_level",
    "resize_volumes",
    "launch_nested_containers", "view_containers", "kill_nested_containers",
    "wait_nested_containers", "launch_nested_container_sessions",
    "attach_containers_input", "attach_containers_output", "remove_nested_containers",
    "view_resource_providers", "modify_resource_provider_configs", "prune_images",
    "mark_resource_providers_gone", "view_standalone_containers",
    "launch_standalone_containers", "kill_standalone_containers",
    "wait_standalone_containers", "remove_standalone_containers", "drain_agents",
    "deactivate_agents", "reactivate_agents", "mark_agents_gone",
})
"""Mesos actions accepted in ``--acls`` (so Mesos files load) that guard nothing here."""


class ACLError(ActorsError, ValueError):
    """``--acls`` that cannot be used; the message says where and why."""


class EntityType(enum.Enum):
    SOME = "SOME"
    ANY = "ANY"
    NONE = "NONE"


@dataclass(frozen=True, slots=True)
class Entity:
    """Mesos' ``ACL.Entity``: some values, anything, or nothing."""

    type: EntityType = EntityType.SOME
    values: frozenset[str] = frozenset()

    @classmethod
    def of(cls, value: str | None) -> Entity:
        """A request's entity: ``None`` is ANY (no principal, no object)."""
        return ANY if value is None else cls(EntityType.SOME, frozenset((value,)))


ANY = Entity(EntityType.ANY)
NONE = Entity(EntityType.NONE)


@dataclass(frozen=True, slots=True)
class Rule:
    """One ACL: who (``subjects``) may act on what (``objects``)."""

    subjects: Entity
    objects: Entity


def _matches(request: Entity, acl: Entity) -> bool:
    if request.type is EntityType.NONE:
        return acl.type is EntityType.NONE
    if acl.type is not EntityType.SOME:
        return True  # a SOME or ANY request matches ANY and NONE rules
    return request.type is EntityType.SOME and request.values <= acl.values


def _allows(request: Entity, acl: Entity) -> bool:
    if request.type is EntityType.NONE:
        return acl.type is EntityType.NONE
    if acl.type is EntityType.ANY:
        return True
    if acl.type is EntityType.NONE:
        return False
    return request.type is EntityType.SOME and request.values <= acl.values


@dataclass(frozen=True, slots=True)
class ACLs:
    """The parsed ``--acls``: ``permissive`` and each action's rules, in order."""

    permissive: bool = True
    rules: Mapping[str, tuple[Rule, ...]] = field(default_factory=dict)

    @property
    def restrictive(self) -> bool:
        """Whether anything can ever be denied (else callers may skip the checks)."""
        return not self.permissive or any(self.rules.values())

    def authorized(self, action: str, principal: str | None, obj: str | None) -> bool:
        """May ``principal`` do ``action`` on ``obj``? (See the module docstring.)"""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        subject, target = Entity.of(principal), Entity.of(obj)
        for rule in self.rules.get(action, ()):
            if _matches(subject, rule.subjects) and _matches(target, rule.objects):
                return _allows(subject, rule.subjects) and _allows(target, rule.objects)
        return self.permissive


def _entity(data: Any, where: str) -> Entity:
    if not isinstance(data, dict):
        raise ACLError(f"{where}: expected an object like {{\"values\": [...]}} or "
                       f"{{\"type\": \"ANY\"}}")
    unknown = set(data) - {"type", "values"}
    if unknown:
        raise ACLError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    values = data.get("values", [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ACLError(f"{where}.values: expected a list of strings")
    try:
        kind = EntityType(data.get("type", "SOME"))
    except ValueError:
        raise ACLError(f"{where}.type: expected SOME, ANY or NONE, got "
                       f"{data.get('type')!r}") from None
    if kind is not EntityType.SOME and values:
        raise ACLError(f"{where}: type {kind.value} takes no values")
    return Entity(kind, frozenset(values)) if kind is EntityType.SOME else (
        ANY if kind is EntityType.ANY else NONE)


def parse_acls(data: Any) -> ACLs:
    """``ACLs`` from the decoded JSON; ``ACLError`` on a shape Mesos would not take."""
    if not isinstance(data, dict):
        raise ACLError("the ACLs must be a JSON object")
    permissive = data.get("permissive", True)
    if not isinstance(permissive, bool):
        raise ACLError("permissive: expected true or false")
    rules: dict[str, tuple[Rule, ...]] = {}
    for action, entries in data.items():
        if action == "permissive":
            continue
        if action not in ACTIONS and action not in IGNORED_ACTIONS:
            raise ACLError(f"unknown ACL action {action!r} (known: "
                           f"{', '.join(sorted(ACTIONS))})")
        if not isinstance(entries, list):
            raise ACLError(f"{action}: expected a list of rules")
        if action in IGNORED_ACTIONS:
            continue
        object_name = ACTIONS[action]
        parsed = []
        for i, entry in enumerate(entries):
            where = f"{action}[{i}]"
            if not isinstance(entry, dict):
                raise ACLError(f"{where}: expected an object")
            unknown = set(entry) - {"principals", object_name}
            if unknown:
                raise ACLError(f"{where}: unknown field(s) {', '.join(sorted(unknown))} "
                               f"(expected principals and {object_name})")
            for name in ("principals", object_name):
                if name not in entry:
                    raise ACLError(f"{where}: missing {name}")
            parsed.append(Rule(_entity(entry["principals"], f"{where}.principals"),
                               _entity(entry[object_name], f"{where}.{object_name}")))
        rules[action] = tuple(parsed)
    return ACLs(permissive=permissive, rules=rules)


def load_acls(text: str) -> ACLs:
    """``--acls``: inline JSON, ``file://path`` or ``/path`` (``transport.flags``' rule);
    ``""`` is the permissive default."""
    text = text.strip()
    if not text:
        return ACLs()
    try:
        data = load_json_flag(text, "acls")
    except FlagError as exc:
        raise ACLError(str(exc)) from None
    return parse_acls(data)
