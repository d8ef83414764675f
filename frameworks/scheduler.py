"""``Scheduler``: the callbacks a framework author overrides (Mesos' v0 ``Scheduler``).

A framework subclasses ``Scheduler`` and hands an instance to a ``SchedulerDriver``
(``frameworks.scheduler_driver``). The driver's actor calls these methods, one at a
time and always on its own thread, as the master's messages arrive, so a scheduler's
state needs no locks. Inside a callback the scheduler talks back through ``driver``
(``launch_tasks``, ``decline_offer``, ``kill_task``...); those calls return at once.

Every callback has a default body that does nothing, except ``error``, which logs.
A callback that raises is logged and the driver carries on; a ``status_update`` that
raises is not acknowledged, so the agent sends the update again later.

Names follow ``include/mesos/scheduler.hpp`` in snake case, with agent for slave.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from actors.messages import InverseOffer, MasterInfo, Offer, TaskStatus

if TYPE_CHECKING:
    from frameworks.scheduler_driver import SchedulerDriver

__all__ = ["Scheduler"]

_log = structlog.get_logger("meseta.scheduler")


class Scheduler:
    """Base class of framework schedulers; override the callbacks you need."""

    def registered(self, driver: SchedulerDriver, framework_id: str,
                   master_info: MasterInfo) -> None:
        """The framework registered with a master for the first time (or failed over)."""

    def reregistered(self, driver: SchedulerDriver, master_info: MasterInfo) -> None:
        """The framework registered again (e.g. with a new master); reconcile here."""

    def disconnected(self, driver: SchedulerDriver) -> None:
        """The driver lost the master; it keeps trying to register again."""

    def resource_offers(self, driver: SchedulerDriver, offers: list[Offer]) -> None:
        """New offers, each for one agent. Launch on them, or decline them.

        Resources offered here are not offered to this framework again until the offer
        is used, declined or rescinded.
        """

    def offer_rescinded(self, driver: SchedulerDriver, offer_id: str) -> None:
        """An offer is no longer valid; launching on it would give TASK_LOST/DROPPED."""

    def inverse_offers(self, driver: SchedulerDriver,
                       inverse_offers: list[InverseOffer]) -> None:
        """Maintenance: each asks for an agent's resources back before its
        ``unavailability`` starts. Answer with ``driver.accept_inverse_offers`` (you will
        free them in time) or ``decline_inverse_offers``; the answers show in the master's
        ``/maintenance/status``. Unanswered, they stay outstanding (Mesos' v1
        ``INVERSE_OFFERS`` event)."""

    def inverse_offer_rescinded(self, driver: SchedulerDriver, inverse_offer_id: str) -> None:
        """An inverse offer is no longer valid (schedule changed, agent gone)."""

    def status_update(self, driver: SchedulerDriver, status: TaskStatus) -> None:
        """A task changed state. With implicit acks, returning acknowledges it."""

    def framework_message(self, driver: SchedulerDriver, executor_id: str, agent_id: str,
                          data: bytes) -> None:
        """An executor sent the framework a message (best effort)."""

    def agent_lost(self, driver: SchedulerDriver, agent_id: str) -> None:
        """An agent is unreachable or was removed (best effort)."""

    def executor_lost(self, driver: SchedulerDriver, executor_id: str, agent_id: str,
                      status: int) -> None:
        """An executor exited with wait status ``status`` (best effort)."""

    def error(self, driver: SchedulerDriver, message: str) -> None:
        """An unrecoverable error; the driver is already aborted when this runs."""
        _log.error("scheduler error", message=message)
