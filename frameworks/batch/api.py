"""The batch framework's HTTP API (Chronos' paths), on 127.0.0.1.

=======  ==============================  ==================================================
method   path                            what it does
=======  ==============================  ==================================================
GET      ``/v1/scheduler/jobs``          every job (definition, state, counts; no history)
POST     ``/v1/scheduler/jobs``          submit a job or a JSON list of jobs (201)
POST     ``/v1/scheduler/iso8601``       submit a scheduled (or run-once) job, no parents
POST     ``/v1/scheduler/dependency``    submit a child job (``parents`` required)
GET      ``/v1/scheduler/job/<name>``    one job with its history (``runs``: attempts,
                                         agents, start and end times)
POST     ``/v1/scheduler/job/<name>``    run it now (also PUT, as Chronos)
DELETE   ``/v1/scheduler/job/<name>``    delete it, killing its tasks (204)
GET      ``/v1/scheduler/summary``       framework id, ``done``, ``suppressed``, counts
=======  ==============================  ==================================================

Errors answer ``{"message": ...}``: 400 for a bad job (its JSON, an unknown parent, a
cycle) or a job that cannot be deleted, 404 for an unknown job or path, 405 for a
method a path does not take. ``route(scheduler, method, path, body)`` is the whole API
as one function (tests call it directly); ``serve(scheduler, port)`` puts it behind a
``ThreadingHTTPServer`` whose threads call ``BatchScheduler``'s locked methods. (Not the
node's ``transport.http`` server: that one serves exact paths to actors, and the
framework's state is not an actor's but the scheduler's, behind its lock.)
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from frameworks.batch.jobs import JobError, parse_job, parse_jobs
from frameworks.batch.scheduler import BatchScheduler
from transport.http import parse_json

__all__ = ["ApiServer", "route", "serve"]

PREFIX = "/v1/scheduler"


class _Reply(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _body(body: bytes) -> Any:
    try:
        return parse_json(body or b"null")
    except ValueError as exc:
        raise _Reply(400, f"the body is not JSON: {exc}") from None


def route(scheduler: BatchScheduler, method: str, path: str, body: bytes = b"") -> tuple[
        int, Any]:
    """``(status, JSON data)`` for one request; see the module docstring."""
    try:
        return _route(scheduler, method, urllib.parse.unquote(path.rstrip("/")), body)
    except _Reply as reply:
        return reply.status, {"message": str(reply)}
    except JobError as exc:
        return 400, {"message": str(exc)}
    except KeyError as exc:
        return 404, {"message": f"no job {exc.args[0]!r}"}


def _route(scheduler: BatchScheduler, method: str, path: str, body: bytes) -> tuple[int, Any]:
    if path == f"{PREFIX}/jobs":
        if method == "GET":
            with scheduler.lock:
                return 200, scheduler.core.jobs_json()
        _allow(method, "POST")
        return 201, {"submitted": scheduler.submit(parse_jobs(_body(body)))}
    if path in (f"{PREFIX}/iso8601", f"{PREFIX}/dependency"):
        _allow(method, "POST")
        job = parse_job(_body(body))
        if path.endswith("dependency") and not job.parents:
            raise _Reply(400, f"job {job.name!r}: a dependency job needs parents")
        if path.endswith("iso8601") and job.parents:
            raise _Reply(400, f"job {job.name!r} has parents: POST it to {PREFIX}/dependency")
        return 201, {"submitted": scheduler.submit([job])}
    if path == f"{PREFIX}/summary":
        _allow(method, "GET")
        return 200, scheduler.status()
    if path.startswith(f"{PREFIX}/job/"):
        name = path[len(f"{PREFIX}/job/"):]
        if method == "GET":
            with scheduler.lock:
                return 200, scheduler.core.job_json(name)
        if method in ("POST", "PUT"):
            run = scheduler.start_job(name)
            return 202, {"job": name, "run": run.number}
        _allow(method, "DELETE")
        scheduler.delete(name)
        return 204, None
    raise _Reply(404, f"no such path {path!r}")


def _allow(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise _Reply(405, f"method {method} not allowed here (use {', '.join(allowed)})")


class _Handler(BaseHTTPRequestHandler):
    scheduler: BatchScheduler

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, data = route(self.scheduler, self.command,
                             urllib.parse.urlsplit(self.path).path, body)
        payload = b"" if data is None else json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass  # no access log on stderr


class ApiServer:
    """A running API server; ``url`` is ``http://127.0.0.1:PORT``."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self._server = server
        self.port = int(server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=server.serve_forever, name="batch-http",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def serve(scheduler: BatchScheduler, port: int = 0) -> ApiServer:
    """Serve the API for ``scheduler`` on 127.0.0.1:``port`` (0: a free port)."""
    handler = type("Handler", (_Handler,), {"scheduler": scheduler})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    return ApiServer(server)
