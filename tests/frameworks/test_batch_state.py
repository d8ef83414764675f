"""The batch framework's ``--state_dir``: ``frameworks.batch.state`` round trips (pure, a
manual clock), a restarted ``BatchScheduler`` against a recording driver (reconciles and
adopts what was in flight, launches no duplicate, retries what was lost), and a corrupt
state file refused by a real ``python -m frameworks.batch run`` process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from actors.messages import MasterInfo, Offer, TaskState, TaskStatus
from actors.resources import Resources
from frameworks.batch.core import BatchCore, RunState
from frameworks.batch.jobs import parse_jobs
from frameworks.batch.scheduler import RECONCILE_RETRY, BatchScheduler
from frameworks.batch.state import BatchStateFile, dump, load
from frameworks.state_file import CorruptState


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Driver:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.launched: list[str] = []

    def launch_tasks(self, offer_ids: Any, tasks: Any, filters: Any = None) -> None:
        self.launched += [t.task_id for t in tasks]

    def decline_offer(self, offer_id: str, filters: Any = None) -> None:
        self.calls.append(("decline", offer_id))

    def suppress_offers(self, roles: Any = ()) -> None:
        self.calls.append(("suppress", ()))

    def revive_offers(self, roles: Any = ()) -> None:
        self.calls.append(("revive", ()))

    def kill_task(self, task_id: str, agent_id: str = "") -> None:
        self.calls.append(("kill", task_id))

    def reconcile_tasks(self, statuses: Any = ()) -> None:
        self.calls.append(("reconcile", sorted((s.task_id, s.agent_id) for s in statuses)))


MASTER = MasterInfo(id="m", ip=0, port=1)
JOBS = [{"name": "parent", "command": "sleep 3", "retries": 1},
        {"name": "child", "command": "true", "parents": ["parent"]},
        {"name": "tick", "command": "true", "schedule": "R3//PT10S", "epsilon": "PT5S"}]


def _offer(i: int) -> Offer:
    return Offer(id=f"o{i}", framework_id="fw-1", agent_id="a1", hostname="h",
                 resources=Resources.parse("cpus:4;mem:1024"))


def _through_json(core: BatchCore, framework_id: str, clock: Clock) -> tuple[BatchCore, str]:
    return load(json.loads(json.dumps(dump(core, framework_id))), clock)


def _launch_all(core: BatchCore) -> list[str]:
    ids = []
    for run in core.ready():
        ids.append(core.task_id(run))
        core.launched(run, ids[-1], "a1")
    return ids


def test_a_round_trip_keeps_jobs_schedules_history_queue_and_runs_in_flight() -> None:
    clock = Clock()
    core = BatchCore(clock)
    core.submit(parse_jobs(JOBS))
    parent_task, first_tick = sorted(_launch_all(core))  # tick's first slot is "now"
    clock.now += 1
    core.update(first_tick, "TASK_FINISHED", "a1")
    core.update(parent_task, "TASK_FAILED", "a1", "exit 1")  # one retry left: queued
    (retry,) = _launch_all(core)
    clock.now += 12  # the second slot came due: queued, not yet launched
    core.tick()
    before = dump(core, "fw-1")

    again, framework_id = _through_json(core, "fw-1", clock)
    assert framework_id == "fw-1"
    assert dump(again, "fw-1") == before  # exact: times stay floats
    assert again.active_tasks() == {retry: "a1"}
    assert again.queued() == [("tick", 2)]
    assert again.job_json("tick")["last_success"] == core.job_json("tick")["last_success"]
    assert again.jobs["tick"].next_due == 1_000_000.0 + 20  # the empty start kept its time
    parent = again.jobs["parent"].runs[0]
    assert (parent.state, len(parent.attempts)) == (RunState.RUNNING, 2)
    assert parent.attempts[0].message == "exit 1"

    # The adopted attempt's end counts for its run and its child; ids never repeat.
    assert again.update(retry, "TASK_FINISHED", "a1")
    assert ("child", 1) in again.queued()
    assert not set(_launch_all(again)) & {first_tick, parent_task, retry}
    assert again.job_json("parent")["success_count"] == 1


def test_an_in_flight_attempt_reported_lost_after_a_restart_is_retried_then_failed() -> None:
    clock = Clock()
    core = BatchCore(clock)
    core.submit(parse_jobs(JOBS[:2]))
    (task,) = _launch_all(core)
    again, _ = _through_json(core, "fw-1", clock)
    assert again.update(task, "TASK_LOST", "a1")  # retries: 1
    (retry,) = _launch_all(again)
    assert retry.startswith("parent.1.2-")
    again, _ = _through_json(again, "fw-1", clock)
    clock.now += 5
    again.update(retry, "TASK_GONE", "a1")
    job = again.job_json("parent")
    assert job["error_count"] == 1 and job["last_error"] is not None
    assert job["runs"][0]["state"] == "FAILED" and again.queued() == []
    assert again.job_json("child")["runs"] == []


@pytest.mark.parametrize("text, words", [
    ("{not json", "corrupt state file"),
    ("[1, 2]", "expected a JSON object"),
    ('{"version": 99}', "unknown version"),
    ("DOC:queue", "queue does not match"),
    ("DOC:running", "without an attempt in flight"),
    ("DOC:job", "command is required"),
])
def test_a_corrupt_state_file_is_refused_with_its_name(tmp_path: Path, text: str,
                                                       words: str) -> None:
    if text.startswith("DOC:"):
        clock = Clock()
        core = BatchCore(clock)
        core.submit(parse_jobs(JOBS[:2]))
        doc = dump(core, "fw-1")
        if text == "DOC:queue":
            doc["queue"] = []
        elif text == "DOC:running":
            doc["jobs"][0]["runs"][0]["state"] = "RUNNING"  # queued, no attempt yet
            doc["queue"] = []
        else:
            doc["jobs"][0]["job"]["command"] = ""
        text = json.dumps(doc)
    (tmp_path / "batch.json").write_text(text)
    with pytest.raises(CorruptState) as err:
        BatchStateFile(tmp_path).load(Clock())
    assert words in str(err.value) and str(tmp_path / "batch.json") in str(err.value)


def test_a_restarted_scheduler_adopts_its_task_launches_no_duplicate_then_the_child(
        tmp_path: Path) -> None:
    clock, driver = Clock(), Driver()
    d: Any = driver
    first = BatchScheduler(clock, state_file=BatchStateFile(tmp_path))
    first.submit(parse_jobs(JOBS[:2]))
    first.registered(d, "fw-1", MASTER)
    first.resource_offers(d, [_offer(1)])
    (task,) = driver.launched  # saved before it was launched: the process dies here

    saved = BatchStateFile(tmp_path).load(clock)
    assert saved is not None
    core, framework_id = saved
    assert framework_id == "fw-1"
    again, driver = BatchScheduler(clock, state_file=BatchStateFile(tmp_path), core=core,
                                   framework_id=framework_id), Driver()
    d = driver
    again.reregistered(d, MASTER)  # the master's answer to a known framework id
    assert again.registered_event.is_set() and again.framework_id == "fw-1"
    assert driver.calls.count(("reconcile", [(task, "a1")])) == 1
    assert again.reconcile_again() == clock.now + RECONCILE_RETRY  # not due yet
    clock.now += RECONCILE_RETRY  # no answer (its agent not back yet): asked again
    assert again.reconcile_again() == clock.now + RECONCILE_RETRY
    assert driver.calls.count(("reconcile", [(task, "a1")])) == 2
    again.status_update(d, TaskStatus(task_id=task, state=TaskState.TASK_RUNNING,
                                      agent_id="a1"))
    again.resource_offers(d, [_offer(2)])
    assert driver.launched == [] and ("decline", "o2") in driver.calls
    assert again.reconcile_again() is None  # answered: nothing more to ask
    again.status_update(d, TaskStatus(task_id=task, state=TaskState.TASK_FINISHED,
                                      agent_id="a1"))
    assert driver.calls[-1] == ("revive", ())
    again.resource_offers(d, [_offer(3)])
    assert [t.split(".")[0] for t in driver.launched] == ["child"]
    after = BatchStateFile(tmp_path).load(clock)
    assert after is not None and after[0].active_tasks() == {driver.launched[0]: "a1"}


def test_a_corrupt_state_dir_makes_run_exit_2_and_keeps_the_file(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "batch.json").write_text('{"version": 1, "jobs": [tru')
    result = subprocess.run([sys.executable, "-m", "frameworks.batch", "run",
                             f"--state_dir={state}", "--master=127.0.0.1:1",
                             "--registration_timeout=30s"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert f"batch: error: corrupt state file {state / 'batch.json'}" in result.stderr
    assert (state / "batch.json").read_text() == '{"version": 1, "jobs": [tru'


def test_the_shared_state_file_writes_whole_documents_and_reports_an_unreadable_one(
        tmp_path: Path) -> None:
    clock = Clock()
    core = BatchCore(clock)
    core.submit(parse_jobs(JOBS[:1]))
    state = BatchStateFile(tmp_path / "new")  # the directory is made on the first write
    state.save(dump(core, "fw-1"))
    state.save(dump(core, "fw-2"))
    assert [p.name for p in (tmp_path / "new").iterdir()] == ["batch.json"]  # no temp left
    saved = state.load(clock)
    assert saved is not None and saved[1] == "fw-2"
    assert BatchStateFile(None).load(clock) is None and BatchStateFile(tmp_path).load(
        clock) is None  # no state dir, or none saved yet: a fresh start
    (tmp_path / "dir" / "batch.json").mkdir(parents=True)
    with pytest.raises(CorruptState, match="cannot read state file"):
        BatchStateFile(tmp_path / "dir").load(clock)
