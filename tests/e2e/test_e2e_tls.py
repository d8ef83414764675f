"""HTTPS end to end: a master and an agent serving TLS with a self-signed certificate
(made with openssl) and HTTP Basic on; a client trusting the certificate gets in, plain
HTTP and untrusting clients do not; the ``meseta`` CLI, ``meseta-execute``, the master's
``/master/trace`` (which asks every agent) and its ``/agents/<agent_id>/files/*`` work over
TLS with credentials."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from actors.messages import TaskState
from tests.e2e.conftest import BIN, LocalCluster, Node
from tests.e2e.harness import command_task, framework
from tests.e2e.security import CREDENTIALS, call, credentials_flag
from tests.tls_helpers import self_signed

FAST = ("--allocation_interval=100ms",)
AUTH = ("--authenticate_http_readonly", "--authenticate_http_readwrite", credentials_flag())


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed(tmp_path)


def tls_flags(cert: tuple[Path, Path]) -> tuple[str, ...]:
    return ("--ssl_enabled", f"--ssl_cert_file={cert[0]}", f"--ssl_key_file={cert[1]}")


def test_the_endpoints_serve_https_with_the_certificate(
        cluster: LocalCluster, cert: tuple[Path, Path]) -> None:
    master = cluster.master(*FAST, *AUTH, *tls_flags(cert))
    agent = cluster.agent(master, "cpus:2;mem:1024", *AUTH, *tls_flags(cert))
    assert master.http.startswith("https://") and agent.http.startswith("https://")
    trusting = ssl.create_default_context(cafile=str(cert[0]))
    status, _, body = call(f"{master.http}/master/state", principal="ops", context=trusting)
    assert status == 200 and json.loads(body)["elected"]
    assert call(f"{agent.http}/state", principal="ops", context=trusting)[0] == 200
    assert call(f"{master.http}/master/state", context=trusting)[0] == 401
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        call(f"{master.http}/master/state", principal="ops",
             context=ssl.create_default_context())
    plain = master.http.replace("https://", "http://")
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        call(f"{plain}/master/state", principal="ops")


def _meseta(master: Node, cert: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "meseta"), *args,
                           f"--master={master.http.removeprefix('https://')}",
                           f"--cacert={cert}"],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


def test_the_cli_and_the_trace_route_work_over_tls_with_credentials(
        cluster: LocalCluster, cert: tuple[Path, Path]) -> None:
    master = cluster.master(*FAST, *AUTH, *tls_flags(cert), "--trace")
    cluster.agent(master, "cpus:2;mem:1024", *AUTH, *tls_flags(cert), "--trace")
    with framework(master.address) as (driver, sched):
        offer = sched.wait("offer")
        assert offer.url is not None and offer.url.scheme == "https"
        driver.launch_tasks([offer.id], [command_task("tls-task", offer, "echo over-tls")])
        sched.wait_state("tls-task", TaskState.TASK_FINISHED)
    creds = {"MESETA_PRINCIPAL": "ops", "MESETA_SECRET": CREDENTIALS["ops"]}
    agents = _meseta(master, cert[0], "agents", "--json", **creds)
    assert agents.returncode == 0, agents.stderr
    assert len(json.loads(agents.stdout)) == 1
    cat = _meseta(master, cert[0], "cat", "tls-task", "--principal=ops",
                  f"--secret={CREDENTIALS['ops']}")
    assert cat.returncode == 0, cat.stderr
    assert cat.stdout == "over-tls\n"
    refused = _meseta(master, cert[0], "agents")
    assert refused.returncode == 1 and "401" in refused.stderr, refused.stderr
    trusting = ssl.create_default_context(cafile=str(cert[0]))
    status, _, body = call(f"{master.http}/master/trace?task_id=tls-task", principal="ops",
                           context=trusting)
    assert status == 200, body
    trace = json.loads(body)
    assert trace["errors"] == [] and len(trace["nodes"]) == 1
    assert trace["nodes"][0].startswith("https://")
    assert any(m.get("type") == "RunTask" or "RunTask" in json.dumps(m)
               for m in trace["messages"])
    # the master's sandbox proxy asks the agent over HTTPS with the caller's credentials
    state = json.loads(call(f"{master.http}/master/state", principal="ops",
                            context=trusting)[2])
    fid = (state["frameworks"] + state["completed_frameworks"])[0]["id"]
    agent_id = state["agents"][0]["id"]
    read = (f"{master.http}/agents/{agent_id}/files/read?offset=0&path=/frameworks/{fid}"
            "/executors/tls-task/runs/latest/stdout")
    status, _, body = call(read, principal="ops", context=trusting)
    assert status == 200 and json.loads(body)["data"] == "over-tls\n", body
    # and meseta-execute reads its task's stdout over HTTPS with --cacert and credentials
    ran = subprocess.run([str(BIN / "meseta-execute"), f"--master={master.address}",
                          "--name=tls-exec", "--command=echo exec-over-tls",
                          "--principal=ops", f"--secret={CREDENTIALS['ops']}",
                          f"--cacert={cert[0]}"], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0 and "exec-over-tls" in ran.stdout, ran.stdout + ran.stderr


def test_ssl_enabled_without_a_certificate_exits_with_a_reason(tmp_path: Path) -> None:
    done = subprocess.run([str(BIN / "meseta-master"), "--ip=127.0.0.1", "--port=0",
                           "--http_port=0", "--ssl_enabled"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "--ssl_cert_file" in done.stderr
    bad = subprocess.run([str(BIN / "meseta-master"), "--ip=127.0.0.1", "--port=0",
                          "--acls={\"run_tasks\": 3}"], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 2 and "run_tasks: expected a list of rules" in bad.stderr
    agent = subprocess.run([str(BIN / "meseta-agent"), "--master=127.0.0.1:1",
                            "--authenticate_http_readonly"], capture_output=True, text=True,
                           timeout=60)
    assert agent.returncode == 2 and "--http_credentials" in agent.stderr
