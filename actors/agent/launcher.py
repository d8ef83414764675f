"""How the agent starts and kills executor processes: the ``Launcher`` seam.

``AgentActor`` builds a ``LaunchSpec`` per executor run (``spec_for_command``) and asks
its launcher to ``launch`` it; the launcher reports each exit as ``on_exit(pid,
wait_status)`` from a thread of its own, which the actor turns into a ``_post`` into
itself. Every executor becomes the leader of its own session and process group
(``setsid``), so ``kill`` reaches its whole tree; ``kill_tree`` also hunts stray
descendants that made groups of their own (the command executor puts each task in
one), found with psutil before anything is signalled.

Launchers:

- ``SubprocessLauncher``: ``subprocess.Popen`` and one waiter thread per process;
- ``actors.agent.warm.WarmLauncher``: forks executors from a warm helper process that
  has the executor modules imported already (the default; a fresh interpreter per
  task costs ~100 ms);
- ``ExecutorLauncher``: what the agent uses: ``python -m module`` commands go to the
  warm launcher (when enabled), anything else to the subprocess launcher.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import psutil
import structlog

from actors.agent.users import RunAs
from actors.messages.tasks import CommandInfo
from transport.affinity import unpinned

__all__ = [
    "ExecutorLauncher",
    "ExitCallback",
    "LaunchError",
    "LaunchSpec",
    "Launcher",
    "SubprocessLauncher",
    "joining_argv",
    "kill_tree",
    "python_module",
    "spec_for_command",
]

_log = structlog.get_logger("meseta.agent.launcher")

ExitCallback = Callable[[int, int], None]
"""``on_exit(pid, wait_status)``; called from a launcher thread."""


class LaunchError(OSError):
    """The executor process could not be started."""


@dataclass(frozen=True, slots=True)
class LaunchSpec:
    """One executor process: a Python module (``module``) or a plain ``argv``."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    cwd: str
    stdout: str
    stderr: str
    module: str | None = None
    """``python -m <module>``: run in a warm-forked child when the launcher can."""
    module_args: tuple[str, ...] = ()
    cgroups: tuple[str, ...] = ()
    """``cgroup.procs`` files the child writes its own pid into before it runs anything
    (the containerizer's groups; see ``actors.agent.containerizer``)."""
    run_as: RunAs | None = None
    """The user the child becomes before it runs anything (``actors.agent.users``);
    ``None``: the agent's own."""


class Launcher(Protocol):
    """Starts executor processes and reports their exits."""

    def start(self, on_exit: ExitCallback) -> None:
        """Get ready; exits are reported through ``on_exit`` from now on."""
        ...

    def launch(self, spec: LaunchSpec) -> int:
        """Start ``spec`` in its own session; returns its pid; ``LaunchError`` on failure."""
        ...

    def kill(self, pid: int) -> None:
        """SIGKILL the process's group and every descendant (its exit is still reported)."""
        ...

    def stop(self) -> None:
        """Release the launcher's helpers (running executors are not touched)."""
        ...


_PYTHONS = ("python", "python3", f"python3.{sys.version_info.minor}")
_SHELL_CHARS = set(";&|<>$`\\\"'*?(){}[]~#\n")


def python_module(argv: tuple[str, ...] | list[str]) -> tuple[str, tuple[str, ...]] | None:
    """``(module, args)`` when ``argv`` is ``<python> -m module args…``, else None."""
    if len(argv) < 3 or argv[1] != "-m":
        return None
    exe = argv[0]
    if exe != sys.executable and os.path.basename(exe) not in _PYTHONS:
        return None
    return argv[2], tuple(argv[3:])


def spec_for_command(command: CommandInfo, env: Mapping[str, str], cwd: str, stdout: str,
                     stderr: str) -> LaunchSpec:
    """The launch of an executor's ``CommandInfo`` (shell: ``/bin/sh -c value``)."""
    if command.shell:
        argv: tuple[str, ...] = ("/bin/sh", "-c", command.value)
        # A plain "<python> -m module args" needs no shell: it can go warm.
        if not (_SHELL_CHARS & set(command.value)):
            words = tuple(shlex.split(command.value))
            if python_module(words) is not None:
                argv = words
    else:
        argv = (command.value, *command.arguments)
    found = python_module(argv)
    module, args = found if found is not None else (None, ())
    return LaunchSpec(argv, dict(env), cwd, stdout, stderr, module, args)


