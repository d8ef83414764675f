"""Where and how the agent checkpoints: the ``meta/`` layout and atomic writes.

The layout follows Mesos' ``src/slave/paths.hpp`` with "agents" for "slaves"::

    <work_dir>/meta/
      boot_id
      agents/latest -> <agent_id>
      agents/<agent_id>/agent.info
        frameworks/<framework_id>/framework.info, framework.pid
          executors/<executor_id>/executor.info
            runs/latest -> <run_id>
            runs/<run_id>/executor.sentinel        (the run is over)
              pids/forked.pid, pids/libprocess.pid
              tasks/<task_id>/task.info, task.updates

Records (``agent.info``, ``framework.info``, ``executor.info``, ``task.info``) are the
messages' msgpack maps (``transport.codec``); ``forked.pid`` is ``{"pid", "create_time"}``
(the creation time guards against pid reuse); ``libprocess.pid`` and ``framework.pid``
are PID strings. Each file is written whole and atomically (a temporary file, fsync,
rename; the directory is not fsynced: Mesos' ``state::checkpoint`` does not sync at all
by default, and a file lost by a machine crash reads as missing, which recovery
tolerates). ``task.updates`` is the status update manager's
stream: ``StatusUpdateRecord``s (UPDATE / ACK) appended as frames of a 4-byte length,
a 4-byte CRC32 and the msgpack body, fsynced; ``recovery`` reads it back and
tolerates a torn last frame.

``AgentActor`` (``recovering``, ``running``) calls these functions; ``recovery`` reads
the tree. Nothing here holds state.
"""

from __future__ import annotations

import os
import struct
import zlib
from typing import Any

import msgpack

from actors.messages.tasks import StatusUpdateRecord
from transport.codec import encode_message

__all__ = [
    "BOOT_ID_ENV",
    "FRAME_HEADER",
    "agent_dir",
    "agents_dir",
    "append_update_record",
    "boot_id_path",
    "current_boot_id",
    "executor_dir",
    "framework_dir",
    "latest_agent_link",
    "meta_dir",
    "pack_record",
    "run_dir",
    "task_dir",
    "write_atomic",
    "write_link",
    "write_record",
]

BOOT_ID_ENV = "MESETA_BOOT_ID"
"""Test aid: when set, the agent takes this as the machine's boot id (a "reboot")."""

FRAME_HEADER = struct.Struct(">II")
"""A ``task.updates`` frame: body length and CRC32 of the body."""


# --- paths ------------------------------------------------------------------------------


def meta_dir(work_dir: str) -> str:
    return os.path.join(work_dir, "meta")


def boot_id_path(work_dir: str) -> str:
    return os.path.join(meta_dir(work_dir), "boot_id")


def agents_dir(work_dir: str) -> str:
    return os.path.join(meta_dir(work_dir), "agents")


def latest_agent_link(work_dir: str) -> str:
    return os.path.join(agents_dir(work_dir), "latest")


def agent_dir(work_dir: str, agent_id: str) -> str:
    return os.path.join(agents_dir(work_dir), agent_id)


def framework_dir(work_dir: str, agent_id: str, framework_id: str) -> str:
    return os.path.join(agent_dir(work_dir, agent_id), "frameworks", framework_id)


def executor_dir(work_dir: str, agent_id: str, framework_id: str, executor_id: str) -> str:
    return os.path.join(framework_dir(work_dir, agent_id, framework_id), "executors",
                        executor_id)


def run_dir(work_dir: str, agent_id: str, framework_id: str, executor_id: str,
            run_id: str) -> str:
    return os.path.join(executor_dir(work_dir, agent_id, framework_id, executor_id), "runs",
                        run_id)


def task_dir(work_dir: str, agent_id: str, framework_id: str, executor_id: str, run_id: str,
             task_id: str) -> str:
    return os.path.join(run_dir(work_dir, agent_id, framework_id, executor_id, run_id),
                        "tasks", task_id)


def current_boot_id(environ: dict[str, str] | None = None,
                    source: str = "/proc/sys/kernel/random/boot_id") -> str:
    """The machine's boot id (``MESETA_BOOT_ID`` overrides it, for tests); "" if unknown."""
    env = os.environ if environ is None else environ
    if env.get(BOOT_ID_ENV):
        return env[BOOT_ID_ENV].strip()
    try:
        with open(source, encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return ""


# --- writing ----------------------------------------------------------------------------


def write_atomic(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data``: never a half-written file, durable on return."""
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_record(path: str, record: Any) -> None:
    """Checkpoint a message/record (its codec map as msgpack), or a str/dict as is."""
    value = record if isinstance(record, (str, dict)) else encode_message(record)
    write_atomic(path, msgpack.packb(value, use_bin_type=True))


def write_link(link: str, target: str) -> None:
    """Point the symlink ``link`` at ``target`` (a sibling's name), atomically."""
    os.makedirs(os.path.dirname(link), exist_ok=True)
    tmp = f"{link}.tmp.{os.getpid()}"
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    os.symlink(target, tmp)
    os.replace(tmp, link)


def pack_record(record: StatusUpdateRecord) -> bytes:
    """One ``task.updates`` frame."""
    body: bytes = msgpack.packb(encode_message(record), use_bin_type=True)
    return FRAME_HEADER.pack(len(body), zlib.crc32(body)) + body


def append_update_record(path: str, record: StatusUpdateRecord) -> None:
    """Append an UPDATE or ACK to a task's stream and fsync it."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, pack_record(record))
        os.fsync(fd)
    finally:
        os.close(fd)
