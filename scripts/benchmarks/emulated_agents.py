"""Emulated agents and benchmark frameworks for ``scripts/bench failover``, one OS process each.

``python scripts/benchmarks/emulated_agents.py agents --zk=URL --count=K`` runs K
lightweight agents in one process: each is a ``transport.Process`` (its own PID,
``agent(N)@host:port``) speaking the real agent <-> master protocol — ``RegisterAgent``
then ``ReregisterAgent`` with its tasks, answered by ``AgentRegistered`` /
``AgentReregistered``; ``PingAgent`` -> ``PongAgent``; ``RunTask`` answered with a
reliable TASK_RUNNING ``StatusUpdate`` — but no sandbox, executor or process. Like the
real agent (``actors.agent.registration``) each one follows the leading master and ignores
every other master, waits a random delay in [0, ``--registration_backoff_factor``]
(default: the agent's, 1 s) after a leader change before it registers, and retries with
the same doubling backoff. The process shares one ZooKeeper session (a
``LeaderFollower``) among its agents, where real agents hold one each.

``... frameworks --zk=URL --count=K --prefix=P`` runs K real ``SchedulerDriver``s, each
launching one tiny task on its first offer and declining the rest.

Both print one JSON object per line on stdout (logs go to stderr): ``{"e": "ready"}``,
then ``registered`` / ``reregistered`` (``who``, ``master``, wall-clock ``t``) and, for
frameworks, ``status`` (``task``, ``state``, ``t``). They run until killed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import threading
import time
from typing import Any, cast

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from actors.agent.config import (
    DEFAULT_REGISTRATION_BACKOFF_FACTOR,
    REGISTRATION_RETRY_INTERVAL_MAX,
)
from actors.agent.tasks import agent_update
from actors.ha.follow import LeaderFollower
from actors.messages import (
    AgentInfo,
    AgentRegistered,
    AgentReregistered,
    CommandInfo,
    Filters,
    FrameworkInfo,
    MasterInfo,
    Offer,
    PingAgent,
    PongAgent,
    RegisterAgent,
    ReregisterAgent,
    RunTask,
    StatusUpdate,
    StatusUpdateAcknowledgement,
    Task,
    TaskInfo,
    TaskState,
    TaskStatus,
)
from actors.resources import Resources
from frameworks.scheduler import Scheduler
from frameworks.scheduler_driver import SchedulerDriver
from transport import PID, Node, Process, Timer, handles
from transport.logs import configure

AGENT_RESOURCES = "cpus:8;mem:16384;disk:100000;ports:[31000-32000]"
TASK_RESOURCES = "cpus:0.01;mem:1"
_print_lock = threading.Lock()


def report(event: str, **fields: Any) -> None:
    with _print_lock:
        sys.stdout.write(json.dumps({"e": event, **fields}) + "\n")
        sys.stdout.flush()


class EmulatedAgent(Process):
    """One agent without executors; see the module docstring."""

    def __init__(self, node: Node, index: int, backoff_factor: float) -> None:
        super().__init__(node, f"agent({index})")
        self.info = AgentInfo(hostname=node.host, port=node.port,
                              resources=Resources.parse(AGENT_RESOURCES))
        self.backoff_factor = backoff_factor
        self.master: PID | None = None
        self.agent_id = ""
        self.registered = False
        self.tasks: dict[tuple[str, str], Task] = {}
        self.frameworks: dict[str, FrameworkInfo] = {}
        self._retry: Timer | None = None
        self._backoff = 0.0

    # --- leader changes and registration (as actors.agent.registration) ---------------

    def leader_changed(self, leader: PID | None) -> None:
        if leader == self.master:
            return
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        self.master, self.registered = leader, False
        if leader is not None:
            self._backoff = self.backoff_factor * 2
            self._retry = self.delay(random.uniform(0, self.backoff_factor), self._register)

    def _register(self) -> None:
        self._retry = None
        if self.registered or self.master is None:
            return
        if not self.agent_id:
            self.send(self.master, RegisterAgent(agent_info=self.info))
        else:
            self.send(self.master, ReregisterAgent(
                agent_info=self.info, tasks=tuple(self.tasks.values()),
                frameworks=tuple(self.frameworks.values())))
        bound = max(0.05, self._backoff)
        self._backoff = min(REGISTRATION_RETRY_INTERVAL_MAX, bound * 2)
        self._retry = self.delay(random.uniform(0, bound), self._register)

    def _from_leader(self, frm: PID) -> bool:
        return self.master is not None and frm == self.master

    @handles(AgentRegistered)
    def _on_registered(self, frm: PID, msg: AgentRegistered) -> None:
        self._connected(frm, msg.agent_id, "registered")

    @handles(AgentReregistered)
    def _on_reregistered(self, frm: PID, msg: AgentReregistered) -> None:
        self._connected(frm, msg.agent_id, "reregistered")

    def _connected(self, frm: PID, agent_id: str, event: str) -> None:
        if not self._from_leader(frm) or self.registered:
            return
        self.registered, self.agent_id = True, agent_id
        self.info = AgentInfo(id=agent_id, hostname=self.info.hostname, port=self.info.port,
                              resources=self.info.resources)
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        report(event, who=str(self.pid), master=str(frm), t=time.time())

    @handles(PingAgent)
    def _on_ping(self, frm: PID, msg: PingAgent) -> None:
        if self._from_leader(frm):
            self.send(frm, PongAgent())

    # --- tasks: running at once, nothing behind them ----------------------------------

    @handles(RunTask)
    def _on_run_task(self, frm: PID, msg: RunTask) -> None:
        if not self._from_leader(frm) or not self.registered:
            return
        info = msg.task
        framework_id = msg.framework_info.id
        self.frameworks[framework_id] = msg.framework_info
        update = agent_update(framework_id, info.task_id, TaskState.TASK_RUNNING,
                              agent_id=self.agent_id, executor_id=info.task_id,
                              now=time.time())
        self.tasks[(framework_id, info.task_id)] = Task(
            name=info.name, task_id=info.task_id, framework_id=framework_id,
            agent_id=self.agent_id, state=TaskState.TASK_RUNNING, executor_id=info.task_id,
            resources=info.resources, statuses=(update.status,))
        self.send(frm, StatusUpdate(update=update, pid=self.pid))

    @handles(StatusUpdateAcknowledgement)
    def _on_ack(self, frm: PID, msg: StatusUpdateAcknowledgement) -> None:
        pass  # one update per task: nothing waits behind it


class OneTask(Scheduler):
    """Launches one tiny task on its first offer; declines everything else for long."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.framework_id = ""
        self.launched = False

    def registered(self, driver: SchedulerDriver, framework_id: str,
                   master_info: MasterInfo) -> None:
        self.framework_id = framework_id
        report("registered", who=framework_id, master=str(master_info.pid), t=time.time())

    def reregistered(self, driver: SchedulerDriver, master_info: MasterInfo) -> None:
        report("reregistered", who=self.framework_id, master=str(master_info.pid),
               t=time.time())

    def resource_offers(self, driver: SchedulerDriver, offers: list[Offer]) -> None:
        for offer in offers:
            if self.launched:
                driver.decline_offer(offer.id, Filters(refuse_seconds=3600))
                continue
            self.launched = True
            task_id = f"{self.name}-task"
            driver.launch_tasks([offer.id], [TaskInfo(
                name=task_id, task_id=task_id, agent_id=offer.agent_id,
                resources=Resources.parse(TASK_RESOURCES), command=CommandInfo(value="true"))],
                Filters(refuse_seconds=3600))

    def status_update(self, driver: SchedulerDriver, status: TaskStatus) -> None:
        report("status", who=self.framework_id, task=status.task_id, state=status.state.name,
               t=time.time())