def joining_argv(argv: tuple[str, ...], cgroups: tuple[str, ...],
                 run_as: RunAs | None = None) -> tuple[str, ...]:
    """``argv`` behind a ``/bin/sh`` prologue that moves itself into ``cgroups`` first
    (then ``exec``s, keeping the pid); a failed join exits 127 before anything runs.
    With ``run_as`` the prologue (root, to write the cgroup files) then drops to that
    user with ``setpriv`` before the ``exec``."""
    if not cgroups:
        return argv
    joins = "; ".join(f"echo $$ > {shlex.quote(path)} || exit 127" for path in cgroups)
    drop = "" if run_as is None else (
        f"setpriv --reuid={run_as.uid} --regid={run_as.gid} "
        f"--groups={','.join(map(str, run_as.groups)) or run_as.gid} -- ")
    return ("/bin/sh", "-c", f'{joins}; exec {drop}"$@"', "meseta-join", *argv)


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid``'s process group and all its descendants (their own groups too)."""
    try:
        descendants = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        descendants = []
    own_group = os.getpgrp()
    groups = {pid}
    for proc in descendants:
        try:
            groups.add(os.getpgid(proc.pid))
        except OSError:
            pass
    for group in groups - {own_group, 0, 1}:
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass
    for proc in descendants:
        try:
            proc.kill()
        except psutil.Error:
            pass
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def _wait_status(returncode: int) -> int:
    """``Popen.returncode`` back to a ``waitpid`` status."""
    return -returncode & 0x7F if returncode < 0 else (returncode & 0xFF) << 8


class SubprocessLauncher:
    """``subprocess.Popen`` per executor, a waiter thread per process."""

    def __init__(self) -> None:
        self._on_exit: ExitCallback | None = None

    def start(self, on_exit: ExitCallback) -> None:
        self._on_exit = on_exit

    def launch(self, spec: LaunchSpec) -> int:
        with unpinned():  # the executor gets all the CPUs, not the agent's one
            try:
                with open(spec.stdout, "ab") as out, open(spec.stderr, "ab") as err:
                    argv = list(joining_argv(spec.argv, spec.cgroups, spec.run_as))
                    who = spec.run_as if not spec.cgroups else None  # else the prologue
                    proc = subprocess.Popen(argv, cwd=spec.cwd, env=dict(spec.env),
                                            stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                            start_new_session=True, close_fds=True,
                                            user=who.uid if who else None,
                                            group=who.gid if who else None,
                                            extra_groups=list(who.groups) if who else None)
            except OSError as exc:
                raise LaunchError(f"cannot start {spec.argv[0]!r}: {exc}") from exc
            threading.Thread(target=self._wait, args=(proc,), name=f"meseta-wait-{proc.pid}",
                             daemon=True).start()
        return proc.pid

    def _wait(self, proc: subprocess.Popen[bytes]) -> None:
        status = _wait_status(proc.wait())
        if self._on_exit is not None:
            self._on_exit(proc.pid, status)

    def kill(self, pid: int) -> None:
        kill_tree(pid)

    def stop(self) -> None:
        self._on_exit = None


class ExecutorLauncher:
    """Python-module executors through ``warm`` (if given), the rest through subprocess."""

    def __init__(self, warm: Launcher | None = None) -> None:
        self.warm = warm
        self.plain = SubprocessLauncher()

    def start(self, on_exit: ExitCallback) -> None:
        self.plain.start(on_exit)
        if self.warm is not None:
            try:
                self.warm.start(on_exit)
            except OSError as exc:
                _log.warning("warm launcher unavailable; using subprocesses", error=str(exc))
                self.warm = None

    def launch(self, spec: LaunchSpec) -> int:
        if spec.module is not None and self.warm is not None:
            try:
                return self.warm.launch(spec)
            except LaunchError as exc:
                _log.warning("warm launch failed; using a subprocess", error=str(exc))
        return self.plain.launch(spec)

    def kill(self, pid: int) -> None:
        kill_tree(pid)

    def stop(self) -> None:
        self.plain.stop()
        if self.warm is not None:
            self.warm.stop()
