"""Hostile HTTP: named generators of raw requests, sent over plain sockets.

Each attack in ``HTTP_ATTACKS`` (registered with ``@http_attack(name, weight)``) makes the
bytes of one request for a node's HTTP port: request lines that are not HTTP, huge or
countless headers, bad JSON (and bodies that lie about their length) to the POST routes
(``/master/teardown``, ``/api/v1/scheduler``, ``/api/v1/executor``, ``/__hooks__``: a
route that does not exist yet answers 404, later 400 -- either will do: the node must
stay up and answer), hostile paths and queries. ``send_raw`` writes one and reads the
status line back (bounded in time and size); ``Slowloris`` holds a bounded number of
half-sent requests open for the length of the campaign.

Used by the campaign (``scripts/benchmarks/hostile.py``) next to the ZeroMQ attacks of
``frameworks.hostile.wire``.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random

__all__ = ["HTTP_ATTACKS", "HttpAttack", "Slowloris", "http_attack", "send_raw"]

POST_ROUTES = ("/master/teardown", "/teardown", "/api/v1/scheduler", "/api/v1/executor",
               "/api/v1", "/__hooks__", "/master/state", "/state", "/files/read")
GET_ROUTES = ("/master/state", "/state", "/master/tasks", "/__processes__", "/__trace__",
              "/files/read", "/files/browse", "/metrics/snapshot", "/master/redirect",
              "/monitor/statistics", "/webui/app.js", "/")


@dataclass(frozen=True)
class HttpAttack:
    name: str
    weight: float
    make: Callable[[Random, str], bytes]
    """``make(rng, host_port)``: the raw bytes of one request."""


HTTP_ATTACKS: dict[str, HttpAttack] = {}


def http_attack(name: str, weight: float
                ) -> Callable[[Callable[[Random, str], bytes]], Callable[[Random, str], bytes]]:
    def register(fn: Callable[[Random, str], bytes]) -> Callable[[Random, str], bytes]:
        HTTP_ATTACKS[name] = HttpAttack(name, weight, fn)
        return fn

    return register


def _request(method: str, path: str, host: str, body: bytes = b"",
             headers: dict[str, str] | None = None, length: int | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    for key, value in (headers or {}).items():
        lines.append(f"{key}: {value}")
    lines.append(f"Content-Length: {len(body) if length is None else length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape") + body


@http_attack("http_malformed", 3)
def _malformed(rng: Random, host: str) -> bytes:
    return rng.choice([
        b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"\r\n\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost\r\n\r\n", b"GET / HTTP/1.1\r\n: x\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n",
        b"GET /\x00\xff HTTP/1.1\r\n\r\n", rng.randbytes(rng.randrange(1, 2048)),
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + rng.randbytes(64),  # a TLS hello
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    ])


@http_attack("http_huge_headers", 1)
def _huge_headers(rng: Random, host: str) -> bytes:
    if rng.random() < 0.5:
        return _request("GET", "/master/state", host, headers={"X-Big": "a" * 200_000})
    many = {f"X-H{i}": "v" for i in range(rng.choice([200, 5000]))}
    return _request("GET", "/state", host, headers=many)


@http_attack("http_bad_json", 4)
def _bad_json(rng: Random, host: str) -> bytes:
    body = rng.choice([
        b"{", b"null", b"[]", b"{\"type\": 7}", b"{\"type\": \"SUBSCRIBE\"}", b"\xff\xfe",
        b"[" * 100_000 + b"]" * 100_000, b"{\"a\":" * 50_000 + b"1" + b"}" * 50_000,
        json.dumps({"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": 5}}}).encode(),
        json.dumps({"type": "ACCEPT", "framework_id": {"value": "x" * 10_000}}).encode(),
        b"frameworkId=" + b"%" * 1000, rng.randbytes(rng.randrange(1, 4096)),
    ])
    ctype = rng.choice(["application/json", "application/x-protobuf", "text/plain",
                        "application/x-www-form-urlencoded", "multipart/form-data; boundary="])
    length = rng.choice([None, None, None, 0, len(body) // 2])
    return _request("POST", rng.choice(POST_ROUTES), host, body,
                    {"Content-Type": ctype, "Accept": "application/json"}, length)


@http_attack("http_paths", 3)
def _paths(rng: Random, host: str) -> bytes:
    path = rng.choice(GET_ROUTES) + rng.choice([
        "", "?path=../../../../etc/passwd", "?path=/etc/shadow&offset=-5&length=1e99",
        "?limit=-1&offset=x&order=sideways", "?since=abc&follow=1&timeout=-1",
        "?since=nan", "?framework_id=" + "x" * 8000, "/%2e%2e/%2e%2e", "%00", "?a=%ff%fe",
        "?" + "&".join(f"k{i}=v" for i in range(2000)), "/" + "a" * 30_000,
    ])
    method = rng.choice(["GET", "GET", "HEAD", "DELETE", "PUT", "OPTIONS", "TRACE", "BREW"])
    return _request(method, path, host)


def send_raw(address: tuple[str, int], data: bytes, timeout: float = 3.0) -> str:
    """Send one raw request; the status code read back, or ``closed``/``timeout``/``refused``."""
    try:
        with socket.create_connection(address, timeout=timeout) as sock:
            try:
                sock.sendall(data)
            except OSError:  # the server may close on a bad request before reading it all
                pass
            head = b""
            while len(head) < 65536 and b"\r\n" not in head:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                head += chunk
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:
        return "timeout"
    except OSError:
        return "closed"
    parts = head.split(b" ", 2)
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
        return parts[1].decode()
    return "closed"


@dataclass
class Slowloris:
    """At most ``limit`` connections each holding half a request (no end of headers)."""

    limit: int = 16
    socks: list[socket.socket] = field(default_factory=list)

    def open(self, address: tuple[str, int], rng: Random) -> bool:
        if len(self.socks) >= self.limit:
            return False
        try:
            sock = socket.create_connection(address, timeout=5.0)
            sock.sendall(b"GET /master/state HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10)
        except OSError:
            return False
        self.socks.append(sock)
        return True

    def close(self) -> None:
        for sock in self.socks:
            sock.close()
        self.socks.clear()
