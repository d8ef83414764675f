"""``BatchCore`` and the job JSON: DAG checks, retries, parents, schedules, with a manual clock."""

from __future__ import annotations

from typing import Any

import pytest

from frameworks.batch.core import BatchCore, Run, RunState
from frameworks.batch.jobs import Job, JobError, check_graph, parse_job, parse_jobs
from frameworks.batch.schedules import parse_time

T0 = parse_time("2026-12-01T10:00:00Z")


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def job(name: str, **fields: Any) -> Job:
    return parse_job({"name": name, "command": f"echo {name}", **fields})


def launch_ready(core: BatchCore, agent: str = "a1") -> list[tuple[Run, str]]:
    out = []
    for run in core.ready():
        task_id = core.task_id(run)
        core.launched(run, task_id, agent)
        out.append((run, task_id))
    return out


def finish(core: BatchCore, launched: list[tuple[Run, str]], state: str = "TASK_FINISHED",
           only: str | None = None) -> None:
    for run, task_id in launched:
        if only is None or run.job == only:
            core.update(task_id, "TASK_RUNNING")
            core.update(task_id, state)


def test_job_json_defaults_are_chronos_and_bad_fields_are_rejected() -> None:
    j = parse_job({"name": "j1", "command": "sleep 4", "cpus": 1, "mem": 64})
    assert (j.retries, j.epsilon, j.concurrent, j.disabled) == (2, "PT60S", False, False)
    assert j.resources == "cpus:1;mem:64"
    for bad, why in [({"command": "x"}, "name"), ({"name": "a b", "command": "x"}, "name"),
                     ({"name": "a"}, "command"), ({"name": "a", "command": "x", "cpus": 0},
                                                  "cpus"),
                     ({"name": "a", "command": "x", "retries": -1}, "retries"),
                     ({"name": "a", "command": "x", "schedule": "R1/x/PT1S"}, "time"),
                     ({"name": "a", "command": "x", "parents": ["a"]}, "own parent"),
                     ({"name": "a", "command": "x", "parents": ["b"], "schedule": "R//PT1S"},
                      "not both"),
                     ({"name": "a", "command": "x", "colour": "red"}, "unknown field")]:
        with pytest.raises(JobError, match=why):
            parse_job(bad)
    with pytest.raises(JobError, match="twice"):
        parse_jobs([{"name": "a", "command": "x"}, {"name": "a", "command": "y"}])


def test_unknown_parents_and_cycles_are_rejected_with_the_path() -> None:
    with pytest.raises(JobError, match=r"unknown parent.*nope"):
        check_graph({"a": job("a", parents=["nope"])})
    jobs = {"a": job("a", parents=["c"]), "b": job("b", parents=["a"]),
            "c": job("c", parents=["b"]), "d": job("d")}
    with pytest.raises(JobError, match=r"cycle: .*a -> .*b -> .*c"):
        check_graph(jobs)
    check_graph({"a": job("a"), "b": job("b", parents=["a"]), "c": job("c", parents=["a", "b"])})


def test_a_cycle_made_by_replacing_a_job_is_rejected_and_changes_nothing() -> None:
    core = BatchCore(Clock())
    core.submit([job("a"), job("b", parents=["a"])])
    with pytest.raises(JobError, match="cycle"):
        core.submit([job("a", parents=["b"])])
    assert core.jobs["a"].job.parents == ()


def test_a_job_without_schedule_or_parents_runs_once_on_submit() -> None:
    core = BatchCore(Clock())
    core.submit([job("once"), job("off", disabled=True)])
    [(run, task_id)] = launch_ready(core)
    assert run.job == "once" and run.cause == "submit" and not core.done()
    finish(core, [(run, task_id)])
    assert run.state is RunState.SUCCEEDED and core.done() and core.ready() == []
    assert core.summary()["succeeded"] == 1 and core.summary()["not_run"] == 1


def test_a_child_runs_after_all_its_parents_succeeded_each_time() -> None:
    core = BatchCore(Clock())
    core.submit([job("p1"), job("p2"), job("child", parents=["p1", "p2"])])
    first = launch_ready(core)
    assert sorted(r.job for r, _ in first) == ["p1", "p2"]
    finish(core, first, only="p1")
    assert core.ready() == []  # p2 is still running
    finish(core, first, only="p2")
    [(child, child_task)] = launch_ready(core)
    assert child.job == "child" and child.cause == "parents"
    finish(core, [(child, child_task)])
    core.start("p1")  # p1 again alone is not enough: p2 must succeed again too
    finish(core, launch_ready(core))
    assert [r.job for r in core.ready()] == []
    core.start("p2")
    finish(core, launch_ready(core))
    assert [r.job for r in core.ready()] == ["child"]


