"""``meseta execute [meseta-execute flags]``: ``frameworks.execute`` with the CLI's master.

Every flag is ``meseta-execute``'s (``--name``, ``--command``, ``--resources``, …).
Unless ``--master=`` is among them, the leader's ZeroMQ address (the ``pid`` in its
``/master/state``) found from the CLI's ``--master`` / ``--zk`` / ``MESETA_MASTER`` is used.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from actors.cli.client import get_json

__all__ = ["add_parsers"]


def _run(args: argparse.Namespace, out: TextIO) -> int:
    from frameworks.execute import run

    argv = list(args.rest)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not any(a.startswith("--master") for a in argv):
        pid = str(get_json(f"{args.master_base}/master/state").get("pid", ""))
        argv.insert(0, f"--master={pid.split('@', 1)[1]}")
    return run(argv, out=out, err=sys.stderr)


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("execute", help="run one command as a task (meseta-execute's flags)")
    p.add_argument("rest", nargs=argparse.REMAINDER,
                   help="meseta-execute flags: --name N --command C [--resources R] …")
    p.set_defaults(run=_run)
