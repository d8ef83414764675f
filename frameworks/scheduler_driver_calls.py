"""``SchedulerCalls``: what the driver's methods do, on the driver's thread (Mesos' calls).

The middle layer of ``SchedulerDriver`` (``frameworks.scheduler_driver``), between the
protocol core (``SchedulerProcess``: registration, events, callbacks) and the public,
thread-safe API. Each ``do_*`` method turns one driver call into the message the
master understands (ACCEPT -> ``AcceptOffers``, DECLINE -> ``DeclineOffers``, KILL ->
``KillTask``...). They run only on the actor's thread; while the driver is not
registered they log and drop the call, as Mesos does, except that tasks launched then
come back at once as TASK_LOST (TASK_DROPPED for PARTITION_AWARE frameworks) with
REASON_MASTER_DISCONNECTED.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import structlog

from actors.messages import (
    AcceptInverseOffers,
    AcceptOffers,
    DeactivateFramework,
    DeclineInverseOffers,
    DeclineOffers,
    Filters,
    FrameworkCapability,
    FrameworkInfo,
    FrameworkToExecutor,
    KillTask,
    Operation,
    OperationType,
    Reason,
    ReconcileTasks,
    Request,
    ResourceRequest,
    ReviveOffers,
    Source,
    SuppressOffers,
    TaskState,
    TaskStatus,
    UnregisterFramework,
    UpdateFramework,
)
from frameworks.scheduler_driver_process import SchedulerProcess

__all__ = ["SchedulerCalls"]

_log = structlog.get_logger("meseta.scheduler_driver")


class SchedulerCalls(SchedulerProcess):
    """The driver's calls as messages; see the module docstring."""

    def do_accept(self, offer_ids: Sequence[str], operations: Sequence[Operation],
                  filters: Filters) -> None:
        if self.connected:
            self.send(self.master, AcceptOffers(framework_id=self.framework_id,
                                                offer_ids=tuple(offer_ids),
                                                operations=tuple(operations), filters=filters))
            return
        # As Mesos: tasks launched while disconnected are lost at once, by the driver.
        state = (TaskState.TASK_DROPPED
                 if self.framework_info.has(FrameworkCapability.PARTITION_AWARE)
                 else TaskState.TASK_LOST)
        for op in operations:
            if op.type is not OperationType.LAUNCH or op.launch is None:
                continue
            for task in op.launch.task_infos:
                status = TaskStatus(task_id=task.task_id, state=state,
                                    message="Master disconnected", source=Source.SOURCE_MASTER,
                                    reason=Reason.REASON_MASTER_DISCONNECTED,
                                    agent_id=task.agent_id, timestamp=self.now())
                # Posted, not called: the scheduler may be inside a callback right now.
                self._post(self._deliver_if_running, status)

    def do_decline(self, offer_ids: Sequence[str], filters: Filters) -> None:
        self._send_connected(DeclineOffers(framework_id=self.framework_id,
                                           offer_ids=tuple(offer_ids), filters=filters))

    def do_answer_inverse_offers(self, ids: Sequence[str], accept: bool,
                                 filters: Filters) -> None:
        kind = AcceptInverseOffers if accept else DeclineInverseOffers
        self._send_connected(kind(framework_id=self.framework_id,
                                  inverse_offer_ids=tuple(ids), filters=filters))

    def do_kill(self, task_id: str, agent_id: str) -> None:
        self._send_connected(KillTask(framework_id=self.framework_id, task_id=task_id,
                                      agent_id=agent_id))

    def do_revive(self, roles: Sequence[str]) -> None:
        self._send_connected(ReviveOffers(framework_id=self.framework_id, roles=tuple(roles)))

    def do_suppress(self, roles: Sequence[str]) -> None:
        self._send_connected(SuppressOffers(framework_id=self.framework_id, roles=tuple(roles)))

    def do_acknowledge(self, status: TaskStatus) -> None:
        self._acknowledge(status)

    def do_message(self, executor_id: str, agent_id: str, data: bytes) -> None:
        self._send_connected(FrameworkToExecutor(agent_id=agent_id,
                                                 framework_id=self.framework_id,
                                                 executor_id=executor_id, data=data))

    def do_reconcile(self, statuses: Sequence[TaskStatus]) -> None:
        self._send_connected(ReconcileTasks(framework_id=self.framework_id,
                                            statuses=tuple(statuses)))

    def do_request(self, requests: Sequence[Request]) -> None:
        self._send_connected(ResourceRequest(framework_id=self.framework_id,
                                             requests=tuple(requests)))

    def do_update_framework(self, framework_info: FrameworkInfo,
                            suppressed_roles: Sequence[str]) -> None:
        info = replace(framework_info, id=self.framework_id,
                       user=framework_info.user or self.framework_info.user,
                       hostname=framework_info.hostname or self.framework_info.hostname)
        self.framework_info = info
        if self.framework_id:
            self._send_connected(UpdateFramework(framework_id=self.framework_id,
                                                 framework_info=info,
                                                 suppressed_roles=tuple(suppressed_roles)))

    def do_abort(self) -> None:
        _log.info("aborting framework", framework_id=self.framework_id)
        self._cancel_retry()
        if self.connected:
            self.send(self.master, DeactivateFramework(framework_id=self.framework_id))

    def do_stop(self, failover: bool) -> None:
        """Leave the master (tearing the framework down unless ``failover``) and end."""
        if self._stopped:
            return
        self._stopped = True
        self._stop_following()
        self._cancel_retry()
        if self.connected and not failover:
            _log.info("tearing down framework", framework_id=self.framework_id)
            self.send(self.master, UnregisterFramework(framework_id=self.framework_id))
        self.connected = False
        if self._linked:
            self._linked = False
            self.unlink(self.master)
        self.actor_ref.stop(block=False)
