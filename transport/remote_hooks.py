"""A test aid: the node's drop hooks, driven over HTTP at ``/__hooks__`` (off by default).

Fault tests that run real OS processes cannot call ``node.hooks.drop(...)`` inside them.
A node started with ``MESETA_TEST_HOOKS=1`` in its environment (or
``Node(test_hooks=True)``) therefore serves, on its HTTP port:

- ``POST /__hooks__`` with a JSON rule ``{"direction": "in"|"out", "name": <message
  name>, "peer": <PID, host:port or process name>, "count": N}`` drops matching messages:
  arriving from ``peer`` (``in``) or leaving for it (``out``); ``name`` (or ``"*"``) and
  ``peer`` left out match every message and every peer; ``count`` drops only the first N.
  Answers ``201`` with the rule and its ``id``; bad JSON or a bad field answers ``400``
  with ``{"error": ...}``.
- ``GET /__hooks__`` lists the rules installed this way with their ``hits`` (dropped so
  far) and whether each is still ``active`` (a counted rule retires when used up).
- ``DELETE /__hooks__`` removes them all (``?id=N``: just that one).

Never on unless asked for: without it ``/__hooks__`` answers 404 like any unknown path.
Only the rules installed here are listed or removed; rules a test installs in-process
(``node.hooks``) are left alone. Generic: it knows message names, never what they mean.
The HTTP thread calls ``handle``; the rules themselves are ``transport.hooks`` rules.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

from transport.codec import lookup
from transport.errors import MesetaError, UnknownMessageError
from transport.hooks import Hooks, Rule
from transport.http import parse_json

__all__ = ["ENV_VAR", "BadRule", "RemoteHooks", "RuleSpec", "env_test_hooks", "parse_rule"]

ENV_VAR = "MESETA_TEST_HOOKS"


def env_test_hooks() -> bool:
    """Whether ``MESETA_TEST_HOOKS`` asks for the remote control."""
    return os.environ.get(ENV_VAR, "").lower() in ("1", "true", "yes", "on")


class BadRule(MesetaError):
    """A rule posted to ``/__hooks__`` that cannot be installed (answered with 400)."""


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One drop rule as posted: ``name`` / ``peer`` ``None`` match everything."""

    direction: str
    name: str | None
    peer: str | None
    count: int | None

    def describe(self) -> dict[str, Any]:
        return {"direction": self.direction, "name": self.name or "*", "peer": self.peer,
                "count": self.count}


def parse_rule(body: bytes) -> RuleSpec:
    """Check a posted rule; raises ``BadRule`` saying what is wrong."""
    try:
        data = parse_json(body or b"")
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRule(f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRule("the body must be a JSON object "
                      '{"direction": "in"|"out", "name": ..., "peer": ..., "count": N}')
    unknown = set(data) - {"direction", "name", "peer", "count"}
    if unknown:
        raise BadRule(f"unknown field(s) {', '.join(sorted(unknown))}")
    direction = data.get("direction", "in")
    if direction not in ("in", "out"):
        raise BadRule(f"direction must be 'in' or 'out', not {direction!r}")
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise BadRule("name must be a message name (a string)")
    if name is not None and name != "*":
        try:
            lookup(name)
        except UnknownMessageError:
            raise BadRule(f"no message is named {name!r}") from None
    peer = data.get("peer")
    if peer is not None and (not isinstance(peer, str) or not peer):
        raise BadRule("peer must be a PID, host:port or process name (a string)")
    count = data.get("count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int)
                              or count < 1):
        raise BadRule(f"count must be a positive integer, not {count!r}")
    return RuleSpec(direction, None if name in (None, "*") else name, peer, count)


class RemoteHooks:
    """The rules installed through ``/__hooks__`` on one node's ``Hooks``."""

    def __init__(self, hooks: Hooks) -> None:
        self._hooks = hooks
        self._lock = threading.Lock()
        self._rules: dict[int, tuple[RuleSpec, Rule]] = {}
        self._next_id = 1

    def install(self, spec: RuleSpec) -> dict[str, Any]:
        msg_type = lookup(spec.name) if spec.name is not None else None
        if spec.direction == "in":
            rule = self._hooks.drop(msg_type, frm=spec.peer, direction="in", count=spec.count)
        else:
            rule = self._hooks.drop(msg_type, to=spec.peer, direction="out", count=spec.count)
        with self._lock:
            rule_id = self._next_id
            self._next_id += 1
            self._rules[rule_id] = (spec, rule)
        return self._describe(rule_id, spec, rule)

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            items = sorted(self._rules.items())
        return [self._describe(rule_id, spec, rule) for rule_id, (spec, rule) in items]

    def remove(self, rule_id: int | None = None) -> int:
        """Remove one rule (or all of them); how many were removed."""
        with self._lock:
            if rule_id is None:
                removed = list(self._rules.values())
                self._rules.clear()
            else:
                entry = self._rules.pop(rule_id, None)
                removed = [] if entry is None else [entry]
        for _, rule in removed:
            rule.remove()
        return len(removed)

    def handle(self, method: str, query: dict[str, str], body: bytes
               ) -> tuple[int, dict[str, Any]]:
        """One request to ``/__hooks__``: ``(status, JSON body)``."""
        if method == "GET":
            return 200, {"rules": self.list()}
        if method == "POST":
            try:
                spec = parse_rule(body)
            except BadRule as exc:
                return 400, {"error": str(exc)}
            return 201, self.install(spec)
        if method == "DELETE":
            text = query.get("id")
            if text is None:
                return 200, {"removed": self.remove()}
            if not text.isdigit():
                return 400, {"error": f"id must be a rule id (a number), not {text!r}"}
            return 200, {"removed": self.remove(int(text))}
        return 405, {"error": f"{method} is not allowed: use GET, POST or DELETE"}

    def _describe(self, rule_id: int, spec: RuleSpec, rule: Rule) -> dict[str, Any]:
        active = any(r is rule for r in self._hooks.rules)
        return {"id": rule_id, **spec.describe(), "hits": rule.hits, "active": active}
