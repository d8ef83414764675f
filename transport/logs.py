"""Logging set-up for programs (scripts call it; libraries never do).

``configure(level, fmt)`` sends structlog events and the stdlib loggers (pykka, aiohttp,
kazoo) to stderr, as ``console`` lines for people or ``json`` lines for machines, with
structlog's context variables merged in (the trace id of the message being handled).

Lines are rate limited per event (``RateLimit``): a peer can make a node log one warning
per message it sends, so past ``per_second`` lines of one event in a second the rest of
that second are counted, not written, and the next line of that event says how many
(``suppressed=N``). Errors and worse are limited too, with more room.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, MutableMapping
from typing import Any, Literal, TextIO

import structlog

__all__ = ["RateLimit", "configure"]

Format = Literal["console", "json"]


class RateLimit:
    """A structlog processor: at most ``per_second`` lines per event each second (see above)."""

    def __init__(self, per_second: int = 20, clock: Callable[[], float] = time.monotonic,
                 errors_per_second: int = 100) -> None:
        self.per_second = per_second
        self.errors_per_second = errors_per_second
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, list[float]] = {}
        """event -> [window start, lines written in it, lines suppressed so far]."""

    def __call__(self, logger: Any, method: str, event: MutableMapping[str, Any]
                 ) -> MutableMapping[str, Any]:
        key = str(event.get("event", ""))[:200]
        limit = self.errors_per_second if method in ("error", "critical", "exception") else (
            self.per_second)
        now = self._clock()
        with self._lock:
            window = self._windows.get(key)
            if window is None:
                if len(self._windows) > 10_000:  # events with ever-new texts: start afresh
                    self._windows.clear()
                window = self._windows[key] = [now, 0, 0]
            if now - window[0] >= 1.0:
                window[0], window[1] = now, 0
            if window[1] >= limit:
                window[2] += 1
                raise structlog.DropEvent
            window[1] += 1
            suppressed, window[2] = int(window[2]), 0
        if suppressed:
            event["suppressed"] = suppressed
        return event


def configure(level: str = "info", fmt: Format = "console", stream: TextIO | None = None) -> None:
    """Route every log line of this OS process to ``stream`` (stderr) at ``level``."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    out = stream or sys.stderr
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor
    if fmt == "json":
        shared.append(structlog.processors.dict_tracebacks)
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())
    structlog.configure(
        processors=[RateLimit(), *shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(numeric, logging.INFO))  # aiohttp and kazoo are chatty below INFO
    logging.getLogger("pykka").setLevel(logging.WARNING)
