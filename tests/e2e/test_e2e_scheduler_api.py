"""The v1 scheduler HTTP API end to end: a real master and agent, and a framework that is
nothing but ``http.client`` (``tests/e2e/v1_client.py``; no Meseta code on its side).

It subscribes, gets offers, launches command tasks, follows their updates and
acknowledges them, kills, reconciles, declines with filters, suppresses and revives,
sends a framework message, reconnects after dropping its stream, and tears down; bad
requests get Mesos' status codes.
"""

from __future__ import annotations

import base64
import getpass
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from tests.e2e.conftest import LocalCluster, Node
from tests.e2e.test_e2e_trace import _find
from tests.e2e.v1_client import WAIT, Subscription, b64, command_task, launch, post

FAST = ("--allocation_interval=100ms",)
AGENT = "cpus:2;mem:1024;disk:1024;ports:[31000-31100]"
GROUP_EXECUTOR_RESOURCES = [  # Mesos' least for a task group's executor
    {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
    {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}},
    {"name": "disk", "type": "SCALAR", "scalar": {"value": 32}}]


def info(name: str = "http-e2e", **extra: Any) -> dict[str, Any]:
    return {"user": getpass.getuser(), "name": name, **extra}


SUBSCRIBE = {"type": "SUBSCRIBE", "subscribe": {"framework_info": info()}}


def state(master: Node) -> Any:
    with urllib.request.urlopen(f"{master.http}/master/state", timeout=WAIT) as resp:
        return json.loads(resp.read())


