"""The master's web UI: static files served at ``/`` and ``/webui/<file>``, and the one
JSON route the pages need beyond ``/master/state``.

``install_webui(master)`` is called by ``MasterActor.on_start`` beside
``http.install_routes``. The files under ``actors/master/webui/`` (plain HTML, JS and CSS;
no build step, nothing fetched from elsewhere) are read once, here, and each is served by
an exact route, so no other path is ever opened (no directory traversal). ``index.html``
is sent with ``Cache-Control: no-cache``; the assets may be kept by the browser briefly.

``GET /webui/agents.json`` lists every registered agent's HTTP address
(``{"agents": [{"id", "hostname", "http_port", "url"}]}``): the browser reads a task's
sandbox straight from its agent (``/state`` for the executor's directory, then
``/files/read``), which answers cross-origin (``transport.http`` allows any origin on GET).
When it cannot (the agent wants credentials: a browser sends none cross-origin), the page
reads the sandbox through the master's ``/agents/<agent_id>/files/*``
(``actors.master.files_proxy``, which forwards the page's own credentials).

``GET /webui/login`` is the page's "sign in": it sits in the master's readonly realm, so
with ``--authenticate_http_readonly`` the browser asks its user for credentials there (a
top-level page always may), then it redirects to ``/``; the browser then sends them with
the page's own reads. (The static files are open, so nothing else asks at load.)
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING, Any

from transport import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from actors.master.actor import MasterActor

__all__ = ["CONTENT_TYPES", "FILES", "agents_json", "install_webui", "load_files"]

FILES = ("index.html", "app.js", "style.css")
"""Everything the UI is made of: the only files ever served."""

CONTENT_TYPES = {"html": "text/html", "js": "text/javascript", "css": "text/css"}
"""(aiohttp takes no charset here: ``index.html`` declares UTF-8, the others are ASCII.)"""


def load_files() -> dict[str, bytes]:
    """The UI's files by name, read from the installed package."""
    folder = resources.files("actors.master").joinpath("webui")
    return {name: folder.joinpath(name).read_bytes() for name in FILES}


def _static(name: str, body: bytes) -> HttpResponse:
    cache = "no-cache" if name == "index.html" else "max-age=60"
    return HttpResponse(200, body, CONTENT_TYPES[name.rpartition(".")[2]],
                        {"Cache-Control": cache, "X-Content-Type-Options": "nosniff"})


def agents_json(master: MasterActor) -> dict[str, Any]:
    out = []
    for agent in master.books.agents.registered.values():
        host = agent.info.hostname or agent.pid.host
        port = agent.info.http_port
        out.append({"id": agent.id, "hostname": host, "http_port": port,
                    "url": f"{master.config.security.scheme}://{host}:{port}" if port
                    else None})
    return {"agents": out}


def install_webui(master: MasterActor) -> None:
    """Serve the UI's files and ``/webui/agents.json`` from ``master``."""
    files = load_files()

    def serve(name: str) -> Any:
        response = _static(name, files[name])
        return lambda request: response

    master.route("/", serve("index.html"))
    master.route("/webui", serve("index.html"))
    master.route("/webui/", serve("index.html"))
    for name in FILES:
        master.route(f"/webui/{name}", serve(name))
    master.route("/webui/agents.json", lambda request: _agents(master, request))
    master.route("/webui/login", lambda request: HttpResponse(
        303, b"", "text/plain", {"Location": "/", "Cache-Control": "no-store"}))


def _agents(master: MasterActor, request: HttpRequest) -> HttpResponse:
    response = HttpResponse.json(agents_json(master))
    response.headers["Cache-Control"] = "no-cache"
    return response
