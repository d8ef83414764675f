"""``GET /master/trace?task_id=T``: one task's gathered, ordered trace as JSON (for the web UI).

Served with ``Node.add_thread_route``: it runs on a worker thread of the node's HTTP
server, never on the master actor's thread, because it fetches every agent's
``/__trace__`` over HTTP (and the master's own ``/master/state`` for the agents' list).
The master's own events come straight from its node's tracer. The answer is
``{"task_id", "messages": [...], "nodes", "errors"}`` (``actors.cli.client.gather_task_trace``);
400 without ``task_id``. With TLS (``scheme`` https) and HTTP authentication the nodes
are asked over HTTPS with the caller's own ``Authorization`` header.
"""

from __future__ import annotations

import os

from transport import Node
from transport.http import HttpRequest, HttpResponse

__all__ = ["install_trace_route"]


def install_trace_route(node: Node, scheme: str = "http", cafile: str | None = None) -> None:
    """Serve ``/master/trace`` on ``node`` (a started master's node)."""

    def handle(request: HttpRequest) -> HttpResponse:
        from actors.cli.client import CliError, HttpAccess, gather_task_trace

        task_id = request.query.get("task_id", "")
        if not task_id:
            return HttpResponse.json({"error": "task_id is required"}, status=400)
        base = f"{scheme}://{node.host}:{node.http_port}"
        access = HttpAccess(scheme, request.headers.get("Authorization") or None,
                            os.environ.get("MESETA_SSL_CA_FILE") or cafile or None)
        try:
            return HttpResponse.json(gather_task_trace(
                base, task_id, master_events=node.tracer.snapshot(), access=access))
        except CliError as exc:
            return HttpResponse.json({"error": str(exc)}, status=503)

    node.add_thread_route("/master/trace", handle)
