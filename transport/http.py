"""The node's HTTP server: routes installed by processes, run inside those processes.

One aiohttp server per node, on its own thread and event loop, bound to the node's
host at ``http_port``. A process installs ``route("/state", handler)``; the route is
served at ``/<process name>/state`` (libprocess mounts routes under the process id),
and also at ``/state`` when the process is the node's ``http_delegate`` (as libprocess
``initialize("master")`` does). The request is read fully here, handed to the process
as a message, and ``handler(request) -> HttpResponse`` runs on the process's thread, so
handlers read actor state safely; the reply comes back through the event loop.

``node.add_thread_route(path, handler)`` serves a handler that must NOT run on an actor's
thread (it does blocking I/O, e.g. gathering other nodes' traces): it runs on a worker
thread of this server, and reads only thread-safe state.

Built in: ``GET /__processes__`` lists the node's processes with their inbox sizes, its
peers and its counters; ``GET /__trace__`` gives the recent trace events (when on),
filtered by ``trace_id``, ``task_id``, ``name``, ``framework_id``, ``agent_id`` and
``since`` (a ``seq``, or a time in seconds since the epoch); with ``follow=1`` it streams
them as chunked newline-delimited JSON, the matching recent ones first, then new ones as
they happen (``timeout=S`` ends the stream after S seconds; else the client does);
``/__hooks__`` drives the node's drop hooks, only when the node was started with
``MESETA_TEST_HOOKS=1`` (``transport.remote_hooks``; a test aid).

A handler may answer with a stream: ``HttpResponse(200, stream=HttpStream(on_close))``. The
status and headers go out at once, then every ``stream.write(chunk)`` (from any thread, e.g.
the process's, long after the handler returned) as chunked transfer encoding, until the
process calls ``stream.close()`` or the client goes away; in the latter case ``on_close``
runs on the process's thread (within a second), so a process may keep a subscriber's stream
(Mesos' scheduler and executor HTTP APIs) and learn when it drops.

Request headers are case-insensitive (``request.headers["mesos-stream-id"]`` works).

Authentication is the node's choice, not the routes': when ``node.http_authenticator`` is
set, every request (built-in routes included) is first shown to its
``authenticate(method, path, headers)``, which answers the caller's principal (``None``:
anonymous, let through) or an ``HttpResponse`` to send instead (a 401); handlers read the
principal in ``request.principal``. The server knows no realm or credential format.
HTTPS: a ``Node`` started with ``http_ssl`` (an ``ssl.SSLContext``) serves TLS only.

A route's answer to ``GET`` carries ``Access-Control-Allow-Origin: *`` (unless the handler
set it), so a page served by one node (the master's web UI) may read another's state and
sandbox files (``/state``, ``/files/read``); nothing that changes state is opened that way,
and neither are credentialed reads (no ``Access-Control-Allow-Credentials``: any page the
user visits could read with their cached credentials): the web UI reads an
authenticating agent's files through the master (``actors.master.files_proxy``).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from aiohttp import web
from multidict import CIMultiDict

from transport.errors import BindError
from transport.trace import select

if TYPE_CHECKING:
    from transport.node import Node
    from transport.process import Process

__all__ = ["HttpAuthenticator", "HttpHandler", "HttpPending", "HttpRequest", "HttpResponse",
           "HttpServer", "HttpStream", "parse_json"]

_log = structlog.get_logger("meseta.http")
_TRACE_FILTERS = ("trace_id", "task_id", "name", "framework_id", "agent_id")


def parse_json(data: bytes | str) -> Any:
    """``json.loads`` for what a peer sent: every way it can fail is a ``ValueError``
    (bad JSON, bad UTF-8, and nesting deeper than the parser's recursion limit, which
    ``json`` reports as ``RecursionError``), so handlers answer 400, never 500."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """An HTTP request, read in full, as a route handler sees it."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes = b""
    principal: str | None = None
    """Who the node's ``http_authenticator`` said is calling; ``None``: anonymous."""

    def json(self) -> Any:
        return parse_json(self.body or b"null")


class HttpStream:
    """A response body written after the handler returned; see the module docstring.

    ``write`` and ``close`` are thread-safe and never block; chunks written before the
    server starts sending are kept and sent first. ``write`` returns False once the stream
    is closed or its client has gone.
    """

    def __init__(self, on_close: Callable[[], None] | None = None) -> None:
        self.on_close = on_close
        self._lock = threading.Lock()
        self._chunks: list[bytes] = []
        self._closed = False
        """The writer closed it."""
        self._gone = False
        """The client went away (or the server stopped)."""
        self._wake: Callable[[], object] | None = None

    @property
    def open(self) -> bool:
        with self._lock:
            return not (self._closed or self._gone)

    def write(self, data: bytes) -> bool:
        with self._lock:
            if self._closed or self._gone:
                return False
            self._chunks.append(data)
            wake = self._wake
        if wake is not None:
            wake()
        return True

    def close(self) -> None:
        with self._lock:
            if self._closed or self._gone:
                return
            self._closed = True
            wake = self._wake
        if wake is not None:
            wake()

    def _attach(self, wake: Callable[[], object]) -> None:
        with self._lock:
            self._wake = wake

    def _take(self) -> tuple[list[bytes], bool]:
        with self._lock:
            chunks, self._chunks = self._chunks, []
            return chunks, self._closed

    def _leave(self) -> bool:
        """The server stops sending; True when the writer had not closed it."""
        with self._lock:
            self._gone = True
            self._chunks = []
            return not self._closed


