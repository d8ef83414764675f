"""Gathered trace events as messages: de-duplication, task selection, causal order, output.

Pure functions over the event dicts nodes serve at ``/__trace__`` (``transport.trace``);
used by ``meseta trace`` (``actors.cli.trace``) and the master's ``/master/trace`` route
(``actors.master.trace_route``). One message seen by both ends is two events (a
``trace.send`` on the sender's node, a ``trace.recv`` on the receiver's) with the same
``msg_id``; ``merge`` folds them into one message record with ``sent`` / ``received``
times. ``for_task`` keeps a task's messages: those naming the task (or its executor)
and the untagged messages they caused. ``order`` puts causes before effects (``parent_id``
links), then time. ``render_lines`` and ``mermaid`` print the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["for_task", "merge", "mermaid", "order", "render_lines", "short_name"]

KEYS = ("task_id", "framework_id", "agent_id", "executor_id", "state")


def merge(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One record per traced message (by ``msg_id``); untraced events are left out."""
    by_id: dict[str, dict[str, Any]] = {}
    for ev in events:
        msg_id = ev.get("msg_id")
        if not msg_id:
            continue
        rec = by_id.setdefault(str(msg_id), {
            "msg_id": msg_id, "trace_id": ev.get("trace_id"), "parent_id": ev.get("parent_id"),
            "hop": ev.get("hop"), "name": ev.get("name"), "frm": ev.get("frm"),
            "to": ev.get("to"), "sent": None, "received": None})
        ts = ev.get("ts")
        if ev.get("event") == "trace.send":
            rec["sent"] = ts if rec["sent"] is None else min(rec["sent"], ts)
            if "size" in ev:
                rec["size"] = ev["size"]
        elif ev.get("event") == "trace.recv":
            rec["received"] = ts if rec["received"] is None else min(rec["received"], ts)
            for extra in ("handler_ms", "outcome"):
                if extra in ev:
                    rec[extra] = ev[extra]
        for key in KEYS:
            if ev.get(key) and key not in rec:
                rec[key] = ev[key]
    return list(by_id.values())


def _time(rec: Mapping[str, Any]) -> float:
    t = rec.get("sent")
    if t is None:
        t = rec.get("received")
    return float(t or 0.0)


def for_task(messages: Iterable[Mapping[str, Any]], task_id: str,
             executor_id: str | None = None) -> list[dict[str, Any]]:
    """The messages of one task: those naming it (or ``executor_id``, default the task id,
    which is a command task's executor) and the untagged ones they caused."""
    executor_id = executor_id or task_id
    msgs = [dict(m) for m in messages]
    keep = {m["msg_id"] for m in msgs
            if m.get("task_id") == task_id
            or (m.get("executor_id") == executor_id and not m.get("task_id"))}
    grown = True
    while grown:
        grown = False
        for m in msgs:
            if (m["msg_id"] not in keep and m.get("parent_id") in keep
                    and not m.get("task_id")):
                keep.add(m["msg_id"])
                grown = True
    return [m for m in msgs if m["msg_id"] in keep]


def order(messages: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Causal order: every message after its parent (when present), otherwise by time."""
    msgs = sorted((dict(m) for m in messages), key=lambda m: (_time(m), m.get("hop") or 0))
    by_id = {m["msg_id"]: m for m in msgs}
    done: set[str] = set()
    out: list[dict[str, Any]] = []

    def emit(m: dict[str, Any], path: set[str]) -> None:
        if m["msg_id"] in done or m["msg_id"] in path:
            return
        parent = by_id.get(m.get("parent_id") or "")
        if parent is not None:
            emit(parent, path | {m["msg_id"]})
        done.add(m["msg_id"])
        out.append(m)

    for m in msgs:
        emit(m, set())
    return out


def short_name(pid: str | None) -> str:
    """``scheduler(1)@127.0.0.1:4123`` stays as is; ``None`` is ``?``."""
    return pid or "?"


def _details(m: Mapping[str, Any]) -> str:
    parts = []
    if m.get("task_id"):
        parts.append(f"task={m['task_id']}")
    if m.get("state"):
        parts.append(f"state={m['state']}")
    if m.get("executor_id") and m.get("executor_id") != m.get("task_id"):
        parts.append(f"executor={m['executor_id']}")
    return "  ".join(parts)


def render_lines(messages: list[Mapping[str, Any]]) -> list[str]:
    """``+12.3ms  frm → to  Name  task=t1 state=...``, times from the first message."""
    if not messages:
        return []
    start = min(_time(m) for m in messages)
    lines = []
    for m in messages:
        ms = (_time(m) - start) * 1000
        detail = _details(m)
        line = f"+{ms:.1f}ms  {short_name(m.get('frm'))} → {short_name(m.get('to'))}  {m['name']}"
        lines.append(f"{line}  {detail}" if detail else line)
    return lines


def _participant(pid: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in pid)


def mermaid(messages: list[Mapping[str, Any]]) -> str:
    """A Mermaid ``sequenceDiagram`` of the messages, in the order given."""
    lines = ["sequenceDiagram"]
    seen: list[str] = []
    for m in messages:
        for pid in (short_name(m.get("frm")), short_name(m.get("to"))):
            if pid not in seen:
                seen.append(pid)
                lines.append(f"    participant {_participant(pid)} as {pid}")
    for m in messages:
        detail = _details(m)
        text = f"{m['name']} {detail}".strip().replace(";", ",")
        lines.append(f"    {_participant(short_name(m.get('frm')))}->>"
                     f"{_participant(short_name(m.get('to')))}: {text}")
    return "\n".join(lines) + "\n"
