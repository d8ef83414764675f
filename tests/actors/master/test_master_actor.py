"""MasterActor with the real allocator and stand-in agents and schedulers (one node)."""

from __future__ import annotations

import json
import math
import urllib.request

import pytest
from master_harness import Cluster, FakeAgent, Peer, offer_of

from actors.master.config import MasterConfig
from actors.messages import (
    AcceptOffers,
    AgentInfo,
    AgentReregistered,
    CommandInfo,
    DeclineOffers,
    ExecutorInfo,
    ExecutorToFramework,
    Filters,
    FrameworkCapability,
    FrameworkError,
    FrameworkInfo,
    FrameworkReregistered,
    FrameworkToExecutor,
    KillTask,
    LaunchTasks,
    LostAgent,
    Reason,
    ReconcileTasks,
    ReregisterAgent,
    ReregisterFramework,
    RescindResourceOffer,
    ResourceOffers,
    ReviveOffers,
    RunTask,
    ShutdownFramework,
    Source,
    StatusUpdate,
    StatusUpdateAcknowledgement,
    StatusUpdateInfo,
    SuppressOffers,
    Task,
    TaskInfo,
    TaskState,
    TaskStatus,
    UnregisterFramework,
    launch,
)
from actors.resources import Resources

R = Resources.parse


def task(agent: Peer, task_id: str, resources: str, **kw: object) -> TaskInfo:
    kw.setdefault("command", CommandInfo(value="sleep 100"))
    return TaskInfo(name=task_id, task_id=task_id, agent_id=agent.id, resources=R(resources),
                    **kw)  # type: ignore[arg-type]


def run(cluster: Cluster, fw: Peer, agent: Peer, task_id: str = "t1",
        resources: str = "cpus:1;mem:512") -> RunTask:
    """Launch one task on the next offer; return the RunTask the agent got."""
    offer = offer_of(fw)
    fw.tell(AcceptOffers(framework_id=fw.id, offer_ids=(offer.id,),
                         operations=(launch(task(agent, task_id, resources)),)))
    return agent.expect(RunTask)


def update(agent: Peer, fw: Peer, task_id: str, state: TaskState, uuid: bytes = b"u1",
           latest: TaskState | None = None) -> None:
    status = TaskStatus(task_id=task_id, state=state, source=Source.SOURCE_EXECUTOR,
                        agent_id=agent.id, uuid=uuid)
    agent.tell(StatusUpdate(update=StatusUpdateInfo(
        framework_id=fw.id, status=status, timestamp=1.0, agent_id=agent.id, uuid=uuid,
        latest_state=latest), pid=agent.pid))


def test_an_agent_and_a_framework_get_ids_and_the_framework_an_offer(cluster: Cluster) -> None:
    agent = cluster.agent()
    fw = cluster.framework()
    assert agent.id == "M-S0" and fw.id == "M-0000"
    offers = fw.expect(ResourceOffers)
    (offer,) = offers.offers
    assert offer.id == "M-O0" and offer.agent_id == agent.id and offer.hostname == "host1"
    assert offer.resources == R("cpus:4;mem:4096") and offer.role == "*"
    assert offers.pids == (agent.pid,)


def test_accepting_a_launch_sends_run_task_with_the_scheduler_pid(cluster: Cluster) -> None:
    agent = cluster.agent()
    fw = cluster.framework()
    got = run(cluster, fw, agent)
    assert got.task.task_id == "t1" and got.pid == fw.pid and got.framework_info.id == fw.id
    state = cluster.ask(lambda m: m.books.frameworks.get(fw.id).tasks["t1"].state)
    assert state is TaskState.TASK_STAGING


def test_the_mesos_walk_through_offers_the_leftover_to_the_second_framework(
        cluster: Cluster) -> None:
    agent = cluster.agent(resources="cpus:4;mem:4096")
    fw1 = cluster.framework("fw1")
    offer = offer_of(fw1)
    assert offer.resources == R("cpus:4;mem:4096")
    fw1.tell(AcceptOffers(framework_id=fw1.id, offer_ids=(offer.id,), operations=(launch(
        task(agent, "a", "cpus:2;mem:1024"), task(agent, "b", "cpus:1;mem:2048")),)))
    assert {agent.expect(RunTask).task.task_id, agent.expect(RunTask).task.task_id} == {"a", "b"}
    fw2 = cluster.framework("fw2")
    assert offer_of(fw2).resources == R("cpus:1;mem:1024")
    assert fw1.nothing(ResourceOffers)  # its leftover is filtered for 5 s


