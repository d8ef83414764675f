"""The master's pure decisions over its books: offers, launches, task states, agents.

No actor and no thread: each test calls the functions ``MasterActor`` calls and reads
the ``Outbox`` they fill.
"""

from __future__ import annotations

from typing import Any

import pytest

from actors.master import agents, frameworks, offers, tasks
from actors.master.books import Books, Outbox
from actors.master.launch import accept
from actors.master.reconciliation import reconcile
from actors.master.tasks import TaskRecord, apply_update
from actors.messages import (
    AcceptOffers,
    AgentInfo,
    AllocatorAddAgent,
    AllocatorRecoverResources,
    AllocatorRemoveAgent,
    AllocatorRemoveFramework,
    AllocatorUpdateAgent,
    AllocatorUpdateFramework,
    CommandInfo,
    DeclineOffers,
    ExecutorInfo,
    ExecutorType,
    Filters,
    FrameworkCapability,
    FrameworkError,
    FrameworkInfo,
    FrameworkRegistered,
    LostAgent,
    MasterInfo,
    OffersAllocated,
    Reason,
    RegisterAgent,
    RegisterFramework,
    ReregisterAgent,
    ReregisterFramework,
    RescindResourceOffer,
    ResourceOffers,
    RunTask,
    RunTaskGroup,
    ShutdownFramework,
    StatusUpdate,
    StatusUpdateInfo,
    Task,
    TaskInfo,
    TaskState,
    TaskStatus,
    UpdateFramework,
    launch,
    launch_group,
)
from actors.messages.info import parse_attributes
from actors.resources import EMPTY, Resources
from transport import PID

R = Resources.parse
AGENT = PID("agent", "10.0.0.1", 5051)
SCHED = PID("scheduler(1)", "10.0.0.9", 4000)


DISKFUL = "cpus:4;mem:4096;disk:1000"
"""An agent's resources with disk (a task group's executor needs some, as in Mesos)."""


class World:
    def __init__(self) -> None:
        self.t = 100.0
        self.books = Books(master_info=MasterInfo(id="M"), now=lambda: self.t)

    def agent(self, resources: str = "cpus:4;mem:4096", pid: PID = AGENT) -> str:
        out = Outbox()
        record = agents.register(self.books, pid, RegisterAgent(agent_info=AgentInfo(
            hostname="h", resources=R(resources))), out, 75.0)
        return record.id

    def framework(self, pid: PID = SCHED, **info: Any) -> str:
        out = Outbox()
        frameworks.register(self.books, pid, RegisterFramework(
            framework_info=FrameworkInfo(user="u", name="fw", **info)), out)
        return str(out.messages(FrameworkRegistered)[0].framework_id)

    def offer(self, framework_id: str, agent_id: str, resources: str = "cpus:4;mem:4096",
              role: str = "*") -> str:
        out = Outbox()
        offers.make_offers(self.books, OffersAllocated(
            framework_id=framework_id, allocation={role: {agent_id: R(resources)}}), out)
        return out.offers_made[0]

    def launch(self, framework_id: str, offer_id: str, *infos: TaskInfo,
               refuse: float = 5.0) -> Outbox:
        out = Outbox()
        fw = self.books.frameworks.registered[framework_id]
        accept(self.books, fw, AcceptOffers(framework_id=framework_id, offer_ids=(offer_id,),
                                            operations=(launch(*infos),),
                                            filters=Filters(refuse_seconds=refuse)), out)
        return out


def task(agent_id: str, task_id: str = "t1", resources: str = "cpus:1;mem:512") -> TaskInfo:
    return TaskInfo(name=task_id, task_id=task_id, agent_id=agent_id, resources=R(resources),
                    command=CommandInfo(value="true"))


@pytest.fixture
def world() -> World:
    return World()


# -- offers -----------------------------------------------------------------------------


def test_one_offer_per_role_and_agent_with_master_made_ids(world: World) -> None:
    a1, a2 = world.agent(), world.agent(pid=PID("agent", "10.0.0.2", 5051))
    f = world.framework(roles=("web", "db"),
                        capabilities=frozenset({FrameworkCapability.MULTI_ROLE}))
    out = Outbox()
    offers.make_offers(world.books, OffersAllocated(framework_id=f, allocation={
        "web": {a1: R("cpus:1"), a2: R("cpus:2")}, "db": {a1: R("mem:64")}}), out)
    (sent,) = out.messages(ResourceOffers)
    assert [(o.id, o.role, o.agent_id) for o in sent.offers] == [
        ("M-O0", "db", a1), ("M-O1", "web", a1), ("M-O2", "web", a2)]
    assert len(sent.pids) == 3 and out.offers_made == ["M-O0", "M-O1", "M-O2"]
    assert world.books.offers.offered(framework_id=f) == R("cpus:3;mem:64")