def eventually(check: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def framework_state(master: Node, framework_id: str) -> dict[str, Any]:
    return next(f for f in state(master)["frameworks"] if f["id"] == framework_id)


def test_subscribe_launch_update_acknowledge_kill_reconcile(cluster: LocalCluster) -> None:
    master = cluster.master(*FAST)
    cluster.agent(master, AGENT)
    sub = Subscription(master.http, info(capabilities=[{"type": "TASK_KILLING_STATE"}]))
    try:
        assert sub.status == 200 and sub.headers["Content-Type"].startswith("application/json")
        assert len(sub.stream_id) == 36  # a UUID
        assert sub.wait("HEARTBEAT")  # one right after SUBSCRIBED
        offer = sub.offers()[0]
        assert offer["framework_id"] == {"value": sub.framework_id}
        assert {"id", "agent_id", "hostname", "resources", "url"} <= set(offer)
        cpus = next(r for r in offer["resources"] if r["name"] == "cpus")
        assert cpus == {"name": "cpus", "type": "SCALAR", "scalar": {"value": 2.0},
                        "allocation_info": {"role": "*"}}
        launch(sub, offer, command_task("quick", offer, "true"),
               command_task("long", offer, "sleep 300"))
        quick = sub.follow("quick", "TASK_FINISHED")
        assert [s["state"] for s in quick] == ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"]
        assert all(s["agent_id"] == offer["agent_id"] and s["uuid"] for s in quick)
        assert quick[-1]["source"] == "SOURCE_EXECUTOR"
        sub.follow("long", "TASK_RUNNING")
        # The acknowledgement of the terminal update reached the master: the task left.
        assert eventually(lambda: any(t["id"] == "quick" for t in framework_state(
            master, sub.framework_id)["completed_tasks"]))
        framework = framework_state(master, sub.framework_id)
        assert "pid" not in framework and framework["connected"] and framework["active"]

        code, _ = sub.call("RECONCILE", {"tasks": [{"task_id": {"value": "long"},
                                                    "agent_id": offer["agent_id"]}]})
        assert code == 202
        answer = sub.update("long", "TASK_RUNNING")
        assert answer["reason"] == "REASON_RECONCILIATION" and "uuid" not in answer
        code, _ = sub.call("RECONCILE", {})
        assert code == 202
        assert sub.update("long", "TASK_RUNNING")["reason"] == "REASON_RECONCILIATION"

        code, _ = sub.call("KILL", {"task_id": {"value": "long"}, "agent_id": offer["agent_id"]})
        assert code == 202
        assert [s["state"] for s in sub.follow("long", "TASK_KILLED")] == [
            "TASK_KILLING", "TASK_KILLED"]
        code, _ = sub.call("TEARDOWN")
        assert code == 202
        sub.wait_end()
        assert eventually(lambda: any(f["id"] == sub.framework_id
                                      for f in state(master)["completed_frameworks"]))
    finally:
        sub.close()


def test_bad_requests_get_mesos_status_codes(cluster: LocalCluster) -> None:
    master = cluster.master(*FAST)
    base = master.http
    try:
        urllib.request.urlopen(f"{base}/api/v1/scheduler", timeout=WAIT)
        raise AssertionError("GET was accepted")
    except urllib.error.HTTPError as exc:
        assert exc.code == 405
    assert post(base, b"{", path="/master/api/v1/scheduler")[0] == 400
    code, _, body = post(base, SUBSCRIBE, {"Content-Type": "application/x-protobuf"})
    assert code == 415 and b"only supports 'application/json'" in body
    assert post(base, SUBSCRIBE, {"Content-Type": "text/plain"})[0] == 415
    assert post(base, SUBSCRIBE, {"Accept": "application/x-protobuf"})[0] == 406
    code, _, body = post(base, b"{not json")
    assert code == 400 and b"Failed to parse body into JSON" in body
    assert post(base, {"subscribe": {}})[0] == 400  # no type
    assert post(base, {"type": "SUBSCRIBE"})[0] == 400  # no subscribe
    code, _, body = post(base, {"type": "SUBSCRIBE", "subscribe": {
        "framework_info": {"name": "no user"}}})
    assert code == 400 and b"FrameworkInfo.user: required field missing" in body
    code, _, body = post(base, {"type": "SUBSCRIBE", "subscribe": {
        "framework_info": info(roles=["a", "b"])}})  # several roles need MULTI_ROLE
    assert code == 400 and b"MULTI_ROLE" in body
    assert post(base, {"type": "RECONCILE_OPERATIONS", "framework_id": {"value": "x"},
                       "reconcile_operations": {}})[0] == 501

    sub = Subscription(base, info())
    try:
        assert sub.call("REVIVE", stream_id="")[0] == 403  # no Mesos-Stream-Id
        code, body = sub.call("REVIVE", stream_id="8f5c0c36-4a2b-4b43-9e47-000000000000")
        assert code == 403 and b"didn't match" in body
        code, _, _ = post(base, {"type": "REVIVE", "framework_id": {"value": "nobody"}},
                          {"Mesos-Stream-Id": sub.stream_id})
        assert code == 403  # not subscribed
        code, _, body = post(base, SUBSCRIBE, {"Mesos-Stream-Id": sub.stream_id})
        assert code == 400 and b"should not include" in body
        assert sub.call("ACKNOWLEDGE", {"agent_id": {"value": "a"}, "task_id": {"value": "t"},
                                        "uuid": "***"})[0] == 400
        assert sub.call("KILL", {})[0] == 400  # kill.task_id missing
        code, body = sub.call("UPDATE_FRAMEWORK", {"framework_info": info(
            user="someone-else", id={"value": sub.framework_id})})
        assert code == 400 and b"user" in body
        code, body = sub.call("UPDATE_FRAMEWORK", {"framework_info": info(
            name="renamed", id={"value": sub.framework_id})})
        assert code == 202
        assert eventually(lambda: framework_state(master, sub.framework_id)["name"] == "renamed")
        assert sub.call("REVIVE")[0] == 202
        with urllib.request.urlopen(f"{base}/master/state", timeout=WAIT) as resp:
            assert resp.status == 200
    finally:
        sub.close()


def test_messages_decline_suppress_revive_shutdown_and_heartbeats(cluster: LocalCluster) -> None:
    master = cluster.master(*FAST, "--heartbeat_interval=200ms")
    cluster.agent(master, AGENT)
    sub = Subscription(master.http, info())
    try:
        subscribed = sub.wait("HEARTBEAT")
        assert subscribed == {"type": "HEARTBEAT"}
        for _ in range(3):  # every 200 ms
            sub.wait("HEARTBEAT", timeout=10)
        offer = sub.offers()[0]
        code, _ = sub.call("DECLINE", {"offer_ids": [offer["id"]],
                                       "filters": {"refuse_seconds": 3600}})
        assert code == 202
        assert eventually(lambda: not framework_state(master, sub.framework_id)["offers"])
        assert sub.call("REVIVE")[0] == 202  # clears the hour-long filter
        offer = sub.offers()[0]

        executor = {"executor_id": {"value": "hello"}, "command": {
            "value": f"{sys.executable} -m frameworks.examples.hello_executor"}}
        task = command_task("greet", offer, "")
        del task["command"]
        launch(sub, offer, {**task, "executor": executor})
        sub.follow("greet", "TASK_RUNNING")
        hello = sub.wait("MESSAGE")["message"]
        assert hello["executor_id"] == {"value": "hello"} and hello["agent_id"] == offer["agent_id"]
        assert base64.b64decode(hello["data"]).startswith(b"hello from greet")
        code, _ = sub.call("MESSAGE", {"agent_id": offer["agent_id"],
                                       "executor_id": {"value": "hello"},
                                       "data": b64(b"bye greet")})
        assert code == 202
        finished = sub.follow("greet", "TASK_FINISHED")[-1]
        assert "bye greet" in finished["message"]

        assert sub.call("SUPPRESS", {"roles": ["*"]})[0] == 202
        assert eventually(lambda: framework_state(master, sub.framework_id)
                          ["suppressed_roles"] == ["*"])
        assert sub.call("REVIVE", {"roles": ["*"]})[0] == 202
        assert eventually(lambda: framework_state(master, sub.framework_id)
                          ["suppressed_roles"] == [])
        offer = sub.offers()
        code, _ = sub.call("SHUTDOWN", {"executor_id": {"value": "hello"},
                                        "agent_id": offer[0]["agent_id"]})
        assert code == 202
        failure = sub.wait("FAILURE")["failure"]
        assert failure["executor_id"] == {"value": "hello"} and "status" in failure
    finally:
        sub.close()


def _running(cluster: LocalCluster, task_id: str,
             failover_timeout: float) -> tuple[Node, Subscription]:
    """A master, an agent and a subscribed HTTP framework whose task ``task_id`` runs."""
    master = cluster.master(*FAST)
    cluster.agent(master, AGENT)
    sub = Subscription(master.http, info(failover_timeout=failover_timeout))
    try:
        offer = sub.offers()[0]
        launch(sub, offer, command_task(task_id, offer, "sleep 300"))
        sub.follow(task_id, "TASK_RUNNING")
    except BaseException:
        sub.close()
        raise
    return master, sub


def test_dropped_stream_then_resubscribe_within_failover_timeout_keeps_tasks(
        cluster: LocalCluster) -> None:
    master, first = _running(cluster, "keep", failover_timeout=300)
    first.close()
    # The master sees the stream end: the framework is disconnected, its task runs on.
    assert eventually(lambda: not framework_state(master, first.framework_id)["connected"])
    framework = framework_state(master, first.framework_id)
    assert not framework["active"] and [t["state"] for t in framework["tasks"]] == [
        "TASK_RUNNING"]
    again = Subscription(master.http, info(failover_timeout=300,
                                           id={"value": first.framework_id}))
    try:
        assert again.status == 200 and again.framework_id == first.framework_id
        assert again.stream_id != first.stream_id
        assert first.call("REVIVE")[0] == 403  # the old stream id is no longer valid
        framework = framework_state(master, first.framework_id)
        assert framework["connected"] and framework["active"]
        assert [t["id"] for t in framework["tasks"]] == ["keep"]
        code, _ = again.call("RECONCILE", {})
        assert code == 202
        assert again.update("keep", "TASK_RUNNING")["reason"] == "REASON_RECONCILIATION"
        # A second subscription of the same framework takes over: the first gets ERROR.
        third = Subscription(master.http, info(failover_timeout=300,
                                               id={"value": first.framework_id}))
        try:
            assert again.wait("ERROR")["error"]["message"]
            again.wait_end()
            assert third.call("REVIVE")[0] == 202
            assert again.call("REVIVE")[0] == 403
        finally:
            third.close()
    finally:
        again.close()


def test_disconnected_http_framework_is_removed_after_its_failover_timeout(
        cluster: LocalCluster) -> None:
    master, sub = _running(cluster, "doomed", failover_timeout=1)
    sub.close()
    assert eventually(lambda: any(f["id"] == sub.framework_id
                                  for f in state(master)["completed_frameworks"]))
    assert not state(master)["frameworks"]


def test_an_http_frameworks_task_has_the_same_trace_as_a_native_ones(
        cluster: LocalCluster) -> None:
    master = cluster.master("--trace", *FAST)
    cluster.agent(master, "cpus:1;mem:256;disk:256;ports:[31000-31100]", "--trace")
    sub = Subscription(master.http, info())
    try:
        offer = sub.offers()[0]
        launch(sub, offer, command_task("t1", offer, "echo traced"))
        sub.follow("t1", "TASK_FINISHED")

        def complete() -> bool:
            with urllib.request.urlopen(f"{master.http}/master/trace?task_id=t1",
                                        timeout=WAIT) as resp:
                msgs[:] = json.loads(resp.read())["messages"]
            try:
                i = _find(msgs, -1, "StatusUpdate", "master", "scheduler", "TASK_FINISHED")
                _find(msgs, i, "StatusUpdateAcknowledgement", "master", "agent")
            except AssertionError:
                return False
            return True
        msgs: list[dict[str, Any]] = []
        assert eventually(complete)
    finally:
        sub.close()
    accept = _find(msgs, -1, "AcceptOffers", "scheduler", "master")
    assert msgs[accept]["frm"].endswith("@v1-scheduler-api:0")
    i = _find(msgs, accept, "RunTask", "master", "agent")
    for state_name in ("TASK_RUNNING", "TASK_FINISHED"):
        i = _find(msgs, i, "StatusUpdate", "agent", "master", state_name)
        j = _find(msgs, i, "StatusUpdate", "master", "scheduler", state_name)
        j = _find(msgs, j, "StatusUpdateAcknowledgement", "scheduler", "master")
        _find(msgs, j, "StatusUpdateAcknowledgement", "master", "agent")


def test_launch_group_goes_through_the_masters_group_validation(cluster: LocalCluster) -> None:
    master = cluster.master(*FAST)
    cluster.agent(master, AGENT)
    sub = Subscription(master.http, info())
    try:
        offer = sub.offers()[0]
        executor = {"executor_id": {"value": "group"}, "type": "DEFAULT", "resources": [
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
            {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}},
            {"name": "disk", "type": "SCALAR", "scalar": {"value": 32}}]}

        def group(*tasks: dict[str, Any]) -> dict[str, Any]:
            for task in tasks:
                del task["command"]
            return {"type": "LAUNCH_GROUP", "launch_group": {
                "executor": executor, "task_group": {"tasks": list(tasks)}}}
        too_big = group(command_task("g1", offer, ""), command_task("g2", offer, "", cpus=64))
        code, _ = sub.call("ACCEPT", {"offer_ids": [offer["id"]], "operations": [too_big],
                                      "filters": {"refuse_seconds": 0}})
        assert code == 202
        for task_id in ("g1", "g2"):  # all or none
            status = sub.update(task_id, "TASK_ERROR")
            assert status["reason"] == "REASON_TASK_GROUP_INVALID"
            assert status["source"] == "SOURCE_MASTER"
        offer = sub.offers()[0]
        fits = group(command_task("g3", offer, ""), command_task("g4", offer, ""))
        code, _ = sub.call("ACCEPT", {"offer_ids": [offer["id"]], "operations": [fits]})
        assert code == 202
        assert eventually(lambda: sorted(t["id"] for t in framework_state(
            master, sub.framework_id)["tasks"]) == ["g3", "g4"])
        framework = framework_state(master, sub.framework_id)
        assert [e["executor_id"] for e in framework["executors"]] == ["group"]
    finally:
        sub.close()


