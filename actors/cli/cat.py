"""``meseta cat TASK [stdout|stderr]``: a task's whole sandbox file, to stdout."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from actors.cli import sandbox

__all__ = ["add_parsers", "read_all"]


def read_all(base: str, path: str) -> str:
    """The whole file, in ``/files/read``-sized pieces."""
    parts: list[str] = []
    offset = 0
    while True:
        data, at = sandbox.read(base, path, offset)
        if not data:
            return "".join(parts)
        parts.append(data)
        offset = at + len(data.encode())


def _run(args: argparse.Namespace, out: TextIO) -> int:
    box = sandbox.locate(args.master_base, args.task)
    out.write(read_all(box.agent, f"{box.directory}/{args.file}"))
    return 0


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("cat", help="print a task's stdout or stderr")
    p.add_argument("task")
    p.add_argument("file", nargs="?", default="stdout", choices=("stdout", "stderr"))
    p.set_defaults(run=_run)