def test_an_allocation_for_a_gone_agent_goes_back(world: World) -> None:
    f = world.framework()
    out = Outbox()
    offers.make_offers(world.books, OffersAllocated(framework_id=f,
                                                    allocation={"*": {"nope": R("cpus:1")}}),
                       out)
    assert not out.messages(ResourceOffers)
    (back,) = out.messages(AllocatorRecoverResources)
    assert back.agent_id == "nope" and back.refuse_seconds is None


def test_decline_recovers_with_the_filter_and_an_offer_is_used_once(world: World) -> None:
    a, f = world.agent(), world.framework()
    oid = world.offer(f, a)
    out = Outbox()
    fw = world.books.frameworks.registered[f]
    offers.decline(world.books, fw, DeclineOffers(framework_id=f, offer_ids=(oid, oid),
                                                  filters=Filters(refuse_seconds=30.0)), out)
    (back,) = out.messages(AllocatorRecoverResources)
    assert back.refuse_seconds == 30.0 and back.resources == R("cpus:4;mem:4096")
    assert oid not in world.books.offers


def test_rescind_tells_the_framework_and_recovers_without_filter(world: World) -> None:
    a, f = world.agent(), world.framework()
    oid = world.offer(f, a)
    out = Outbox()
    offers.rescind(world.books, oid, out)
    assert out.messages(RescindResourceOffer)[0].offer_id == oid
    assert out.messages(AllocatorRecoverResources)[0].refuse_seconds is None
    assert offers.rescind(world.books, oid, Outbox()) is None  # already gone


# -- launching --------------------------------------------------------------------------


def test_accept_launches_valid_tasks_and_recovers_the_rest_with_the_filter(
        world: World) -> None:
    a, f = world.agent(), world.framework()
    out = world.launch(f, world.offer(f, a), task(a, "t1"), task(a, "t2", "cpus:9"),
                       refuse=7.0)
    (run,) = out.messages(RunTask)
    assert run.task.task_id == "t1" and run.pid == SCHED
    (error,) = out.messages(StatusUpdate)
    assert error.update.status.state is TaskState.TASK_ERROR
    (rest,) = out.messages(AllocatorRecoverResources)
    assert rest.resources == R("cpus:3;mem:3584") and rest.refuse_seconds == 7.0
    assert world.books.agents.registered[a].used_resources() == R("cpus:1;mem:512")


@pytest.mark.parametrize(("capabilities", "state"), [
    (frozenset(), TaskState.TASK_LOST),
    (frozenset({FrameworkCapability.PARTITION_AWARE}), TaskState.TASK_DROPPED),
])
def test_invalid_offers_lose_or_drop_every_task(world: World, capabilities: frozenset[Any],
                                                state: TaskState) -> None:
    a, f = world.agent(), world.framework(capabilities=capabilities)
    out = world.launch(f, "M-O77", task(a, "t1"), task(a, "t2"))
    updates = out.messages(StatusUpdate)
    assert [u.update.status.state for u in updates] == [state, state]
    assert all(u.update.status.reason is Reason.REASON_INVALID_OFFERS for u in updates)
    assert not out.messages(RunTask)


# -- task states ------------------------------------------------------------------------


def record(state: TaskState = TaskState.TASK_STAGING) -> TaskRecord:
    return TaskRecord(info=task("a1"), framework_id="f", agent_id="a1", state=state)


def info(state: TaskState, latest: TaskState | None = None, uuid: bytes = b"u") -> StatusUpdateInfo:
    return StatusUpdateInfo(framework_id="f", status=TaskStatus(task_id="t1", state=state),
                            timestamp=1.0, uuid=uuid, latest_state=latest)


