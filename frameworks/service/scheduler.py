"""``ServiceScheduler``: keeps every app's instances running (a ``Scheduler`` subclass).

How it works, for a framework author reading it as an example:

- **State and threads.** The driver calls the callbacks on its own thread; the HTTP
  API (``frameworks.service.http_api``) and a one-second ticker call the app
  operations (``create_app``, ``update_app``...) and ``tick`` on theirs. All of them
  take one lock, ``self.lock``, around the scheduler's state; inside it they only
  decide (``frameworks.service.planner``, pure) and call the driver's methods, which are
  thread-safe and never wait. Offer etiquette is ``frameworks.citizen.Citizen``'s.
- **Registration.** The framework id and app specs live in the ``StateFile``; the
  driver is started with the saved id (``FrameworkInfo.id``), so after a restart the
  master hands the running tasks back (``checkpoint`` and ``failover_timeout`` keep them
  alive meanwhile). On every (re-)registration it reconciles: an explicit
  ``reconcile_tasks`` of the tasks it knows, then an implicit one, then an explicit
  one for a marker task id nobody uses. The master answers in order, so when the
  marker's answer arrives every running task has been heard of: they are adopted,
  and only then does the scheduler launch (offers before that are declined). The
  marker is asked again every ``RECONCILE_RETRY`` seconds until it is answered.
- **Periodic reconciliation** (Marathon's ``--reconciliation_initial_delay`` and
  ``--reconciliation_interval``). ``reconciliation_initial_delay`` seconds after that
  first reconciliation ended, and then every ``reconciliation_interval`` seconds (on
  the scheduler's clock, from ``tick``), it reconciles again: explicitly the tasks it
  knows, then implicitly. A task the master no longer has (its update lost, say) is
  answered TASK_LOST and replaced like any other that ended; one it did not know of is
  adopted or killed, as after a restart.
- **Offers.** ``resource_offers`` asks ``planner.place`` what to launch on each offer,
  saves the new tasks, launches them; ``Citizen.settle`` declines the rest (120 s
  filter) and suppresses offers once nothing is wanted. New work (an app, a scale up,
  an instance that ended) calls ``Citizen.want``, which revives.
- **Updates.** A terminal update removes the task; if we had not asked for the kill,
  the app's backoff grows (``planner.after_failure``) and the ticker revives offers
  when it expires. After each change ``converge`` kills what ``planner.kills`` names
  (scale down, rolling restart), resending kills that got no answer.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import structlog

from actors.messages import MasterInfo, Offer, TaskState, TaskStatus, is_terminal
from frameworks.citizen import Citizen
from frameworks.scheduler import Scheduler
from frameworks.scheduler_driver import SchedulerDriver
from frameworks.service import planner
from frameworks.service.constraints import AgentFacts
from frameworks.service.spec import AppSpec
from frameworks.service.state import SavedState, StateFile
from frameworks.service.tasks import ServiceTask, app_of, is_ready

__all__ = ["KILL_RETRY", "RECONCILE_RETRY", "RECONCILIATION_INITIAL_DELAY",
           "RECONCILIATION_INTERVAL", "ServiceScheduler", "version_at"]

_log = structlog.get_logger("meseta.service")

RECONCILE_RETRY = 5.0
"""Seconds before an unanswered reconciliation marker is asked about again."""
RECONCILIATION_INITIAL_DELAY = 15.0
RECONCILIATION_INTERVAL = 600.0
"""Marathon's defaults (15000 ms and 600000 ms), in seconds."""
KILL_RETRY = 10.0
"""Seconds before a kill with no terminal update yet is sent again (kills are unreliable)."""


def version_at(now: float) -> str:
    """Marathon's version string: the UTC time of the change."""
    return _version_us(round(now * 1e6))


