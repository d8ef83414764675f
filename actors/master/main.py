"""``meseta-master``: run a master (and its allocator) in this OS process.

Wiring only: parse the flags (``actors.master.config.flags``), configure logging,
start a ``Node`` on ``--ip``/``--port`` with HTTP on ``--http_port``, spawn the
``AllocatorActor`` and the ``MasterActor``, print one line
``meseta-master: master@IP:PORT http://IP:HTTP_PORT`` and run until SIGINT or
SIGTERM. A port that cannot be bound exits with status 1 and a clear message.

With ``--zk`` the master contends for leadership there (``actors.master.leadership``)
once it has started, and leads only when elected; losing the candidacy exits with
status 1. A ZooKeeper that cannot be reached at start exits with status 1 too.

Security (``actors.authorization.config``): ``--ssl_enabled`` serves HTTPS (a certificate
that cannot be loaded exits with status 1), ``--authenticate_http_*`` installs the realm
authenticator (``mesos-master-readonly`` / ``-readwrite``) on the node, and
``--authenticate_http_frameworks`` puts ``/api/v1/scheduler`` in ``mesos-master-scheduler``
(``actors.master.scheduler_api.auth``; flags that cannot work exit with status 1).

The registry (``--registry``, ``actors.registry.open_storage``) is opened before the
master starts; a registry that cannot be opened exits with status 1.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING, cast

from actors.allocator.actor import AllocatorActor
from actors.allocator.config import AllocatorConfig
from actors.authorization.config import secure_node
from actors.authorization.tls import TlsError
from actors.master.actor import MasterActor
from actors.master.config import flags, from_flags
from actors.master.files_proxy import install_files_proxy
from actors.master.scheduler_api.auth import scheduler_realms
from actors.master.trace_route import install_trace_route
from actors.registry import Registrar, RegistryError, Storage, open_storage
from transport.curve import CurveError, curve_keys
from transport.errors import TransportError
from transport.logs import configure

if TYPE_CHECKING:
    from actors.master.leadership import Leadership

__all__ = ["OPEN_PATHS", "READWRITE_PATHS", "main"]

READWRITE_PATHS = ("/teardown", "/api/v1", "/machine/down", "/machine/up",
                   "/maintenance/schedule", "/quota", "/reserve", "/unreserve", "/weights",
                   "/create-volumes", "/destroy-volumes", "/__hooks__")
"""The master's endpoints in the ``mesos-master-readwrite`` realm (the rest read only)."""

OPEN_PATHS = ("/health", "/redirect", "/", "/webui", "/webui/", "/webui/index.html",
              "/webui/app.js", "/webui/style.css", "/api/v1/scheduler")
"""Served without authentication: health, the leader's address, the web UI's static files
(its data calls authenticate; the browser asks once, same origin), and the scheduler API
unless ``--authenticate_http_frameworks`` puts it in its realm (``scheduler_realms``)."""


def main(argv: Sequence[str] | None = None) -> int:
    ns = flags().parse(sys.argv[1:] if argv is None else argv)
    try:
        config = from_flags(ns)
    except ValueError as exc:
        print(f"meseta-master: {exc}", file=sys.stderr)
        return 2
    try:
        realms = scheduler_realms(config)
    except ValueError as exc:
        print(f"meseta-master: {exc}", file=sys.stderr)
        return 1
    configure(config.log_level, "json" if config.log_format == "json" else "console")
    try:
        curve = curve_keys(config.curve, config.curve_keys, config.curve_name)
        node = secure_node(config.security, "mesos-master", readwrite_paths=READWRITE_PATHS,
                           open_paths=OPEN_PATHS, realms=realms, host=config.ip,
                           port=config.port,
                           http_port=config.effective_http_port, trace=config.trace or None,
                           cpu_affinity=config.cpu_affinity, curve=curve)
    except (CurveError, TlsError) as exc:
        print(f"meseta-master: {exc}", file=sys.stderr)
        return 1
    try:
        node.start()
    except TransportError as exc:
        print(f"meseta-master: cannot start: {exc}", file=sys.stderr)
        return 1
    install_trace_route(node, config.security.scheme, config.security.ssl_cert_file or None)
    install_files_proxy(node, config.security.scheme, config.security.ssl_cert_file or None)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    leadership: Leadership | None = None
    storage: Storage | None = None
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        node.http_delegate = "master"
        master_pid = node.pid("master")
        node.spawn(AllocatorActor, master_pid,
                   AllocatorConfig(allocation_interval=config.allocation_interval))
        try:
            storage = open_storage(config.effective_registry, config.work_dir or None,
                                   zk=config.zk or None)
        except (ValueError, RegistryError) as exc:
            print(f"meseta-master: cannot open the registry ({config.effective_registry}): "
                  f"{exc}", file=sys.stderr)
            return 1
        master = node.spawn(MasterActor, config, registrar=Registrar(storage, node.clock))
        master.proxy().pid.get(timeout=30)  # started: its HTTP routes are installed
        if config.zk:
            from actors.master.leadership import Leadership  # imports kazoo

            actor = cast(MasterActor, node.processes["master"])
            try:
                leadership = Leadership(actor, config.zk, config.zk_session_timeout).start()
            except Exception as exc:  # kazoo's timeouts and connection errors
                print(f"meseta-master: cannot contend in ZooKeeper {config.zk}: {exc}",
                      file=sys.stderr)
                return 1
        print(f"meseta-master: {master_pid} {config.security.scheme}://{config.ip}:"
              f"{node.http_port}", flush=True)
        while not stop.wait(1.0):
            pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if leadership is not None:
            try:
                leadership.stop()
            except Exception as exc:  # ZooKeeper gone: our session ends, and our znode
                print(f"meseta-master: leaving ZooKeeper: {exc}", file=sys.stderr)
        node.stop()
        if storage is not None:
            try:
                storage.close()
            except Exception as exc:
                print(f"meseta-master: closing the registry: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
