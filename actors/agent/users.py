"""Who an executor runs as: Mesos' ``--switch_user``.

When the agent runs as root and ``--switch_user`` is on (the default), an executor --
and so its tasks -- runs as its ``CommandInfo.user`` (the task's command's for a command
task, the executor's for a custom one) or else ``FrameworkInfo.user``: ``run_as`` looks
the user up (``RunAs``: uid, gid, the user's groups, home), ``chown_sandbox`` gives the
sandbox to it, and both launchers (``launcher``, ``warm``) drop to it in the child
before anything runs (``become``: groups, gid, then uid). A user that does not exist
raises ``UnknownUser`` and the task is refused with Mesos' message. Not root, switch_user
off, or no user named: ``run_as`` answers ``None`` and the executor runs as the agent's
own user. Called by ``running`` on the agent's thread (and ``become`` in the child).
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass

__all__ = ["RunAs", "UnknownUser", "become", "chown_sandbox", "run_as"]


class UnknownUser(LookupError):
    """The user a task should run as does not exist on this machine."""


@dataclass(frozen=True, slots=True)
class RunAs:
    """A user to switch to, looked up once by the agent."""

    user: str
    uid: int
    gid: int
    groups: tuple[int, ...]
    home: str


def run_as(user: str, switch_user: bool = True, euid: int | None = None) -> RunAs | None:
    """The user to switch to, or ``None`` to stay the agent's user (see the docstring)."""
    if not switch_user or not user or (os.geteuid() if euid is None else euid) != 0:
        return None
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise UnknownUser(f"No such user '{user}'") from None
    groups = tuple(os.getgrouplist(user, entry.pw_gid))
    return RunAs(user, entry.pw_uid, entry.pw_gid, groups, entry.pw_dir)


def chown_sandbox(directory: str, who: RunAs) -> None:
    """Give the sandbox (the run directory and everything in it) to ``who``."""
    os.chown(directory, who.uid, who.gid)
    for root, dirs, files in os.walk(directory):
        for name in dirs + files:
            os.chown(os.path.join(root, name), who.uid, who.gid, follow_symlinks=False)


def become(uid: int, gid: int, groups: tuple[int, ...] | list[int]) -> None:
    """Drop to ``uid`` for good (in a forked child, before it runs the executor)."""
    os.setgroups(list(groups))
    os.setgid(gid)
    os.setuid(uid)
