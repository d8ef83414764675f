"""``SchedulerDriver``: how a framework's scheduler talks to the master (Mesos' v0 driver).

A framework builds a ``Scheduler`` (``frameworks.scheduler``) and a ``FrameworkInfo``
and runs them through a driver::

    from actors.messages import FrameworkInfo
    from frameworks.scheduler_driver import run_scheduler

    status = run_scheduler(MyScheduler(), FrameworkInfo(user="", name="demo"),
                           master="127.0.0.1:5050")  # or "zk://host:2181/mesos"

``run_scheduler`` / ``SchedulerDriver.create`` make the framework's ``Node`` (port 0)
for it; ``SchedulerDriver(node, scheduler, info, master)`` then ``start()`` uses a node
the caller owns (and ``node.spawn(SchedulerDriver, scheduler, info, master=...)`` works
too, giving an ``ActorRef``; ``ref.proxy().start()`` starts the driver).

The driver is an actor (a ``transport.Process`` named ``scheduler(N)``; its protocol
core is ``frameworks.scheduler_driver_process``). It registers with the master, calls
the scheduler's callbacks on its own thread, and sends what its methods ask for. The
methods are thread-safe: called on the driver's thread (from inside a callback) they
act at once; called from any other thread they are posted to the actor, and never
wait on it. Each returns the driver's status and does nothing unless the driver is
running (``DriverStatus.DRIVER_RUNNING``).

Departures from Mesos: ``acknowledge_status_update`` with implicit acknowledgements
raises ``DriverError`` (Mesos aborts the process), as does ``join`` on the driver's own
thread (it would deadlock); ``join`` takes an optional timeout; the first registration
is sent at once (Mesos waits a random fraction of the backoff first); ``kill_task``
takes an optional ``agent_id`` (v1's KILL has it); ``close()`` releases the actor and
an owned node.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, overload

import pykka

from actors.messages import Filters, FrameworkInfo, Operation, Request, TaskInfo, TaskStatus, launch
from actors.messages.authentication import Credential, load_credential
from frameworks.scheduler import Scheduler
from frameworks.scheduler_driver_calls import SchedulerCalls
from frameworks.scheduler_driver_process import DriverStatus, default_user
from transport import PID, MesetaError, Node
from transport.curve import curve_from_env

__all__ = ["DriverError", "DriverStatus", "SchedulerDriver", "master_location", "parse_master",
           "run_scheduler"]

DEFAULT_MASTER = "127.0.0.1:5050"
DEFAULT_REGISTRATION_BACKOFF_FACTOR = 2.0
"""Seconds; the registration backoff starts here and doubles up to a minute (Mesos)."""


class DriverError(MesetaError):
    """The driver was used in a way it does not allow (e.g. an explicit ack with implicit acks)."""


def parse_master(master: str) -> PID:
    """``host:port`` (the process is ``master``) or a PID string ``name@host:port``.

    A ``zk://`` URL names no PID: ``master_location`` takes it too.
    """
    if master.startswith("zk://"):
        raise ValueError(f"master {master!r}: a zk:// master is found through ZooKeeper, "
                         "not parsed (see master_location)")
    if master.startswith("file://"):
        raise ValueError(f"master {master!r}: file masters are not supported yet")
    text = master if "@" in master else f"master@{master}"
    try:
        return PID.parse(text)
    except ValueError as exc:
        raise ValueError(f"bad master {master!r}: expected host:port or name@host:port") from exc


def master_location(master: str | PID) -> tuple[PID, str]:
    """The driver's ``master``: ``(pid, "")`` for ``host:port`` or a PID, and for a
    ``zk://host:port[,host:port]/path`` URL ``(placeholder, url)``: the driver follows
    the leading master there. Raises ``ValueError`` saying what is wrong."""
    if isinstance(master, PID):
        return master, ""
    if master.strip().startswith("zk://"):
        from actors.ha.zk_url import parse_zk_url  # kazoo is imported only when zk is used

        return parse_master(DEFAULT_MASTER), str(parse_zk_url(master.strip()))
    return parse_master(master), ""


class _Start:
    """``SchedulerDriver.start``: pykka's actor start on the class, Mesos' start on a driver.

    ``node.spawn(SchedulerDriver, ...)`` calls ``SchedulerDriver.start(node, ...)``, the
    pykka class method that builds and runs the actor; ``driver.start()`` starts the
    driver (and, for a driver built directly, its actor). Callable so that pykka
    proxies see a method.
    """

    @overload
    def __get__(self, obj: None, objtype: type[SchedulerDriver]) -> Callable[
            ..., pykka.ActorRef[Any]]: ...

    @overload
    def __get__(self, obj: SchedulerDriver, objtype: Any = None) -> Callable[
            [], DriverStatus]: ...

    def __get__(self, obj: SchedulerDriver | None, objtype: Any = None) -> Callable[..., Any]:
        if obj is None:
            start: Callable[..., Any] = pykka.Actor.__dict__["start"].__get__(None, objtype)
            return start
        return obj._start_driver

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("SchedulerDriver.start is reached through the class or a driver")


class SchedulerDriver(SchedulerCalls):
    """A framework's handle on the cluster; see the module docstring."""

    def __init__(
        self,
        node: Node,
        scheduler: Scheduler,
        framework_info: FrameworkInfo,
        master: str | PID = DEFAULT_MASTER,
        implicit_acknowledgements: bool = True,
        *,
        registration_backoff_factor: float = DEFAULT_REGISTRATION_BACKOFF_FACTOR,
        owns_node: bool = False,
        name: str | None = None,
        credential: Credential | None = None,
    ) -> None:
        """``owns_node``: ``close()`` stops ``node`` too (``create`` arranges it).

        ``credential`` (default: the file ``MESETA_CREDENTIAL`` names, if set): the
        driver authenticates with it before registering. ``FrameworkInfo.principal``
        defaults to the credential's principal, else to the node's CURVE key name.
        """
        master_pid, zk = master_location(master)
        if credential is None and os.environ.get("MESETA_CREDENTIAL"):
            credential = load_credential(os.environ["MESETA_CREDENTIAL"])
        principal = framework_info.principal or (
            credential.principal if credential is not None
            else node.curve.name if node.curve is not None else "")
        info = replace(framework_info, user=framework_info.user or default_user(),
                       hostname=framework_info.hostname or socket.gethostname(),
                       principal=principal)
        super().__init__(node, scheduler, info, master_pid, implicit_acknowledgements,
                         registration_backoff_factor, name, zk=zk, credential=credential)
        self._owns_node = owns_node
        self._loop_started = False
        # The driver joins its node when its actor starts (below), so that a driver
        # never started leaves nothing behind for node.stop() to wait on.
        node.unregister(self.pid.name)

    @classmethod
    def create(cls, scheduler: Scheduler, framework_info: FrameworkInfo,
               master: str = DEFAULT_MASTER, ip: str = "127.0.0.1",
               **kwargs: Any) -> SchedulerDriver:
        """A driver on a new node of its own (``ip``, port 0), stopped by ``close()``.

        The node uses CurveZMQ when ``MESETA_CURVE`` is set (keys from
        ``MESETA_CURVE_KEYS`` / ``MESETA_CURVE_NAME``, ``transport.curve``).
        """
        node = Node(ip, 0, curve=curve_from_env()).start()
        try:
            return cls(node, scheduler, framework_info, master, owns_node=True, **kwargs)
        except BaseException:
            node.stop()
            raise

    # --- life cycle (Mesos: start, stop, abort, join, run) ----------------------------

    start = _Start()  # type: ignore[assignment]

    def _start_driver(self) -> DriverStatus:
        """Start the driver, which registers the framework; returns DRIVER_RUNNING."""
        with self._cond:
            if self._status is not DriverStatus.DRIVER_NOT_STARTED:
                return self._status
            self._status = DriverStatus.DRIVER_RUNNING
        if not self._loop_started:  # built directly, not spawned: start the actor as pykka does
            pykka.ActorRegistry.register(self.actor_ref)
            self._start_actor_loop()
        self._run(lambda: self.begin(), always=True)
        return DriverStatus.DRIVER_RUNNING

    def _start_actor_loop(self) -> None:
        self._loop_started = True
        self.node.register(self, self.pid.name)
        super()._start_actor_loop()

    def stop(self, failover: bool = False) -> DriverStatus:  # type: ignore[override]
        """Stop; without ``failover`` the framework is torn down (its tasks killed).

        With ``failover`` the master keeps the tasks for ``failover_timeout`` so that a
        new scheduler (started with the framework id) can take over. Returns
        DRIVER_ABORTED if the driver had been aborted, else DRIVER_STOPPED.
        """
        with self._cond:
            if self._status not in (DriverStatus.DRIVER_RUNNING, DriverStatus.DRIVER_ABORTED):
                return self._status
            aborted = self._status is DriverStatus.DRIVER_ABORTED
            self._status = DriverStatus.DRIVER_STOPPED
            self._cond.notify_all()
        self._run(lambda: self.do_stop(failover), always=True)
        return DriverStatus.DRIVER_ABORTED if aborted else DriverStatus.DRIVER_STOPPED

    def abort(self) -> DriverStatus:
        """Stop callbacks and offers (``DeactivateFramework``) but keep the tasks running."""
        with self._cond:
            if self._status is not DriverStatus.DRIVER_RUNNING:
                return self._status
            self._status = DriverStatus.DRIVER_ABORTED
            self._cond.notify_all()
        self._run(lambda: self.do_abort(), always=True)
        return DriverStatus.DRIVER_ABORTED

    def _abort(self) -> None:
        self.abort()

    def join(self, timeout: float | None = None) -> DriverStatus:
        """Wait until the driver is stopped or aborted (or ``timeout`` passes)."""
        if self.in_own_thread():
            raise DriverError("join() on the driver's own thread (in a callback) would deadlock")
        with self._cond:
            self._cond.wait_for(lambda: self._status is not DriverStatus.DRIVER_RUNNING,
                                timeout)
            return self._status

    def run(self) -> DriverStatus:
        """``start()`` then ``join()``."""
        status = self._start_driver()
        return status if status is not DriverStatus.DRIVER_RUNNING else self.join()

    def close(self) -> None:
        """Stop (with failover: nothing is torn down) and release the actor and an owned node."""
        self.stop(failover=True)
        if self._owns_node:
            self.node.stop()

    def __enter__(self) -> SchedulerDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- offers -----------------------------------------------------------------------

    def launch_tasks(self, offer_ids: str | Sequence[str], tasks: Sequence[TaskInfo],
                     filters: Filters | None = None) -> DriverStatus:
        """Launch ``tasks`` on offers of one agent (one LAUNCH); the rest is declined."""
        return self.accept_offers(offer_ids, [launch(*tasks)] if tasks else [], filters)

    def accept_offers(self, offer_ids: str | Sequence[str], operations: Sequence[Operation],
                      filters: Filters | None = None) -> DriverStatus:
        """Apply ``operations`` to offers of one agent; what is unused is declined."""
        ids, ops, flt = _ids(offer_ids), tuple(operations), filters or Filters()
        return self._run(lambda: self.do_accept(ids, ops, flt))

    def decline_offer(self, offer_id: str, filters: Filters | None = None) -> DriverStatus:
        """Decline; the resources are not re-offered for ``filters.refuse_seconds``."""
        flt = filters or Filters()
        return self._run(lambda: self.do_decline((offer_id,), flt))

    def accept_inverse_offers(self, inverse_offer_ids: str | Sequence[str],
                              filters: Filters | None = None) -> DriverStatus:
        """Maintenance: the framework will free those agents' resources in time; no new
        inverse offer for them for ``filters.refuse_seconds`` (Mesos' ACCEPT_INVERSE_OFFERS)."""
        ids, flt = _ids(inverse_offer_ids), filters or Filters()
        return self._run(lambda: self.do_answer_inverse_offers(ids, True, flt))

    def decline_inverse_offers(self, inverse_offer_ids: str | Sequence[str],
                               filters: Filters | None = None) -> DriverStatus:
        """Maintenance: the framework cannot meet the schedule (a hint to the operator)."""
        ids, flt = _ids(inverse_offer_ids), filters or Filters()
        return self._run(lambda: self.do_answer_inverse_offers(ids, False, flt))

    def revive_offers(self, roles: Sequence[str] = ()) -> DriverStatus:
        """Clear refusal filters and un-suppress ``roles`` (all if empty)."""
        r = tuple(roles)
        return self._run(lambda: self.do_revive(r))

    def suppress_offers(self, roles: Sequence[str] = ()) -> DriverStatus:
        """Stop offers for ``roles`` (all if empty) until revived."""
        r = tuple(roles)
        return self._run(lambda: self.do_suppress(r))

    def request_resources(self, requests: Sequence[Request]) -> DriverStatus:
        """A hint to the allocator (the default one ignores it)."""
        r = tuple(requests)
        return self._run(lambda: self.do_request(r))

    # --- tasks ------------------------------------------------------------------------

    def kill_task(self, task_id: str, agent_id: str = "") -> DriverStatus:
        """Ask for a task to be killed (unreliable: retry if no terminal update comes)."""
        return self._run(lambda: self.do_kill(task_id, agent_id))

    def acknowledge_status_update(self, status: TaskStatus) -> DriverStatus:
        """Acknowledge an update (only with ``implicit_acknowledgements=False``)."""
        if self.implicit_acknowledgements:
            raise DriverError("acknowledge_status_update needs a driver created with "
                              "implicit_acknowledgements=False")
        return self._run(lambda: self.do_acknowledge(status))

    def reconcile_tasks(self, statuses: Sequence[TaskStatus] = ()) -> DriverStatus:
        """Ask for these tasks' latest states (every non-terminal task if empty)."""
        s = tuple(statuses)
        return self._run(lambda: self.do_reconcile(s))

    def send_framework_message(self, executor_id: str, agent_id: str,
                               data: bytes) -> DriverStatus:
        """Best-effort bytes to an executor."""
        return self._run(lambda: self.do_message(executor_id, agent_id, data))

    def update_framework(self, framework_info: FrameworkInfo,
                         suppressed_roles: Sequence[str] = ()) -> DriverStatus:
        """Change the FrameworkInfo (not ``user``, ``checkpoint`` or ``principal``)."""
        r = tuple(suppressed_roles)
        return self._run(lambda: self.do_update_framework(framework_info, r))

    # --- plumbing ---------------------------------------------------------------------

    def _run(self, call: Callable[[], None], always: bool = False) -> DriverStatus:
        """Run ``call`` in the actor: now on its thread, else posted.

        Only while running, unless ``always`` (start, stop and abort, which set the
        status themselves first).
        """
        status = self._status
        if status is not DriverStatus.DRIVER_RUNNING and not always:
            return status
        if self.in_own_thread():
            call()
        else:
            self._post(call)
        return status


def _ids(offer_ids: str | Sequence[str]) -> tuple[str, ...]:
    return (offer_ids,) if isinstance(offer_ids, str) else tuple(offer_ids)


def run_scheduler(scheduler: Scheduler, framework_info: FrameworkInfo,
                  master: str = DEFAULT_MASTER, ip: str = "127.0.0.1",
                  **kwargs: Any) -> DriverStatus:
    """Run ``scheduler`` on a node of its own until the driver stops or aborts.

    Ctrl-C stops the driver (tearing the framework down). Returns the final status.
    """
    driver = SchedulerDriver.create(scheduler, framework_info, master, ip, **kwargs)
    try:
        try:
            return driver.run()
        except KeyboardInterrupt:
            return driver.stop()
    finally:
        driver.close()
