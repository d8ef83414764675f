"""Log lines are rate limited per event, so a peer cannot flood a node's log."""

from __future__ import annotations

import io

import structlog

from transport.logs import RateLimit, configure


def test_past_the_limit_an_event_is_counted_then_reported_with_the_next_line() -> None:
    now = [0.0]
    limit = RateLimit(per_second=3, clock=lambda: now[0])
    passed = 0
    for _ in range(100):
        try:
            limit(None, "warning", {"event": "message dropped"})
            passed += 1
        except structlog.DropEvent:
            pass
    assert passed == 3
    assert limit(None, "warning", {"event": "another event"}) == {"event": "another event"}
    now[0] = 1.5
    assert limit(None, "warning", {"event": "message dropped"}) == {
        "event": "message dropped", "suppressed": 97}


def test_configured_logging_writes_a_flood_as_a_few_lines() -> None:
    out = io.StringIO()
    configure("info", "json", stream=out)
    try:
        log = structlog.get_logger("test")
        for i in range(5000):
            log.warning("no handler for message", n=i)
    finally:
        configure("info")
    lines = out.getvalue().splitlines()
    assert 1 <= len(lines) <= 200, len(lines)
