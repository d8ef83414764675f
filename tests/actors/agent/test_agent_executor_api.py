"""The agent's ``/api/v1/executor`` with the test as the HTTP executor.

A real agent (and a stand-in master, ``agent_harness``) launches an executor whose
process only sleeps; the test speaks the executor HTTP API in its place, so it can
drop its event stream and come back when it likes.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
from typing import Any

from agent_harness import AGENT_ID, FRAMEWORK, Cluster, eventually, run_task, state

from actors.agent.actor import AgentActor
from actors.messages import CommandInfo, ExecutorInfo, ExecutorToFramework, TaskInfo, TaskState
from actors.resources import Resources

WAIT = 30.0
EXECUTOR = ExecutorInfo(executor_id="ext", framework_id=FRAMEWORK.id,
                        command=CommandInfo(value="exec sleep 300"))


def _task(task_id: str) -> TaskInfo:
    return TaskInfo(name=task_id, task_id=task_id, agent_id=AGENT_ID,
                    resources=Resources.parse("cpus:0.1;mem:32"), executor=EXECUTOR)


def _call(kind: str, **fields: Any) -> dict[str, Any]:
    return {"framework_id": {"value": FRAMEWORK.id}, "executor_id": {"value": "ext"},
            "type": kind, **fields}


def _status(task_id: str, state: str) -> dict[str, Any]:
    return {"task_id": {"value": task_id}, "state": state, "source": "SOURCE_EXECUTOR",
            "uuid": base64.b64encode(os.urandom(16)).decode()}


def _post(agent: AgentActor, body: dict[str, Any], **headers: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", agent.node.http_port or 0, timeout=WAIT)
    try:
        conn.request("POST", "/api/v1/executor", json.dumps(body),
                     {"Content-Type": "application/json", **headers})
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


class Subscription:
    """An open SUBSCRIBE: read its events one at a time."""

    def __init__(self, agent: AgentActor, **subscribe: Any) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", agent.node.http_port or 0,
                                               timeout=WAIT)
        self.conn.request("POST", "/api/v1/executor",
                          json.dumps(_call("SUBSCRIBE", subscribe=subscribe)),
                          {"Content-Type": "application/json"})
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200, self.resp.read()

    def next(self) -> dict[str, Any]:
        size = int(self.resp.readline())
        event: dict[str, Any] = json.loads(self.resp.read(size))
        return event

    def close(self) -> None:
        self.resp.close()
        self.conn.close()


def _executor_registering(agent: AgentActor) -> bool:
    return any(e["id"] == "ext" and e["pid"] and e["state"] == "REGISTERING"
               for f in state(agent)["frameworks"] for e in f["executors"])


def test_a_dropped_stream_keeps_the_executor_and_a_resubscription_gets_what_was_queued(
        cluster: Cluster) -> None:
    agent = cluster.make_agent()
    run_task(cluster, agent, _task("first"))
    assert eventually(lambda: _executor_registering(agent))
    assert _post(agent, _call("SUBSCRIBE", subscribe={}), Accept="text/html")[0] == 406
    assert _post(agent, _call("HEARTBEAT"))[0] == 202

    stream = Subscription(agent)
    subscribed = stream.next()
    assert subscribed["type"] == "SUBSCRIBED"
    assert subscribed["subscribed"]["agent_info"]["id"] == {"value": AGENT_ID}
    launch = stream.next()
    assert (launch["type"], launch["launch"]["task"]["task_id"]) == ("LAUNCH", {"value": "first"})
    running = _status("first", "TASK_RUNNING")
    assert _post(agent, _call("UPDATE", update={"status": running}))[0] == 202
    ack = stream.next()
    assert ack == {"type": "ACKNOWLEDGED", "acknowledged": {
        "task_id": {"value": "first"}, "uuid": running["uuid"]}}
    cluster.master.wait_state("first", TaskState.TASK_RUNNING)

    stream.close()  # the executor's connection breaks; the executor itself lives on
    framework = agent.frameworks[FRAMEWORK.id]
    assert eventually(lambda: framework.executors["ext"].http is None)
    run_task(cluster, agent, _task("second"))
    assert eventually(lambda: [t["id"] for f in state(agent)["frameworks"]
                               for e in f["executors"] for t in e["queued_tasks"]] == ["second"])
    assert [e["state"] for f in state(agent)["frameworks"] for e in f["executors"]] == [
        "RUNNING"]

    again = Subscription(agent, unacknowledged_updates=[{"status": running}])
    assert again.next()["type"] == "SUBSCRIBED"
    reack = again.next()  # the replayed update is a duplicate: acknowledged, not forwarded
    assert reack["type"] == "ACKNOWLEDGED" and reack["acknowledged"]["uuid"] == running["uuid"]
    launch = again.next()
    assert (launch["type"], launch["launch"]["task"]["task_id"]) == ("LAUNCH", {"value": "second"})
    assert cluster.master.updates("first") == [TaskState.TASK_RUNNING]

    data = base64.b64encode(b"to the scheduler").decode()
    assert _post(agent, _call("MESSAGE", message={"data": data}))[0] == 202
    (relayed,) = cluster.master.wait_for(ExecutorToFramework)
    assert (relayed.executor_id, relayed.agent_id, relayed.data) == (
        "ext", AGENT_ID, b"to the scheduler")
    staging = _status("second", "TASK_STAGING")
    status, body = _post(agent, _call("UPDATE", update={"status": staging}))
    assert status == 400 and "TASK_STAGING" in body
    again.close()
