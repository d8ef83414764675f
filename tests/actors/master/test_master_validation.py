"""Pure task and offer validation: each failure and what it says."""

from __future__ import annotations

import pytest

from actors.master.validation import TaskValidator, validate_id, validate_offers
from actors.messages import CommandInfo, ExecutorInfo, ExecutorType, KillPolicy, Offer, TaskInfo
from actors.resources import Resources

R = Resources.parse
CMD = CommandInfo(value="true")


def offer(offer_id: str, framework_id: str = "f1", agent_id: str = "a1") -> Offer:
    return Offer(id=offer_id, framework_id=framework_id, agent_id=agent_id, hostname="h",
                 resources=R("cpus:2;mem:1024"))


OFFERS = {o.id: o for o in (offer("o1"), offer("o2"), offer("o3", agent_id="a2"),
                            offer("o4", framework_id="f2"))}


@pytest.mark.parametrize(("ids", "agents", "expected"), [
    (("o1", "o2"), {"a1"}, None),
    ((), {"a1"}, "no offers"),
    (("o1", "o1"), {"a1"}, "more than once"),
    (("o9",), {"a1"}, "no longer valid"),
    (("o4",), {"a1"}, "another framework"),
    (("o1", "o3"), {"a1", "a2"}, "one agent"),
    (("o1",), set(), "not available"),
])
def test_offer_validation(ids: tuple[str, ...], agents: set[str], expected: str | None) -> None:
    error = validate_offers(ids, OFFERS, "f1", agents)
    if expected is None:
        assert error is None
    else:
        assert error is not None and expected in error


def validator(available: str = "cpus:2;mem:1024", live: tuple[str, ...] = (),
              executors: dict[str, ExecutorInfo] | None = None) -> TaskValidator:
    return TaskValidator("f1", "a1", {"*": R(available)}, live, executors or {})


def task(task_id: str = "t1", resources: str = "cpus:1;mem:128", **kw: object) -> TaskInfo:
    if "executor" not in kw:
        kw.setdefault("command", CMD)
    kw.setdefault("agent_id", "a1")
    return TaskInfo(name=task_id, task_id=task_id, resources=R(resources),
                    **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("bad", "expected"), [
    (task(task_id=""), "task id is empty"),
    (task(task_id="a/b"), "contains '/'"),
    (task(agent_id="a2"), "uses agent 'a2'"),
    (task(command=None), "exactly one of command or executor"),
    (task(command=CMD, executor=ExecutorInfo(executor_id="e", command=CMD)), "exactly one"),
    (task(resources=""), "no resources"),
    (task(resources="cpus:3"), "more resources"),
    (task(resources="gpus:1"), "more resources"),
    (task(kill_policy=KillPolicy(grace_period=-1.0)), "grace_period is negative"),
    (task(command=None, executor=ExecutorInfo(executor_id="e")),
     "'ExecutorInfo.command' must be set for 'CUSTOM' executor"),
    (task(command=None, executor=ExecutorInfo(executor_id="e", framework_id="f2",
                                               command=CMD)), "another framework"),
])
def test_an_invalid_task_is_refused_with_a_reason(bad: TaskInfo, expected: str) -> None:
    error, accepted = validator().validate(bad)
    assert accepted is None and error is not None and expected in error


GROUP_EXECUTOR = ExecutorInfo(executor_id="g", type=ExecutorType.DEFAULT,
                              resources=R("cpus:0.1;mem:32;disk:32"))


def test_a_default_executor_runs_a_group_without_a_command() -> None:
    v = validator("cpus:2;mem:1024;disk:1024")
    error, accepted = v.validate(task("a", "cpus:0.5;mem:128", command=None), GROUP_EXECUTOR)
    assert error is None and accepted is not None and accepted.new_executor == GROUP_EXECUTOR
    error, accepted = v.validate(task("b", "cpus:0.5;mem:128", command=None), GROUP_EXECUTOR)
    assert error is None and accepted is not None and accepted.new_executor is None
    assert v.leftover() == {"*": R("cpus:0.9;mem:736;disk:992")}  # the executor paid once


def test_a_default_executor_with_a_command_is_refused_in_a_group() -> None:
    executor = ExecutorInfo(executor_id="g", type=ExecutorType.DEFAULT, command=CMD,
                            resources=R("cpus:0.1;mem:32;disk:32"))
    error, _ = validator("cpus:2;mem:1024;disk:1024").validate(
        task(command=None), executor)
    assert error == "'ExecutorInfo.command' must not be set for 'DEFAULT' executor"


