"""``python -m frameworks.batch VERB``: ``run`` (``frameworks.batch.run``) starts the
framework; ``submit``, ``jobs``, ``status``, ``watch``, ``start`` and ``delete``
(``frameworks.batch.client``) talk to a running one. ``--help`` after a verb lists its
flags; an unknown verb exits 2 with the list."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from frameworks.batch import client
from frameworks.batch.run import run

VERBS = ("run", "submit", "jobs", "status", "watch", "start", "delete")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in VERBS:
        given = f"unknown verb {args[0]!r}" if args and not args[0].startswith("-") else \
            "a verb is required"
        print(f"usage: python -m frameworks.batch {{{'|'.join(VERBS)}}} [flags]\n"
              f"batch: error: {given}", file=sys.stderr)
        return 2
    if args[0] == "run":
        return run(args[1:])
    return client.main(args)


if __name__ == "__main__":
    sys.exit(main())
