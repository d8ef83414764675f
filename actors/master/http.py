"""The master's HTTP routes: thin handlers over ``endpoints`` and ``metrics``.

``install_routes(master)`` is called by ``MasterActor.on_start``; the node serves each
route at ``/master/<path>`` (and at ``/<path>`` too, since the master's node delegates
to it) and runs the handler inside the actor, so it reads the books safely -- and
quickly: every body is built by a pure function of ``endpoints`` (JSON) or
``metrics`` (``/metrics/snapshot``, and ``/metrics`` in Prometheus text). The
allocator's metrics are the snapshot it last published (``AllocatorActor.published``),
never asked for. Operators, the web UI, the ``meseta`` CLI and tests read these.

Routes (Mesos' ``src/master/http.cpp``): ``/state`` (and ``/state.json``),
``/state-summary``, ``/tasks`` (``framework_id``, ``task_id``, ``limit`` 100,
``offset``, ``order`` desc|asc), ``/frameworks`` (``framework_id``), ``/agents`` and
``/slaves`` (``agent_id``/``slave_id``), ``/roles``, ``/flags``, ``/health``,
``/redirect``, ``/teardown`` (POST ``frameworkId=``), ``/metrics/snapshot``,
``/metrics``.

Authorization (``--acls``; the caller is ``request.principal``, from HTTP Basic when
``--authenticate_http_*`` is on, else anonymous): ``/state``, ``/state-summary``,
``/frameworks`` and ``/tasks`` show only the frameworks, tasks and executors the caller
may view (``view_frameworks`` / ``view_tasks`` / ``view_executors``); ``/flags`` and the
flags in ``/state`` need ``view_flags`` (403 / left out); ``/teardown`` needs
``teardown_frameworks`` on the framework's principal (403 otherwise).
"""

from __future__ import annotations

import queue
import urllib.parse
from typing import TYPE_CHECKING, Any, cast

from actors.allocator.actor import AllocatorActor
from actors.authorization.views import visible_state, visible_tasks
from actors.master import frameworks
from actors.master.books import Outbox
from actors.master.endpoints import (
    agents_json,
    flags_json,
    frameworks_json,
    roles_json,
    state_json,
    state_summary_json,
    tasks_json,
)
from actors.master.metrics import is_counter, master_metrics
from actors.master.views import resources_json
from actors.messages.framework import FrameworkError
from actors.metrics import CONTENT_TYPE, prometheus_text
from transport import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from actors.master.actor import MasterActor

__all__ = ["install_routes", "metrics_snapshot", "redirect", "resources_json", "state_json",
           "tasks_json", "teardown"]

TASK_LIMIT = 100
"""``/master/tasks``' default ``limit`` (Mesos' ``TASK_LIMIT``)."""


def install_routes(master: MasterActor) -> None:
    books = master.books
    acls = books.acls
    state = lambda req: HttpResponse.json(  # noqa: E731
        visible_state(acls, req.principal, state_json(master)))
    master.route("/state", state)
    master.route("/state.json", state)
    master.route("/state-summary", lambda req: HttpResponse.json(
        visible_state(acls, req.principal, state_summary_json(master))))
    master.route("/tasks", lambda req: _tasks_route(master, req))
    master.route("/tasks.json", lambda req: _tasks_route(master, req))
    master.route("/frameworks", lambda req: HttpResponse.json(visible_state(
        acls, req.principal, frameworks_json(books, req.query.get("framework_id") or None))))
    master.route("/agents", lambda req: HttpResponse.json(
        agents_json(books, "agents", req.query.get("agent_id") or None)))
    master.route("/slaves", lambda req: HttpResponse.json(
        agents_json(books, "slaves", req.query.get("slave_id") or None)))
    master.route("/roles", lambda req: HttpResponse.json(roles_json(books)))
    master.route("/flags", lambda req: _flags_route(master, req))
    master.route("/health", lambda req: _health(master))
    master.route("/redirect", lambda req: redirect(master))
    master.route("/teardown", lambda req: _teardown_route(master, req))
    master.route("/metrics/snapshot", lambda req: HttpResponse.json(metrics_snapshot(master)))
    master.route("/metrics", lambda req: HttpResponse.text(
        prometheus_text(metrics_snapshot(master), is_counter), content_type=CONTENT_TYPE))


def _flags_route(master: MasterActor, request: HttpRequest) -> HttpResponse:
    if not master.books.acls.authorized("view_flags", request.principal, None):
        return HttpResponse.text("Forbidden: not authorized to view the flags", 403)
    return HttpResponse.json({"flags": flags_json(master.config)})


