"""The recovery flags (Mesos' names and defaults), the executor's recovery environment,
and ``meseta-agent`` refusing a corrupt checkpoint (a real process)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from actors.agent import checkpoint as paths
from actors.agent.config import AgentConfig, flags, from_flags
from actors.agent.executors import executor_environment
from actors.messages import CommandInfo, ExecutorInfo, FrameworkInfo
from transport import PID
from transport.flags import FlagError


def parse(*argv: str, env: dict[str, str] | None = None) -> AgentConfig:
    return from_flags(flags().parse(["--master=m:1", *argv], env=env or {},
                                    exit_on_error=False))


def test_recovery_defaults_follow_mesos() -> None:
    config = parse()
    assert (config.recover, config.strict) == ("reconnect", True)
    assert config.reconfiguration_policy == "equal"
    assert config.executor_reregistration_timeout == 2.0
    assert config.recovery_timeout == 900.0
    shown = config.to_flags()
    assert (shown["recover"], shown["strict"]) == ("reconnect", "true")
    assert shown["reconfiguration_policy"] == "equal"
    assert shown["executor_reregistration_timeout"] == "2.0secs"
    assert shown["recovery_timeout"] == "900.0secs"


def test_recovery_flags_parse_and_fall_back_to_the_environment() -> None:
    config = parse("--recover=cleanup", "--no-strict", "--executor_reregistration_timeout=5secs",
                   "--executor_reregistration_retry_interval=0secs",
                   env={"MESETA_RECOVERY_TIMEOUT": "1mins",
                        "MESETA_RECONFIGURATION_POLICY": "additive"})
    assert (config.recover, config.strict) == ("cleanup", False)
    assert config.reconfiguration_policy == "additive"
    assert config.executor_reregistration_timeout == 5.0
    assert config.executor_reregistration_retry_interval == 0.0
    assert config.recovery_timeout == 60.0


@pytest.mark.parametrize("argv", [
    ["--recover=maybe"], ["--executor_reregistration_timeout=16secs"],
    ["--executor_reregistration_timeout=0secs"], ["--recovery_timeout=0secs"],
    ["--strict=perhaps"], ["--reconfiguration_policy=any"], ["--reconfiguration_policy="],
])
def test_bad_recovery_flags_are_refused(argv: list[str]) -> None:
    with pytest.raises(FlagError):
        parse(*argv)


def test_a_bad_reconfiguration_policy_exits_with_a_message() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "actors.agent.main", "--master=127.0.0.1:1",
         "--reconfiguration_policy=superset"], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "reconfiguration_policy" in proc.stderr and "equal, additive" in proc.stderr


def test_checkpointing_executors_are_told_the_recovery_timeout() -> None:
    executor = ExecutorInfo(executor_id="e", framework_id="F", command=CommandInfo(value="x"))

    def env(checkpoint: bool) -> dict[str, str]:
        return executor_environment(
            agent=PID("agent", "h", 1), framework=FrameworkInfo(
                user="u", name="n", id="F", checkpoint=checkpoint),
            executor=executor, directory="/d", run_id="r", grace_period=5.0, host="h",
            recovery_timeout=42.0, parent={})

    assert env(True)["MESETA_RECOVERY_TIMEOUT"] == "42.0"
    assert env(True)["MESETA_CHECKPOINT"] == "1"
    assert "MESETA_RECOVERY_TIMEOUT" not in env(False)


@pytest.mark.slow
def test_the_agent_exits_1_on_a_corrupt_checkpoint_saying_which_file(tmp_path: Path) -> None:
    agent_info = tmp_path / "meta" / "agents" / "S1" / "agent.info"
    agent_info.parent.mkdir(parents=True)
    agent_info.write_bytes(b"\xc1\xc1 garbage")
    paths.write_link(paths.latest_agent_link(str(tmp_path)), "S1")
    proc = subprocess.run(
        [sys.executable, "-m", "actors.agent.main", "--master=127.0.0.1:1", "--port=0",
         "--http_port=0", f"--work_dir={tmp_path}"],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "recovery failed: corrupt checkpoint" in proc.stderr and "agent.info" in proc.stderr
    relaxed = subprocess.Popen(
        [sys.executable, "-m", "actors.agent.main", "--master=127.0.0.1:1", "--port=0",
         "--http_port=0", f"--work_dir={tmp_path}", "--no-strict"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert relaxed.stdout is not None
        assert relaxed.stdout.readline().startswith("meseta-agent: agent@")
    finally:
        relaxed.kill()
        relaxed.wait()
