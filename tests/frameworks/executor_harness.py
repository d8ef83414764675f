"""Stand-ins for executor-side tests: a fake agent and a recording executor.

``FakeAgent`` is a ``Process`` named ``agent`` on its own node that records what an
``ExecutorDriver`` sends (``wait_for``) and can answer (``tell``); registration is
answered with ``ExecutorRegistered`` unless ``auto_register`` is off, and status
updates are acknowledged when ``auto_ack``. ``RecordingExecutor`` records each callback.
``start_driver`` runs a driver on a second node; ``stop`` cleans everything up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from actors.messages import (
    AgentInfo,
    ExecutorInfo,
    ExecutorRegistered,
    FrameworkInfo,
    RegisterExecutor,
    StatusUpdate,
    StatusUpdateAcknowledgement,
    TaskInfo,
    TaskState,
)
from frameworks.executor import Executor
from frameworks.executor_driver import ExecutorDriver, ExecutorEnvironment
from transport import PID, Node, Process

WAIT = 30.0
T = TypeVar("T")
FRAMEWORK = FrameworkInfo(user="u", name="f", id="M1-0001")


class FakeAgent(Process):
    def __init__(self, node: Node) -> None:
        super().__init__(node, "agent")
        self.cond = threading.Condition()
        self.seen: list[tuple[PID, Any]] = []
        self.auto_register = True
        self.auto_ack = True
        self.framework = FRAMEWORK

    def on_receive(self, message: Any) -> Any:
        if type(message) is list:
            with self.cond:
                self.seen.extend((frm, msg) for frm, msg, _ in message)
                self.cond.notify_all()
        return super().on_receive(message)

    def unhandled(self, frm: PID, msg: Any) -> None:
        if isinstance(msg, RegisterExecutor) and self.auto_register:
            self.send(frm, ExecutorRegistered(
                executor_info=ExecutorInfo(executor_id=msg.executor_id,
                                           framework_id=msg.framework_id),
                framework_id=msg.framework_id, framework_info=self.framework,
                agent_id="M1-S1", agent_info=AgentInfo(hostname="h", id="M1-S1")))
        elif isinstance(msg, StatusUpdate) and self.auto_ack:
            self.ack(frm, msg)

    def ack(self, to: PID, msg: StatusUpdate) -> None:
        self.send(to, StatusUpdateAcknowledgement(
            agent_id="M1-S1", framework_id=msg.update.framework_id,
            task_id=msg.update.status.task_id, uuid=msg.update.uuid))

    def wait_for(self, kind: type[T], where: Callable[[T], bool] = lambda m: True,
                 count: int = 1, timeout: float = WAIT) -> list[T]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = [m for _, m in self.seen if isinstance(m, kind) and where(m)]
                if len(found) >= count:
                    return found[:count]
                if time.monotonic() > deadline:
                    raise AssertionError(f"no {count} x {kind.__name__}; seen "
                                         f"{[type(m).__name__ for _, m in self.seen]}")
                self.cond.wait(max(0.0, deadline - time.monotonic()))

    def states(self, task_id: str) -> list[TaskState]:
        with self.cond:
            return [m.update.status.state for _, m in self.seen
                    if isinstance(m, StatusUpdate) and m.update.status.task_id == task_id]


class RecordingExecutor(Executor):
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.event = threading.Condition()

    def _record(self, name: str, *args: Any) -> None:
        with self.event:
            self.calls.append((name, args))
            self.event.notify_all()

    def wait_call(self, name: str, timeout: float = WAIT) -> tuple[Any, ...]:
        deadline = time.monotonic() + timeout
        with self.event:
            while True:
                for call, args in self.calls:
                    if call == name:
                        return args
                if time.monotonic() > deadline:
                    raise AssertionError(f"no {name} call; got {[c for c, _ in self.calls]}")
                self.event.wait(max(0.0, deadline - time.monotonic()))

    def registered(self, driver: ExecutorDriver, *args: Any) -> None:
        self._record("registered", *args)

    def launch_task(self, driver: ExecutorDriver, task: TaskInfo) -> None:
        self._record("launch_task", task)

    def kill_task(self, driver: ExecutorDriver, task_id: str) -> None:
        self._record("kill_task", task_id)

    def framework_message(self, driver: ExecutorDriver, data: bytes) -> None:
        self._record("framework_message", data)

    def shutdown(self, driver: ExecutorDriver) -> None:
        self._record("shutdown")

    def acknowledged(self, driver: ExecutorDriver, task_id: str, uuid: bytes) -> None:
        self._record("acknowledged", task_id, uuid)


class Setup:
    def __init__(self, directory: str = "", checkpoint: bool = False,
                 grace: float = 0.2) -> None:
        self.agent_node = Node("127.0.0.1", 0).start()
        self.agent_node.spawn(FakeAgent)
        agent = self.agent_node.processes["agent"]
        assert isinstance(agent, FakeAgent)
        self.agent = agent
        self.env = ExecutorEnvironment(agent=agent.pid, framework_id=FRAMEWORK.id,
                                       executor_id="e1", directory=directory,
                                       checkpoint=checkpoint, shutdown_grace_period=grace)
        self.node = Node("127.0.0.1", 0).start()
        self.stopped_agent = False

    def start_driver(self, executor: Executor) -> ExecutorDriver:
        ref = self.node.spawn(ExecutorDriver, executor, self.env)
        driver: ExecutorDriver = ref.proxy().handle().get(timeout=WAIT)
        return driver

    def stop_agent(self) -> None:
        self.agent_node.stop()
        self.stopped_agent = True

    def stop(self) -> None:
        self.node.stop()
        if not self.stopped_agent:
            self.agent_node.stop()
