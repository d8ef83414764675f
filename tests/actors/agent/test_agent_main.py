"""``meseta-agent`` as a real OS process: its start line, SIGTERM, a port in use."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def start(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "actors.agent.main", "--master=127.0.0.1:1", "--port=0",
         f"--work_dir={tmp_path}", "--registration_backoff_factor=1secs", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_prints_its_addresses_and_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    proc = start(tmp_path, "--http_port=0")
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("meseta-agent: agent@127.0.0.1:") and " http://127.0.0.1:" in line
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_taken_http_port_exits_1_with_a_message(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        proc = start(tmp_path, f"--http_port={taken.getsockname()[1]}")
        try:
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 1 and "meseta-agent: cannot bind HTTP" in err