def test_a_declined_offer_comes_back_after_its_filter(cluster: Cluster) -> None:
    cluster.agent()
    fw = cluster.framework()
    offer = offer_of(fw)
    fw.tell(DeclineOffers(framework_id=fw.id, offer_ids=(offer.id,),
                          filters=Filters(refuse_seconds=10.0)))
    cluster.advance(1.0)
    assert fw.nothing(ResourceOffers)
    cluster.advance(10.0)
    assert offer_of(fw).resources == offer.resources


def test_suppress_stops_offers_and_revive_brings_them_back(cluster: Cluster) -> None:
    cluster.agent()
    fw = cluster.framework()
    offer = offer_of(fw)
    fw.tell(SuppressOffers(framework_id=fw.id))
    fw.tell(DeclineOffers(framework_id=fw.id, offer_ids=(offer.id,),
                          filters=Filters(refuse_seconds=0.0)))
    cluster.advance(2.0)
    assert fw.nothing(ResourceOffers)
    fw.tell(ReviveOffers(framework_id=fw.id))
    assert offer_of(fw).resources == offer.resources


def test_kill_of_a_known_task_goes_to_its_agent(cluster: Cluster) -> None:
    agent = cluster.agent()
    fw = cluster.framework()
    run(cluster, fw, agent)
    fw.tell(KillTask(framework_id=fw.id, task_id="t1"))
    kill = agent.expect(KillTask)
    assert kill.task_id == "t1" and kill.framework_id == fw.id and kill.agent_id == agent.id


@pytest.mark.parametrize(("capabilities", "state"), [
    (frozenset(), TaskState.TASK_LOST),
    (frozenset({FrameworkCapability.PARTITION_AWARE}), TaskState.TASK_UNKNOWN),
])
def test_kill_of_an_unknown_task_is_answered_by_reconciliation(
        cluster: Cluster, capabilities: frozenset[FrameworkCapability],
        state: TaskState) -> None:
    fw = cluster.framework(capabilities=capabilities)
    fw.tell(KillTask(framework_id=fw.id, task_id="ghost"))
    status = fw.expect(StatusUpdate).update.status
    assert (status.task_id, status.state) == ("ghost", state)
    assert status.reason is Reason.REASON_RECONCILIATION
    assert status.source is Source.SOURCE_MASTER and status.uuid == b""


def test_status_updates_reach_the_scheduler_and_acks_reach_the_agent(cluster: Cluster) -> None:
    agent = cluster.agent()
    fw = cluster.framework()
    run(cluster, fw, agent)
    update(agent, fw, "t1", TaskState.TASK_RUNNING, uuid=b"r")
    got = fw.expect(StatusUpdate)
    assert got.update.status.state is TaskState.TASK_RUNNING and got.pid == agent.pid
    fw.tell(StatusUpdateAcknowledgement(agent_id=agent.id, framework_id=fw.id, task_id="t1",
                                        uuid=b"r"))
    ack = agent.expect(StatusUpdateAcknowledgement)
    assert (ack.task_id, ack.uuid) == ("t1", b"r")
    state = cluster.ask(lambda m: m.books.frameworks.get(fw.id).tasks["t1"].state)
    assert state is TaskState.TASK_RUNNING


def test_a_terminal_state_frees_resources_before_the_ack(cluster: Cluster) -> None:
    agent = cluster.agent(resources="cpus:2;mem:1024")
    fw = cluster.framework()
    run(cluster, fw, agent, resources="cpus:2;mem:1024")
    # The head of the agent's stream is still RUNNING, but the task has FINISHED.
    update(agent, fw, "t1", TaskState.TASK_RUNNING, uuid=b"r", latest=TaskState.TASK_FINISHED)
    fw.expect(StatusUpdate)
    cluster.advance(6.0)  # past the accept's default 5 s filter on its (empty) leftover
    assert offer_of(fw).resources == R("cpus:2;mem:1024")
    fw.tell(StatusUpdateAcknowledgement(agent_id=agent.id, framework_id=fw.id, task_id="t1",
                                        uuid=b"r"))
    agent.expect(StatusUpdateAcknowledgement)
    update(agent, fw, "t1", TaskState.TASK_FINISHED, uuid=b"f")
    fw.expect(StatusUpdate)
    fw.tell(StatusUpdateAcknowledgement(agent_id=agent.id, framework_id=fw.id, task_id="t1",
                                        uuid=b"f"))
    agent.expect(StatusUpdateAcknowledgement)
    held = cluster.ask(lambda m: (list(m.books.frameworks.get(fw.id).tasks),
                                  [t.task_id for t in m.books.frameworks.get(fw.id)
                                   .completed_tasks]))
    assert held == ([], ["t1"])


