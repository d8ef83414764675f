"""Mapreduce benchmark: an executor's slots as threads vs as worker processes.

Run by the ``scripts/bench`` dispatcher as ``benchmarks.mapreduce.main(argv)``. The same
``pi`` work items (``--items``, ``--samples`` each) run four ways, side by side in each
round: on 1 and on ``--slots`` threads of a ``ThreadPoolExecutor`` calling
``jobs.run_item`` in this process, and on 1 and on ``--slots`` worker processes of the
executor's own ``WorkerPool`` (already started: start-up is timed apart, as
``pool_start_s``). Medians over ``--rounds``. ``*_speedup`` is the 1-slot time over the
``--slots`` time: what extra slots buy; ``load_avg_1m`` says how busy the machine was
(other work on the cores hides any speedup). Prints one JSON line, the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from frameworks.mapreduce.jobs import pi_job, run_item
from frameworks.mapreduce.pool import WorkerPool


def on_threads(items: list[dict[str, Any]], slots: int) -> float:
    started = time.monotonic()
    with ThreadPoolExecutor(slots) as pool:
        list(pool.map(run_item, items))
    return time.monotonic() - started


def on_processes(items: list[dict[str, Any]], slots: int) -> tuple[float, float]:
    """(seconds for the items, seconds until every worker answered a first item)."""
    done, answers = threading.Event(), []
    lock = threading.Lock()

    def got(answer: dict[str, Any]) -> None:
        with lock:
            answers.append(answer)
            if len(answers) == want[0]:
                done.set()

    want = [slots]
    started = time.monotonic()
    pool = WorkerPool(slots, got)
    try:
        warm = {"id": -1, "kind": "pi", "samples": 1, "seed": 0}
        for _ in range(slots):  # each worker takes one (it blocks until answered)
            pool.submit(warm)
        done.wait()
        start_s = time.monotonic() - started
        done.clear()
        answers.clear()
        want[0] = len(items)
        started = time.monotonic()
        for item in items:
            pool.submit(item)
        done.wait()
        return time.monotonic() - started, start_s
    finally:
        pool.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench mapreduce", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=8)
    parser.add_argument("--samples", type=int, default=1_000_000, help="per item")
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    items = list(pi_job(args.items * args.samples, args.items, seed=1).items)
    times: dict[str, list[float]] = {k: [] for k in ("threads_1", "threads_n", "processes_1",
                                                     "processes_n", "pool_start")}
    for _ in range(args.rounds):
        times["threads_1"].append(on_threads(items, 1))
        times["threads_n"].append(on_threads(items, args.slots))
        times["processes_1"].append(on_processes(items, 1)[0])
        seconds, start_s = on_processes(items, args.slots)
        times["processes_n"].append(seconds)
        times["pool_start"].append(start_s)
    med = {k: statistics.median(v) for k, v in times.items()}
    result = {"benchmark": "mapreduce", "items": args.items, "samples_per_item": args.samples,
              "slots": args.slots, "rounds": args.rounds,
              "threads_1_s": round(med["threads_1"], 3),
              f"threads_{args.slots}_s": round(med["threads_n"], 3),
              "processes_1_s": round(med["processes_1"], 3),
              f"processes_{args.slots}_s": round(med["processes_n"], 3),
              "threads_speedup": round(med["threads_1"] / med["threads_n"], 2),
              "processes_speedup": round(med["processes_1"] / med["processes_n"], 2),
              "pool_start_s": round(med["pool_start"], 3),
              "load_avg_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}
    print(json.dumps(result))
    return 0
