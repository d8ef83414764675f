"""The ACL decision (Mesos' local authorizer): first match wins, permissive, ANY/NONE/values,
each action's object, and the shapes ``--acls`` accepts and refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from actors.authorization.acls import ACTIONS, ACLError, ACLs, load_acls, parse_acls


def acls(**rules: object) -> ACLs:
    return parse_acls(rules)


def test_no_rules_is_permissive_by_default_and_restrictive_when_asked() -> None:
    assert ACLs().authorized("run_tasks", "anyone", "root")
    assert not ACLs().restrictive
    strict = acls(permissive=False)
    assert strict.restrictive
    for action in ACTIONS:
        assert not strict.authorized(action, "alice", "x")


def test_values_allow_only_the_listed_objects() -> None:
    a = acls(register_frameworks=[
        {"principals": {"values": ["alice"]}, "roles": {"values": ["dev", "qa"]}}])
    assert a.authorized("register_frameworks", "alice", "dev")
    assert a.authorized("register_frameworks", "alice", "qa")
    # "prod" does not match the rule: no rule matches, permissive allows.
    assert a.authorized("register_frameworks", "alice", "prod")
    # bob is matched by no rule either.
    assert a.authorized("register_frameworks", "bob", "dev")


def test_first_matching_rule_wins() -> None:
    a = acls(run_tasks=[
        {"principals": {"values": ["alice"]}, "users": {"values": ["root"]}},
        {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}])
    assert a.authorized("run_tasks", "alice", "root")
    assert not a.authorized("run_tasks", "alice", "nobody")  # the second rule matches
    assert not a.authorized("run_tasks", "bob", "root")
    flipped = acls(run_tasks=[
        {"principals": {"type": "ANY"}, "users": {"type": "NONE"}},
        {"principals": {"values": ["alice"]}, "users": {"values": ["root"]}}])
    assert not flipped.authorized("run_tasks", "alice", "root")


def test_none_object_denies_and_none_subject_never_matches_a_principal() -> None:
    a = acls(teardown_frameworks=[
        {"principals": {"values": ["ops"]}, "framework_principals": {"type": "NONE"}}])
    assert not a.authorized("teardown_frameworks", "ops", "fw")
    assert a.authorized("teardown_frameworks", "dev", "fw")  # no match: permissive
    b = acls(permissive=False, view_frameworks=[
        {"principals": {"type": "NONE"}, "users": {"type": "ANY"}}])
    # A NONE subject matches SOME requests (Mesos' matrix) and then denies them.
    assert not b.authorized("view_frameworks", "alice", "root")


def test_without_a_principal_only_any_subjects_match() -> None:
    a = acls(permissive=False, view_frameworks=[
        {"principals": {"values": ["alice"]}, "users": {"type": "ANY"}}])
    assert a.authorized("view_frameworks", "alice", "root")
    assert not a.authorized("view_frameworks", None, "root")
    b = acls(permissive=False, view_frameworks=[
        {"principals": {"type": "ANY"}, "users": {"type": "ANY"}}])
    assert b.authorized("view_frameworks", None, "root")
    c = acls(view_frameworks=[
        {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}])
    assert not c.authorized("view_frameworks", None, "root")


def test_an_object_that_names_nothing_is_any() -> None:
    a = acls(register_agents=[{"principals": {"values": ["agent"]}, "agents": {"type": "ANY"}},
                              {"principals": {"type": "ANY"}, "agents": {"type": "NONE"}}])
    assert a.authorized("register_agents", "agent", None)
    assert not a.authorized("register_agents", None, None)
    assert not a.authorized("register_agents", "intruder", None)
    some = acls(permissive=False, access_sandboxes=[
        {"principals": {"type": "ANY"}, "users": {"values": ["root"]}}])
    assert not some.authorized("access_sandboxes", "x", None)  # ANY object ≠ SOME rule


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_each_action_reads_its_own_object_entity(action: str) -> None:
    rules = {action: [{"principals": {"values": ["p"]}, ACTIONS[action]: {"values": ["o"]}}]}
    a = parse_acls({"permissive": False, **rules})
    assert a.authorized(action, "p", "o")
    assert not a.authorized(action, "p", "other")
    others = [x for x in ACTIONS if x != action]
    assert not a.authorized(others[0], "p", "o")  # rules belong to their action only


def test_unknown_action_raises() -> None:
    with pytest.raises(ValueError):
        ACLs().authorized("launch_rockets", "p", "o")


@pytest.mark.parametrize("bad, why", [
    ([], "JSON object"),
    ({"permissive": "yes"}, "permissive"),
    ({"register_framework": []}, "unknown ACL action"),
    ({"run_tasks": {}}, "list of rules"),
    ({"run_tasks": [{"principals": {"type": "ANY"}}]}, "missing users"),
    ({"run_tasks": [{"principals": {"type": "ANY"}, "roles": {"type": "ANY"}, "users": {}}]},
     "unknown field"),
    ({"run_tasks": [{"principals": {"type": "ALL"}, "users": {"type": "ANY"}}]}, "SOME, ANY"),
    ({"run_tasks": [{"principals": {"values": "a"}, "users": {"type": "ANY"}}]},
     "list of strings"),
    ({"run_tasks": [{"principals": {"type": "ANY", "values": ["a"]}, "users": {}}]},
     "takes no values"),
])
def test_bad_shapes_are_refused_with_a_reason(bad: object, why: str) -> None:
    with pytest.raises(ACLError, match=why):
        parse_acls(bad)


def test_mesos_actions_we_do_not_guard_are_accepted() -> None:
    a = parse_acls({"reserve_resources": [{"principals": {"type": "ANY"},
                                           "roles": {"type": "NONE"}}]})
    assert a.rules == {}


def test_load_acls_takes_json_a_path_or_file_url(tmp_path: Path) -> None:
    body = {"permissive": False,
            "run_tasks": [{"principals": {"type": "ANY"}, "users": {"values": ["nobody"]}}]}
    path = tmp_path / "acls.json"
    path.write_text(json.dumps(body))
    for text in (json.dumps(body), str(path), f"file://{path}"):
        loaded = load_acls(text)
        assert loaded.authorized("run_tasks", "x", "nobody")
        assert not loaded.authorized("run_tasks", "x", "root")
    assert load_acls("") == ACLs()
    with pytest.raises(ACLError, match="neither JSON nor a readable file"):
        load_acls(str(tmp_path / "missing.json"))
    with pytest.raises(ACLError, match="not valid JSON"):
        load_acls("{nope")
