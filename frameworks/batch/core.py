"""``BatchCore``: the batch framework's decisions, as pure state (no threads, no driver).

It owns the jobs (``frameworks.batch.jobs``), their schedules, the queue of runs
waiting for resources, and every job's history. Time comes from an injected ``clock``
(seconds since the epoch), so tests drive it by hand. ``BatchScheduler``
(``frameworks.batch.scheduler``) calls it, under its lock, and does what it says:

- ``submit(jobs)`` / ``delete(name)`` / ``start(name)``: the API's verbs. A new job with
  neither schedule nor parents is queued at once; ``delete`` returns the tasks to kill.
- ``tick()``: schedules that came due queue a run; a slot missed by more than the job's
  ``epsilon`` is skipped (counted in ``skipped``). A job that is not ``concurrent``
  starts no scheduled run while one is queued or running: the slot waits for it (and
  is skipped if that takes longer than ``epsilon``). ``next_wakeup()`` says when to
  tick next.
- ``ready()``: the queued runs to launch now, oldest first; ``launched(run, task_id,
  agent_id)`` records the attempt.
- ``update(task_id, state, ...)``: a task's state. A failed, lost or killed attempt is
  queued again while the job has ``retries`` left (so 1 + retries attempts in all);
  then the run is FAILED and its children do not run. A success counts for every child:
  a child is queued once all of its parents have succeeded since the child's last run
  (Chronos' rule), then the count starts over.
- ``done()``: nothing queued or running and no scheduled run to come; ``summary()``.
- ``restored(...)``: a core rebuilt from what ``frameworks.batch.state`` saved, its
  RUNNING runs' last attempts in flight again (``active_tasks()``, to reconcile).

A run is QUEUED (waiting for an offer), RUNNING (an attempt's task is launched), then
SUCCEEDED or FAILED.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from frameworks.batch.jobs import Job, JobError, check_graph
from frameworks.batch.schedules import Schedule, format_time, parse_schedule

__all__ = ["Attempt", "BatchCore", "JobRecord", "Run", "RunState"]

SUCCESS = frozenset({"TASK_FINISHED"})
FAILURE = frozenset({"TASK_FAILED", "TASK_LOST", "TASK_ERROR", "TASK_DROPPED", "TASK_GONE",
                     "TASK_GONE_BY_OPERATOR", "TASK_KILLED", "TASK_UNKNOWN"})
MAX_HISTORY = 1000
"""Runs kept per job (the oldest ended ones go first)."""


class RunState(enum.Enum):
    QUEUED = 1
    RUNNING = 2
    SUCCEEDED = 3
    FAILED = 4


@dataclass(slots=True)
class Attempt:
    """One task launched for a run."""

    task_id: str
    agent_id: str
    started: float
    state: str = "TASK_STAGING"
    ended: float | None = None
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"task_id": self.task_id, "agent_id": self.agent_id, "state": self.state,
                "started": format_time(self.started), "ended": format_time(self.ended),
                "message": self.message}


@dataclass(slots=True)
class Run:
    """One run of a job: queued, then attempted until it succeeds or runs out of retries."""

    job: str
    number: int
    cause: str
    """``submit``, ``schedule``, ``parents`` or ``manual``."""
    queued: float
    due: float | None = None
    state: RunState = RunState.QUEUED
    attempts: list[Attempt] = field(default_factory=list)
    ended: float | None = None

    @property
    def finished(self) -> bool:
        return self.state in (RunState.SUCCEEDED, RunState.FAILED)

    def to_json(self) -> dict[str, Any]:
        last = self.attempts[-1] if self.attempts else None
        return {"job": self.job, "run": self.number, "cause": self.cause,
                "state": self.state.name, "queued": format_time(self.queued),
                "due": format_time(self.due),
                "started": format_time(self.attempts[0].started if self.attempts else None),
                "ended": format_time(self.ended), "agent_id": last.agent_id if last else None,
                "attempts": [a.to_json() for a in self.attempts]}


@dataclass(slots=True)
class JobRecord:
    """A job, its schedule's next slot and its history."""

    job: Job
    schedule: Schedule | None = None
    next_due: float | None = None
    parents_done: set[str] = field(default_factory=set)
    """Parents that succeeded since this job's last run was queued."""
    runs: list[Run] = field(default_factory=list)
    skipped: int = 0
    parsed_at: float = 0.0
    """The time the schedule was parsed at (an empty ISO 8601 start means that time)."""
    last_success: float | None = None
    last_error: float | None = None
    """When a run last succeeded / last failed for good."""

    def unfinished(self) -> list[Run]:
        return [r for r in self.runs if not r.finished]