@dataclass(slots=True)
class HttpResponse:
    """What a route handler returns."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    stream: HttpStream | None = None
    """When set, ``body`` is ignored and the stream's chunks are the body."""
    pending: HttpPending | None = None
    """When set, the answer is the response the handler gives it later (``HttpPending``)."""

    @classmethod
    def later(cls, pending: HttpPending) -> HttpResponse:
        """The answer will be what ``pending.complete`` is given (from the same process)."""
        return cls(pending=pending)

    @classmethod
    def json(cls, data: Any, status: int = 200) -> HttpResponse:
        return cls(status, json.dumps(data, default=str).encode(), "application/json")

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain") -> HttpResponse:
        return cls(status, text.encode(), content_type)


HttpHandler = Callable[[HttpRequest], HttpResponse]


class HttpPending:
    """A response a process route gives later, e.g. once a durable write is done.

    The handler returns ``HttpResponse.later(pending)`` and calls ``pending.complete(resp)``
    from its process's thread when it knows the answer (the server's request timeout
    still applies: 504). Only the first ``complete`` counts.
    """

    __slots__ = ("_done", "_response")

    def __init__(self) -> None:
        self._done: Callable[[HttpResponse], None] | None = None
        self._response: HttpResponse | None = None

    def complete(self, response: HttpResponse) -> None:
        if self._response is not None:
            return
        self._response = response
        if self._done is not None:
            self._done(response)

    def _attach(self, done: Callable[[HttpResponse], None]) -> None:
        self._done = done
        if self._response is not None:
            done(self._response)


class HttpAuthenticator(Protocol):
    """Decides who calls, before any route runs (see the module docstring)."""

    def authenticate(self, method: str, path: str,
                     headers: Mapping[str, str]) -> str | HttpResponse | None:
        """The caller's principal, ``None`` (anonymous), or the response refusing it."""
        ...


