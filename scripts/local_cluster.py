"""The local cluster: a master and several agents as OS processes on 127.0.0.1, plus a framework.

Run through ``./scripts/cluster`` (which bootstraps ``.venv``). It starts
``meseta-master`` and ``--agents`` ``meseta-agent`` processes (each with its own port,
work directory and ``--resources``), waits until each prints its ready line, then runs
an example framework (``--framework``, default the ``sleepy`` example: ``--tasks``
command tasks) in the foreground so its progress shows, and stops everything (SIGTERM,
then SIGKILL after a grace period) when the framework is done or on Ctrl-C. With
``--keep`` the cluster stays up after the framework finishes until Ctrl-C. Logs of the
master and agents go to ``<work_dir>/<name>.log``. With ``--curve`` every process talks
CurveZMQ, with key pairs made in ``<work_dir>/keys`` (``transport.curve.cluster_keys``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import IO

from transport.curve import cluster_keys

FRAMEWORKS = {
    "sleepy": "frameworks.examples.sleepy",
    "hello": "frameworks.examples.hello_scheduler",
}


def _drain(stream: IO[bytes], log: IO[bytes]) -> None:
    for line in iter(stream.readline, b""):
        log.write(line)
        log.flush()


@dataclass
class Cluster:
    work_dir: str
    procs: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, argv: list[str], ready: str, timeout: float = 60.0) -> str:
        """Start ``argv`` and return its ready line (the first stdout line starting ``ready``)."""
        log = open(os.path.join(self.work_dir, f"{name}.log"), "wb")
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log,
                                start_new_session=True)
        self.procs.append((name, proc))
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = proc.stdout.readline().decode(errors="replace")
            if not line:
                break
            if line.startswith(ready):
                # keep draining stdout into the log, so a chatty process never blocks on it
                threading.Thread(target=_drain, args=(proc.stdout, log), daemon=True).start()
                return line.strip()
        raise SystemExit(f"cluster: {name} did not start; see {log.name}")

    def stop(self, grace: float = 10.0) -> None:
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for name, proc in reversed(self.procs):
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"cluster: {name} did not stop in {grace:.0f}s; killing it", file=sys.stderr)
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/cluster", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=3, help="agents to start (default 3)")
    parser.add_argument("--port", type=int, default=5050, help="master port (agents: +1, +2…)")
    parser.add_argument("--agent_resources",
                        default="cpus:1;mem:1024;disk:2048;ports:[31000-31999]",
                        help="--resources of each agent")
    parser.add_argument("--framework", choices=sorted(FRAMEWORKS), default="sleepy")
    parser.add_argument("--tasks", type=int, default=24, help="tasks the framework runs")
    parser.add_argument("--work_dir", default=None, help="default: a new temporary directory")
    parser.add_argument("--keep", action="store_true", help="keep the cluster up until Ctrl-C")
    parser.add_argument("--trace", action="store_true", help="trace every message (MESETA_TRACE)")
    parser.add_argument("--curve", action="store_true",
                        help="CurveZMQ everywhere: key pairs made in <work_dir>/keys")
    args = parser.parse_args(argv)
    if args.agents < 1 or args.tasks < 0:
        parser.error("--agents must be at least 1 and --tasks not negative")
    work_dir = args.work_dir or tempfile.mkdtemp(prefix="meseta-cluster-")
    os.makedirs(work_dir, exist_ok=True)
    bin_dir = os.path.dirname(sys.executable)
    env_trace = ["--trace"] if args.trace else []
    agents = [f"agent{i}" for i in range(1, args.agents + 1)]
    keys = cluster_keys(os.path.join(work_dir, "keys"), [*agents, args.framework]) \
        if args.curve else {}
    curve = {name: ["--curve", f"--curve_keys={keys[name]}"] for name in keys}
    framework_env = dict(os.environ)
    if args.curve:
        framework_env.update(MESETA_CURVE="1", MESETA_CURVE_KEYS=str(keys[args.framework]))
    cluster = Cluster(work_dir)
    # Ctrl-C and SIGTERM both stop the cluster (SIGINT may arrive ignored from a shell job)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        master_line = cluster.start("master", [
            os.path.join(bin_dir, "meseta-master"), "--ip=127.0.0.1", f"--port={args.port}",
            f"--work_dir={os.path.join(work_dir, 'master')}", *env_trace,
            *curve.get("master", [])], "meseta-master:")
        print(master_line, flush=True)
        master = f"127.0.0.1:{args.port}"
        for i in range(1, args.agents + 1):
            line = cluster.start(f"agent{i}", [
                os.path.join(bin_dir, "meseta-agent"), "--ip=127.0.0.1",
                f"--port={args.port + i}", f"--http_port={args.port + 100 + i}",
                f"--master={master}", f"--work_dir={os.path.join(work_dir, f'agent{i}')}",
                f"--resources={args.agent_resources}", *env_trace,
                *curve.get(f"agent{i}", [])], "meseta-agent:")
            print(line, flush=True)
        print(f"cluster: up, logs in {work_dir}; running the {args.framework} framework",
              flush=True)
        framework = subprocess.run([sys.executable, "-m", FRAMEWORKS[args.framework],
                                    f"--master={master}", f"--tasks={args.tasks}"],
                                   env=framework_env)
        status = framework.returncode
        if args.keep:
            print("cluster: framework done; Ctrl-C stops the cluster", flush=True)
            signal.pause()
    except KeyboardInterrupt:
        print("\ncluster: stopping", flush=True)
        status = 130
    finally:
        cluster.stop()
    if status == 0 and not args.work_dir:
        shutil.rmtree(work_dir, ignore_errors=True)
    print(f"cluster: stopped (framework exit status {status})", flush=True)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
