"""``Checkpointer``: what the agent writes to ``meta/`` as it runs (layout: ``checkpoint``).

``AgentActor`` (``running``, ``recovering``) holds one and calls it at the moments
Mesos checkpoints: the agent's info once it has an id; a framework's info and
scheduler PID when its first task arrives (and when they change); an executor's info,
its run (``runs/latest``) and forked pid at launch; its libprocess PID when it
registers; a task's info before it is queued or sent to its executor; every status
update the status update manager accepts and every acknowledgement (``task.updates``);
the run's sentinel when the executor exited; the boot id once recovery is done. Only
frameworks with ``FrameworkInfo.checkpoint`` are written (the callers check).

A write that fails (a full disk) is logged, not raised: the agent keeps running, as
without checkpointing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import structlog

from actors.agent import checkpoint as paths
from actors.agent.executors import ExecutorRecord, FrameworkRecord
from actors.messages.info import AgentInfo
from actors.messages.tasks import (
    StatusUpdateInfo,
    StatusUpdateRecord,
    StatusUpdateRecordType,
    TaskInfo,
)
from transport.pid import PID

__all__ = ["Checkpointer"]

_log = structlog.get_logger("meseta.agent.checkpoint")


class Checkpointer:
    """Writes the agent's checkpoint under ``<work_dir>/meta``; see the module docstring."""

    def __init__(self, work_dir: str) -> None:
        self.work_dir = work_dir
        self.failures = 0

    def _do(self, what: str, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except OSError as exc:
            self.failures += 1
            _log.error("checkpoint write failed", what=what, error=str(exc))

    def boot_id(self, boot_id: str) -> None:
        if boot_id:
            self._do("boot id", paths.write_record, paths.boot_id_path(self.work_dir), boot_id)

    def agent(self, info: AgentInfo) -> None:
        """``agent.info`` and the ``latest`` link to it (the agent id is then known)."""
        root = paths.agent_dir(self.work_dir, info.id)
        self._do("agent info", paths.write_record, os.path.join(root, "agent.info"), info)
        self._do("latest agent", paths.write_link, paths.latest_agent_link(self.work_dir),
                 info.id)

    def forget_agent(self) -> None:
        """Remove ``latest`` so the next start is a new agent (Mesos after a reboot)."""
        try:
            os.unlink(paths.latest_agent_link(self.work_dir))
        except FileNotFoundError:
            pass
        except OSError as exc:
            _log.error("cannot remove the latest agent link", error=str(exc))

    def framework(self, agent_id: str, framework: FrameworkRecord) -> None:
        root = paths.framework_dir(self.work_dir, agent_id, framework.framework_id)
        self._do("framework info", paths.write_record, os.path.join(root, "framework.info"),
                 framework.info)
        if framework.pid is not None:
            self._do("framework pid", paths.write_record,
                     os.path.join(root, "framework.pid"), str(framework.pid))

    def executor(self, agent_id: str, executor: ExecutorRecord) -> None:
        """``executor.info``, ``runs/latest`` and ``pids/forked.pid`` of a new run."""
        ids = (agent_id, executor.framework_id, executor.executor_id)
        root = paths.executor_dir(self.work_dir, *ids)
        run = paths.run_dir(self.work_dir, *ids, executor.run_id)
        self._do("executor info", paths.write_record, os.path.join(root, "executor.info"),
                 executor.info)
        if executor.os_pid is not None:  # none while its URIs are fetched
            self._do("forked pid", paths.write_record, os.path.join(run, "pids", "forked.pid"),
                     {"pid": executor.os_pid, "create_time": executor.create_time})
        self._do("latest run", paths.write_link, os.path.join(root, "runs", "latest"),
                 executor.run_id)

    def _run(self, agent_id: str, executor: ExecutorRecord) -> str:
        return paths.run_dir(self.work_dir, agent_id, executor.framework_id,
                             executor.executor_id, executor.run_id)

    def libprocess_pid(self, agent_id: str, executor: ExecutorRecord, pid: PID) -> None:
        path = os.path.join(self._run(agent_id, executor), "pids", "libprocess.pid")
        self._do("executor pid", paths.write_record, path, str(pid))

    def task(self, agent_id: str, executor: ExecutorRecord, task: TaskInfo) -> None:
        path = os.path.join(self._run(agent_id, executor), "tasks", task.task_id, "task.info")
        self._do("task info", paths.write_record, path, task)

    def _updates_path(self, agent_id: str, executor: ExecutorRecord, task_id: str) -> str:
        return os.path.join(self._run(agent_id, executor), "tasks", task_id, "task.updates")

    def update(self, agent_id: str, executor: ExecutorRecord, update: StatusUpdateInfo) -> None:
        path = self._updates_path(agent_id, executor, update.status.task_id)
        self._do("status update", paths.append_update_record, path,
                 StatusUpdateRecord(type=StatusUpdateRecordType.UPDATE, update=update))

    def ack(self, agent_id: str, executor: ExecutorRecord, task_id: str, uuid: bytes) -> None:
        path = self._updates_path(agent_id, executor, task_id)
        self._do("acknowledgement", paths.append_update_record, path,
                 StatusUpdateRecord(type=StatusUpdateRecordType.ACK, uuid=uuid))

    def sentinel(self, agent_id: str, executor: ExecutorRecord) -> None:
        path = os.path.join(self._run(agent_id, executor), "executor.sentinel")
        self._do("executor sentinel", paths.write_atomic, path, b"")
