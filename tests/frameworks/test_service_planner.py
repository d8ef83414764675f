"""The service framework's pure decisions: constraints, placement, backoff, scaling, upgrades."""

from __future__ import annotations

from typing import Any

import pytest

from actors.messages import Offer, TaskState, parse_attributes
from actors.resources import Resources
from frameworks.service import planner
from frameworks.service.constraints import AgentFacts, allows
from frameworks.service.planner import Backoff, after_failure, kills, launches_wanted, place
from frameworks.service.spec import AppSpec, Constraint, parse_app
from frameworks.service.tasks import ServiceTask, app_of, new_task_id


def app(**fields: Any) -> AppSpec:
    data = {"id": "web", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16, "version": "v1",
            **fields}
    return parse_app(data)


def offer(agent: str = "a1", resources: str = "cpus:1;mem:256;ports:[31000-31002]",
          hostname: str = "", attributes: str = "") -> Offer:
    return Offer(id=f"o-{agent}", framework_id="f", agent_id=agent,
                 hostname=hostname or agent, resources=Resources.parse(resources),
                 attributes=parse_attributes(attributes))


def task(i: int, version: str = "v1", state: TaskState | None = TaskState.TASK_RUNNING,
         healthy: bool | None = None, agent: str = "a1") -> ServiceTask:
    return ServiceTask(task_id=f"web.{i}", app_id="web", version=version, agent_id=agent,
                       facts=AgentFacts(agent), launched_at=float(i), state=state,
                       healthy=healthy)


# --- constraints --------------------------------------------------------------------


def facts(host: str, **attrs: str) -> AgentFacts:
    return AgentFacts(host, dict(attrs))


@pytest.mark.parametrize("constraint, here, placed, allowed", [
    (Constraint("hostname", "UNIQUE"), facts("h1"), [facts("h2")], True),
    (Constraint("hostname", "UNIQUE"), facts("h1"), [facts("h1")], False),
    (Constraint("rack", "UNIQUE"), facts("h1"), [], False),  # no such attribute
    (Constraint("rack", "CLUSTER", "a"), facts("h1", rack="a"), [], True),
    (Constraint("rack", "CLUSTER", "a"), facts("h1", rack="b"), [], False),
    (Constraint("rack", "CLUSTER"), facts("h1", rack="b"), [facts("h2", rack="a")], False),
    (Constraint("rack", "CLUSTER"), facts("h1", rack="a"), [facts("h2", rack="a")], True),
    (Constraint("hostname", "MAX_PER", "2"), facts("h1"), [facts("h1")], True),
    (Constraint("hostname", "MAX_PER", "2"), facts("h1"), [facts("h1")] * 2, False),
    (Constraint("hostname", "LIKE", "h[0-9]"), facts("h1"), [], True),
    (Constraint("hostname", "LIKE", "h"), facts("h1"), [], False),  # full match only
    (Constraint("rack", "UNLIKE", "a.*"), facts("h1", rack="ab"), [], False),
    (Constraint("rack", "UNLIKE", "a.*"), facts("h1", rack="b"), [], True),
    (Constraint("rack", "UNLIKE", "a.*"), facts("h1"), [], True),
])
def test_constraint_operators(constraint: Constraint, here: AgentFacts,
                              placed: list[AgentFacts], allowed: bool) -> None:
    assert allows([constraint], here, placed) is allowed


def test_offer_attributes_become_constraint_text() -> None:
    f = AgentFacts.of(offer(attributes="rack:2;zone:east;tags:{b,a}"))
    assert f.attributes == {"rack": "2", "zone": "east", "tags": "{a,b}"}


# --- placement ----------------------------------------------------------------------


def test_place_fills_an_offer_as_far_as_resources_go_and_assigns_ports() -> None:
    web = app(instances=5, ports=1, cpus=0.3)
    placed = place([web], [], offer(), now=10.0, backoffs={})
    assert len(placed) == 3  # 3 ports (and 3 x 0.3 cpus) in the offer
    ports = [t.ports for t, _ in placed]
    assert ports == [(31000,), (31001,), (31002,)]
    task0, info = placed[0]
    assert task0.task_id.startswith("web.") and app_of(task0.task_id, ["web"]) == "web"
    assert (task0.version, task0.agent_id, task0.launched_at) == ("v1", "a1", 10.0)
    assert info.resources == Resources.parse("cpus:0.3;mem:16;ports:[31000-31000]")
    assert info.command is not None and info.command.environment is not None
    env = info.command.environment.to_dict()
    assert (env["PORT0"], env["PORT"], env["PORTS"]) == ("31000", "31000", "31000")


def test_place_keeps_unique_instances_one_per_agent_and_respects_backoff() -> None:
    web = app(instances=3, constraints=[["hostname", "UNIQUE"]])
    first = place([web], [], offer("a1"), 0.0, {})
    assert len(first) == 1
    tasks = [t for t, _ in first]
    assert place([web], tasks, offer("a1"), 0.0, {}) == []
    assert len(place([web], tasks, offer("a2"), 0.0, {})) == 1
    later = {"web": Backoff(delay=5, not_before=5.0)}
    assert place([web], tasks, offer("a2"), 4.9, later) == []
    assert len(place([web], tasks, offer("a2"), 5.0, later)) == 1


