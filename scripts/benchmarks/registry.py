"""Registry benchmark: the time to admit N agents, one write each vs through the master's worker.

Run by the ``scripts/bench`` dispatcher as ``benchmarks.registry.main(argv)``. Two runs on
a fresh sqlite registry each (``synchronous=FULL``, in a temporary directory):

- ``sync``: ``Registrar.apply(AdmitAgent)`` N times in a row -- what the master did on its
  own thread before the ``RegistrarWorker`` (one storage write per registration; the
  master handled nothing else meanwhile);
- ``master``: a real ``MasterActor`` (with its allocator) on an in-process node gets N
  ``RegisterAgent`` at once from N agent names served by one sink process; the time runs
  until the sink holds N ``AgentRegistered``. The worker batches what queued up while it
  wrote (``batches`` storage writes in all).

Prints one JSON line, the last line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import structlog

from actors.allocator.actor import AllocatorActor
from actors.allocator.config import AllocatorConfig
from actors.master.actor import MasterActor
from actors.master.config import MasterConfig
from actors.messages import AgentInfo, AgentRegistered, RegisterAgent
from actors.registry import AdmitAgent, Registrar
from actors.registry.sqlite import SqliteStorage
from actors.resources import Resources
from transport import PID, Node, Process
from transport.clock import RealClock

RESOURCES = Resources.parse("cpus:24;mem:4096;disk:4096;ports:[31000-32000]")


def _info(i: int, agent_id: str = "") -> AgentInfo:
    return AgentInfo(id=agent_id, hostname=f"host{i}", resources=RESOURCES)


def run_sync(agents: int, directory: Path) -> dict[str, Any]:
    storage = SqliteStorage(directory / "sync.db")
    try:
        registrar = Registrar(storage, RealClock())
        registrar.recover()
        started = time.perf_counter()
        for i in range(agents):
            registrar.apply(AdmitAgent(_info(i, f"S{i}")))
        took = time.perf_counter() - started
    finally:
        storage.close()
    return {"seconds": round(took, 3), "writes": agents,
            "per_agent_ms": round(took * 1000 / agents, 3)}


class _Sink(Process):
    """Answers to ``agent0``... ``agentN-1``; counts the ``AgentRegistered`` it gets."""

    def __init__(self, node: Node, agents: int, done: threading.Event) -> None:
        super().__init__(node, "sink")
        self.pids = [node.register(self, f"agent{i}") for i in range(agents)]
        self.expected = agents
        self.done = done
        self.registered = 0

    def unhandled(self, frm: PID, msg: Any) -> None:
        if isinstance(msg, AgentRegistered):
            self.registered += 1
            if self.registered == self.expected:
                self.done.set()


def run_master(agents: int, directory: Path) -> dict[str, Any]:
    storage = SqliteStorage(directory / "master.db")
    node = Node(http_port=0, cpu_affinity="none").start()
    try:
        done = threading.Event()
        sink_ref = node.spawn(_Sink, agents, done)
        sink = node.processes["sink"]
        assert isinstance(sink, _Sink)
        master_pid = node.pid("master")
        node.spawn(AllocatorActor, master_pid, AllocatorConfig())
        ref = node.spawn(MasterActor, MasterConfig(port=0), master_id="bench",
                         registrar=Registrar(storage, node.clock))
        master = node.processes["master"]
        assert isinstance(master, MasterActor)
        ref.proxy().pid.get(timeout=30)
        deadline = time.monotonic() + 30
        while not master.recovered and time.monotonic() < deadline:
            time.sleep(0.01)  # the benchmark's own start-up, not measured
        started = time.perf_counter()
        for i, pid in enumerate(sink.pids):
            node.send(pid, master_pid, RegisterAgent(agent_info=_info(i)))
        if not done.wait(600):
            raise RuntimeError(f"only {sink.registered} of {agents} agents registered")
        took = time.perf_counter() - started
        worker = master.registry_worker
        assert worker is not None
        sink_ref.stop()
        return {"seconds": round(took, 3), "writes": worker.batches - 1,
                "per_agent_ms": round(took * 1000 / agents, 3)}
    finally:
        node.stop()
        storage.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench registry", description=__doc__)
    parser.add_argument("--agents", type=int, default=1000)
    args = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    with tempfile.TemporaryDirectory(prefix="meseta-bench-registry-") as tmp:
        sync = run_sync(args.agents, Path(tmp))
        master = run_master(args.agents, Path(tmp))
    result = {"benchmark": "registry", "backend": "sqlite", "agents": args.agents,
              "sync": sync, "master": master,
              "speedup": round(sync["seconds"] / max(master["seconds"], 1e-9), 2)}
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
