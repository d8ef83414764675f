"""The master's endpoint bodies and metrics as pure functions of its books.

No actor, no HTTP: the books are filled by the master's own pure decisions (register,
offer, accept, status updates), then ``endpoints`` / ``metrics`` are read back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from actors.master import agents, frameworks, offers, tasks
from actors.master.books import Books, Outbox
from actors.master.config import MasterConfig
from actors.master.endpoints import (
    agents_json,
    flags_json,
    frameworks_json,
    roles_json,
    state_json,
    state_summary_json,
    tasks_json,
)
from actors.master.launch import accept
from actors.master.metrics import MasterCounters, is_counter, master_metrics
from actors.messages import (
    AcceptOffers,
    AgentInfo,
    CommandInfo,
    Filters,
    FrameworkInfo,
    FrameworkRegistered,
    MasterInfo,
    OffersAllocated,
    RegisterAgent,
    RegisterFramework,
    Source,
    StatusUpdate,
    StatusUpdateInfo,
    TaskInfo,
    TaskState,
    TaskStatus,
    launch,
)
from actors.metrics import prometheus_text
from actors.resources import Resources
from transport import PID

R = Resources.parse
SCHED = PID("scheduler(1)", "10.0.0.9", 4000)
MASTER = PID("master", "10.0.0.1", 5050)


@dataclass
class FakeMaster:
    """What the endpoints read of a master (``endpoints.MasterView``)."""

    books: Books
    config: MasterConfig = field(default_factory=lambda: MasterConfig(offer_timeout=30.0))
    pid: PID = MASTER
    elected: bool = True
    elected_time: float | None = 100.0
    leader: MasterInfo | None = None


class World:
    def __init__(self) -> None:
        self.t = 100.0
        self.books = Books(master_info=MasterInfo(id="M", hostname="m1", version="0.1.0"),
                           now=lambda: self.t)
        self.master = FakeMaster(self.books, leader=self.books.master_info)
        self.pids: dict[str, PID] = {}

    def agent(self, n: int, resources: str = "cpus:4;mem:4096;disk:1000") -> str:
        pid = PID("agent", f"10.0.0.{n}", 5051)
        record = agents.register(self.books, pid, RegisterAgent(agent_info=AgentInfo(
            hostname=f"h{n}", resources=R(resources))), Outbox(), 75.0)
        self.pids[record.id] = pid
        return record.id

    def framework(self, name: str = "fw", **info: Any) -> str:
        out = Outbox()
        frameworks.register(self.books, SCHED, RegisterFramework(
            framework_info=FrameworkInfo(user="u", name=name, **info)), out)
        return str(out.messages(FrameworkRegistered)[0].framework_id)

    def offer(self, framework_id: str, agent_id: str, resources: str,
              role: str = "*") -> str:
        out = Outbox()
        offers.make_offers(self.books, OffersAllocated(
            framework_id=framework_id, allocation={role: {agent_id: R(resources)}}), out)
        return out.offers_made[0]

    def run(self, framework_id: str, agent_id: str, task_id: str, resources: str) -> None:
        """Offer exactly ``resources`` and launch one task on them."""
        offer_id = self.offer(framework_id, agent_id, resources)
        info = TaskInfo(name=task_id, task_id=task_id, agent_id=agent_id,
                        resources=R(resources), command=CommandInfo(value="true"))
        accept(self.books, self.books.frameworks.registered[framework_id],
               AcceptOffers(framework_id=framework_id, offer_ids=(offer_id,),
                            operations=(launch(info),), filters=Filters()), Outbox())

    def update(self, framework_id: str, agent_id: str, task_id: str,
               state: TaskState) -> None:
        self.t += 1
        status = TaskStatus(task_id=task_id, state=state, source=Source.SOURCE_EXECUTOR,
                            agent_id=agent_id, uuid=b"u", timestamp=self.t)
        tasks.status_update(self.books, self.pids[agent_id], StatusUpdate(
            update=StatusUpdateInfo(framework_id=framework_id, status=status,
                                    timestamp=self.t, agent_id=agent_id, uuid=b"u")),
                            Outbox())


@pytest.fixture
def world() -> World:
    """Two agents; a framework running t1 (1 cpu) and t2 (0.5 cpu) and done with t3;
    an outstanding offer of 2 cpus on the second agent."""
    w = World()
    a1, a2 = w.agent(1), w.agent(2, "cpus:2;mem:1024;disk:1000")
    f = w.framework(webui_url="http://fw/", principal="alice")
    w.run(f, a1, "t1", "cpus:1;mem:256")
    w.run(f, a2, "t2", "cpus:0.5;mem:128")
    w.run(f, a1, "t3", "cpus:0.25;mem:32")
    for task_id, agent_id in (("t1", a1), ("t2", a2), ("t3", a1)):
        w.update(f, agent_id, task_id, TaskState.TASK_RUNNING)
    w.update(f, a1, "t3", TaskState.TASK_FINISHED)
    w.offer(f, a2, "cpus:1.5;mem:512")
    return w


def ids(w: World) -> tuple[str, str, str]:
    a1, a2 = list(w.books.agents.registered)
    (f,) = list(w.books.frameworks.registered)
    return a1, a2, f


def test_state_has_mesos_fields_and_sums_used_and_offered_resources(world: World) -> None:
    a1, a2, f = ids(world)
    state = state_json(world.master)
    for key in ("version", "git_sha", "id", "pid", "hostname", "start_time", "elected_time",
                "leader", "leader_info", "flags", "agents", "frameworks",
                "completed_frameworks", "unregistered_frameworks", "orphan_tasks"):
        assert key in state, key
    assert (state["id"], state["hostname"], state["pid"]) == ("M", "m1", "master@10.0.0.1:5050")
    assert state["activated_agents"] == 2 and state["deactivated_agents"] == 0
    assert state["leader_info"]["id"] == "M" and state["flags"]["offer_timeout"] == "30.0secs"
    by_id = {a["id"]: a for a in state["agents"]}
    assert by_id[a1]["used_resources"]["cpus"] == 1.0  # t3 finished: its 0.25 is free
    assert by_id[a2]["used_resources"]["cpus"] == 0.5
    assert by_id[a2]["offered_resources"]["cpus"] == 1.5
    assert by_id[a1]["unreserved_resources"]["cpus"] == 4.0
    assert by_id[a1]["reserved_resources"] == {}
    assert by_id[a1]["active"] is True and by_id[a1]["hostname"] == "h1"
    (fw,) = state["frameworks"]
    assert fw["id"] == f and fw["webui_url"] == "http://fw/" and fw["principal"] == "alice"
    assert fw["used_resources"]["cpus"] == 1.5 and fw["offered_resources"]["cpus"] == 1.5
    assert sorted(t["id"] for t in fw["tasks"]) == ["t1", "t2", "t3"]
    assert {t["id"]: t["state"] for t in fw["tasks"]}["t3"] == "TASK_FINISHED"
    assert len(fw["offers"]) == 1 and fw["offers"][0]["agent_id"] == a2
    assert fw["role"] == "*" and fw["active"] and fw["connected"]


def test_state_summary_counts_tasks_by_state_per_agent_and_framework(world: World) -> None:
    a1, a2, f = ids(world)
    summary = state_summary_json(world.master)
    assert summary["slaves"] is summary["agents"]
    by_id = {a["id"]: a for a in summary["agents"]}
    assert by_id[a1]["TASK_RUNNING"] == 1 and by_id[a1]["TASK_FINISHED"] == 1
    assert by_id[a2]["TASK_RUNNING"] == 1 and by_id[a2]["framework_ids"] == [f]
    (fw,) = summary["frameworks"]
    assert fw["TASK_RUNNING"] == 2 and fw["TASK_FINISHED"] == 1 and "tasks" not in fw
    assert fw["slave_ids"] == sorted([a1, a2])


def test_tasks_filter_order_limit_and_offset(world: World) -> None:
    _, _, f = ids(world)
    newest_first = [t["id"] for t in tasks_json(world.books)]
    assert newest_first == ["t3", "t2", "t1"]  # by first status time, desc by default
    assert [t["id"] for t in tasks_json(world.books, order="asc")] == ["t1", "t2", "t3"]
    assert [t["id"] for t in tasks_json(world.books, order="asc", limit=1, offset=1)] == ["t2"]
    assert [t["id"] for t in tasks_json(world.books, f, "t2")] == ["t2"]
    assert tasks_json(world.books, "nope") == []


def test_frameworks_agents_and_the_slaves_alias(world: World) -> None:
    a1, a2, f = ids(world)
    assert [fw["id"] for fw in frameworks_json(world.books)["frameworks"]] == [f]
    assert frameworks_json(world.books, "other")["frameworks"] == []
    assert [a["id"] for a in agents_json(world.books)["agents"]] == [a1, a2]
    slaves = agents_json(world.books, "slaves", a2)
    assert [a["id"] for a in slaves["slaves"]] == [a2] and "agents" not in slaves


def test_roles_sum_allocated_and_offered_per_role(world: World) -> None:
    _, _, f = ids(world)
    (role,) = roles_json(world.books)["roles"]
    assert (role["name"], role["weight"], role["frameworks"]) == ("*", 1.0, [f])
    assert role["allocated"]["cpus"] == 1.5 and role["offered"]["cpus"] == 1.5
    assert role["resources"]["cpus"] == 3.0


def test_flags_are_strings_with_effective_values() -> None:
    flags = flags_json(MasterConfig(port=6000, trace=True))
    assert flags["port"] == "6000" and flags["http_port"] == "6100"
    assert flags["trace"] == "true" and flags["offer_timeout"] == ""
    assert flags["registry"] == "in_memory"
    assert all(isinstance(v, str) for v in flags.values())


def test_metrics_count_agents_frameworks_tasks_and_resources(world: World) -> None:
    counters = MasterCounters()
    counters.messages["RegisterAgent"] += 2
    counters.valid_status_updates = 5
    world.t += 10
    m = master_metrics(world.books, counters, elected=True, event_queue_messages=3,
                       allocator={"allocator/mesos/allocation_runs": 7.0})
    assert m["master/elected"] == 1.0 and m["master/uptime_secs"] == 14.0
    assert m["master/agents_active"] == 2 == m["master/slaves_active"]
    assert m["master/agents_connected"] == 2 and m["master/agents_disconnected"] == 0
    assert m["master/frameworks_active"] == 1 and m["master/frameworks_inactive"] == 0
    assert m["master/tasks_running"] == 2 and m["master/tasks_finished"] == 1
    assert m["master/tasks_staging"] == 0 and m["master/tasks_failed"] == 0
    assert m["master/cpus_total"] == 6.0 and m["master/cpus_used"] == 1.5
    assert m["master/cpus_percent"] == pytest.approx(0.25)
    assert m["master/mem_used"] == 384.0 and m["master/gpus_percent"] == 0.0
    assert m["master/outstanding_offers"] == 1 and m["master/event_queue_messages"] == 3
    assert m["master/messages_register_agent"] == 2 == m["master/messages_register_slave"]
    assert m["master/valid_status_updates"] == 5
    assert m["allocator/mesos/allocation_runs"] == 7.0


def test_metrics_of_a_non_leading_master_say_not_elected() -> None:
    w = World()
    m = master_metrics(w.books, MasterCounters(), elected=False)
    assert m["master/elected"] == 0.0 and m["master/cpus_percent"] == 0.0


def test_prometheus_text_sanitises_names_and_types_counters() -> None:
    text = prometheus_text({"master/tasks_running": 2.0, "master/messages_kill_task": 4.0,
                            "allocator/mesos/roles/*/shares/dominant": 0.5}, is_counter)
    lines = text.splitlines()
    assert "# TYPE master_tasks_running gauge" in lines
    assert "master_tasks_running 2.0" in lines
    assert "# TYPE master_messages_kill_task counter" in lines
    assert "allocator_mesos_roles___shares_dominant 0.5" in lines
    for line in lines:
        if not line.startswith("#"):
            name, value = line.split(" ")
            assert name.replace("_", "a").isalnum() and float(value) >= 0
