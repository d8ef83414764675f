"""``HeldMessages``: the registrations a master holds until it can handle them (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from actors.master.held import HeldMessages
from transport import PID

A = PID("agent", "127.0.0.1", 5051)
B = PID("agent", "127.0.0.1", 5052)


@dataclass(frozen=True)
class Register:
    n: int = 0


@dataclass(frozen=True)
class Reregister:
    n: int = 0


def test_held_registrations_come_back_in_arrival_order_and_the_hold_empties() -> None:
    held = HeldMessages()
    held.hold(A, Register(1), now=0.0)
    held.hold(B, Register(2), now=0.1)
    assert held.take(now=0.2) == [(A, Register(1)), (B, Register(2))]
    assert len(held) == 0 and held.take(now=0.3) == []


def test_a_retry_replaces_the_held_message_of_its_kind_and_moves_to_the_back() -> None:
    held = HeldMessages()
    held.hold(A, Register(1), now=0.0)
    held.hold(B, Register(2), now=0.1)
    held.hold(A, Register(3), now=0.2)
    held.hold(A, Reregister(4), now=0.3)  # another kind from the same sender is kept too
    assert held.take(now=0.4) == [(B, Register(2)), (A, Register(3)), (A, Reregister(4))]


def test_what_is_older_than_the_window_is_dropped() -> None:
    held = HeldMessages(window=5.0)
    held.hold(A, Register(1), now=0.0)
    held.hold(B, Register(2), now=3.0)
    assert held.take(now=6.0) == [(B, Register(2))]


def test_no_more_senders_than_the_limit_are_held_but_a_held_one_may_retry() -> None:
    held = HeldMessages(limit=1)
    assert held.hold(A, Register(1), now=0.0)
    assert not held.hold(B, Register(2), now=0.1)
    assert held.hold(A, Register(3), now=0.2)
    assert held.take(now=0.3) == [(A, Register(3))]
