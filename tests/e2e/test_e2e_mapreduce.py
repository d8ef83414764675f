"""End to end: the mapreduce framework (``python -m frameworks.mapreduce``) on real clusters.

Each test starts a real master and agents, runs the framework's CLI as an OS process of
its own (its executors are the real ``frameworks.mapreduce.executor``, started by the
agents) and reads its progress lines and final JSON line from its stdout.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from frameworks.mapreduce.jobs import pi_job
from tests.e2e.conftest import LocalCluster, Node
from tests.e2e.test_e2e_endpoints import get_json

FAST = ("--allocation_interval=100ms",)
AGENT = "cpus:2;mem:1024;disk:1024;ports:[31000-32000]"
JOB_TIMEOUT = 180.0


class Run:
    """The framework's process; its stdout lines as they come."""

    def __init__(self, master: Node, stderr: Path, *args: str) -> None:
        with open(stderr, "ab") as err:  # the driver's log lines; stdout is the contract
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "frameworks.mapreduce", f"--master={master.address}",
                 *args], stdout=subprocess.PIPE, stderr=err, text=True,
                start_new_session=True)
        self.lines: list[str] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait_line(self, pattern: str, timeout: float = JOB_TIMEOUT) -> re.Match[str]:
        """The first line (seen so far or to come) matching ``pattern``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if found := re.search(pattern, line):
                        return found
                left = deadline - time.monotonic()
                assert left > 0, f"no line like {pattern!r}:\n" + "\n".join(self.lines)
                self._cond.wait(min(left, 1.0))

    def summary(self) -> dict[str, Any]:
        """Wait for the exit (status 0) and return the final JSON line."""
        assert self.proc.wait(JOB_TIMEOUT) == 0, "\n".join(self.lines)
        self.wait_line(r"^\{")
        result: dict[str, Any] = json.loads(self.lines[-1])
        return result

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)


@contextmanager
def mapreduce(cluster: LocalCluster, master: Node, *args: str) -> Iterator[Run]:
    run = Run(master, cluster.tmp / "mapreduce.log", *args)
    try:
        yield run
    finally:
        run.kill()


def _two_agents(cluster: LocalCluster) -> Node:
    master = cluster.master(*FAST)
    cluster.agent(master, AGENT)
    cluster.agent(master, AGENT)
    return master


def _check_executors_finished(run: Run, summary: dict[str, Any], master: Node) -> None:
    """The progress lines, the summary and the master agree on the worker tasks' ends."""
    finished = {m.group(1) for line in run.lines
                if (m := re.search(r"(executor-\d+) TASK_FINISHED", line))}
    assert len(finished) == summary["executors_finished"] >= 1
    tasks = get_json(master, "/master/tasks?limit=1000")["tasks"]
    states = {t["executor_id"]: t["state"] for t in tasks if t["name"].startswith("mapreduce ")}
    assert {e for e, state in states.items() if state == "TASK_FINISHED"} == finished


def test_pi_matches_the_local_answer_and_suppresses_while_results_are_outstanding(
        cluster: LocalCluster) -> None:
    master = _two_agents(cluster)
    args = ("--job=pi", "--samples=400000", "--items=4", "--seed=7", "--item_seconds=4",
            "--max_executors=2", "--role=mr", "--name=pi-e2e")
    with mapreduce(cluster, master, *args) as run:
        # Both executors running: all 4 items went out at once, only results remain.
        run.wait_line(r"executor-1 running")
        run.wait_line(r"executor-2 running")
        suppressed = False
        while not suppressed and not any("items done" in line for line in run.lines):
            frameworks = get_json(master, "/master/frameworks")["frameworks"]
            suppressed = any(f["name"] == "pi-e2e" and f["suppressed_roles"] == ["mr"]
                             for f in frameworks)
            time.sleep(0.05)
        assert suppressed, "the master never saw the framework suppress offers"
        summary = run.summary()
    expected = pi_job(400000, 4, 7).local_answer()["answer"]
    assert summary["job"] == "pi" and summary["answer"] == expected
    assert abs(summary["answer"] - math.pi) < 0.02
    assert summary["items"] == 4 and summary["executors"] == 2 and summary["reassigned"] == 0
    assert summary["suppressions"] >= 1
    assert summary["finished_at"] >= summary["started_at"]
    assert summary["duration_s"] >= 4.0  # --item_seconds held every item that long
    _check_executors_finished(run, summary, master)
    assert summary["executors_finished"] == 2


def test_wordcount_gives_exactly_the_direct_counts(cluster: LocalCluster,
                                                   tmp_path: Path) -> None:
    master = _two_agents(cluster)
    texts = ["the quick brown fox\njumps over the lazy dog\n" * 40,
             "The dog barks; THE fox runs.\n\nA b c a B C\n" * 25,
             "solo"]
    inputs = []
    for i, text in enumerate(texts):
        path = tmp_path / f"in{i}.txt"
        path.write_text(text)
        inputs.append(str(path))
    expected = Counter(w for text in texts for w in re.findall(r"\w+", text.lower()))
    output = tmp_path / "counts.tsv"
    with mapreduce(cluster, master, "--job=wordcount", "--input", *inputs, "--split_lines=7",
                   "--max_executors=2", f"--output={output}") as run:
        summary = run.summary()
    counts = {w: int(n) for w, n in (line.split("\t") for line in
                                     output.read_text().splitlines())}
    assert counts == dict(expected)
    assert summary["answer"] == str(output)
    assert summary["total_words"] == sum(expected.values())
    assert summary["items"] == sum(math.ceil(len(t.splitlines()) / 7) for t in texts)
    _check_executors_finished(run, summary, master)
    with mapreduce(cluster, master, "--job=wordcount", f"--input={','.join(inputs)}", "--top=3",
                   "--max_executors=1") as run:
        top = run.summary()["answer"]
    assert top == [[w, n] for w, n in sorted(expected.items(), key=lambda wc: (-wc[1],
                                                                              wc[0]))[:3]]


def test_a_killed_executor_has_its_items_reassigned_and_the_answer_stays_exact(
        cluster: LocalCluster) -> None:
    master = _two_agents(cluster)
    args = ("--job=pi", "--samples=240000", "--items=12", "--seed=3", "--item_seconds=1.5",
            "--max_executors=2")
    with mapreduce(cluster, master, *args) as run:
        running = run.wait_line(r"(executor-\d+) running on agent \S+ \(pid (\d+),")
        victim, pid = running.group(1), int(running.group(2))
        run.wait_line(rf"item \d+ from {victim} ")  # mid-job: it holds fresh items now
        os.kill(pid, signal.SIGKILL)
        lost = run.wait_line(rf"{victim} TASK_(LOST|FAILED); (\d+) items to reassign")
        assert int(lost.group(2)) >= 1
        summary = run.summary()
    assert summary["answer"] == pi_job(240000, 12, 3).local_answer()["answer"]
    assert summary["reassigned"] >= int(lost.group(2))
    assert summary["revivals"] >= 1  # offers came back for a replacement
    assert summary["executors"] >= 2
    _check_executors_finished(run, summary, master)
    assert not any(f"{victim} TASK_FINISHED" in line for line in run.lines)
