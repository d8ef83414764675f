"""The framework messages between the mapreduce scheduler and its executors.

Framework messages are opaque bytes to Meseta and best effort: the master and agent
forward them once, and any of them may be lost. Ours are UTF-8 JSON objects, one per
message, with a ``type``:

=========================================================  ============================
``{"type": "work", "item": {"id": 3, "kind": "pi", ...}}``  scheduler -> executor: run
                                                            this item (``jobs`` has
                                                            the item's fields)
``{"type": "result", "id": 3, "value": ..., "seconds": S}``  executor -> scheduler: the
                                                            item's map output, and how
                                                            long the worker took
``{"type": "result", "id": 3, "error": "..."}``             executor -> scheduler: the
                                                            item failed (bad input)
``{"type": "stop"}``                                        scheduler -> executor: the
                                                            job is done; finish your
                                                            task (TASK_FINISHED)
=========================================================  ============================

Loss is handled by the scheduler alone: it re-sends an item whose result has not come
in time (``tracker``), so an executor may get an item twice and the scheduler may get a
result twice; both sides key everything by the item id (the first result wins), so that
is harmless. ``decode`` returns ``None`` for anything malformed; callers log and drop it.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["decode", "failure", "result", "stop", "work"]


def _encode(msg: dict[str, Any]) -> bytes:
    return json.dumps(msg, separators=(",", ":")).encode()


def work(item: dict[str, Any]) -> bytes:
    return _encode({"type": "work", "item": item})


def result(item_id: int, value: Any, seconds: float) -> bytes:
    return _encode({"type": "result", "id": item_id, "value": value,
                    "seconds": round(seconds, 6)})


def failure(item_id: int, error: str) -> bytes:
    return _encode({"type": "result", "id": item_id, "error": error})


def stop() -> bytes:
    return _encode({"type": "stop"})


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def decode(data: bytes) -> dict[str, Any] | None:
    """The message in ``data``, or ``None`` when it is not one of ours."""
    try:
        msg = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError):  # nested too deeply: not ours
        return None
    if not isinstance(msg, dict):
        return None
    kind = msg.get("type")
    if kind == "stop":
        return msg
    if kind == "work":
        item = msg.get("item")
        ok = isinstance(item, dict) and _is_id(item.get("id")) and isinstance(
            item.get("kind"), str)
        return msg if ok else None
    if kind == "result":
        ok = _is_id(msg.get("id")) and ("value" in msg or isinstance(msg.get("error"), str))
        return msg if ok else None
    return None
