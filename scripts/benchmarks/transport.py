"""``scripts/bench transport``: actor→actor messaging between two OS processes vs raw pyzmq.

Measured side by side, alternating, in the same run:

- throughput: one side sends ``--messages`` one-way messages as fast as it can, the
  other counts them and answers once it has them all; messages/s = count / elapsed.
  Actors: a Process on one node floods a Process on a node in a child process. Raw: a
  DEALER floods a ROUTER in a child process, msgpack-encoding and decoding the same
  fields (no actors, no threads of ours).
- round trip: ping, wait for pong, repeat ``--pings`` times; p50 and p99 in µs.

Both actor nodes run with ``--cpu_affinity`` (default ``auto``: each node's Python
threads share one core, chosen and rechecked by ``transport.affinity``; ``none`` leaves
placement to the kernel, for comparison). Three seconds of pings before the first round
let ``auto`` settle.

``--trace`` (or ``--trace=log``) adds a second pair of actor nodes with tracing on
(``Node(trace=True)``: a trace event per send and receive, in the ring buffer and logged;
logs go to /dev/null in every node here, so formatting is paid but not the terminal);
``--trace=ring`` the same with ``MESETA_TRACE=ring`` (events kept and served, no log
line). Measured in the same rounds; the JSON gains ``trace_mode``,
``throughput_traced``, ``actor_rtt_p50_us_traced``, ``actor_rtt_p99_us_traced``,
``trace_overhead_ratio`` (traced p50 / untraced p50) and ``trace_throughput_ratio``.

Prints progress lines, then one JSON object (the last line) with ``actor_msgs_per_s``,
``raw_msgs_per_s``, ``throughput_ratio``, ``actor_rtt_p50_us``, ``raw_rtt_p50_us``,
``rtt_ratio`` and more; figures are medians over ``--rounds``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import Future
from typing import Any

import msgpack
import zmq

from transport import PID, Node, Process, handles, message
from transport.logs import configure

PAYLOAD = "x" * 64


@message(name="bench.Flood")
class Flood:
    seq: int
    total: int
    payload: str


@message(name="bench.Ping")
class Ping:
    seq: int
    payload: str


@message(name="bench.Pong")
class Pong:
    seq: int
    payload: str


@message(name="bench.Done")
class Done:
    count: int


class Sink(Process):
    """Counts floods; answers ``Done`` when the last of a round arrives."""

    count = 0

    @handles(Flood)
    def _on_flood(self, frm: PID, msg: Flood) -> None:
        self.count += 1
        if msg.seq == msg.total - 1:
            self.send(frm, Done(count=self.count))
            self.count = 0

    @handles(Ping)
    def _on_ping(self, frm: PID, msg: Ping) -> None:
        self.send(frm, Pong(seq=msg.seq, payload=msg.payload))


class Driver(Process):
    """Runs one measurement at a time for the parent; reports through futures."""

    def __init__(self, node: Node, sink: PID) -> None:
        super().__init__(node, "driver")
        self.sink = sink
        self.done: Future[tuple[float, int]] | None = None
        self.rtts: list[float] = []
        self.pings = 0
        self.sent_at = 0.0

    def flood(self, total: int, done: Future[tuple[float, int]]) -> None:
        self.done = done
        start = time.perf_counter()
        self.start_time = start
        send, sink = self.send, self.sink
        for seq in range(total):
            send(sink, Flood(seq=seq, total=total, payload=PAYLOAD))

    @handles(Done)
    def _on_done(self, frm: PID, msg: Done) -> None:
        assert self.done is not None
        self.done.set_result((time.perf_counter() - self.start_time, msg.count))

    def ping(self, count: int, done: Future[tuple[float, int]]) -> None:
        self.done, self.pings, self.rtts = done, count, []
        self.sent_at = time.perf_counter()
        self.send(self.sink, Ping(seq=0, payload=PAYLOAD))

    @handles(Pong)
    def _on_pong(self, frm: PID, msg: Pong) -> None:
        now = time.perf_counter()
        self.rtts.append(now - self.sent_at)
        if len(self.rtts) >= self.pings:
            assert self.done is not None
            self.done.set_result((0.0, 0))
            return
        self.sent_at = time.perf_counter()
        self.send(self.sink, Ping(seq=msg.seq + 1, payload=PAYLOAD))


# --- child processes ----------------------------------------------------------------


def serve_actor(port_file: str, trace: bool | str = False) -> None:
    configure("info", "json", stream=open(os.devnull, "w"))
    node = Node("127.0.0.1", 0, trace=trace).start()
    node.spawn(Sink, "sink")
    with open(port_file, "w") as f:
        f.write(str(node.port))
    sys.stdin.read()  # until the parent closes our stdin
    node.stop()


def serve_raw(port_file: str) -> None:
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    with open(port_file, "w") as f:
        f.write(str(port))
    count = 0
    while True:
        ident, body = router.recv_multipart()
        msg = msgpack.unpackb(body)
        kind = msg["t"]
        if kind == "flood":
            count += 1
            if msg["seq"] == msg["total"] - 1:
                router.send_multipart([ident, msgpack.packb({"t": "done", "count": count})])
                count = 0
        elif kind == "ping":
            router.send_multipart([ident, msgpack.packb(
                {"t": "pong", "seq": msg["seq"], "payload": msg["payload"]})])
        else:
            break
    ctx.destroy(linger=0)


def start_child(mode: str, trace: str = "") -> tuple[subprocess.Popen[bytes], int]:
    port_file = f"/tmp/meseta-bench-{os.getpid()}-{mode}"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p),
               MESETA_BENCH_TRACE=trace)
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.transport", mode, port_file],
                            stdin=subprocess.PIPE, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with open(port_file) as f:
                text = f.read()
            if text:
                os.unlink(port_file)
                return proc, int(text)
        except FileNotFoundError:
            pass
        time.sleep(0.02)
    proc.kill()
    raise RuntimeError(f"{mode} child did not start")


# --- the raw side in the parent -------------------------------------------------------


def raw_flood(dealer: zmq.Socket[bytes], total: int) -> tuple[float, int]:
    start = time.perf_counter()
    for seq in range(total):
        dealer.send(msgpack.packb({"t": "flood", "seq": seq, "total": total, "payload": PAYLOAD}))
    reply = msgpack.unpackb(dealer.recv())
    return time.perf_counter() - start, int(reply["count"])


def raw_ping(dealer: zmq.Socket[bytes], count: int) -> list[float]:
    rtts = []
    for seq in range(count):
        start = time.perf_counter()
        dealer.send(msgpack.packb({"t": "ping", "seq": seq, "payload": PAYLOAD}))
        msgpack.unpackb(dealer.recv())
        rtts.append(time.perf_counter() - start)
    return rtts


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench transport", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=50_000, help="one-way messages per round")
    parser.add_argument("--pings", type=int, default=2_000, help="round trips per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--trace", nargs="?", const="log", choices=("log", "ring"),
                        help="also measure actor nodes with tracing on, side by side "
                             "(log: events recorded and logged; ring: only recorded)")
    parser.add_argument("--cpu_affinity", default="auto",
                        help="placement of the actor nodes' threads: auto, none or a CPU")
    args = parser.parse_args(argv)
    os.environ["MESETA_CPU_AFFINITY"] = args.cpu_affinity  # the actor child inherits it

    configure("info", "json", stream=open(os.devnull, "w"))
    actor_child, actor_port = start_child("serve-actor")
    raw_child, raw_port = start_child("serve-raw")
    node = Node("127.0.0.1", 0).start()
    driver = node.spawn(Driver, PID("sink", "127.0.0.1", actor_port)).proxy()
    children = [actor_child, raw_child]
    traced_node: Node | None = None
    if args.trace:
        traced_child, traced_port = start_child("serve-actor-traced", args.trace)
        children.append(traced_child)
        mode: bool | str = True if args.trace == "log" else "ring"
        traced_node = Node("127.0.0.1", 0, trace=mode).start()
        traced = traced_node.spawn(Driver, PID("sink", "127.0.0.1", traced_port)).proxy()
    ctx = zmq.Context()
    dealer = ctx.socket(zmq.DEALER)
    dealer.connect(f"tcp://127.0.0.1:{raw_port}")
    results: dict[str, list[float]] = {k: [] for k in (
        "actor_tput", "raw_tput", "actor_p50", "actor_p99", "raw_p50", "raw_p99")}
    if args.trace:
        results.update({k: [] for k in ("traced_tput", "traced_p50", "traced_p99")})
    lost = 0
    try:
        raw_ping(dealer, 200)  # warm up both paths
        settle = time.monotonic() + 3.0
        while time.monotonic() < settle:
            warm: Future[tuple[float, int]] = Future()
            driver.ping(500, warm).get()
            warm.result(60)
            if args.trace:
                warm = Future()
                traced.ping(500, warm).get()
                warm.result(60)
        for rnd in range(args.rounds):
            elapsed, got = raw_flood(dealer, args.messages)
            results["raw_tput"].append(got / elapsed)
            done: Future[tuple[float, int]] = Future()
            driver.flood(args.messages, done)
            elapsed, got = done.result(120)
            lost += args.messages - got
            results["actor_tput"].append(got / elapsed)
            rtts = raw_ping(dealer, args.pings)
            results["raw_p50"].append(percentile(rtts, 0.5) * 1e6)
            results["raw_p99"].append(percentile(rtts, 0.99) * 1e6)
            pinged: Future[tuple[float, int]] = Future()
            driver.ping(args.pings, pinged).get()
            pinged.result(120)
            actor_rtts = driver.rtts.get()
            results["actor_p50"].append(percentile(actor_rtts, 0.5) * 1e6)
            results["actor_p99"].append(percentile(actor_rtts, 0.99) * 1e6)
            if args.trace:
                done = Future()
                traced.flood(args.messages, done)
                elapsed, got = done.result(120)
                lost += args.messages - got
                results["traced_tput"].append(got / elapsed)
                pinged = Future()
                traced.ping(args.pings, pinged).get()
                pinged.result(120)
                traced_rtts = traced.rtts.get()
                results["traced_p50"].append(percentile(traced_rtts, 0.5) * 1e6)
                results["traced_p99"].append(percentile(traced_rtts, 0.99) * 1e6)
            print(f"round {rnd + 1}: " + ", ".join(
                f"{k}={v[-1]:.0f}" for k, v in results.items()), file=sys.stderr, flush=True)
        placement = node.placement.describe()
    finally:
        dealer.send(msgpack.packb({"t": "stop"}))
        ctx.destroy(linger=200)
        node.stop()
        if traced_node is not None:
            traced_node.stop()
        for child in children:
            assert child.stdin is not None
            child.stdin.close()
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()

    med = {k: statistics.median(v) for k, v in results.items()}
    out: dict[str, Any] = {
        "actor_msgs_per_s": round(med["actor_tput"]),
        "raw_msgs_per_s": round(med["raw_tput"]),
        "throughput_ratio": round(med["actor_tput"] / med["raw_tput"], 3),
        "actor_rtt_p50_us": round(med["actor_p50"]),
        "raw_rtt_p50_us": round(med["raw_p50"]),
        "rtt_ratio": round(med["actor_p50"] / med["raw_p50"], 3),
        "actor_rtt_p99_us": round(med["actor_p99"]),
        "raw_rtt_p99_us": round(med["raw_p99"]),
        "messages_per_round": args.messages,
        "pings_per_round": args.pings,
        "rounds": args.rounds,
        "actor_messages_lost": lost,
        "cpu_affinity": args.cpu_affinity,
        "driver_cpu": placement["cpu"],
    }
    if args.trace:
        out.update({
            "throughput_traced": round(med["traced_tput"]),
            "actor_rtt_p50_us_traced": round(med["traced_p50"]),
            "actor_rtt_p99_us_traced": round(med["traced_p99"]),
            "trace_mode": args.trace,
            "trace_overhead_ratio": round(med["traced_p50"] / med["actor_p50"], 3),
            "trace_throughput_ratio": round(med["traced_tput"] / med["actor_tput"], 3),
        })
    print(json.dumps(out))
    return 0


if __name__ == "__main__":  # a child: python -m benchmarks.transport serve-actor|serve-raw FILE
    if sys.argv[1] in ("serve-actor", "serve-actor-traced"):
        traced = sys.argv[1] == "serve-actor-traced"
        serve_actor(sys.argv[2], trace=("ring" if os.environ.get("MESETA_BENCH_TRACE") == "ring"
                                        else True) if traced else False)
    else:
        serve_raw(sys.argv[2])
