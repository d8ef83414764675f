"""``meseta ps`` (running tasks) and ``meseta tasks`` (every task the master holds)."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from actors.cli.client import get_json
from actors.cli.table import render, resources_text

__all__ = ["add_parsers", "task_rows", "tasks_of"]

HEADERS = ("ID", "NAME", "STATE", "FRAMEWORK", "AGENT", "RESOURCES")
LIVE = ("TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING")


def tasks_of(state: dict[str, Any], live_only: bool) -> list[dict[str, Any]]:
    """The tasks of ``/master/state`` (live ones first, then completed)."""
    out = []
    for fw in state.get("frameworks", []) + state.get("completed_frameworks", []):
        out += fw.get("tasks", []) + fw.get("unreachable_tasks", [])
        if not live_only:
            out += fw.get("completed_tasks", [])
    if live_only:
        out = [t for t in out if t.get("state") in LIVE]
    return out


def task_rows(tasks: list[dict[str, Any]]) -> list[list[Any]]:
    return [[t.get("id"), t.get("name"), t.get("state"), t.get("framework_id"),
             t.get("agent_id"), resources_text(t.get("resources"))] for t in tasks]


def _run(args: argparse.Namespace, out: TextIO, live_only: bool) -> int:
    state = get_json(f"{args.master_base}/master/state")
    tasks = tasks_of(state, live_only)
    if args.json:
        out.write(json.dumps(tasks, indent=2) + "\n")
    else:
        out.write(render(HEADERS, task_rows(tasks)))
    return 0


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("ps", help="running tasks")
    p.set_defaults(run=lambda a, o: _run(a, o, True))
    p = sub.add_parser("tasks", help="every task (running and completed)")
    p.set_defaults(run=lambda a, o: _run(a, o, False))
