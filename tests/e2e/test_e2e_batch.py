"""The batch framework (``python -m frameworks.batch run``) on a real cluster: real master,
agent and tasks. Jobs record what they did in files of the test's temporary directory
(start and end times, one line per attempt), so the order is read from the tasks' own
clocks, not from the framework's account of them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import LocalCluster
from tests.e2e.harness import WAIT

pytestmark = pytest.mark.slow

FAST = ("--allocation_interval=100ms",)


class Batch:
    """A ``python -m frameworks.batch run`` process; its stdout lines are collected."""

    def __init__(self, tmp: Path, master: str, *flags: str, log: str = "batch.log") -> None:
        self.log = tmp / log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "frameworks.batch", "run", f"--master={master}", *flags],
            stdout=subprocess.PIPE, stderr=open(self.log, "wb"), start_new_session=True)
        self.lines: list[str] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        ready = self.wait_line(lambda line: line.startswith("batch: registered "))
        _, _, self.framework_id, self.url = ready.split()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in iter(self.proc.stdout.readline, b""):
            with self._cond:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self.lines.append("")  # end of output
            self._cond.notify_all()

    def wait_line(self, match: Callable[[str], bool], timeout: float = WAIT) -> str:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = next((line for line in self.lines if line and match(line)), None)
                if found is not None:
                    return found
                if self.lines[-1:] == [""] or time.monotonic() > deadline:
                    raise AssertionError(f"no such line in {self.lines}; stderr:\n"
                                         f"{self.log.read_text(errors='replace')[-4000:]}")
                self._cond.wait(1)

    def exit_code(self, timeout: float = WAIT * 2) -> int:
        return self.proc.wait(timeout)

    def summary(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.wait_line(lambda line: line.startswith("{")))
        return data

    def api(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=30) as reply:
            text = reply.read()
        return json.loads(text) if text else None

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture
def start_batch(cluster: LocalCluster, tmp_path: Path) -> Iterator[Callable[..., Batch]]:
    started: list[Batch] = []

    def start(*flags: str, log: str = "batch.log") -> Batch:
        master = next(n for n in cluster.nodes if n.name == "master")
        batch = Batch(tmp_path, master.address, *flags, log=log)
        started.append(batch)
        return batch

    try:
        yield start
    finally:
        for batch in started:
            batch.stop()


def _jobs_file(tmp: Path, jobs: list[dict[str, Any]]) -> str:
    path = tmp / "jobs.json"
    path.write_text(json.dumps(jobs))
    return str(path)


def _timed(out: Path, name: str, work: str = "sleep 0.5") -> str:
    """A command that writes its start and end times to ``out/<name>.start|end``."""
    return (f"date +%s.%N > {out}/{name}.start; {work}; "
            f"date +%s.%N > {out}/{name}.end")


def _time(path: Path) -> float:
    return float(path.read_text())


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as reply:
        return json.loads(reply.read())


def _wait_until(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_dag_runs_in_order_a_flaky_job_recovers_and_the_summary_exits_0(
        cluster: LocalCluster, start_batch: Callable[..., Batch], tmp_path: Path) -> None:
    master = cluster.master(*FAST)
    cluster.agent(master, "cpus:4;mem:2048;disk:1024")
    out = tmp_path / "out"
    out.mkdir()
    flaky = (f"if [ -e {out}/flaky.marker ]; then echo ok >> {out}/flaky.attempts; "
             f"else touch {out}/flaky.marker; echo fail >> {out}/flaky.attempts; exit 1; fi")
    jobs: list[dict[str, Any]] = [
        {"name": "extract", "command": _timed(out, "extract"), "cpus": 0.5, "mem": 64},
        {"name": "transform", "command": _timed(out, "transform"), "parents": ["extract"]},
        {"name": "other", "command": _timed(out, "other"), "cpus": 0.5, "mem": 64},
        {"name": "load", "command": _timed(out, "load"),
         "parents": ["transform", "other"]},
        {"name": "flaky", "command": flaky, "retries": 2},
    ]
    batch = start_batch(f"--jobs={_jobs_file(tmp_path, jobs)}", "--role=batch",
                        "--exit_when_done")
    summary = batch.summary()
    assert batch.exit_code() == 0
    assert (summary["jobs"], summary["succeeded"], summary["failed"], summary["runs"]) == (
        5, 5, 0, 5)
    assert summary["started_at"] <= summary["finished_at"]
    assert _time(out / "extract.end") <= _time(out / "transform.start")
    for parent in ("transform", "other"):
        assert _time(out / f"{parent}.end") <= _time(out / "load.start")
    assert (out / "flaky.attempts").read_text().split() == ["fail", "ok"]
    # The framework ran under its role, and was torn down when it exited.
    frameworks = _get(f"{master.http}/master/frameworks")
    [done] = [f for f in frameworks["completed_frameworks"] if f["id"] == batch.framework_id]
    assert done["roles"] == ["batch"] and len(done["completed_tasks"]) == 6


def test_a_failing_job_is_retried_then_failed_and_its_child_never_runs(
        cluster: LocalCluster, start_batch: Callable[..., Batch], tmp_path: Path) -> None:
    master = cluster.master(*FAST)
    cluster.agent(master, "cpus:2;mem:1024;disk:1024")
    out = tmp_path / "out"
    out.mkdir()
    jobs: list[dict[str, Any]] = [
        {"name": "bad", "command": f"echo x >> {out}/bad.attempts; exit 1", "retries": 2},
        {"name": "child", "command": f"touch {out}/child.ran", "parents": ["bad"]}]
    batch = start_batch(f"--jobs={_jobs_file(tmp_path, jobs)}", "--exit_when_done")
    summary = batch.summary()
    assert batch.exit_code() == 1
    assert (summary["failed"], summary["succeeded"], summary["not_run"]) == (1, 0, 1)
    assert (out / "bad.attempts").read_text().split() == ["x", "x", "x"]  # 1 + 2 retries
    assert not (out / "child.ran").exists()


def test_an_iso8601_schedule_runs_its_three_slots(
        cluster: LocalCluster, start_batch: Callable[..., Batch], tmp_path: Path) -> None:
    master = cluster.master(*FAST)
    cluster.agent(master, "cpus:2;mem:1024;disk:1024")
    out = tmp_path / "out"
    out.mkdir()
    start = time.time() + 1
    stamp = datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    jobs: list[dict[str, Any]] = [{"name": "tick", "command": f"date +%s.%N >> {out}/tick.starts",
             "schedule": f"R3/{stamp}/PT2S", "epsilon": "PT30S"}]
    batch = start_batch(f"--jobs={_jobs_file(tmp_path, jobs)}", "--exit_when_done")
    summary = batch.summary()
    assert batch.exit_code() == 0 and summary["runs"] == 3
    starts = [float(t) for t in (out / "tick.starts").read_text().split()]
    assert len(starts) == 3
    for k, began in enumerate(starts):  # no run starts before its slot
        assert began >= start + 2 * k - 0.05, (k, began - start)


def test_idle_framework_is_suppressed_and_a_submitted_job_revives_it(
        cluster: LocalCluster, start_batch: Callable[..., Batch], tmp_path: Path) -> None:
    master = cluster.master(*FAST)
    cluster.agent(master, "cpus:2;mem:1024;disk:1024")
    batch = start_batch("--role=batch")

    def framework() -> dict[str, Any]:
        [f] = [f for f in _get(f"{master.http}/master/frameworks")["frameworks"]
               if f["id"] == batch.framework_id]
        return f

    _wait_until(lambda: framework()["suppressed_roles"] == ["batch"], "suppression")
    assert batch.api("GET", "/v1/scheduler/summary")["suppressed"] is True
    seen = batch.api("GET", "/v1/scheduler/summary")["offers"]
    deadline = time.monotonic() + 2  # twenty allocation intervals: none offers to us
    while time.monotonic() < deadline:
        assert framework()["offers"] == []
        time.sleep(0.2)
    assert batch.api("GET", "/v1/scheduler/summary")["offers"] == seen

    reply = batch.api("POST", "/v1/scheduler/iso8601",
                      {"name": "now", "command": "true", "owner": "test"})
    assert reply == {"submitted": ["now"]}
    job = _wait_until(lambda: (lambda j: j if j["success_count"] == 1 else None)(
        batch.api("GET", "/v1/scheduler/job/now")), "the submitted job to succeed")
    assert job["runs"][0]["attempts"][0]["state"] == "TASK_FINISHED"
    assert job["runs"][0]["agent_id"]
    summary = batch.api("GET", "/v1/scheduler/summary")
    assert summary["offers"] > seen and summary["tasks_launched"] == 1
    # Nothing left to do: suppressed again, at the master too.
    _wait_until(lambda: framework()["suppressed_roles"] == ["batch"], "suppression again")
    with pytest.raises(urllib.error.HTTPError) as err:
        batch.api("POST", "/v1/scheduler/dependency", {"name": "c", "command": "true",
                                                       "parents": ["missing"]})
    assert err.value.code == 400
    assert "unknown parent" in json.loads(err.value.read())["message"]


def test_a_batch_framework_killed_mid_run_adopts_its_task_after_a_restart_then_runs_the_child(
        cluster: LocalCluster, start_batch: Callable[..., Batch], tmp_path: Path) -> None:
    master = cluster.master(*FAST)
    cluster.agent(master, "cpus:2;mem:1024;disk:1024")
    out, state = tmp_path / "out", tmp_path / "state"
    out.mkdir()
    # The parent runs until the test lets it end, so it is surely running across the restart.
    parent = (f"date +%s.%N >> {out}/parent.runs; "
              f"while [ ! -e {out}/go ]; do sleep 0.1; done; date +%s.%N > {out}/parent.end")
    jobs = _jobs_file(tmp_path, [
        {"name": "parent", "command": parent, "retries": 2},
        {"name": "child", "command": f"date +%s.%N >> {out}/child.runs",
         "parents": ["parent"]}])
    flags = (f"--jobs={jobs}", f"--state_dir={state}", "--exit_when_done", "--log_level=info")
    first = start_batch(*flags, log="batch-1.log")
    _wait_until(lambda: (out / "parent.runs").exists(), "the parent task to start")
    os.killpg(first.proc.pid, signal.SIGKILL)
    first.proc.wait(30)

    again = start_batch(*flags, log="batch-2.log")
    assert again.framework_id == first.framework_id
    # One framework at the master, the same one: it failed over rather than registering anew.
    assert [f["id"] for f in _get(f"{master.http}/master/frameworks")["frameworks"]] == [
        first.framework_id]
    job = again.api("GET", "/v1/scheduler/job/parent")
    assert job["state"] == "running" and len(job["runs"][0]["attempts"]) == 1
    assert again.api("GET", "/v1/scheduler/job/child")["runs"] == []

    (out / "go").touch()
    summary = again.summary()
    assert again.exit_code() == 0
    assert (summary["succeeded"], summary["failed"], summary["runs"]) == (2, 0, 2)
    assert len((out / "parent.runs").read_text().split()) == 1  # ran exactly once
    [child] = [float(t) for t in (out / "child.runs").read_text().split()]
    assert child >= _time(out / "parent.end")
    frameworks = _get(f"{master.http}/master/frameworks")
    assert frameworks["frameworks"] == []
    [done] = [f for f in frameworks["completed_frameworks"] if f["id"] == first.framework_id]
    assert sorted(t["name"] for t in done["completed_tasks"]) == ["child", "parent"]
    # Torn down at the end: the state dir keeps the jobs but drops the forgotten id.
    saved = json.loads((state / "batch.json").read_text())
    assert saved["framework_id"] == "" and len(saved["jobs"]) == 2
