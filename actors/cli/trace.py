"""``meseta trace``: a task's messages across the cluster, or a live stream of trace events.

``--task T`` gathers the events of the master and every agent (``client.gather_task_trace``;
a task's executor talks only to its agent, whose events cover those messages), then
prints one line per message (``+12.3ms  frm → to  Name  task=… state=…``), a Mermaid
``sequenceDiagram`` with ``--mermaid``, or JSON with ``--json``. ``--follow`` streams the
master's and every agent's ``/__trace__?follow=1`` (filters ``--framework``, ``--agent``,
``--name``, ``--task``), one line per event, until Ctrl-C (``--seconds`` ends it, a test aid).
Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
import threading
from typing import Any, TextIO

from actors.cli import trace_model
from actors.cli.client import CliError, agent_base, gather_task_trace, get_json, query, stream_lines

__all__ = ["add_parsers", "event_line"]


def _status(text: str) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\r\x1b[K{text}")
    else:
        sys.stderr.write(text + "\n")
    sys.stderr.flush()


def event_line(ev: dict[str, Any]) -> str:
    """One streamed event: ``recv  frm → to  Name  task=…``."""
    kind = str(ev.get("event", "")).removeprefix("trace.")
    line = f"{kind:4}  {ev.get('frm')} → {ev.get('to')}  {ev.get('name')}"
    details = "  ".join(f"{k.removesuffix('_id')}={ev[k]}" for k in trace_model.KEYS
                        if ev.get(k))
    return f"{line}  {details}" if details else line


def _task(args: argparse.Namespace, out: TextIO) -> int:
    result = gather_task_trace(args.master_base, args.task, progress=_status)
    if sys.stderr.isatty():
        sys.stderr.write("\r\x1b[K")
    for error in result["errors"]:
        print(f"meseta trace: warning: {error}", file=sys.stderr)
    messages = result["messages"]
    if args.json:
        out.write(json.dumps(result, indent=2) + "\n")
    elif args.mermaid:
        out.write(trace_model.mermaid(messages))
    else:
        if not messages:
            print(f"meseta trace: no traced messages of task {args.task} "
                  "(is tracing on: --trace / MESETA_TRACE=1?)", file=sys.stderr)
            return 1
        out.write("\n".join(trace_model.render_lines(messages)) + "\n")
    return 0


def _follow(args: argparse.Namespace, out: TextIO) -> int:
    state = get_json(f"{args.master_base}/master/state")
    bases = [args.master_base] + [agent_base(a) for a in state.get("agents", [])]
    q = query({"follow": 1, "framework_id": args.framework, "agent_id": args.agent,
               "name": args.name, "task_id": args.task, "timeout": args.seconds,
               "since": args.since})
    lines: queue.Queue[bytes | None] = queue.Queue()

    def pump(base: str) -> None:
        try:
            for line in stream_lines(f"{base}/__trace__{q}"):
                lines.put(line)
        except (CliError, OSError) as exc:
            _status(f"meseta trace: {base}: {exc}")
        finally:
            lines.put(None)

    for base in bases:
        threading.Thread(target=pump, args=(base,), daemon=True).start()
    _status(f"following {len(bases)} nodes (Ctrl-C ends)")
    open_streams = len(bases)
    try:
        while open_streams:
            line = lines.get()
            if line is None:
                open_streams -= 1
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            out.write((json.dumps(ev) if args.json else event_line(ev)) + "\n")
            out.flush()
    except KeyboardInterrupt:
        pass
    return 0


def _run(args: argparse.Namespace, out: TextIO) -> int:
    if args.follow:
        return _follow(args, out)
    if not args.task:
        raise CliError("meseta trace needs --task T or --follow")
    return _task(args, out)


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("trace", help="a task's messages across the cluster, or --follow live")
    p.add_argument("--task", help="the task whose messages to gather (or filter --follow by)")
    p.add_argument("--mermaid", action="store_true", help="print a Mermaid sequenceDiagram")
    p.add_argument("--follow", action="store_true", help="stream trace events as they happen")
    p.add_argument("--framework", help="with --follow: only events of this framework id")
    p.add_argument("--agent", help="with --follow: only events naming this agent id")
    p.add_argument("--name", help="with --follow: only this message name (e.g. StatusUpdate)")
    p.add_argument("--since", type=float, help="with --follow: start after this seq or time")
    p.add_argument("--seconds", type=float, help="with --follow: stop after S seconds")
    p.set_defaults(run=_run)
