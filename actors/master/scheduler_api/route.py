"""``POST /api/v1/scheduler``: the Mesos v1 scheduler HTTP API on the master.

``install_scheduler_api(master)`` (from ``MasterActor.on_start``) serves the route at
``/master/api/v1/scheduler`` and ``/api/v1/scheduler``; the handler runs on the master's
thread. It checks the request as Mesos' ``src/master/http.cpp`` does -- 405 not POST,
307 to the leader from a non-leading master (503 when none is known), 415 for a body
that is not ``application/json`` (protobuf is not supported), 406 when ``Accept`` does
not allow JSON, 400 for a malformed Call -- then hands the decoded native message to the
master's own handler (``_dispatch``, as if it came over ZeroMQ from the framework's PID),
so HTTP and native frameworks share one code path, one trace, one set of metrics.

SUBSCRIBE answers ``200`` with a chunked RecordIO stream of Events (SUBSCRIBED first) and a
``Mesos-Stream-Id`` header (a UUID); every other call must come on another connection
with that header (403 otherwise, or for a framework not subscribed over HTTP) and gets
``202 Accepted``.

With ``--authenticate_http_frameworks`` the node has authenticated the request in
``mesos-master-scheduler`` already (``auth``; 401 otherwise): a SUBSCRIBE declaring
another principal is refused (400, Mesos' text), one declaring none takes the
authenticated one, and the principal is bound to the stream's PID
(``Authentication.bind``), so ``principal_of`` answers for it as for a driver's PID;
every later call must carry the framework's principal (400 otherwise).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from actors.master.frameworks import http_scheduler_pid
from actors.master.http import redirect
from actors.master.scheduler_api.auth import call_refusal, subscribe_principal
from actors.master.scheduler_api.calls import CallError, decode_call
from actors.messages.framework import RegisterFramework
from transport import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from actors.master.actor import MasterActor

__all__ = ["PATH", "install_scheduler_api", "scheduler_call"]

PATH = "/api/v1/scheduler"
JSON = "application/json"
STREAM_ID = "Mesos-Stream-Id"


def install_scheduler_api(master: MasterActor) -> None:
    master.route(PATH, lambda request: scheduler_call(master, request))


def _text(message: str, status: int) -> HttpResponse:
    return HttpResponse.text(message, status)


def _accepts_json(accept: str) -> bool:
    if not accept:
        return True
    kinds = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return bool(kinds & {JSON, "application/*", "*/*"})


def scheduler_call(master: MasterActor, request: HttpRequest) -> HttpResponse:
    """Handle one request to ``/api/v1/scheduler`` (see the module docstring)."""
    if request.method != "POST":
        return _text(f"Expecting 'POST', received '{request.method}'", 405)
    if not master.elected:
        answer = redirect(master)
        if answer.status == 307:
            answer.headers["Location"] += PATH
        return answer
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if not content_type:
        return _text("Expecting 'Content-Type' to be present", 400)
    if content_type == "application/x-protobuf":
        return _text("Unsupported 'Content-Type': this master only supports "
                     f"'{JSON}' (protobuf bodies are not implemented)", 415)
    if content_type != JSON:
        return _text(f"Expecting 'Content-Type' of {JSON}", 415)
    try:
        call = decode_call(request.body)
    except CallError as exc:
        return _text(exc.message, exc.status)
    if call.type == "SUBSCRIBE":
        if STREAM_ID in request.headers:
            return _text(f"Subscribe calls should not include the '{STREAM_ID}' header", 400)
        if not _accepts_json(request.headers.get("Accept", "")):
            return _text(f"Expecting 'Accept' to allow '{JSON}'", 406)
        msg, refused = subscribe_principal(request.principal, call.message)
        if refused is not None:
            return _text(refused, 400)
        return _subscribe(master, msg, request.principal)
    framework = master.books.frameworks.get(call.framework_id)
    if framework is None:
        return _text("Framework cannot be found", 403)
    refused = call_refusal(request.principal, framework.info.principal)
    if refused is not None:
        return _text(refused, 400)
    if not framework.connected:
        return _text("Framework is not subscribed", 403)
    link = master.http_links.get(framework.pid)
    if link is None:
        return _text("Framework is not connected via HTTP", 403)
    stream_id = request.headers.get(STREAM_ID, "")
    if not stream_id:
        return _text(f"All non-subscribe calls should include the '{STREAM_ID}' header", 403)
    if stream_id != link.stream_id:
        return _text(f"The stream ID '{stream_id}' included in this request didn't match the "
                     f"stream ID currently associated with framework ID {framework.id}", 403)
    link.in_call, link.refused = True, None
    try:
        master._dispatch(link.pid, call.message, None)
    finally:
        link.in_call = False
    if link.refused is not None:  # e.g. an UPDATE_FRAMEWORK changing the user
        return _text(link.refused, 400)
    return HttpResponse(202, b"", "text/plain")


def _subscribe(master: MasterActor, msg: RegisterFramework,
               principal: str | None) -> HttpResponse:
    stream_id = str(uuid.uuid4())
    pid = http_scheduler_pid(stream_id)
    link = master.http_links.open(pid, stream_id)
    if principal is not None:  # who this stream's calls come from, as for a driver's PID
        master.authentication.bind(pid, str(principal))
    master._dispatch(pid, msg, None)  # the reply (SUBSCRIBED) is on the stream already
    if link.refused is not None:
        return _text(link.refused, 400)
    return HttpResponse(200, b"", JSON, {STREAM_ID: stream_id}, stream=link.stream)
