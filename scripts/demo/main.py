"""``scripts/utilization``: the same work on static partitions, then on a shared pool.

Prints each run's completion time (makespan) and mean utilization and their ratios,
writes the PNG (``--out``), and with ``--json`` prints one JSON line last:
``{"static": {"makespan_s", "mean_utilization", ...}, "shared": {...}, "speedup",
"utilization_gain_points"}``. ``--runs N`` repeats both modes N times (alternating) and
reports medians (each figure's median over the runs; ``runs`` lists every run) and plots
the run of median speedup. ``--short`` runs a small workload (for tests). Exits 0 when
every run completed (the goals are reported, not enforced).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile

if __name__ == "__main__":  # run as a script: scripts/ and the checkout are the import roots
    _SCRIPTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path[:0] = [_SCRIPTS, os.path.dirname(_SCRIPTS)]

from demo.plot import plot
from demo.run import DemoError, run_mode
from demo.timeline import compare, medians
from demo.workload import Workload

GOALS = {"speedup": 1.3, "utilization_gain_points": 15.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/utilization", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="utilization.png", help="the PNG to write")
    parser.add_argument("--json", action="store_true", help="print the result as JSON last")
    parser.add_argument("--runs", type=int, default=1,
                        help="repeat both modes this many times; report medians (default 1)")
    parser.add_argument("--short", action="store_true", help="a small workload (for tests)")
    parser.add_argument("--interval", type=float, default=0.25,
                        help="seconds between samples of the master's state (default 0.25)")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="seconds each run may take (default 900)")
    parser.add_argument("--work_dir", default=None,
                        help="where logs go (kept); default a temporary directory, removed")
    args = parser.parse_args(argv)
    if args.interval <= 0 or args.timeout <= 0 or args.runs < 1:
        parser.error("--interval and --timeout must be positive, --runs at least 1")
    workload = Workload.short() if args.short else Workload()
    work_dir = args.work_dir or tempfile.mkdtemp(prefix="meseta-utilization-")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops it as Ctrl-C does
    pairs = []
    try:
        for i in range(args.runs):
            where = work_dir if args.runs == 1 else os.path.join(work_dir, f"run{i + 1}")
            pairs.append((run_mode(workload, True, where, args.interval, args.timeout),
                          run_mode(workload, False, where, args.interval, args.timeout)))
    except DemoError as exc:
        print(f"utilization: {exc} (logs in {work_dir})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"utilization: interrupted (logs in {work_dir})", file=sys.stderr)
        return 130
    result = medians([compare(static, shared) for static, shared in pairs])
    static, shared = pairs[result.pop("median_run")]
    plot(static, shared, workload.total_cpus, args.out)
    for mode in ("static", "shared"):
        r = result[mode]
        print(f"utilization: {mode:6s}: work done in {r['makespan_s']:6.1f} s, "
              f"mean utilization {100 * r['mean_utilization']:5.1f} %")
    print(f"utilization: sharing the pool: {result['speedup']:.2f}x sooner "
          f"(goal >= {GOALS['speedup']}), {result['utilization_gain_points']:+.1f} points "
          f"of utilization (goal >= {GOALS['utilization_gain_points']:g}); plot: {args.out}")
    if not args.work_dir:
        shutil.rmtree(work_dir, ignore_errors=True)
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