def test_explicit_and_implicit_reconciliation(cluster: Cluster) -> None:
    agent = cluster.agent()
    fw = cluster.framework()
    run(cluster, fw, agent)
    update(agent, fw, "t1", TaskState.TASK_RUNNING)
    fw.expect(StatusUpdate)
    fw.tell(ReconcileTasks(framework_id=fw.id, statuses=(
        TaskStatus(task_id="t1", state=TaskState.TASK_STAGING, agent_id=agent.id),
        TaskStatus(task_id="t9", state=TaskState.TASK_RUNNING, agent_id=agent.id))))
    answers = {u.update.status.task_id: u.update.status for u in
               (fw.expect(StatusUpdate), fw.expect(StatusUpdate))}
    assert answers["t1"].state is TaskState.TASK_RUNNING
    assert answers["t9"].state is TaskState.TASK_LOST  # not partition-aware
    assert all(s.reason is Reason.REASON_RECONCILIATION and s.uuid == b""
               for s in answers.values())
    fw.tell(ReconcileTasks(framework_id=fw.id))
    implicit = fw.expect(StatusUpdate).update.status
    assert (implicit.task_id, implicit.state) == ("t1", TaskState.TASK_RUNNING)
    assert fw.nothing(StatusUpdate)


def test_framework_messages_travel_both_ways(cluster: Cluster) -> None:
    agent = cluster.agent()
    fw = cluster.framework()
    fw.tell(FrameworkToExecutor(agent_id=agent.id, framework_id=fw.id, executor_id="e",
                                data=b"hello"))
    assert agent.expect(FrameworkToExecutor).data == b"hello"
    agent.tell(ExecutorToFramework(agent_id=agent.id, framework_id=fw.id, executor_id="e",
                                   data=b"world"))
    assert fw.expect(ExecutorToFramework).data == b"world"


def test_teardown_shuts_the_framework_down_and_reoffers_its_resources(
        cluster: Cluster) -> None:
    agent = cluster.agent(resources="cpus:2;mem:1024")
    fw1 = cluster.framework("fw1")
    run(cluster, fw1, agent, resources="cpus:2;mem:1024")
    fw2 = cluster.framework("fw2")
    assert fw2.nothing(ResourceOffers)  # everything is used by fw1
    fw1.tell(UnregisterFramework(framework_id=fw1.id))
    assert agent.expect(ShutdownFramework).framework_id == fw1.id
    cluster.advance(1.0)
    assert offer_of(fw2).resources == R("cpus:2;mem:1024")
    completed = cluster.ask(lambda m: [f.id for f in m.books.frameworks.completed])
    assert completed == [fw1.id]


def test_an_agent_that_misses_its_pings_is_removed(cluster: Cluster) -> None:
    agent = cluster.agent()
    fw = cluster.framework()
    run(cluster, fw, agent)
    agent.proc.answer_pings = False  # it answered the ping at registration, no more
    for _ in range(5):  # each ping period is scheduled when the last one is handled
        cluster.advance(15.0)
    assert fw.nothing(LostAgent)  # the pings of t+15 .. t+60 missed: four, not yet
    cluster.advance(15.0)
    assert fw.expect(LostAgent).agent_id == agent.id
    status = fw.expect(StatusUpdate).update.status
    assert (status.task_id, status.state) == ("t1", TaskState.TASK_LOST)
    assert status.reason is Reason.REASON_AGENT_REMOVED
    assert cluster.ask(lambda m: list(m.books.agents.unreachable)) == [agent.id]


def test_an_agent_that_answers_its_pings_stays(cluster: Cluster) -> None:
    cluster.agent()
    fw = cluster.framework()
    offer_of(fw)
    for _ in range(8):
        cluster.advance(15.0)
    assert fw.nothing(LostAgent)


