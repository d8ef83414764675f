"""Logging set-up for programs (scripts call it; libraries never do).

``configure(level, fmt)`` sends structlog events and the stdlib loggers (pykka, aiohttp,
kazoo) to stderr, as ``console`` lines for people or ``json`` lines for machines, with
structlog's context variables merged in (the trace id of the message being handled).
"""

from __future__ import annotations

import logging
import sys
from typing import Literal, TextIO

import structlog

__all__ = ["configure"]

Format = Literal["console", "json"]


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
        processors=[*shared, renderer],
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
