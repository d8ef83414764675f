"""Tracing modes: ``MESETA_TRACE=1`` records and logs each event, ``ring`` only records it."""

from __future__ import annotations

from typing import Any

import pytest

import transport.trace
from transport.trace import Tracer, env_tracing


class _Log:
    def __init__(self) -> None:
        self.events: list[str] = []

    def info(self, event: str, **fields: Any) -> None:
        self.events.append(event)


@pytest.mark.parametrize(("value", "mode"), [("1", True), ("on", True), ("ring", "ring"),
                                              ("RING", "ring"), ("", False), ("0", False)])
def test_the_environment_chooses_the_mode(monkeypatch: pytest.MonkeyPatch, value: str,
                                          mode: bool | str) -> None:
    monkeypatch.setenv("MESETA_TRACE", value)
    assert env_tracing() == mode


@pytest.mark.parametrize(("enabled", "logged"), [(True, 1), ("ring", 0)])
def test_ring_mode_records_the_event_without_a_log_line(
        monkeypatch: pytest.MonkeyPatch, enabled: bool | str, logged: int) -> None:
    log = _Log()
    monkeypatch.setattr(transport.trace, "_log", log)
    tracer = Tracer(enabled, node="127.0.0.1:1")
    assert tracer.enabled
    tracer.event("trace.send", "a@h:1", "b@h:2", "Ping", 10, None)
    assert [e["name"] for e in tracer.snapshot()] == ["Ping"]
    assert log.events.count("trace.send") == logged