@pytest.mark.parametrize("master_config", [MasterConfig(offer_timeout=30.0)])
def test_an_unanswered_offer_is_rescinded_after_the_offer_timeout(cluster: Cluster) -> None:
    cluster.agent()
    fw = cluster.framework()
    offer = offer_of(fw)
    cluster.advance(29.0)
    assert fw.nothing(RescindResourceOffer)
    cluster.advance(1.0)
    assert fw.expect(RescindResourceOffer).offer_id == offer.id
    cluster.advance(1.0)  # recovered without a filter: offered again
    assert offer_of(fw).resources == offer.resources


def test_a_task_asking_too_much_gets_task_error(cluster: Cluster) -> None:
    agent = cluster.agent(resources="cpus:1;mem:512")
    fw = cluster.framework()
    offer = offer_of(fw)
    fw.tell(LaunchTasks(framework_id=fw.id, offer_ids=(offer.id,),
                        tasks=(task(agent, "big", "cpus:2;mem:512"),)))
    status = fw.expect(StatusUpdate).update.status
    assert status.state is TaskState.TASK_ERROR and status.reason is Reason.REASON_TASK_INVALID
    assert "more resources" in status.message and status.source is Source.SOURCE_MASTER
    assert agent.nothing(RunTask)


def test_a_launch_on_a_used_offer_is_lost(cluster: Cluster) -> None:
    agent = cluster.agent()
    fw = cluster.framework()
    offer = offer_of(fw)
    fw.tell(DeclineOffers(framework_id=fw.id, offer_ids=(offer.id,)))
    fw.tell(AcceptOffers(framework_id=fw.id, offer_ids=(offer.id,),
                         operations=(launch(task(agent, "t1", "cpus:1")),)))
    status = fw.expect(StatusUpdate).update.status
    assert status.state is TaskState.TASK_LOST
    assert status.reason is Reason.REASON_INVALID_OFFERS


def test_a_scheduler_that_goes_away_is_removed_after_its_failover_timeout(
        cluster: Cluster) -> None:
    agent = cluster.agent()
    fw = cluster.framework()
    run(cluster, fw, agent)
    fw.ref.stop()
    cluster.settle()  # the master saw the scheduler go (exited) and started its timer
    cluster.advance(0.0)  # failover_timeout 0
    assert agent.expect(ShutdownFramework).framework_id == fw.id


def test_a_second_scheduler_takes_over_and_the_first_gets_an_error(cluster: Cluster) -> None:
    fw = cluster.framework(failover_timeout=60.0)
    second = cluster.framework(register=False)
    second.tell(ReregisterFramework(framework_info=FrameworkInfo(
        user="alice", name="fw", id=fw.id, failover_timeout=60.0), failover=True))
    assert second.expect(FrameworkReregistered).framework_id == fw.id
    assert "failed over" in fw.expect(FrameworkError).message


def test_the_executor_of_a_task_must_match_the_one_running(cluster: Cluster) -> None:
    agent = cluster.agent()
    fw = cluster.framework()
    e1 = ExecutorInfo(executor_id="e", command=CommandInfo(value="run-e"),
                      resources=R("cpus:0.1;mem:32"))
    run_task = None
    offer = offer_of(fw)
    fw.tell(AcceptOffers(framework_id=fw.id, offer_ids=(offer.id,), operations=(launch(
        task(agent, "t1", "cpus:1", command=None, executor=e1),
        task(agent, "t2", "cpus:1", command=None,
             executor=ExecutorInfo(executor_id="e", command=CommandInfo(value="other")))),)))
    run_task = agent.expect(RunTask)
    assert run_task.task.executor is not None and run_task.task.executor.framework_id == fw.id
    status = fw.expect(StatusUpdate).update.status
    assert status.task_id == "t2" and status.state is TaskState.TASK_ERROR
    assert "differs" in status.message


def test_state_endpoint_shows_agents_frameworks_and_tasks(cluster: Cluster) -> None:
    agent = cluster.agent()
    fw = cluster.framework()
    run(cluster, fw, agent, resources="cpus:1;mem:512")
    url = f"http://127.0.0.1:{cluster.node.http_port}/master/state"
    with urllib.request.urlopen(url, timeout=WAIT_HTTP) as resp:
        state = json.load(resp)
    assert state["id"] == "M" and state["activated_agents"] == 1 == state["activated_slaves"]
    (a,) = state["agents"]
    assert a["id"] == agent.id and a["used_resources"]["cpus"] == 1.0
    assert a["resources"]["mem"] == 4096.0
    (f,) = state["frameworks"]
    assert f["id"] == fw.id and [t["id"] for t in f["tasks"]] == ["t1"]
    assert f["tasks"][0]["state"] == "TASK_STAGING"
    with urllib.request.urlopen(url.replace("state", "health"), timeout=WAIT_HTTP) as resp:
        assert resp.status == 200