def test_a_single_task_launch_takes_no_default_executor() -> None:
    error, accepted = validator().validate(task(command=None, executor=ExecutorInfo(
        executor_id="e", type=ExecutorType.DEFAULT)))
    assert accepted is None and error == "'ExecutorInfo.type' must be 'CUSTOM'"
    error, _ = validator().validate(task(command=None, executor=ExecutorInfo(
        executor_id="e", type=ExecutorType.DEFAULT, command=CMD)))
    assert error == "'ExecutorInfo.command' must not be set for 'DEFAULT' executor"


@pytest.mark.parametrize(("resources", "expected"), [
    ("", "Executor 'g' uses less CPUs (None) than the minimum required (0.01)"),
    ("cpus:0.001;mem:32;disk:1", "uses less CPUs (0.001)"),
    ("cpus:0.1;disk:1", "Executor 'g' uses less memory (None) than the minimum required (32MB)"),
    ("cpus:0.1;mem:16;disk:1", "uses less memory (16)"),
    ("cpus:0.1;mem:32", "Executor 'g' uses no disk"),
])
def test_a_group_executor_must_bring_mesos_minimum_resources(resources: str,
                                                             expected: str) -> None:
    for kind in (ExecutorType.DEFAULT, ExecutorType.CUSTOM):
        executor = ExecutorInfo(executor_id="g", type=kind, resources=R(resources),
                                command=CMD if kind is ExecutorType.CUSTOM else None)
        error, accepted = validator("cpus:2;mem:1024;disk:1024").validate(
            task(command=None), executor)
        assert accepted is None and error is not None and expected in error


def test_task_ids_are_unique_within_the_call_and_among_live_tasks() -> None:
    v = validator(live=("old",))
    assert v.validate(task("t1"))[0] is None
    assert "duplicate" in (v.validate(task("t1"))[0] or "")
    assert "duplicate" in (v.validate(task("old"))[0] or "")


def test_resources_are_summed_over_the_tasks_of_one_call() -> None:
    v = validator("cpus:2;mem:1024")
    assert v.validate(task("a", "cpus:1;mem:512"))[0] is None
    assert v.validate(task("b", "cpus:1;mem:512"))[0] is None
    error, _ = v.validate(task("c", "cpus:0.5"))
    assert error is not None and "more resources" in error
    assert v.leftover() == {}


def test_a_new_executor_is_paid_for_once_and_reused() -> None:
    executor = ExecutorInfo(executor_id="e", command=CMD, resources=R("cpus:0.5;mem:64"))
    v = validator("cpus:2;mem:1024")
    _, first = v.validate(task("a", "cpus:0.5;mem:64", command=None, executor=executor))
    _, second = v.validate(task("b", "cpus:0.5;mem:64", command=None, executor=executor))
    assert first is not None and first.new_executor == executor
    assert second is not None and second.new_executor is None
    assert v.leftover() == {"*": R("cpus:0.5;mem:832")}


def test_an_executor_id_must_keep_its_executor_info() -> None:
    running = ExecutorInfo(executor_id="e", framework_id="f1", command=CMD)
    v = validator(executors={"e": running})
    same = ExecutorInfo(executor_id="e", command=CMD)  # framework id filled in by the master
    assert v.validate(task("a", command=None, executor=same))[0] is None
    other = ExecutorInfo(executor_id="e", command=CommandInfo(value="false"))
    error, _ = v.validate(task("b", command=None, executor=other))
    assert error is not None and "differs" in error


def test_a_task_is_paid_from_the_role_whose_offer_fits() -> None:
    v = TaskValidator("f1", "a1", {"web": R("cpus:1"), "*": R("cpus:4")}, (), {})
    _, accepted = v.validate(task("a", "cpus:2"))
    assert accepted is not None and accepted.role == "*"
    assert v.leftover() == {"web": R("cpus:1"), "*": R("cpus:2")}


@pytest.mark.parametrize(("value", "ok"), [("t-1.x", True), ("", False), ("..", False),
                                          ("a b", False), ("a\x00", False)])
def test_id_rules(value: str, ok: bool) -> None:
    assert (validate_id("task id", value) is None) is ok