def test_place_takes_resources_reserved_to_the_role_when_unreserved_ones_are_short() -> None:
    web = app(instances=1, role="eng", ports=1)
    placed = place([web], [], offer(resources="cpus(eng):1;mem(eng):64;ports(eng):[40-41]"),
                   0.0, {})
    assert placed[0][1].resources == Resources.parse("cpus(eng):0.1;mem(eng):16;ports(eng):[40-40]")
    assert place([app(instances=1)], [], offer(resources="cpus(eng):1;mem(eng):64"),
                 0.0, {}) == []


def test_task_ids_are_app_id_dot_uuid() -> None:
    task_id = new_task_id("group/web")
    assert task_id.startswith("group_web.")
    assert app_of(task_id, ["web", "group/web"]) == "group/web"
    assert app_of("other.123", ["web"]) is None


# --- backoff ------------------------------------------------------------------------


def test_backoff_grows_by_the_factor_up_to_the_cap_and_starts_over_after_a_long_run() -> None:
    web = app(backoffSeconds=2, backoffFactor=2, maxLaunchDelaySeconds=5)
    b = after_failure(Backoff(), web, None, now=100.0)
    assert (b.delay, b.not_before) == (2, 102.0)
    b = after_failure(b, web, None, now=102.0)
    assert b.delay == 4
    b = after_failure(b, web, None, now=106.0)
    assert (b.delay, b.not_before) == (5, 111.0)  # capped
    long_runner = task(1)
    long_runner.ready_since = 111.0
    b = after_failure(b, web, long_runner, now=111.0 + planner.RESET_AFTER)
    assert b.delay == 2


# --- scaling and upgrades -----------------------------------------------------------


def test_scale_down_kills_the_newest_instances() -> None:
    web = app(instances=2)
    tasks = [task(3), task(1), task(2), task(4)]
    assert kills(web, tasks) == ["web.4", "web.3"]
    assert launches_wanted(web, tasks) == 0
    assert launches_wanted(app(instances=6), tasks) == 2


def test_instances_being_killed_do_not_count() -> None:
    web = app(instances=2)
    tasks = [task(1), task(2)]
    tasks[1].killing = True
    assert launches_wanted(web, tasks) == 1 and kills(web, tasks) == []


def rolling_step(web: AppSpec, tasks: list[ServiceTask], counter: list[int]) -> list[str]:
    """One round: kill what the planner says, launch what it wants (running at once)."""
    killed = kills(web, tasks)
    tasks[:] = [t for t in tasks if t.task_id not in killed]
    for _ in range(launches_wanted(web, tasks)):
        counter[0] += 1
        tasks.append(task(counter[0], version=web.version, state=TaskState.TASK_STAGING))
    return killed


def test_rolling_restart_starts_new_instances_then_kills_old_ones_once_new_ones_are_ready() -> None:
    web = app(instances=3, version="v2")  # max_total 6, min_healthy 3
    tasks = [task(1), task(2), task(3)]
    counter = [3]
    assert rolling_step(web, tasks, counter) == []
    assert sorted(t.task_id for t in tasks if t.version == "v2") == ["web.4", "web.5", "web.6"]
    assert rolling_step(web, tasks, counter) == []  # none ready yet: old ones stay
    tasks[3].state = TaskState.TASK_RUNNING
    assert rolling_step(web, tasks, counter) == ["web.1"]
    for t in tasks:
        t.state = TaskState.TASK_RUNNING
    assert rolling_step(web, tasks, counter) == ["web.2", "web.3"]
    assert sorted(t.task_id for t in tasks) == ["web.4", "web.5", "web.6"]


def test_rolling_restart_without_spare_capacity_kills_down_to_min_health_first() -> None:
    web = app(instances=4, version="v2",
              upgradeStrategy={"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0})
    tasks = [task(i) for i in range(1, 5)]
    counter = [4]
    assert launches_wanted(web, tasks) == 0
    assert rolling_step(web, tasks, counter) == ["web.1", "web.2"]
    assert len(tasks) == 4 and sum(t.version == "v2" for t in tasks) == 2
    for t in tasks:
        t.state = TaskState.TASK_RUNNING
    assert rolling_step(web, tasks, counter) == ["web.3", "web.4"]
    assert all(t.version == "v2" for t in tasks) and len(tasks) == 4


def test_a_health_checked_upgrade_waits_for_healthy_instances() -> None:
    web = app(instances=1, version="v2", ports=1,
              healthChecks=[{"protocol": "TCP", "portIndex": 0}])
    tasks = [task(1, healthy=True), task(2, version="v2")]
    assert kills(web, tasks) == []  # running, but not known healthy
    tasks[1].healthy = True
    assert kills(web, tasks) == ["web.1"]


def test_old_instances_that_are_not_ready_go_at_once() -> None:
    web = app(instances=2, version="v2")
    tasks = [task(1), task(2, state=TaskState.TASK_STAGING)]
    assert kills(web, tasks) == ["web.2"]


def test_wants_offers_only_while_an_instance_is_missing() -> None:
    web = app(instances=1)
    assert planner.wants_offers([web], [])
    assert not planner.wants_offers([web], [task(1)])
