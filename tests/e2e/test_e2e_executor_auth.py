"""``--authenticate_http_executors`` end to end: an agent with ``--jwt_secret_key`` gives
each executor its token; the HTTP executor (``http_executor.py``, plain Python) sends it
from its environment and runs its task to TASK_FINISHED; a raw request without a token
gets 401 in realm ``mesos-agent-executor``, and one with another executor's token 403.
"""

from __future__ import annotations

import base64
import http.client
import json
import urllib.parse
from pathlib import Path
from typing import Any

from actors.messages import TaskState
from tests.e2e.conftest import LocalCluster, Node
from tests.e2e.harness import framework
from tests.e2e.test_e2e_http_executor import (
    FAST,
    _executor,
    _executor_state,
    _journal,
    _task,
    _until,
)

TOKEN = "MESOS_EXECUTOR_AUTHENTICATION_TOKEN"


def _post(agent: Node, call: dict[str, Any],
          headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
    url = urllib.parse.urlsplit(agent.http)
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
    try:
        conn.request("POST", "/api/v1/executor", json.dumps(call).encode(),
                     {"Content-Type": "application/json", **headers})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read().decode(errors="replace")
    finally:
        conn.close()


def _seen(agent: Node, executor_id: str) -> dict[str, Any]:
    found: dict[str, Any] = _until(lambda: _executor_state(agent, executor_id),
                                   f"executor {executor_id} in /state")
    return found


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    result: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=="))
    return result


def test_http_executors_authenticate_with_the_token_the_agent_gave_them(
        cluster: LocalCluster, tmp_path: Path, noted: list[int]) -> None:
    key = tmp_path / "jwt.key"
    key.write_bytes(b"a key only this agent knows")
    master = cluster.master(*FAST)
    agent = cluster.agent(master, "cpus:4;mem:4096;disk:4096;ports:[31000-32000]",
                          "--authenticate_http_executors", f"--jwt_secret_key={key}")
    with framework(master.address, "http-auth") as (driver, sched):
        offer = sched.wait("offer")
        driver.launch_tasks([offer.id], [_task("ta", offer, _executor("a"), b"finish"),
                                         _task("tb", offer, _executor("b"), b"finish")])
        for task_id in ("ta", "tb"):
            sched.wait_state(task_id, TaskState.TASK_FINISHED)
        executors = {}
        for executor_id in ("a", "b"):
            seen = _seen(agent, executor_id)
            noted.append(int(seen["pid"]))
            executors[executor_id] = _journal(seen["directory"])
        tokens = {e: journal[0]["env"][TOKEN] for e, journal in executors.items()}
        framework_id = offer.framework_id
        assert _claims(tokens["a"])["fid"] == framework_id
        assert {e: _claims(t)["eid"] for e, t in tokens.items()} == {"a": "a", "b": "b"}
        assert _claims(tokens["a"])["cid"] != _claims(tokens["b"])["cid"]
        for journal in executors.values():  # every call it made was let in
            assert next(e for e in journal if "subscribe" in e)["subscribe"] == 200
            assert {e["status"] for e in journal if "sent" in e} == {202}

        message = {"framework_id": {"value": framework_id}, "executor_id": {"value": "a"},
                   "type": "MESSAGE", "message": {"data": base64.b64encode(b"hi").decode()}}
        code, headers, _ = _post(agent, message, {})
        assert code == 401
        assert headers["WWW-Authenticate"] == 'Bearer realm="mesos-agent-executor"'
        code, headers, _ = _post(agent, message, {"Authorization": "Bearer not.a.jwt"})
        assert code == 401 and 'error="invalid_token"' in headers["WWW-Authenticate"]
        forged = tokens["a"][:-4] + ("AAAA" if not tokens["a"].endswith("AAAA") else "BBBB")
        assert _post(agent, message, {"Authorization": f"Bearer {forged}"})[0] == 401
        code, _, text = _post(agent, message, {"Authorization": f"Bearer {tokens['b']}"})
        assert code == 403 and "'eid' claim with the executor ID a" in text
        subscribe = {**message, "type": "SUBSCRIBE", "subscribe": {}}
        del subscribe["message"]
        assert _post(agent, subscribe, {"Authorization": f"Bearer {tokens['b']}"})[0] == 403
        code, _, text = _post(agent, message, {"Authorization": f"Bearer {tokens['a']}"})
        assert code == 202, text
        assert sched.wait("message", lambda m: m[0] == "a" and m[2] == b"hi")
