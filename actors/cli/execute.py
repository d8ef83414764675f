"""``meseta execute [meseta-execute flags]``: ``frameworks.execute`` with the CLI's master.

Every flag is ``meseta-execute``'s (``--name``, ``--command``, ``--resources``, …)
except ``--master``, which is the CLI's (HTTP, see ``actors.cli.main``): the task goes to
the leader's ZeroMQ address, the ``pid`` in its ``/master/state``. The CLI's
``--principal`` / ``--secret`` / ``--cacert`` are passed on, so the task's output is read
from its agent with them too.
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
    pid = str(get_json(f"{args.master_base}/master/state").get("pid", ""))
    argv.insert(0, f"--master={pid.split('@', 1)[1]}")
    for name in ("principal", "secret", "cacert"):
        if getattr(args, name, None) is not None:
            argv.insert(1, f"--{name}={getattr(args, name)}")
    return run(argv, out=out, err=sys.stderr, configure_logging=True)


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("execute", help="run one command as a task (meseta-execute's flags)")
    p.set_defaults(rest=[])
    p.epilog = "meseta-execute's flags: --name N --command C [--resources R] …"
    p.set_defaults(run=_run)
