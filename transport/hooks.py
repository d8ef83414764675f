"""Test hooks in the libprocess spirit: drop, expect and capture messages by type.

Mesos tests say ``DROP_PROTOBUF(RegisterSlaveMessage(), _, _)`` or
``FUTURE_PROTOBUF(...)``; here a test asks its node::

    dropped = node.hooks.drop(RegisterAgent)                 # drop every RegisterAgent
    registered = node.hooks.expect(AgentRegistered, to=pid)  # a Future of the first match
    seen = node.hooks.capture(StatusUpdate)                  # a growing list of matches

Rules look at messages arriving at this node (``direction="in"``, before delivery) or
leaving it (``direction="out"``, before encoding). ``frm``/``to`` match a ``PID``, a
PID string, a node address ``host:port`` or a process name. With no rules installed
the node pays one attribute check per message.

The node's I/O thread and the sending actors' threads call ``check``; rules are
installed from any thread (copy-on-write tuples).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal

from transport.pid import PID

__all__ = ["Capture", "Hooks", "Rule"]

Direction = Literal["in", "out"]
Match = PID | str | None


def _matches(want: Match, pid: PID) -> bool:
    if want is None:
        return True
    if isinstance(want, PID):
        return want == pid
    return want in (str(pid), pid.address, pid.name)


@dataclass(eq=False)
class Rule:
    """One installed hook; ``remove()`` uninstalls it."""

    kind: Literal["drop", "expect", "capture"]
    msg_type: type | None
    frm: Match
    to: Match
    direction: Direction
    count: int | None = None
    hits: int = 0
    future: Future[tuple[PID, PID, Any]] | None = None
    seen: list[tuple[PID, PID, Any]] = field(default_factory=list)
    predicate: Callable[[Any], bool] | None = None
    _owner: Hooks | None = None

    def matches(self, direction: Direction, frm: PID, to: PID, msg: Any) -> bool:
        return (
            direction == self.direction
            and (self.msg_type is None or type(msg) is self.msg_type)
            and _matches(self.frm, frm)
            and _matches(self.to, to)
            and (self.predicate is None or self.predicate(msg))
        )

    def remove(self) -> None:
        if self._owner is not None:
            self._owner._remove(self)


class Capture(list[tuple[PID, PID, Any]]):
    """Messages seen by a capture rule, as ``(frm, to, msg)``; ``rule.remove()`` stops it."""

    rule: Rule


class Hooks:
    """The node's message filters (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread_local = threading.local()
        self.rules: tuple[Rule, ...] = ()

    def drop(
        self,
        msg_type: type | None = None,
        *,
        frm: Match = None,
        to: Match = None,
        direction: Direction = "in",
        count: int | None = None,
        where: Callable[[Any], bool] | None = None,
    ) -> Rule:
        """Drop matching messages (all of them, or the first ``count``)."""
        return self._add(Rule("drop", msg_type, frm, to, direction, count, predicate=where))

    def expect(
        self,
        msg_type: type | None = None,
        *,
        frm: Match = None,
        to: Match = None,
        direction: Direction = "in",
        where: Callable[[Any], bool] | None = None,
    ) -> Future[tuple[PID, PID, Any]]:
        """A Future of the first matching ``(frm, to, msg)``; the message is still delivered.

        For inbound messages the Future resolves once the message is in the recipient's
        inbox, so anything a test then asks of the recipient is handled after it.
        """
        future: Future[tuple[PID, PID, Any]] = Future()
        self._add(Rule("expect", msg_type, frm, to, direction, 1, future=future, predicate=where))
        return future

    def capture(
        self,
        msg_type: type | None = None,
        *,
        frm: Match = None,
        to: Match = None,
        direction: Direction = "in",
        where: Callable[[Any], bool] | None = None,
    ) -> Capture:
        """Record every matching message (still delivered) into the returned list."""
        rule = self._add(Rule("capture", msg_type, frm, to, direction, predicate=where))
        captured = Capture()
        captured.rule = rule
        rule.seen = captured
        return captured

    def clear(self) -> None:
        with self._lock:
            self.rules = ()

    def check(self, direction: Direction, frm: PID, to: PID, msg: Any) -> bool:
        """Run the rules on one message; False means drop it."""
        deliver = True
        for rule in self.rules:
            if not rule.matches(direction, frm, to, msg):
                continue
            with self._lock:  # the I/O thread and sending actors check concurrently
                if rule.count is not None and rule.hits >= rule.count:
                    continue  # used up by another thread a moment ago
                rule.hits += 1
            if rule.kind == "drop":
                deliver = False
            elif rule.kind == "capture":
                rule.seen.append((frm, to, msg))
            elif rule.future is not None and not rule.future.done():
                if direction == "in":  # resolved once the message sits in the inbox
                    self._unsettled().append((rule.future, (frm, to, msg)))
                else:
                    rule.future.set_result((frm, to, msg))
            if rule.count is not None and rule.hits >= rule.count:
                self._remove(rule)
            if not deliver:
                break
        return deliver

    def settle(self) -> None:
        """Resolve this thread's ``expect`` futures of messages just handed to their inbox.

        The node calls it right after delivery, so whatever a test asks the recipient
        after the future resolves (a proxy call, an ``ask``) queues behind the message.
        """
        pending = getattr(self._thread_local, "unsettled", None)
        if not pending:
            return
        for future, value in pending:
            if not future.done():
                future.set_result(value)
        pending.clear()

    def _unsettled(self) -> list[tuple[Future[tuple[PID, PID, Any]], tuple[PID, PID, Any]]]:
        pending = getattr(self._thread_local, "unsettled", None)
        if pending is None:
            pending = self._thread_local.unsettled = []
        return pending

    def _add(self, rule: Rule) -> Rule:
        rule._owner = self
        with self._lock:
            self.rules = (*self.rules, rule)
        return rule

    def _remove(self, rule: Rule) -> None:
        with self._lock:
            self.rules = tuple(r for r in self.rules if r is not rule)
