"""The checks that touch the system: a command, an HTTP GET, a TCP connect.

``SystemProber(directory)`` is the ``Prober`` the command executor gives its
``HealthChecker``; each ``run`` starts one worker thread (so the executor's actor never
blocks) that reports once through ``done``:

- COMMAND: the check's ``CommandInfo`` (``sh -c value`` when ``shell``, else ``value``
  with ``arguments``), in ``directory`` (the task's sandbox), with the executor's
  environment plus the check's ``environment``, stdin from /dev/null and stdout and
  stderr to the executor's stderr, as Mesos' ``CheckerProcess::commandCheck`` does. It
  runs in a process group of its own; ``cancel`` (a timeout) kills that group. Exit
  status 0 is healthy.
- HTTP: ``GET scheme://127.0.0.1:port/path`` (Mesos too targets 127.0.0.1), following
  redirects and, for https, not verifying the certificate (Mesos runs ``curl -L -k``);
  no proxy. Healthy when the final status is in ``statuses``, or, with no
  ``statuses``, in [200, 400). (Mesos' built-in executors ignore ``statuses``; we
  honour it when given.)
- TCP: a connection to 127.0.0.1:port succeeds.

HTTP and TCP bound their socket calls by the check's timeout; the checker enforces the
timeout of every kind and ignores a late answer.
"""

from __future__ import annotations

import functools
import os
import signal
import socket
import subprocess
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from actors.messages.tasks import CommandInfo, HealthCheck, HealthCheckType, HTTPCheckInfo
from frameworks.health.checker import ProbeResult, Running
from transport.affinity import unpinned

if TYPE_CHECKING:  # imported when first used: the executor must import quickly
    import urllib.request

__all__ = ["CHECK_HOST", "SystemProber", "command_argv_of", "http_healthy"]

CHECK_HOST = "127.0.0.1"

Done = Callable[[ProbeResult], None]


def command_argv_of(command: CommandInfo) -> list[str]:
    """The argv of a ``CommandInfo`` (``sh -c value`` when shell)."""
    if not command.value:
        raise ValueError("the command is empty")
    if command.shell:
        return ["/bin/sh", "-c", command.value]
    return [command.value, *command.arguments]


def http_healthy(status: int, statuses: tuple[int, ...] = ()) -> bool:
    """Whether an HTTP answer ``status`` is healthy (see the module docstring)."""
    return status in statuses if statuses else 200 <= status < 400


class _Run:
    """A check under way on its worker thread; ``cancel`` kills its process group."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pgid: int | None = None
        self.cancelled = False

    def started(self, pgid: int) -> bool:
        """Note the check's process group; ``False`` (and the group killed) if cancelled."""
        with self._lock:
            self._pgid = pgid
            if not self.cancelled:
                return True
        _kill_group(pgid)
        return False

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            pgid = self._pgid
        if pgid is not None:
            _kill_group(pgid)


class SystemProber:
    """Runs each check on a thread of its own; see the module docstring."""

    def __init__(self, directory: str = "") -> None:
        self.directory = directory

    def run(self, check: HealthCheck, timeout: float, done: Done) -> Running:
        run = _Run()
        target: Callable[..., ProbeResult]
        args: tuple[Any, ...]
        if check.type is HealthCheckType.COMMAND:
            assert check.command is not None
            target, args = self._command, (check.command, run)
        elif check.type is HealthCheckType.HTTP:
            assert check.http is not None
            target, args = _http, (check.http, timeout)
        else:
            assert check.tcp is not None
            target, args = _tcp, (check.tcp.port, timeout)
        with unpinned():  # the check's processes get every CPU, as the task does
            threading.Thread(target=_report, args=(target, args, done), daemon=True,
                             name=f"health-{check.type.name.lower()}").start()
        return run

    def _command(self, command: CommandInfo, run: _Run) -> ProbeResult:
        env = dict(os.environ)
        if command.environment is not None:
            env.update(command.environment.to_dict())
        try:
            proc = subprocess.Popen(command_argv_of(command), cwd=self.directory or None,
                                    env=env, stdin=subprocess.DEVNULL,
                                    stdout=2, start_new_session=True)
        except (OSError, ValueError) as exc:
            return ProbeResult(False, f"Failed to launch the command: {exc}")
        if not run.started(proc.pid):
            proc.wait()
            return ProbeResult(False, "cancelled")
        returncode = proc.wait()
        if returncode == 0:
            return ProbeResult(True, "Command exited with status 0")
        if returncode < 0:
            return ProbeResult(False, f"Command terminated with signal {_signal_name(-returncode)}")
        return ProbeResult(False, f"Command exited with status {returncode}")


def _report(target: Callable[..., ProbeResult], args: tuple[Any, ...], done: Done) -> None:
    try:
        result = target(*args)
    except Exception as exc:  # a probe bug must still end the check, as a failure
        result = ProbeResult(False, f"the check failed: {exc!r}")
    done(result)


@functools.cache
def _opener(https: bool) -> urllib.request.OpenerDirector:
    """No proxy; for https no certificate check (Mesos' ``curl -k``). Built once: an
    SSL context costs milliseconds to make."""
    import urllib.request

    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
    if https:
        import ssl

        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        handlers.append(urllib.request.HTTPSHandler(context=context))
    return urllib.request.build_opener(*handlers)


def _http(http: HTTPCheckInfo, timeout: float) -> ProbeResult:
    import urllib.error

    scheme = http.scheme or "http"
    url = f"{scheme}://{CHECK_HOST}:{http.port}{http.path or '/'}"
    try:
        with _opener(scheme == "https").open(url, timeout=timeout or None) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return ProbeResult(False, f"GET {url} failed: {reason}")
    if http_healthy(status, http.statuses):
        return ProbeResult(True, f"GET {url}: {status}")
    return ProbeResult(False, f"GET {url}: unexpected HTTP status {status}")


def _tcp(port: int, timeout: float) -> ProbeResult:
    try:
        with socket.create_connection((CHECK_HOST, port), timeout=timeout or None):
            pass
    except OSError as exc:
        return ProbeResult(False, f"TCP connection to {CHECK_HOST}:{port} failed: {exc}")
    return ProbeResult(True, f"TCP connection to {CHECK_HOST}:{port} succeeded")


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)
