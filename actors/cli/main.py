"""``meseta``: the operator's command line (Nomad style: ``meseta VERB [flags]``).

Verbs, one module each: ``ps`` / ``tasks`` (``actors.cli.ps``), ``agents``,
``frameworks``, ``top``, ``cat``, ``tail``, ``execute``, ``trace``, and ``keygen`` (a
CurveZMQ key pair; it needs no master). Every other verb takes
``--master HOST:PORT`` (a master's HTTP address; followed to the leader through
``/master/redirect``), ``--zk zk://…/path`` (the leader read from ZooKeeper) or
``MESETA_MASTER``, and ``--json`` where it prints data. ``--principal`` / ``--secret``
(``MESETA_PRINCIPAL`` / ``MESETA_SECRET``) send HTTP Basic credentials and ``--cacert``
(``MESETA_SSL_CA_FILE``) trusts a CA and talks HTTPS (as ``MESETA_SSL_ENABLED`` does).
Errors a user can fix (no master reachable, no such task) print ``meseta: …`` and exit 1;
bad flags exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from actors.cli import agents, cat, execute, frameworks, keygen, ps, tail, top, trace
from actors.cli.client import CliError, HttpAccess, configure, find_master

__all__ = ["main", "parser", "run"]

VERBS = (ps, agents, frameworks, top, cat, tail, execute, trace, keygen)


class _Sub:
    """``add_parser`` with the common flags added to every verb."""

    def __init__(self, sub: Any, common: argparse.ArgumentParser) -> None:
        self._sub, self._common = sub, common

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return self._sub.add_parser(name, parents=[self._common], **kwargs)


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--master", help="a master's HTTP host:port (default MESETA_MASTER)")
    common.add_argument("--zk", help="zk://host:port[,host:port]/path: find the leader there")
    common.add_argument("--json", action="store_true", help="print JSON")
    common.add_argument("--principal", help="HTTP Basic principal (default MESETA_PRINCIPAL)")
    common.add_argument("--secret", help="HTTP Basic secret (default MESETA_SECRET)")
    common.add_argument("--cacert", help="trust this CA (PEM) and use HTTPS "
                        "(default MESETA_SSL_CA_FILE)")
    p = argparse.ArgumentParser(prog="meseta", description="Operate a Meseta cluster.")
    sub = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    wrapped = _Sub(sub, common)
    for verb in VERBS:
        verb.add_parsers(wrapped)
    return p


def run(argv: Sequence[str], out: TextIO = sys.stdout) -> int:
    p = parser()
    args, unknown = p.parse_known_args(list(argv))
    if args.verb == "execute":
        args.rest = [*args.rest, *unknown]
    elif unknown:
        p.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        configure(HttpAccess.from_env(args.principal, args.secret, args.cacert))
        if not getattr(args, "offline", False):
            args.master_base = find_master(args.master, args.zk)
        return int(args.run(args, out))
    except CliError as exc:
        print(f"meseta: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0


def main() -> int:
    """Entry point of ``meseta``."""
    try:
        return run(sys.argv[1:])
    except KeyboardInterrupt:
        return 130