WAIT_HTTP = 20.0


def test_a_framework_removed_after_its_failover_timeout_cannot_come_back(
        cluster: Cluster) -> None:
    fw = cluster.framework()
    fw.ref.stop()
    cluster.settle()
    cluster.advance(0.0)
    again = cluster.framework(register=False)
    again.tell(ReregisterFramework(framework_info=FrameworkInfo(user="alice", name="fw",
                                                                id=fw.id)))
    assert "removed" in again.expect(FrameworkError).message


def test_a_disconnected_agent_is_not_offered_until_it_reregisters(cluster: Cluster) -> None:
    agent = cluster.agent(resources="cpus:2;mem:1024")
    fw = cluster.framework()
    run(cluster, fw, agent, resources="cpus:1;mem:512")
    fw.tell(ReviveOffers(framework_id=fw.id))  # the leftover comes back at once
    leftover = offer_of(fw)
    agent.ref.stop()  # its connection breaks: the master rescinds its offers
    assert fw.expect(RescindResourceOffer).offer_id == leftover.id
    cluster.advance(1.0)
    assert fw.nothing(ResourceOffers)
    back = Peer(cluster, cluster.node.spawn(FakeAgent, agent.pid.name))
    back.tell(ReregisterAgent(
        agent_info=AgentInfo(hostname="host1", id=agent.id, resources=R("cpus:2;mem:1024")),
        tasks=(Task(name="t1", task_id="t1", framework_id=fw.id, agent_id=agent.id,
                    state=TaskState.TASK_RUNNING, resources=R("cpus:1;mem:512")),)))
    rereg = back.expect(AgentReregistered)
    assert rereg.agent_id == agent.id
    (reconciliation,) = rereg.reconciliations
    assert [s.task_id for s in reconciliation.statuses] == ["t1"]
    cluster.advance(1.0)
    assert offer_of(fw).resources == R("cpus:1;mem:512")


def test_tasks_endpoint_lists_tasks(cluster: Cluster) -> None:
    agent = cluster.agent()
    fw = cluster.framework()
    run(cluster, fw, agent)
    url = f"http://127.0.0.1:{cluster.node.http_port}/master/tasks?framework_id={fw.id}"
    with urllib.request.urlopen(url, timeout=WAIT_HTTP) as resp:
        listed = json.load(resp)["tasks"]
    assert [(t["id"], t["state"], t["agent_id"]) for t in listed] == [
        ("t1", "TASK_STAGING", agent.id)]


def test_every_framework_of_a_scheduler_pid_that_goes_away_is_removed(
        cluster: Cluster) -> None:
    fw = cluster.framework()
    fw.tell(ReregisterFramework(framework_info=FrameworkInfo(
        user="alice", name="second", id="another-id")))  # a second one at the same PID
    assert fw.expect(FrameworkReregistered).framework_id == "another-id"
    fw.ref.stop()
    cluster.settle()
    cluster.advance(0.0)  # failover_timeout 0, for both
    assert cluster.ask(lambda m: sorted(m.books.frameworks.registered)) == []


def test_a_failover_timeout_no_duration_holds_counts_as_zero() -> None:
    from actors.master.actor import failover_timeout

    assert failover_timeout(30.0) == 30.0
    assert failover_timeout(-5.0) == 0.0
    for bad in (math.nan, math.inf, -math.inf, 1e300):
        assert failover_timeout(bad) == 0.0


def test_an_agent_offering_ports_as_a_scalar_is_not_admitted(cluster: Cluster) -> None:
    from actors.messages import AgentRegistered, RegisterAgent

    rogue = Peer(cluster, cluster.node.spawn(FakeAgent, "agent(99)"))
    rogue.tell(RegisterAgent(agent_info=AgentInfo(hostname="rogue",
                                                  resources=R("cpus:1;mem:64;ports:5"))))
    cluster.settle()
    assert rogue.nothing(AgentRegistered)
    assert cluster.ask(lambda m: len(m.books.agents.registered)) == 0
    body = json.loads(urllib.request.urlopen(  # the cluster's sums still add up
        f"http://127.0.0.1:{cluster.node.http_port}/master/metrics/snapshot", timeout=30).read())
    assert body["master/cpus_total"] == 0