def test_latest_state_frees_resources_once_before_the_terminal_update_is_acked() -> None:
    t = record(TaskState.TASK_RUNNING)
    assert apply_update(t, info(TaskState.TASK_RUNNING, TaskState.TASK_FINISHED)) == t.resources
    assert t.state is TaskState.TASK_FINISHED and t.status_update_state is TaskState.TASK_RUNNING
    assert apply_update(t, info(TaskState.TASK_FINISHED, uuid=b"f")) == EMPTY
    assert t.used == EMPTY and t.status_update_uuid == b"f"


def test_an_illegal_state_change_is_ignored_but_recorded() -> None:
    t = record(TaskState.TASK_FINISHED)
    t.freed = True
    assert apply_update(t, info(TaskState.TASK_RUNNING)) == EMPTY
    assert t.state is TaskState.TASK_FINISHED and len(t.statuses) == 1


def test_a_lost_task_that_comes_back_holds_its_resources_again() -> None:
    t = record(TaskState.TASK_RUNNING)
    apply_update(t, info(TaskState.TASK_LOST))
    assert t.used == EMPTY
    apply_update(t, info(TaskState.TASK_RUNNING))
    assert t.state is TaskState.TASK_RUNNING and t.used == t.resources


# -- agents and frameworks going away ---------------------------------------------------


def test_an_unreachable_agent_loses_its_tasks_and_its_offers(world: World) -> None:
    a = world.agent()
    plain = world.framework()
    aware = world.framework(pid=PID("scheduler(2)", "10.0.0.9", 4000),
                            capabilities=frozenset({FrameworkCapability.PARTITION_AWARE}))
    world.launch(plain, world.offer(plain, a, "cpus:2;mem:1024"), task(a, "p"))
    world.launch(aware, world.offer(aware, a, "cpus:2;mem:1024"), task(a, "q"))
    oid = world.offer(plain, a, "cpus:1")
    out = Outbox()
    agents.remove(world.books, world.books.agents.registered[a], out, "unreachable")
    states = {u.update.status.task_id: u.update.status.state
              for u in out.messages(StatusUpdate)}
    assert states == {"p": TaskState.TASK_LOST, "q": TaskState.TASK_UNREACHABLE}
    assert len(out.messages(LostAgent)) == 2
    assert out.messages(RescindResourceOffer)[0].offer_id == oid
    assert out.messages(AllocatorRemoveAgent)[0].agent_id == a
    assert a in world.books.agents.unreachable and a not in world.books.agents.registered
    assert "p" in world.books.frameworks.registered[plain].unreachable_tasks
    # Reconciliation still knows those tasks.
    answer = reconcile(world.books, world.books.frameworks.registered[aware], ())
    assert [u.update.status.state for u in answer] == [TaskState.TASK_UNREACHABLE]


def test_an_unreachable_agent_that_comes_back_reports_its_tasks_running_to_everyone(
        world: World) -> None:
    a = world.agent()
    plain = world.framework()
    aware = world.framework(pid=PID("scheduler(2)", "10.0.0.9", 4000),
                            capabilities=frozenset({FrameworkCapability.PARTITION_AWARE}))
    world.launch(plain, world.offer(plain, a, "cpus:2;mem:1024"), task(a, "p"))
    world.launch(aware, world.offer(aware, a, "cpus:2;mem:1024"), task(a, "q"))
    agent = world.books.agents.registered[a]
    agents.remove(world.books, agent, Outbox(), "unreachable")
    running = tuple(Task(name=t, task_id=t, framework_id=f, agent_id=a,
                         state=TaskState.TASK_RUNNING, resources=R("cpus:1;mem:512"))
                    for t, f in (("p", plain), ("q", aware)))
    infos = tuple(world.books.frameworks.registered[f].info for f in (plain, aware))
    out = Outbox()
    agents.reregister(world.books, AGENT, ReregisterAgent(
        agent_info=agent.info, tasks=running, frameworks=infos), out, 75.0)
    updates = {(to, u.update.status.task_id): u.update.status for to, u in out.sends
               if isinstance(u, StatusUpdate)}
    assert set(updates) == {(SCHED, "p"), (PID("scheduler(2)", "10.0.0.9", 4000), "q")}
    for status in updates.values():
        assert status.state is TaskState.TASK_RUNNING
        assert status.reason is Reason.REASON_AGENT_REREGISTERED and not status.uuid
    assert a not in world.books.agents.unreachable
    assert not world.books.frameworks.registered[plain].unreachable_tasks
    # A plain re-registration (the master never lost the agent) tells nobody anything.
    out = Outbox()
    agents.reregister(world.books, AGENT, ReregisterAgent(
        agent_info=agent.info, tasks=running, frameworks=infos), out, 75.0)
    assert not out.messages(StatusUpdate)


