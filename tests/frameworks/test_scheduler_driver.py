"""SchedulerDriver against a stand-in master on an in-process node (actor harness)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from scheduler_harness import (
    FRAMEWORK_ID,
    FakeMaster,
    RecordingScheduler,
    offer,
    settle,
    status_update,
    wait_until,
)

from actors.messages import (
    AcceptOffers,
    CommandInfo,
    DeactivateFramework,
    DeclineOffers,
    ExecutorToFramework,
    ExitedExecutor,
    Filters,
    FrameworkCapability,
    FrameworkError,
    FrameworkInfo,
    FrameworkRegistered,
    FrameworkToExecutor,
    KillTask,
    LostAgent,
    OperationType,
    Reason,
    ReconcileTasks,
    RegisterFramework,
    Request,
    ReregisterFramework,
    RescindResourceOffer,
    ResourceOffers,
    ResourceRequest,
    ReviveOffers,
    StatusUpdateAcknowledgement,
    SuppressOffers,
    TaskInfo,
    TaskState,
    TaskStatus,
    UnregisterFramework,
    UpdateFramework,
)
from actors.resources import Resources
from frameworks.scheduler import Scheduler
from frameworks.scheduler_driver import (
    DriverError,
    DriverStatus,
    SchedulerDriver,
    parse_master,
)
from transport import PID, ManualClock, Node

INFO = FrameworkInfo(user="tester", name="test-framework")


@pytest.fixture
def node() -> Iterator[Node]:
    node = Node("127.0.0.1", 0).start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def master(node: Node) -> FakeMaster:
    return FakeMaster.spawn(node)


@pytest.fixture
def make_driver(node: Node) -> Iterator[Callable[..., SchedulerDriver]]:
    drivers: list[SchedulerDriver] = []

    def make(scheduler: Scheduler, info: FrameworkInfo = INFO, **kwargs: Any) -> SchedulerDriver:
        kwargs.setdefault("registration_backoff_factor", 0.05)
        driver = SchedulerDriver(node, scheduler, info, f"master@{node.address}", **kwargs)
        drivers.append(driver)
        return driver

    yield make
    for driver in drivers:
        driver.stop(failover=True)


def started(make_driver: Callable[..., SchedulerDriver], sched: RecordingScheduler,
            **kwargs: Any) -> SchedulerDriver:
    driver = make_driver(sched, **kwargs)
    assert driver.start() is DriverStatus.DRIVER_RUNNING
    sched.wait_for("registered")
    return driver


def task(task_id: str = "t1", agent_id: str = "m1-S1") -> TaskInfo:
    return TaskInfo(name=task_id, task_id=task_id, agent_id=agent_id,
                    resources=Resources.parse("cpus:1;mem:128"),
                    command=CommandInfo(value="echo hi"))


# --- registration ---------------------------------------------------------------------


def test_registers_and_calls_registered_on_the_actor_thread(
        make_driver: Callable[..., SchedulerDriver], master: FakeMaster) -> None:
    sched = RecordingScheduler()
    driver = started(make_driver, sched)
    [(framework_id, master_info)] = sched.args("registered")
    assert framework_id == FRAMEWORK_ID == driver.framework_id
    assert master_info.pid == master.pid
    sent = master.messages(RegisterFramework)  # a retry may beat the answer when slow
    assert sent and all(m.framework_info == sent[0].framework_info for m in sent)
    register = sent[0]
    assert register.framework_info.name == "test-framework"
    assert register.framework_info.id == ""
    assert register.framework_info.hostname  # the driver fills it in
    thread = sched.calls[0][2]
    assert thread != threading.get_ident()
    assert thread == driver.thread_id
    assert driver.pid.name.startswith("scheduler(")
    assert driver.connected


def test_empty_user_is_filled_in(make_driver: Callable[..., SchedulerDriver],
                                 master: FakeMaster) -> None:
    sched = RecordingScheduler()
    started(make_driver, sched, info=FrameworkInfo(user="", name="x"))
    assert master.messages(RegisterFramework)[0].framework_info.user != ""


def test_registration_is_retried_when_register_framework_is_dropped() -> None:
    clock = ManualClock()
    node = Node("127.0.0.1", 0, clock=clock).start()
    try:
        master = FakeMaster.spawn(node)
        dropped = node.hooks.drop(RegisterFramework, count=2)
        sched = RecordingScheduler()
        driver = SchedulerDriver(node, sched, INFO, f"master@{node.address}",
                                 registration_backoff_factor=1.0)
        driver.start()
        wait_until(lambda: dropped.hits == 1)
        assert sched.names() == []
        clock.advance(1.0)  # the retry falls within [0, factor]
        wait_until(lambda: dropped.hits == 2)
        clock.advance(2.0)  # then within [0, 2 * factor]
        sched.wait_for("registered")
        assert len(master.messages(RegisterFramework)) == 1  # the two before were dropped
        clock.advance(100.0)  # registered: no more attempts
        settle(master, driver)
        assert len(master.messages(RegisterFramework)) == 1
        driver.stop()
    finally:
        node.stop()


def test_a_driver_started_with_an_id_fails_over_with_reregister(
        make_driver: Callable[..., SchedulerDriver], master: FakeMaster) -> None:
    sched = RecordingScheduler()
    make_driver(sched, info=FrameworkInfo(user="u", name="n", id=FRAMEWORK_ID)).start()
    sched.wait_for("reregistered")
    sent = master.messages(ReregisterFramework)  # a retry may beat the answer when slow
    assert sent and all(m.failover and m.framework_info.id == FRAMEWORK_ID for m in sent)
    assert master.messages(RegisterFramework) == []


def test_master_exit_disconnects_then_reregisters_with_the_id(
        node: Node, make_driver: Callable[..., SchedulerDriver], master: FakeMaster) -> None:
    sched = RecordingScheduler()
    driver = started(make_driver, sched)
    master.actor_ref.stop()
    sched.wait_for("disconnected")
    assert not driver.connected
    new_master = FakeMaster.spawn(node)  # the same PID, restarted
    [(master_info,)] = sched.wait_for("reregistered")
    sent = new_master.messages(ReregisterFramework)  # a retry may beat the answer
    assert sent and all(m.framework_info.id == FRAMEWORK_ID and m.failover is False
                        for m in sent)
    assert sched.names() == ["registered", "disconnected", "reregistered"]
    assert master_info.pid == new_master.pid
    assert driver.connected


def test_messages_from_another_master_are_ignored(
        node: Node, make_driver: Callable[..., SchedulerDriver]) -> None:
    ours = FakeMaster.spawn(node, auto_register=False)
    other = FakeMaster.spawn(node, name="master2")
    sched = RecordingScheduler()
    driver = make_driver(sched)
    driver.start()
    ours.wait_for(RegisterFramework)
    other.push(driver.pid, FrameworkRegistered(framework_id="other-0001",
                                               master_info=other.master_info))
    settle(other, driver)
    assert sched.names() == [] and not driver.connected
    ours.push(driver.pid, FrameworkRegistered(framework_id=FRAMEWORK_ID,
                                              master_info=ours.master_info))
    sched.wait_for("registered")
    other.push(driver.pid, ResourceOffers(offers=(offer(),)))
    other.push(driver.pid, FrameworkError(message="not yours"))
    ours.push(driver.pid, RescindResourceOffer(offer_id="sentinel"))
    sched.wait_for("offer_rescinded")
    assert sched.names() == ["registered", "offer_rescinded"]
    assert driver.status is DriverStatus.DRIVER_RUNNING


def test_events_before_registration_are_ignored(
        node: Node, make_driver: Callable[..., SchedulerDriver]) -> None:
    master = FakeMaster.spawn(node, auto_register=False)
    sched = RecordingScheduler()
    driver = make_driver(sched)
    driver.start()
    master.wait_for(RegisterFramework)
    master.push(driver.pid, ResourceOffers(offers=(offer(),)))
    master.push(driver.pid, FrameworkRegistered(framework_id=FRAMEWORK_ID,
                                                master_info=master.master_info))
    master.push(driver.pid, ResourceOffers(offers=(offer("m1-O2"),)))
    sched.wait_for("resource_offers")
    settle(master, driver)
    [(offers,)] = sched.args("resource_offers")
    assert [o.id for o in offers] == ["m1-O2"]


# --- callbacks ------------------------------------------------------------------------


def test_callbacks_run_in_order_on_the_actor_thread(
        make_driver: Callable[..., SchedulerDriver], master: FakeMaster) -> None:
    sched = RecordingScheduler()
    driver = started(make_driver, sched)
    pid = driver.pid
    master.push(pid, ResourceOffers(offers=(offer("m1-O1"), offer("m1-O2", "m1-S2"))))
    master.push(pid, RescindResourceOffer(offer_id="m1-O2"))
    master.push(pid, status_update("t1", TaskState.TASK_RUNNING, uuid=b""))
    master.push(pid, LostAgent(agent_id="m1-S2"))
    master.push(pid, ExitedExecutor(agent_id="m1-S1", framework_id=FRAMEWORK_ID,
                                    executor_id="e1", status=256))
    master.push(pid, ExecutorToFramework(agent_id="m1-S1", framework_id=FRAMEWORK_ID,
                                         executor_id="e1", data=b"hello"))
    sched.wait_for("framework_message")
    assert sched.names() == ["registered", "resource_offers", "offer_rescinded",
                             "status_update", "agent_lost", "executor_lost",
                             "framework_message"]
    assert len({thread for _, _, thread in sched.calls}) == 1
    [(offers,)] = sched.args("resource_offers")
    assert [o.id for o in offers] == ["m1-O1", "m1-O2"]
    assert driver.agent_pid("m1-S1") is None  # these offers came without agent pids
    assert sched.args("offer_rescinded") == [("m1-O2",)]
    assert sched.args("agent_lost") == [("m1-S2",)]
    assert sched.args("executor_lost") == [("e1", "m1-S1", 256)]
    assert sched.args("framework_message") == [("e1", "m1-S1", b"hello")]


def test_the_driver_remembers_offered_agents_pids(
        make_driver: Callable[..., SchedulerDriver], master: FakeMaster) -> None:
    sched = RecordingScheduler()
    driver = started(make_driver, sched)
    agent = PID("agent", "10.0.0.7", 5051)
    master.push(driver.pid, ResourceOffers(offers=(offer(agent_id="m1-S7"),), pids=(agent,)))
    sched.wait_for("resource_offers")
    assert driver.agent_pid("m1-S7") == agent and driver.agent_pid("m1-S8") is None


def test_a_raising_callback_is_logged_and_the_driver_carries_on(
        make_driver: Callable[..., SchedulerDriver], master: FakeMaster) -> None:
    sched = RecordingScheduler()

    def boom(driver: SchedulerDriver, offers: list[Any]) -> None:
        raise RuntimeError("scheduler bug")

    sched.react["resource_offers"] = boom
    driver = started(make_driver, sched)
    master.push(driver.pid, ResourceOffers(offers=(offer(),)))
    master.push(driver.pid, status_update("t1", TaskState.TASK_RUNNING))
    sched.wait_for("status_update")
    master.wait_for(StatusUpdateAcknowledgement)
    assert driver.status is DriverStatus.DRIVER_RUNNING


# --- offers ---------------------------------------------------------------------------


def test_launch_tasks_in_resource_offers_sends_one_accept_with_one_launch(
        make_driver: Callable[..., SchedulerDriver], master: FakeMaster) -> None:
    sched = RecordingScheduler()
    sched.react["resource_offers"] = lambda d, offers: d.launch_tasks(
        [o.id for o in offers], [task("t1"), task("t2")], Filters(refuse_seconds=60))
    driver = started(make_driver, sched)
    master.push(driver.pid, ResourceOffers(offers=(offer(),)))
    [accept] = master.wait_for(AcceptOffers)
    assert accept.framework_id == FRAMEWORK_ID
    assert accept.offer_ids == ("m1-O1",)
    assert accept.filters == Filters(refuse_seconds=60)
    [op] = accept.operations
    assert op.type is OperationType.LAUNCH and op.launch is not None
    assert [t.task_id for t in op.launch.task_infos] == ["t1", "t2"]


def test_launch_tasks_default_filters_and_empty_tasks_declines_through_accept(
        make_driver: Callable[..., SchedulerDriver], master: FakeMaster) -> None:
    driver = started(make_driver, RecordingScheduler())
    assert driver.launch_tasks("m1-O1", [task()]) is DriverStatus.DRIVER_RUNNING
    driver.launch_tasks(["m1-O2"], [])
    first, second = master.wait_for(AcceptOffers, 2)
    assert first.filters == Filters() and first.filters.refuse_seconds == 5.0
    assert second.operations == () and second.offer_ids == ("m1-O2",)


def test_decline_revive_suppress(make_driver: Callable[..., SchedulerDriver],
                                 master: FakeMaster) -> None:
    driver = started(make_driver, RecordingScheduler())
    driver.decline_offer("m1-O1", Filters(refuse_seconds=3600))
    driver.decline_offer("m1-O2")
    driver.suppress_offers()
    driver.revive_offers(["web"])
    declines = master.wait_for(DeclineOffers, 2)
    assert [(d.offer_ids, d.filters.refuse_seconds) for d in declines] == [
        (("m1-O1",), 3600), (("m1-O2",), 5.0)]
    assert master.wait_for(SuppressOffers) == [SuppressOffers(framework_id=FRAMEWORK_ID)]
    assert master.wait_for(ReviveOffers) == [ReviveOffers(framework_id=FRAMEWORK_ID,
                                                          roles=("web",))]


def test_launch_while_disconnected_reports_task_lost(
        node: Node, make_driver: Callable[..., SchedulerDriver]) -> None:
    master = FakeMaster.spawn(node, auto_register=False)
    sched = RecordingScheduler()
    driver = make_driver(sched)
    driver.start()
    master.wait_for(RegisterFramework)
    driver.launch_tasks("m1-O1", [task("t9")])
    [(status,)] = sched.wait_for("status_update")
    assert status.task_id == "t9" and status.state is TaskState.TASK_LOST
    assert status.reason is Reason.REASON_MASTER_DISCONNECTED and status.uuid == b""
    assert master.messages(AcceptOffers) == []


def test_launch_while_disconnected_is_dropped_for_partition_aware(
        node: Node, make_driver: Callable[..., SchedulerDriver]) -> None:
    master = FakeMaster.spawn(node, auto_register=False)
    sched = RecordingScheduler()
    info = FrameworkInfo(user="u", name="pa",
                         capabilities=frozenset({FrameworkCapability.PARTITION_AWARE}))
    driver = make_driver(sched, info=info)
    driver.start()
    master.wait_for(RegisterFramework)
    driver.launch_tasks("m1-O1", [task("t9")])
    [(status,)] = sched.wait_for("status_update")
    assert status.state is TaskState.TASK_DROPPED


# --- status updates and acknowledgements ----------------------------------------------


def test_implicit_ack_after_the_callback_returns_and_only_with_a_uuid(
        make_driver: Callable[..., SchedulerDriver], master: FakeMaster) -> None:
    sched = RecordingScheduler()
    acks_seen_in_callback: list[int] = []

    def on_update(driver: SchedulerDriver, status: TaskStatus) -> None:
        time.sleep(0.05)
        acks_seen_in_callback.append(len(master.messages(StatusUpdateAcknowledgement)))

    sched.react["status_update"] = on_update
    driver = started(make_driver, sched)
    master.push(driver.pid, status_update("t1", TaskState.TASK_LOST, uuid=b""))  # master's own
    master.push(driver.pid, status_update("t1", TaskState.TASK_RUNNING, uuid=b"a" * 16))
    sched.wait_for("status_update", 2)
    [ack] = master.wait_for(StatusUpdateAcknowledgement)
    assert acks_seen_in_callback == [0, 0]
    assert ack == StatusUpdateAcknowledgement(agent_id="m1-S1", framework_id=FRAMEWORK_ID,
                                              task_id="t1", uuid=b"a" * 16)
    settle(master, driver)
    assert len(master.messages(StatusUpdateAcknowledgement)) == 1


def test_status_gets_uuid_and_agent_from_the_update_envelope(
        make_driver: Callable[..., SchedulerDriver], master: FakeMaster) -> None:
    sched = RecordingScheduler()
    driver = started(make_driver, sched)
    update = status_update("t1", TaskState.TASK_RUNNING)
    bare = type(update)(update=type(update.update)(
        framework_id=FRAMEWORK_ID, status=TaskStatus(task_id="t1", state=TaskState.TASK_RUNNING),
        timestamp=1.0, agent_id="m1-S7", executor_id="e7", uuid=b"b" * 16))
    master.push(driver.pid, bare)
    [(status,)] = sched.wait_for("status_update")
    assert (status.uuid, status.agent_id, status.executor_id) == (b"b" * 16, "m1-S7", "e7")
    [ack] = master.wait_for(StatusUpdateAcknowledgement)
    assert ack.agent_id == "m1-S7" and ack.uuid == b"b" * 16


def test_explicit_acks(make_driver: Callable[..., SchedulerDriver],
                       master: FakeMaster) -> None:
    sched = RecordingScheduler()
    driver = started(make_driver, sched, implicit_acknowledgements=False)
    master.push(driver.pid, status_update("t1", TaskState.TASK_FINISHED, uuid=b"c" * 16))
    [(status,)] = sched.wait_for("status_update")
    settle(master, driver)
    assert master.messages(StatusUpdateAcknowledgement) == []
    assert driver.acknowledge_status_update(status) is DriverStatus.DRIVER_RUNNING
    [ack] = master.wait_for(StatusUpdateAcknowledgement)
    assert (ack.task_id, ack.uuid, ack.agent_id) == ("t1", b"c" * 16, "m1-S1")


def test_explicit_ack_is_refused_with_implicit_acks(
        make_driver: Callable[..., SchedulerDriver], master: FakeMaster) -> None:
    driver = started(make_driver, RecordingScheduler())
    with pytest.raises(DriverError):
        driver.acknowledge_status_update(TaskStatus(task_id="t1", state=TaskState.TASK_RUNNING,
                                                    uuid=b"x" * 16))


# --- tasks, reconciliation, messages --------------------------------------------------


def test_kill_task(make_driver: Callable[..., SchedulerDriver], master: FakeMaster) -> None:
    driver = started(make_driver, RecordingScheduler())
    driver.kill_task("t1")
    driver.kill_task("t2", agent_id="m1-S3")
    assert master.wait_for(KillTask, 2) == [
        KillTask(framework_id=FRAMEWORK_ID, task_id="t1"),
        KillTask(framework_id=FRAMEWORK_ID, task_id="t2", agent_id="m1-S3")]


def test_reconcile_explicit_and_implicit(make_driver: Callable[..., SchedulerDriver],
                                         master: FakeMaster) -> None:
    driver = started(make_driver, RecordingScheduler())
    known = TaskStatus(task_id="t1", state=TaskState.TASK_RUNNING, agent_id="m1-S1")
    driver.reconcile_tasks([known])
    driver.reconcile_tasks([])
    explicit, implicit = master.wait_for(ReconcileTasks, 2)
    assert explicit.statuses == (known,) and explicit.framework_id == FRAMEWORK_ID
    assert implicit.statuses == ()


def test_framework_message_both_ways(make_driver: Callable[..., SchedulerDriver],
                                     master: FakeMaster) -> None:
    sched = RecordingScheduler()
    sched.react["framework_message"] = lambda d, executor_id, agent_id, data: \
        d.send_framework_message(executor_id, agent_id, data.upper())
    driver = started(make_driver, sched)
    master.push(driver.pid, ExecutorToFramework(agent_id="m1-S1", framework_id=FRAMEWORK_ID,
                                                executor_id="e1", data=b"ping"))
    [msg] = master.wait_for(FrameworkToExecutor)
    assert msg == FrameworkToExecutor(agent_id="m1-S1", framework_id=FRAMEWORK_ID,
                                      executor_id="e1", data=b"PING")


def test_update_framework_and_request_resources(
        make_driver: Callable[..., SchedulerDriver], master: FakeMaster) -> None:
    driver = started(make_driver, RecordingScheduler())
    driver.update_framework(FrameworkInfo(user="", name="renamed", roles=("web",)), ["web"])
    driver.request_resources([Request(agent_id="m1-S1", resources=Resources.parse("cpus:1"))])
    [update] = master.wait_for(UpdateFramework)
    assert update.framework_id == FRAMEWORK_ID and update.suppressed_roles == ("web",)
    assert update.framework_info is not None
    assert (update.framework_info.id, update.framework_info.name) == (FRAMEWORK_ID, "renamed")
    assert update.framework_info.user == "tester"  # unchanged fields keep the driver's values
    [request] = master.wait_for(ResourceRequest)
    assert request.requests[0].agent_id == "m1-S1"


# --- stop, abort, error ---------------------------------------------------------------


def test_stop_tears_the_framework_down(node: Node, make_driver: Callable[..., SchedulerDriver],
                                       master: FakeMaster) -> None:
    driver = started(make_driver, RecordingScheduler())
    name = driver.pid.name
    assert driver.stop() is DriverStatus.DRIVER_STOPPED
    assert master.wait_for(UnregisterFramework) == [UnregisterFramework(
        framework_id=FRAMEWORK_ID)]
    assert driver.join(timeout=1) is DriverStatus.DRIVER_STOPPED
    wait_until(lambda: name not in node.processes)
    assert driver.decline_offer("m1-O1") is DriverStatus.DRIVER_STOPPED
    assert driver.stop() is DriverStatus.DRIVER_STOPPED


def test_stop_with_failover_does_not_unregister(
        node: Node, make_driver: Callable[..., SchedulerDriver], master: FakeMaster) -> None:
    driver = started(make_driver, RecordingScheduler())
    name = driver.pid.name
    assert driver.stop(failover=True) is DriverStatus.DRIVER_STOPPED
    wait_until(lambda: name not in node.processes)
    assert master.messages(UnregisterFramework) == []


def test_stop_from_a_callback_ends_run(make_driver: Callable[..., SchedulerDriver],
                                       master: FakeMaster) -> None:
    sched = RecordingScheduler()
    sched.react["registered"] = lambda d, framework_id, master_info: d.stop()
    driver = make_driver(sched)
    assert driver.run() is DriverStatus.DRIVER_STOPPED
    master.wait_for(UnregisterFramework)


def test_framework_error_calls_error_and_aborts(
        make_driver: Callable[..., SchedulerDriver], master: FakeMaster) -> None:
    sched = RecordingScheduler()
    statuses: list[DriverStatus] = []
    sched.react["error"] = lambda d, message: statuses.append(d.status)
    driver = started(make_driver, sched)
    master.push(driver.pid, FrameworkError(message="framework removed"))
    assert driver.join(timeout=5) is DriverStatus.DRIVER_ABORTED
    assert sched.wait_for("error") == [("framework removed",)]
    assert statuses == [DriverStatus.DRIVER_ABORTED]  # aborted before the callback
    master.wait_for(DeactivateFramework)
    master.push(driver.pid, ResourceOffers(offers=(offer(),)))
    settle(master, driver)
    assert "resource_offers" not in sched.names()
    assert driver.stop() is DriverStatus.DRIVER_ABORTED


def test_abort_deactivates_and_keeps_tasks(make_driver: Callable[..., SchedulerDriver],
                                           master: FakeMaster) -> None:
    driver = started(make_driver, RecordingScheduler())
    assert driver.abort() is DriverStatus.DRIVER_ABORTED
    assert driver.run() is DriverStatus.DRIVER_ABORTED
    master.wait_for(DeactivateFramework)
    assert driver.kill_task("t1") is DriverStatus.DRIVER_ABORTED
    settle(master, driver)
    assert master.messages(KillTask) == [] and master.messages(UnregisterFramework) == []


def test_calls_before_start_do_nothing(make_driver: Callable[..., SchedulerDriver],
                                       master: FakeMaster) -> None:
    driver = make_driver(RecordingScheduler())
    assert driver.kill_task("t1") is DriverStatus.DRIVER_NOT_STARTED
    assert driver.join(timeout=0.01) is DriverStatus.DRIVER_NOT_STARTED
    assert driver.stop() is DriverStatus.DRIVER_NOT_STARTED
    assert master.received == []


# --- threads --------------------------------------------------------------------------


def test_calls_from_many_threads_all_arrive_whole(
        make_driver: Callable[..., SchedulerDriver], master: FakeMaster) -> None:
    driver = started(make_driver, RecordingScheduler())

    def spam(n: int) -> None:
        for i in range(50):
            driver.decline_offer(f"o-{n}-{i}", Filters(refuse_seconds=n))
            driver.kill_task(f"t-{n}-{i}")

    threads = [threading.Thread(target=spam, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    declines = master.wait_for(DeclineOffers, 400)
    kills = master.wait_for(KillTask, 400)
    assert len(declines) == 400 and len(kills) == 400
    for n in range(8):  # each thread's calls keep their order
        mine = [d.offer_ids[0] for d in declines if d.filters.refuse_seconds == n]
        assert mine == [f"o-{n}-{i}" for i in range(50)]


def test_calls_inside_a_callback_send_at_once(
        node: Node, make_driver: Callable[..., SchedulerDriver], master: FakeMaster) -> None:
    sent = node.hooks.capture(DeclineOffers, direction="out")
    sched = RecordingScheduler()
    seen: list[int] = []

    def decline(driver: SchedulerDriver, offers: list[Any]) -> None:
        driver.decline_offer(offers[0].id)
        seen.append(len(sent))  # already handed to the node, not posted for later

    sched.react["resource_offers"] = decline
    driver = started(make_driver, sched)
    master.push(driver.pid, ResourceOffers(offers=(offer(),)))
    master.wait_for(DeclineOffers)
    wait_until(lambda: seen)  # the master may get the decline before the callback returns
    assert seen == [1]


def test_join_on_the_driver_thread_is_refused(make_driver: Callable[..., SchedulerDriver],
                                              master: FakeMaster) -> None:
    sched = RecordingScheduler()
    refused: list[str] = []

    def try_join(driver: SchedulerDriver, framework_id: str, master_info: Any) -> None:
        try:
            driver.join()
        except DriverError as exc:
            refused.append(str(exc))

    sched.react["registered"] = try_join
    started(make_driver, sched)
    assert len(refused) == 1 and "deadlock" in refused[0]


def test_a_spawned_driver_works_through_a_pykka_proxy(node: Node, master: FakeMaster) -> None:
    sched = RecordingScheduler()
    ref = node.spawn(SchedulerDriver, sched, INFO, master=f"master@{node.address}",
                     registration_backoff_factor=0.05)
    driver = ref.proxy()
    assert driver.status.get(timeout=5) is DriverStatus.DRIVER_NOT_STARTED
    assert master.received == []  # spawned, not started: nothing sent yet
    driver.start()
    sched.wait_for("registered")
    driver.launch_tasks("m1-O1", [task()])
    [accept] = master.wait_for(AcceptOffers)
    assert accept.framework_id == FRAMEWORK_ID
    assert driver.stop().get(timeout=5) is DriverStatus.DRIVER_STOPPED
    master.wait_for(UnregisterFramework)


def test_a_driver_never_started_does_not_hold_up_its_node() -> None:
    node = Node("127.0.0.1", 0).start()
    driver = SchedulerDriver(node, RecordingScheduler(), INFO, "127.0.0.1:1")
    assert driver.pid.name not in node.processes
    start = time.monotonic()
    node.stop()
    assert time.monotonic() - start < 2


# --- helpers --------------------------------------------------------------------------


def test_parse_master() -> None:
    assert parse_master("10.0.0.1:5050") == PID("master", "10.0.0.1", 5050)
    assert parse_master("master@10.0.0.1:6000") == PID("master", "10.0.0.1", 6000)
    with pytest.raises(ValueError):
        parse_master("zk://h:2181/mesos")
    with pytest.raises(ValueError):
        parse_master("nonsense")


def test_create_owns_its_node_and_close_stops_it() -> None:
    driver = SchedulerDriver.create(RecordingScheduler(), INFO, "127.0.0.1:1")
    node = driver.node
    assert node.port != 0
    driver.start()
    driver.close()
    assert driver.status is DriverStatus.DRIVER_STOPPED
    assert node.processes == {}
