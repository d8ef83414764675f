"""``Node``: one per OS process — its address, its processes, and how they reach others.

A node binds a ZeroMQ ROUTER at ``host:port`` (the port of every local PID) and,
optionally, an HTTP server at ``http_port``. Processes (``transport.process.Process``)
register with it by name; ``send`` delivers to a local process directly (no encoding)
or encodes in the caller's thread and hands the frames to the I/O thread
(``transport.io``), which alone touches sockets. ``hooks`` (test filters), ``tracer``
(message tracing), ``clock`` (timers) and ``stats`` (counters) live here too, and,
only when asked for (``MESETA_TEST_HOOKS=1``), ``remote_hooks`` (``/__hooks__``).

Typical use (scripts and tests)::

    node = Node("127.0.0.1", 5050, http_port=5150).start()
    master = node.spawn(MasterActor, flags)
    ...
    node.stop()
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pykka
import structlog

from transport.affinity import Placement
from transport.clock import Clock, RealClock
from transport.codec import message_name
from transport.curve import CurveKeys
from transport.envelope import encode_envelope
from transport.errors import TransportError
from transport.hooks import Hooks
from transport.io import IOThread
from transport.pid import PID
from transport.remote_hooks import RemoteHooks, env_test_hooks
from transport.trace import TraceContext, Tracer, env_tracing

if TYPE_CHECKING:
    import ssl

    from transport.http import HttpAuthenticator, HttpHandler, HttpServer
    from transport.process import Process

__all__ = ["Node"]

P = TypeVar("P", bound="Process")
_log = structlog.get_logger("meseta.transport")


class Node:
    """One OS process's endpoint and registry of processes (see the module docstring)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        http_port: int | None = None,
        clock: Clock | None = None,
        trace: bool | str | None = None,
        link_timeout: float = 3.0,
        max_message_size: int = 16 * 1024 * 1024,
        sndhwm: int = 10_000,
        rcvhwm: int = 10_000,
        backlog_limit: int = 50_000,
        stop_linger_ms: int = 500,
        cpu_affinity: str | int | None = None,
        test_hooks: bool | None = None,
        http_ssl: ssl.SSLContext | None = None,
        curve: CurveKeys | None = None,
    ) -> None:
        """``port=0`` / ``http_port=0`` pick free ports; ``http_port=None`` serves no HTTP.

        ``link_timeout`` is how long a silent peer connection lives before linked
        processes get ``exited`` (ZMTP heartbeats at a third of it). ``cpu_affinity``
        (``auto``, ``none`` or a CPU number; default ``MESETA_CPU_AFFINITY``, else
        ``auto``) places the node's Python threads (``transport.affinity``); a bad
        value raises ``ValueError``. ``test_hooks`` (default ``MESETA_TEST_HOOKS``, else
        off) serves the drop hooks at ``/__hooks__`` (``transport.remote_hooks``): a test aid.
        ``http_ssl``: serve HTTPS with this context instead of HTTP.
        ``curve`` (``transport.curve.CurveKeys``) encrypts and authenticates every
        connection: only peers whose public keys it allows are admitted.
        """
        self.host = host
        self.port = port
        self.requested_http_port = http_port
        self.http_port: int | None = None
        self.clock: Clock = clock or RealClock()
        self._owns_clock = clock is None
        self.tracer = Tracer(env_tracing() if trace is None else trace)
        self.link_timeout = link_timeout
        self.max_message_size = max_message_size
        self.sndhwm = sndhwm
        self.rcvhwm = rcvhwm
        self.backlog_limit = backlog_limit
        self.stop_linger_ms = stop_linger_ms
        self.placement = Placement(
            os.environ.get("MESETA_CPU_AFFINITY") if cpu_affinity is None else cpu_affinity)
        self.hooks = Hooks()
        self.curve = curve
        self.handshake_failures: dict[str, str] = {}
        """``host:port`` -> why the last handshake with that peer failed (cleared by a
        successful one); written by the I/O thread, read by processes (``handshake_failure``)."""
        self.remote_hooks: RemoteHooks | None = (
            RemoteHooks(self.hooks) if (env_test_hooks() if test_hooks is None else test_hooks)
            else None)
        """The ``/__hooks__`` remote control, when asked for (never on by default)."""
        self.stats: Counter[str] = Counter()
        self.processes: dict[str, Process] = {}
        self._names: defaultdict[str, itertools.count[int]] = defaultdict(
            lambda: itertools.count(1))
        self._local_links: dict[str, set[tuple[PID, str]]] = defaultdict(set)
        self._lock = threading.Lock()
        self.routes: dict[str, tuple[Process, HttpHandler]] = {}
        self.thread_routes: dict[str, HttpHandler] = {}
        """Routes served on the HTTP server's worker threads (``transport.http``)."""
        self.http_delegate: str | None = None
        """The process whose routes are also served without the ``/<name>`` prefix."""
        self.http_ssl = http_ssl
        self.http_authenticator: HttpAuthenticator | None = None
        """Sees every HTTP request first (``transport.http``); ``None``: all anonymous."""
        self._io = IOThread(self)
        self._http: HttpServer | None = None
        self._started = False

    # --- life cycle -------------------------------------------------------------------

    def start(self) -> Node:
        """Bind and start serving; raises ``BindError`` when a port is taken."""
        self._io.start()
        self._io.ready.wait()
        if self._io.error is not None:
            raise self._io.error
        self.port = self._io.port
        self.tracer.node = self.address
        if self.requested_http_port is not None:
            from transport.http import HttpServer

            self._http = HttpServer(self, self.requested_http_port)
            try:
                self.http_port = self._http.start()
            except BaseException:  # do not leave the ZeroMQ port bound behind the error
                self._http = None
                self.stop()
                raise
        self._started = True
        _log.debug("node started", address=self.address, http_port=self.http_port)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every local process (newest first), then the HTTP server and the sockets."""
        for proc in reversed(list(self.processes.values())):
            try:
                proc.actor_ref.stop(block=True, timeout=timeout)
            except pykka.Timeout:
                _log.warning("process did not stop in time", process=proc.pid.name)
        if self._http is not None:
            self._http.stop()
        if self._io.is_alive():
            self._io.shutdown()
            self._io.join(timeout)
        stop_clock = getattr(self.clock, "stop", None)
        if stop_clock is not None and self._owns_clock:
            stop_clock()
        self._started = False

    def __enter__(self) -> Node:
        return self if self._started else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def address(self) -> str:
        """``host:port`` of this node's ZeroMQ endpoint."""
        return f"{self.host}:{self.port}"

    def pid(self, name: str) -> PID:
        return PID(name, self.host, self.port)

    def spawn(self, cls: type[P], *args: Any, **kwargs: Any) -> pykka.ActorRef[P]:
        """Start a process of ``cls`` on this node: ``cls.start(self, *args, **kwargs)``."""
        return cls.start(self, *args, **kwargs)

    # --- process registry -------------------------------------------------------------

    def generate_name(self, prefix: str) -> str:
        """``prefix(N)``, unique on this node, like libprocess ``ID::generate``."""
        with self._lock:
            return f"{prefix}({next(self._names[prefix])})"

    def register(self, proc: Process, name: str) -> PID:
        with self._lock:
            if name in self.processes:
                raise TransportError(f"a process named {name!r} already runs on {self.address}")
            self.processes[name] = proc
        return self.pid(name)

    def unregister(self, name: str) -> None:
        with self._lock:
            self.processes.pop(name, None)
            linkers = self._local_links.pop(name, set())
        for pid, linker in linkers:
            self._exited(linker, pid)

    # --- sending ----------------------------------------------------------------------

    def send(self, frm: PID, to: PID, msg: Any, ctx: TraceContext | None = None,
             wake: bool = True) -> None:
        """Send ``msg`` from local ``frm`` to ``to``: one-way, at most once, ordered per pair.

        ``wake=False`` (used by processes inside their handlers) defers waking the I/O
        thread to ``flush()``.
        """
        hooks = self.hooks
        if hooks.rules and not hooks.check("out", frm, to, msg):
            self.stats["dropped/hook"] += 1
            return
        tracer = self.tracer
        if ctx is None and tracer.enabled:
            ctx = TraceContext.root()
        if to.port == self.port and to.host == self.host:
            self._deliver_local(frm, to, msg, ctx)
            return
        frm_text = str(frm)
        envelope = encode_envelope(to.name, frm_text, msg, ctx)
        if len(envelope) > self.max_message_size - 4096:
            _log.error("message too large to send", to=str(to), name=message_name(msg),
                       size=len(envelope), limit=self.max_message_size)
            self.stats["dropped/too_large"] += 1
            return
        if tracer.enabled:
            tracer.event("trace.send", frm_text, str(to), message_name(msg), len(envelope), ctx,
                         msg)
        self._io.submit(to.address, envelope, wake)

    def flush(self) -> None:
        """Wake the I/O thread for envelopes queued with ``wake=False``."""
        self._io.wake()

    def _deliver_local(self, frm: PID, to: PID, msg: Any, ctx: TraceContext | None) -> None:
        proc = self.processes.get(to.name)
        if proc is None:
            self.stats["dropped/unknown_process"] += 1
            _log.warning("message dropped", reason="unknown_process", to=str(to),
                         name=message_name(msg))
            return
        if self.hooks.rules and not self.hooks.check("in", frm, to, msg):
            self.stats["dropped/hook"] += 1
            return
        if ctx is not None and self.tracer.enabled:
            self.tracer.event("trace.send", str(frm), str(to), message_name(msg), None, ctx, msg)
        try:
            proc.actor_ref.tell([(frm, msg, ctx)])
        except pykka.ActorDeadError:
            self.stats["dropped/dead_process"] += 1
        self.hooks.settle()

    # --- links ------------------------------------------------------------------------

    def link(self, linker: str, pid: PID) -> None:
        """Watch ``pid``'s connection for the local process ``linker`` (one-shot)."""
        if pid.address == self.address:
            with self._lock:
                alive = pid.name in self.processes
                if alive:
                    self._local_links[pid.name].add((pid, linker))
            if not alive:
                self._exited(linker, pid)
            return
        self._io.submit(pid.address, lambda io, address: io.link(address, pid, linker))

    def unlink(self, linker: str, pid: PID) -> None:
        if pid.address == self.address:
            with self._lock:
                self._local_links.get(pid.name, set()).discard((pid, linker))
            return
        self._io.submit(pid.address, lambda io, address: io.unlink(address, pid, linker))

    def handshake_failure(self, pid: PID) -> str | None:
        """Why the last handshake with ``pid``'s node failed, or ``None`` (it did not)."""
        return self.handshake_failures.get(pid.address)

    def principal_of(self, pid: PID) -> str | None:
        """The CURVE key name that owns ``pid``'s address, i.e. who sent what came from
        ``pid`` (``transport.curve``); ``None`` without CURVE or before its first message."""
        return self.curve.principal_of(pid.address) if self.curve is not None else None

    def _exited(self, linker: str, pid: PID) -> None:
        proc = self.processes.get(linker)
        if proc is not None:
            proc._post(proc._exited_event, pid)

    # --- HTTP routes ------------------------------------------------------------------

    def add_route(self, proc: Process, path: str, handler: HttpHandler) -> None:
        """Serve ``handler`` at ``/<proc name><path>`` (see ``transport.http``)."""
        path = path if path.startswith("/") else "/" + path
        with self._lock:
            self.routes[f"/{proc.pid.name}{path}"] = (proc, handler)

    def add_thread_route(self, path: str, handler: HttpHandler) -> None:
        """Serve ``handler`` at ``path`` on a worker thread, never on an actor's thread
        (a ``path`` ending in ``/``: every path under it; see ``transport.http``)."""
        with self._lock:
            self.thread_routes[path] = handler

    def find_route(self, path: str) -> tuple[Process, HttpHandler] | None:
        entry = self.routes.get(path)
        if entry is None and self.http_delegate is not None:
            entry = self.routes.get(f"/{self.http_delegate}{path}")
        if entry is None or self.processes.get(entry[0].pid.name) is not entry[0]:
            return None
        return entry

    # --- introspection ----------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """What ``/__processes__`` shows: each process, its inbox, the node's counters."""
        return {
            "address": self.address,
            "http_port": self.http_port,
            "processes": [
                {"id": name, "pid": str(p.pid), "class": type(p).__name__,
                 "inbox": cast("queue.Queue[Any]", p.actor_inbox).qsize(), "handled": p.handled}
                for name, p in list(self.processes.items())
            ],
            "peers": self._io.peers(),
            "stats": dict(self.stats),
            "tracing": self.tracer.enabled,
            "placement": self.placement.describe(),
        }
