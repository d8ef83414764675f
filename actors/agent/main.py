"""``meseta-agent``: run one agent (the console script ``actors.agent.main:main``).

Parses the flags (``config.flags``), configures logging, starts a node on
``--ip``/``--port`` with HTTP on ``--http_port``, spawns ``AgentActor`` as ``agent``
(the node's HTTP delegate, so ``/state`` works), prints one line
``meseta-agent: agent@IP:PORT http://IP:HTTP_PORT`` and runs until SIGINT/SIGTERM (or
the master's ``Shutdown``, or the end of a ``--recover=cleanup``). Then it shuts its
executors down (waiting up to their grace period), leaves the cluster and exits 0. A
port in use exits 1 with a message, and so does a checkpoint that cannot be recovered
(``--strict``) or an ``--isolation`` this machine cannot give (no cgroup controllers).
``--master`` is ``HOST:PORT`` or ``zk://host:port[,host:port]/path`` (the agent then
follows the leading master through ZooKeeper). ``--authenticate_http_executors`` puts
``/api/v1/executor`` in ``mesos-agent-executor`` (``executor_auth``); without
``--jwt_secret_key`` it exits 1.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from types import FrameType

from actors.agent.actor import AgentActor
from actors.agent.config import flags, from_flags
from actors.agent.containerizer import ContainerizerError
from actors.agent.executor_auth import executor_realms
from actors.agent.recovery import RecoveryError
from actors.authorization.config import secure_node
from actors.authorization.tls import TlsError
from transport.curve import CurveError, curve_keys
from transport.errors import BindError
from transport.flags import FlagError
from transport.logs import configure

__all__ = ["OPEN_PATHS", "READWRITE_PATHS", "main"]

READWRITE_PATHS = ("/api/v1", "/__hooks__")
"""The agent's endpoints in the ``mesos-agent-readwrite`` realm (the rest read only)."""

OPEN_PATHS = ("/health", "/api/v1/executor")
"""Served without authentication, the executor API unless ``--authenticate_http_executors``
puts it in its own realm (``actors.agent.executor_auth``)."""


def main(argv: list[str] | None = None) -> int:
    ns = flags().parse(sys.argv[1:] if argv is None else argv)
    try:
        config = from_flags(ns)
    except (FlagError, ValueError) as exc:
        print(f"meseta-agent: {exc}", file=sys.stderr)
        return 2
    try:
        realms = executor_realms(config)
    except ValueError as exc:
        print(f"meseta-agent: {exc}", file=sys.stderr)
        return 1
    configure(config.log_level, "json" if config.log_format == "json" else "console")
    if config.trace:  # executors it launches trace too (they inherit MESETA_TRACE)
        os.environ["MESETA_TRACE"] = "1"
    try:
        curve = curve_keys(config.curve, config.curve_keys, config.curve_name)
        node = secure_node(config.security, "mesos-agent", readwrite_paths=READWRITE_PATHS,
                           open_paths=OPEN_PATHS, realms=realms, host=config.ip,
                           port=config.port,
                           http_port=config.effective_http_port, trace=config.trace or None,
                           cpu_affinity=config.cpu_affinity, curve=curve)
    except (CurveError, TlsError) as exc:
        print(f"meseta-agent: {exc}", file=sys.stderr)
        return 1
    try:
        node.start()
    except BindError as exc:
        print(f"meseta-agent: {exc}", file=sys.stderr)
        return 1
    node.http_delegate = "agent"
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    try:
        try:
            ref = node.spawn(AgentActor, config)
        except RecoveryError as exc:
            print(f"meseta-agent: recovery failed: {exc}", file=sys.stderr)
            return 1
        except ContainerizerError as exc:
            print(f"meseta-agent: {exc}", file=sys.stderr)
            return 1
        agent = ref.proxy()
        requested = agent.shutdown_requested.get()
        print(f"meseta-agent: {agent.pid.get()} {config.security.scheme}://{config.ip}:"
              f"{node.http_port}",
              flush=True)
        while not stop.wait(0.2) and not requested.is_set():
            pass
        agent.begin_shutdown().get(timeout=10)
        deadline = time.monotonic() + config.executor_shutdown_grace_period + 2
        while agent.live_executors().get(timeout=10) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        node.stop()  # the agent's on_stop kills whatever is still running
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
