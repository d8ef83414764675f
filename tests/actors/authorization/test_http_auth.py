"""HTTP Basic by realm: which paths are read-only, read-write or open; 401 with the realm
on missing or wrong credentials; the principal on right ones; credentials files."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.authorization.acls import parse_acls
from actors.authorization.credentials import CredentialsError, load_credentials
from actors.authorization.http_auth import RealmAuthenticator, basic_authorization, parse_basic
from actors.authorization.views import visible_frameworks, visible_state, visible_tasks
from transport.http import HttpResponse


def authenticator(readonly: bool = True, readwrite: bool = True) -> RealmAuthenticator:
    return RealmAuthenticator("mesos-master", {"ops": "s3cret"}, readonly=readonly,
                              readwrite=readwrite, readwrite_paths=("/teardown", "/api/v1"),
                              open_paths=("/health", "/api/v1/scheduler"),
                              processes=lambda: ("master", "allocator"))


def test_paths_fall_in_realms_with_or_without_the_process_prefix() -> None:
    auth = authenticator()
    assert auth.realm("/master/state") == "readonly"
    assert auth.realm("/state") == "readonly"
    assert auth.realm("/__trace__") == "readonly"
    assert auth.realm("/master/teardown") == "readwrite"
    assert auth.realm("/teardown") == "readwrite"
    assert auth.realm("/api/v1") == "readwrite"
    assert auth.realm("/master/api/v1/operator") == "readwrite"
    assert auth.realm("/health") is None
    assert auth.realm("/master/health") is None
    assert auth.realm("/api/v1/scheduler") is None


def test_missing_or_wrong_credentials_get_401_with_the_realm() -> None:
    auth = authenticator()
    for headers in ({}, {"Authorization": basic_authorization("ops", "wrong")},
                    {"Authorization": basic_authorization("eve", "s3cret")},
                    {"Authorization": "Basic !!!"}, {"Authorization": "Bearer x"}):
        verdict = auth.authenticate("GET", "/master/state", headers)
        assert isinstance(verdict, HttpResponse) and verdict.status == 401
        assert verdict.headers["WWW-Authenticate"] == 'Basic realm="mesos-master-readonly"'
    verdict = auth.authenticate("POST", "/teardown", {})
    assert isinstance(verdict, HttpResponse)
    assert verdict.headers["WWW-Authenticate"] == 'Basic realm="mesos-master-readwrite"'


def test_right_credentials_give_the_principal_and_open_paths_need_none() -> None:
    auth = authenticator()
    good = {"Authorization": basic_authorization("ops", "s3cret")}
    assert auth.authenticate("GET", "/master/state", good) == "ops"
    assert auth.authenticate("GET", "/health", {}) is None


def test_a_realm_whose_authentication_is_off_lets_everyone_in_anonymously() -> None:
    auth = authenticator(readonly=False, readwrite=True)
    assert auth.authenticate("GET", "/state", {}) is None
    assert isinstance(auth.authenticate("POST", "/teardown", {}), HttpResponse)


def test_parse_basic_round_trips_and_rejects_malformed() -> None:
    assert parse_basic(basic_authorization("a", "b:c")) == ("a", "b:c")
    assert parse_basic("Basic " + "bm9jb2xvbg==") is None  # "nocolon"
    assert parse_basic("") is None


def test_credentials_json_inline_file_and_text(tmp_path: Path) -> None:
    inline = ('{"credentials": [{"principal": "a", "secret": "x"}, '
              '{"principal": "b", "secret": "y"}]}')
    assert load_credentials(inline) == {"a": "x", "b": "y"}
    path = tmp_path / "creds"
    path.write_text(inline)
    assert load_credentials(f"file://{path}") == {"a": "x", "b": "y"}
    path.write_text("a x\n\nb y\n")
    assert load_credentials(str(path)) == {"a": "x", "b": "y"}
    for bad in ('{"credentials": [{"secret": "x"}]}', '{"creds": []}', "{nope",
                str(tmp_path / "missing")):
        with pytest.raises(CredentialsError):
            load_credentials(bad)


def test_views_hide_what_the_principal_may_not_see() -> None:
    acls = parse_acls({
        "view_frameworks": [{"principals": {"values": ["alice"]}, "users": {"values": ["a"]}},
                            {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}],
        "view_tasks": [{"principals": {"values": ["alice"]}, "users": {"values": ["secret"]}},
                       {"principals": {"values": ["alice"]}, "users": {"type": "NONE"}}],
        "view_executors": [{"principals": {"type": "ANY"}, "users": {"type": "NONE"}}],
        "view_flags": [{"principals": {"type": "ANY"}, "flags": {"type": "NONE"}}],
    })
    frameworks = [
        {"id": "f1", "user": "a", "tasks": [{"id": "t1", "user": ""},
                                            {"id": "t2", "user": "secret"}],
         "completed_tasks": [], "executors": [{"id": "e1", "user": ""}]},
        {"id": "f2", "user": "b", "tasks": [{"id": "t3", "user": ""}]},
    ]
    seen = visible_frameworks(acls, "alice", frameworks)
    assert [f["id"] for f in seen] == ["f1"]
    assert [t["id"] for t in seen[0]["tasks"]] == ["t2"]
    assert seen[0]["executors"] == []
    assert len(frameworks[0]["tasks"]) == 2  # the input is not changed
    assert visible_frameworks(acls, "bob", frameworks) == []
    assert visible_frameworks(acls, None, frameworks) == []
    tasks = [{"id": "t1", "framework_id": "f1", "user": "secret"},
             {"id": "t3", "framework_id": "f2", "user": ""}]
    assert [t["id"] for t in visible_tasks(acls, "alice", tasks, {"f1": "a", "f2": "b"})] \
        == ["t1"]
    state = visible_state(acls, "alice", {"frameworks": frameworks, "flags": {"x": "1"}})
    assert "flags" not in state and len(state["frameworks"]) == 1
