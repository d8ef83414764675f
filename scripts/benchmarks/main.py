"""``scripts/bench <name> [flags]``: run one benchmark and print its JSON result last."""

from __future__ import annotations

import importlib
import os
import sys

BENCHMARKS = {
    "transport": "benchmarks.transport",
    "allocator": "benchmarks.allocator",
    "launch": "benchmarks.launch",
    "failover": "benchmarks.failover",
    "registry": "benchmarks.registry",
    "mapreduce": "benchmarks.mapreduce",
    "hostile": "benchmarks.hostile",
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in BENCHMARKS:
        print(f"usage: scripts/bench {{{'|'.join(BENCHMARKS)}}} [flags]  (--help after a name)",
              file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    module = importlib.import_module(BENCHMARKS[argv[0]])
    return int(module.main(argv[1:]))


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    raise SystemExit(main(sys.argv[1:]))
