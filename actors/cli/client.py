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

``HttpAccess`` says how to reach the cluster: the scheme (``https`` with
``MESETA_SSL_ENABLED`` or ``--cacert``), HTTP Basic credentials (``--principal`` /
``--secret``, ``MESETA_PRINCIPAL`` / ``MESETA_SECRET``) and the CA to trust (``--cacert``,
``MESETA_SSL_CA_FILE``). The CLI sets it once with ``configure``; the master's
``/master/trace`` passes its caller's own credentials along (``access=``).
"""

from __future__ import annotations

import functools
import json
import os
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from actors.authorization.http_auth import basic_authorization
from actors.authorization.tls import TlsError, client_context, env_ssl_enabled
from actors.cli import trace_model

__all__ = ["CliError", "HttpAccess", "agent_base", "configure", "find_master",
           "gather_task_trace", "get_json", "stream_lines"]

TIMEOUT = 10.0


class CliError(Exception):
    """Something the user should read; the CLI prints it and exits 1."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass(frozen=True)
class HttpAccess:
    """How to reach the cluster's HTTP endpoints (see the module docstring)."""

    scheme: str = "http"
    authorization: str | None = None
    """An ``Authorization`` header value (``Basic ...``) sent with every request."""
    cafile: str | None = None

    @classmethod
    def from_env(cls, principal: str | None = None, secret: str | None = None,
                 cacert: str | None = None) -> HttpAccess:
        principal = principal or os.environ.get("MESETA_PRINCIPAL") or None
        secret = secret if secret is not None else os.environ.get("MESETA_SECRET", "")
        cafile = cacert or os.environ.get("MESETA_SSL_CA_FILE") or None
        https = bool(cacert) or env_ssl_enabled()
        return cls("https" if https else "http",
                   basic_authorization(principal, secret) if principal else None, cafile)

    @functools.cached_property
    def context(self) -> ssl.SSLContext:
        try:
            return client_context(self.cafile)
        except TlsError as exc:
            raise CliError(str(exc)) from None

    def open(self, url: str, timeout: float | None, follow: bool = True) -> IO[bytes]:
        headers = {"Authorization": self.authorization} if self.authorization else {}
        handlers: list[Any] = [] if follow else [_NoRedirect]
        if url.startswith("https:"):
            handlers.append(urllib.request.HTTPSHandler(context=self.context))
        opener = urllib.request.build_opener(*handlers)
        resp: IO[bytes] = opener.open(urllib.request.Request(url, headers=headers),
                                      timeout=timeout)
        return resp


_access = HttpAccess.from_env()


def configure(access: HttpAccess) -> None:
    """Use ``access`` for every request of this process from now on (the CLI's flags)."""
    global _access
    _access = access


def get(url: str, timeout: float = TIMEOUT, access: HttpAccess | None = None) -> bytes:
    try:
        with (access or _access).open(url, timeout) as resp:
            return bytes(resp.read())
    except urllib.error.HTTPError as exc:
        raise CliError(f"{url}: HTTP {exc.code} {exc.read().decode(errors='replace')[:200]}"
                       ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CliError(f"cannot reach {url}: {reason}") from None


def get_json(url: str, timeout: float = TIMEOUT, access: HttpAccess | None = None) -> Any:
    body = get(url, timeout, access)
    try:
        return json.loads(body or b"null")
    except ValueError:
        raise CliError(f"{url}: not JSON") from None


def stream_lines(url: str, timeout: float | None = None) -> Iterator[bytes]:
    """The lines of a streaming response (``/__trace__?follow=1``) as they arrive."""
    try:
        resp = _access.open(url, timeout)
    except urllib.error.HTTPError as exc:
        raise CliError(f"{url}: HTTP {exc.code}") from None
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
    return f"{_access.scheme}://{host}:{info.port}"


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
    base = master if master.startswith("http") else f"{_access.scheme}://{master}"
    base = base.rstrip("/")
    try:  # the leader itself answers at once (its redirect names its hostname)
        if get_json(f"{base}/master/state", timeout).get("elected"):
            return base
    except CliError as exc:
        if "cannot reach" in str(exc):
            raise CliError(f"no master reachable at {master}: {exc}") from None
        if "HTTP 401" in str(exc):
            raise CliError(f"{exc}: give --principal and --secret (or MESETA_PRINCIPAL "
                           f"and MESETA_SECRET)") from None
    try:
        with _access.open(f"{base}/master/redirect", timeout, follow=False) as resp:
            resp.read()
        return base
    except urllib.error.HTTPError as exc:
        location = exc.headers.get("Location", "")
        if exc.code in (301, 302, 307) and location:
            scheme = base.split(":", 1)[0]
            return (f"{scheme}:{location}" if location.startswith("//")
                    else location).rstrip("/")
        if exc.code == 503:
            raise CliError(f"the master at {master} knows no leader") from None
        return base
    except (urllib.error.URLError, OSError) as exc:
        raise CliError(f"no master reachable at {master}: "
                       f"{getattr(exc, 'reason', exc)}") from None


def agent_base(agent: dict[str, Any], scheme: str | None = None) -> str:
    """An agent's HTTP base URL from its ``/master/state`` entry (``scheme``: the
    configured access's)."""
    pid = str(agent.get("pid", ""))
    host_port = pid.split("@", 1)[1] if "@" in pid else f"{agent.get('hostname')}:0"
    host, port = host_port.rsplit(":", 1)
    http_port = agent.get("http_port") or int(port) + 100
    return f"{scheme or _access.scheme}://{host}:{http_port}"


def gather_task_trace(master_base: str, task_id: str, *,
                      master_events: list[dict[str, Any]] | None = None,
                      progress: Callable[[str], None] | None = None,
                      access: HttpAccess | None = None) -> dict[str, Any]:
    """A task's messages from every node's ``/__trace__``, merged and ordered.

    ``master_events``: the master's own events when the caller is the master;
    ``access``: how to reach the nodes (default: the configured one).
    """
    access = access or _access
    state = get_json(f"{master_base}/master/state", access=access)
    sources: list[tuple[str, str]] = []
    if master_events is None:
        sources.append(("master", master_base))
    sources += [(str(a.get("id")), agent_base(a, access.scheme))
                for a in state.get("agents", [])]
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
            events += get_json(f"{base}/__trace__", access=access)
        except CliError as exc:
            errors.append(str(exc))
    messages = trace_model.order(trace_model.for_task(trace_model.merge(events), task_id,
                                                      executor_id))
    return {"task_id": task_id, "messages": messages,
            "nodes": [base for _, base in sources], "errors": errors}


def query(params: dict[str, Any]) -> str:
    given = {k: v for k, v in params.items() if v is not None}
    return ("?" + urllib.parse.urlencode(given)) if given else ""
