"""The batch framework: Chronos-like jobs (run once, on a schedule, or after other jobs).

A worked example of writing a Meseta framework by subclassing ``Scheduler``, split the
way a framework should be:

- ``jobs``: the job JSON (Chronos' field names), checked; ``check_graph`` rejects
  unknown parents and cycles;
- ``schedules``: ISO 8601 repeating intervals and cron expressions, pure;
- ``core``: ``BatchCore``, every decision (queue, retries, parents, schedules, history)
  as pure state with an injected clock — the part worth unit testing;
- ``scheduler``: ``BatchScheduler``, the thin ``Scheduler`` subclass that turns the
  core's answers into launches, kills and reconciliation, and leaves offer etiquette
  to ``frameworks.citizen.Citizen``;
- ``state``: the ``--state_dir`` document (jobs, history, runs in flight, framework
  id) that lets a restarted framework fail over and adopt its tasks;
- ``api``: the HTTP API (Chronos' ``/v1/scheduler/...`` paths);
- ``run`` and ``client``: the command line, ``python -m frameworks.batch VERB``
  (``run`` starts the framework; ``submit``, ``jobs``, ``status``, ``watch``, ``start``,
  ``delete`` talk to a running one).
"""

from frameworks.batch.core import BatchCore
from frameworks.batch.jobs import Job, JobError, parse_job, parse_jobs
from frameworks.batch.scheduler import BatchScheduler

__all__ = ["BatchCore", "BatchScheduler", "Job", "JobError", "parse_job", "parse_jobs"]
