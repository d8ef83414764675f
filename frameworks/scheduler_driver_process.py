"""``SchedulerProcess``: the protocol core of ``SchedulerDriver`` (Mesos' ``SchedulerProcess``).

``SchedulerDriver`` (``frameworks.scheduler_driver``, the public API) extends
``SchedulerCalls`` (``frameworks.scheduler_driver_calls``, the calls as messages),
which extends this actor; the layers keep each module short. This part owns the
framework's conversation with the master (``actors.messages.framework``):
registration with randomised exponential backoff (``RegisterFramework`` until
``FrameworkRegistered``; ``ReregisterFramework`` once it has an id), a link to the
master (``exited`` -> ``disconnected`` and registration again), the master's events
turned into ``Scheduler`` callbacks, and implicit acknowledgements.

Everything here runs on the actor's thread. Messages from any PID other than the
master the driver was given are ignored, as are the master's events while the driver
is not running (not started, stopped or aborted) or not registered.

With a ``zk://`` master the driver follows the leader (``actors.ha.follow``): it
registers with whichever master ZooKeeper names; when the leader changes it is
``disconnected`` (if it was registered) and registers again with the new one at once
(``ReregisterFramework`` once it has an id; Mesos' driver sends its first attempt
without the agents' random delay too), then retries with backoff; messages from any
other master, the deposed one included, are ignored (Mesos' split-brain protection).

With a ``credential`` the driver authenticates (``actors.messages.authentication``)
before each registration with a master; a refused credential, or a handshake with the
master that fails (CurveZMQ keys, or plain and CURVE nodes mixed), aborts the driver
and tells the scheduler why (``error``), as Mesos' driver does when the master refuses
authentication.
"""

from __future__ import annotations

import enum
import os
import random
import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import structlog

from actors.messages import (
    ExecutorToFramework,
    ExitedExecutor,
    FrameworkError,
    FrameworkInfo,
    FrameworkRegistered,
    FrameworkReregistered,
    LostAgent,
    MasterInfo,
    RegisterFramework,
    ReregisterFramework,
    RescindInverseOffer,
    RescindResourceOffer,
    ResourceOffers,
    StatusUpdate,
    StatusUpdateAcknowledgement,
    TaskStatus,
)
from actors.messages.authentication import (
    Authenticatee,
    AuthenticationCompleted,
    AuthenticationError,
    AuthenticationFailed,
    AuthenticationMechanisms,
    AuthenticationStep,
    Credential,
)
from frameworks.scheduler import Scheduler
from transport import PID, Node, Process, Timer, handles

if TYPE_CHECKING:
    from actors.ha.follow import LeaderFollower

__all__ = ["REGISTRATION_RETRY_INTERVAL_MAX", "DriverStatus", "SchedulerProcess"]

REGISTRATION_RETRY_INTERVAL_MAX = 60.0
"""The longest backoff between two registration attempts (Mesos: 1 min)."""

_log = structlog.get_logger("meseta.scheduler_driver")


class DriverStatus(enum.Enum):
    """Where a driver is in its life (Mesos' ``Status``)."""

    DRIVER_NOT_STARTED = 1
    DRIVER_RUNNING = 2
    DRIVER_ABORTED = 3
    DRIVER_STOPPED = 4


