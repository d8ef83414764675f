"""``AgentMessaging``: how the agent talks about tasks -- to executors, and to the master.

``ExecutorManager`` (``running``) inherits it, and with it ``AgentActor``; nothing here
is a handler. It holds:

- the executor's connection: ``_tell(link, msg)`` is the one way anything reaches an
  executor -- its PID for a native one (``ExecutorDriver``), its event stream
  (``executor_http.ExecutorConnection``, which writes the message as its v1 event)
  for an HTTP one; ``_connect`` records which kind an executor is;
- what executors send, whichever kind: ``_executor_update`` (a status update:
  recorded once, acknowledged to the executor at once, as Mesos acknowledges once its
  status update manager has it) and ``_executor_message`` (to the master);
- the status update plumbing: ``_record_update`` into the status update manager (the
  task's record and checkpoint follow it), ``_forward`` to the master with retries,
  the agent's own updates (``_send_agent_update``), and reconciliation (``_reconcile``).
"""

from __future__ import annotations

from collections import deque
from typing import Any

import structlog

from actors.agent.checkpointer import Checkpointer
from actors.agent.config import AgentConfig
from actors.agent.executor_http import ExecutorConnection
from actors.agent.executors import ExecutorRecord, FrameworkRecord, lost_or
from actors.agent.sandboxes import SandboxManager
from actors.agent.status_updates import Forward, StatusUpdateManager, StreamKey
from actors.agent.tasks import agent_update
from actors.messages import (
    AgentInfo,
    ExecutorToFramework,
    FrameworkInfo,
    ReconcileTasks,
    StatusUpdate,
    StatusUpdateAcknowledgement,
    StatusUpdateInfo,
)
from actors.messages.task_state import Reason, TaskState
from transport import PID

__all__ = ["AgentMessaging"]

_log = structlog.get_logger("meseta.agent")


class AgentMessaging(SandboxManager):
    """See the module docstring; ``AgentActor`` sets the attributes declared here."""

    config: AgentConfig
    agent_id: str
    info: AgentInfo
    master: PID
    frameworks: dict[str, FrameworkRecord]
    completed_frameworks: deque[FrameworkRecord]
    sum: StatusUpdateManager
    ckpt: Checkpointer

    # --- the executor's connection ----------------------------------------------------

    def _connect(self, framework: FrameworkRecord, executor: ExecutorRecord,
                 link: PID | ExecutorConnection) -> None:
        """``link`` is now how the executor is reached (a PID, or an HTTP stream)."""
        if isinstance(link, PID):
            executor.pid, executor.http = link, None
            if framework.info.checkpoint:
                self.ckpt.libprocess_pid(self.agent_id, executor, link)
            return
        if executor.http is not None and executor.http is not link:
            _log.warning("closing the earlier HTTP connection of executor",
                         executor_id=executor.executor_id)
            executor.http.close()
        executor.pid, executor.http = None, link

    def _tell(self, to: PID | ExecutorConnection | None, msg: Any) -> None:
        """Send an executor ``msg``: natively to a PID, or as its event on a stream."""
        if isinstance(to, PID):
            self.send(to, msg)
        elif to is not None:
            to.send(msg)
        else:
            _log.warning("executor not connected; message dropped", name=type(msg).__name__)

    def _executor_update(self, frm: PID | ExecutorConnection | None,
                         update: StatusUpdateInfo) -> None:
        """An executor's status update: recorded (once), then acknowledged to it."""
        accepted = self._record_update(update)
        if update.uuid:
            self._tell(frm, StatusUpdateAcknowledgement(
                agent_id=self.agent_id, framework_id=update.framework_id,
                task_id=update.status.task_id, uuid=update.uuid))
        if not accepted:
            _log.debug("duplicate status update ignored", task_id=update.status.task_id)

    def _executor_message(self, framework_id: str, executor_id: str, data: bytes) -> None:
        """An executor's message for its scheduler, relayed by the master."""
        self.send(self.master, ExecutorToFramework(
            agent_id=self.agent_id, framework_id=framework_id, executor_id=executor_id,
            data=data))

    def _http_endpoint(self) -> str:
        """``host:port`` of this agent's HTTP (``MESOS_AGENT_ENDPOINT``); executors run
        on this machine, so an agent bound to every address is reached on loopback."""
        port = self.node.http_port
        host = "127.0.0.1" if self.config.ip in ("0.0.0.0", "") else self.config.ip
        return f"{host}:{port}" if port else ""

    # --- reconciliation ---------------------------------------------------------------

    def _reconcile(self, msg: ReconcileTasks) -> None:
        """Answer TASK_DROPPED (TASK_LOST if not partition-aware) for tasks not here."""
        framework = self.frameworks.get(msg.framework_id)
        info = msg.framework_info or (framework.info if framework else None) \
            or FrameworkInfo(user="", name="", id=msg.framework_id)
        for status in msg.statuses:
            if framework is None or framework.find_task(status.task_id) is None:
                self._send_agent_update(info, status.task_id,
                                        lost_or(TaskState.TASK_DROPPED, info),
                                        Reason.REASON_RECONCILIATION,
                                        "Reconciliation: task unknown to the agent")

    # --- status updates ---------------------------------------------------------------

    def _refuse(self, info: FrameworkInfo, task_id: str, why: str) -> None:
        self._send_agent_update(info, task_id, lost_or(TaskState.TASK_DROPPED, info),
                                Reason.REASON_EXECUTOR_TERMINATED, f"Task not launched: {why}")

    def _send_agent_update(self, info: FrameworkInfo, task_id: str, state: TaskState,
                           reason: Reason, message: str, executor_id: str = "") -> None:
        self._record_update(agent_update(info.id, task_id, state, agent_id=self.agent_id,
                                         executor_id=executor_id, reason=reason,
                                         message=message, now=self.now()))

    def _record_update(self, update: StatusUpdateInfo) -> bool:
        """Into the status update manager; the task's record follows it if accepted."""
        accepted, forwards = self.sum.update(update)
        if accepted:
            framework = self.frameworks.get(update.framework_id)
            found = framework.find_task(update.status.task_id) if framework else None
            if found is not None:
                found[1].record(update.status)
                if framework is not None and framework.info.checkpoint:
                    self.ckpt.update(self.agent_id, found[0], update)
        self._forward(forwards)
        return accepted

    def _forward(self, forwards: list[Forward]) -> None:
        for forward in forwards:
            self.send(self.master, StatusUpdate(update=forward.update, pid=self.pid))
            self.delay(forward.retry_in, self._retry_update, forward.key, forward.update.uuid)

    def _retry_update(self, key: StreamKey, uuid: bytes) -> None:
        self._forward(self.sum.retry(key, uuid))