def test_a_failing_job_is_retried_then_failed_and_its_children_never_run() -> None:
    clock = Clock()
    core = BatchCore(clock)
    core.submit([job("bad", retries=2), job("child", parents=["bad"])])
    for attempt in range(1, 4):
        launched = launch_ready(core, agent=f"a{attempt}")
        assert [(r.job, len(r.attempts)) for r, _ in launched] == [("bad", attempt)]
        clock.now += 1
        finish(core, launched, "TASK_FAILED")
    [run] = core.jobs["bad"].runs
    assert run.state is RunState.FAILED and [a.agent_id for a in run.attempts] == [
        "a1", "a2", "a3"]
    assert core.ready() == [] and core.done() and core.jobs["child"].runs == []
    summary = core.summary()
    assert (summary["failed"], summary["succeeded"], summary["runs"]) == (1, 0, 1)
    assert core.job_json("bad")["runs"][0]["attempts"][2]["state"] == "TASK_FAILED"


def test_a_lost_task_is_retried_and_a_later_success_ends_the_run_succeeded() -> None:
    core = BatchCore(Clock())
    core.submit([job("flaky", retries=1)])
    finish(core, launch_ready(core), "TASK_LOST")
    finish(core, launch_ready(core))
    [run] = core.jobs["flaky"].runs
    assert run.state is RunState.SUCCEEDED and len(run.attempts) == 2
    assert core.update(run.attempts[1].task_id, "TASK_FINISHED") is False  # seen already


def test_an_iso_schedule_queues_one_run_per_slot() -> None:
    clock = Clock()
    core = BatchCore(clock)
    core.submit([job("tick", schedule="R3/2026-12-01T10:00:00Z/PT10S")])
    assert [r.due for r in core.ready()] == [T0]
    finish(core, launch_ready(core))
    assert core.next_wakeup() == T0 + 10 and core.tick() == []
    for k in (1, 2):
        clock.now = T0 + 10 * k
        [run] = core.tick()
        assert run.due == T0 + 10 * k
        finish(core, launch_ready(core))
    assert core.next_wakeup() is None and core.done()
    assert core.job_json("tick")["success_count"] == 3


def test_slots_missed_by_more_than_epsilon_are_skipped() -> None:
    clock = Clock(T0 + 95)  # the framework came up late
    core = BatchCore(clock)
    core.submit([job("late", schedule="R5/2026-12-01T10:00:00Z/PT30S", epsilon="PT10S")])
    # Slots at 0, 30 and 60 s are more than 10 s late; 90 s is 5 s late and runs.
    assert [r.due for r in core.ready()] == [T0 + 90]
    assert core.jobs["late"].skipped == 0  # they were never slots of this submission
    finish(core, launch_ready(core))
    clock.now = T0 + 200
    assert core.tick() == [] and core.jobs["late"].skipped == 1  # the 120 s slot
    assert core.next_wakeup() is None and core.done()


def test_a_job_that_is_not_concurrent_waits_and_may_miss_its_slot() -> None:
    clock = Clock()
    core = BatchCore(clock)
    core.submit([job("slow", schedule="R/2026-12-01T10:00:00Z/PT10S", epsilon="PT5S")])
    launched = launch_ready(core)
    clock.now = T0 + 12  # the 10 s slot is due while the first run still runs
    assert core.tick() == [] and core.next_wakeup() is None
    finish(core, launched)  # ends 2 s late: within epsilon, so the slot runs now
    [run] = core.ready()
    assert run.due == T0 + 10
    launched = launch_ready(core)
    clock.now = T0 + 27  # the 20 s slot is 7 s late when the run ends: skipped
    finish(core, launched)
    assert core.ready() == [] and core.jobs["slow"].skipped == 1
    assert core.next_wakeup() == T0 + 30


def test_concurrent_jobs_launch_runs_side_by_side_and_others_one_at_a_time() -> None:
    core = BatchCore(Clock())
    core.submit([job("c", concurrent=True, parents=[]), job("s")])
    core.start("c")
    core.start("s")
    assert sorted(r.job for r in core.ready()) == ["c", "c", "s"]  # submit + manual each
    launch_ready(core)
    assert [r.job for r in core.ready()] == []
    assert len(core.jobs["s"].unfinished()) == 2


def test_delete_kills_running_tasks_and_keeps_parents_of_others() -> None:
    core = BatchCore(Clock())
    core.submit([job("a"), job("b", parents=["a"])])
    [(_, task_id)] = launch_ready(core, agent="a7")
    with pytest.raises(JobError, match="parent of b"):
        core.delete("a")
    core.delete("b")
    assert core.delete("a") == [(task_id, "a7")]
    assert core.jobs == {} and core.done() and core.update(task_id, "TASK_KILLED") is False
    with pytest.raises(KeyError):
        core.delete("a")