def run_agents(args: argparse.Namespace) -> None:
    node = Node("127.0.0.1", 0, cpu_affinity="none").start()
    agents = [node.spawn(EmulatedAgent, i, args.registration_backoff_factor).proxy()
              for i in range(1, args.count + 1)]
    actors = [cast(EmulatedAgent, node.processes[f"agent({i})"])
              for i in range(1, args.count + 1)]
    for proxy in agents:
        proxy.pid.get(timeout=60)

    def on_leader(pid: PID | None) -> None:
        for actor in actors:
            actor._post(actor.leader_changed, pid)

    follower = LeaderFollower(args.zk, on_leader).start()
    report("ready")
    _wait_for_signal()
    follower.stop()
    node.stop()


def run_frameworks(args: argparse.Namespace) -> None:
    drivers = []
    for i in range(args.count):
        name = f"{args.prefix}{i}"
        driver = SchedulerDriver.create(OneTask(name), FrameworkInfo(user="", name=name),
                                        args.zk)
        driver.start()
        drivers.append(driver)
    report("ready")
    _wait_for_signal()
    for driver in drivers:
        driver.close()


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(1.0):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("role", choices=("agents", "frameworks"))
    parser.add_argument("--zk", required=True, help="zk://host:port/path of the masters")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--prefix", default="bench-fw", help="framework names (frameworks)")
    parser.add_argument("--registration_backoff_factor", type=float,
                        default=DEFAULT_REGISTRATION_BACKOFF_FACTOR,
                        help="seconds (agents; default the agent's)")
    parser.add_argument("--log_level", default="warning")
    args = parser.parse_args(argv)
    configure(args.log_level)
    if args.role == "agents":
        run_agents(args)
    else:
        run_frameworks(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
