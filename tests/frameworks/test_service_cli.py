"""``python -m frameworks.service``: bad flags and files exit with a message; clients too."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from frameworks.service import cli


def run(*argv: str) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "frameworks.service", *argv],
                          capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_no_verb_or_an_unknown_one_prints_usage() -> None:
    code, _, err = run("launch")
    assert code == 2 and "usage: python -m frameworks.service {run|apps|" in err


@pytest.mark.parametrize("flag, message", [
    ("--master=nohost", "--master"),
    ("--role=a b", "--role"),
    ("--http_port=70000", "--http_port"),
    ("--failover_timeout=soon", "--failover_timeout"),
    ("--reconciliation_interval=0", "--reconciliation_interval"),
    ("--reconciliation_initial_delay=15s", "--reconciliation_initial_delay"),
])
def test_bad_run_flags_exit_2_with_a_message(flag: str, message: str) -> None:
    code, _, err = run("run", flag)
    assert code == 2 and message in err


def test_a_bad_apps_file_exits_2_naming_the_problem(tmp_path: Path) -> None:
    apps = tmp_path / "apps.json"
    apps.write_text(json.dumps([{"id": "web", "cmd": "x", "instances": "two"}]))
    code, _, err = run("run", f"--apps={apps}", "--http_port=0")
    assert code == 2 and "app 'web': 'instances' must be an integer" in err
    apps.write_text("{oops")
    code, _, err = run("run", f"--apps={apps}", "--http_port=0")
    assert code == 2 and "not JSON" in err
    code, _, err = run("run", f"--apps={tmp_path / 'missing.json'}", "--http_port=0")
    assert code == 2 and "missing.json" in err


def test_client_verbs_check_arguments_and_report_an_unreachable_service() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert cli.client("scale", ["web"], out, err) == 2
    assert "expected 2 argument(s)" in err.getvalue()
    assert cli.client("scale", ["web", "many"], out, err) == 2
    url = f"--url=http://127.0.0.1:{free_port()}"
    assert cli.client("apps", [url], out, err) == 1
    assert "cannot reach" in err.getvalue()


def test_a_taken_http_port_that_was_asked_for_exits_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = run("run", f"--http_port={port}")
    assert code == 2 and f"--http_port {port}" in err
