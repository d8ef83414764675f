"""actors.messages.v1json: Meseta records <-> Mesos v1 protobuf-JSON (pure, no I/O)."""

from __future__ import annotations

import base64
import json

import pytest

from actors.messages.types import (
    URL,
    Address,
    Attribute,
    CommandInfo,
    ContainerStatus,
    DiscoveryInfo,
    DiscoveryVisibility,
    DomainInfo,
    Environment,
    ExecutorInfo,
    ExecutorType,
    Filters,
    FrameworkCapability,
    FrameworkInfo,
    HealthCheck,
    HealthCheckType,
    HTTPCheckInfo,
    KillPolicy,
    Labels,
    MasterInfo,
    Offer,
    OfferFilters,
    Operation,
    Port,
    Range,
    Reason,
    Source,
    TaskInfo,
    TaskState,
    TaskStatus,
    ValueType,
    launch,
    launch_group,
)
from actors.messages.v1json import from_v1, to_v1
from actors.resources import Resources
from transport.pid import PID


def _round_trip(obj: object) -> None:
    data = to_v1(obj)
    assert from_v1(type(obj), json.loads(json.dumps(data))) == obj


def test_framework_info_from_the_docs_subscribe_sample() -> None:
    info = from_v1(FrameworkInfo, {"user": "foo", "name": "Example HTTP Framework"})
    assert info == FrameworkInfo(user="foo", name="Example HTTP Framework")


def test_framework_info_v1_fields_and_round_trip() -> None:
    data = {
        "user": "root",
        "name": "web",
        "id": {"value": "F-1"},
        "failover_timeout": 60,
        "checkpoint": True,
        "roles": ["a", "b"],
        "principal": "ops",
        "capabilities": [{"type": "MULTI_ROLE"}, {"type": "PARTITION_AWARE"}],
        "labels": {"labels": [{"key": "team", "value": "x"}]},
        "unknown_future_field": {"whatever": 1},
    }
    info = from_v1(FrameworkInfo, data)
    assert info.id == "F-1" and info.failover_timeout == 60.0 and info.checkpoint
    assert info.roles == ("a", "b") and info.principal == "ops"
    assert info.has(FrameworkCapability.MULTI_ROLE)
    assert info.has(FrameworkCapability.PARTITION_AWARE)
    assert info.labels == Labels.of(team="x")
    out = to_v1(info)
    assert out["id"] == {"value": "F-1"}
    assert sorted(c["type"] for c in out["capabilities"]) == ["MULTI_ROLE", "PARTITION_AWARE"]
    _round_trip(info)


def test_single_role_framework_accepts_and_shows_the_legacy_role_field() -> None:
    info = from_v1(FrameworkInfo, {"user": "u", "name": "n", "role": "web"})
    assert info.roles == ("web",)
    assert to_v1(info)["role"] == "web" and to_v1(info)["roles"] == ["web"]


def test_offer_filters_map_by_role() -> None:
    info = FrameworkInfo(
        user="u",
        name="n",
        offer_filters=(OfferFilters(role="*", min_allocatable_resources="cpus:1;mem:256|gpus:1"),),
    )
    out = to_v1(info)["offer_filters"]
    assert out["*"]["min_allocatable_resources"]["quantities"][1] == {
        "quantities": {"gpus": {"value": 1.0}}
    }
    _round_trip(info)


def test_missing_required_field_names_it() -> None:
    with pytest.raises(ValueError, match=r"FrameworkInfo\.user: required field missing"):
        from_v1(FrameworkInfo, {"name": "n"})
    with pytest.raises(ValueError, match=r"TaskInfo\.task_id: required field missing"):
        from_v1(TaskInfo, {"name": "t", "agent_id": {"value": "A"}})
    with pytest.raises(ValueError, match=r"TaskInfo\.agent_id\.value: expected a string"):
        from_v1(TaskInfo, {"name": "t", "task_id": {"value": "T"}, "agent_id": {}})


def test_bad_types_and_enums_are_value_errors() -> None:
    with pytest.raises(ValueError, match=r"FrameworkInfo\.checkpoint"):
        from_v1(FrameworkInfo, {"user": "u", "name": "n", "checkpoint": "yes"})
    with pytest.raises(ValueError, match="unknown FrameworkCapability"):
        from_v1(FrameworkInfo, {"user": "u", "name": "n", "capabilities": [{"type": "NOPE"}]})
    with pytest.raises(ValueError, match="expected an object"):
        from_v1(FrameworkInfo, ["not", "an", "object"])


def test_task_info_with_command_from_mesos_json() -> None:
    data = {
        "name": "sleep",
        "task_id": {"value": "t1"},
        "agent_id": {"value": "A-S0"},
        "resources": [
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}, "role": "*"},
            {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}},
        ],
        "command": {
            "value": "sleep 1",
            "environment": {"variables": [{"name": "A", "value": "1"}]},
            "uris": [{"value": "http://x/y.tgz", "extract": False}],
        },
        "kill_policy": {"grace_period": {"nanoseconds": 1500000000}},
        "max_completion_time": {"nanoseconds": 2000000000},
        "data": base64.b64encode(b"\x00hello").decode(),
    }
    task = from_v1(TaskInfo, data)
    assert task.task_id == "t1" and task.agent_id == "A-S0"
    assert task.resources == Resources.parse("cpus:0.1;mem:32")
    assert task.command is not None and task.command.value == "sleep 1"
    assert task.command.environment == Environment.of({"A": "1"})
    assert not task.command.uris[0].extract
    assert task.kill_policy == KillPolicy(grace_period=1.5)
    assert task.max_completion_time == 2.0 and task.data == b"\x00hello"
    assert to_v1(task)["kill_policy"] == {"grace_period": {"nanoseconds": 1500000000}}
    _round_trip(task)


