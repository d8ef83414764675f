"""Harness of the agent tests (fixtures: conftest.py): an agent node and a stand-in master.

``FakeMaster`` is a small ``Process`` named ``master`` on its own node that speaks the
real protocol: it answers ``RegisterAgent``/``ReregisterAgent`` (unless told not to),
acknowledges status updates (when ``auto_ack``) and records every message so tests can
wait for one (``wait_for``). ``make_agent(**config)`` starts an ``AgentActor`` on a
second node, with short timeouts; every node, agent and executor process is stopped
at teardown.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from actors.agent.actor import AgentActor
from actors.agent.config import AgentConfig
from actors.messages import (
    AgentRegistered,
    AgentReregistered,
    CommandInfo,
    Environment,
    ExecutorInfo,
    FrameworkInfo,
    RegisterAgent,
    ReregisterAgent,
    RunTask,
    StatusUpdate,
    StatusUpdateAcknowledgement,
    TaskInfo,
    TaskState,
)
from actors.resources import Resources
from transport import PID, Node, Process

WAIT = 30.0
AGENT_ID = "M1-S1"
T = TypeVar("T")


class FakeMaster(Process):
    """Stands in for the master; see the module docstring."""

    def __init__(self, node: Node) -> None:
        super().__init__(node, "master")
        self.cond = threading.Condition()
        self.seen: list[tuple[PID, Any]] = []
        self.auto_register = True
        self.auto_ack = True
        self.agent: PID | None = None

    def on_receive(self, message: Any) -> Any:  # record everything, then dispatch
        if type(message) is list:
            with self.cond:
                self.seen.extend((frm, msg) for frm, msg, _ in message)
                self.cond.notify_all()
        return super().on_receive(message)

    def unhandled(self, frm: PID, msg: Any) -> None:
        if isinstance(msg, RegisterAgent) and self.auto_register:
            self.agent = frm
            self.send(frm, AgentRegistered(agent_id=AGENT_ID))
        elif isinstance(msg, ReregisterAgent) and self.auto_register:
            self.agent = frm
            self.send(frm, AgentReregistered(agent_id=msg.agent_info.id))
        elif isinstance(msg, StatusUpdate) and self.auto_ack and msg.update.uuid:
            self.ack(msg)

    def ack(self, msg: StatusUpdate) -> None:
        upd = msg.update
        assert self.agent is not None
        self.send(self.agent, StatusUpdateAcknowledgement(
            agent_id=upd.agent_id, framework_id=upd.framework_id,
            task_id=upd.status.task_id, uuid=upd.uuid))

    def wait_for(self, kind: type[T], where: Callable[[T], bool] = lambda m: True,
                 timeout: float = WAIT, count: int = 1) -> list[T]:
        """The first ``count`` messages of ``kind`` matching ``where`` (waiting for them)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = [m for _, m in self.seen if isinstance(m, kind) and where(m)]
                if len(found) >= count:
                    return found[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {count} x {kind.__name__} within {timeout}s; "
                                         f"seen {[type(m).__name__ for _, m in self.seen]}")
                self.cond.wait(left)

    def updates(self, task_id: str) -> list[TaskState]:
        with self.cond:
            return [m.update.status.state for _, m in self.seen
                    if isinstance(m, StatusUpdate) and m.update.status.task_id == task_id]

    def wait_state(self, task_id: str, state: TaskState, timeout: float = WAIT) -> StatusUpdate:
        return self.wait_for(StatusUpdate, lambda m: m.update.status.task_id == task_id
                             and m.update.status.state is state, timeout)[0]


class Cluster:
    """A fake master and the agents started against it."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.nodes: list[Node] = []
        self.master_node = self.node()
        self.master_node.spawn(FakeMaster)
        master = self.master_node.processes["master"]
        assert isinstance(master, FakeMaster)
        self.master = master
        self.agents: list[AgentActor] = []

    def node(self, **kwargs: Any) -> Node:
        node = Node("127.0.0.1", 0, **kwargs).start()
        self.nodes.append(node)
        return node

    def make_agent(self, wait_registered: bool = True, **overrides: Any) -> AgentActor:
        """Start an agent; by default return once it has handled ``AgentRegistered``."""
        node = self.node(http_port=0)
        registered = node.hooks.expect(AgentRegistered)
        settings: dict[str, Any] = dict(
            ip="127.0.0.1", port=node.port, master=self.master.pid,
            work_dir=str(self.tmp_path / "work"),
            resources=Resources.parse("cpus:2;mem:1024;disk:2048;ports:[31000-31010]"),
            registration_backoff_factor=0.01, executor_shutdown_grace_period=2.0,
            switch_user=False)  # the frameworks here name made-up users ("tester")
        settings.update(overrides)
        ref = node.spawn(AgentActor, AgentConfig(**settings))
        if wait_registered:
            registered.result(WAIT)  # arrived at the node: the actor may not have handled it
            proxy = ref.proxy()
            assert eventually(lambda: bool(proxy.registered.get(timeout=WAIT)))
        agent = node.processes["agent"]
        assert isinstance(agent, AgentActor)
        self.agents.append(agent)
        return agent

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.stop()


FRAMEWORK = FrameworkInfo(user="tester", name="test framework", id="M1-0001")


def command_task(task_id: str, value: str, **kwargs: Any) -> TaskInfo:
    return TaskInfo(name=task_id, task_id=task_id, agent_id=AGENT_ID,
                    resources=Resources.parse("cpus:0.1;mem:32"),
                    command=CommandInfo(value=value), **kwargs)


def run_task(cluster: Cluster, agent: AgentActor, task: TaskInfo,
             framework: FrameworkInfo = FRAMEWORK) -> None:
    cluster.master_node.send(cluster.master.pid, agent.pid,
                             RunTask(framework_info=framework, task=task))


HERE = os.path.dirname(os.path.abspath(__file__))


def custom_task(task_id: str, module: str, executor_id: str = "custom") -> TaskInfo:
    """A task for a ``python -m <module>`` executor found in this test directory."""
    command = CommandInfo(value=f"{sys.executable} -m {module}",
                          environment=Environment.of({"PYTHONPATH": HERE}))
    return TaskInfo(name=task_id, task_id=task_id, agent_id=AGENT_ID,
                    executor=ExecutorInfo(executor_id=executor_id, framework_id=FRAMEWORK.id,
                                          command=command))


def state(agent: AgentActor) -> dict[str, Any]:
    """The agent's /state document, read on its own thread."""
    result: dict[str, Any] = agent.actor_ref.proxy().state().get(timeout=WAIT)
    return result


def executor_pids(agent: AgentActor, count: int = 1) -> list[int]:
    """The OS pids of the agent's live executors, once there are ``count`` of them."""
    deadline = time.monotonic() + WAIT
    while True:
        pids = [e["pid"] for f in state(agent)["frameworks"] for e in f["executors"]
                if e["pid"] is not None and e["state"] != "TERMINATED"]
        if len(pids) >= count or time.monotonic() > deadline:
            return pids
        time.sleep(0.02)


def send(cluster: Cluster, agent: AgentActor, msg: Any) -> None:
    """Deliver ``msg`` to the agent as if the master sent it."""
    cluster.master_node.send(cluster.master.pid, agent.pid, msg)


def eventually(check: Callable[[], bool], timeout: float = WAIT) -> bool:
    """Poll ``check`` until it holds (True) or ``timeout`` passes (False)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
