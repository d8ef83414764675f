"""Messages the transport tests send between nodes (test-only; names start with ``test.``).

Imported by the tests and by ``tests.transport.peer`` (the child-process node), so both
sides register the same types exactly once per OS process.
"""

from __future__ import annotations

from transport import PID, message


@message(name="test.Echo")
class Echo:
    """Test -> echo: answer with ``Echoed`` carrying the same ``seq`` and payload."""

    seq: int
    payload: bytes = b""


@message(name="test.Echoed")
class Echoed:
    """Echo -> test: the answer to ``Echo``."""

    seq: int
    payload: bytes = b""
    by: PID | None = None


@message(name="test.Add")
class Add:
    """Test -> echo: add ``n`` to the counter (no answer)."""

    n: int


@message(name="test.GetCount")
class GetCount:
    """Test -> echo: ask for the counter."""


@message(name="test.Count")
class Count:
    """Echo -> test: the counter's total and how many ``Add`` messages made it."""

    total: int
    adds: int


@message(name="test.Forward")
class Forward:
    """A -> B -> C: pass the message on along ``route`` (tracing tests)."""

    route: tuple[PID, ...]
    step: int = 0
