"""``--switch_user`` below the agent: who ``run_as`` picks, and both launchers really
dropping to the user (the subprocess launcher here; the warm one in the e2e tests)."""

from __future__ import annotations

import os
import pwd
import threading
from pathlib import Path

import pytest

from actors.agent.launcher import LaunchSpec, SubprocessLauncher, joining_argv
from actors.agent.users import RunAs, UnknownUser, chown_sandbox, run_as

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")


def test_run_as_stays_the_agents_user_unless_root_switch_user_and_a_user() -> None:
    assert run_as("nobody", switch_user=False, euid=0) is None
    assert run_as("nobody", switch_user=True, euid=1000) is None
    assert run_as("", switch_user=True, euid=0) is None
    who = run_as("nobody", switch_user=True, euid=0)
    assert who is not None and who.uid == pwd.getpwnam("nobody").pw_uid
    assert who.gid in who.groups
    with pytest.raises(UnknownUser, match="No such user 'no-such-user-meseta'"):
        run_as("no-such-user-meseta", euid=0)


def test_the_cgroup_prologue_joins_as_root_then_drops_with_setpriv() -> None:
    who = RunAs("nobody", 65534, 65534, (65534,), "/nonexistent")
    argv = joining_argv(("/bin/true",), ("/cg/cgroup.procs",), who)
    script = argv[2]
    assert script.index("cgroup.procs") < script.index("setpriv --reuid=65534 --regid=65534")
    assert joining_argv(("/bin/true",), (), who) == ("/bin/true",)


@root_only
def test_the_subprocess_launcher_runs_the_executor_as_the_user(tmp_path: Path) -> None:
    who = run_as("nobody")
    assert who is not None
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    tmp_path.chmod(0o755)
    (sandbox / "stdout").touch()
    (sandbox / "stderr").touch()
    chown_sandbox(str(sandbox), who)
    assert (sandbox / "stdout").stat().st_uid == who.uid
    exited = threading.Event()
    launcher = SubprocessLauncher()
    launcher.start(lambda pid, status: exited.set())
    spec = LaunchSpec(("/bin/sh", "-c", "id -u > uid; id -G >> uid"), {"PATH": "/usr/bin:/bin"},
                      str(sandbox), str(sandbox / "stdout"), str(sandbox / "stderr"),
                      run_as=who)
    launcher.launch(spec)
    assert exited.wait(30)
    uid, groups = (sandbox / "uid").read_text().splitlines()
    assert int(uid) == who.uid
    assert {int(g) for g in groups.split()} == set(who.groups)
