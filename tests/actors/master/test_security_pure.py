"""Authentication and rate limits as pure logic: no actor, no zmq, an injected clock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from actors.master.authentication import Authentication
from actors.master.frameworks import http_scheduler_pid
from actors.master.rate_limits import Limiter, RateLimits, capacity_exceeded
from actors.messages import FrameworkInfo
from actors.messages.authentication import (
    Authenticatee,
    AuthenticationCompleted,
    AuthenticationError,
    AuthenticationFailed,
    AuthenticationStep,
    Credential,
    load_credential,
    load_credentials,
)
from transport import PID

CLIENT = PID("scheduler(1)", "127.0.0.1", 40000)


def exchange(auth: Authentication, credential: Credential, frm: PID = CLIENT) -> str | None:
    """Run the client and the master's answers against each other; the client's outcome."""
    client = Authenticatee(credential)
    msg = client.begin(str(frm))
    while True:
        reply = auth.handle(frm, msg)
        msg, outcome = client.step(reply)
        if outcome is not None or msg is None:
            return outcome


def test_the_right_secret_authenticates_the_principal_and_a_wrong_one_is_refused() -> None:
    auth = Authentication({"alice": "s3cret"})
    assert exchange(auth, Credential("alice", "s3cret")) == "completed"
    assert auth.principal_of(CLIENT) == "alice"
    other = PID("scheduler(2)", "127.0.0.1", 40001)
    outcome = exchange(auth, Credential("alice", "guess"), other)
    assert outcome is not None and outcome.startswith("refused")
    assert exchange(auth, Credential("mallory", "x"), other) == (
        "refused: Authentication failed for principal 'mallory'")
    assert auth.principal_of(other) is None
    auth.forget(CLIENT)
    assert auth.principal_of(CLIENT) is None


def test_the_secret_never_travels_and_a_replayed_answer_fails() -> None:
    nonces = iter(["n1", "n2"])
    auth = Authentication({"alice": "s3cret"}, nonce=lambda: next(nonces))
    client = Authenticatee(Credential("alice", "s3cret"))
    sent = [client.begin(str(CLIENT))]
    while True:
        reply = auth.handle(CLIENT, sent[-1])
        msg, outcome = client.step(reply)
        if msg is None:
            break
        sent.append(msg)
    assert outcome == "completed"
    assert all("s3cret" not in repr(m) for m in sent)
    answer = sent[-1]
    assert isinstance(answer, AuthenticationStep)
    assert isinstance(auth.handle(CLIENT, answer), AuthenticationError)  # no session now


def test_registration_refusals_use_mesos_words() -> None:
    auth = Authentication({"alice": "s"}, key_principal=lambda pid: None)
    info = FrameworkInfo(user="u", name="f", principal="alice")
    assert auth.framework_refusal(CLIENT, info, required=True) == (
        f"Framework at {CLIENT} is not authenticated")
    assert auth.framework_refusal(CLIENT, info, required=False) is None
    exchange(auth, Credential("alice", "s"))
    assert auth.framework_refusal(CLIENT, info, required=True) is None
    bob = FrameworkInfo(user="u", name="f", principal="bob")
    assert auth.framework_refusal(CLIENT, bob, required=False) == (
        "Framework principal 'bob' does not match authenticated principal 'alice'")
    unnamed = FrameworkInfo(user="u", name="f")
    assert auth.framework_refusal(CLIENT, unnamed, required=True) is None  # Mesos allows it
    assert "not authenticated" in str(auth.agent_refusal(PID("agent", "h", 1), True))


def test_an_http_frameworks_stream_is_bound_to_its_principal_until_forgotten() -> None:
    auth = Authentication({"alice": "s"})
    stream = http_scheduler_pid("8f5c0c36-4a2b-4b43-9e47-000000000001")
    auth.bind(stream, "alice")
    assert auth.principal_of(stream) == "alice"
    info = FrameworkInfo(user="u", name="f")
    assert auth.framework_refusal(stream, info, required=True) is None
    bob = FrameworkInfo(user="u", name="f", principal="bob")
    assert "does not match authenticated principal 'alice'" in str(
        auth.framework_refusal(stream, bob, required=True))
    auth.forget(stream)
    assert auth.principal_of(stream) is None


def test_a_curve_key_names_the_principal_and_a_credential_beats_it() -> None:
    auth = Authentication({"alice": "s"}, key_principal=lambda pid: "machine-key")
    assert auth.principal_of(CLIENT) == "machine-key"
    exchange(auth, Credential("alice", "s"))
    assert auth.principal_of(CLIENT) == "alice"


def test_credentials_files_read_mesos_json_and_plain_lines(tmp_path: Path) -> None:
    json_file = tmp_path / "creds.json"
    json_file.write_text(json.dumps({"credentials": [{"principal": "a", "secret": "1"},
                                                     {"principal": "b", "secret": "2"}]}))
    assert load_credentials(json_file) == {"a": "1", "b": "2"}
    text = tmp_path / "creds"
    text.write_text("# comment\na 1\n\nb 2\n")
    assert load_credentials(text) == {"a": "1", "b": "2"}
    one = tmp_path / "one"
    one.write_text('{"principal": "agent", "secret": "x"}')
    assert load_credential(one) == Credential("agent", "x")
    assert "x" not in repr(load_credential(one))
    bad = tmp_path / "bad"
    bad.write_text("a b c\n")
    with pytest.raises(ValueError, match="expected 'principal secret'"):
        load_credentials(bad)
    with pytest.raises(ValueError, match="expected one credential"):
        load_credential(text)


def test_failed_and_error_answers_end_the_client_exchange() -> None:
    client = Authenticatee(Credential("a", "b"))
    client.begin("x")
    assert client.step(AuthenticationFailed(reason="no"))[1] == "refused: no"
    assert client.step(AuthenticationCompleted()) == (None, None)  # not started any more
    client.begin("x")
    assert client.step(AuthenticationError(error="boom"))[1] == "error: boom"


def test_the_flags_endpoint_shows_principals_never_secrets() -> None:
    from actors.master.config import MasterConfig
    from actors.master.endpoints import flags_json

    shown = flags_json(MasterConfig(credentials={"ops": "s3cret", "agent": "pw"}))
    assert shown["credentials"] == "agent,ops"
    assert "s3cret" not in repr(shown) and "pw" not in repr(shown.values())


# --- rate limits --------------------------------------------------------------------------


def test_a_limiter_lets_one_message_through_per_interval_and_keeps_the_order() -> None:
    limiter: Limiter[int] = Limiter(qps=2.0)
    assert limiter.offer(10.0, 0) == "run"
    assert [limiter.offer(10.0, i) for i in (1, 2, 3)] == ["queued"] * 3
    assert limiter.next_due() == 10.5
    assert limiter.due(10.49) == []
    assert limiter.due(10.5) == [1]
    assert limiter.due(11.6) == [2, 3]
    assert limiter.next_due() is None
    assert limiter.offer(20.0, 4) == "run"  # idle long enough: at once again


def test_beyond_capacity_a_message_is_dropped_not_queued() -> None:
    limiter: Limiter[int] = Limiter(qps=1.0, capacity=2)
    assert [limiter.offer(0.0, i) for i in range(4)] == ["run", "queued", "queued", "dropped"]
    assert limiter.due(5.0) == [1, 2]
    assert capacity_exceeded("ReconcileTasks", 2) == (
        "Message ReconcileTasks dropped: capacity(2) exceeded")


def test_rate_limits_parse_mesos_json_with_an_aggregate_default() -> None:
    limits = RateLimits.parse(json.dumps({
        "limits": [{"principal": "slow", "qps": 5, "capacity": 10}, {"principal": "free"}],
        "aggregate_default_qps": 50, "aggregate_default_capacity": 100}))
    slow = limits.limiter_for("slow")
    assert slow is not None and (slow.qps, slow.capacity) == (5.0, 10)
    assert limits.limiter_for("free") is None
    assert limits.limiter_for("other") is limits.limiter_for(None) is limits.aggregate
    assert RateLimits.parse('{"limits": []}').limiter_for("x") is None
    for bad in ('{"limits": [{"qps": 1}]}', '{"limits": [{"principal": "a", "qps": 0}]}',
                '{"limits": [{"principal": "a", "capacity": -1}]}', "not json",
                '{"limits": [{"principal": "a"}, {"principal": "a", "qps": 1}]}'):
        with pytest.raises(ValueError, match="rate limits"):
            RateLimits.parse(bad)