def test_teardown_shuts_the_framework_down_everywhere(world: World) -> None:
    a, f = world.agent(), world.framework()
    world.launch(f, world.offer(f, a, "cpus:2;mem:1024"), task(a, "t1"))
    out = Outbox()
    frameworks.remove(world.books, world.books.frameworks.registered[f], out)
    assert out.messages(ShutdownFramework)[0].framework_id == f
    assert out.messages(AllocatorRemoveFramework)
    assert f not in world.books.frameworks.registered
    assert not world.books.agents.registered[a].tasks
    done = world.books.frameworks.completed[0].completed_tasks[0]
    assert done.state is TaskState.TASK_KILLED


def test_a_registration_retry_gets_the_same_framework_id(world: World) -> None:
    f = world.framework()
    assert world.framework() == f and len(world.books.frameworks.registered) == 1


def test_a_reregistering_agent_brings_its_tasks_back(world: World) -> None:
    info = FrameworkInfo(user="u", name="fw", id="OLD-0000")
    reported = Task(name="t", task_id="t", framework_id="OLD-0000", agent_id="OLD-S3",
                    state=TaskState.TASK_RUNNING, resources=R("cpus:1"))
    out = Outbox()
    agents.reregister(world.books, AGENT, ReregisterAgent(
        agent_info=AgentInfo(hostname="h", id="OLD-S3", resources=R("cpus:4")),
        tasks=(reported,), frameworks=(info,)), out, 75.0)
    (added,) = out.messages(AllocatorAddAgent)
    assert added.used_by_framework == {"OLD-0000": {"*": R("cpus:1")}}
    framework = world.books.frameworks.registered["OLD-0000"]
    assert not framework.connected and framework.tasks["t"].state is TaskState.TASK_RUNNING
    assert tasks.scheduler_of(world.books, SCHED, "OLD-0000", "test") is None


def test_a_registered_agent_reregistering_with_more_resources_updates_the_allocator(
        world: World) -> None:
    a = world.agent("cpus:4;mem:4096")
    record = world.books.agents.registered[a]
    agents.disconnect(world.books, record, Outbox())
    grown = AgentInfo(hostname="h", id=a, resources=R("cpus:8;mem:4096"),
                      attributes=parse_attributes("rack:r1"))
    out = Outbox()
    agents.reregister(world.books, AGENT, ReregisterAgent(agent_info=grown), out, 75.0)
    assert record.info == grown and record.total == R("cpus:8;mem:4096")
    (update,) = out.messages(AllocatorUpdateAgent)
    assert update.agent_id == a and update.total == R("cpus:8;mem:4096")
    commands = [type(m).__name__ for m in out.allocator]
    assert commands.index("AllocatorUpdateAgent") < commands.index("AllocatorActivateAgent")
    out = Outbox()  # the same info again: nothing to tell the allocator
    agents.reregister(world.books, AGENT, ReregisterAgent(agent_info=grown), out, 75.0)
    assert not out.messages(AllocatorUpdateAgent)


def test_a_task_group_launches_whole_or_not_at_all(world: World) -> None:
    a, f = world.agent(DISKFUL), world.framework()
    executor = ExecutorInfo(executor_id="g", type=ExecutorType.DEFAULT,
                            resources=R("cpus:0.1;mem:32;disk:32"))
    fw = world.books.frameworks.registered[f]
    out = Outbox()
    accept(world.books, fw, AcceptOffers(framework_id=f, offer_ids=(world.offer(f, a, DISKFUL),),
                                         operations=(launch_group(
                                             executor, task(a, "x"), task(a, "y")),)), out)
    (group,) = out.messages(RunTaskGroup)
    assert [t.task_id for t in group.task_group.tasks] == ["x", "y"]
    assert group.executor_info.framework_id == f and group.launch_executor
    out = Outbox()
    accept(world.books, fw, AcceptOffers(framework_id=f, offer_ids=(world.offer(f, a, DISKFUL),),
                                         operations=(launch_group(
                                             executor, task(a, "z"), task(a, "x")),)), out)
    assert not out.messages(RunTaskGroup)
    errors = out.messages(StatusUpdate)
    assert [(u.update.status.task_id, u.update.status.reason) for u in errors] == [
        ("z", Reason.REASON_TASK_GROUP_INVALID), ("x", Reason.REASON_TASK_GROUP_INVALID)]
    assert "z" not in fw.tasks


