"""Reading the agent's checkpoint back: ``recover(work_dir, strict)`` -> ``RecoveredState``.

The inverse of ``checkpoint`` (which documents the layout), modelled on Mesos'
``src/slave/state.cpp``. ``AgentActor`` (``recovering``) calls ``recover`` once, before
it registers, and decides what to do with what it found; this module only reads.

- No ``meta/agents/latest`` link: nothing to recover (a first start, or a rebooted
  agent that chose to start afresh).
- A missing or empty file is not an error (Mesos: the machine may have crashed
  between creating and syncing it); the entry it belongs to is skipped.
- A file that cannot be decoded, or a ``task.updates`` frame whose checksum is wrong,
  is an error: with ``strict`` (``--strict``, the default) ``recover`` raises a
  ``RecoveryError`` naming the file (the agent then exits); without it the entry is
  skipped and the error listed in ``RecoveredState.errors``.
- A torn last frame of ``task.updates`` (a crash while appending) is tolerated: the
  stream is read up to it and the file truncated there, so later appends stay
  readable.
- After a reboot (``meta/boot_id`` differs from the machine's) the executors' pids are
  not read: those processes are gone.

``process_alive(pid, create_time)`` says whether a checkpointed executor process is
still the same live process (not a zombie, not a reused pid).
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgpack
import psutil

from actors.agent import checkpoint as paths
from actors.messages.info import AgentInfo, FrameworkInfo
from actors.messages.tasks import (
    ExecutorInfo,
    StatusUpdateInfo,
    StatusUpdateRecord,
    StatusUpdateRecordType,
    TaskInfo,
)
from transport.codec import decode_message
from transport.errors import MesetaError
from transport.pid import PID

__all__ = [
    "AgentCheckpoint",
    "ExecutorCheckpoint",
    "FrameworkCheckpoint",
    "RecoveredState",
    "RecoveryError",
    "RunCheckpoint",
    "TaskCheckpoint",
    "process_alive",
    "process_create_time",
    "read_updates",
    "recover",
]

T = TypeVar("T")
CREATE_TIME_TOLERANCE = 0.05
"""Seconds two readings of a process's creation time may differ by (clock ticks)."""


class RecoveryError(MesetaError):
    """The checkpoint is corrupt (or incompatible) and ``--strict`` forbids skipping it."""


@dataclass(slots=True)
class TaskCheckpoint:
    task_id: str
    info: TaskInfo
    updates: list[StatusUpdateInfo] = field(default_factory=list)
    acks: list[bytes] = field(default_factory=list)


@dataclass(slots=True)
class RunCheckpoint:
    run_id: str
    forked_pid: int | None = None
    create_time: float | None = None
    libprocess_pid: PID | None = None
    completed: bool = False
    """The run's ``executor.sentinel`` exists: the executor exited."""
    tasks: dict[str, TaskCheckpoint] = field(default_factory=dict)


@dataclass(slots=True)
class ExecutorCheckpoint:
    executor_id: str
    info: ExecutorInfo
    latest: str | None = None
    """The latest run's id (only that run is recovered, as in Mesos)."""
    runs: dict[str, RunCheckpoint] = field(default_factory=dict)


@dataclass(slots=True)
class FrameworkCheckpoint:
    framework_id: str
    info: FrameworkInfo
    pid: PID | None = None
    executors: dict[str, ExecutorCheckpoint] = field(default_factory=dict)


@dataclass(slots=True)
class AgentCheckpoint:
    info: AgentInfo
    frameworks: dict[str, FrameworkCheckpoint] = field(default_factory=dict)

    @property
    def agent_id(self) -> str:
        return self.info.id


@dataclass(slots=True)
class RecoveredState:
    boot_id: str = ""
    """The checkpointed boot id ("" if none)."""
    rebooted: bool = False
    agent: AgentCheckpoint | None = None
    errors: list[str] = field(default_factory=list)


class _Reader:
    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.errors: list[str] = []

    def error(self, path: str, why: str) -> None:
        message = f"{path}: {why}"
        if self.strict:
            raise RecoveryError(f"corrupt checkpoint {message}")
        self.errors.append(message)

    def raw(self, path: str) -> Any | None:
        """The msgpack value in ``path``; None if missing/empty or (non-strict) corrupt."""
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self.error(path, str(exc))
            return None
        if not data:
            return None
        try:
            return msgpack.unpackb(data, raw=False)
        except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
            self.error(path, f"not a checkpoint record ({exc})")
            return None

    def record(self, path: str, cls: type[T]) -> T | None:
        data = self.raw(path)
        if data is None:
            return None
        try:
            value: T = decode_message(cls, data)
        except MesetaError as exc:
            self.error(path, f"not a {cls.__name__} ({exc})")
            return None
        return value

    def text(self, path: str) -> str | None:
        data = self.raw(path)
        if data is not None and not isinstance(data, str):
            self.error(path, "not a string")
            return None
        return data

    def pid(self, path: str) -> PID | None:
        text = self.text(path)
        if text is None:
            return None
        try:
            return PID.parse(text)
        except ValueError as exc:
            self.error(path, str(exc))
            return None


