"""``Executor``: the callbacks a framework's executor overrides (Mesos' v0 ``Executor``).

A framework writes an executor module that subclasses ``Executor`` and ends with::

    if __name__ == "__main__":
        raise SystemExit(run_executor(MyExecutor()))

(``run_executor`` is in ``frameworks.executor_driver``). The agent starts that module
as its own OS process; the ``ExecutorDriver`` actor inside it registers with the agent
and calls these methods, one at a time and always on its own thread, as the agent's
messages arrive, so an executor's state needs no locks. Inside a callback the executor
talks back through ``driver`` (``send_status_update``, ``send_framework_message``,
``stop``); work done on other threads gets back onto the driver's with
``driver.call_soon(fn, *args)``.

Every callback has a default body that does nothing, except ``error``, which logs. A
callback that raises is logged and the driver carries on.

Names follow ``include/mesos/executor.hpp`` in snake case, with agent for slave.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from actors.messages import AgentInfo, ExecutorInfo, FrameworkInfo, TaskInfo

if TYPE_CHECKING:
    from frameworks.executor_driver import ExecutorDriver

__all__ = ["Executor"]

_log = structlog.get_logger("meseta.executor")


class Executor:
    """Base class of executors; override the callbacks you need."""

    def registered(self, driver: ExecutorDriver, executor_info: ExecutorInfo,
                   framework_info: FrameworkInfo, agent_info: AgentInfo) -> None:
        """The executor registered with its agent; tasks follow as ``launch_task``."""

    def reregistered(self, driver: ExecutorDriver, agent_info: AgentInfo) -> None:
        """The executor registered again with a restarted agent."""

    def disconnected(self, driver: ExecutorDriver) -> None:
        """The agent went away (only for checkpointing frameworks; others shut down)."""

    def launch_task(self, driver: ExecutorDriver, task: TaskInfo) -> None:
        """Start ``task`` and report its states with ``driver.send_status_update``.

        No other callback runs until this returns: start the work, do not wait for it.
        """

    def kill_task(self, driver: ExecutorDriver, task_id: str) -> None:
        """Kill the task; the executor itself must send its TASK_KILLED update."""

    def framework_message(self, driver: ExecutorDriver, data: bytes) -> None:
        """The scheduler sent this executor a message (best effort)."""

    def shutdown(self, driver: ExecutorDriver) -> None:
        """Kill every task and stop. Tasks left without a terminal update are failed
        (or gone) by the agent; the process is ended after the grace period anyway."""

    def error(self, driver: ExecutorDriver, message: str) -> None:
        """A fatal error; the driver has stopped."""
        _log.error("executor error", message=message)

    def acknowledged(self, driver: ExecutorDriver, task_id: str, uuid: bytes) -> None:
        """The agent recorded the update ``uuid`` of ``task_id`` (v1's ACKNOWLEDGED).

        Not in Mesos' v0 API; the command executor uses it to exit once its terminal
        update is safe with the agent.
        """
