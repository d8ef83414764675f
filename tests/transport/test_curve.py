"""CurveZMQ between real nodes over loopback: who is admitted, who sent what, mixed modes."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import zmq

from tests.transport.helpers import WAIT, keys_dir, spawn_inbox
from tests.transport.wire import Echo
from transport import PID, Node
from transport.curve import CurveError, CurveKeys, create_key_pair, zap_decide
from transport.envelope import batch, encode_envelope

pytestmark = pytest.mark.skipif(not zmq.has("curve"), reason="libzmq without CURVE")


def wait_until(check: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def test_zap_admits_only_allowed_curve_keys() -> None:
    public, _ = zmq.curve_keypair()
    raw = zmq.utils.z85.decode(public)
    allowed = {public: "alice"}
    assert zap_decide(b"CURVE", [raw], allowed) == (b"200", b"OK", b"alice")
    assert zap_decide(b"CURVE", [b"\0" * 32], allowed)[0] == b"400"
    assert zap_decide(b"NULL", [], allowed)[0] == b"400"
    assert zap_decide(b"CURVE", [b"short"], allowed)[0] == b"400"


def test_loading_keys_explains_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(CurveError, match="does not exist"):
        CurveKeys.load(tmp_path / "nope")
    with pytest.raises(CurveError, match="exactly one"):
        CurveKeys.load(tmp_path)
    create_key_pair(tmp_path / "lonely", "agent")
    with pytest.raises(CurveError, match=r"no master\.key"):
        CurveKeys.load(tmp_path / "lonely")
    (tmp_path / "bad.key_secret").write_text("garbage")
    with pytest.raises(CurveError, match=r"no CURVE public key|cannot read"):
        CurveKeys.load(tmp_path)


def test_allowed_peers_talk_encrypted_and_each_envelope_names_its_key(
        tmp_path: Path, make_node: Callable[..., Node]) -> None:
    master = make_node(curve=CurveKeys.load(keys_dir(tmp_path, "master", "alice")))
    alice = make_node(curve=CurveKeys.load(keys_dir(tmp_path, "alice", "master")))
    inbox, box = spawn_inbox(master, "master")
    sender, reply_box = spawn_inbox(alice, "sched")
    alice.send(sender, inbox, Echo(seq=1))
    frm, msg = box.get()
    assert (msg.seq, frm) == (1, sender)
    assert master.principal_of(frm) == "alice"
    master.send(inbox, sender, Echo(seq=2))  # the reply goes to the key that owns the address
    assert reply_box.get_msg().seq == 2
    assert alice.principal_of(inbox) == "master"


def test_a_key_the_peer_does_not_allow_never_gets_a_message_through(
        tmp_path: Path, make_node: Callable[..., Node]) -> None:
    master = make_node(curve=CurveKeys.load(keys_dir(tmp_path, "master")))
    eve = make_node(curve=CurveKeys.load(keys_dir(tmp_path, "eve", "master")))
    inbox, box = spawn_inbox(master, "master")
    sender, _ = spawn_inbox(eve, "sched")
    eve.link(sender.name, inbox)
    eve.send(sender, inbox, Echo(seq=1))
    assert wait_until(lambda: eve.handshake_failure(inbox) is not None)
    assert "refused our CURVE key" in str(eve.handshake_failure(inbox))
    assert master.stats["curve_refused"] >= 1 and master.stats["received"] == 0
    assert box.messages.empty()


def test_a_frame_from_a_plain_peer_is_rejected_and_both_sides_say_why(
        tmp_path: Path, make_node: Callable[..., Node]) -> None:
    master = make_node(curve=CurveKeys.load(keys_dir(tmp_path, "master")))
    spawn_inbox(master, "master")
    # a frame exactly as a plain node would send it, from a raw PUSH without CURVE
    frame = batch([encode_envelope("master", "sched@127.0.0.1:1", Echo(seq=1), None)])
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 0)
    push.connect(f"tcp://{master.address}")
    push.send(frame)
    plain = make_node()
    sender, _ = spawn_inbox(plain, "sched")
    plain.send(sender, master.pid("master"), Echo(seq=2))
    try:
        assert wait_until(lambda: plain.handshake_failure(master.pid("master")) is not None)
        assert "requires CURVE" in str(plain.handshake_failure(master.pid("master")))
        assert wait_until(lambda: master.stats["handshake_failed"] >= 1)
        assert master.stats["received"] == 0
    finally:
        push.close(0)
        ctx.term()


def test_a_curve_node_meeting_a_plain_one_fails_fast_with_a_clear_reason(
        tmp_path: Path, make_node: Callable[..., Node]) -> None:
    plain = make_node()
    inbox, _ = spawn_inbox(plain, "master")
    agent = make_node(curve=CurveKeys.load(keys_dir(tmp_path, "agent", "master")))
    sender, box = spawn_inbox(agent, "agent")
    agent.link(sender.name, inbox)
    agent.send(sender, inbox, Echo(seq=1))
    assert box.get_exit() == inbox  # linkers hear of it (no silent retry forever)
    assert "plain ZeroMQ" in str(agent.handshake_failure(inbox))


def test_an_allowed_key_cannot_speak_for_an_address_another_key_owns(
        tmp_path: Path, make_node: Callable[..., Node]) -> None:
    master = make_node(curve=CurveKeys.load(keys_dir(tmp_path, "master", "alice", "bob")))
    inbox, box = spawn_inbox(master, "master")
    alice = make_node(curve=CurveKeys.load(keys_dir(tmp_path, "alice", "master")))
    bob = make_node(curve=CurveKeys.load(keys_dir(tmp_path, "bob", "master")))
    real, _ = spawn_inbox(alice, "sched")
    alice.send(real, inbox, Echo(seq=1))
    assert box.get()[0] == real
    bob.send(PID("sched", "127.0.0.1", alice.port), inbox, Echo(seq=2))  # claims alice's PID
    bob_own, _ = spawn_inbox(bob, "sched")
    bob.send(bob_own, inbox, Echo(seq=3))
    frm, msg = box.get()
    assert (msg.seq, master.principal_of(frm)) == (3, "bob")
    assert master.stats["dropped/impersonation"] == 1
