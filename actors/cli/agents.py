"""``meseta agents``: the registered agents, their resources and what is used."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from actors.cli.client import get_json
from actors.cli.table import render, resources_text

__all__ = ["add_parsers", "agent_rows"]

HEADERS = ("ID", "HOSTNAME", "PID", "ACTIVE", "RESOURCES", "USED")


def agent_rows(agents: list[dict[str, Any]]) -> list[list[Any]]:
    return [[a.get("id"), a.get("hostname"), a.get("pid"), a.get("active"),
             resources_text(a.get("resources")), resources_text(a.get("used_resources"))]
            for a in agents]


def _run(args: argparse.Namespace, out: TextIO) -> int:
    agents = get_json(f"{args.master_base}/master/state").get("agents", [])
    out.write(json.dumps(agents, indent=2) + "\n" if args.json
              else render(HEADERS, agent_rows(agents)))
    return 0


def add_parsers(sub: Any) -> None:
    sub.add_parser("agents", help="registered agents").set_defaults(run=_run)
