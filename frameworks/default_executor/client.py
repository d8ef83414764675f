"""A client of the agent's v1 executor HTTP API (``POST /api/v1/executor``), stdlib only.

``Endpoint.from_environment()`` reads what the agent gives every executor
(``MESOS_AGENT_ENDPOINT``, ``MESOS_FRAMEWORK_ID``, ``MESOS_EXECUTOR_ID``,
``MESOS_SANDBOX``, ``MESOS_CHECKPOINT``, ``MESOS_RECOVERY_TIMEOUT``,
``MESOS_SUBSCRIPTION_BACKOFF_MAX``, ``MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD``, and
``MESOS_EXECUTOR_AUTHENTICATION_TOKEN``, sent as ``Authorization: Bearer`` on every
call when set, as Mesos' executor library does). ``Endpoint.post`` sends one JSON
``Call`` on a connection of its own; ``Endpoint.subscribe`` opens the SUBSCRIBE stream
and ``events`` reads its RecordIO records (``<length>\\n<json>``) one by one.
``parse_duration`` reads Mesos' durations (``5secs``, ``15mins``).

Used by ``frameworks.default_executor.executor``; nothing here knows about tasks.
"""

from __future__ import annotations

import http.client
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CallRefused", "Endpoint", "events", "parse_duration"]

PATH = "/api/v1/executor"
JSON = "application/json"
MAX_RECORD = 64 * 1024 * 1024
"""A RecordIO record longer than this is a broken stream, not an event."""

_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "secs": 1.0, "mins": 60.0, "hrs": 3600.0,
          "days": 86400.0, "weeks": 604800.0}


class CallRefused(Exception):
    """The agent answered a call with an error status (``status``, ``body``)."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


def parse_duration(text: str | None, default: float) -> float:
    """Seconds in a Mesos duration (``15mins`` -> 900.0); ``default`` if unreadable."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([a-z]+)\s*", text or "")
    if match is None or match.group(2) not in _UNITS:
        return default
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where the agent's executor API is, and who this executor is."""

    host: str
    port: int
    framework_id: str
    executor_id: str
    sandbox: str
    checkpoint: bool = False
    recovery_timeout: float = 900.0
    backoff_max: float = 2.0
    shutdown_grace_period: float = 5.0
    token: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> Endpoint:
        """From Mesos' executor environment; ``KeyError``/``ValueError`` if it is missing."""
        env = os.environ if env is None else env
        host, _, port = env["MESOS_AGENT_ENDPOINT"].rpartition(":")
        token = env.get("MESOS_EXECUTOR_AUTHENTICATION_TOKEN") or None
        return cls(
            host=host.strip("[]"), port=int(port), framework_id=env["MESOS_FRAMEWORK_ID"],
            executor_id=env["MESOS_EXECUTOR_ID"],
            sandbox=env.get("MESOS_SANDBOX") or env.get("MESOS_DIRECTORY") or os.getcwd(),
            checkpoint=env.get("MESOS_CHECKPOINT") == "1",
            recovery_timeout=parse_duration(env.get("MESOS_RECOVERY_TIMEOUT"), 900.0),
            backoff_max=parse_duration(env.get("MESOS_SUBSCRIPTION_BACKOFF_MAX"), 2.0),
            shutdown_grace_period=parse_duration(
                env.get("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"), 5.0),
            token=token,
            headers={"Authorization": f"Bearer {token}"} if token else {})

    def call(self, kind: str, **fields: Any) -> dict[str, Any]:
        """A v1 ``Call`` of this executor."""
        return {"framework_id": {"value": self.framework_id},
                "executor_id": {"value": self.executor_id}, "type": kind, **fields}

    def post(self, call: dict[str, Any], timeout: float = 30.0) -> int:
        """Send one call; its status (``CallRefused`` for 4xx/5xx, ``OSError`` if the
        agent cannot be reached)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request("POST", PATH, json.dumps(call).encode(),
                         {"Content-Type": JSON, **self.headers})
            resp = conn.getresponse()
            body = resp.read().decode(errors="replace")
        except http.client.HTTPException as exc:
            raise OSError(f"the agent's answer is broken: {exc!r}") from exc
        finally:
            conn.close()
        if resp.status >= 400:
            raise CallRefused(resp.status, body)
        return resp.status

    def subscribe(self, call: dict[str, Any]) -> tuple[http.client.HTTPConnection,
                                                       http.client.HTTPResponse]:
        """Open the SUBSCRIBE stream (the caller closes the connection)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=None)
        try:
            conn.request("POST", PATH, json.dumps(call).encode(),
                         {"Content-Type": JSON, "Accept": JSON, **self.headers})
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise OSError(f"SUBSCRIBE failed: {exc!r}") from exc
        if resp.status != 200:
            body = resp.read().decode(errors="replace")
            conn.close()
            raise CallRefused(resp.status, body)
        return conn, resp


def events(stream: Any) -> Iterator[dict[str, Any]]:
    """The events of a RecordIO stream (anything with ``readline``/``read``), until it
    ends; ``ValueError`` on a broken record."""
    while True:
        line = stream.readline()
        if not line:
            return
        text = line.strip()
        if not text:
            continue
        if not text.isdigit() or int(text) > MAX_RECORD:
            raise ValueError(f"bad RecordIO length {text[:32]!r}")
        size = int(text)
        data = stream.read(size)
        if len(data) < size:
            return  # the stream ended inside a record
        event = json.loads(data)
        if not isinstance(event, dict):
            raise ValueError("an event is not a JSON object")
        yield event
