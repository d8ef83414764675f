"""``meseta frameworks``: registered (and, with ``--all``, completed) frameworks."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from actors.cli.client import get_json
from actors.cli.table import render, resources_text

__all__ = ["add_parsers", "framework_rows"]

HEADERS = ("ID", "NAME", "ACTIVE", "TASKS", "USED")


def framework_rows(frameworks: list[dict[str, Any]]) -> list[list[Any]]:
    return [[f.get("id"), f.get("name"), f.get("active"), len(f.get("tasks", [])),
             resources_text(f.get("used_resources"))] for f in frameworks]


def _run(args: argparse.Namespace, out: TextIO) -> int:
    state = get_json(f"{args.master_base}/master/state")
    frameworks = state.get("frameworks", [])
    if args.all:
        frameworks = frameworks + state.get("completed_frameworks", [])
    out.write(json.dumps(frameworks, indent=2) + "\n" if args.json
              else render(HEADERS, framework_rows(frameworks)))
    return 0


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("frameworks", help="registered frameworks")
    p.add_argument("--all", action="store_true", help="completed frameworks too")
    p.set_defaults(run=_run)
