"""``python -m frameworks.mapreduce``: run one mapreduce job on a cluster and print its answer.

::

    python -m frameworks.mapreduce --master=127.0.0.1:5050 --job=pi --samples=2000000 --items=20
    python -m frameworks.mapreduce --master=zk://127.0.0.1:2181/meseta --job=wordcount \\
        --input a.txt b.txt --top=10

Flags are parsed here (``flags()``); the job comes from ``jobs``, the framework is
``scheduler.MapReduceScheduler``. Progress goes to stdout as ``mapreduce: ...`` lines;
the last line is the summary as JSON (``{"job", "answer", "items", "executors",
"started_at", "finished_at", "duration_s", ...}``). Exit 0 when the job is done, 1 when
it failed or no master registered the framework, 2 for bad flags. ``--input`` takes one
or more files (``--input a b``, ``--input=a,b`` or the flag repeated).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from actors.messages import FrameworkInfo
from frameworks.execute import check_master, check_role
from frameworks.mapreduce.jobs import Job, pi_job, wordcount_job
from frameworks.mapreduce.scheduler import Config, MapReduceScheduler
from frameworks.scheduler_driver import DriverStatus, SchedulerDriver
from transport.flags import Duration, Flags, at_least, not_negative, one_of, positive
from transport.logs import configure

__all__ = ["flags", "main", "run"]

PROG = "mapreduce"


def flags() -> Flags:
    f = Flags(PROG, "Run a map/reduce job (pi or wordcount) on executors of a Meseta cluster.")
    f.add("master", str, "127.0.0.1:5050", "the master, host:port, or zk://host:port/path",
          check_master)
    f.add("job", str, None, "the job: pi or wordcount (required)", one_of("pi", "wordcount"))
    f.add("samples", int, 1_000_000, "pi: points in total", at_least(1))
    f.add("items", int, 10, "pi: work items the samples are split into", at_least(1))
    f.add("seed", int, 1, "pi: seed; the same seed gives the same answer")
    f.add("input", str, None, "wordcount: input files (one or more, or comma-separated)")
    f.add("split_lines", int, 1000, "wordcount: lines per work item", at_least(1))
    f.add("top", int, 10, "wordcount: how many of the most frequent words to print",
          at_least(1))
    f.add("output", str, None, "wordcount: write every word's count to this file instead")
    f.add("role", str, "*", "role the framework registers with", check_role)
    f.add("name", str, "mapreduce", "name the framework registers with")
    f.add("max_executors", int, 4, "at most this many executors (one per agent)", at_least(1))
    f.add("cores_per_executor", int, 2, "cpus (= work slots) per executor", at_least(1))
    f.add("min_executor_cores", int, 1, "no executor on an offer with fewer cpus than this "
          "(= --cores_per_executor: executors of one size, as Spark)", at_least(1))
    f.add("executor_memory", float, 256.0, "MB of memory per executor", at_least(16))
    f.add("item_seconds", float, 0.0, "each item takes at least this long (sleeps the "
          "remainder): models longer work in demos", not_negative)
    f.add("item_timeout", Duration, 60.0, "send an item again when its result is this late "
          "(at least twice --item_seconds)", positive)
    f.add("registration_timeout", Duration, 30.0, "give up if not registered by then",
          positive)
    f.add("ip", str, "127.0.0.1", "IP address this framework's node listens on")
    f.add("log_level", str, "warning", "log level of the driver's log lines (to stderr)")
    return f


def gather_inputs(argv: Sequence[str]) -> list[str]:
    """``argv`` with every ``--input A B ...`` turned into one ``--input=A,B,...``."""
    rest: list[str] = []
    files: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("--input="):
            files += [p for p in arg[len("--input="):].split(",") if p]
        elif arg == "--input":
            i += 1
            while i < len(argv) and not argv[i].startswith("--"):
                files += [p for p in argv[i].split(",") if p]
                i += 1
            continue
        else:
            rest.append(arg)
        i += 1
    return rest + ([f"--input={','.join(files)}"] if files else [])


def build_job(values: object, err: TextIO) -> Job | None:
    v = values.__dict__
    if v["job"] is None:
        print(f"{PROG}: error: missing required flag --job (pi or wordcount)", file=err)
        return None
    if v["job"] == "pi":
        if v["samples"] < v["items"]:
            print(f"{PROG}: error: --samples must be at least --items", file=err)
            return None
        return pi_job(v["samples"], v["items"], v["seed"], v["item_seconds"])
    if not v["input"]:
        print(f"{PROG}: error: wordcount needs --input FILE...", file=err)
        return None
    texts = []
    for path in v["input"].split(","):
        try:
            texts.append(Path(path).read_text(encoding="utf-8", errors="replace"))
        except OSError as exc:
            print(f"{PROG}: error: --input: cannot read {path}: {exc.strerror}", file=err)
            return None
    return wordcount_job(texts, v["split_lines"], v["top"], v["output"], v["item_seconds"])


def main() -> int:
    return run(sys.argv[1:], configure_logging=True)


def run(argv: Sequence[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr,
        configure_logging: bool = False) -> int:
    """Run the job ``argv`` describes; the exit status."""
    values = flags().parse(gather_inputs(argv))
    if configure_logging:
        try:
            configure(values.log_level)
        except ValueError as exc:
            print(f"{PROG}: error: --log_level: {exc}", file=err)
            return 2
    job = build_job(values, err)
    if job is None:
        return 2
    config = Config(max_executors=values.max_executors,
                    cores_per_executor=values.cores_per_executor,
                    min_executor_cores=min(values.min_executor_cores,
                                           values.cores_per_executor),
                    executor_memory=values.executor_memory,
                    item_timeout=max(values.item_timeout, 2 * values.item_seconds),
                    roles=(values.role,))
    scheduler = MapReduceScheduler(job, config, out)
    info = FrameworkInfo(user="", name=values.name, roles=(values.role,))
    driver = SchedulerDriver.create(scheduler, info, values.master, values.ip)
    try:
        driver.start()
        status = driver.join(values.registration_timeout)
        if status is DriverStatus.DRIVER_RUNNING and not driver.framework_id:
            print(f"{PROG}: error: no master at {values.master} registered the framework "
                  f"within {values.registration_timeout:g}s", file=err)
            return 1
        driver.join()
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted: tearing the framework down", file=err)
        return 1
    finally:
        driver.stop()
        driver.close()
    if scheduler.error_message is not None:
        print(f"{PROG}: error: {scheduler.error_message}", file=err)
        return 1
    return 0 if scheduler.summary is not None else 1