class SchedulerProcess(Process):
    """The driver's actor, named ``scheduler(N)``; see the module docstring."""

    def __init__(self, node: Node, scheduler: Scheduler, framework_info: FrameworkInfo,
                 master: PID, implicit_acknowledgements: bool,
                 registration_backoff_factor: float, name: str | None = None, *,
                 zk: str = "", credential: Credential | None = None) -> None:
        super().__init__(node, name or node.generate_name("scheduler"))
        self.zk = zk
        """The ``zk://`` URL to follow the leading master through, or ``""``."""
        self._follower: LeaderFollower | None = None
        self._leader_known = not zk
        """With zk: whether the detector names a leader (``self.master``)."""
        self._cond = threading.Condition()
        self._status = DriverStatus.DRIVER_NOT_STARTED
        self.scheduler = scheduler
        self.framework_info = framework_info
        self.master = master
        self.implicit_acknowledgements = implicit_acknowledgements
        self.backoff_factor = registration_backoff_factor
        self.connected = False
        self.master_info: MasterInfo | None = None
        self.failover = bool(framework_info.id)
        """A scheduler started with an id takes over from an earlier instance."""
        self.thread_id: int | None = None
        self._linked = False
        self._retry: Timer | None = None
        self._stopped = False
        self._authenticatee = Authenticatee(credential) if credential else None
        self._authenticated = False
        self.agent_pids: dict[str, PID] = {}
        """Each offered agent's PID, from ``ResourceOffers.pids`` (Mesos' savedSlavePids)."""

    @property
    def framework_id(self) -> str:
        """The id the master gave, or ``""`` before the first registration."""
        return self.framework_info.id

    @property
    def status(self) -> DriverStatus:
        return self._status

    @property
    def running(self) -> bool:
        return self._status is DriverStatus.DRIVER_RUNNING

    def on_start(self) -> None:
        self.thread_id = threading.get_ident()

    def begin(self) -> None:
        """The driver started: register (in this thread).

        Mesos waits a random [0, factor] before the first attempt so that frameworks do
        not stampede a newly elected master; a fresh start registers at once. With zk,
        registration waits for the detector to name a leader.
        """
        if self.zk:
            if self._follower is None:
                from actors.ha.follow import LeaderFollower  # kazoo only when zk is used

                self._follower = LeaderFollower(
                    self.zk, lambda pid: self._post(self._leader_changed, pid)).start()
            return
        self._register(self.backoff_factor)

    def on_stop(self) -> None:
        self._stop_following()
        self._cancel_retry()
        super().on_stop()

    def _stop_following(self) -> None:
        if self._follower is not None:
            self._follower.stop()
            self._follower = None

    def _leader_changed(self, leader: PID | None) -> None:
        """The detector named a new leading master (``None``: none leads)."""
        if self._stopped:
            return
        if leader is not None and self._leader_known and leader == self.master:
            return
        _log.info("new leading master detected", master=str(leader) if leader else None,
                  framework_id=self.framework_id)
        if self._linked:
            self._linked = False
            self.unlink(self.master)
        self._authenticated = False
        self._cancel_retry()
        was_connected = self.connected
        self.connected = False
        self._leader_known = leader is not None
        if leader is not None:
            self.master = leader
        if was_connected and self._running():
            self._callback("disconnected", self)
        if leader is not None:  # at once, as Mesos' driver; the retries back off
            self._register(self.backoff_factor)

    def agent_pid(self, agent_id: str) -> PID | None:
        """The PID of an agent this framework got offers from (thread-safe read)."""
        return self.agent_pids.get(agent_id)

    def in_own_thread(self) -> bool:
        return self.thread_id == threading.get_ident()

    # --- registration -----------------------------------------------------------------

    def _register(self, max_backoff: float) -> None:
        """Send one (re-)registration and schedule the next try, until registered."""
        self._retry = None
        if self.connected or self._stopped or not self._running() or not self._leader_known:
            return
        if not self._linked:
            self._linked = True
            self.link(self.master)
        bound = min(max_backoff, REGISTRATION_RETRY_INTERVAL_MAX)
        if self.framework_info.failover_timeout > 0:
            bound = min(bound, self.framework_info.failover_timeout / 10)
        # The next try is scheduled before this one leaves: whoever sees the message
        # (a test advancing a manual clock) can rely on the retry being set.
        self._retry = self.delay(bound * random.random(), self._register, max_backoff * 2)
        if self._authenticatee is not None and not self._authenticated:
            self.send(self.master, self._authenticatee.begin(str(self.pid)))
            return  # registers once authenticated (_on_authentication)
        if self.framework_id:
            self.send(self.master, ReregisterFramework(framework_info=self.framework_info,
                                                       failover=self.failover))
        else:
            self.send(self.master, RegisterFramework(framework_info=self.framework_info))

    def _register_later(self) -> None:
        self._cancel_retry()
        self._retry = self.delay(self.backoff_factor * random.random(), self._register,
                                 self.backoff_factor * 2)

    def _cancel_retry(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None

    def exited(self, pid: PID) -> None:
        if pid != self.master or not self._leader_known:
            return
        self._linked = False
        self._authenticated = False
        if self._stopped:
            return
        failure = self.node.handshake_failure(pid)
        if failure is not None and self._running():
            self._refused(f"cannot complete the handshake with the master {pid}: {failure}")
            return
        if self.connected:
            _log.info("master disconnected", master=str(pid), framework_id=self.framework_id)
            self.connected = False
            if self._running():
                self._callback("disconnected", self)
            self._register_later()
        # Not connected: the registration retries are running and link again.

    @handles(FrameworkRegistered)
    def _on_registered(self, frm: PID, msg: FrameworkRegistered) -> None:
        if not self._accepts(frm, msg, need_connected=False):
            return
        if self.connected:
            _log.debug("ignoring FrameworkRegistered: already registered")
            return
        self._became_connected(msg.framework_id, msg.master_info)
        _log.info("framework registered", framework_id=msg.framework_id, master=str(frm))
        self._callback("registered", self, msg.framework_id, msg.master_info)

    @handles(FrameworkReregistered)
    def _on_reregistered(self, frm: PID, msg: FrameworkReregistered) -> None:
        if not self._accepts(frm, msg, need_connected=False):
            return
        if self.connected:
            _log.debug("ignoring FrameworkReregistered: already registered")
            return
        if self.framework_id and msg.framework_id != self.framework_id:
            _log.warning("ignoring FrameworkReregistered for another framework",
                         framework_id=msg.framework_id, ours=self.framework_id)
            return
        self._became_connected(msg.framework_id, msg.master_info)
        _log.info("framework re-registered", framework_id=msg.framework_id, master=str(frm))
        self._callback("reregistered", self, msg.master_info)

    def _became_connected(self, framework_id: str, master_info: MasterInfo) -> None:
        self.framework_info = replace(self.framework_info, id=framework_id)
        self.master_info = master_info
        self.connected = True
        self.failover = False
        self._cancel_retry()

    # --- events from the master -------------------------------------------------------

    @handles(ResourceOffers)
    def _on_offers(self, frm: PID, msg: ResourceOffers) -> None:
        if self._accepts(frm, msg):
            for offer, pid in zip(msg.offers, msg.pids, strict=False):
                self.agent_pids[offer.agent_id] = pid
            if msg.offers:
                self._callback("resource_offers", self, list(msg.offers))
            if msg.inverse_offers:
                self._callback("inverse_offers", self, list(msg.inverse_offers))

    @handles(RescindInverseOffer)
    def _on_rescind_inverse(self, frm: PID, msg: RescindInverseOffer) -> None:
        if self._accepts(frm, msg):
            self._callback("inverse_offer_rescinded", self, msg.inverse_offer_id)

    @handles(RescindResourceOffer)
    def _on_rescind(self, frm: PID, msg: RescindResourceOffer) -> None:
        if self._accepts(frm, msg):
            self._callback("offer_rescinded", self, msg.offer_id)

    @handles(StatusUpdate)
    def _on_status_update(self, frm: PID, msg: StatusUpdate) -> None:
        if not self._accepts(frm, msg):
            return
        update = msg.update
        status = update.status
        # The scheduler acknowledges with what it holds, so make the status complete.
        status = replace(status, uuid=status.uuid or update.uuid,
                         agent_id=status.agent_id or update.agent_id,
                         executor_id=status.executor_id or update.executor_id)
        self._deliver_status(status)

    def _deliver_status(self, status: TaskStatus) -> None:
        ok = self._callback("status_update", self, status)
        if ok and self.implicit_acknowledgements and status.uuid and self._running():
            self._acknowledge(status)

    @handles(LostAgent)
    def _on_lost_agent(self, frm: PID, msg: LostAgent) -> None:
        if self._accepts(frm, msg):
            self._callback("agent_lost", self, msg.agent_id)

    @handles(ExitedExecutor)
    def _on_exited_executor(self, frm: PID, msg: ExitedExecutor) -> None:
        if self._accepts(frm, msg):
            self._callback("executor_lost", self, msg.executor_id, msg.agent_id,
                           msg.status)

    @handles(ExecutorToFramework)
    def _on_framework_message(self, frm: PID, msg: ExecutorToFramework) -> None:
        if self._accepts(frm, msg):
            self._callback("framework_message", self, msg.executor_id, msg.agent_id,
                           msg.data)

    @handles(FrameworkError)
    def _on_error(self, frm: PID, msg: FrameworkError) -> None:
        if not self._accepts(frm, msg, need_connected=False):
            return
        _log.error("framework error from master", message=msg.message,
                   framework_id=self.framework_id)
        # As Mesos: the driver aborts first, then the scheduler hears why.
        self._abort()
        self._callback("error", self, msg.message)

    @handles(AuthenticationMechanisms, AuthenticationStep, AuthenticationCompleted,
             AuthenticationFailed, AuthenticationError)
    def _on_authentication(self, frm: PID, msg: Any) -> None:
        if self._authenticatee is None or not self._accepts(frm, msg, need_connected=False):
            return
        reply, outcome = self._authenticatee.step(msg)
        if reply is not None:
            self.send(frm, reply)
        if outcome == "completed":
            self._authenticated = True
            self._cancel_retry()
            self._register(self.backoff_factor)
        elif outcome is not None and outcome.startswith("refused"):
            self._refused(f"Master refused authentication ({outcome[9:]})")
        elif outcome is not None:
            _log.warning("authentication with the master failed; retrying", why=outcome)

    def _refused(self, why: str) -> None:
        _log.error("driver aborted", why=why, framework_id=self.framework_id)
        self._abort()
        self._callback("error", self, why)

    def _accepts(self, frm: PID, msg: Any, need_connected: bool = True) -> bool:
        name = type(msg).__name__
        if not self._running():
            _log.debug("ignoring message: driver not running", name=name)
            return False
        if frm != self.master or not self._leader_known:
            _log.warning("ignoring message from a master we are not registered with",
                         name=name, frm=str(frm), master=str(self.master))
            return False
        if need_connected and not self.connected:
            _log.debug("ignoring message: not registered", name=name)
            return False
        return True

    def _running(self) -> bool:
        return self._status is DriverStatus.DRIVER_RUNNING

    def _abort(self) -> None:
        """Overridden by the driver: set DRIVER_ABORTED, then ``do_abort``."""
        raise NotImplementedError

    def _callback(self, name: str, *args: Any) -> bool:
        """Run one scheduler callback; False when it raised (logged)."""
        try:
            getattr(self.scheduler, name)(*args)
        except Exception:
            _log.exception("scheduler callback raised", callback=name,
                           framework_id=self.framework_id)
            return False
        return True

    def _deliver_if_running(self, status: TaskStatus) -> None:
        if self._running():
            self._deliver_status(status)

    def _send_connected(self, msg: Any) -> bool:
        """Send ``msg`` to the master if registered; else log and drop it (Mesos)."""
        if not self.connected:
            _log.warning("master disconnected: dropping call", name=type(msg).__name__,
                         framework_id=self.framework_id)
            return False
        self.send(self.master, msg)
        return True

    def _acknowledge(self, status: TaskStatus) -> None:
        if not status.uuid:
            _log.debug("not acknowledging an update without uuid", task_id=status.task_id)
            return
        self._send_connected(StatusUpdateAcknowledgement(
            agent_id=status.agent_id, framework_id=self.framework_id, task_id=status.task_id,
            uuid=status.uuid))


def default_user() -> str:
    """The OS user a FrameworkInfo with an empty ``user`` runs as (Mesos fills it too)."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return os.environ.get("USER", "nobody")
