"""``/__hooks__``: a node's drop hooks driven over HTTP, only when asked for."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from tests.transport.helpers import WAIT, spawn_inbox
from tests.transport.test_process import Worker, spawn
from tests.transport.wire import Add, Count, Echo, GetCount
from transport import Node
from transport.remote_hooks import BadRule, parse_rule


def call(node: Node, method: str, body: Any = None, query: str = "",
         raw: bytes | None = None) -> tuple[int, Any]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(f"http://127.0.0.1:{node.http_port}/__hooks__{query}",
                                 data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=WAIT) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_remote_control_is_off_unless_asked_for(
        make_node: Callable[..., Node], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MESETA_TEST_HOOKS", raising=False)
    off = make_node(http_port=0)
    assert off.remote_hooks is None
    assert call(off, "POST", {"name": "test.Echo"})[0] == 404
    assert off.hooks.rules == ()
    monkeypatch.setenv("MESETA_TEST_HOOKS", "1")
    on = make_node(http_port=0)
    assert call(on, "GET") == (200, {"rules": []})


def test_a_posted_rule_drops_the_first_count_messages_from_a_peer(
        make_node: Callable[..., Node]) -> None:
    a, b = make_node(), make_node(http_port=0, test_hooks=True)
    inbox, box = spawn_inbox(a)
    worker = spawn(b, Worker, "worker")
    status, rule = call(b, "POST", {"direction": "in", "name": "test.Echo", "peer": str(inbox),
                                    "count": 2})
    assert status == 201 and rule["active"] and rule["hits"] == 0
    for seq in range(4):
        a.send(inbox, worker, Echo(seq=seq))
    assert [box.get_msg().seq for _ in range(2)] == [2, 3]
    assert call(b, "GET")[1]["rules"] == [
        {"id": rule["id"], "direction": "in", "name": "test.Echo", "peer": str(inbox), "count": 2,
         "hits": 2, "active": False}]


def test_an_outbound_rule_for_every_message_partitions_until_deleted(
        make_node: Callable[..., Node]) -> None:
    a, b = make_node(http_port=0, test_hooks=True), make_node()
    inbox, box = spawn_inbox(a)
    worker = spawn(b, Worker, "worker")
    assert call(a, "POST", {"direction": "out", "peer": b.address})[0] == 201
    a.send(inbox, worker, Add(n=5))
    a.send(inbox, worker, Echo(seq=1))
    in_process = a.hooks.drop(Echo, to="nobody")  # a test's own rule stays installed
    assert call(a, "DELETE") == (200, {"removed": 1})
    assert a.hooks.rules == (in_process,)
    a.send(inbox, worker, GetCount())
    reply = box.get_msg()
    assert isinstance(reply, Count) and reply.total == 0  # the Add never arrived
    assert a.stats["dropped/hook"] == 2 and box.messages.empty()


def test_one_rule_can_be_deleted_by_id(make_node: Callable[..., Node]) -> None:
    node = make_node(http_port=0, test_hooks=True)
    first = call(node, "POST", {"name": "test.Echo"})[1]
    second = call(node, "POST", {"name": "*", "direction": "out"})[1]
    assert second["name"] == "*" and second["peer"] is None
    assert call(node, "DELETE", query=f"?id={first['id']}") == (200, {"removed": 1})
    assert [r["id"] for r in call(node, "GET")[1]["rules"]] == [second["id"]]
    assert call(node, "DELETE", query="?id=x")[0] == 400


@pytest.mark.parametrize(("raw", "error"), [
    (b"{not json", "not JSON"),
    (b"[1, 2]", "JSON object"),
    (b'{"direction": "sideways"}', "direction"),
    (b'{"name": "NoSuchMessage"}', "NoSuchMessage"),
    (b'{"name": 3}', "name"),
    (b'{"count": 0}', "count"),
    (b'{"count": true}', "count"),
    (b'{"peer": ""}', "peer"),
    (b'{"drop": "all"}', "unknown field"),
])
def test_a_bad_rule_is_answered_400_with_the_reason(
        make_node: Callable[..., Node], raw: bytes, error: str) -> None:
    node = make_node(http_port=0, test_hooks=True)
    status, body = call(node, "POST", raw=raw)
    assert status == 400 and error in body["error"]
    assert node.hooks.rules == ()
    with pytest.raises(BadRule, match=error):
        parse_rule(raw)


def test_other_methods_are_refused(make_node: Callable[..., Node]) -> None:
    node = make_node(http_port=0, test_hooks=True)
    assert call(node, "PUT", {"name": "test.Echo"})[0] == 405