def recover(work_dir: str, strict: bool = True, boot_id: str | None = None) -> RecoveredState:
    """Read ``<work_dir>/meta``; see the module docstring. ``RecoveryError`` if strict."""
    reader = _Reader(strict)
    state = RecoveredState()
    current = paths.current_boot_id() if boot_id is None else boot_id
    state.boot_id = reader.text(paths.boot_id_path(work_dir)) or ""
    state.rebooted = bool(state.boot_id) and state.boot_id != current
    latest = paths.latest_agent_link(work_dir)
    if os.path.islink(latest) or os.path.isdir(latest):
        agent_id = os.path.basename(os.path.realpath(latest))
        root = paths.agent_dir(work_dir, agent_id)
        info = reader.record(os.path.join(root, "agent.info"), AgentInfo)
        if info is not None:
            state.agent = AgentCheckpoint(info=info)
            for framework_id in _entries(os.path.join(root, "frameworks")):
                framework = _framework(reader, work_dir, agent_id, framework_id,
                                       state.rebooted)
                if framework is not None:
                    state.agent.frameworks[framework_id] = framework
    state.errors = reader.errors
    return state


def _entries(directory: str) -> list[str]:
    try:
        return sorted(e for e in os.listdir(directory)
                      if os.path.isdir(os.path.join(directory, e))
                      and not os.path.islink(os.path.join(directory, e)))
    except OSError:
        return []


def _framework(reader: _Reader, work_dir: str, agent_id: str, framework_id: str,
               rebooted: bool) -> FrameworkCheckpoint | None:
    root = paths.framework_dir(work_dir, agent_id, framework_id)
    info = reader.record(os.path.join(root, "framework.info"), FrameworkInfo)
    if info is None:
        return None
    framework = FrameworkCheckpoint(framework_id, info,
                                    reader.pid(os.path.join(root, "framework.pid")))
    for executor_id in _entries(os.path.join(root, "executors")):
        executor = _executor(reader, work_dir, (agent_id, framework_id, executor_id), rebooted)
        if executor is not None:
            framework.executors[executor_id] = executor
    return framework


def _executor(reader: _Reader, work_dir: str, ids: tuple[str, str, str],
              rebooted: bool) -> ExecutorCheckpoint | None:
    root = paths.executor_dir(work_dir, *ids)
    info = reader.record(os.path.join(root, "executor.info"), ExecutorInfo)
    if info is None:
        return None
    executor = ExecutorCheckpoint(ids[2], info)
    link = os.path.join(root, "runs", "latest")
    if os.path.islink(link):
        executor.latest = os.readlink(link)
    for run_id in _entries(os.path.join(root, "runs")):
        executor.runs[run_id] = _run(reader, os.path.join(root, "runs", run_id), run_id,
                                     rebooted)
    return executor


def _run(reader: _Reader, root: str, run_id: str, rebooted: bool) -> RunCheckpoint:
    run = RunCheckpoint(run_id, completed=os.path.exists(os.path.join(root, "executor.sentinel")))
    if not rebooted:
        forked = reader.raw(os.path.join(root, "pids", "forked.pid"))
        if isinstance(forked, dict) and isinstance(forked.get("pid"), int):
            run.forked_pid = forked["pid"]
            created = forked.get("create_time")
            run.create_time = float(created) if isinstance(created, (int, float)) else None
        elif forked is not None:
            reader.error(os.path.join(root, "pids", "forked.pid"), "not a forked pid record")
        run.libprocess_pid = reader.pid(os.path.join(root, "pids", "libprocess.pid"))
    for task_id in _entries(os.path.join(root, "tasks")):
        task_root = os.path.join(root, "tasks", task_id)
        info = reader.record(os.path.join(task_root, "task.info"), TaskInfo)
        if info is None:
            continue
        task = TaskCheckpoint(task_id, info)
        path = os.path.join(task_root, "task.updates")
        try:
            records, good, corrupt = read_updates(path)
        except OSError as exc:
            reader.error(path, str(exc))
            continue
        if corrupt:
            reader.error(path, corrupt)
            continue
        _truncate(path, good)
        for rec in records:
            if rec.type is StatusUpdateRecordType.UPDATE and rec.update is not None:
                task.updates.append(rec.update)
            elif rec.type is StatusUpdateRecordType.ACK:
                task.acks.append(rec.uuid)
        run.tasks[task_id] = task
    return run


def read_updates(path: str) -> tuple[list[StatusUpdateRecord], int, str]:
    """``(records, length of the good prefix, why it is corrupt or "")``; a torn tail is ok."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return [], 0, ""
    records: list[StatusUpdateRecord] = []
    offset = 0
    header = paths.FRAME_HEADER
    while offset + header.size <= len(data):
        size, crc = header.unpack_from(data, offset)
        end = offset + header.size + size
        if end > len(data):
            break  # torn last frame
        body = data[offset + header.size:end]
        if zlib.crc32(body) != crc:
            return records, offset, f"bad checksum in the record at byte {offset}"
        try:
            records.append(decode_message(StatusUpdateRecord, msgpack.unpackb(body, raw=False)))
        except (ValueError, MesetaError, msgpack.ExtraData, msgpack.FormatError,
                msgpack.StackError) as exc:
            return records, offset, f"bad record at byte {offset} ({exc})"
        offset = end
    return records, offset, ""


def _truncate(path: str, length: int) -> None:
    try:
        if os.path.getsize(path) > length:
            os.truncate(path, length)
    except OSError:
        pass


def process_create_time(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def process_alive(pid: int, create_time: float | None) -> bool:
    """``pid`` runs (not a zombie) and, if ``create_time`` is known, is that process."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        created = proc.create_time()
    except psutil.Error:
        return False
    return create_time is None or abs(created - create_time) <= CREATE_TIME_TOLERANCE
