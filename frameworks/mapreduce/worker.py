"""The worker process: runs work items, one at a time, for an executor.

``python -m frameworks.mapreduce.worker`` reads one work item per line on stdin (JSON,
see ``jobs``) and answers each with one line on stdout: ``{"id": 3, "value": ...,
"seconds": S}``, or ``{"id": 3, "error": "..."}`` when the item is bad. It exits at the
end of its input (its executor closed the pipe, or died). It imports only the standard
library and ``jobs``, so it starts in a few tens of milliseconds. ``pool.WorkerPool``
starts and feeds these processes.
"""

from __future__ import annotations

import json
import sys
import time
from typing import IO

from frameworks.mapreduce.jobs import run_item

__all__ = ["serve"]


def serve(lines: IO[str], out: IO[str]) -> None:
    """Answer each item line of ``lines`` on ``out`` until the input ends."""
    for line in lines:
        started = time.monotonic()
        item_id = None
        try:
            item = json.loads(line)
            item_id = item["id"]
            answer = {"id": item_id, "value": run_item(item),
                      "seconds": time.monotonic() - started}
        except (ValueError, KeyError, TypeError) as exc:
            answer = {"id": item_id, "error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(answer, separators=(",", ":")) + "\n")
        out.flush()


if __name__ == "__main__":
    try:
        serve(sys.stdin, sys.stdout)
    except (BrokenPipeError, KeyboardInterrupt):
        pass