class BatchCore:
    """See the module docstring."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.jobs: dict[str, JobRecord] = {}
        self._queue: list[Run] = []
        self._tasks: dict[str, tuple[Run, Attempt]] = {}
        self.seq = 0
        """The last number given to a task id (task ids never repeat)."""
        self.run_numbers: dict[str, int] = {}
        """The last run number of each job (kept when a job is deleted)."""
        self.started_at = clock()

    @classmethod
    def restored(cls, clock: Callable[[], float], jobs: dict[str, JobRecord],
                 queue: Iterable[tuple[str, int]], run_numbers: dict[str, int], seq: int,
                 started_at: float) -> BatchCore:
        """A core as ``frameworks.batch.state`` saved it: its RUNNING runs' last attempts
        are in flight again (to reconcile). Raises ``ValueError`` on inconsistent state."""
        check_graph({name: rec.job for name, rec in jobs.items()})
        core = cls(clock)
        core.jobs, core.run_numbers, core.seq = jobs, run_numbers, seq
        core.started_at = started_at
        runs = {(r.job, r.number): r for rec in jobs.values() for r in rec.runs}
        keys = list(queue)
        waiting = {key for key, r in runs.items() if r.state is RunState.QUEUED}
        if len(set(keys)) != len(keys) or set(keys) != waiting:
            raise ValueError("the queue does not match the runs waiting in it")
        core._queue = [runs[key] for key in keys]
        for run in runs.values():
            if run.state is RunState.RUNNING:
                if not run.attempts or run.attempts[-1].ended is not None:
                    raise ValueError(f"run {run.number} of {run.job!r} is running "
                                     "without an attempt in flight")
                core._tasks[run.attempts[-1].task_id] = (run, run.attempts[-1])
        return core

    def queued(self) -> list[tuple[str, int]]:
        """The queue, oldest first, as (job, run number)."""
        return [(run.job, run.number) for run in self._queue]

    # --- the API's verbs --------------------------------------------------------------

    def submit(self, jobs: Iterable[Job]) -> list[str]:
        """Add or replace ``jobs`` (checked together with the known ones); their names."""
        new = {job.name: job for job in jobs}
        merged = {name: rec.job for name, rec in self.jobs.items()} | new
        check_graph(merged)
        now = self.clock()
        for name, job in new.items():
            rec = self.jobs.get(name)
            fresh = rec is None
            if rec is None:
                rec = self.jobs[name] = JobRecord(job)
            rec.job = job
            rec.parents_done &= set(job.parents)
            rec.schedule = parse_schedule(job.schedule, now) if job.schedule else None
            rec.parsed_at = now
            rec.next_due = None
            if rec.schedule is not None and not job.disabled:
                rec.next_due = rec.schedule.slot_at_or_after(now - job.epsilon_seconds)
            if fresh and not job.schedule and not job.parents and not job.disabled:
                self._enqueue(rec, "submit", now)
        self.tick()
        return list(new)

    def delete(self, name: str) -> list[tuple[str, str]]:
        """Forget job ``name``; returns ``(task_id, agent_id)`` of its tasks to kill."""
        self._record(name)
        children = sorted(n for n, r in self.jobs.items() if name in r.job.parents)
        if children:
            raise JobError(f"job {name!r} is a parent of {', '.join(children)}; "
                           "delete those first")
        del self.jobs[name]
        self._queue = [r for r in self._queue if r.job != name]
        kills = []
        for task_id, (run, attempt) in list(self._tasks.items()):
            if run.job == name:
                del self._tasks[task_id]
                kills.append((task_id, attempt.agent_id))
        return kills

    def start(self, name: str) -> Run:
        """Queue a run of ``name`` now (even if disabled, as Chronos' manual start)."""
        return self._enqueue(self._record(name), "manual", self.clock())

    # --- time -------------------------------------------------------------------------

    def tick(self) -> list[Run]:
        """Queue the scheduled runs that came due; skip the ones missed by too much."""
        now, queued = self.clock(), []
        for rec in self.jobs.values():
            while rec.next_due is not None and rec.next_due <= now and rec.schedule:
                if now - rec.next_due > rec.job.epsilon_seconds:
                    rec.skipped += 1
                elif rec.unfinished() and not rec.job.concurrent:
                    break  # waits for the run in progress (see the module docstring)
                else:
                    queued.append(self._enqueue(rec, "schedule", now, due=rec.next_due))
                rec.next_due = rec.schedule.slot_after(rec.next_due)
        return queued

    def next_wakeup(self) -> float | None:
        """When ``tick`` has something to do next (slots waiting on a run do not count)."""
        times = [rec.next_due for rec in self.jobs.values() if rec.next_due is not None
                 and not (rec.unfinished() and not rec.job.concurrent)]
        return min(times, default=None)

    # --- launching and task states ----------------------------------------------------

    def ready(self) -> list[Run]:
        """Queued runs that may launch now, oldest first (one at a time per job unless
        ``concurrent``)."""
        busy = {run.job for run, _ in self._tasks.values()}
        out = []
        for run in self._queue:
            if run.job in busy and not self.jobs[run.job].job.concurrent:
                continue
            busy.add(run.job)
            out.append(run)
        return out

    def wants_offers(self) -> bool:
        return bool(self._queue)

    def task_id(self, run: Run) -> str:
        """A new, unique task id for the next attempt of ``run``."""
        self.seq += 1
        return f"{run.job}.{run.number}.{len(run.attempts) + 1}-{self.seq}"

    def launched(self, run: Run, task_id: str, agent_id: str) -> None:
        attempt = Attempt(task_id, agent_id, self.clock())
        run.attempts.append(attempt)
        run.state = RunState.RUNNING
        self._queue.remove(run)
        self._tasks[task_id] = (run, attempt)

    def update(self, task_id: str, state: str, agent_id: str = "", message: str = "") -> bool:
        """A task's new state; True when it queued something (a retry, a child, a slot)."""
        found = self._tasks.get(task_id)
        if found is None:
            return False  # a task of a deleted job, or an update seen before
        run, attempt = found
        attempt.state, attempt.message = state, message or attempt.message
        attempt.agent_id = agent_id or attempt.agent_id
        if state not in SUCCESS and state not in FAILURE:
            return False
        now = self.clock()
        attempt.ended = now
        del self._tasks[task_id]
        rec = self.jobs[run.job]
        queued = False
        if state in SUCCESS:
            run.state, run.ended = RunState.SUCCEEDED, now
            rec.last_success = now
            queued = self._run_succeeded(run.job, now)
        elif len(run.attempts) <= rec.job.retries:
            run.state = RunState.QUEUED
            self._queue.append(run)
            queued = True
        else:
            run.state, run.ended = RunState.FAILED, now
            rec.last_error = now
        return bool(self.tick()) or queued

    def _run_succeeded(self, name: str, now: float) -> bool:
        queued = False
        for child in self.jobs.values():
            if name not in child.job.parents:
                continue
            child.parents_done.add(name)
            if child.parents_done >= set(child.job.parents) and not child.job.disabled:
                child.parents_done.clear()
                self._enqueue(child, "parents", now)
                queued = True
        return queued

    def active_tasks(self) -> dict[str, str]:
        """Task id -> agent id of every attempt in progress (for reconciliation)."""
        return {task_id: attempt.agent_id for task_id, (_, attempt) in self._tasks.items()}

    # --- views ------------------------------------------------------------------------

    def done(self) -> bool:
        """Nothing queued or running, and no scheduled run to come."""
        return not self._queue and not self._tasks and all(
            rec.next_due is None for rec in self.jobs.values())

    def summary(self) -> dict[str, Any]:
        runs = [run for rec in self.jobs.values() for run in rec.runs if run.finished]
        failed = sum(1 for rec in self.jobs.values()
                     if any(r.state is RunState.FAILED for r in rec.runs))
        succeeded = sum(1 for rec in self.jobs.values()
                        if rec.runs and all(r.state is RunState.SUCCEEDED for r in rec.runs))
        return {"jobs": len(self.jobs), "succeeded": succeeded, "failed": failed,
                "not_run": sum(1 for rec in self.jobs.values() if not rec.runs),
                "runs": len(runs), "started_at": format_time(self.started_at),
                "finished_at": format_time(self.clock())}

    def job_json(self, name: str, history: bool = True) -> dict[str, Any]:
        rec = self._record(name)
        last = rec.runs[-1] if rec.runs else None
        data = {**rec.job.to_json(), "state": self._job_state(rec),
                "last_run": last.state.name if last else None,
                "next_run": format_time(rec.next_due), "skipped": rec.skipped,
                "success_count": sum(r.state is RunState.SUCCEEDED for r in rec.runs),
                "error_count": sum(r.state is RunState.FAILED for r in rec.runs),
                "last_success": format_time(rec.last_success),
                "last_error": format_time(rec.last_error)}
        if history:
            data["runs"] = [r.to_json() for r in rec.runs]
        return data

    def jobs_json(self) -> list[dict[str, Any]]:
        return [self.job_json(name, history=False) for name in self.jobs]

    # --- plumbing ---------------------------------------------------------------------

    def _job_state(self, rec: JobRecord) -> str:
        states = {r.state for r in rec.unfinished()}
        if RunState.RUNNING in states:
            return "running"
        if RunState.QUEUED in states:
            return "queued"
        return "idle"

    def _record(self, name: str) -> JobRecord:
        rec = self.jobs.get(name)
        if rec is None:
            raise KeyError(name)
        return rec

    def _enqueue(self, rec: JobRecord, cause: str, now: float,
                 due: float | None = None) -> Run:
        number = self.run_numbers.get(rec.job.name, 0) + 1
        self.run_numbers[rec.job.name] = number
        run = Run(rec.job.name, number, cause, now, due)
        rec.runs.append(run)
        if len(rec.runs) > MAX_HISTORY:
            oldest_ended = next((r for r in rec.runs if r.finished), None)
            if oldest_ended is not None:
                rec.runs.remove(oldest_ended)
        self._queue.append(run)
        return run
