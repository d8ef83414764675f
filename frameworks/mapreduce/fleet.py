"""What the mapreduce scheduler knows of its executors, and the worker task it launches.

``worker_task(offer, config, n)`` is pure: the ``n``-th executor's record and its
``TaskInfo`` (``cpus`` = slots, the most of ``cores_per_executor`` the offer has, whole
cpus only; ``mem`` = ``executor_memory``), or ``None`` when the offer is too small —
fewer than ``min_executor_cores`` cpus (set it to ``cores_per_executor`` for executors
of one fixed size, as Spark's ``spark.executor.cores``: a small executor launched on a
busy agent's leftovers stays small for the whole job). The
executor is ``<python> -m frameworks.mapreduce.executor`` with this project on its
``PYTHONPATH``, so the agent's warm launcher starts it in milliseconds.
``MapReduceScheduler`` calls it on offers and keeps the records.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass

from actors.messages import CommandInfo, Environment, ExecutorInfo, Offer, TaskInfo, TaskState

__all__ = ["Config", "ExecutorRecord", "running_pid", "worker_task"]

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass(frozen=True)
class Config:
    """The scheduler's knobs (the CLI's flags)."""

    max_executors: int = 4
    cores_per_executor: int = 2
    min_executor_cores: int = 1
    """Offers with fewer whole cpus than this are not used (declined)."""
    executor_memory: float = 256.0
    """MB per executor (the worker task's ``mem``)."""
    item_timeout: float = 60.0
    """Seconds a result may take before its item is sent again."""
    stop_timeout: float = 30.0
    """Seconds executors get to finish after ``stop`` before their tasks are killed."""
    roles: tuple[str, ...] = ("*",)
    """Roles to suppress and revive (the framework's)."""
    python: str = sys.executable
    """The interpreter the agents start executors with."""


@dataclass
class ExecutorRecord:
    """One executor we launched, and its worker task."""

    executor_id: str
    task_id: str
    agent_id: str
    slots: int
    running: bool = False
    pid: int = 0
    """From its TASK_RUNNING message (0 until then)."""
    ended: TaskState | None = None
    """The worker task's terminal state (or TASK_LOST): no longer live."""


def worker_task(offer: Offer, config: Config, n: int) -> tuple[ExecutorRecord, TaskInfo] | None:
    """The ``n``-th executor's record and worker task on ``offer``, if it fits."""
    slots = math.floor(min(float(config.cores_per_executor), offer.resources.get("cpus")))
    # find: from our role's reservation or unreserved resources
    want = offer.resources.find({"cpus": slots, "mem": config.executor_memory})
    if slots < max(1, config.min_executor_cores) or want is None:
        return None
    record = ExecutorRecord(f"executor-{n}", f"worker-{n}", offer.agent_id, slots)
    executor = ExecutorInfo(
        executor_id=record.executor_id, name="mapreduce executor",
        command=CommandInfo(value=f"{config.python} -m frameworks.mapreduce.executor",
                            environment=Environment.of({"PYTHONPATH": PROJECT_ROOT})))
    return record, TaskInfo(name=f"mapreduce {record.task_id}", task_id=record.task_id,
                            agent_id=offer.agent_id, resources=want, executor=executor)


def running_pid(message: str) -> int:
    """The executor's pid from its TASK_RUNNING message (``pid <pid> slots <n>``), or 0."""
    words = message.split()
    return int(words[1]) if len(words) >= 2 and words[0] == "pid" and words[1].isdigit() else 0
