"""``GET /agents/<agent_id>/files/{browse,read,download}``: an agent's sandbox files,
read through the master (for the web UI when it cannot read the agent itself).

The web UI reads a task's sandbox straight from its agent, as Mesos' does. When that
fails -- the agent runs with ``--authenticate_http_readonly`` and the browser holds no
credentials for the agent's origin (it never sends Basic credentials cross-origin
without a prompt), or the agent cannot be reached from the browser -- the UI asks the
master here. The master forwards the request to the agent's ``/files/<verb>`` with the
same query and **the caller's own** ``Authorization`` header (as ``/master/trace``
does), and answers the agent's status, body and type (``Content-Disposition`` of a
download; ``WWW-Authenticate`` of a 401, so a browser may ask its user). So the agent
authenticates the real caller and enforces its ``access_sandboxes`` ACL for the real
principal: the proxy adds no credentials of its own and widens no one's access. A
principal reads through the proxy exactly what it could read from the agent, provided
its credentials are in both nodes' ``--http_credentials`` (the master authenticates the
path in its ``mesos-master-readonly`` realm first, when that is on).

Served with ``Node.add_thread_route`` (a prefix route): it runs on a worker thread of
the master's HTTP server, never on the master actor's thread. The agent's address
comes from the master's own ``/webui/agents.json`` (read over HTTP, with the caller's
credentials). Answers 404 for an unknown verb or agent, 502 when the agent cannot be
reached.
"""

from __future__ import annotations

import http.client
import os
import urllib.error
import urllib.parse
from email.message import Message
from typing import cast

from actors.cli.client import CliError, HttpAccess, get_json
from transport import Node
from transport.http import HttpRequest, HttpResponse

__all__ = ["PREFIX", "VERBS", "install_files_proxy"]

PREFIX = "/agents/"
VERBS = ("browse", "read", "download")
"""The agent's ``/files/<verb>`` routes the master forwards (all read only)."""

TIMEOUT = 10.0
PASSED_HEADERS = ("Content-Disposition", "WWW-Authenticate")


def _error(status: int, message: str) -> HttpResponse:
    return HttpResponse.json({"error": message}, status=status)


def split_path(path: str) -> tuple[str, str] | None:
    """``(agent_id, verb)`` of ``/agents/<agent_id>/files/<verb>``; None otherwise."""
    parts = path[len(PREFIX):].split("/") if path.startswith(PREFIX) else []
    if len(parts) != 3 or not parts[0] or parts[1] != "files" or parts[2] not in VERBS:
        return None
    return parts[0], parts[2]


def install_files_proxy(node: Node, scheme: str = "http", cafile: str | None = None) -> None:
    """Serve ``/agents/<agent_id>/files/<verb>`` on ``node`` (a started master's node)."""

    def handle(request: HttpRequest) -> HttpResponse:
        found = split_path(request.path)
        if found is None or request.method not in ("GET", "HEAD"):
            return _error(404, f"no route {request.path} (try /agents/<agent_id>/files/"
                               f"{'|'.join(VERBS)})")
        agent_id, verb = found
        access = HttpAccess(scheme, request.headers.get("Authorization") or None,
                            os.environ.get("MESETA_SSL_CA_FILE") or cafile or None)
        try:
            agents = get_json(f"{scheme}://{node.host}:{node.http_port}/webui/agents.json",
                              TIMEOUT, access)["agents"]
        except CliError as exc:
            return _error(502, f"cannot list the agents: {exc}")
        url = next((a.get("url") for a in agents if a.get("id") == agent_id), None)
        if not url:
            return _error(404, f"no registered agent {agent_id} with an HTTP address")
        return forward(f"{url}/files/{verb}?{urllib.parse.urlencode(request.query)}", access)

    node.add_thread_route(PREFIX, handle)


def forward(url: str, access: HttpAccess) -> HttpResponse:
    """The agent's answer to ``GET url`` as this route's answer."""
    headers: Message
    try:
        with access.open(url, TIMEOUT) as opened:
            reply = cast(http.client.HTTPResponse, opened)
            status, headers, body = reply.status, reply.headers, reply.read()
    except urllib.error.HTTPError as exc:
        status, headers, body = exc.code, exc.headers, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        return _error(502, f"cannot reach the agent at {url.split('/files/')[0]}: "
                           f"{getattr(exc, 'reason', exc)}")
    kind = headers.get("Content-Type", "application/json").split(";")[0].strip()
    passed = {name: headers[name] for name in PASSED_HEADERS if headers.get(name)}
    return HttpResponse(status, body, kind, passed)
