"""The system probes on their own: real commands, HTTP servers and sockets on 127.0.0.1."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.messages import CommandInfo, Environment, HealthCheck, HealthCheckType
from actors.messages.tasks import HTTPCheckInfo, TCPCheckInfo
from frameworks.health.checker import ProbeResult
from frameworks.health.probes import SystemProber

WAIT = 30.0


def probe(check: HealthCheck, directory: str = "", timeout: float = 5.0) -> ProbeResult:
    done = threading.Event()
    results: list[ProbeResult] = []

    def finished(result: ProbeResult) -> None:
        results.append(result)
        done.set()

    SystemProber(directory).run(check, timeout, finished)
    assert done.wait(WAIT), "the probe never answered"
    return results[0]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/ok")
        elif self.path == "/gone":
            self.send_response(302)
            self.send_header("Location", "/nowhere")
        else:
            self.send_response(200 if self.path == "/ok" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def web() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def http_check(port: int, path: str, **kwargs: Any) -> HealthCheck:
    return HealthCheck(type=HealthCheckType.HTTP, http=HTTPCheckInfo(port=port, path=path,
                                                                     **kwargs))


def test_http_follows_redirects_and_judges_the_final_answer(web: int) -> None:
    assert probe(http_check(web, "/moved")).healthy
    gone = probe(http_check(web, "/gone"))
    assert not gone.healthy and "404" in gone.message


def test_http_statuses_replace_the_default_range(web: int) -> None:
    assert not probe(http_check(web, "/ok", statuses=(204,))).healthy
    assert probe(http_check(web, "/nope", statuses=(404,))).healthy


def test_https_against_a_plain_server_is_a_failure_not_a_crash(web: int) -> None:
    result = probe(http_check(web, "/ok", scheme="https"))
    assert not result.healthy and "failed" in result.message


def test_a_silent_server_is_bounded_by_the_timeout() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)  # accepts at the kernel level, never answers
        result = probe(http_check(listener.getsockname()[1], "/"), timeout=0.3)
    assert not result.healthy


def test_tcp_probe_open_and_closed_ports() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        check = HealthCheck(type=HealthCheckType.TCP, tcp=TCPCheckInfo(port=port))
        assert probe(check).healthy
    assert not probe(check).healthy


def test_a_command_runs_in_the_directory_with_its_environment(tmp_path: Path) -> None:
    (tmp_path / "here").touch()
    check = HealthCheck(type=HealthCheckType.COMMAND, command=CommandInfo(
        value='test -f here && test "$MODE" = ready',
        environment=Environment.of({"MODE": "ready"})))
    assert probe(check, str(tmp_path)).healthy
    assert not probe(check, "/").healthy


def test_a_command_killed_by_a_signal_and_a_missing_program_fail() -> None:
    killed = probe(HealthCheck(type=HealthCheckType.COMMAND,
                               command=CommandInfo(value="kill -9 $$")))
    assert not killed.healthy and "SIGKILL" in killed.message
    missing = probe(HealthCheck(type=HealthCheckType.COMMAND,
                                command=CommandInfo(value="/no/such/check", shell=False)))
    assert not missing.healthy and "Failed to launch" in missing.message
