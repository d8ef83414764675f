"""``scripts/hostile``: a hostile-input campaign against a live master and agent.

Starts ``meseta-master`` and ``meseta-agent`` as OS processes on 127.0.0.1 and a
well-behaved framework in this process (``frameworks.hostile.workload.Steady``: short
command tasks on that agent, continuously), waits until it has finished a few tasks,
reads both nodes' RSS, then fires ``--frames`` hostile ZeroMQ frames from raw PUSH
sockets at both nodes' ports (the attacks of ``frameworks.hostile.wire``, drawn by
weight) with raw HTTP garbage in between (``frameworks.hostile.http_garbage``, about one
request per 50 frames, and up to 16 half-sent requests held open per node). Then it
waits until both nodes have drained their inboxes (polling ``/__processes__``), checks
that they live and answer (``/master/health``, the agent's ``/health``, the agent
still registered and active at the master, the framework finishing new tasks), reads
the RSS again and prints one JSON object as the last line:

``frames_sent``, ``http_requests_sent``, ``crashes`` (node processes that died),
``rss_before_mb`` / ``rss_after_mb`` (the larger node's), ``master`` / ``agent`` (each:
``alive``, ``answers``, RSS before/after, ``log_bytes``, the ``dropped/*`` counters),
``framework_failures`` (tasks not TASK_FINISHED, errors, disconnections, its agent
lost), ``valid_tasks_finished``, ``attacks`` (shots per attack), ``http_statuses``,
``http_internal_errors`` (answers 500: a handler raised on garbage instead of a 4xx),
``hostile_scheduler`` (what the master answered the hostile framework: TASK_ERRORs...),
``memory_bound_mb``, ``duration_s`` and ``ok``.

Exit status 0 when no node died, the framework saw no failure, no HTTP answer was a
500 and each node's RSS after the campaign is within ``--memory_bound_mb`` (64) of its
RSS before; else 1.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from typing import Any

import psutil
import zmq

from actors.messages import FrameworkInfo
from frameworks.hostile.http_garbage import HTTP_ATTACKS, Slowloris, send_raw
from frameworks.hostile.wire import ATTACKS, HostileScheduler, Target, Wire, free_ports
from frameworks.hostile.workload import Steady
from frameworks.scheduler_driver import SchedulerDriver
from transport.logs import configure

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from local_cluster import Cluster

HTTP_EVERY = 50
"""One HTTP garbage request per this many frames."""
SLOW = "slowloris"
ALL_ATTACKS = (*ATTACKS, *HTTP_ATTACKS, SLOW)


def log(text: str, quiet: bool) -> None:
    if not quiet:
        print(f"hostile: {text}", file=sys.stderr, flush=True)


def get_json(url: str, timeout: float = 10.0) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (OSError, ValueError):
        return 0, None


def wait_for(what: str, check: Any, timeout: float, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SystemExit(f"hostile: {what} did not happen within {timeout:.0f}s")
        time.sleep(interval)


class Node:
    """A started node: its process, ZeroMQ target and HTTP base."""

    def __init__(self, role: str, ready: str, proc: Any, log_path: str) -> None:
        _, pid, http = ready.split()
        self.role, self.http, self.proc, self.log_path = role, http, proc, log_path
        self.target = Target(role, pid.split("@")[0], pid.split("@")[1])
        self.psutil = psutil.Process(proc.pid)

    def alive(self) -> bool:
        return bool(self.proc.poll() is None)

    def rss_mb(self) -> float:
        try:
            return round(self.psutil.memory_info().rss / 2**20, 1)
        except psutil.Error:
            return 0.0

    def processes(self) -> dict[str, Any] | None:
        status, data = get_json(self.http + "/__processes__")
        return data if status == 200 else None

    def health(self) -> bool:
        path = "/master/health" if self.role == "master" else "/health"
        return get_json(self.http + path)[0] == 200


def start_cluster(work_dir: str, cluster: Cluster) -> tuple[Node, Node]:
    bin_dir = os.path.dirname(sys.executable)
    nodes: list[Node] = []
    for role, argv in (
        ("master", [os.path.join(bin_dir, "meseta-master"), "--ip=127.0.0.1", "--port=0",
                    "--http_port=0", "--allocation_interval=200ms",
                    f"--work_dir={work_dir}/master"]),
        ("agent", [os.path.join(bin_dir, "meseta-agent"), "--ip=127.0.0.1", "--port=0",
                   "--http_port=0", "--resources=cpus:2;mem:2048;disk:1024;ports:[31000-31099]",
                   f"--work_dir={work_dir}/agent"]),
    ):
        if role == "agent":
            argv.append(f"--master={nodes[0].target.address}")
        ready = cluster.start(role, argv, f"meseta-{role}:")
        nodes.append(Node(role, ready, cluster.procs[-1][1], f"{work_dir}/{role}.log"))
    return nodes[0], nodes[1]


def drained(nodes: list[Node], last: dict[str, int]) -> bool:
    """Every inbox empty, and no hostile envelope dropped since the previous poll (the
    framework's traffic goes on: ``received`` never stops growing)."""
    quiet = True
    for node in nodes:
        data = node.processes()
        if data is None:
            return False
        dropped = sum(v for k, v in data["stats"].items() if k.startswith("dropped/"))
        if any(p["inbox"] for p in data["processes"]) or last.get(node.role) != dropped:
            quiet = False
        last[node.role] = dropped
    return quiet


def agent_active(master: Node, agent_id: str) -> bool:
    status, state = get_json(master.http + "/master/state")
    if status != 200:
        return False
    return any(a["id"] == agent_id and a.get("active") for a in state.get("agents", []))


def master_books(master: Node) -> dict[str, Any]:
    """How many agents, frameworks and offers the master holds (and who holds offers)."""
    status, state = get_json(master.http + "/master/state")
    if status != 200:
        return {}
    frameworks = state.get("frameworks", [])
    holders = {f["name"][:40]: len(f.get("offers", [])) for f in frameworks if f.get("offers")}
    return {"agents": len(state.get("agents", [])),
            "frameworks": len(frameworks),
            "completed_frameworks": len(state.get("completed_frameworks", [])),
            "offers_held_by": dict(sorted(holders.items())[:10])}


def pick(rng: random.Random, names: list[str], weight: dict[str, float]) -> str:
    return rng.choices(names, [weight[n] for n in names])[0]


def campaign(args: argparse.Namespace) -> dict[str, Any]:
    quiet = args.json
    chosen = [a.strip() for a in args.attacks.split(",")] if args.attacks else list(ALL_ATTACKS)
    unknown = [a for a in chosen if a not in ALL_ATTACKS]
    if unknown:
        raise SystemExit(f"hostile: unknown attack(s) {', '.join(unknown)}; "
                         f"known: {', '.join(ALL_ATTACKS)}")
    wire_names = [a for a in chosen if a in ATTACKS]
    http_names = [a for a in chosen if a in HTTP_ATTACKS]
    rng = random.Random(args.seed)
    work_dir = tempfile.mkdtemp(prefix="meseta-hostile-")
    cluster = Cluster(work_dir)
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    started = time.monotonic()
    report: dict[str, Any] = {}
    driver: SchedulerDriver | None = None
    slow = Slowloris()
    try:
        master, agent = start_cluster(work_dir, cluster)
        nodes = [master, agent]
        agent_id = wait_for("agent registration",
                            lambda: (get_json(agent.http + "/state")[1] or {}).get("id"), 60)
        steady = Steady(agent_id)
        driver = SchedulerDriver.create(steady, FrameworkInfo(user="", name="steady"),
                                        master.target.address)
        driver.start()
        wait_for("warm-up tasks", lambda: steady.finished_count() >= 10, 120)
        rss_before = {n.role: n.rss_mb() for n in nodes}
        log(f"warm: {steady.finished_count()} tasks finished; RSS {rss_before}", quiet)

        tarpit = [zmq_tarpit(ctx) for _ in range(2)]
        wire = Wire(rng, free_ports(64), [port for port, _ in tarpit])
        pushes = {n.role: push_socket(ctx, n.target.address) for n in nodes}
        sched = wire.scheduler = HostileScheduler(ctx, master.target)
        sched.register(pushes["master"])
        shots: Counter[str] = Counter()
        statuses: Counter[str] = Counter()
        frames_sent = http_sent = send_timeouts = 0
        weights = {a.name: a.weight for a in ATTACKS.values()}
        last_report = time.monotonic()
        while frames_sent < args.frames and wire_names:
            name = pick(rng, wire_names, weights)
            spec = ATTACKS[name]
            role = rng.choice(spec.roles)
            node = next(n for n in nodes if n.role == role)
            # a many-frame attack is cut at the budget, so exactly --frames go out
            frames = spec.make(wire, node.target)[:args.frames - frames_sent]
            if not frames:
                continue
            shots[name] += 1
            for frame in frames:
                try:
                    pushes[node.role].send(frame)
                except zmq.Again:
                    send_timeouts += 1
                frames_sent += 1
            if frames_sent // HTTP_EVERY > http_sent and (http_names or SLOW in chosen):
                http_sent += 1
                http_node = rng.choice(nodes)
                host, port = http_node.http.removeprefix("http://").split(":")
                if SLOW in chosen and rng.random() < 0.05:
                    if slow.open((host, int(port)), rng):
                        shots[SLOW] += 1
                if http_names:
                    kind = pick(rng, http_names, {a.name: a.weight for a in HTTP_ATTACKS.values()})
                    shots[kind] += 1
                    statuses[send_raw((host, int(port)), HTTP_ATTACKS[kind].make(
                        rng, f"{host}:{port}"))] += 1
                sched.poll()
            if time.monotonic() - last_report > 10:
                last_report = time.monotonic()
                log(f"{frames_sent} frames, {http_sent} HTTP requests; alive: "
                    f"{[n.alive() for n in nodes]}; tasks finished {steady.finished_count()}",
                    quiet)
                if not all(n.alive() for n in nodes):
                    break
        sched.poll()
        sched.unregister(pushes["master"])
        sent_at = time.monotonic()
        log(f"sent {frames_sent} frames in {sent_at - started:.0f}s; waiting for the nodes "
            "to drain", quiet)
        last: dict[str, int] = {}
        settle_deadline = time.monotonic() + args.settle_timeout
        while time.monotonic() < settle_deadline and all(n.alive() for n in nodes):
            sched.poll()
            if drained(nodes, last):
                break
            time.sleep(0.5)
        slow.close()
        sched.poll()
        alive = {n.role: n.alive() for n in nodes}
        answers = {n.role: n.health() for n in nodes}
        still_registered = agent_active(master, agent_id) if alive["master"] else False
        before_after = steady.finished_count()
        served = all(alive.values()) and bool(wait_for_quietly(
            lambda: steady.finished_count() >= before_after + 5, 60))
        rss_after = {n.role: n.rss_mb() for n in nodes}
        books = master_books(master)
        if not steady.drain(60):
            steady.failures.append(f"tasks still in flight after 60s: {sorted(steady.in_flight)}")
        failures = list(steady.failures)
        if not still_registered:
            failures.append("the agent is no longer registered and active at the master")
        if not served:
            failures.append("the framework finished no new task after the campaign")
        detail = {}
        for n in nodes:
            data = n.processes() or {"stats": {}}
            detail[n.role] = {
                "alive": alive[n.role], "answers": answers[n.role],
                "rss_before_mb": rss_before[n.role], "rss_after_mb": rss_after[n.role],
                "log_bytes": os.path.getsize(n.log_path) if os.path.exists(n.log_path) else 0,
                "dropped": {k: v for k, v in sorted(data["stats"].items())
                            if k.startswith("dropped/")},
                "io_errors": data["stats"].get("io_errors", 0),
                "received": data["stats"].get("received", 0),
            }
        crashes = sum(1 for a in alive.values() if not a)
        bounded = all(rss_after[r] <= rss_before[r] + args.memory_bound_mb for r in rss_after)
        report = {
            "frames_sent": frames_sent,
            "http_requests_sent": http_sent,
            "crashes": crashes,
            "rss_before_mb": max(rss_before.values()),
            "rss_after_mb": max(rss_after.values()),
            "memory_bound_mb": args.memory_bound_mb,
            "memory_bounded": bounded,
            "framework_failures": len(failures),
            "framework_failure_detail": failures[:10],
            "valid_tasks_finished": steady.finished_count(),
            "agent_still_registered": still_registered,
            "master_books": books,
            "master": detail["master"],
            "agent": detail["agent"],
            "attacks": dict(sorted(shots.items())),
            "http_statuses": dict(sorted(statuses.items())),
            "http_internal_errors": statuses.get("500", 0),
            "send_timeouts": send_timeouts,
            "hostile_scheduler": dict(sorted(sched.heard.items())),
            "seed": args.seed,
            "send_s": round(sent_at - started, 1),
            "duration_s": 0.0,
        }
        report["ok"] = (crashes == 0 and not failures and bounded
                        and not report["http_internal_errors"])
        for sock in pushes.values():
            sock.close(0)
        sched.close()
        for _, listener in tarpit:
            listener.close()
    finally:
        slow.close()
        if driver is not None:
            driver.stop()
            driver.close()
        cluster.stop()
        ctx.destroy(linger=0)
        if args.keep:
            log(f"logs kept in {work_dir}", quiet)
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    report["duration_s"] = round(time.monotonic() - started, 1)
    return report


def wait_for_quietly(check: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def push_socket(ctx: zmq.Context[zmq.Socket[bytes]], address: str) -> zmq.Socket[bytes]:
    sock = ctx.socket(zmq.PUSH)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDTIMEO, 30_000)
    sock.connect(f"tcp://{address}")
    return sock


def zmq_tarpit(ctx: zmq.Context[zmq.Socket[bytes]]) -> tuple[int, Any]:
    """A TCP port that accepts connections and never reads (nor speaks ZMTP)."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    return listener.getsockname()[1], listener


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/hostile", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=100_000, help="hostile ZeroMQ frames")
    parser.add_argument("--seed", type=int, default=20_261_201)
    parser.add_argument("--attacks", default="",
                        help=f"comma-separated subset of: {', '.join(ALL_ATTACKS)}")
    parser.add_argument("--keep", action="store_true", help="keep the work dir and logs")
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    parser.add_argument("--memory_bound_mb", type=float, default=64.0,
                        help="allowed RSS growth per node (MB)")
    parser.add_argument("--settle_timeout", type=float, default=300.0,
                        help="seconds to wait for the nodes to drain their inboxes")
    args = parser.parse_args(argv)
    if args.frames < 0:
        parser.error("--frames must be >= 0")
    configure("error" if args.json else "warning")
    report = campaign(args)
    print(json.dumps(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
