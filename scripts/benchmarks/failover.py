"""``scripts/bench failover``: how long a cluster takes to follow a new leading master.

Starts a real ZooKeeper (``tests.zk_helpers.ZooKeeperServer``: Debian's, on 127.0.0.1),
two ``meseta-master --zk --registry=zk`` processes, ``--agents`` agents emulated in
``--agent_processes`` OS processes and ``--frameworks`` real ``SchedulerDriver``s, five
per process (``benchmarks.emulated_agents``); each framework runs one task on some
agent. Each run SIGKILLs the leading master and measures, with the wall clock, from the
kill to the last re-registration with the new leader that an agent or a driver observes
(``AgentReregistered`` / the ``reregistered`` callback). Then it checks every task at the
new leader (``/master/tasks``): a task the framework heard as lost, or that the new
leader does not show as TASK_RUNNING, counts in ``tasks_lost``. A new master replaces
the killed one before the next run, so two always contend.

Agents wait a random [0, ``--registration_backoff_factor``] after a leader change before
re-registering (default: the agent's default, 0.5 s; Mesos' is 1 s), drivers re-register
at once (as Mesos' do), and both retry with doubling backoff when an answer does not come. The
ZooKeeper server ticks every ``--zk_tick_ms`` (sessions expire on its ticks).
Prints progress on stderr and one JSON line last: ``agents``, ``frameworks``,
``zk_session_timeout_s``, ``mttr_s_median``, ``mttr_s_runs``, ``agents_reregistered``,
``frameworks_reregistered`` (the fewest of any run: all of them when every one made it),
``tasks_lost`` (summed over runs), and the parts:
``elected_s_runs`` (kill -> the standby answers ``/master/health`` 200),
``agents_s_runs`` and ``frameworks_s_runs`` (kill -> the last of each).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
from actors.agent.config import DEFAULT_REGISTRATION_BACKOFF_FACTOR  # noqa: E402
from tests.zk_helpers import ZooKeeperServer  # noqa: E402

EMULATOR = os.path.join(ROOT, "scripts", "benchmarks", "emulated_agents.py")
FRAMEWORKS_PER_PROCESS = 5
LOST = {"TASK_LOST", "TASK_UNREACHABLE", "TASK_GONE", "TASK_DROPPED", "TASK_UNKNOWN",
        "TASK_FAILED", "TASK_KILLED", "TASK_ERROR"}


def log(text: str) -> None:
    print(f"bench failover: {text}", file=sys.stderr, flush=True)


@dataclass
class Proc:
    name: str
    proc: subprocess.Popen[bytes]
    ready: str = ""

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def wait(self, timeout: float) -> None:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self.proc.wait()


@dataclass
class Events:
    """Every JSON line the emulators printed, in arrival order."""

    items: list[dict[str, Any]] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def add(self, event: dict[str, Any]) -> None:
        with self.cond:
            self.items.append(event)
            self.cond.notify_all()

    def wait(self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: predicate(self.items), timeout)

    def snapshot(self) -> list[dict[str, Any]]:
        with self.cond:
            return list(self.items)


class Bench:
    def __init__(self, work_dir: str, zk: str, session: float) -> None:
        self.work_dir, self.zk, self.session = work_dir, zk, session
        self.procs: list[Proc] = []
        self.masters: list[Proc] = []
        self.events = Events()
        self._seq = 0

    def _spawn(self, name: str, argv: list[str], ready: str,
               on_line: Callable[[bytes], None] | None = None) -> Proc:
        log_file = open(os.path.join(self.work_dir, f"{name}.log"), "wb")
        popen = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log_file,
                                 start_new_session=True, cwd=ROOT)
        proc = Proc(name, popen)
        self.procs.append(proc)
        assert popen.stdout is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = popen.stdout.readline()
            if not line:
                break
            if line.decode(errors="replace").startswith(ready):
                proc.ready = line.decode().strip()
                threading.Thread(target=_pump, args=(popen.stdout, on_line or log_file.write),
                                 daemon=True).start()
                return proc
        raise SystemExit(f"bench failover: {name} did not start; see {log_file.name}")

    def master(self) -> Proc:
        self._seq += 1
        name = f"master{self._seq}"
        proc = self._spawn(name, [
            os.path.join(os.path.dirname(sys.executable), "meseta-master"), "--ip=127.0.0.1",
            "--port=0", "--http_port=0", f"--work_dir={self.work_dir}/{name}",
            f"--zk={self.zk}", f"--zk_session_timeout={self.session}secs", "--registry=zk",
            "--log_level=warning"], "meseta-master:")
        self.masters.append(proc)
        return proc

    def emulators(self, role: str, counts: list[int], *extra: str,
                  common: tuple[str, ...] = ()) -> None:
        """``extra[i]`` goes to the i-th process, ``common`` to every one."""
        for i, count in enumerate(counts):
            self._spawn(f"{role}{i + 1}", [sys.executable, EMULATOR, role, f"--zk={self.zk}",
                                           f"--count={count}", *extra[i:i + 1], *common],
                        '{"e": "ready"', self._on_line)

    def _on_line(self, line: bytes) -> None:
        try:
            self.events.add(json.loads(line))
        except ValueError:
            pass

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.kill(signal.SIGTERM)
        for proc in reversed(self.procs):
            proc.wait(10)


def _pump(stream: IO[bytes], sink: Callable[[bytes], Any]) -> None:
    for line in iter(stream.readline, b""):
        sink(line)


def http_of(master: Proc) -> str:
    return master.ready.split()[2]


def pid_of(master: Proc) -> str:
    return master.ready.split()[1]


def get(url: str, timeout: float = 10) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            body = resp.read()
            return resp.status, json.loads(body) if body else None
    except urllib.error.HTTPError as exc:
        body = exc.read()
        return exc.code, json.loads(body) if body else None
    except OSError:
        return 0, None


def wait_until(predicate: Callable[[], Any], timeout: float, what: str,
               interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise SystemExit(f"bench failover: timed out waiting for {what}")


def split(total: int, parts: int) -> list[int]:
    parts = max(1, min(parts, total))
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def latest(events: list[dict[str, Any]], kinds: set[str], who: set[str] | None = None
           ) -> dict[str, dict[str, Any]]:
    """The last registration event of each emitter (optionally only among ``who``)."""
    out: dict[str, dict[str, Any]] = {}
    for event in events:
        if event["e"] in kinds and (who is None or event["who"] in who):
            out[event["who"]] = event
    return out


def run_once(bench: Bench, agents: set[str], frameworks: set[str], tasks: set[str],
             timeout: float) -> dict[str, Any]:
    leader = next(m for m in bench.masters if m.proc.poll() is None
                  and get(http_of(m) + "/master/health")[0] == 200)
    standby = next(m for m in bench.masters if m.proc.poll() is None and m is not leader)
    new_pid = pid_of(standby)
    kinds = {"registered", "reregistered"}

    def followed(who: set[str], after: float) -> dict[str, dict[str, Any]]:
        return {k: e for k, e in latest(bench.events.snapshot(), kinds, who).items()
                if e["master"] == new_pid and e["t"] > after}

    killed_at = time.time()
    leader.kill()
    leader.wait(10)
    wait_until(lambda: get(http_of(standby) + "/master/health", 2)[0] == 200,
               timeout, "the standby to lead", interval=0.01)
    elected = time.time() - killed_at
    bench.events.wait(lambda _: len(followed(agents | frameworks, killed_at))
                      == len(agents) + len(frameworks), timeout)
    back_agents = followed(agents, killed_at)
    back_frameworks = followed(frameworks, killed_at)
    everyone = list(back_agents.values()) + list(back_frameworks.values())
    mttr = max((e["t"] for e in everyone), default=math.inf) - killed_at

    heard_lost = {e["task"] for e in bench.events.snapshot()
                  if e["e"] == "status" and e["t"] > killed_at and e["state"] in LOST}

    def running() -> set[str]:
        status, body = get(f"{http_of(standby)}/master/tasks?limit=100000")
        if status != 200:
            return set()
        return {t["id"] for t in body["tasks"] if t["state"] == "TASK_RUNNING"}

    deadline = time.monotonic() + 10
    seen = running()
    while seen != tasks and time.monotonic() < deadline:
        time.sleep(0.2)
        seen = running()
    replacement = bench.master()
    wait_until(lambda: (get(http_of(replacement) + "/master/health")[1] or {}).get("leader")
               == new_pid, 60, "the new standby")
    return {"mttr": mttr, "elected": elected,
            "agents": max((e["t"] for e in back_agents.values()), default=math.inf)
            - killed_at,
            "frameworks": max((e["t"] for e in back_frameworks.values()), default=math.inf)
            - killed_at,
            "agents_back": len(back_agents), "frameworks_back": len(back_frameworks),
            "lost": len((tasks - seen) | (heard_lost & tasks))}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench failover", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--frameworks", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--zk_session_timeout", type=float, default=2.0,
                        help="the masters' ZooKeeper session timeout, seconds (default 2)")
    parser.add_argument("--agent_processes", type=int, default=4)
    parser.add_argument("--zk_tick_ms", type=int, default=100,
                        help="the ZooKeeper server's tickTime (sessions expire on its ticks)")
    parser.add_argument("--registration_backoff_factor", type=float,
                        default=DEFAULT_REGISTRATION_BACKOFF_FACTOR,
                        help="the agents' re-registration spread, seconds (default "
                             f"{DEFAULT_REGISTRATION_BACKOFF_FACTOR:g}; Mesos: 1)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per wait")
    args = parser.parse_args(argv)
    if args.agents < 1 or args.frameworks < 0 or args.runs < 1:
        parser.error("--agents and --runs must be at least 1")

    work_dir = tempfile.mkdtemp(prefix="meseta-bench-failover-")
    zk_server = ZooKeeperServer(tick_ms=args.zk_tick_ms)
    zk_address = zk_server.start()
    zk = f"zk://{zk_address}/meseta-bench"
    bench = Bench(work_dir, zk, args.zk_session_timeout)
    runs: list[dict[str, Any]] = []
    try:
        log(f"ZooKeeper at {zk_address}; logs in {work_dir}")
        bench.master()
        wait_until(lambda: get(http_of(bench.masters[0]) + "/master/health")[0] == 200, 60,
                   "the first master to lead")
        bench.master()
        started = time.monotonic()
        bench.emulators("agents", split(args.agents, args.agent_processes), common=(
            f"--registration_backoff_factor={args.registration_backoff_factor}",))
        bench.events.wait(lambda ev: len(latest(ev, {"registered"})) >= args.agents,
                          args.timeout)
        agents = set(latest(bench.events.snapshot(), {"registered"}))
        log(f"{len(agents)} agents registered in {time.monotonic() - started:.1f} s")
        counts = split(args.frameworks, math.ceil(args.frameworks / FRAMEWORKS_PER_PROCESS))
        if args.frameworks:
            bench.emulators("frameworks", counts,
                            *[f"--prefix=bench-fw{i}-" for i in range(len(counts))])
        bench.events.wait(lambda ev: sum(1 for e in ev if e["e"] == "status"
                                         and e["state"] == "TASK_RUNNING") >= args.frameworks,
                          args.timeout)
        events = bench.events.snapshot()
        frameworks = set(latest(events, {"registered"})) - agents
        tasks = {e["task"] for e in events if e["e"] == "status"
                 and e["state"] == "TASK_RUNNING"}
        log(f"{len(frameworks)} frameworks registered, {len(tasks)} tasks running")
        for run in range(args.runs):
            result = run_once(bench, agents, frameworks, tasks, args.timeout)
            runs.append(result)
            log(f"run {run + 1}: everyone back in {result['mttr']:.2f} s (elected "
                f"{result['elected']:.2f} s, agents {result['agents']:.2f} s, frameworks "
                f"{result['frameworks']:.2f} s); {result['agents_back']}/{len(agents)} "
                f"agents, {result['frameworks_back']}/{len(frameworks)} frameworks, "
                f"{result['lost']} tasks lost")
    finally:
        bench.stop()
        zk_server.stop()

    def rounded(key: str) -> list[float]:
        return [round(r[key], 3) for r in runs]

    print(json.dumps({
        "agents": args.agents,
        "frameworks": args.frameworks,
        "zk_session_timeout_s": args.zk_session_timeout,
        "zk_tick_ms": args.zk_tick_ms,
        "registration_backoff_factor_s": args.registration_backoff_factor,
        "mttr_s_median": round(statistics.median(r["mttr"] for r in runs), 3),
        "mttr_s_runs": rounded("mttr"),
        "agents_reregistered": min(r["agents_back"] for r in runs),
        "frameworks_reregistered": min(r["frameworks_back"] for r in runs),
        "tasks_lost": sum(r["lost"] for r in runs),
        "runs": args.runs,
        "elected_s_runs": rounded("elected"),
        "agents_s_runs": rounded("agents"),
        "frameworks_s_runs": rounded("frameworks"),
        "agent_processes": min(args.agent_processes, args.agents),
    }))
    return 0
