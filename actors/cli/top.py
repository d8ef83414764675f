"""``meseta top``: the cluster's resources and running tasks, redrawn every ``--interval``.

Clears the terminal (ANSI) and prints a summary (agents, frameworks, tasks per state,
cpus/mem used of total) and the running tasks, until Ctrl-C or ``--iterations`` frames.
``summary(state)`` is pure.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from typing import Any, TextIO

from actors.cli.client import get_json
from actors.cli.ps import HEADERS, task_rows, tasks_of
from actors.cli.table import render

__all__ = ["add_parsers", "summary"]

CLEAR = "\x1b[H\x1b[2J"


def summary(state: dict[str, Any]) -> dict[str, Any]:
    """Counts and resource totals of one ``/master/state``."""
    agents = state.get("agents", [])
    total: dict[str, float] = {}
    used: dict[str, float] = {}
    for a in agents:
        for name in ("cpus", "mem", "disk"):
            total[name] = total.get(name, 0.0) + float(
                (a.get("resources") or {}).get(name, 0) or 0)
            used[name] = used.get(name, 0.0) + float(
                (a.get("used_resources") or {}).get(name, 0) or 0)
    states = Counter(t.get("state") for t in tasks_of(state, live_only=False))
    return {"agents": len(agents), "frameworks": len(state.get("frameworks", [])),
            "tasks": dict(sorted(states.items())), "total": dict(total), "used": dict(used)}


def _frame(state: dict[str, Any]) -> str:
    s = summary(state)
    res = "  ".join(f"{n} {s['used'].get(n, 0):g}/{s['total'].get(n, 0):g}"
                    for n in ("cpus", "mem", "disk"))
    tasks = " ".join(f"{k}={v}" for k, v in s["tasks"].items()) or "none"
    head = (f"meseta top — {time.strftime('%H:%M:%S')}  agents {s['agents']}  "
            f"frameworks {s['frameworks']}\nused/total: {res}\ntasks: {tasks}\n\n")
    return head + render(HEADERS, task_rows(tasks_of(state, live_only=True)))


def _run(args: argparse.Namespace, out: TextIO) -> int:
    frames = 0
    try:
        while args.iterations is None or frames < args.iterations:
            if frames:
                time.sleep(args.interval)
            state = get_json(f"{args.master_base}/master/state")
            frames += 1
            if args.json:
                out.write(json.dumps(summary(state)) + "\n")
            else:
                out.write((CLEAR if out.isatty() else "") + _frame(state) + "\n")
            out.flush()
    except KeyboardInterrupt:
        pass
    return 0


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("top", help="live view of resources and tasks (Ctrl-C ends)")
    p.add_argument("--interval", type=float, default=2.0, help="seconds between frames (2)")
    p.add_argument("--iterations", type=int, default=None, help="stop after N frames")
    p.set_defaults(run=_run)
