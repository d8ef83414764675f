"""End to end: ``meseta-execute`` runs one command on a real cluster, like mesos-execute."""

from __future__ import annotations

import subprocess

from tests.e2e.conftest import BIN, LocalCluster


def _execute(master: str, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "meseta-execute"), f"--master={master}", "--name=e2e",
                           f"--command={command}"], capture_output=True, text=True, timeout=120)


def test_meseta_execute_prints_states_and_output_and_exits_0(cluster: LocalCluster) -> None:
    master = cluster.master("--allocation_interval=100ms")
    cluster.agent(master)
    result = _execute(master.address, "echo from-the-task")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "TASK_RUNNING" in result.stdout
    assert "TASK_FINISHED" in result.stdout
    assert "from-the-task" in result.stdout


def test_meseta_execute_exits_1_when_the_task_fails(cluster: LocalCluster) -> None:
    master = cluster.master("--allocation_interval=100ms")
    cluster.agent(master)
    result = _execute(master.address, "exit 4")
    assert result.returncode == 1
    assert "TASK_FAILED" in result.stdout
