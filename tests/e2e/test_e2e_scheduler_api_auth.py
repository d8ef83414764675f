"""``--authenticate_http_frameworks`` end to end: a real master and agent, and a framework
that is nothing but ``http.client`` (``v1_client``) sending HTTP Basic credentials from
the master's ``--credentials``, realm ``mesos-master-scheduler``.

No or wrong credentials get 401 with the realm (SUBSCRIBE and every later call alike);
the right ones subscribe, and the framework is then known by that principal: its
``FrameworkInfo.principal``, the ACLs (``register_frameworks``) and the rate-limit
counters use it; a SUBSCRIBE declaring another principal, or a call made with another
principal's credentials, is refused with Mesos' text.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from actors.authorization.http_auth import basic_authorization
from tests.e2e.conftest import LocalCluster, Node
from tests.e2e.security import acls_flag
from tests.e2e.test_e2e_scheduler_api import AGENT, FAST, SUBSCRIBE, framework_state, info
from tests.e2e.v1_client import WAIT, Subscription, command_task, launch, post

CREDENTIALS = {"alice": "alice-secret", "bob": "bob-secret"}
REALM = 'Basic realm="mesos-master-scheduler"'


def _auth(principal: str, secret: str | None = None) -> dict[str, str]:
    return {"Authorization": basic_authorization(
        principal, CREDENTIALS[principal] if secret is None else secret)}


def _master(cluster: LocalCluster, tmp_path: Path, *flags: str) -> Node:
    creds = tmp_path / "credentials.json"
    creds.write_text(json.dumps({"credentials": [
        {"principal": p, "secret": s} for p, s in CREDENTIALS.items()]}))
    return cluster.master(*FAST, "--authenticate_http_frameworks",
                          "--http_framework_authenticators=basic", f"--credentials={creds}",
                          *flags)


def _metrics(master: Node) -> dict[str, Any]:
    with urllib.request.urlopen(f"{master.http}/metrics/snapshot", timeout=WAIT) as resp:
        result: dict[str, Any] = json.loads(resp.read())
        return result


def test_http_frameworks_need_the_right_credentials_and_run_tasks_as_their_principal(
        cluster: LocalCluster, tmp_path: Path) -> None:
    master = _master(cluster, tmp_path, '--rate_limits={"limits": [{"principal": "alice"}]}')
    cluster.agent(master, AGENT)
    for path in ("/api/v1/scheduler", "/master/api/v1/scheduler"):
        for headers in ({}, _auth("alice", "wrong"), _auth("bob", CREDENTIALS["alice"]),
                        {"Authorization": basic_authorization("mallory", "x")}):
            code, answer, _ = post(master.http, SUBSCRIBE, headers, path=path)
            assert code == 401 and answer["WWW-Authenticate"] == REALM, (path, headers)
    assert not json.loads(urllib.request.urlopen(
        f"{master.http}/master/state", timeout=WAIT).read())["frameworks"]

    sub = Subscription(master.http, info(), auth=_auth("alice"))
    try:
        assert sub.status == 200
        framework = framework_state(master, sub.framework_id)
        assert framework["principal"] == "alice"  # taken from the authentication
        offer = sub.offers()[0]
        # Every call is authenticated too, and must come from the framework's principal.
        body = {"offer_ids": [offer["id"]], "filters": {"refuse_seconds": 0}}
        code, text = sub.call("DECLINE", body, auth={})
        assert code == 401, text
        assert sub.call("DECLINE", body, auth=_auth("alice", "wrong"))[0] == 401
        code, text = sub.call("DECLINE", body, auth=_auth("bob"))
        assert code == 400 and (b"Authenticated principal 'bob' does not match principal "
                                b"'alice' set in `FrameworkInfo`") in text
        assert framework_state(master, sub.framework_id)["offers"]  # nothing was declined
        # Nor may bob take alice's framework over by subscribing with its id.
        code, _, text = post(master.http, {
            "type": "SUBSCRIBE", "framework_id": {"value": sub.framework_id},
            "subscribe": {"framework_info": info(id={"value": sub.framework_id})}},
            _auth("bob"))
        assert code == 400 and text == b"Changing framework's principal is not allowed."
        assert framework_state(master, sub.framework_id)["connected"]
        launch(sub, offer, command_task("as-alice", offer, "true"))
        assert [s["state"] for s in sub.follow("as-alice", "TASK_FINISHED")][-1] == \
            "TASK_FINISHED"
        # The rate limiter counts this framework's calls under its authenticated principal.
        metrics = _metrics(master)
        assert metrics["frameworks/alice/messages_received"] >= 3
        assert metrics["frameworks/alice/messages_processed"] >= 3
        code, _ = sub.call("TEARDOWN")
        assert code == 202
        sub.wait_end()
    finally:
        sub.close()


def test_a_subscribe_declaring_another_principal_is_refused(
        cluster: LocalCluster, tmp_path: Path) -> None:
    master = _master(cluster, tmp_path)
    code, _, body = post(master.http, {"type": "SUBSCRIBE", "subscribe": {
        "framework_info": info(principal="bob")}}, _auth("alice"))
    assert code == 400
    assert body.decode() == ("Failed to validate scheduler::Call: Authenticated principal "
                             "'alice' does not match principal 'bob' set in `FrameworkInfo`")
    sub = Subscription(master.http, info(principal="bob"), auth=_auth("bob"))
    try:
        assert sub.status == 200
        assert framework_state(master, sub.framework_id)["principal"] == "bob"
    finally:
        sub.close()


def test_register_frameworks_acls_judge_the_authenticated_principal(
        cluster: LocalCluster, tmp_path: Path) -> None:
    master = _master(cluster, tmp_path, acls_flag(register_frameworks=[
        {"principals": {"values": ["alice"]}, "roles": {"values": ["dev"]}},
        {"principals": {"type": "ANY"}, "roles": {"type": "NONE"}}]))
    # Neither declares a principal: each is known by the one it authenticated as.
    refused = Subscription(master.http, info(roles=["dev"]), auth=_auth("bob"))
    try:
        assert refused.status == 400
        assert b"Not authorized to use roles 'dev'" in refused.response.read()
    finally:
        refused.close()
    sub = Subscription(master.http, info(roles=["dev"]), auth=_auth("alice"))
    try:
        assert sub.status == 200
        framework = framework_state(master, sub.framework_id)
        assert framework["principal"] == "alice" and framework["role"] == "dev"
    finally:
        sub.close()


def test_authenticate_frameworks_alone_gates_driver_frameworks_not_http_ones(
        cluster: LocalCluster, tmp_path: Path) -> None:
    creds = tmp_path / "credentials"
    creds.write_text("alice alice-secret\n")
    master = cluster.master(*FAST, "--authenticate_frameworks", f"--credentials={creds}")
    sub = Subscription(master.http, info())  # Mesos: HTTP ones have their own flag
    try:
        assert sub.status == 200
        assert framework_state(master, sub.framework_id)["principal"] == ""
    finally:
        sub.close()
