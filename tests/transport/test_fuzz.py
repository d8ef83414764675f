"""A live node in a child process survives a flood of hostile frames from a raw socket.

Everything is seeded (``SEED``) so a failure replays exactly.
"""

from __future__ import annotations

import json
import queue
import random
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import msgpack
import psutil
import pytest
import zmq

from tests.transport.helpers import WAIT, Mailbox, Peer, spawn_inbox
from tests.transport.wire import Add, Count, Echo, Echoed, GetCount
from transport import PID, Node
from transport.envelope import batch, encode_envelope

SEED = 20_261_124
MAX_MESSAGE_SIZE = 64 * 1024
BAD_FRAMES = 12_000


def random_value(rng: random.Random, depth: int = 0) -> Any:
    """A random msgpack-able value (what a confused or hostile peer might send)."""
    kind = rng.randrange(10 if depth < 3 else 7)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.randint(-(2**63), 2**64 - 1)
    if kind == 3:
        return rng.uniform(-1e9, 1e9)
    if kind == 4:
        return "".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(rng.randrange(12)))
    if kind == 5:
        return rng.randbytes(rng.randrange(16))
    if kind == 6:
        return rng.choice(["test.Add", "test.Echo", "echo", "n", "seq", "", "Ping"])
    if kind == 7:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(6))]
    if kind == 8:
        return {rng.choice(["n", "seq", "payload", "x"]): random_value(rng, depth + 1)
                for _ in range(rng.randrange(4))}
    return msgpack.ExtType(rng.randrange(128), rng.randbytes(rng.randrange(4)))


class Fuzzer:
    """Makes frames: bad ones of many kinds, and valid ``Add`` envelopes it keeps count of."""

    def __init__(self, rng: random.Random, sender: PID) -> None:
        self.rng = rng
        self.sender = str(sender)
        self.adds = 0
        self.total = 0
        self.echoes: list[int] = []

    def good_add(self) -> bytes:
        n = self.rng.randrange(1, 1000)
        self.adds += 1
        self.total += n
        return encode_envelope("echo", self.sender, Add(n=n), None)

    def good_echo(self) -> bytes:
        seq = len(self.echoes)
        self.echoes.append(seq)
        return encode_envelope("echo", self.sender, Echo(seq=seq), None)

    def bad_envelope(self) -> bytes:
        """One packed envelope the node must refuse (never a valid message for ``echo``)."""
        rng = self.rng
        env: list[Any] = ["echo", self.sender, "test.Add", {"n": 1}, None]
        kind = rng.randrange(9)
        if kind == 0:  # a field of the envelope of the wrong type
            env[rng.randrange(3)] = random_value(rng)
            if type(env[0]) is str and type(env[1]) is str and type(env[2]) is str:
                env[2] = 7
        elif kind == 1:  # an unknown message name
            env[2] = "test.NoSuch" + str(rng.randrange(1000))
        elif kind == 2:  # an unknown recipient
            env[0] = rng.choice(["nobody", "", "echo ", "ECHO", "x" * 300])
        elif kind == 3:  # a bad sender PID
            env[1] = rng.choice(["echo", "a@b", "x@127.0.0.1:0", "@h:1", "x@h:99999", ""])
        elif kind == 4:  # a body of the wrong type
            env[3] = rng.choice([{"n": "1"}, {"n": True}, {"n": 1.5}, {}, [1], None,
                                 {"n": None}, "n=1"])
        elif kind == 5:  # an Echo/GetCount with a bad body
            env[2] = rng.choice(["test.Echo", "test.GetCount", "test.Forward"])
            seq = random_value(rng)
            env[3] = {"seq": [seq] if type(seq) is int else seq, "route": random_value(rng)}
            if env[2] == "test.GetCount":
                env[3] = random_value(rng, 3) if rng.random() < 0.5 else [1]
                if isinstance(env[3], dict):
                    env[3] = [env[3]]
        elif kind == 6:  # a bad trace
            env[4] = rng.choice([[1, 2, 3], [-1, 0, 0, 0], "t", [1, 2, 3, 2**64 - 1]])
        elif kind == 7:  # the wrong number of items
            env = env[: rng.randrange(5)] if rng.random() < 0.5 else [*env, None]
        else:  # an ext value somewhere in the body
            env[3] = {"n": msgpack.ExtType(rng.randrange(128), b"xy")
                      if rng.random() < 0.5 else msgpack.Timestamp(rng.randrange(2**32), 0)}
        return msgpack.packb(env)

    def bad_frame(self) -> bytes:
        rng = self.rng
        kind = rng.randrange(10)
        if kind == 0:  # random bytes
            return rng.randbytes(rng.randrange(200))
        if kind == 1:  # a truncated valid frame
            frame = batch([self.good_add_uncounted() for _ in range(rng.randrange(1, 4))])
            return frame[: rng.randrange(len(frame))]
        if kind == 2:  # valid msgpack of the wrong shape
            return msgpack.packb(random_value(rng))
        if kind == 3:  # a batch of bad envelopes
            return batch([self.bad_envelope() for _ in range(rng.randrange(1, 4))])
        if kind == 4:  # huge array/map/str/bin length headers with nothing behind them
            return rng.choice([b"\xdd\xff\xff\xff\xff", b"\xdf\xff\xff\xff\xff",
                               b"\x91\xdb\x7f\xff\xff\xff", b"\x91\xc6\xff\xff\xff\xff",
                               b"\xdc\xff\xff" + self.good_add_uncounted(),
                               b"\x95\xa4echo\xdd\xff\xff\xff\xff"])
        if kind == 5:  # deep nesting
            depth = rng.choice([100, 1000, 5000, 60_000])
            return rng.choice([b"\x91", b"\x81\xa1a"]) * (depth // 4) + b"\xc0"
        if kind == 6:  # a fixext 8 of any type code, the timestamp's -1 included
            return b"\x91\xd7" + bytes([rng.randrange(256)]) + rng.randbytes(8)
        if kind == 7:  # a valid frame with garbage behind it
            return batch([self.good_add_uncounted()]) + rng.randbytes(rng.randrange(1, 9))
        if kind == 8:  # invalid UTF-8 in a name
            return batch([msgpack.packb(["echo", self.sender, "test.Add", {"n": 1}, None])
                          .replace(b"test.Add", b"test.\xffdd")])
        return batch([self.bad_envelope()])

    def good_add_uncounted(self) -> bytes:
        return encode_envelope("echo", self.sender, Add(n=1), None)

    def mixed_frame(self) -> bytes:
        """Valid envelopes (counted) around bad ones, in one frame."""
        parts = [self.good_add(), self.bad_envelope(), self.good_add()]
        if self.rng.random() < 0.3:
            parts.insert(1, self.good_echo())
        self.rng.shuffle(parts)
        return batch(parts)


@pytest.fixture
def raw_push(peers: Callable[..., Peer]) -> Iterator[tuple[Peer, zmq.Socket[bytes]]]:
    peer = peers("--max-message-size", str(MAX_MESSAGE_SIZE), "--http-port", "0")
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sock = ctx.socket(zmq.PUSH)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDTIMEO, int(WAIT * 1000))
    sock.setsockopt(zmq.SNDHWM, 100_000)
    sock.connect(f"tcp://127.0.0.1:{peer.port}")
    try:
        yield peer, sock
    finally:
        sock.close(0)
        ctx.term()


