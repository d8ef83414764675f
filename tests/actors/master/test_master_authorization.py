"""The master's ACL checks as pure decisions over its books (``--acls``): registration,
re-registration and update need every role; each task's user (command, executor, then
framework) must be allowed, a group is refused whole; the rest of the offer goes back."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from actors.authorization import parse_acls
from actors.master import frameworks
from actors.master.books import Outbox
from actors.master.launch import accept, run_as
from actors.messages import (
    AcceptOffers,
    AllocatorRecoverResources,
    CommandInfo,
    ExecutorInfo,
    ExecutorType,
    FrameworkCapability,
    FrameworkError,
    FrameworkInfo,
    FrameworkRegistered,
    Reason,
    RegisterFramework,
    ReregisterFramework,
    RunTask,
    RunTaskGroup,
    StatusUpdate,
    TaskState,
    UpdateFramework,
    launch_group,
)
from tests.actors.master.test_master_books import DISKFUL, SCHED, R, World, task

ROLES = parse_acls({"register_frameworks": [
    {"principals": {"values": ["alice"]}, "roles": {"values": ["dev", "qa"]}},
    {"principals": {"type": "ANY"}, "roles": {"type": "NONE"}}]})
USERS = parse_acls({"run_tasks": [
    {"principals": {"values": ["alice"]}, "users": {"values": ["u", "svc"]}},
    {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}]})


@pytest.fixture
def world() -> World:
    return World()


def _register(world: World, **info: Any) -> Outbox:
    out = Outbox()
    frameworks.register(world.books, SCHED, RegisterFramework(
        framework_info=FrameworkInfo(user="u", name="fw", **info)), out)
    return out


def test_registration_needs_every_role_to_be_allowed(world: World) -> None:
    world.books.acls = ROLES
    out = _register(world, principal="alice", roles=("dev", "prod"), capabilities=frozenset(
        {FrameworkCapability.MULTI_ROLE}))
    assert out.messages(FrameworkError)[0].message == "Not authorized to use roles 'dev, prod'"
    assert not world.books.frameworks.registered and not out.allocator
    assert not _register(world, roles=("dev",)).messages(FrameworkRegistered)  # no principal
    assert _register(world, principal="alice", roles=("qa",)).messages(FrameworkRegistered)


def test_reregistration_and_update_check_the_roles_too(world: World) -> None:
    f = world.framework(principal="alice", roles=("dev",))
    world.books.acls = ROLES
    record = world.books.frameworks.registered[f]
    out = Outbox()
    frameworks.update(world.books, record, UpdateFramework(framework_id=f, framework_info=(
        dataclasses.replace(record.info, roles=("prod",)))), out)
    assert "Not authorized to use roles 'prod'" in out.messages(FrameworkError)[0].message
    assert record.info.roles == ("dev",)
    out = Outbox()
    frameworks.reregister(world.books, SCHED, ReregisterFramework(
        framework_info=dataclasses.replace(record.info, roles=("prod",))), out)
    assert out.messages(FrameworkError)[0].message == "Not authorized to use roles 'prod'"


def test_a_task_is_refused_for_its_user_and_its_resources_go_back(world: World) -> None:
    a, f = world.agent(), world.framework(principal="alice")
    world.books.acls = USERS
    as_root = dataclasses.replace(task(a, "root-task"),
                                  command=CommandInfo(value="true", user="root"))
    out = world.launch(f, world.offer(f, a), task(a, "ok"), as_root)
    assert [r.task.task_id for r in out.messages(RunTask)] == ["ok"]
    (denied,) = out.messages(StatusUpdate)
    status = denied.update.status
    assert (status.task_id, status.state, status.reason) == (
        "root-task", TaskState.TASK_ERROR, Reason.REASON_TASK_UNAUTHORIZED)
    assert status.message == "Not authorized to launch task as user 'root'"
    (rest,) = out.messages(AllocatorRecoverResources)
    assert rest.resources.get("cpus") == 3


def test_a_group_with_one_unauthorized_task_is_refused_whole(world: World) -> None:
    a, f = world.agent(DISKFUL), world.framework(principal="alice")
    world.books.acls = USERS
    executor = ExecutorInfo(executor_id="g", type=ExecutorType.CUSTOM,
                            command=CommandInfo(value="x", user="svc"),
                            resources=R("cpus:0.1;mem:32;disk:32"))
    bad = dataclasses.replace(task(a, "y"), command=CommandInfo(value="true", user="root"))
    fw = world.books.frameworks.registered[f]
    out = Outbox()
    accept(world.books, fw, AcceptOffers(framework_id=f, offer_ids=(world.offer(f, a, DISKFUL),),
                                         operations=(launch_group(executor, task(a, "x"),
                                                                  bad),)), out)
    assert not out.messages(RunTaskGroup)
    assert {u.update.status.reason for u in out.messages(StatusUpdate)} == {
        Reason.REASON_TASK_GROUP_UNAUTHORIZED}


def test_run_as_prefers_the_command_then_the_executor_then_the_framework() -> None:
    info = FrameworkInfo(user="fw-user", name="fw")
    executor = ExecutorInfo(executor_id="e", command=CommandInfo(value="x", user="exec-user"))
    plain = task("a", "t")
    assert run_as(plain, info) == "fw-user"
    assert run_as(plain, info, executor) == "exec-user"
    mine = dataclasses.replace(plain, command=CommandInfo(value="x", user="cmd-user"))
    assert run_as(mine, info, executor) == "cmd-user"
