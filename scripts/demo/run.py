"""One run of the demo: a local cluster of nine agents, the three frameworks, a sampler.

``run_mode(workload, static=...)`` starts ``meseta-master`` and the agents as OS processes
on 127.0.0.1 (free ports; each agent's ``--resources`` reserved for its role when
``static``), waits until every agent is active, starts the three frameworks
(time 0), polls the master's ``/master/frameworks`` every ``interval`` seconds for the
cpus each framework holds, and returns the ``Timeline`` once the finite frameworks
(batch, analytics) have exited. Each framework starts at its ``Workload.delays()``.
Logs go to ``<work_dir>/<mode>/<process>.log``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Any

from local_cluster import Cluster

from demo.timeline import Timeline, sample_from_frameworks
from demo.workload import Workload

__all__ = ["DemoError", "run_mode"]

FINITE = ("batch", "analytics")


class DemoError(RuntimeError):
    """A run could not complete (a process failed or the work did not finish in time)."""


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def _wait_agents(http: str, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if _get(f"{http}/metrics/snapshot").get("master/agents_active", 0) >= n:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise DemoError(f"fewer than {n} agents registered within {timeout:.0f}s")


class Sampler(threading.Thread):
    def __init__(self, http: str, timeline: Timeline, t0: float, total: float,
                 interval: float) -> None:
        super().__init__(name="demo-sampler", daemon=True)
        self.http, self.timeline, self.t0, self.total = http, timeline, t0, total
        self.interval = interval
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            now = time.monotonic() - self.t0
            try:
                data = _get(f"{self.http}/master/frameworks")
            except OSError:
                data = None
            if data is not None:
                self.timeline.samples.append(sample_from_frameworks(
                    now, self.total, data.get("frameworks", [])))
            self.done.wait(self.interval)


def run_mode(workload: Workload, static: bool, work_dir: str, interval: float = 0.25,
             timeout: float = 900.0, echo: bool = True) -> Timeline:
    mode = "static" if static else "shared"
    here = os.path.join(work_dir, mode)
    os.makedirs(here, exist_ok=True)
    bin_dir = os.path.dirname(sys.executable)
    ports = free_ports(2 + 2 * workload.agents + 2)
    master_port, master_http = ports[0], ports[1]
    agent_ports = ports[2:2 + 2 * workload.agents]
    fw_http = (ports[-2], ports[-1])
    master = f"127.0.0.1:{master_port}"
    http = f"http://127.0.0.1:{master_http}"
    cluster = Cluster(here)
    timeline = Timeline(mode)
    frameworks: dict[str, subprocess.Popen[bytes]] = {}
    sampler: Sampler | None = None
    try:
        cluster.start("master", [
            os.path.join(bin_dir, "meseta-master"), "--ip=127.0.0.1", f"--port={master_port}",
            f"--http_port={master_http}", f"--work_dir={os.path.join(here, 'master')}"],
            "meseta-master:")
        for i in range(workload.agents):
            cluster.start(f"agent{i + 1}", [
                os.path.join(bin_dir, "meseta-agent"), "--ip=127.0.0.1",
                f"--port={agent_ports[2 * i]}", f"--http_port={agent_ports[2 * i + 1]}",
                f"--master={master}", f"--work_dir={os.path.join(here, f'agent{i + 1}')}",
                f"--resources={workload.agent_resources(i, static)}"], "meseta-agent:")
        _wait_agents(http, workload.agents, 60.0)
        if echo:
            print(f"utilization: {mode}: {workload.agents} agents up; starting the frameworks",
                  flush=True)
        t0 = time.monotonic()
        sampler = Sampler(http, timeline, t0, workload.total_cpus, interval)
        sampler.start()
        commands = workload.commands(master, here, fw_http)
        for name, delay in sorted(workload.delays().items(), key=lambda kv: kv[1]):
            time.sleep(max(0.0, t0 + delay - time.monotonic()))
            log = open(os.path.join(here, f"{name}.log"), "wb")
            frameworks[name] = subprocess.Popen(commands[name], stdout=log,
                                                stderr=subprocess.STDOUT,
                                                start_new_session=True)
        deadline = t0 + timeout
        pending = set(FINITE)
        while pending:
            for name in sorted(pending):
                code = frameworks[name].poll()
                if code is None:
                    continue
                pending.discard(name)
                timeline.finished[name] = time.monotonic() - t0
                if code != 0:
                    raise DemoError(f"{mode}: the {name} framework exited {code}; "
                                    f"see {os.path.join(here, name + '.log')}")
                if echo:
                    print(f"utilization: {mode}: {name} done after "
                          f"{timeline.finished[name]:.1f}s", flush=True)
            if frameworks["service"].poll() is not None:
                raise DemoError(f"{mode}: the service framework exited; see "
                                f"{os.path.join(here, 'service.log')}")
            if time.monotonic() > deadline:
                raise DemoError(f"{mode}: the work did not finish within {timeout:.0f}s")
            time.sleep(0.1)
        timeline.makespan_s = max(timeline.finished.values())
    finally:
        # a second Ctrl-C must not leave the cluster behind half stopped
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        if sampler is not None:
            sampler.done.set()
            sampler.join(5)
        for proc in frameworks.values():
            if proc.poll() is None:
                os.killpg(proc.pid, 15)
        for proc in frameworks.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
        cluster.stop()
        signal.signal(signal.SIGINT, previous)
    return timeline