def peer_stats(peer: Peer) -> dict[str, int]:
    url = f"http://127.0.0.1:{peer.http_port}/__processes__"
    with urllib.request.urlopen(url, timeout=WAIT) as resp:
        return dict(json.loads(resp.read())["stats"])


def ask_count(sock: zmq.Socket[bytes], inbox: PID, box: Mailbox,
              before: list[Any] | None = None) -> Count:
    """The echo process's ``Count``; messages that arrive first go to ``before``."""
    sock.send(batch([encode_envelope("echo", str(inbox), GetCount(), None)]))
    while True:
        msg = box.get_msg()
        if isinstance(msg, Count):
            return msg
        if before is not None:
            before.append(msg)


def test_a_node_survives_a_flood_of_bad_frames_and_keeps_delivering_good_ones(
    make_node: Callable[..., Node], raw_push: tuple[Peer, zmq.Socket[bytes]]
) -> None:
    peer, sock = raw_push
    node = make_node()
    inbox, box = spawn_inbox(node)
    rng = random.Random(SEED)
    fuzz = Fuzzer(rng, inbox)
    child = psutil.Process(peer.proc.pid)
    assert ask_count(sock, inbox, box) == Count(total=0, adds=0)  # warm: connected, imported
    rss_before = child.memory_info().rss

    # Phase 1: bad frames with valid and mixed frames in between, on one connection.
    bad = 0
    for i in range(BAD_FRAMES):
        sock.send(fuzz.bad_frame())
        bad += 1
        if i % 50 == 0:
            sock.send(batch([fuzz.good_add()]))
        if i % 40 == 0:
            sock.send(fuzz.mixed_frame())
    echoed: list[Any] = []
    counted = ask_count(sock, inbox, box, echoed)
    assert counted == Count(total=fuzz.total, adds=fuzz.adds), (
        peer_stats(peer), peer.log.read_text(errors="replace")[-3000:])
    assert echoed == [Echoed(seq=seq, by=peer.echo) for seq in fuzz.echoes]
    assert len(fuzz.echoes) > 50 and fuzz.adds > 500

    # Phase 2: frames beyond the node's max_message_size (each costs the connection).
    for size in (MAX_MESSAGE_SIZE + 1, 100_000, 1_000_000):
        sock.send(b"\x91" + b"\xc0" * size)
        bad += 1
    deadline = time.monotonic() + WAIT
    while True:  # the raw socket reconnects by itself; what it sent meanwhile may be lost
        sock.send(batch([encode_envelope("echo", str(inbox), Echo(seq=-7), None)]))
        try:
            if box.get_msg(timeout=0.5) == Echoed(seq=-7, by=peer.echo):
                break
        except queue.Empty:
            assert time.monotonic() < deadline, "the peer stopped answering the raw socket"

    # Afterwards: alive, answering through a normal node too, and not bloated.
    assert bad >= 10_000
    assert peer.proc.poll() is None and child.is_running()
    node.send(inbox, peer.echo, Echo(seq=1, payload=b"still here"))
    assert box.get_msg() == Echoed(seq=1, payload=b"still here", by=peer.echo)
    growth = child.memory_info().rss - rss_before
    assert growth < 50 * 1024 * 1024, f"RSS grew by {growth / 2**20:.1f} MiB"
    stats = peer_stats(peer)
    assert stats.get("io_errors", 0) == 0, stats
    dropped = sum(v for k, v in stats.items() if k.startswith("dropped/"))
    assert dropped > 5_000, stats
