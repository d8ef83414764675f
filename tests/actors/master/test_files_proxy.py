"""The master's ``/agents/<agent_id>/files/*`` proxy against stand-in nodes: two real
nodes on loopback, one serving a fake ``/webui/agents.json`` and the proxy (the
master), one a fake agent's ``/files/read``. What the proxy must do: pass the caller's
own ``Authorization`` (and nothing of its own), the agent's status, body and
``WWW-Authenticate``, and say 404 / 502 clearly."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from actors.master.files_proxy import install_files_proxy, split_path
from transport import Node
from transport.http import HttpRequest, HttpResponse


def test_split_path_takes_only_the_three_file_routes() -> None:
    assert split_path("/agents/S1/files/read") == ("S1", "read")
    assert split_path("/agents/S1/files/download") == ("S1", "download")
    for bad in ("/agents/S1/files/", "/agents/S1/state", "/agents//files/read",
                "/agents/S1/files/read/x", "/agents/S1/x/read", "/master/files/read"):
        assert split_path(bad) is None, bad


@pytest.fixture
def nodes() -> Iterator[tuple[Node, Node]]:
    master, agent = Node("127.0.0.1", 0, http_port=0), Node("127.0.0.1", 0, http_port=0)
    master.start()
    agent.start()
    try:
        yield master, agent
    finally:
        agent.stop()
        master.stop()


def _get(url: str, authorization: str | None = None) -> tuple[int, dict[str, str], bytes]:
    headers = {"Authorization": authorization} if authorization else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_the_proxy_forwards_the_callers_credentials_and_the_agents_answer(
        nodes: tuple[Node, Node]) -> None:
    master, agent = nodes
    seen: list[HttpRequest] = []

    def files_read(request: HttpRequest) -> HttpResponse:
        seen.append(request)
        if request.headers.get("Authorization") != "Basic good":
            return HttpResponse(401, b"Unauthorized", "text/plain",
                                {"WWW-Authenticate": 'Basic realm="mesos-agent-readonly"'})
        return HttpResponse.json({"data": "hi", "offset": int(request.query["offset"])})

    agent.add_thread_route("/files/read", files_read)
    agent_url = f"http://127.0.0.1:{agent.http_port}"
    master.add_thread_route("/webui/agents.json", lambda r: HttpResponse.json(
        {"agents": [{"id": "S1", "url": agent_url}, {"id": "S2", "url": None},
                    {"id": "S3", "url": "http://127.0.0.1:1"}]}))
    install_files_proxy(master)
    base = f"http://127.0.0.1:{master.http_port}/agents"

    status, _, body = _get(f"{base}/S1/files/read?path=/a%20b/stdout&offset=3", "Basic good")
    assert status == 200 and json.loads(body) == {"data": "hi", "offset": 3}
    assert seen[-1].query == {"path": "/a b/stdout", "offset": "3"}

    status, headers, _ = _get(f"{base}/S1/files/read?path=/x")
    assert status == 401 and "Authorization" not in seen[-1].headers  # none of its own
    assert headers["WWW-Authenticate"] == 'Basic realm="mesos-agent-readonly"'

    status, _, body = _get(f"{base}/S2/files/read?path=/x", "Basic good")
    assert status == 404 and b"no registered agent S2" in body
    status, _, body = _get(f"{base}/S3/files/read?path=/x", "Basic good")
    assert status == 502 and b"cannot reach the agent" in body
    assert _get(f"{base}/S1/files/write?path=/x", "Basic good")[0] == 404
