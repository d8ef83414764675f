"""A plain HTTP client of the Mesos v1 scheduler API, for tests: no Meseta code at all.

It speaks what any framework in any language would: ``POST /api/v1/scheduler`` with JSON
Calls, a SUBSCRIBE connection read as a RecordIO stream (``<length>\\n<json>``) by a
thread that queues the Events, and other calls on fresh connections carrying the
``Mesos-Stream-Id`` header. Only the standard library is imported.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

JSON = "application/json"
PATH = "/api/v1/scheduler"
WAIT = 60.0


def post(base: str, body: Any, headers: dict[str, str] | None = None,
         path: str = PATH) -> tuple[int, dict[str, str], bytes]:
    """One request on its own connection; ``(status, headers, body)``."""
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=WAIT)
    try:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        conn.request("POST", path, data, {"Content-Type": JSON, **(headers or {})})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Subscription:
    """A SUBSCRIBE stream and the calls made on behalf of its framework."""

    def __init__(self, base: str, framework_info: dict[str, Any],
                 headers: dict[str, str] | None = None,
                 auth: dict[str, str] | None = None) -> None:
        self.base = base
        self.auth = dict(auth or {})
        """Headers every request of this framework carries (``Authorization``)."""
        url = urllib.parse.urlsplit(base)
        self._conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=WAIT)
        call = {"type": "SUBSCRIBE", "subscribe": {"framework_info": framework_info}}
        if "id" in framework_info:
            call["framework_id"] = framework_info["id"]
        self._conn.request("POST", PATH, json.dumps(call).encode(),
                           {"Content-Type": JSON, "Accept": JSON, **self.auth,
                            **(headers or {})})
        self.response = self._conn.getresponse()
        self.status = self.response.status
        self.headers = dict(self.response.getheaders())
        self.stream_id = self.response.getheader("Mesos-Stream-Id", "")
        self.events: list[dict[str, Any]] = []
        self.ended = False
        self._cond = threading.Condition()
        self.framework_id = ""
        if self.status == 200:
            self._conn.sock.settimeout(None)  # heartbeats keep it alive; close() ends it
            threading.Thread(target=self._read, daemon=True).start()
            subscribed = self.wait("SUBSCRIBED")
            self.framework_id = subscribed["subscribed"]["framework_id"]["value"]

    def _read(self) -> None:
        try:
            while True:
                line = self.response.readline()
                if not line:
                    break
                if not line.strip():
                    continue
                size = int(line.strip())
                event = json.loads(self.response.read(size))
                with self._cond:
                    self.events.append(event)
                    self._cond.notify_all()
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            pass
        with self._cond:
            self.ended = True
            self._cond.notify_all()

    def wait(self, kind: str, where: Callable[[dict[str, Any]], bool] = lambda _: True,
             timeout: float = WAIT) -> dict[str, Any]:
        """Remove and return the first queued Event of type ``kind`` matching ``where``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, event in enumerate(self.events):
                    if event.get("type") == kind and where(event):
                        del self.events[i]
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.ended:
                    raise TimeoutError(f"no {kind} event within {timeout}s; "
                                       f"queued: {[_short(e) for e in self.events]}")
                self._cond.wait(min(remaining, 1.0))

    def wait_end(self, timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self.ended:
                if time.monotonic() > deadline:
                    raise TimeoutError("the stream did not end")
                self._cond.wait(1.0)

    def update(self, task_id: str, state: str, timeout: float = WAIT) -> dict[str, Any]:
        """Wait for the UPDATE of ``task_id`` to ``state``; return its status."""
        event = self.wait("UPDATE", lambda e: e["update"]["status"]["task_id"]["value"]
                          == task_id and e["update"]["status"]["state"] == state, timeout)
        status: dict[str, Any] = event["update"]["status"]
        return status

    def follow(self, task_id: str, until: str, timeout: float = WAIT) -> list[dict[str, Any]]:
        """Acknowledge every update of ``task_id`` up to one in state ``until``; all of them."""
        seen: list[dict[str, Any]] = []
        while not seen or seen[-1]["state"] != until:
            event = self.wait("UPDATE", lambda e: e["update"]["status"]["task_id"]["value"]
                              == task_id, timeout)
            seen.append(event["update"]["status"])
            if seen[-1].get("uuid"):
                self.acknowledge(seen[-1])
        return seen

    def offers(self, timeout: float = WAIT) -> list[dict[str, Any]]:
        offers: list[dict[str, Any]] = self.wait("OFFERS", timeout=timeout)["offers"]["offers"]
        return offers

    def call(self, kind: str, payload: dict[str, Any] | None = None,
             stream_id: str | None = None,
             auth: dict[str, str] | None = None) -> tuple[int, bytes]:
        """A Call of this framework on a new connection; ``(status, body)``; ``auth``
        replaces the subscription's ``auth`` headers for this call."""
        body: dict[str, Any] = {"framework_id": {"value": self.framework_id}, "type": kind}
        if payload is not None:
            body[kind.lower()] = payload
        sid = self.stream_id if stream_id is None else stream_id
        headers = dict(self.auth if auth is None else auth)
        if sid:
            headers["Mesos-Stream-Id"] = sid
        status, _, data = post(self.base, body, headers)
        return status, data

    def acknowledge(self, status: dict[str, Any]) -> None:
        code, body = self.call("ACKNOWLEDGE", {"agent_id": status["agent_id"],
                                              "task_id": status["task_id"],
                                              "uuid": status["uuid"]})
        assert code == 202, (code, body)

    def close(self) -> None:
        """Drop the stream (as a crashed scheduler would)."""
        sock = self._conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._conn.close()
        self.response.close()


def command_task(task_id: str, offer: dict[str, Any], command: str,
                 cpus: float = 0.1, mem: float = 32) -> dict[str, Any]:
    """A v1 TaskInfo running ``command`` on ``offer``'s agent."""
    return {"name": task_id, "task_id": {"value": task_id}, "agent_id": offer["agent_id"],
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": cpus}},
                          {"name": "mem", "type": "SCALAR", "scalar": {"value": mem}}],
            "command": {"value": command}}


def launch(sub: Subscription, offer: dict[str, Any], *tasks: dict[str, Any],
           refuse_seconds: float = 3600) -> None:
    code, body = sub.call("ACCEPT", {
        "offer_ids": [offer["id"]],
        "operations": [{"type": "LAUNCH", "launch": {"task_infos": list(tasks)}}],
        "filters": {"refuse_seconds": refuse_seconds}})
    assert code == 202, (code, body)


def _short(event: dict[str, Any]) -> str:
    if event.get("type") == "UPDATE":
        status = event["update"]["status"]
        return f"UPDATE {status['task_id']['value']}:{status['state']}"
    return str(event.get("type"))
