"""The service framework's HTTP API: Marathon's ``/v2/apps`` paths on 127.0.0.1.

``ServiceHttpApi(operations, port)`` serves, on a thread of its own (``http.server``,
one thread per request), what ``frameworks.service.operations.AppOperations`` does:

======  =========================  ==========================================
GET     ``/ping``                  ``pong``
GET     ``/v2/apps``               ``{"apps": [...]}``
POST    ``/v2/apps``               create an app (201; 409 if the id exists)
GET     ``/v2/apps/<id>``          ``{"app": {...}}``
PUT     ``/v2/apps/<id>``          change it (``instances``: scale; else a rolling restart)
DELETE  ``/v2/apps/<id>``          remove it (its tasks are killed)
POST    ``/v2/apps/<id>/restart``  a rolling restart
GET     ``/v2/apps/<id>/tasks``    ``{"tasks": [...]}``
======  =========================  ==========================================

Errors answer ``{"message": ...}`` with 400 (bad JSON or spec), 404 (no such app or
path) or 409 (conflict). Changes answer ``{"version", "deploymentId"}`` as Marathon.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from frameworks.service.operations import AppConflict, AppNotFound, AppOperations
from frameworks.service.spec import SpecError
from transport.http import parse_json

__all__ = ["MAX_BODY", "ServiceHttpApi"]

MAX_BODY = 1 << 20
"""Bytes; a larger request body is refused (400)."""


class _Error(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ServiceHttpApi:
    """The HTTP server; ``start()`` serves in a thread, ``stop()`` ends it."""

    def __init__(self, operations: AppOperations, port: int = 0,
                 host: str = "127.0.0.1") -> None:
        self.operations = operations
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                api._serve(self, "GET")

            def do_POST(self) -> None:
                api._serve(self, "POST")

            def do_PUT(self) -> None:
                api._serve(self, "PUT")

            def do_DELETE(self) -> None:
                api._serve(self, "DELETE")

            def log_message(self, format: str, *args: Any) -> None:
                pass  # requests are not logged to stderr

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ServiceHttpApi:
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        name="service-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _serve(self, request: BaseHTTPRequestHandler, method: str) -> None:
        path = request.path.split("?", 1)[0].rstrip("/") or "/"
        try:
            status, body = self._route(method, path, lambda: _body(request))
        except _Error as exc:
            status, body = exc.status, {"message": str(exc)}
        except SpecError as exc:
            status, body = 400, {"message": str(exc)}
        except AppNotFound as exc:
            status, body = 404, {"message": str(exc)}
        except AppConflict as exc:
            status, body = 409, {"message": str(exc)}
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type",
                            "text/plain" if isinstance(body, str) else "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def _route(self, method: str, path: str,
               body: Callable[[], Any]) -> tuple[int, Any]:
        ops = self.operations
        if path == "/ping" and method == "GET":
            return 200, "pong"
        if path == "/v2/apps":
            if method == "GET":
                return 200, {"apps": ops.list_apps()}
            if method == "POST":
                return 201, ops.create_app(body())
            raise _Error(405, f"{method} is not allowed on {path}")
        if not path.startswith("/v2/apps/"):
            raise _Error(404, f"no such path {path}")
        app_id = path[len("/v2/apps/"):]
        if app_id.endswith("/restart") and method == "POST":
            return 200, ops.restart_app(app_id[:-len("/restart")])
        if app_id.endswith("/tasks") and method == "GET":
            return 200, {"tasks": ops.app_tasks(app_id[:-len("/tasks")])}
        if method == "GET":
            return 200, {"app": ops.get_app(app_id)}
        if method == "PUT":
            return 200, ops.update_app(app_id, body())
        if method == "DELETE":
            return 200, ops.delete_app(app_id)
        raise _Error(405, f"{method} is not allowed on {path}")


def _body(request: BaseHTTPRequestHandler) -> Any:
    """The request's JSON body (None when empty)."""
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError as exc:
        raise _Error(400, "bad Content-Length") from exc
    if length > MAX_BODY:
        raise _Error(400, f"body over {MAX_BODY} bytes")
    raw = request.rfile.read(length) if length > 0 else b""
    try:
        return parse_json(raw) if raw else None
    except ValueError as exc:
        raise _Error(400, f"the body is not JSON: {exc}") from exc
