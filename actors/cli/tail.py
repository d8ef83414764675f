"""``meseta tail [-f] [-n LINES] TASK [stdout|stderr]``: the end of a task's sandbox file.

Reads the size (``offset=-1``), then the last ``--bytes`` (8 KiB) and prints the last
``-n`` lines; ``-f`` polls ``/files/read`` from the end every ``--interval`` seconds and
prints what was appended, until Ctrl-C (or ``--iterations`` polls, a test aid).
"""

from __future__ import annotations

import argparse
import time
from typing import Any, TextIO

from actors.cli import sandbox
from actors.cli.cat import read_all

__all__ = ["add_parsers"]


def _run(args: argparse.Namespace, out: TextIO) -> int:
    box = sandbox.locate(args.master_base, args.task)
    path = f"{box.directory}/{args.file}"
    _, size = sandbox.read(box.agent, path, -1)
    start = max(0, size - args.bytes)
    text = read_all(box.agent, path) if start == 0 else sandbox.read(box.agent, path, start)[0]
    lines = text.splitlines(keepends=True)
    out.write("".join(lines[-args.lines:] if args.lines > 0 else []))
    out.flush()
    offset = start + len(text.encode())
    polls = 0
    try:
        while args.follow and (args.iterations is None or polls < args.iterations):
            polls += 1
            data, at = sandbox.read(box.agent, path, offset)
            if data:
                out.write(data)
                out.flush()
                offset = at + len(data.encode())
            else:
                time.sleep(args.interval)
    except KeyboardInterrupt:
        pass
    return 0


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("tail", help="the end of a task's stdout or stderr; -f follows it")
    p.add_argument("task")
    p.add_argument("file", nargs="?", default="stdout", choices=("stdout", "stderr"))
    p.add_argument("-f", "--follow", action="store_true", help="keep printing what is appended")
    p.add_argument("-n", "--lines", type=int, default=10, help="lines to print first (10)")
    p.add_argument("--bytes", type=int, default=8192, help="bytes read from the end (8192)")
    p.add_argument("--interval", type=float, default=0.5, help="poll interval with -f (0.5 s)")
    p.add_argument("--iterations", type=int, default=None, help="stop -f after N polls")
    p.set_defaults(run=_run)
