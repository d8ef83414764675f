"""The node's generic HTTP authenticator: it sees every request first (built-in routes
too), may refuse it with its own response, and the principal it names reaches the
handler; with ``http_ssl`` the node serves HTTPS. The transport knows no realm."""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.tls_helpers import self_signed
from transport import HttpResponse, Node, Process

WAIT = 30.0


class Who(Process):
    def on_start(self) -> None:
        self.route("/who", lambda req: HttpResponse.text(req.principal or "anonymous"))


class TokenGate:
    """Lets ``/open`` through anonymously, wants ``X-Token: name`` everywhere else."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def authenticate(self, method: str, path: str,
                     headers: Mapping[str, str]) -> str | HttpResponse | None:
        self.seen.append(path)
        if path.endswith("/open"):
            return None
        token = headers.get("x-token")
        return token or HttpResponse(401, b"no", "text/plain", {"WWW-Authenticate": "Token"})


@pytest.fixture
def node() -> Iterator[Node]:
    n = Node("127.0.0.1", 0, http_port=0).start()
    n.spawn(Who, "who").proxy().pid.get(timeout=WAIT)  # on_start ran: routed
    try:
        yield n
    finally:
        n.stop()


def _get(port: int, path: str, headers: dict[str, str] | None = None,
         context: ssl.SSLContext | None = None) -> tuple[int, str]:
    conn: http.client.HTTPConnection = (
        http.client.HTTPSConnection("127.0.0.1", port, timeout=WAIT, context=context)
        if context is not None else http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT))
    conn.request("GET", path, headers=headers or {})
    resp = conn.getresponse()
    body = resp.read().decode()
    conn.close()
    return resp.status, body


def test_the_authenticator_gates_every_route_and_names_the_principal(node: Node) -> None:
    assert node.http_port is not None
    assert _get(node.http_port, "/who/who") == (200, "anonymous")
    gate = TokenGate()
    node.http_authenticator = gate
    assert _get(node.http_port, "/who/who")[0] == 401
    assert _get(node.http_port, "/__processes__")[0] == 401
    assert _get(node.http_port, "/who/who", {"X-Token": "ann"}) == (200, "ann")
    assert _get(node.http_port, "/__processes__", {"X-Token": "ann"})[0] == 200
    assert "/who/who" in gate.seen and "/__processes__" in gate.seen


def test_a_node_with_an_ssl_context_serves_https(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    node = Node("127.0.0.1", 0, http_port=0, http_ssl=server).start()
    try:
        node.spawn(Who, "who").proxy().pid.get(timeout=WAIT)
        assert node.http_port is not None
        client = ssl.create_default_context(cafile=str(cert))
        assert _get(node.http_port, "/who/who", context=client) == (200, "anonymous")
        with pytest.raises((ConnectionError, http.client.HTTPException)):
            _get(node.http_port, "/who/who")
    finally:
        node.stop()
