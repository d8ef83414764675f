"""``--switch_user`` end to end: the agent (root here) runs each executor, and so its
task, as the framework's or the command's user; the sandbox is that user's; a user that
does not exist is refused with Mesos' reason; ``--switch_user=false`` runs as root.

The agent's work_dir must be reachable by the task's user (the test's own temporary
directory is root-only), so these agents work in a world-traversable directory."""

from __future__ import annotations

import dataclasses
import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.messages import CommandInfo, Reason, TaskState
from tests.e2e.conftest import LocalCluster
from tests.e2e.harness import command_task, framework

FAST = ("--allocation_interval=100ms",)
RESOURCES = "cpus:4;mem:4096;disk:4096;ports:[31000-32000]"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")


@pytest.fixture
def open_work_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="meseta-users-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _uid_of_task(cluster: LocalCluster, work_dir: Path, user: str,
                 command_user: str = "", *agent_flags: str) -> tuple[str, Path]:
    master = cluster.master(*FAST)
    cluster.agent(master, RESOURCES, f"--work_dir={work_dir}", *agent_flags)
    with framework(master.address, user=user) as (driver, sched):
        offer = sched.wait("offer")
        task = dataclasses.replace(
            command_task("who", offer, ""),
            command=CommandInfo(value="id -u > uid; id -un >> uid", user=command_user))
        driver.launch_tasks([offer.id], [task])
        sched.wait_state("who", TaskState.TASK_FINISHED)
    found = list(work_dir.glob("agents/*/frameworks/*/executors/who/runs/*/uid"))
    assert found, "the task wrote no uid file"
    return found[0].read_text(), found[0]


def test_the_task_runs_as_the_frameworks_user_and_owns_its_sandbox(
        cluster: LocalCluster, open_work_dir: Path) -> None:
    nobody = pwd.getpwnam("nobody")
    text, path = _uid_of_task(cluster, open_work_dir, "nobody")
    assert text.split() == [str(nobody.pw_uid), "nobody"]
    assert path.parent.stat().st_uid == nobody.pw_uid
    assert path.stat().st_uid == nobody.pw_uid


def test_the_commands_user_wins_over_the_frameworks(
        cluster: LocalCluster, open_work_dir: Path) -> None:
    text, _ = _uid_of_task(cluster, open_work_dir, "root", "nobody")
    assert text.split()[1] == "nobody"


def test_with_switch_user_off_the_task_runs_as_the_agents_user(
        cluster: LocalCluster, open_work_dir: Path) -> None:
    text, _ = _uid_of_task(cluster, open_work_dir, "nobody", "", "--switch_user=false")
    assert text.split() == ["0", "root"]


def test_a_user_that_does_not_exist_is_refused_with_the_reason(
        cluster: LocalCluster, open_work_dir: Path) -> None:
    master = cluster.master(*FAST)
    cluster.agent(master, RESOURCES, f"--work_dir={open_work_dir}")
    with framework(master.address, user="no-such-user-meseta") as (driver, sched):
        offer = sched.wait("offer")
        driver.launch_tasks([offer.id], [command_task("ghost", offer, "true")])
        status = sched.wait_state("ghost", TaskState.TASK_LOST)
        assert status.reason is Reason.REASON_EXECUTOR_TERMINATED
        assert "No such user 'no-such-user-meseta'" in status.message
        assert "Failed to create executor directory" in status.message
