"""ACLs end to end (real master and agent processes, a framework in this process): each
guarded action is denied as Mesos denies it -- a framework error on registration,
TASK_ERROR / REASON_TASK_UNAUTHORIZED for a task, 403 for a teardown or a sandbox, an
agent told to shut down -- and /state shows a principal only what it may view."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from actors.messages import Reason, TaskState
from frameworks.scheduler_driver import SchedulerDriver
from tests.e2e.conftest import LocalCluster, Node
from tests.e2e.faults import state, wait_for
from tests.e2e.harness import Recorder, command_task, framework, framework_info
from tests.e2e.security import acls_flag, call, credentials_flag

FAST = ("--allocation_interval=100ms",)
AUTH = ("--authenticate_http_readonly", "--authenticate_http_readwrite", credentials_flag())


def test_a_framework_may_not_register_in_a_role_its_principal_may_not_use(
        cluster: LocalCluster) -> None:
    master = cluster.master(*FAST, acls_flag(register_frameworks=[
        {"principals": {"values": ["alice"]}, "roles": {"values": ["dev"]}},
        {"principals": {"type": "ANY"}, "roles": {"type": "NONE"}}]))
    recorder = Recorder()
    driver = SchedulerDriver.create(
        recorder, framework_info("eve", principal="eve", roles=("dev",)), master.address)
    try:
        driver.start()
        error = recorder.wait("error")
        assert "Not authorized to use roles 'dev'" in error
    finally:
        driver.stop()
        driver.close()
    with framework(master.address, "alice", principal="alice", roles=("dev",)):
        frameworks = state(master)["frameworks"]
        assert [f["name"] for f in frameworks] == ["alice"]


def test_a_task_whose_user_the_principal_may_not_run_as_gets_task_error(
        cluster: LocalCluster) -> None:
    master = cluster.master(*FAST, acls_flag(run_tasks=[
        {"principals": {"values": ["alice"]}, "users": {"values": ["nobody"]}},
        {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}]))
    cluster.agent(master)
    with framework(master.address, principal="alice") as (driver, sched):
        offer = sched.wait("offer")
        driver.launch_tasks([offer.id], [command_task("as-root", offer, "true")])
        status = sched.wait_state("as-root", TaskState.TASK_ERROR)
        assert status.reason is Reason.REASON_TASK_UNAUTHORIZED
        assert "Not authorized to launch task as user" in status.message
        assert not [t for f in state(master)["frameworks"] for t in f["tasks"]]


def test_teardown_needs_the_principal_to_be_allowed_over_http(cluster: LocalCluster) -> None:
    master = cluster.master(*FAST, *AUTH, acls_flag(teardown_frameworks=[
        {"principals": {"values": ["ops"]}, "framework_principals": {"type": "ANY"}},
        {"principals": {"type": "ANY"}, "framework_principals": {"type": "NONE"}}]))
    with framework(master.address, principal="alice") as (_, sched):
        fid = state_as(master, "ops")["frameworks"][0]["id"]
        url = f"{master.http}/master/teardown"
        status, headers, _ = call(url, "POST", form={"frameworkId": fid})
        assert status == 401
        assert headers["WWW-Authenticate"] == 'Basic realm="mesos-master-readwrite"'
        status, _, body = call(url, "POST", "alice", form={"frameworkId": fid})
        assert status == 403, body
        assert state_as(master, "ops")["frameworks"], "refused: the framework stays"
        status, _, body = call(url, "POST", "ops", form={"frameworkId": fid})
        assert status == 200, body
        assert "removed" in sched.wait("error")


def state_as(node: Node, principal: str | None, path: str = "/master/state") -> dict[str, Any]:
    status, _, body = call(f"{node.http}{path}", principal=principal)
    assert status == 200, body
    return dict(json.loads(body))


def test_an_agent_not_allowed_to_register_is_shut_down_and_says_why(
        cluster: LocalCluster) -> None:
    master = cluster.master(*FAST, acls_flag(register_agents=[
        {"principals": {"type": "ANY"}, "agents": {"type": "NONE"}}]))
    agent = cluster.agent(master)
    agent.proc.wait(60)  # the master's Shutdown ends it
    log = agent.log.read_text(errors="replace")
    assert "Not authorized to register agent" in log, log[-3000:]
    assert state(master)["agents"] == []
    master_log = master.log.read_text(errors="replace")
    assert "refusing registration of agent" in master_log


def test_state_shows_each_principal_only_what_it_may_view(cluster: LocalCluster) -> None:
    view = [{"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
            {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}]
    rules = acls_flag(view_frameworks=view, view_tasks=view, view_executors=view,
                      view_flags=[{"principals": {"values": ["ops"]}, "flags": {"type": "ANY"}},
                                  {"principals": {"type": "ANY"}, "flags": {"type": "NONE"}}])
    master = cluster.master(*FAST, *AUTH, rules)
    agent = cluster.agent(master, "cpus:4;mem:4096;disk:4096;ports:[31000-32000]",
                          *AUTH, rules)
    with framework(master.address) as (driver, sched):
        offer = sched.wait("offer")
        driver.launch_tasks([offer.id], [command_task("watched", offer, "sleep 300")])
        sched.wait_state("watched", TaskState.TASK_RUNNING)
        ops = state_as(master, "ops")
        assert [t["id"] for t in ops["frameworks"][0]["tasks"]] == ["watched"]
        assert "flags" in ops
        alice = state_as(master, "alice")
        assert alice["frameworks"] == [] and "flags" not in alice
        assert state_as(master, "alice", "/master/tasks")["tasks"] == []
        assert [t["id"] for t in state_as(master, "ops", "/master/tasks")["tasks"]] \
            == ["watched"]
        assert state_as(master, "alice", "/master/frameworks")["frameworks"] == []
        status, _, _ = call(f"{master.http}/master/flags", principal="alice")
        assert status == 403
        executors = state_as(agent, "ops", "/state")["frameworks"][0]["executors"]
        assert [e["id"] for e in executors] == ["watched"]
        assert state_as(agent, "alice", "/state")["frameworks"] == []


def test_sandbox_files_honour_access_sandboxes(cluster: LocalCluster) -> None:
    sandboxes = acls_flag(access_sandboxes=[
        {"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
        {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}])
    master = cluster.master(*FAST)
    agent = cluster.agent(master, "cpus:4;mem:4096;disk:4096;ports:[31000-32000]",
                          *AUTH, sandboxes)
    with framework(master.address) as (driver, sched):
        offer = sched.wait("offer")
        driver.launch_tasks([offer.id], [command_task("out", offer, "echo sandboxed")])
        sched.wait_state("out", TaskState.TASK_FINISHED)
        fid = sched_framework_id(master)
        path = f"/frameworks/{fid}/executors/out/runs/latest/stdout"
        url = f"{agent.http}/files/read?" + urllib.parse.urlencode({"path": path,
                                                                    "offset": 0})

        def read_as_ops() -> bytes | None:
            status, _, body = call(url, principal="ops")
            return body if status == 200 and b"sandboxed" in body else None

        assert b"sandboxed" in wait_for(read_as_ops, what="ops reads the sandbox")
        status, _, body = call(url, principal="alice")
        assert status == 403, body
        status, headers, _ = call(url)
        assert status == 401
        assert headers["WWW-Authenticate"] == 'Basic realm="mesos-agent-readonly"'
        status, _, _ = call(url, principal="ops", secret="wrong")
        assert status == 401


def test_the_masters_files_proxy_passes_the_callers_credentials_and_the_agents_acl(
        cluster: LocalCluster) -> None:
    """``/agents/<agent_id>/files/*`` on the master (the web UI's way to an authenticating
    agent): the master's readonly realm first, then the agent sees the caller's own
    credentials, so its access_sandboxes ACL decides for the real principal."""
    sandboxes = acls_flag(access_sandboxes=[
        {"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
        {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}])
    master = cluster.master(*FAST, "--authenticate_http_readonly", credentials_flag())
    agent = cluster.agent(master, "cpus:4;mem:4096;disk:4096;ports:[31000-32000]",
                          *AUTH, sandboxes)
    with framework(master.address) as (driver, sched):
        offer = sched.wait("offer")
        driver.launch_tasks([offer.id], [command_task("out", offer, "echo proxied")])
        sched.wait_state("out", TaskState.TASK_FINISHED)
        fid = state_as(master, "ops")["frameworks"][0]["id"]
        directory = f"/frameworks/{fid}/executors/out/runs/latest"
        proxy = f"{master.http}/agents/{offer.agent_id}/files"
        read = f"{proxy}/read?" + urllib.parse.urlencode({"path": f"{directory}/stdout",
                                                          "offset": 0})

        def read_as_ops() -> bytes | None:
            status, _, body = call(read, principal="ops")
            return body if status == 200 and b"proxied" in body else None

        assert json.loads(wait_for(read_as_ops, what="ops reads through the master"))[
            "data"] == "proxied\n"
        status, _, body = call(f"{proxy}/browse?" + urllib.parse.urlencode(
            {"path": directory}), principal="ops")
        assert status == 200 and f"{directory}/stdout" in [e["path"] for e in json.loads(body)]
        status, headers, body = call(f"{proxy}/download?" + urllib.parse.urlencode(
            {"path": f"{directory}/stdout"}), principal="ops")
        assert status == 200 and body == b"proxied\n"
        assert headers["Content-Disposition"] == "attachment; filename=stdout"
        # alice may read no sandbox: the agent says so for her, through the master
        status, _, body = call(read, principal="alice")
        assert status == 403 and b"not authorized" in body, body
        # no credentials: the master's own realm answers first
        status, headers, _ = call(read)
        assert status == 401
        assert headers["WWW-Authenticate"] == 'Basic realm="mesos-master-readonly"'
        # nothing but the agent's three file routes, of a registered agent
        for bad in (f"/agents/{offer.agent_id}/state", f"/agents/{offer.agent_id}/files/x",
                    "/agents/no-such-agent/files/read?path=/x", f"/agents/{offer.agent_id}"):
            assert call(f"{master.http}{bad}", principal="ops")[0] == 404, bad
        # what the proxy is for: the agent itself wants credentials the browser lacks
        direct = read.replace(f"{master.http}/agents/{offer.agent_id}", agent.http)
        assert call(direct)[0] == 401 and call(direct, principal="ops")[0] == 200


def sched_framework_id(master: Node) -> str:
    frameworks = state(master)["frameworks"]
    assert frameworks
    return str(frameworks[0]["id"])


def test_wrong_or_missing_credentials_get_401_and_right_ones_200(
        cluster: LocalCluster) -> None:
    master = cluster.master(*FAST, *AUTH)
    for path in ("/master/state", "/state", "/metrics/snapshot", "/__processes__",
                 "/__trace__", "/webui/agents.json"):
        status, headers, _ = call(f"{master.http}{path}")
        assert status == 401, path
        assert headers["WWW-Authenticate"] == 'Basic realm="mesos-master-readonly"'
        assert call(f"{master.http}{path}", principal="alice", secret="nope")[0] == 401
        assert call(f"{master.http}{path}", principal="alice")[0] == 200, path
    for path in ("/health", "/webui/index.html"):
        assert call(f"{master.http}{path}")[0] == 200, path
    assert call(f"{master.http}/master/teardown", "POST", "nobody-known",
                form={"frameworkId": "x"})[0] == 401
