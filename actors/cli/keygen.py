"""``meseta keygen NAME [--dir DIR]``: write a CurveZMQ key pair for ``--curve``.

Writes ``DIR/NAME.key`` (public: copy it into the keys directory of every node that
should admit this one) and ``DIR/NAME.key_secret`` (private, mode 0600: stays on this
node). The master's pair is named ``master``; a key's name is its holder's principal
(``transport.curve``). Needs no master; refuses to overwrite an existing pair.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from actors.cli.client import CliError
from transport.curve import CurveError, create_key_pair

__all__ = ["add_parsers"]


def _run(args: argparse.Namespace, out: TextIO) -> int:
    name = args.name
    if not name or "/" in name or name.startswith("."):
        raise CliError(f"{name!r} is not a key name (a file name: letters, digits, -_.)")
    directory = Path(args.dir)
    if (directory / f"{name}.key_secret").exists() or (directory / f"{name}.key").exists():
        raise CliError(f"{directory / name}.key already exists; not overwriting it")
    try:
        public, secret = create_key_pair(directory, name)
    except (CurveError, OSError) as exc:
        raise CliError(str(exc)) from None
    out.write(f"{public}\n{secret}\n")
    return 0


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("keygen", help="write a CurveZMQ key pair (NAME.key, NAME.key_secret)")
    p.add_argument("name", help="the key's name: the node's principal (master for masters)")
    p.add_argument("--dir", default=".", help="where to write the pair (default: .)")
    p.set_defaults(run=_run, offline=True)
