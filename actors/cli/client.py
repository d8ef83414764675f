"""HTTP access for the ``meseta`` CLI: finding the leading master, reading JSON, gathering traces.

``find_master`` turns ``--master host:port`` / ``--zk zk://…`` / ``MESETA_MASTER`` into
the leader's base URL (``http://host:port``): with ZooKeeper it reads the leader from
``actors.ha.MasterDetector``; with an address it asks that master's ``/master/redirect``
and follows the 307 to the leader. ``agent_base`` gives an agent's HTTP base URL from
its ``/master/state`` entry (``http_port``, else Meseta's default of port + 100).
``gather_task_trace`` fetches ``/__trace__`` from the master and every agent and
returns a task's ordered messages (``actors.cli.trace_model``); the master's
``/master/trace`` route calls it from a worker thread. Executors need no HTTP port:
they talk only to their agent, whose events record both directions of every such message.
Failures raise ``CliError`` with a message for the user.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

from actors.cli import trace_model

__all__ = ["CliError", "agent_base", "find_master", "gather_task_trace", "get_json",
           "stream_lines"]

TIMEOUT = 10.0


class CliError(Exception):
    """Something the user should read; the CLI prints it and exits 1."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def get(url: str, timeout: float = TIMEOUT) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return bytes(resp.read())
    except urllib.error.HTTPError as exc:
        raise CliError(f"{url}: HTTP {exc.code} {exc.read().decode(errors='replace')[:200]}"
                       ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CliError(f"cannot reach {url}: {reason}") from None


def get_json(url: str, timeout: float = TIMEOUT) -> Any:
    body = get(url, timeout)
    try:
        return json.loads(body or b"null")
    except ValueError:
        raise CliError(f"{url}: not JSON") from None


def stream_lines(url: str, timeout: float | None = None) -> Iterator[bytes]:
    """The lines of a streaming response (``/__trace__?follow=1``) as they arrive."""
    try:
        resp = urllib.request.urlopen(url, timeout=timeout)
    except (urllib.error.URLError, OSError) as exc:
        raise CliError(f"cannot reach {url}: {getattr(exc, 'reason', exc)}") from None
    with resp:
        for line in resp:
            yield bytes(line)


def _leader_from_zk(url: str, timeout: float) -> str:
    from actors.ha import MasterDetector
    from actors.ha.zk_url import parse_zk_url

    try:
        zk = parse_zk_url(url)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    found = threading.Event()
    seen: list[Any] = []

    def on_change(info: Any) -> None:
        if info is not None:
            seen.append(info)
            found.set()

    detector = MasterDetector(zk.hosts, zk.path, on_change, connect_timeout=timeout)
    try:
        detector.start()
        if not found.wait(timeout):
            raise CliError(f"no leading master under {url}")
    except CliError:
        raise
    except Exception as exc:
        raise CliError(f"cannot read {url}: {exc}") from None
    finally:
        detector.stop()
    info = seen[-1]
    host = info.hostname or (info.address.ip if info.address is not None else "")
    return f"http://{host}:{info.port}"


def find_master(master: str | None = None, zk: str | None = None,
                timeout: float = TIMEOUT) -> str:
    """The leading master's base URL (see the module docstring)."""
    master = master or os.environ.get("MESETA_MASTER") or None
    if zk is None and master is not None and master.startswith("zk://"):
        zk, master = master, None
    if zk is not None:
        return _leader_from_zk(zk, timeout)
    if master is None:
        raise CliError("no master given: use --master HOST:PORT, --zk zk://… or MESETA_MASTER")
    base = master if master.startswith("http") else f"http://{master}"
    base = base.rstrip("/")
    try:  # the leader itself answers at once (its redirect names its hostname)
        if get_json(f"{base}/master/state", timeout).get("elected"):
            return base
    except CliError as exc:
        if "cannot reach" in str(exc):
            raise CliError(f"no master reachable at {master}") from None
    try:
        with _opener.open(f"{base}/master/redirect", timeout=timeout) as resp:
            resp.read()
        return base
    except urllib.error.HTTPError as exc:
        location = exc.headers.get("Location", "")
        if exc.code in (301, 302, 307) and location:
            return ("http:" + location if location.startswith("//") else location).rstrip("/")
        if exc.code == 503:
            raise CliError(f"the master at {master} knows no leader") from None
        return base
    except (urllib.error.URLError, OSError) as exc:
        raise CliError(f"no master reachable at {master}: "
                       f"{getattr(exc, 'reason', exc)}") from None


def agent_base(agent: dict[str, Any]) -> str:
    """An agent's HTTP base URL from its ``/master/state`` entry."""
    pid = str(agent.get("pid", ""))
    host_port = pid.split("@", 1)[1] if "@" in pid else f"{agent.get('hostname')}:0"
    host, port = host_port.rsplit(":", 1)
    http_port = agent.get("http_port") or int(port) + 100
    return f"http://{host}:{http_port}"


def gather_task_trace(master_base: str, task_id: str, *,
                      master_events: list[dict[str, Any]] | None = None,
                      progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """A task's messages from every node's ``/__trace__``, merged and ordered.

    ``master_events``: the master's own events when the caller is the master.
    """
    state = get_json(f"{master_base}/master/state")
    sources: list[tuple[str, str]] = []
    if master_events is None:
        sources.append(("master", master_base))
    sources += [(str(a.get("id")), agent_base(a)) for a in state.get("agents", [])]
    events = list(master_events or [])
    errors = []
    executor_id = None
    for fw in state.get("frameworks", []) + state.get("completed_frameworks", []):
        for task in fw.get("tasks", []) + fw.get("completed_tasks", []):
            if task.get("id") == task_id:
                executor_id = task.get("executor_id") or None
    for name, base in sources:
        if progress is not None:
            progress(f"gathering trace events from {name} ({base})")
        try:
            events += get_json(f"{base}/__trace__")
        except CliError as exc:
            errors.append(str(exc))
    messages = trace_model.order(trace_model.for_task(trace_model.merge(events), task_id,
                                                      executor_id))
    return {"task_id": task_id, "messages": messages,
            "nodes": [base for _, base in sources], "errors": errors}


def query(params: dict[str, Any]) -> str:
    given = {k: v for k, v in params.items() if v is not None}
    return ("?" + urllib.parse.urlencode(given)) if given else ""
