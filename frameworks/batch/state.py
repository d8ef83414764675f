"""What the batch framework keeps across its own restarts: ``<state_dir>/batch.json``.

One JSON document (Chronos keeps the same in its store): the framework id, so that a
restarted framework re-registers as the same framework and the master hands its running
tasks back; and all of ``BatchCore``'s state — every job's definition, the time its
schedule was parsed at and its next slot, the parents that succeeded since its last run,
its history (runs and their attempts: retries used, agents, states, start and end
times), its last success and error times, the queue of runs waiting for offers, and the
counters that keep run numbers and task ids unique. A run that was RUNNING comes back
with its last attempt in flight, for the scheduler to reconcile.

``dump(core, framework_id)`` and ``load(data, clock)`` are pure (times stay floats, so a
round trip is exact); ``BatchStateFile`` reads and writes the file through
``frameworks.state_file.JsonStateFile`` (atomic writes; a document that does not read
back raises ``CorruptState``). ``BatchScheduler`` saves after every change, before it
launches, so a task it launched is always on disk.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from frameworks.batch.core import Attempt, BatchCore, JobRecord, Run, RunState
from frameworks.batch.jobs import parse_job
from frameworks.batch.schedules import parse_schedule
from frameworks.state_file import JsonStateFile

__all__ = ["FILE_NAME", "VERSION", "BatchStateFile", "dump", "load"]

FILE_NAME = "batch.json"
VERSION = 1


def dump(core: BatchCore, framework_id: str) -> dict[str, Any]:
    """The document for ``core`` and ``framework_id`` (JSON types only)."""
    return {"version": VERSION, "framework_id": framework_id,
            "started_at": core.started_at, "seq": core.seq,
            "run_numbers": dict(core.run_numbers),
            "queue": [[job, number] for job, number in core.queued()],
            "jobs": [_record(rec) for rec in core.jobs.values()]}


def load(data: dict[str, Any], clock: Callable[[], float]) -> tuple[BatchCore, str]:
    """The core and framework id of a document ``dump`` made; raises ``ValueError``,
    ``KeyError`` or ``TypeError`` when it is not one."""
    if data.get("version") != VERSION:
        raise ValueError(f"unknown version {data.get('version')!r} (this reads {VERSION})")
    records = [_record_of(item) for item in _list(data, "jobs")]
    jobs = {rec.job.name: rec for rec in records}
    if len(jobs) != len(records):
        raise ValueError("a job is saved twice")
    core = BatchCore.restored(
        clock, jobs, [(str(job), int(number)) for job, number in _list(data, "queue")],
        {str(k): int(v) for k, v in dict(data["run_numbers"]).items()}, int(data["seq"]),
        float(data["started_at"]))
    return core, str(data["framework_id"])


class BatchStateFile:
    """The saved state in ``state_dir`` (none: nothing is kept)."""

    def __init__(self, state_dir: str | Path | None) -> None:
        self.file = JsonStateFile(state_dir, FILE_NAME)
        self.path = self.file.path

    def load(self, clock: Callable[[], float]) -> tuple[BatchCore, str] | None:
        """The saved core and framework id, or None; a corrupt file raises
        ``CorruptState`` (a ``ValueError``)."""
        data = self.file.read()
        if data is None:
            return None
        try:
            return load(data, clock)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise self.file.corrupt(exc) from exc

    def save(self, data: dict[str, Any]) -> None:
        """Write a document ``dump`` made."""
        self.file.write(data)


# --- records --------------------------------------------------------------------------


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data[key]
    if not isinstance(value, list):
        raise TypeError(f"{key!r} must be a list, not {type(value).__name__}")
    return value


def _time(value: Any) -> float | None:
    return None if value is None else float(value)


def _record(rec: JobRecord) -> dict[str, Any]:
    return {"job": rec.job.to_json(), "parsed_at": rec.parsed_at, "next_due": rec.next_due,
            "parents_done": sorted(rec.parents_done), "skipped": rec.skipped,
            "last_success": rec.last_success, "last_error": rec.last_error,
            "runs": [_run(run) for run in rec.runs]}


def _record_of(data: dict[str, Any]) -> JobRecord:
    job = parse_job(data["job"])
    parsed_at = float(data["parsed_at"])
    runs = [_run_of(item) for item in _list(data, "runs")]
    if any(run.job != job.name for run in runs):
        raise ValueError(f"job {job.name!r} holds another job's run")
    return JobRecord(job=job,
                     schedule=parse_schedule(job.schedule, parsed_at) if job.schedule else None,
                     next_due=_time(data["next_due"]),
                     parents_done={str(p) for p in _list(data, "parents_done")},
                     runs=runs, skipped=int(data["skipped"]), parsed_at=parsed_at,
                     last_success=_time(data["last_success"]),
                     last_error=_time(data["last_error"]))


def _run(run: Run) -> dict[str, Any]:
    return {"job": run.job, "number": run.number, "cause": run.cause, "queued": run.queued,
            "due": run.due, "state": run.state.name, "ended": run.ended,
            "attempts": [_attempt(a) for a in run.attempts]}


def _run_of(data: dict[str, Any]) -> Run:
    return Run(job=str(data["job"]), number=int(data["number"]), cause=str(data["cause"]),
               queued=float(data["queued"]), due=_time(data["due"]),
               state=RunState[str(data["state"])], ended=_time(data["ended"]),
               attempts=[_attempt_of(a) for a in _list(data, "attempts")])


def _attempt(a: Attempt) -> dict[str, Any]:
    return {"task_id": a.task_id, "agent_id": a.agent_id, "started": a.started,
            "state": a.state, "ended": a.ended, "message": a.message}


def _attempt_of(data: dict[str, Any]) -> Attempt:
    return Attempt(task_id=str(data["task_id"]), agent_id=str(data["agent_id"]),
                   started=float(data["started"]), state=str(data["state"]),
                   ended=_time(data["ended"]), message=str(data["message"]))