def test_an_offer_carries_the_agent_http_endpoint_when_known(world: World) -> None:
    out = Outbox()
    record = agents.register(world.books, AGENT, RegisterAgent(agent_info=AgentInfo(
        hostname="h", resources=R("cpus:1"), http_port=5151)), out, 75.0)
    f = world.framework()
    offer = world.books.offers.get(world.offer(f, record.id, "cpus:1"))
    assert offer is not None and offer.url is not None
    assert (offer.url.address.ip, offer.url.address.port, offer.url.path) == (
        "10.0.0.1", 5151, "/agent")
    plain = world.agent(pid=PID("agent", "10.0.0.2", 5051))
    no_url = world.books.offers.get(world.offer(f, plain, "cpus:1"))
    assert no_url is not None and no_url.url is None


def test_reconciliation_answers_the_state_being_delivered_not_a_newer_one(
        world: World) -> None:
    a, f = world.agent(), world.framework()
    world.launch(f, world.offer(f, a), task(a, "t1"))
    fw = world.books.frameworks.registered[f]
    apply_update(fw.tasks["t1"], info(TaskState.TASK_RUNNING, TaskState.TASK_FINISHED))
    (answer,) = reconcile(world.books, fw, ())
    assert answer.update.status.state is TaskState.TASK_RUNNING
    assert answer.update.status.reason is Reason.REASON_RECONCILIATION
    (explicit,) = reconcile(world.books, fw, (TaskStatus(task_id="t1",
                                                         state=TaskState.TASK_STAGING),))
    assert explicit.update.status.state is TaskState.TASK_RUNNING


def test_update_framework_changes_roles_and_refuses_a_new_user(world: World) -> None:
    a = world.agent()
    f = world.framework(roles=("web",))
    oid = world.offer(f, a, "cpus:1", role="web")
    fw = world.books.frameworks.registered[f]
    out = Outbox()
    frameworks.update(world.books, fw, UpdateFramework(framework_id=f, framework_info=FrameworkInfo(
        user="u", name="fw2", roles=("db",))), out)
    (sent,) = out.messages(AllocatorUpdateFramework)
    assert sent.roles == ("db",) and fw.info.name == "fw2" and fw.info.id == f
    assert out.messages(RescindResourceOffer)[0].offer_id == oid  # its role is gone
    out = Outbox()
    frameworks.update(world.books, fw, UpdateFramework(framework_id=f, framework_info=FrameworkInfo(
        user="root", name="fw2", roles=("db",))), out)
    assert "fixed" in out.messages(FrameworkError)[0].message and fw.info.user == "u"


def test_removed_ids_are_remembered_only_up_to_a_bound() -> None:
    from actors.master.bounded import BoundedSet
    from actors.master.frameworks import FrameworkBook

    book = FrameworkBook("M", max_completed=3)
    for n in range(10):
        record = book.add(FrameworkInfo(id=f"M-{n}", user="u", name="n"), None, 0.0)
        book.complete(record)
    assert len(book.completed) == len(book.completed_ids) == 3
    assert "M-9" in book.completed_ids and "M-0" not in book.completed_ids
    removed = BoundedSet(2)
    for agent_id in ("a", "b", "c", "b"):
        removed.add(agent_id)
    assert list(removed) == ["c", "b"]


def test_a_framework_may_not_re_register_with_another_principal(world: World) -> None:
    f = world.framework(principal="alice")
    thief = PID("scheduler(2)", "10.0.0.8", 4000)
    out = Outbox()
    frameworks.reregister(world.books, thief, ReregisterFramework(framework_info=FrameworkInfo(
        user="u", name="fw", id=f, principal="bob")), out)
    assert [m.message for m in out.messages(FrameworkError)] == [
        "Changing framework's principal is not allowed."]  # alice's name is not told
    assert world.books.frameworks.registered[f].pid == SCHED
    out = Outbox()
    frameworks.reregister(world.books, SCHED, ReregisterFramework(framework_info=FrameworkInfo(
        user="u", name="fw", id=f, principal="alice")), out)
    assert not out.messages(FrameworkError)
