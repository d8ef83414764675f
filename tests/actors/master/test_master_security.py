"""The master's security gates in the actor harness: rate limits on a manual clock, and
the authentication exchange and registration refusals through the real MasterActor."""

from __future__ import annotations

import json

import pytest
from master_harness import Cluster

from actors.master.config import MasterConfig
from actors.messages import (
    FrameworkError,
    FrameworkInfo,
    FrameworkRegistered,
    ReconcileTasks,
    RegisterFramework,
    StatusUpdate,
    TaskState,
    TaskStatus,
)
from actors.messages.authentication import (
    Authenticatee,
    AuthenticationCompleted,
    AuthenticationMechanisms,
    AuthenticationStep,
    Credential,
)

LIMITS = json.dumps({"limits": [{"principal": "slow", "qps": 1, "capacity": 2}]})


def reconcile(task_id: str, framework_id: str) -> ReconcileTasks:
    return ReconcileTasks(framework_id=framework_id, statuses=(
        TaskStatus(task_id=task_id, state=TaskState.TASK_RUNNING),))


@pytest.mark.parametrize("master_config", [MasterConfig(rate_limits=LIMITS)])
def test_a_limited_principal_is_released_at_its_qps_and_told_beyond_capacity(
        cluster: Cluster) -> None:
    slow = cluster.framework("slow", principal="slow")
    free = cluster.framework("free", principal="free")
    for i in range(4):
        slow.tell(reconcile(f"s{i}", slow.id))
    for i in range(3):
        free.tell(reconcile(f"f{i}", free.id))
    assert len(free.drain(StatusUpdate)) == 3  # not limited: all at once
    assert [u.update.status.task_id for u in slow.drain(StatusUpdate)] == ["s0"]
    error = slow.expect(FrameworkError)
    assert error.message == "Message ReconcileTasks dropped: capacity(2) exceeded"
    cluster.advance(1.0)
    assert [u.update.status.task_id for u in slow.drain(StatusUpdate)] == ["s1"]
    cluster.advance(1.0)
    assert [u.update.status.task_id for u in slow.drain(StatusUpdate)] == ["s2"]
    metrics = cluster.ask(lambda m: m.principal_metrics())
    assert metrics["frameworks/slow/messages_received"] >= 4
    assert metrics["frameworks/slow/messages_processed"] >= 3
    assert metrics["frameworks/free/messages_processed"] >= 3


CREDENTIALS = MasterConfig(authenticate_frameworks=True, credentials={"ops": "secret"})


@pytest.mark.parametrize("master_config", [CREDENTIALS])
def test_a_framework_authenticates_then_registers_and_others_are_refused(
        cluster: Cluster) -> None:
    intruder = cluster.framework(register=False)
    intruder.tell(RegisterFramework(framework_info=FrameworkInfo(user="u", name="x",
                                                                 principal="ops")))
    assert "is not authenticated" in intruder.expect(FrameworkError).message

    peer = cluster.framework(register=False)
    client = Authenticatee(Credential("ops", "secret"))
    peer.tell(client.begin(str(peer.pid)))
    reply, _ = client.step(peer.expect(AuthenticationMechanisms))
    peer.tell(reply)
    reply, _ = client.step(peer.expect(AuthenticationStep))
    peer.tell(reply)
    assert client.step(peer.expect(AuthenticationCompleted))[1] == "completed"
    assert cluster.ask(lambda m: m.principal_of(peer.pid)) == "ops"
    peer.tell(RegisterFramework(framework_info=FrameworkInfo(user="u", name="x",
                                                             principal="dev")))
    assert "does not match authenticated principal 'ops'" in peer.expect(
        FrameworkError).message
    peer.tell(RegisterFramework(framework_info=FrameworkInfo(user="u", name="x",
                                                             principal="ops")))
    framework_id = peer.expect(FrameworkRegistered).framework_id
    assert cluster.ask(lambda m: m.framework_principal(framework_id)) == "ops"
