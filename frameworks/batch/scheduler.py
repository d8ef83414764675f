"""``BatchScheduler``: the batch framework's ``Scheduler`` subclass — thin glue around
``BatchCore`` (``frameworks.batch.core``), and a worked example of writing a framework.

What a framework author can take from it:

- **Callbacks decide nothing themselves.** ``resource_offers`` asks the core which runs
  are ready, packs them onto the offers (first fit: each offer filled before the next, as many
  per offer as fit, so dozens of small jobs go out in one round), launches one command
  task per run (``TaskInfo.command``: the agent's built-in command executor), and leaves
  every unused offer to ``Citizen`` (``frameworks.citizen``), which declines it with a
  long filter and suppresses offers when nothing is ready. ``status_update`` hands the
  state to the core; when that queued something (a retry, a child, a slot) the
  scheduler calls ``Citizen.want``, which revives offers.
- **Three threads, one lock.** Driver callbacks run on the driver's thread; the HTTP
  API (``frameworks.batch.api``) runs on its server's threads; schedules are timed by
  one timer thread of ours that sleeps until ``core.next_wakeup()`` (or until poked)
  and then ticks the core. All of them take ``self.lock`` around the core, and only
  call driver methods that are thread-safe and never block (``revive_offers``,
  ``kill_task``...: posted to the driver's actor). The driver's own thread never
  waits on ours, so there is no deadlock to fear.
- **Reconcile after a (re-)registration.** ``registered`` and ``reregistered`` (a
  new master, the same one after a partition, or this framework restarted with its
  saved id) send the ids of the tasks the core believes are running to
  ``reconcile_tasks``; the master answers with their states, TASK_LOST for the ones it
  does not know, which the core retries like any other failure. A task still running
  is adopted as it is: its run stays RUNNING (so nothing else of a job that is not
  ``concurrent`` launches) and its end counts as any other (a child then runs). Tasks
  that got no answer (their agent has not re-registered with a new master yet) are
  asked about again every ``RECONCILE_RETRY`` seconds by the timer thread.
- **Persistence.** With a ``BatchStateFile`` (``--state_dir``) the core and the
  framework id are saved (``frameworks.batch.state``) after every change — before a
  launch, so a task launched is on disk — and only when the document changed.

``finished`` is set once ``exit_when_done`` holds: at least one job was submitted and
``core.done()`` (nothing queued or running, no scheduled run to come).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from actors.messages import (
    CommandInfo,
    Environment,
    Filters,
    MasterInfo,
    Offer,
    TaskInfo,
    TaskState,
    TaskStatus,
)
from actors.resources import Resources
from frameworks.batch.core import BatchCore, Run
from frameworks.batch.jobs import Job
from frameworks.batch.state import BatchStateFile, dump
from frameworks.citizen import Citizen
from frameworks.scheduler import Scheduler
from frameworks.scheduler_driver import SchedulerDriver

__all__ = ["RECONCILE_RETRY", "BatchScheduler"]

IDLE_WAKEUP = 60.0
"""The timer thread looks again at least this often, even with nothing scheduled."""
RECONCILE_RETRY = 10.0
"""Seconds before tasks a reconciliation got no answer for are asked about again."""


class BatchScheduler(Scheduler):
    """Runs ``BatchCore``'s jobs as command tasks; see the module docstring."""

    def __init__(self, clock: Callable[[], float] = time.time, roles: Iterable[str] = (),
                 exit_when_done: bool = False, state_file: BatchStateFile | None = None,
                 core: BatchCore | None = None, framework_id: str = "") -> None:
        self.lock = threading.RLock()
        self._wake = threading.Condition(self.lock)
        self.core = core or BatchCore(clock)
        self.state_file = state_file
        self._saved: dict[str, Any] | None = None
        self.citizen = Citizen(self._wants, roles=tuple(roles))
        self.exit_when_done = exit_when_done
        self.finished = threading.Event()
        self.registered_event = threading.Event()
        self.framework_id = framework_id
        """The saved one until the master registers us (then the master's)."""
        self.offers_seen = 0
        self.tasks_launched = 0
        self._submitted = bool(self.core.jobs)
        self._driver: SchedulerDriver | None = None
        self._stopping = False
        self._unanswered: set[str] = set()
        """Tasks reconciled and not heard of since (asked again every RECONCILE_RETRY)."""
        self._reconcile_sent = 0.0
        self._timer = threading.Thread(target=self._timer_loop, name="batch-timer",
                                       daemon=True)

    # --- the API's verbs (any thread) ------------------------------------------------

    def submit(self, jobs: Iterable[Job]) -> list[str]:
        with self.lock:
            names = self.core.submit(jobs)
            self._submitted = self._submitted or bool(names)
            self._changed()
            return names

    def start_job(self, name: str) -> Run:
        with self.lock:
            run = self.core.start(name)
            self._changed()
            return run

    def delete(self, name: str) -> None:
        with self.lock:
            kills = self.core.delete(name)
            if self._driver is not None:
                for task_id, agent_id in kills:
                    self._driver.kill_task(task_id, agent_id)
            self._changed()

    def save(self, framework_id: str | None = None) -> None:
        """Write the state file if anything changed since the last write (any thread).

        ``framework_id`` replaces the id to keep (``""`` after a teardown: the master
        forgot it, so the next run registers anew)."""
        with self.lock:
            if framework_id is not None:
                self.framework_id = framework_id
            if self.state_file is None:
                return
            data = dump(self.core, self.framework_id)
            if data != self._saved:
                self.state_file.save(data)
                self._saved = data

    def status(self) -> dict[str, Any]:
        with self.lock:
            return {"framework_id": self.framework_id, "done": self.core.done(),
                    "suppressed": self.citizen.suppressed, "offers": self.offers_seen,
                    "tasks_launched": self.tasks_launched, **self.core.summary()}

    # --- the timer ----------------------------------------------------------------------

    def start_timer(self) -> None:
        self._timer.start()

    def stop_timer(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._timer.is_alive():
            self._timer.join(5)

    def _timer_loop(self) -> None:
        with self._wake:
            while not self._stopping:
                self.core.tick()
                self._changed(poke=False)
                times = [self.core.next_wakeup(), self.reconcile_again()]
                wake = min((t for t in times if t is not None), default=None)
                delay = IDLE_WAKEUP if wake is None else wake - self.core.clock()
                self._wake.wait(max(0.0, min(delay, IDLE_WAKEUP)))

    # --- driver callbacks (the driver's thread) ----------------------------------------

    def registered(self, driver: SchedulerDriver, framework_id: str,
                   master_info: MasterInfo) -> None:
        with self.lock:
            self._driver, self.framework_id = driver, framework_id
            self.save()
            self.citizen.registered(driver)
            self._reconcile(driver)
            self._changed()
        self.registered_event.set()

    def reregistered(self, driver: SchedulerDriver, master_info: MasterInfo) -> None:
        """A new master, or this framework failed over with its saved id (the master
        answers a registration with a known id as a re-registration)."""
        with self.lock:
            self._driver = driver
            self.citizen.registered(driver)
            self._reconcile(driver)
            self._changed()
        self.registered_event.set()

    def resource_offers(self, driver: SchedulerDriver, offers: list[Offer]) -> None:
        with self.lock:
            self.offers_seen += len(offers)
            self.core.tick()
            placed = self._place(self.core.ready(), offers)
            more = self._wants()
            remainder = Filters() if more else Filters(refuse_seconds=self.citizen.refuse_seconds)
            self.save()  # before launching: a task we launched is always on disk
            for offer in offers:
                tasks = placed[offer.id]
                if tasks:
                    driver.launch_tasks([offer.id], tasks, remainder)
            self.citizen.settle(driver, offers, [o for o, t in placed.items() if t])

    def status_update(self, driver: SchedulerDriver, status: TaskStatus) -> None:
        with self.lock:
            self._unanswered.discard(status.task_id)
            self.core.update(status.task_id, status.state.name, status.agent_id, status.message)
            self._changed()

    # --- plumbing (under the lock) ------------------------------------------------------

    def _wants(self) -> bool:
        with self.lock:
            return bool(self.core.ready())

    def _changed(self, poke: bool = True) -> None:
        """After anything that may have queued runs or moved a schedule."""
        self.save()
        if self._driver is not None and self._wants():
            self.citizen.want(self._driver)
        if poke:
            self._wake.notify_all()
        if self.exit_when_done and self._submitted and self.core.done():
            self.finished.set()

    def _reconcile(self, driver: SchedulerDriver, only: set[str] | None = None) -> None:
        """Ask the master about the tasks in flight (``only``: those of them)."""
        active = {t: a for t, a in self.core.active_tasks().items()
                  if only is None or t in only}
        self._unanswered = set(active)
        self._reconcile_sent = self.core.clock()
        if active:
            driver.reconcile_tasks([TaskStatus(task_id=t, state=TaskState.TASK_RUNNING,
                                               agent_id=a) for t, a in active.items()])

    def reconcile_again(self) -> float | None:
        """Ask again about tasks the master did not answer for (an agent it has not heard
        from since its own failover answers nothing); when to look next."""
        self._unanswered &= set(self.core.active_tasks())
        if not self._unanswered or self._driver is None:
            return None
        due = self._reconcile_sent + RECONCILE_RETRY
        if self.core.clock() >= due:
            self._reconcile(self._driver, self._unanswered)
            due = self._reconcile_sent + RECONCILE_RETRY
        return due

    def _place(self, runs: list[Run], offers: list[Offer]) -> dict[str, list[TaskInfo]]:
        """First fit: each run on the first offer it fits, so agents fill one by one.

        Packing (rather than spreading runs over every agent) leaves whole agents free
        for frameworks whose executors need one: coarse-grained ones, large tasks.
        """
        left = {offer.id: offer.resources for offer in offers}
        placed: dict[str, list[TaskInfo]] = {offer.id: [] for offer in offers}
        for run in runs:
            job = self.core.jobs[run.job].job
            need = Resources.parse(job.resources)
            for offer in offers:
                found = left[offer.id].find(need)  # reserved to our role, or unreserved
                if found is not None:
                    left[offer.id] = left[offer.id] - found
                    placed[offer.id].append(self._task(run, job, found, offer))
                    break
        return placed

    def _task(self, run: Run, job: Job, need: Resources, offer: Offer) -> TaskInfo:
        task_id = self.core.task_id(run)
        env = {**job.env, "MESETA_BATCH_JOB": job.name, "MESETA_BATCH_RUN": str(run.number),
               "MESETA_BATCH_ATTEMPT": str(len(run.attempts) + 1)}
        self.core.launched(run, task_id, offer.agent_id)
        self.tasks_launched += 1
        return TaskInfo(name=job.name, task_id=task_id, agent_id=offer.agent_id,
                        resources=need, command=CommandInfo(
                            value=job.command, environment=Environment.of(env)))
