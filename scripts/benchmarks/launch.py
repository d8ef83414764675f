"""``scripts/bench launch``: how fast agents launch and finish command tasks.

Starts a real cluster on 127.0.0.1 (``meseta-master`` and ``--agents`` ``meseta-agent``
processes, each agent with room for ``--concurrency`` tasks at once) and a framework in
this process that launches ``--tasks`` command tasks running ``true`` (``cpus:0.01;
mem:1`` each) as fast as offers allow — one executor per task, as Mesos. Measured:

- ``tasks_per_s_per_agent``: tasks finished per second per agent, from the first
  accept to the last TASK_FINISHED;
- ``accept_to_running_p50_ms`` / ``_p99_ms``: from the framework's accept (launch) call
  to the task's TASK_RUNNING reaching the framework.

Mesos launches about 33 containers/s on one agent; the goal here is at least 50
tasks/s per agent on a 2-core machine. Prints progress, then one JSON line (the last
line) with ``agents``, ``tasks``, ``tasks_per_s_per_agent``, ``accept_to_running_p50_ms``,
``accept_to_running_p99_ms`` and more. ``--rounds`` repeats the run on the same cluster
and reports medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from typing import Any

from actors.messages import (
    CommandInfo,
    Filters,
    FrameworkInfo,
    Offer,
    TaskInfo,
    TaskState,
    TaskStatus,
    is_terminal,
)
from actors.resources import Resources
from frameworks.scheduler import Scheduler
from frameworks.scheduler_driver import SchedulerDriver

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from local_cluster import Cluster

PER_TASK = Resources.parse("cpus:0.01;mem:1")


class LaunchBench(Scheduler):
    """Launches ``total`` ``true`` tasks as offers come; records accept/running/finished times."""

    def __init__(self, total: int, prefix: str) -> None:
        self.total, self.prefix = total, prefix
        self.launched = 0
        self.accepted_at: dict[str, float] = {}
        self.running_at: dict[str, float] = {}
        self.ended_at: dict[str, float] = {}
        self.failed: list[str] = []
        self.done = threading.Event()

    def resource_offers(self, driver: SchedulerDriver, offers: list[Offer]) -> None:
        for offer in offers:
            left, tasks = offer.resources, []
            while self.launched < self.total and left.contains(PER_TASK):
                task_id = f"{self.prefix}-{self.launched}"
                self.launched += 1
                left = left - PER_TASK
                tasks.append(TaskInfo(name=task_id, task_id=task_id, agent_id=offer.agent_id,
                                      resources=PER_TASK, command=CommandInfo(value="true")))
            if not tasks:
                driver.decline_offer(offer.id, Filters(refuse_seconds=1.0))
                continue
            now = time.perf_counter()
            for task in tasks:
                self.accepted_at[task.task_id] = now
            driver.launch_tasks([offer.id], tasks, Filters(refuse_seconds=0.0))

    def status_update(self, driver: SchedulerDriver, status: TaskStatus) -> None:
        now = time.perf_counter()
        if status.state is TaskState.TASK_RUNNING:
            self.running_at.setdefault(status.task_id, now)
        elif is_terminal(status.state):
            self.ended_at[status.task_id] = now
            if status.state is not TaskState.TASK_FINISHED:
                self.failed.append(f"{status.task_id} {status.state.name} {status.message}")
            if len(self.ended_at) == self.total:
                self.done.set()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_round(master: str, tasks: int, prefix: str, timeout: float) -> dict[str, float]:
    bench = LaunchBench(tasks, prefix)
    driver = SchedulerDriver.create(bench, FrameworkInfo(user="", name=f"bench-{prefix}"),
                                    master)
    try:
        driver.start()
        if not bench.done.wait(timeout):
            raise SystemExit(f"bench launch: only {len(bench.ended_at)}/{tasks} tasks ended "
                             f"in {timeout:.0f}s")
    finally:
        driver.stop()
        driver.close()
    if bench.failed:
        raise SystemExit("bench launch: tasks did not finish: " + "; ".join(bench.failed[:5]))
    latencies = [(bench.running_at[t] - bench.accepted_at[t]) * 1000
                 for t in bench.running_at if t in bench.accepted_at]
    span = max(bench.ended_at.values()) - min(bench.accepted_at.values())
    return {"tasks_per_s": tasks / span, "p50": _percentile(latencies, 0.5),
            "p99": _percentile(latencies, 0.99), "span_s": span}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench launch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=1)
    parser.add_argument("--tasks", type=int, default=300, help="tasks per round (all agents)")
    parser.add_argument("--concurrency", type=int, default=16,
                        help="tasks an agent can hold at once (sets its --resources)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--launcher", choices=("warm", "subprocess"), default="warm")
    parser.add_argument("--port", type=int, default=5450, help="master port (agents +1, +2…)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per round")
    args = parser.parse_args(argv)

    work_dir = tempfile.mkdtemp(prefix="meseta-bench-launch-")
    bin_dir = os.path.dirname(sys.executable)
    cluster = Cluster(work_dir)
    resources = (f"cpus:{args.concurrency * 0.01:.2f};mem:{args.concurrency};"
                 "disk:1024;ports:[31000-31099]")
    rounds: list[dict[str, float]] = []
    try:
        cluster.start("master", [os.path.join(bin_dir, "meseta-master"), "--ip=127.0.0.1",
                                 f"--port={args.port}", "--allocation_interval=50ms",
                                 f"--work_dir={work_dir}/master"], "meseta-master:")
        for i in range(1, args.agents + 1):
            cluster.start(f"agent{i}", [
                os.path.join(bin_dir, "meseta-agent"), "--ip=127.0.0.1",
                f"--port={args.port + i}", f"--http_port={args.port + 100 + i}",
                f"--master=127.0.0.1:{args.port}", f"--work_dir={work_dir}/agent{i}",
                f"--resources={resources}", f"--launcher={args.launcher}"], "meseta-agent:")
        master = f"127.0.0.1:{args.port}"
        run_round(master, min(20, args.tasks), "warmup", args.timeout)
        for rnd in range(args.rounds):
            result = run_round(master, args.tasks, f"r{rnd}", args.timeout)
            rounds.append(result)
            print(f"round {rnd + 1}: {result['tasks_per_s'] / args.agents:.1f} tasks/s/agent, "
                  f"accept->running p50 {result['p50']:.1f} ms p99 {result['p99']:.1f} ms",
                  file=sys.stderr, flush=True)
    finally:
        cluster.stop()
    out: dict[str, Any] = {
        "agents": args.agents,
        "tasks": args.tasks,
        "tasks_per_s_per_agent": round(
            statistics.median(r["tasks_per_s"] for r in rounds) / args.agents, 1),
        "accept_to_running_p50_ms": round(statistics.median(r["p50"] for r in rounds), 1),
        "accept_to_running_p99_ms": round(statistics.median(r["p99"] for r in rounds), 1),
        "rounds": args.rounds,
        "concurrency_per_agent": args.concurrency,
        "launcher": args.launcher,
    }
    print(json.dumps(out))
    return 0
