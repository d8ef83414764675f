"""The scheduler and executor APIs' realms of their own (``mesos-master-scheduler``,
``mesos-agent-executor``): which requests get 401 and with what challenge, what principal
the others get, the principal checks of the scheduler API and the executor token's
claims, and the flags that cannot work (exit 1 with Mesos' message)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from actors.agent import main as agent_main
from actors.agent.config import AgentConfig
from actors.agent.config import flags as agent_flags
from actors.agent.config import from_flags as agent_from_flags
from actors.agent.executor_auth import (
    TOKEN_ENV,
    claims_refusal,
    executor_realms,
    executor_token,
    token_environment,
)
from actors.authorization.http_auth import (
    BasicRealm,
    BearerRealm,
    Principal,
    RealmAuthenticator,
    basic_authorization,
)
from actors.authorization.jwt import decode, encode
from actors.master import main as master_main
from actors.master.config import MasterConfig
from actors.master.scheduler_api.auth import call_refusal, scheduler_realms, subscribe_principal
from actors.messages.framework import RegisterFramework
from actors.messages.info import FrameworkInfo
from transport.http import HttpResponse

KEY = b"k3y"
CREDENTIALS = {"alice": "a-s", "bob": "b-s"}


def _master(**realms: object) -> RealmAuthenticator:
    return RealmAuthenticator("mesos-master", {"ops": "o-s"}, readonly=False, readwrite=False,
                              readwrite_paths=("/api/v1",), open_paths=("/api/v1/scheduler",),
                              processes=lambda: ("master",),
                              realms={"/api/v1/scheduler": BasicRealm(
                                  "mesos-master-scheduler", CREDENTIALS)})


def test_the_scheduler_api_authenticates_in_its_realm_even_with_the_others_off() -> None:
    auth = _master()
    assert auth.realm("/master/api/v1/scheduler") == "mesos-master-scheduler"
    assert auth.realm("/api/v1") == "readwrite"
    assert auth.authenticate("POST", "/api/v1", {}) is None  # readwrite is off: anonymous
    for path in ("/api/v1/scheduler", "/master/api/v1/scheduler"):
        for headers in ({}, {"Authorization": basic_authorization("alice", "wrong")},
                        {"Authorization": basic_authorization("ops", "o-s")}):
            verdict = auth.authenticate("POST", path, headers)
            assert isinstance(verdict, HttpResponse) and verdict.status == 401
            assert verdict.headers["WWW-Authenticate"] == 'Basic realm="mesos-master-scheduler"'
        good = {"Authorization": basic_authorization("alice", "a-s")}
        assert auth.authenticate("POST", path, good) == "alice"


def test_the_executor_realm_wants_a_token_of_its_key_and_gives_its_claims() -> None:
    realm = BearerRealm("mesos-agent-executor", KEY)
    missing = realm.check({})
    assert isinstance(missing, HttpResponse) and missing.status == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="mesos-agent-executor"'
    token = executor_token(KEY, "f", "e", "c")
    for header, why in ((f"Basic {token}", "Scheme 'Basic' unsupported"),
                        (f"Bearer {token} x", "Malformed"),
                        (f"Bearer {executor_token(b'other', 'f', 'e', 'c')}", "signature"),
                        (f"Bearer {encode({}, KEY)}", "JWT claims missing"),
                        ('Bearer "\r\n.x.y', "Invalid JWT")):
        verdict = realm.check({"Authorization": header})
        assert isinstance(verdict, HttpResponse) and verdict.status == 401, header
        challenge = verdict.headers["WWW-Authenticate"]
        assert challenge.startswith('Bearer realm="mesos-agent-executor", '
                                    'error="invalid_token"') and why in challenge, challenge
        assert "\r" not in challenge and "\n" not in challenge
    principal = realm.check({"Authorization": f"Bearer {token}"})
    assert isinstance(principal, Principal)
    assert principal.claims == {"fid": "f", "eid": "e", "cid": "c"}
    assert json.loads(principal) == {"claims": {"cid": "c", "eid": "e", "fid": "f"}}


def test_executor_claims_must_name_the_calls_framework_executor_and_container() -> None:
    principal = Principal("p", {"fid": "f", "eid": "e", "cid": "run-1"})
    assert claims_refusal(principal, "f", "e", "run-1") is None
    assert "'fid' claim with the framework ID g" in (claims_refusal(principal, "g", "e",
                                                                    "run-1") or "")
    assert "'eid' claim with the executor ID other" in (claims_refusal(
        principal, "f", "other", "run-1") or "")
    assert "'cid' claim" in (claims_refusal(principal, "f", "e", "run-2") or "")
    assert claims_refusal("alice", "f", "e", "run-1") is not None  # Basic: no claims


def test_every_executor_gets_its_token_only_when_the_agent_has_a_key() -> None:
    assert token_environment(b"", "f", "e", "c") == {}
    env = token_environment(KEY, "f", "e", "run-1")
    assert set(env) == set(TOKEN_ENV) and len(set(env.values())) == 1
    assert decode(env["MESOS_EXECUTOR_AUTHENTICATION_TOKEN"], KEY) == {
        "fid": "f", "eid": "e", "cid": "run-1"}


def _subscribe(principal: str = "") -> RegisterFramework:
    return RegisterFramework(framework_info=FrameworkInfo(user="u", name="n",
                                                          principal=principal))


def test_a_subscribe_takes_the_authenticated_principal_or_is_refused_for_another() -> None:
    msg, refused = subscribe_principal("alice", _subscribe())
    assert refused is None and msg.framework_info.principal == "alice"
    msg, refused = subscribe_principal("alice", _subscribe("alice"))
    assert refused is None and msg.framework_info.principal == "alice"
    _, refused = subscribe_principal("alice", _subscribe("bob"))
    assert refused == ("Failed to validate scheduler::Call: Authenticated principal 'alice' "
                       "does not match principal 'bob' set in `FrameworkInfo`")
    msg, refused = subscribe_principal(None, _subscribe("bob"))  # authentication off
    assert refused is None and msg.framework_info.principal == "bob"
    assert call_refusal("alice", "alice") is None and call_refusal(None, "bob") is None
    assert "'bob' does not match principal 'alice'" in (call_refusal("bob", "alice") or "")


def _on(authenticators: str = "", credentials: dict[str, str] | None = None) -> MasterConfig:
    return MasterConfig(authenticate_http_frameworks=True,
                        http_framework_authenticators=authenticators,
                        credentials=dict(CREDENTIALS if credentials is None else credentials))


def test_scheduler_realm_flags_that_cannot_work_are_refused_with_mesos_words() -> None:
    assert scheduler_realms(MasterConfig()) == {}
    with pytest.raises(ValueError, match="Missing `--http_framework_authenticators` flag"):
        scheduler_realms(_on())
    for bad in ("digest", "basic,digest"):
        with pytest.raises(ValueError, match="only 'basic' is supported"):
            scheduler_realms(_on(bad))
    with pytest.raises(ValueError, match=r"No credentials provided .* 'mesos-master-scheduler'"):
        scheduler_realms(_on("basic", credentials={}))
    (realm,) = scheduler_realms(_on("basic")).values()
    assert realm.name == "mesos-master-scheduler"


def test_the_master_exits_1_on_http_framework_flags_that_cannot_work(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    creds = tmp_path / "credentials"
    creds.write_text("alice a-s\n")
    for argv, words in (
            (["--authenticate_http_frameworks", f"--credentials={creds}"],
             "Missing `--http_framework_authenticators` flag"),
            (["--authenticate_http_frameworks", "--http_framework_authenticators=basic"],
             "No credentials provided"),
            (["--authenticate_http_frameworks", "--http_framework_authenticators=ldap",
              f"--credentials={creds}"], "only 'basic' is supported")):
        assert master_main.main(["--port=0", "--http_port=0", *argv]) == 1
        assert words in capsys.readouterr().err


def test_the_agent_needs_a_readable_key_for_http_executor_authentication(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert executor_realms(AgentConfig()) == {}
    with pytest.raises(ValueError, match="--jwt_secret_key must be specified when "
                                         "--authenticate_http_executors is set to true"):
        executor_realms(AgentConfig(authenticate_http_executors=True))
    base = ["--master=127.0.0.1:1", "--port=0", "--http_port=0", f"--work_dir={tmp_path}"]
    assert agent_main.main([*base, "--authenticate_http_executors"]) == 1
    assert "--jwt_secret_key must be specified" in capsys.readouterr().err
    assert agent_main.main([*base, f"--jwt_secret_key={tmp_path / 'missing'}"]) == 2
    assert "Failed to read the file specified by --jwt_secret_key" in capsys.readouterr().err
    key = tmp_path / "key"
    key.write_bytes(b"s3cret\n")
    for flag in ("jwt_secret_key", "executor_secret_key"):  # the old name still works
        config = agent_from_flags(agent_flags().parse(
            [*base, "--authenticate_http_executors", f"--{flag}=file://{key}"], env={}))
        assert config.jwt_secret_key == b"s3cret\n" and config.authenticate_http_executors
        assert "s3cret" not in repr(config) and config.to_flags()["jwt_secret_key"]
        assert set(executor_realms(config)) == {"/api/v1/executor"}
