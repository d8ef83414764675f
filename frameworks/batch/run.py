"""``python -m frameworks.batch run``: the batch framework in the foreground.

::

    python -m frameworks.batch run --master=127.0.0.1:5050 --jobs=jobs.json \\
        --role=batch --http_port=4400 --exit_when_done

Wiring only: it parses the flags (each also read from ``MESETA_<FLAG>``), loads
``--jobs`` (a JSON list of jobs, or one job), starts the HTTP API
(``frameworks.batch.api``) on 127.0.0.1, the ``BatchScheduler`` and its timer, and a
``SchedulerDriver``. Once registered it prints one line,
``batch: registered <framework_id> http://127.0.0.1:PORT``. With ``--exit_when_done``
it ends once at least one job was submitted and every job has finished (succeeded, or
failed for good) with no scheduled run to come, printing a one-line JSON summary
(``jobs``, ``succeeded``, ``failed``, ``not_run``, ``runs``, ``started_at``,
``finished_at``); it exits 1 if a job failed, else 0. Otherwise it runs until SIGINT or
SIGTERM. Either way the framework is torn down at the end (its tasks are killed) —
except with ``--state_dir``, where SIGTERM/SIGINT leave the tasks running (checkpointed,
kept by the master for ``--failover_timeout``, a week) for the next ``run`` with the
same state dir to adopt (``--teardown``: kill them instead). That run re-registers with
the saved framework id, reconciles the runs that were in flight and goes on; the state
dir's jobs win over ``--jobs`` (jobs it does not hold are added). A torn-down framework's
id is dropped from the state dir (the master forgets it). Bad flags, a bad jobs file or
a corrupt state file exit 2 with a message; no registration within
``--registration_timeout`` exits 1.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TextIO

from actors.messages import FrameworkCapability, FrameworkInfo
from frameworks.batch.api import serve
from frameworks.batch.jobs import Job, JobError, parse_jobs
from frameworks.batch.scheduler import BatchScheduler
from frameworks.batch.state import BatchStateFile
from frameworks.execute import check_master, check_role
from frameworks.scheduler_driver import DriverStatus, SchedulerDriver
from transport.flags import Duration, Flags, port_number
from transport.logs import configure

__all__ = ["flags", "run"]

DEFAULT_FAILOVER_TIMEOUT = 7 * 24 * 3600.0
"""One week, as the service framework (and Marathon)."""


def flags() -> Flags:
    f = Flags("batch run", "Run the batch framework (Chronos-like jobs) on a Meseta cluster.")
    f.add("master", str, "127.0.0.1:5050", "the master, host:port, or zk://host:port/path",
          check_master)
    f.add("jobs", str, None, "a JSON file of jobs to submit at start (a list, or one job)")
    f.add("role", str, "*", "role to register with", check_role)
    f.add("name", str, "batch", "name the framework registers")
    f.add("http_port", int, 0, "port of the HTTP API on 127.0.0.1 (0: a free one)",
          port_number)
    f.add("exit_when_done", bool, False,
          "exit once every submitted job has finished and none is scheduled again")
    f.add("state_dir", str, None,
          "where the framework id and jobs (schedules, history, runs in flight) are kept "
          "across restarts")
    f.add("failover_timeout", Duration, DEFAULT_FAILOVER_TIMEOUT,
          "with --state_dir: how long the master keeps our tasks while we are gone")
    f.add("teardown", bool, False,
          "with --state_dir: on SIGTERM/SIGINT kill every task and unregister")
    f.add("registration_timeout", Duration, 60.0,
          "give up when the framework is not registered within this time")
    f.add("log_level", str, "warning", "log level of the driver's log lines (to stderr)")
    return f


def load_jobs(path: str) -> list[Job]:
    """The jobs in ``path`` (``-``: stdin); raises ``JobError`` saying what is wrong."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as exc:
        raise JobError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise JobError(f"{path} is not JSON: {exc}") from None
    return parse_jobs(data)


def run(argv: Sequence[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    values = flags().parse(argv)
    state_file = BatchStateFile(values.state_dir)
    try:
        configure(values.log_level)
        saved = state_file.load(time.time)
        jobs = load_jobs(values.jobs) if values.jobs else []
    except ValueError as exc:
        print(f"batch: error: {exc}", file=err)
        return 2
    core, framework_id = saved or (None, "")
    scheduler = BatchScheduler(roles=(values.role,), exit_when_done=values.exit_when_done,
                               state_file=state_file, core=core, framework_id=framework_id)
    try:
        new = [job for job in jobs if job.name not in scheduler.core.jobs]
        if new:
            scheduler.submit(new)  # the state dir's jobs win over the file's
    except JobError as exc:
        print(f"batch: error: {values.jobs}: {exc}", file=err)
        return 2
    try:
        api = serve(scheduler, values.http_port)
    except OSError as exc:
        print(f"batch: error: cannot serve HTTP on 127.0.0.1:{values.http_port}: {exc}",
              file=err)
        return 1
    keep = values.state_dir is not None
    info = FrameworkInfo(user="", name=values.name, roles=(values.role,), id=framework_id,
                         failover_timeout=values.failover_timeout if keep else 0.0,
                         checkpoint=keep,
                         capabilities=frozenset({FrameworkCapability.TASK_KILLING_STATE}))
    driver = SchedulerDriver.create(scheduler, info, values.master)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    teardown = not keep or values.teardown
    try:
        scheduler.start_timer()
        driver.start()
        if not scheduler.registered_event.wait(values.registration_timeout):
            print(f"batch: error: no master at {values.master} registered the framework "
                  f"within {values.registration_timeout:g}s", file=err)
            return 1
        print(f"batch: registered {scheduler.framework_id} {api.url}", file=out, flush=True)
        while not scheduler.finished.wait(0.5):
            if driver.status is not DriverStatus.DRIVER_RUNNING:
                print(f"batch: error: the driver stopped ({driver.status.name}; see the "
                      "log: a framework id the master forgot needs an empty --state_dir)",
                      file=err)
                return 1
        teardown = True  # all done: nothing to fail over to
        with scheduler.lock:
            summary = scheduler.core.summary()
        print(json.dumps(summary), file=out, flush=True)
        return 1 if summary["failed"] else 0
    except KeyboardInterrupt:
        print("batch: interrupted: " + ("tearing the framework down" if teardown else
              f"leaving its tasks for the next run with --state_dir={values.state_dir}"),
              file=err)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
        scheduler.stop_timer()
        driver.stop(failover=not teardown)
        driver.close()
        api.stop()
        if teardown:
            scheduler.save(framework_id="")  # the master forgets a torn-down framework


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
