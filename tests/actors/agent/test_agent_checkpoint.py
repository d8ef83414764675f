"""Pure tests of the agent's checkpoint: writing (``checkpointer``), reading (``recovery``)
and the status update manager's recovered streams. Temporary directories, no actors."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psutil
import pytest

from actors.agent import checkpoint as paths
from actors.agent.checkpointer import Checkpointer
from actors.agent.executors import ExecutorRecord, FrameworkRecord
from actors.agent.recovery import RecoveryError, process_alive, read_updates, recover
from actors.agent.sandbox import Sandbox
from actors.agent.status_updates import StatusUpdateManager
from actors.agent.tasks import agent_update
from actors.messages import (
    AgentInfo,
    CommandInfo,
    ExecutorInfo,
    FrameworkInfo,
    StatusUpdateInfo,
    TaskInfo,
    TaskState,
)
from actors.messages.tasks import StatusUpdateRecord, StatusUpdateRecordType
from actors.resources import Resources
from transport import PID

AGENT = AgentInfo(hostname="h", port=5051, resources=Resources.parse("cpus:2;mem:1024"),
                  id="M-S1")
FRAMEWORK = FrameworkInfo(user="u", name="f", id="F1", checkpoint=True)
EXECUTOR_INFO = ExecutorInfo(executor_id="e1", framework_id="F1",
                             command=CommandInfo(value="sleep 1"))
TASK = TaskInfo(name="t1", task_id="t1", agent_id="M-S1",
                resources=Resources.parse("cpus:0.1"))


def _update(state: TaskState, task_id: str = "t1") -> StatusUpdateInfo:
    return agent_update("F1", task_id, state, agent_id="M-S1", executor_id="e1", now=1.0)


def _executor(run_id: str = "r1", os_pid: int = 4242) -> ExecutorRecord:
    return ExecutorRecord(info=EXECUTOR_INFO, framework_id="F1", run_id=run_id,
                          sandbox=Sandbox("/nowhere", "/nowhere/o", "/nowhere/e"),
                          command_executor=False, os_pid=os_pid, create_time=123.5)


def _write_tree(work: str) -> tuple[Checkpointer, ExecutorRecord, list[StatusUpdateInfo]]:
    ckpt = Checkpointer(work)
    ckpt.boot_id("boot-1")
    ckpt.agent(AGENT)
    ckpt.framework("M-S1", FrameworkRecord(info=FRAMEWORK, pid=PID("scheduler", "h", 1)))
    executor = _executor()
    ckpt.executor("M-S1", executor)
    ckpt.libprocess_pid("M-S1", executor, PID("executor", "h", 2))
    ckpt.task("M-S1", executor, TASK)
    updates = [_update(TaskState.TASK_RUNNING), _update(TaskState.TASK_FINISHED)]
    for update in updates:
        ckpt.update("M-S1", executor, update)
    ckpt.ack("M-S1", executor, "t1", updates[0].uuid)
    return ckpt, executor, updates


def _updates_file(work: str) -> str:
    return os.path.join(paths.task_dir(work, "M-S1", "F1", "e1", "r1", "t1"), "task.updates")


def test_a_checkpointed_tree_reads_back_whole(tmp_path: Path) -> None:
    work = str(tmp_path)
    _, _, updates = _write_tree(work)
    state = recover(work, strict=True, boot_id="boot-1")
    assert state.boot_id == "boot-1" and not state.rebooted and not state.errors
    assert state.agent is not None and state.agent.info == AGENT
    framework = state.agent.frameworks["F1"]
    assert framework.info == FRAMEWORK and framework.pid == PID("scheduler", "h", 1)
    executor = framework.executors["e1"]
    assert executor.info == EXECUTOR_INFO and executor.latest == "r1"
    run = executor.runs["r1"]
    assert (run.forked_pid, run.create_time) == (4242, 123.5)
    assert run.libprocess_pid == PID("executor", "h", 2) and not run.completed
    task = run.tasks["t1"]
    assert task.info == TASK and task.updates == updates and task.acks == [updates[0].uuid]
    assert os.readlink(paths.latest_agent_link(work)) == "M-S1"


def test_nothing_checkpointed_recovers_nothing(tmp_path: Path) -> None:
    state = recover(str(tmp_path), strict=True, boot_id="b")
    assert state.agent is None and not state.rebooted and not state.errors


def test_a_new_boot_id_is_a_reboot_and_the_pids_are_not_read(tmp_path: Path) -> None:
    work = str(tmp_path)
    _write_tree(work)
    state = recover(work, strict=True, boot_id="boot-2")
    assert state.rebooted
    assert state.agent is not None
    run = state.agent.frameworks["F1"].executors["e1"].runs["r1"]
    assert run.forked_pid is None and run.libprocess_pid is None
    assert run.tasks["t1"].info == TASK  # the tasks are still known, to be reported lost


def test_a_sentinel_marks_the_run_completed(tmp_path: Path) -> None:
    work = str(tmp_path)
    ckpt, executor, _ = _write_tree(work)
    ckpt.sentinel("M-S1", executor)
    state = recover(work, strict=True, boot_id="boot-1")
    assert state.agent is not None
    assert state.agent.frameworks["F1"].executors["e1"].runs["r1"].completed


def test_a_torn_last_update_record_is_tolerated_and_cut_off(tmp_path: Path) -> None:
    work = str(tmp_path)
    _, _, updates = _write_tree(work)
    path = _updates_file(work)
    good = os.path.getsize(path)
    torn = paths.pack_record(StatusUpdateRecord(type=StatusUpdateRecordType.UPDATE,
                                                update=_update(TaskState.TASK_FAILED)))
    with open(path, "ab") as f:
        f.write(torn[:len(torn) // 2])
    state = recover(work, strict=True, boot_id="boot-1")
    assert state.agent is not None and not state.errors
    assert state.agent.frameworks["F1"].executors["e1"].runs["r1"].tasks["t1"].updates == updates
    assert os.path.getsize(path) == good  # later appends start on a frame boundary


def test_a_corrupt_update_record_fails_a_strict_recovery_naming_the_file(
        tmp_path: Path) -> None:
    work = str(tmp_path)
    _write_tree(work)
    path = _updates_file(work)
    data = bytearray(Path(path).read_bytes())
    data[paths.FRAME_HEADER.size + 3] ^= 0xFF  # a flipped byte in the first record's body
    Path(path).write_bytes(bytes(data))
    with pytest.raises(RecoveryError, match=r"task.updates.*checksum"):
        recover(work, strict=True, boot_id="boot-1")
    records, good, corrupt = read_updates(path)
    assert records == [] and good == 0 and "checksum" in corrupt


def test_without_strict_a_corrupt_entry_is_skipped_and_reported(tmp_path: Path) -> None:
    work = str(tmp_path)
    ckpt, _, _ = _write_tree(work)
    other_info = ExecutorInfo(executor_id="e2", framework_id="F1",
                              command=CommandInfo(value="x"))
    other = ExecutorRecord(info=other_info, framework_id="F1", run_id="r2",
                           sandbox=_executor().sandbox, command_executor=False, os_pid=1)
    ckpt.executor("M-S1", other)
    info_path = os.path.join(paths.executor_dir(work, "M-S1", "F1", "e2"), "executor.info")
    Path(info_path).write_bytes(b"\xc1 not msgpack")
    with pytest.raises(RecoveryError, match=r"executor.info"):
        recover(work, strict=True, boot_id="boot-1")
    state = recover(work, strict=False, boot_id="boot-1")
    assert state.agent is not None
    assert list(state.agent.frameworks["F1"].executors) == ["e1"]
    assert len(state.errors) == 1 and "executor.info" in state.errors[0]


def test_a_record_of_the_wrong_shape_is_corrupt(tmp_path: Path) -> None:
    work = str(tmp_path)
    _write_tree(work)
    paths.write_record(os.path.join(paths.agent_dir(work, "M-S1"), "agent.info"),
                       {"hostname": 7})
    with pytest.raises(RecoveryError, match=r"agent.info.*AgentInfo"):
        recover(work, strict=True, boot_id="boot-1")
    assert recover(work, strict=False, boot_id="boot-1").agent is None


def test_an_empty_file_is_a_crash_before_sync_not_an_error(tmp_path: Path) -> None:
    work = str(tmp_path)
    _write_tree(work)
    Path(paths.framework_dir(work, "M-S1", "F1"), "framework.info").write_bytes(b"")
    state = recover(work, strict=True, boot_id="boot-1")
    assert state.agent is not None and state.agent.frameworks == {} and not state.errors


def test_writes_are_atomic_replacements(tmp_path: Path) -> None:
    path = str(tmp_path / "a" / "x.info")
    paths.write_atomic(path, b"one")
    paths.write_atomic(path, b"two")
    assert Path(path).read_bytes() == b"two"
    assert os.listdir(tmp_path / "a") == ["x.info"]  # no temporary left behind


def test_the_boot_id_comes_from_the_environment_when_set(tmp_path: Path) -> None:
    assert paths.current_boot_id({"MESETA_BOOT_ID": "fake"}) == "fake"
    source = tmp_path / "boot_id"
    source.write_text("abc-123\n")
    assert paths.current_boot_id({}, str(source)) == "abc-123"
    assert paths.current_boot_id({}, str(tmp_path / "missing")) == ""


def test_a_process_is_alive_only_with_its_own_creation_time() -> None:
    proc = subprocess.Popen(["sleep", "30"])
    try:
        created = psutil.Process(proc.pid).create_time()
        assert process_alive(proc.pid, created)
        assert process_alive(proc.pid, None)
        assert not process_alive(proc.pid, created - 100)  # a reused pid
    finally:
        proc.kill()
        proc.wait()
    assert not process_alive(proc.pid, created)


def test_a_recovered_stream_resends_only_what_was_not_acknowledged() -> None:
    sum_ = StatusUpdateManager(retry_min=1, retry_max=8)
    running, finished = _update(TaskState.TASK_RUNNING), _update(TaskState.TASK_FINISHED)
    sum_.recover("F1", "t1", [running, finished], [running.uuid])
    sum_.pause()
    assert sum_.head("F1", "t1") == finished
    forwards = sum_.resume()
    assert [f.update.uuid for f in forwards] == [finished.uuid]
    # The executor re-sends both on re-registration: both are duplicates now.
    assert sum_.update(running) == (False, [])
    assert sum_.update(finished) == (False, [])
    acked, more = sum_.acknowledge("F1", "t1", finished.uuid)
    assert acked == finished and more == [] and len(sum_) == 0
    # A terminal update was seen: nothing new is taken after it.
    assert sum_.update(_update(TaskState.TASK_RUNNING))[0] is False