class HttpServer:
    """Serves a node's routes; see the module docstring."""

    def __init__(self, node: Node, port: int, request_timeout: float = 30.0) -> None:
        self.node = node
        self.requested_port = port
        self.port = 0
        self.request_timeout = request_timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever,
                                        name=f"meseta-http-{node.address}", daemon=True)
        self._runner: web.AppRunner | None = None
        self._stopping = threading.Event()
        """Set by ``stop()``: open ``/__trace__?follow=1`` streams end (within a second)."""

    def start(self) -> int:
        """Bind and serve; returns the port (a free one when asked for 0)."""
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        try:
            self.port = future.result(timeout=10)
        except OSError as exc:
            self.stop()
            raise BindError(
                f"cannot bind HTTP on {self.node.host}:{self.requested_port}: {exc}") from None
        return self.port

    async def _start(self) -> int:
        app = web.Application(client_max_size=self.node.max_message_size)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.node.host, self.requested_port, reuse_address=True,
                           ssl_context=self.node.http_ssl)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.base_events.Server)
        return int(server.sockets[0].getsockname()[1])

    def stop(self) -> None:
        if self._loop.is_closed():  # stopped already
            return
        self._stopping.set()
        if self._runner is not None and self._thread.is_alive():
            fut = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
            try:
                fut.result(timeout=5)
            except Exception as exc:  # shutting down anyway; say why it was not clean
                _log.warning("HTTP server did not stop cleanly", error=repr(exc))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():  # else the loop's __del__ complains at exit
            self._loop.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        principal: str | None = None
        authenticator = self.node.http_authenticator
        if authenticator is not None:
            verdict = authenticator.authenticate(request.method, path,
                                                 CIMultiDict(request.headers))
            if isinstance(verdict, HttpResponse):
                return web.Response(status=verdict.status, body=verdict.body,
                                    content_type=verdict.content_type,
                                    headers=verdict.headers)
            principal = verdict
        if path == "/__processes__":
            return web.json_response(self.node.describe())
        if path == "/__trace__":
            return await self._trace(request)
        plain = _thread_route(self.node.thread_routes, path)
        if plain is not None:
            preq = HttpRequest(request.method, path, dict(request.query),
                               CIMultiDict(request.headers), await request.read(), principal)
            resp = await self._loop.run_in_executor(None, _run_plain, plain, preq)
            return web.Response(status=resp.status, body=resp.body,
                                content_type=resp.content_type, headers=resp.headers)
        remote = self.node.remote_hooks
        if path == "/__hooks__" and remote is not None:
            status, data = remote.handle(request.method, dict(request.query),
                                         await request.read())
            return web.json_response(data, status=status)
        found = self.node.find_route(path)
        if found is None:
            return web.json_response({"error": f"no route {path}"}, status=404)
        proc, handler = found
        req = HttpRequest(request.method, path, dict(request.query), CIMultiDict(request.headers),
                          await request.read(), principal)
        reply: asyncio.Future[HttpResponse] = self._loop.create_future()
        proc._post(self._run, handler, req, reply)
        try:
            resp = await asyncio.wait_for(reply, self.request_timeout)
        except TimeoutError:
            return web.json_response({"error": "the process did not answer in time"}, status=504)
        headers = resp.headers
        if request.method in ("GET", "HEAD") and "Access-Control-Allow-Origin" not in headers:
            headers = {**headers, "Access-Control-Allow-Origin": "*"}
        if resp.stream is not None:
            return await self._stream(request, resp, headers, proc)
        return web.Response(status=resp.status, body=resp.body, content_type=resp.content_type,
                            headers=headers)

    async def _stream(self, request: web.Request, resp: HttpResponse, headers: dict[str, str],
                      proc: Process) -> web.StreamResponse:
        stream = resp.stream
        assert stream is not None
        out = web.StreamResponse(status=resp.status,
                                 headers={**headers, "Content-Type": resp.content_type})
        out.enable_chunked_encoding()
        ready = asyncio.Event()
        stream._attach(lambda: self._loop.call_soon_threadsafe(ready.set))
        try:
            await out.prepare(request)
            while True:
                chunks, closed = stream._take()
                if chunks:
                    await out.write(b"".join(chunks))
                if closed:
                    await out.write_eof()
                    break
                gone = request.transport is None or request.transport.is_closing()
                if gone or self._stopping.is_set():
                    break
                try:
                    await asyncio.wait_for(ready.wait(), 1.0)
                except TimeoutError:
                    pass
                ready.clear()
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            if stream._leave() and stream.on_close is not None:
                proc._post(_run_on_close, stream)
        return out

    async def _trace(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        try:
            since = float(query["since"]) if "since" in query else None
            timeout = float(query["timeout"]) if "timeout" in query else None
        except ValueError:
            return web.json_response({"error": "since and timeout are numbers"}, status=400)
        filters: dict[str, Any] = {k: query[k] for k in _TRACE_FILTERS if k in query}
        tracer = self.node.tracer
        if query.get("follow", "") not in ("1", "true", "yes"):
            return web.json_response(select(tracer.snapshot(), since=since, **filters))
        resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await resp.prepare(request)
        deadline = None if timeout is None else self._loop.time() + timeout
        events = tracer.snapshot()
        fresh = select(events, since=since, **filters)
        last = int(events[-1]["seq"]) if events else 0
        try:
            while True:
                if fresh:
                    await resp.write(b"".join(json.dumps(e, default=str).encode() + b"\n"
                                              for e in fresh))
                left = 1.0 if deadline is None else min(1.0, deadline - self._loop.time())
                gone = request.transport is None or request.transport.is_closing()
                if left <= 0 or gone or self._stopping.is_set():
                    break
                await self._loop.run_in_executor(None, tracer.wait_after, last, left)
                events = [e for e in tracer.snapshot() if e["seq"] > last]
                fresh = select(events, **filters)
                if events:
                    last = int(events[-1]["seq"])
        except (ConnectionResetError, asyncio.CancelledError):
            return resp
        try:
            await resp.write_eof()
        except ConnectionResetError:
            pass
        return resp

    def _run(self, handler: HttpHandler, req: HttpRequest,
             reply: asyncio.Future[HttpResponse]) -> None:
        """Runs on the process's thread."""
        try:
            resp = handler(req)
        except Exception as exc:
            _log.exception("HTTP handler failed", path=req.path)
            resp = HttpResponse.json({"error": f"{type(exc).__name__}: {exc}"}, status=500)
        if resp.pending is not None:
            def answer(later: HttpResponse) -> None:
                self._loop.call_soon_threadsafe(_settle, reply, later)

            resp.pending._attach(answer)
            return
        self._loop.call_soon_threadsafe(_settle, reply, resp)


def _thread_route(routes: Mapping[str, HttpHandler], path: str) -> HttpHandler | None:
    """The worker-thread route serving ``path``: its exact route, else the longest
    ``.../`` prefix of it."""
    exact = routes.get(path)
    if exact is not None:
        return exact
    prefixes = [p for p in routes if p.endswith("/") and path.startswith(p)]
    return routes[max(prefixes, key=len)] if prefixes else None


def _run_plain(handler: HttpHandler, req: HttpRequest) -> HttpResponse:
    """Runs on one of the server's worker threads."""
    try:
        return handler(req)
    except Exception as exc:
        _log.exception("HTTP handler failed", path=req.path)
        return HttpResponse.json({"error": f"{type(exc).__name__}: {exc}"}, status=500)


def _run_on_close(stream: HttpStream) -> None:
    """Runs on the process's thread once a stream's client has gone."""
    assert stream.on_close is not None
    try:
        stream.on_close()
    except Exception:
        _log.exception("HTTP stream close callback failed")


def _settle(reply: asyncio.Future[HttpResponse], resp: HttpResponse) -> None:
    if not reply.done():
        reply.set_result(resp)

