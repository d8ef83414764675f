"""``meseta-demo``: two nodes in two OS processes, with every message traced.

The parent starts a child process holding a node with a ``PongActor``, then a node of
its own with a ``PingActor`` that plays ``--rounds`` of ping-pong with it over ZeroMQ on
127.0.0.1. Tracing is on, so each send and receive is logged with its trace id, and the
round trips are summarised at the end. It exercises the whole transport: PIDs, the
codec, the I/O threads, handler tables, links (the child's exit is noticed) and HTTP
(``/__processes__`` of both nodes is printed).

This is the transport's own smoke test; the local cluster replaces it as the README's
first command once the master and agents exist.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import Future
from typing import Any

from transport.codec import message
from transport.logs import configure
from transport.node import Node
from transport.pid import PID
from transport.process import Process, handles

__all__ = ["PingActor", "PongActor", "main"]


@message(name="demo.Ping")
class Ping:
    """Ping -> pong: one round of the game."""

    round: int
    sent_at: float


@message(name="demo.Pong")
class Pong:
    """Pong -> ping: the answer to ``Ping``."""

    round: int
    sent_at: float


class PongActor(Process):
    """Answers every ``Ping`` with a ``Pong``."""

    @handles(Ping)
    def _on_ping(self, frm: PID, msg: Ping) -> None:
        self.send(frm, Pong(round=msg.round, sent_at=msg.sent_at))


class PingActor(Process):
    """Plays ``rounds`` rounds against ``peer``; resolves ``done`` with the round trips."""

    def __init__(self, node: Node, peer: PID, rounds: int, done: Future[list[float]]) -> None:
        super().__init__(node, "ping")
        self.peer, self.rounds, self.done = peer, rounds, done
        self.rtts: list[float] = []
        self.peer_exited: Future[PID] = Future()

    def on_start(self) -> None:
        self.link(self.peer)
        self.send(self.peer, Ping(round=1, sent_at=time.perf_counter()))

    @handles(Pong)
    def _on_pong(self, frm: PID, msg: Pong) -> None:
        self.rtts.append(time.perf_counter() - msg.sent_at)
        if msg.round >= self.rounds:
            self.done.set_result(self.rtts)
        else:
            self.send(self.peer, Ping(round=msg.round + 1, sent_at=time.perf_counter()))

    def exited(self, pid: PID) -> None:
        if not self.peer_exited.done():
            self.peer_exited.set_result(pid)


def _processes(node: Node) -> Any:
    with urllib.request.urlopen(f"http://{node.host}:{node.http_port}/__processes__") as resp:
        return json.load(resp)


def serve_pong(host: str) -> None:
    """The child: a node with a PongActor until stdin closes."""
    configure("info")
    node = Node(host, 0, http_port=0, trace=True).start()
    node.spawn(PongActor, "pong")
    print(f"READY {node.port} {node.http_port}", flush=True)
    sys.stdin.read()
    node.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="meseta-demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="ping-pong rounds (default 5)")
    parser.add_argument("--ip", default="127.0.0.1", help="address both nodes bind")
    parser.add_argument("--serve-pong", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.serve_pong:
        serve_pong(args.ip)
        return 0
    configure("info")
    child = subprocess.Popen([sys.executable, "-m", "transport.demo", "--serve-pong",
                              "--ip", args.ip], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, start_new_session=True)
    try:
        assert child.stdout is not None and child.stdin is not None
        line = child.stdout.readline().split()
        if not line or line[0] != "READY":
            print("meseta-demo: the pong node did not start", file=sys.stderr)
            return 1
        peer = PID("pong", args.ip, int(line[1]))
        node = Node(args.ip, 0, http_port=0, trace=True).start()
        done: Future[list[float]] = Future()
        ping = node.spawn(PingActor, peer, args.rounds, done)
        rtts = done.result(timeout=60)
        print(f"\n{len(rtts)} round trips between {ping.proxy().pid.get()} and {peer}: "
              f"median {statistics.median(rtts) * 1e6:.0f} µs")
        print("ping node /__processes__:", json.dumps(_processes(node)["processes"]))
        child.stdin.close()  # the pong node stops; our link to it breaks
        exited = ping.proxy().peer_exited.get().result(timeout=30)
        print(f"link to {exited} broke: the pong node has stopped")
        node.stop()
        return 0
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()


if __name__ == "__main__":
    raise SystemExit(main())
