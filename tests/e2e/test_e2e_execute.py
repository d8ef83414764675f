"""End to end: ``meseta-execute`` runs one command on a real cluster, like mesos-execute."""

from __future__ import annotations

import subprocess

from tests.e2e.conftest import BIN, LocalCluster
from tests.e2e.security import CREDENTIALS, credentials_flag


def _execute(master: str, command: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "meseta-execute"), f"--master={master}", "--name=e2e",
                           f"--command={command}", *flags], capture_output=True, text=True,
                          timeout=120)


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


def test_meseta_execute_reads_an_authenticating_agent_only_with_good_credentials(
        cluster: LocalCluster) -> None:
    """An agent with --authenticate_http_readonly: the task runs either way (the framework
    talks to the master over ZeroMQ), its stdout is shown only with good credentials, and
    missing or wrong ones get one clear line (no traceback, no reading the disk instead)."""
    master = cluster.master("--allocation_interval=100ms")
    cluster.agent(master, "cpus:4;mem:4096;disk:4096;ports:[31000-32000]",
                  "--authenticate_http_readonly", credentials_flag())
    good = _execute(master.address, "echo from-the-guarded-task", "--principal=ops",
                    f"--secret={CREDENTIALS['ops']}")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "TASK_FINISHED" in good.stdout and "from-the-guarded-task" in good.stdout
    assert "cannot read" not in good.stderr
    for creds, hint in (((), "give --principal and --secret"),
                        (("--principal=ops", "--secret=wrong"), "credentials refused")):
        bad = _execute(master.address, "echo from-the-guarded-task", *creds)
        assert bad.returncode == 0, bad.stdout + bad.stderr  # the task did finish
        assert "TASK_FINISHED" in bad.stdout
        assert "from-the-guarded-task" not in bad.stdout
        assert "meseta-execute: cannot read the task's stdout" in bad.stderr, bad.stderr
        assert "HTTP 401" in bad.stderr and hint in bad.stderr, bad.stderr
        assert "Traceback" not in bad.stderr
    # `meseta execute` passes the CLI's own --principal / --secret on
    cli = subprocess.run([str(BIN / "meseta"), "execute", f"--master={master.http}",
                          "--principal=ops", f"--secret={CREDENTIALS['ops']}", "--name=cli",
                          "--command=echo via-the-cli"], capture_output=True, text=True,
                         timeout=120)
    assert cli.returncode == 0 and "via-the-cli" in cli.stdout, cli.stdout + cli.stderr