def _version_us(us: int) -> str:
    moment = datetime.fromtimestamp(us // 10**6, UTC).replace(microsecond=us % 10**6)
    return moment.isoformat(timespec="microseconds")


class ServiceScheduler(Scheduler):
    """Runs each app's ``instances``; see the module docstring."""

    def __init__(self, state: SavedState, state_file: StateFile, role: str = "*",
                 clock: Callable[[], float] = time.time,
                 reset_after: float = planner.RESET_AFTER,
                 reconciliation_initial_delay: float = RECONCILIATION_INITIAL_DELAY,
                 reconciliation_interval: float = RECONCILIATION_INTERVAL) -> None:
        self.lock = threading.RLock()
        self.state_file = state_file
        self.role = role
        self.clock = clock
        self.reset_after = reset_after
        self.framework_id = state.framework_id
        self.apps: dict[str, AppSpec] = {a.id: a for a in state.apps}
        self.tasks: dict[str, ServiceTask] = {t.task_id: t for t in state.tasks}
        self.backoffs: dict[str, planner.Backoff] = {}
        self.agents: dict[str, AgentFacts] = {}
        """Facts of each agent seen in an offer (for adopted tasks' constraints)."""
        self.driver: SchedulerDriver | None = None
        self.reconciled = False
        self.registered_event = threading.Event()
        self.citizen = Citizen(self.wants_offers, roles=())
        self.reconciliation_initial_delay = reconciliation_initial_delay
        self.reconciliation_interval = reconciliation_interval
        self.periodic_reconciliations = 0
        self._next_reconciliation: float | None = None
        """When the next periodic reconciliation is due (None until reconciled)."""
        self._marker = ""
        self._marker_sent = 0.0
        self._last_tick = clock()
        self._version_us = 0

    # --- state ------------------------------------------------------------------------

    def snapshot(self) -> SavedState:
        with self.lock:
            return SavedState(self.framework_id, list(self.apps.values()),
                              list(self.tasks.values()))

    def save(self) -> None:
        with self.lock:
            self.state_file.save(self.snapshot())

    def wants_offers(self) -> bool:
        """Citizen's question: offers are wanted while reconciling or to launch."""
        with self.lock:
            return not self.reconciled or self._wants_launch()

    def _wants_launch(self) -> bool:
        return planner.wants_offers(list(self.apps.values()), list(self.tasks.values()))

    def new_version(self) -> str:
        """A version later than any given before (two changes in one clock tick differ)."""
        with self.lock:
            self._version_us = max(round(self.clock() * 1e6), self._version_us + 1)
            return _version_us(self._version_us)

    # --- registration and reconciliation ----------------------------------------------

    def registered(self, driver: SchedulerDriver, framework_id: str,
                   master_info: MasterInfo) -> None:
        with self.lock:
            self.framework_id = framework_id
            self.save()
            self._connected(driver)
        _log.info("service registered", framework_id=framework_id)

    def reregistered(self, driver: SchedulerDriver, master_info: MasterInfo) -> None:
        with self.lock:
            self._connected(driver)

    def _connected(self, driver: SchedulerDriver) -> None:
        self.driver = driver
        self.reconciled = False
        self._next_reconciliation = None
        self._reconcile_known(driver)
        self._marker = f"service-reconciliation.{uuid.uuid4()}"
        self._ask_marker()
        self.citizen.registered(driver)
        self.registered_event.set()

    def _reconcile_known(self, driver: SchedulerDriver) -> None:
        """Explicit reconciliation of every task we know, then an implicit one."""
        known = [TaskStatus(task_id=t.task_id, state=t.state or TaskState.TASK_STAGING,
                            agent_id=t.agent_id) for t in self.tasks.values()]
        if known:
            driver.reconcile_tasks(known)
        driver.reconcile_tasks()

    def _ask_marker(self) -> None:
        assert self.driver is not None
        self._marker_sent = self.clock()
        self.driver.reconcile_tasks([TaskStatus(task_id=self._marker,
                                                state=TaskState.TASK_STAGING)])

    def disconnected(self, driver: SchedulerDriver) -> None:
        with self.lock:
            self.reconciled = False

    # --- offers -----------------------------------------------------------------------

    def resource_offers(self, driver: SchedulerDriver, offers: list[Offer]) -> None:
        used: list[str] = []
        with self.lock:
            for offer in offers:
                self.agents[offer.agent_id] = AgentFacts.of(offer)
            if self.reconciled:
                for offer in offers:
                    if self._launch_on(driver, offer):
                        used.append(offer.id)
            self.citizen.settle(driver, offers, used)

    def _launch_on(self, driver: SchedulerDriver, offer: Offer) -> bool:
        placed = planner.place(list(self.apps.values()), list(self.tasks.values()), offer,
                               self.clock(), self.backoffs, self.role)
        if not placed:
            return False
        for task, _ in placed:
            self.tasks[task.task_id] = task
        self.save()  # before launching: a task we launched is always on disk
        driver.launch_tasks([offer.id], [info for _, info in placed])
        _log.info("launching", tasks=[t.task_id for t, _ in placed], agent_id=offer.agent_id)
        return True

    # --- task updates -----------------------------------------------------------------

    def status_update(self, driver: SchedulerDriver, status: TaskStatus) -> None:
        with self.lock:
            if status.task_id == self._marker:
                if not self.reconciled:
                    self.reconciled = True
                    self._next_reconciliation = (self.clock()
                                                 + self.reconciliation_initial_delay)
                    _log.info("reconciled", tasks=len(self.tasks))
                    if self._wants_launch():
                        # A failed-over framework inherits its predecessor's refusal
                        # filters, which Citizen cannot know of: clear them once.
                        driver.revive_offers(self.citizen.roles)
                    self.converge()
                return
            if status.task_id.startswith("service-reconciliation."):
                return  # an older marker's answer
            self._update(driver, status)
            self.save()
            self.converge()

    def _update(self, driver: SchedulerDriver, status: TaskStatus) -> None:
        now = self.clock()
        task = self.tasks.get(status.task_id)
        if task is None:
            task = self._adopt(driver, status)
            if task is None:
                return
        if is_terminal(status.state):
            del self.tasks[task.task_id]
            app = self.apps.get(task.app_id)
            if app is not None and not task.killing:
                self.backoffs[app.id] = planner.after_failure(
                    self.backoffs.get(app.id, planner.Backoff()), app, task, now,
                    self.reset_after)
                _log.info("instance ended", task_id=task.task_id, state=status.state.name,
                          relaunch_in=self.backoffs[app.id].delay)
            return
        task.state = status.state
        if status.healthy is not None:
            task.healthy = status.healthy
        app = self.apps.get(task.app_id)
        ready = app is not None and is_ready(task, app)
        if ready and task.ready_since is None:
            task.ready_since = now
        elif not ready:
            task.ready_since = None

    def _adopt(self, driver: SchedulerDriver, status: TaskStatus) -> ServiceTask | None:
        """A task we did not know of (our state was lost): adopt it, or kill an orphan."""
        if is_terminal(status.state):
            return None
        app_id = app_of(status.task_id, self.apps)
        if app_id is None:
            _log.info("killing a task of no app", task_id=status.task_id)
            driver.kill_task(status.task_id, status.agent_id)
            return None
        # Its version is not known: count it as current rather than replace it.
        task = ServiceTask(task_id=status.task_id, app_id=app_id,
                           version=self.apps[app_id].version, agent_id=status.agent_id,
                           facts=self.agents.get(status.agent_id, AgentFacts()),
                           launched_at=self.clock())
        self.tasks[task.task_id] = task
        _log.info("adopted task", task_id=task.task_id)
        return task

    # --- converging -------------------------------------------------------------------

    def converge(self) -> None:
        """Kill what the planner says to; ask for offers when something is to launch."""
        with self.lock:
            driver = self.driver
            if driver is None or not self.reconciled:
                return
            now = self.clock()
            doomed: list[str] = [t.task_id for t in self.tasks.values()
                                 if t.app_id not in self.apps and not t.killing]
            for app in self.apps.values():
                doomed += planner.kills(app, list(self.tasks.values()))
            for task_id in doomed:
                self._kill(driver, self.tasks[task_id], now)
            if doomed:
                self.save()
            if self._wants_launch():
                self.citizen.want(driver)
            else:
                self.citizen.idle(driver)

    def _kill(self, driver: SchedulerDriver, task: ServiceTask, now: float) -> None:
        task.killing = True
        task.kill_sent_at = now
        _log.info("killing", task_id=task.task_id, app_id=task.app_id)
        driver.kill_task(task.task_id, task.agent_id)

    def tick(self) -> None:
        """Timers (the ticker thread calls this every second): retries, backoff expiry,
        periodic reconciliation."""
        with self.lock:
            driver, now = self.driver, self.clock()
            last, self._last_tick = self._last_tick, now
            if driver is None:
                return
            if not self.reconciled:
                if now - self._marker_sent >= RECONCILE_RETRY:
                    self._ask_marker()
                return
            due = self._next_reconciliation
            if due is not None and now >= due:
                self._next_reconciliation = now + self.reconciliation_interval
                self.periodic_reconciliations += 1
                _log.info("periodic reconciliation", tasks=len(self.tasks))
                self._reconcile_known(driver)
            for task in self.tasks.values():
                if task.killing and now - task.kill_sent_at >= KILL_RETRY:
                    self._kill(driver, task, now)
            if any(last < b.not_before <= now for b in self.backoffs.values()):
                self.converge()

    def run_ticker(self, stop: threading.Event, interval: float = 1.0) -> threading.Thread:
        """Start a daemon thread calling ``tick`` every ``interval`` until ``stop`` is set."""
        def loop() -> None:
            while not stop.wait(interval):
                try:
                    self.tick()
                except Exception:  # a bug in tick must not stop the timers
                    _log.exception("service tick failed")
        thread = threading.Thread(target=loop, name="service-ticker", daemon=True)
        thread.start()
        return thread

    def tasks_of(self, app_id: str) -> Iterable[ServiceTask]:
        with self.lock:
            return [t for t in self.tasks.values() if t.app_id == app_id]