def test_slave_id_is_read_as_agent_id() -> None:
    task = from_v1(TaskInfo, {"name": "t", "task_id": {"value": "T"}, "slave_id": {"value": "A"}})
    assert task.agent_id == "A"
    assert "agent_id" in to_v1(task) and "slave_id" not in to_v1(task)


def test_task_with_executor_health_check_and_discovery_round_trips() -> None:
    executor = ExecutorInfo(
        executor_id="E",
        framework_id="F",
        command=CommandInfo(value="./exec", shell=False, arguments=("a", "b")),
        resources=Resources.parse("cpus:0.1;mem:32"),
        type=ExecutorType.DEFAULT,
        shutdown_grace_period=4.0,
        data=b"\xff",
    )
    task = TaskInfo(
        name="web",
        task_id="T",
        agent_id="A",
        executor=executor,
        health_check=HealthCheck(
            type=HealthCheckType.HTTP, http=HTTPCheckInfo(port=80, path="/h", statuses=(200,))
        ),
        discovery=DiscoveryInfo(
            visibility=DiscoveryVisibility.CLUSTER, name="web", ports=(Port(number=80, name="h"),)
        ),
        labels=Labels.of(a="b"),
    )
    out = to_v1(task)
    assert out["executor"]["executor_id"] == {"value": "E"}
    assert out["executor"]["type"] == "DEFAULT"
    assert out["executor"]["shutdown_grace_period"] == {"nanoseconds": 4_000_000_000}
    assert out["discovery"]["ports"] == {"ports": [{"number": 80, "name": "h"}]}
    assert out["health_check"]["type"] == "HTTP"
    _round_trip(task)


def test_task_status_from_mesos_update_event() -> None:
    uuid = b"\x01\x02" * 8
    data = {
        "task_id": {"value": "T"},
        "state": "TASK_RUNNING",
        "source": "SOURCE_EXECUTOR",
        "reason": "REASON_RECONCILIATION",
        "agent_id": {"value": "A"},
        "executor_id": {"value": "E"},
        "timestamp": 1449254612.12,
        "uuid": base64.b64encode(uuid).decode(),
        "healthy": True,
        "container_status": {
            "container_id": {"value": "C"},
            "executor_pid": 42,
            "network_infos": [{"ip_addresses": [{"ip_address": "10.0.0.1"}]}],
        },
    }
    status = from_v1(TaskStatus, data)
    assert status.state is TaskState.TASK_RUNNING and status.source is Source.SOURCE_EXECUTOR
    assert status.reason is Reason.REASON_RECONCILIATION and status.uuid == uuid
    assert status.container_status == ContainerStatus(
        container_id="C", executor_pid=42, ip_addresses=("10.0.0.1",)
    )
    assert to_v1(status)["uuid"] == data["uuid"]
    _round_trip(status)
    _round_trip(TaskStatus(task_id="T", state=TaskState.TASK_UNREACHABLE, unreachable_time=12.5))


def test_offer_json_carries_ids_allocation_info_url_and_attributes() -> None:
    offer = Offer(
        id="O1",
        framework_id="F",
        agent_id="A",
        hostname="h",
        resources=Resources.parse("cpus:2;ports:[31000-31010];disks:{a,b}"),
        attributes=(
            Attribute(name="rack", type=ValueType.TEXT, text="r1"),
            Attribute(name="n", type=ValueType.SCALAR, scalar=2.0),
            Attribute(name="p", type=ValueType.RANGES, ranges=(Range(begin=1, end=3),)),
            Attribute(name="s", type=ValueType.SET, set=frozenset({"x"})),
        ),
        executor_ids=("E1",),
        role="web",
        url=URL(scheme="http", address=Address(port=5151, hostname="h", ip="127.0.0.1")),
        domain=DomainInfo(region="eu", zone="z1"),
    )
    out = to_v1(offer)
    assert out["id"] == {"value": "O1"} and out["agent_id"] == {"value": "A"}
    assert out["allocation_info"] == {"role": "web"}
    assert all(r["allocation_info"] == {"role": "web"} for r in out["resources"])
    assert out["executor_ids"] == [{"value": "E1"}]
    assert out["attributes"][0] == {"name": "rack", "type": "TEXT", "text": {"value": "r1"}}
    assert out["domain"]["fault_domain"]["zone"] == {"name": "z1"}
    assert out["url"]["address"]["port"] == 5151
    _round_trip(offer)


def test_operations_and_filters() -> None:
    task = TaskInfo(name="t", task_id="T", agent_id="A", command=CommandInfo(value="true"))
    out = to_v1(launch(task))
    assert out["type"] == "LAUNCH" and out["launch"]["task_infos"][0]["task_id"] == {"value": "T"}
    _round_trip(launch(task))
    group = launch_group(ExecutorInfo(executor_id="E", type=ExecutorType.DEFAULT), task)
    assert to_v1(group)["launch_group"]["task_group"]["tasks"][0]["name"] == "t"
    _round_trip(group)
    assert from_v1(Operation, {"type": "LAUNCH", "launch": {}}).launch is not None
    assert from_v1(Filters, {"refuse_seconds": 30}) == Filters(refuse_seconds=30.0)
    assert from_v1(Filters, {}) == Filters()


def test_master_info_id_is_a_plain_string_and_pid_a_string() -> None:
    info = MasterInfo(id="m1", pid=PID.parse("master@127.0.0.1:5050"), hostname="h")
    out = to_v1(info)
    assert out["id"] == "m1" and out["pid"] == "master@127.0.0.1:5050"
    _round_trip(info)
