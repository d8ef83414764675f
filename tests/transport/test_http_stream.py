"""Streamed HTTP answers: a process keeps writing after its handler returned, and learns
when the client goes away (the primitive under Mesos' scheduler/executor HTTP APIs)."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable

from transport import HttpRequest, HttpResponse, HttpStream, Node, Process

WAIT = 30.0


class Streamer(Process):
    """``/sub`` opens a stream (first chunk written by the handler); ``/push?x=`` writes to
    every open stream; ``/end`` closes them. Records which streams' clients went away."""

    def on_start(self) -> None:
        self.streams: list[HttpStream] = []
        self.dropped = threading.Event()
        self.thread_of_close = ""
        self.route("/sub", self._sub)
        self.route("/push", self._push)
        self.route("/end", self._end)

    def _sub(self, request: HttpRequest) -> HttpResponse:
        stream = HttpStream(on_close=self._gone)
        stream.write(b"hello " + request.headers.get("x-who", "?").encode() + b"\n")
        self.streams.append(stream)
        return HttpResponse(200, content_type="text/plain", headers={"X-Id": "7"}, stream=stream)

    def _push(self, request: HttpRequest) -> HttpResponse:
        sent = sum(s.write(request.query["x"].encode() + b"\n") for s in self.streams)
        return HttpResponse.json({"sent": sent})

    def _end(self, request: HttpRequest) -> HttpResponse:
        for s in self.streams:
            s.close()
        return HttpResponse.json({})

    def _gone(self) -> None:
        self.thread_of_close = threading.current_thread().name
        self.dropped.set()


def _get(node: Node, path: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", node.http_port, timeout=WAIT)
    conn.request("GET", path)
    body = conn.getresponse().read().decode()
    conn.close()
    return body


def _open(node: Node) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    conn = http.client.HTTPConnection("127.0.0.1", node.http_port, timeout=WAIT)
    conn.request("GET", "/s/sub", headers={"X-WHO": "ann"})
    return conn, conn.getresponse()


def test_stream_delivers_chunks_written_later_then_ends(
        make_node: Callable[..., Node]) -> None:
    node = make_node(http_port=0)
    node.spawn(Streamer, "s")
    conn, resp = _open(node)
    assert resp.status == 200 and resp.getheader("X-Id") == "7"
    assert resp.getheader("Transfer-Encoding") == "chunked"
    assert resp.readline() == b"hello ann\n"  # case-insensitive request headers
    assert '"sent": 1' in _get(node, "/s/push?x=one")
    assert resp.readline() == b"one\n"
    assert '"sent": 1' in _get(node, "/s/push?x=two")
    assert resp.readline() == b"two\n"
    _get(node, "/s/end")
    assert resp.read() == b""  # the writer's close ends the body
    conn.close()


def test_client_going_away_runs_on_close_on_the_process_thread(
        make_node: Callable[..., Node]) -> None:
    node = make_node(http_port=0)
    node.spawn(Streamer, "s")
    target = node.processes["s"]
    assert isinstance(target, Streamer)
    conn, resp = _open(node)
    assert resp.readline() == b"hello ann\n"
    resp.close()
    conn.close()
    assert target.dropped.wait(WAIT)
    assert target.thread_of_close != threading.current_thread().name
    # later writes are refused, and say so
    assert '"sent": 0' in _get(node, "/s/push?x=late")
