"""The status update manager, pure: order, retries, duplicates, stray acks, latest_state."""

from __future__ import annotations

import dataclasses
import os

import pytest

from actors.agent.status_updates import StatusUpdateManager
from actors.messages import StatusUpdateInfo, TaskState, TaskStatus

S = TaskState


def update(state: TaskState, task_id: str = "t1", uuid: bytes | None = None) -> StatusUpdateInfo:
    uuid = uuid or os.urandom(16)
    return StatusUpdateInfo(framework_id="f1", timestamp=1.0, uuid=uuid,
                            status=TaskStatus(task_id=task_id, state=state, uuid=uuid))


@pytest.fixture
def sum_() -> StatusUpdateManager:
    manager = StatusUpdateManager(retry_min=10.0, retry_max=600.0)
    return manager


def test_only_the_head_is_forwarded_and_acks_release_the_next_in_order(
        sum_: StatusUpdateManager) -> None:
    a, b, c = update(S.TASK_STARTING), update(S.TASK_RUNNING), update(S.TASK_FINISHED)
    accepted, out = sum_.update(a)
    assert accepted and [f.update.uuid for f in out] == [a.uuid]
    assert sum_.update(b) == (True, [])
    assert sum_.update(c) == (True, [])
    acked, out = sum_.acknowledge("f1", "t1", a.uuid)
    assert acked == a and [f.update.uuid for f in out] == [b.uuid]
    acked, out = sum_.acknowledge("f1", "t1", b.uuid)
    assert acked == b and [f.update.uuid for f in out] == [c.uuid]
    acked, out = sum_.acknowledge("f1", "t1", c.uuid)
    assert acked == c and out == [] and len(sum_) == 0


def test_streams_of_different_tasks_are_independent(sum_: StatusUpdateManager) -> None:
    _, out1 = sum_.update(update(S.TASK_RUNNING, "t1"))
    _, out2 = sum_.update(update(S.TASK_RUNNING, "t2"))
    assert len(out1) == len(out2) == 1


def test_forwarded_head_carries_the_latest_state_of_the_stream(
        sum_: StatusUpdateManager) -> None:
    a, b = update(S.TASK_RUNNING), update(S.TASK_FAILED)
    _, out = sum_.update(a)
    assert out[0].update.latest_state is S.TASK_RUNNING
    sum_.update(b)
    out = sum_.retry(("f1", "t1"), a.uuid)
    assert out[0].update.uuid == a.uuid and out[0].update.latest_state is S.TASK_FAILED
    assert sum_.latest_state("f1", "t1") is S.TASK_FAILED


def test_retries_back_off_doubling_to_the_cap(sum_: StatusUpdateManager) -> None:
    a = update(S.TASK_RUNNING)
    _, out = sum_.update(a)
    delays = [out[0].retry_in]
    for _ in range(8):
        out = sum_.retry(("f1", "t1"), a.uuid)
        delays.append(out[0].retry_in)
    assert delays == [10, 20, 40, 80, 160, 320, 600, 600, 600]


def test_a_retry_for_an_acknowledged_update_is_stale(sum_: StatusUpdateManager) -> None:
    a, b = update(S.TASK_RUNNING), update(S.TASK_FINISHED)
    sum_.update(a)
    sum_.update(b)
    sum_.acknowledge("f1", "t1", a.uuid)
    assert sum_.retry(("f1", "t1"), a.uuid) == []
    assert sum_.retry(("f1", "t1"), b.uuid)[0].update.uuid == b.uuid


def test_duplicate_updates_are_ignored_before_and_after_the_ack(
        sum_: StatusUpdateManager) -> None:
    a = update(S.TASK_RUNNING)
    sum_.update(a)
    assert sum_.update(a) == (False, [])
    sum_.acknowledge("f1", "t1", a.uuid)
    assert sum_.update(a) == (False, [])
    assert len(sum_) == 0


def test_duplicate_terminal_update_after_ack_is_not_forwarded(
        sum_: StatusUpdateManager) -> None:
    done = update(S.TASK_FINISHED)
    sum_.update(done)
    sum_.acknowledge("f1", "t1", done.uuid)
    assert sum_.update(done) == (False, [])
    assert sum_.update(update(S.TASK_FAILED)) == (False, [])  # nothing after a terminal one


def test_unexpected_and_duplicate_acks_are_ignored(sum_: StatusUpdateManager) -> None:
    a, b = update(S.TASK_RUNNING), update(S.TASK_FINISHED)
    sum_.update(a)
    sum_.update(b)
    assert sum_.acknowledge("f1", "t1", b.uuid) == (None, [])  # not the head
    assert sum_.acknowledge("f1", "nope", a.uuid) == (None, [])
    assert sum_.acknowledge("f1", "t1", a.uuid)[0] == a
    assert sum_.acknowledge("f1", "t1", a.uuid) == (None, [])  # duplicate
    assert sum_.head("f1", "t1") == b


def test_paused_manager_queues_and_resume_sends_every_head(
        sum_: StatusUpdateManager) -> None:
    sum_.pause()
    a, b = update(S.TASK_RUNNING, "t1"), update(S.TASK_RUNNING, "t2")
    assert sum_.update(a) == (True, [])
    assert sum_.update(b) == (True, [])
    assert sum_.retry(("f1", "t1"), a.uuid) == []
    out = sum_.resume()
    assert sorted(f.update.uuid for f in out) == sorted([a.uuid, b.uuid])
    assert all(f.retry_in == 10.0 for f in out)


def test_resend_sends_the_heads_of_one_frameworks_streams_now_with_a_fresh_backoff(
        sum_: StatusUpdateManager) -> None:
    a, b = update(S.TASK_RUNNING, "t1"), update(S.TASK_RUNNING, "t2")
    other = dataclasses.replace(update(S.TASK_RUNNING, "t3"), framework_id="f2")
    for u in (a, b, other):
        sum_.update(u)
    sum_.retry(("f1", "t1"), a.uuid)  # backed off to 20 s
    out = sum_.resend("f1")
    assert sorted(f.update.uuid for f in out) == sorted([a.uuid, b.uuid])
    assert all(f.retry_in == 10.0 for f in out)
    sum_.acknowledge("f1", "t2", b.uuid)
    assert [f.update.uuid for f in sum_.resend("f1")] == [a.uuid]
    assert sum_.resend("nobody") == []


def test_forget_framework_drops_its_streams(sum_: StatusUpdateManager) -> None:
    sum_.update(update(S.TASK_RUNNING))
    sum_.forget_framework("f1")
    assert len(sum_) == 0 and sum_.head("f1", "t1") is None
