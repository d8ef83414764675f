"""The master's flags and config, and the ``meseta-master`` program end to end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from actors.master.config import MasterConfig, flags, from_flags
from transport.flags import FlagError

ROOT = Path(__file__).resolve().parents[3]


def parse(*argv: str, env: dict[str, str] | None = None) -> MasterConfig:
    return from_flags(flags().parse(list(argv), env=env or {}, exit_on_error=False))


def test_defaults_are_mesos_defaults() -> None:
    config = parse()
    assert (config.ip, config.port, config.effective_http_port) == ("127.0.0.1", 5050, 5150)
    assert config.offer_timeout is None and config.allocation_interval == 1.0
    assert (config.agent_ping_timeout, config.max_agent_ping_timeouts) == (15.0, 5)
    assert config.total_ping_timeout == 75.0
    assert config.agent_reregister_timeout == 600.0  # Mesos' 10mins
    assert config.registry_gc_interval == 900.0  # 15mins
    assert config.registry_max_agent_age == 14 * 86400.0  # 2weeks
    assert config.registry_max_agent_count == 100 * 1024


def test_registry_gc_flags_take_durations_and_a_count() -> None:
    config = parse("--registry_gc_interval=1secs", "--registry_max_agent_age=3days",
                   env={"MESETA_REGISTRY_MAX_AGENT_COUNT": "2"})
    assert config.registry_gc_interval == 1.0
    assert config.registry_max_agent_age == 3 * 86400.0
    assert config.registry_max_agent_count == 2
    assert parse("--registry_max_agent_age=2weeks").registry_max_agent_age == 14 * 86400.0
    for bad in ({"registry_gc_interval": 0.0}, {"registry_max_agent_age": -1.0},
                {"registry_max_agent_count": -1}):
        with pytest.raises(ValueError, match="registry_"):
            MasterConfig(**bad)


def test_flags_and_environment_fallbacks() -> None:
    config = parse("--port=6000", "--offer_timeout", "30secs", "--trace",
                   env={"MESETA_AGENT_PING_TIMEOUT": "2secs", "MESETA_LOG_FORMAT": "json"})
    assert config.port == 6000 and config.effective_http_port == 6100
    assert config.offer_timeout == 30.0 and config.trace
    assert config.agent_ping_timeout == 2.0 and config.log_format == "json"
    assert parse("--port=0").effective_http_port == 0
    assert parse("--http_port=0").effective_http_port == 0
    assert parse("--agent_reregister_timeout=3secs").agent_reregister_timeout == 3.0
    assert parse(env={"MESETA_AGENT_REREGISTER_TIMEOUT": "2mins"}).agent_reregister_timeout == 120


@pytest.mark.parametrize("argv", [
    ["--port=70000"], ["--offer_timeout=0secs"], ["--agent_ping_timeout=1hrs"],
    ["--max_agent_ping_timeouts=0"], ["--log_format=xml"], ["--allocation_interval=soon"],
    ["--agent_reregister_timeout=0secs"], ["--registry_gc_interval=0secs"],
    ["--registry_gc_interval=often"], ["--registry_max_agent_age=old"],
    ["--registry_max_agent_count=-1"], ["--registry_max_agent_count=many"],
])
def test_bad_values_are_refused_with_the_flag_named(argv: list[str]) -> None:
    with pytest.raises(FlagError, match=argv[0].split("=")[0]):
        parse(*argv)


def _start(*argv: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "actors.master.main", *argv], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


@pytest.mark.slow
def test_meseta_master_prints_its_addresses_serves_state_and_stops_on_sigterm() -> None:
    proc = _start("--port=0", "--log_level=warning")
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        assert line[0] == "meseta-master:" and line[1].startswith("master@127.0.0.1:")
        with urllib.request.urlopen(f"{line[2]}/master/state", timeout=20) as resp:
            state = json.load(resp)
        assert state["pid"] == line[1] and state["frameworks"] == []
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_meseta_master_exits_2_with_a_message_on_a_bad_registry_gc_flag() -> None:
    proc = _start("--port=0", "--registry_gc_interval=often")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "--registry_gc_interval" in err and "often" in err


@pytest.mark.slow
def test_meseta_master_exits_1_when_its_port_is_taken() -> None:
    first = _start("--port=0", "--log_level=warning")
    try:
        assert first.stdout is not None
        port = first.stdout.readline().split()[1].rsplit(":", 1)[1]
        second = _start(f"--port={port}", "--http_port=0")
        _, err = second.communicate(timeout=30)
        assert second.returncode == 1 and "cannot start" in err and port in err
    finally:
        first.kill()
        first.wait()