def test_a_launch_group_runs_its_tasks_on_one_custom_executor(cluster: LocalCluster) -> None:
    """LAUNCH_GROUP end to end: master → agent ``RunTaskGroup`` → one executor process
    gets both tasks; each runs, greets the framework and finishes on its answer."""
    master = cluster.master(*FAST)
    cluster.agent(master, AGENT)
    sub = Subscription(master.http, info())
    try:
        offer = sub.offers()[0]
        executor = {"executor_id": {"value": "hello"}, "type": "CUSTOM", "command": {
            "value": f"{sys.executable} -m frameworks.examples.hello_executor"},
            "resources": GROUP_EXECUTOR_RESOURCES}
        tasks = [command_task(t, offer, "") for t in ("p1", "p2")]
        for task in tasks:
            del task["command"]
        code, _ = sub.call("ACCEPT", {"offer_ids": [offer["id"]], "operations": [
            {"type": "LAUNCH_GROUP", "launch_group": {
                "executor": executor, "task_group": {"tasks": tasks}}}]})
        assert code == 202
        for task_id in ("p1", "p2"):
            sub.follow(task_id, "TASK_RUNNING")
        greeted = {base64.b64decode(sub.wait("MESSAGE")["message"]["data"]).split()[2]
                   for _ in range(2)}
        assert greeted == {b"p1", b"p2"}
        for task_id in ("p1", "p2"):
            assert sub.call("MESSAGE", {"agent_id": offer["agent_id"],
                                        "executor_id": {"value": "hello"},
                                        "data": b64(f"bye {task_id}".encode())})[0] == 202
        for task_id in ("p1", "p2"):
            assert f"bye {task_id}" in sub.follow(task_id, "TASK_FINISHED")[-1]["message"]
        framework = framework_state(master, sub.framework_id)
        assert [e["executor_id"] for e in framework["executors"]] == ["hello"]
    finally:
        sub.close()


def test_an_offer_not_answered_in_time_is_rescinded(cluster: LocalCluster) -> None:
    master = cluster.master(*FAST, "--offer_timeout=1secs")
    cluster.agent(master, AGENT)
    sub = Subscription(master.http, info())
    try:
        offer = sub.offers()[0]
        rescind = sub.wait("RESCIND")["rescind"]
        assert rescind == {"offer_id": offer["id"]}
        assert sub.offers()[0]["id"] != offer["id"]  # the resources come back in a new one
    finally:
        sub.close()