def redirect(master: MasterActor) -> HttpResponse:
    """307 to the leading master's HTTP endpoint (``Location: //host:port``), from the
    leader itself or a non-leading master (the detected leader); 503 if none is known.

    As Mesos' ``/master/redirect``: the host is the leader's hostname, else its ip; the port
    its HTTP port (the MasterInfo's ``port``).
    """
    leader = master.leader
    if leader is None:
        return HttpResponse.text("No leader elected", 503)
    address = leader.address
    host = leader.hostname or (address.ip if address is not None else "")
    return HttpResponse(307, b"", "text/plain", {"Location": f"//{host}:{leader.port}"})


def _health(master: MasterActor) -> HttpResponse:
    """200 with an empty body from the leader; 503 ``{"elected": false, "leader": PID}``
    from a non-leading master (``leader``: the detected one, ``null`` if none)."""
    if master.elected:
        return HttpResponse.text("", 200)
    leader = master.leader
    return HttpResponse.json({"elected": False,
                              "leader": str(leader.pid) if leader is not None else None},
                             503)


def metrics_snapshot(master: MasterActor) -> dict[str, float]:
    """``/metrics/snapshot``: the master's metrics and the allocator's last published ones."""
    allocator = master.node.processes.get(master.allocator.name)
    return master.principal_metrics() | master_metrics(
        master.books, master.counters, elected=master.elected,
        event_queue_messages=cast("queue.Queue[Any]", master.actor_inbox).qsize(),
        handled_types=type(master).handlers, registrar=master.registry_worker,
        allocator=allocator.published if isinstance(allocator, AllocatorActor) else None)


def teardown(master: MasterActor, framework_id: str) -> bool:
    """Remove a framework as Mesos' ``/teardown`` does: its scheduler hears it was removed
    (``FrameworkError``; its driver aborts), its agents shut its executors, its tasks end
    TASK_KILLED, its resources go back. ``False`` when no such framework is registered."""
    framework = master.books.frameworks.registered.get(framework_id)
    if framework is None:
        return False
    out = Outbox()
    if framework.pid is not None:
        if framework.connected:
            out.send(framework.pid, FrameworkError(message="Framework has been removed"))
        master.unlink(framework.pid)
    frameworks.remove(master.books, framework, out)
    master._apply(out)
    return True


def _teardown_route(master: MasterActor, request: HttpRequest) -> HttpResponse:
    """POST ``frameworkId=<id>`` (a form body, or the query): 200 once removed, 400 for a
    missing or unknown id, 405 for another method, 307 to the leader from a non-leader."""
    if request.method != "POST":
        return HttpResponse.text(f"Expecting 'POST', received '{request.method}'", 405)
    if not master.elected:
        return redirect(master)
    form = urllib.parse.parse_qs(request.body.decode(errors="replace"))
    framework_id = (form.get("frameworkId") or [request.query.get("frameworkId", "")])[0]
    if not framework_id:
        return HttpResponse.text("Missing 'frameworkId' query parameter in the request body",
                                 400)
    framework = master.books.frameworks.registered.get(framework_id)
    if framework is None:
        return HttpResponse.text(f"No framework found with specified ID '{framework_id}'", 400)
    if not master.books.acls.authorized("teardown_frameworks", request.principal,
                                        framework.info.principal):
        return HttpResponse.text(
            f"Forbidden: '{request.principal or 'anonymous'}' is not authorized to tear "
            f"down framework {framework_id}", 403)
    teardown(master, framework_id)
    return HttpResponse.text("", 200)


def _tasks_route(master: MasterActor, request: HttpRequest) -> HttpResponse:
    query = request.query
    try:
        limit = int(query.get("limit", TASK_LIMIT))
        offset = int(query.get("offset", "0"))
    except ValueError:
        return HttpResponse.text("limit and offset must be integers", 400)
    order = query.get("order", "desc")
    if order not in ("asc", "desc") or limit < 0 or offset < 0:
        return HttpResponse.text("order must be asc or desc; limit and offset not negative",
                                 400)
    books = master.books
    if books.acls.restrictive:  # filter first, then page through what may be seen
        users = {f.id: f.info.user for f in [*books.frameworks.registered.values(),
                                             *books.frameworks.completed]}
        seen = visible_tasks(books.acls, request.principal, tasks_json(
            books, query.get("framework_id") or None, query.get("task_id") or None,
            order=order), users)
        return HttpResponse.json({"tasks": seen[offset:offset + limit]})
    return HttpResponse.json({"tasks": tasks_json(
        books, query.get("framework_id") or None, query.get("task_id") or None,
        limit=limit, offset=offset, order=order)})
