"""``meseta-execute``: run one command as a task on a cluster (Mesos' ``mesos-execute``).

::

    meseta-execute --master=127.0.0.1:5050 --name=hello --command='echo hello'
    meseta-execute --master=zk://127.0.0.1:2181/mesos --name=hello --command='echo hello'

It registers a framework (``--framework_name``, default ``meseta-execute instance``,
with the TASK_KILLING_STATE capability as Mesos does), takes the first offer that
fits ``--resources``, launches one command task (``TaskInfo.command``, no executor;
task id ``<name>-<8 hex digits>``), declines every other offer with a one-hour filter
and suppresses offers once the task is launched. Each status update is printed in
Mesos' words (``Received status update TASK_RUNNING for task 'hello-1a2b3c4d'``);
``--kill_after`` kills the task that long after it is RUNNING. At the end it prints
the task's ``stdout`` when it can reach it, tears the framework down and exits 0 only
if the task finished (TASK_FINISHED), else 1. Bad flags exit 2; no registration
within ``--registration_timeout`` exits 1 with a message.

Reading ``stdout`` is best effort. The agent keeps the sandbox at
``<work_dir>/agents/<agent_id>/frameworks/<framework_id>/executors/<task_id>/runs/latest``;
this tool asks the agent's HTTP endpoint (the offer's ``url``, else the agent's PID
with port + 100, Meseta's default ``--http_port``) for ``/state`` (``flags.work_dir``),
then ``/files/read?path=<sandbox>/stdout&offset=0``; when that route is missing it
reads the file directly if the path exists on this machine (a local cluster).
Anything else is skipped silently, except the agent's refusal: an agent with
``--authenticate_http_readonly`` wants ``--principal`` / ``--secret`` (HTTP Basic, sent
on every agent read; ``MESETA_PRINCIPAL`` / ``MESETA_SECRET`` also work), and
``--cacert`` trusts a CA for an agent serving HTTPS. The agent's 401 or 403 (its
``access_sandboxes`` ACL) is printed as one line on stderr, and the file is then not read
from disk either; the exit status still says how the task ended. The credentials go only
to HTTP reads (the ``meseta`` CLI's ``HttpAccess``); the framework authenticates to the
master with the driver's own ``MESETA_CREDENTIAL``.
"""

from __future__ import annotations

import json
import shlex
import sys
import threading
import urllib.error
import urllib.parse
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from actors.cli.client import CliError, HttpAccess
from actors.messages import (
    CommandInfo,
    Environment,
    Filters,
    FrameworkCapability,
    FrameworkInfo,
    Offer,
    TaskInfo,
    TaskState,
    TaskStatus,
    is_terminal,
)
from actors.resources import Resources
from actors.resources.values import validate_role
from frameworks.scheduler import Scheduler
from frameworks.scheduler_driver import DriverStatus, SchedulerDriver, master_location
from transport import PID
from transport.flags import Duration, Flags, checked_by
from transport.logs import configure

__all__ = ["ExecuteScheduler", "SandboxRefused", "check_master", "check_role", "flags",
           "main", "read_sandbox_stdout", "run"]

DECLINE_SECONDS = 3600.0
"""Offers this tool does not use are declined for an hour."""


check_master = checked_by(master_location)
"""The ``--master`` check (host:port or zk://...) every framework's CLI uses."""


def _check_resources(value: str) -> str | None:
    try:
        if Resources.parse(value).empty:
            return "no resources given"
    except ValueError as exc:
        return f"bad resources: {exc}"
    return None


def parse_env(value: str) -> dict[str, str]:
    """``--env``: a JSON object ``{"NAME": "value"}``, inline or ``file:///path``."""
    text = Path(value[len("file://"):]).read_text() if value.startswith("file://") else value
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object of variable names to values")
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}


def _check_env(value: str) -> str | None:
    try:
        parse_env(value)
    except (OSError, ValueError) as exc:
        return f"bad environment: {exc}"
    return None


check_role = checked_by(validate_role)


def flags() -> Flags:
    """The flags of ``meseta-execute`` (Mesos' names, plus a few of Meseta's)."""
    f = Flags("meseta-execute", "Run one command as a task on a Meseta cluster.")
    f.add("master", str, "127.0.0.1:5050",
          "the master, host:port, or zk://host:port[,host:port]/path to find the leading "
          "master through ZooKeeper", check_master)
    f.add("name", str, None, "name of the task (required)")
    f.add("command", str, None, "the command to run (required)")
    f.add("resources", str, "cpus:0.1;mem:32", "resources for the command", _check_resources)
    f.add("shell", bool, True, "run the command with /bin/sh -c; else split it into argv")
    f.add("env", str, None, 'environment as JSON, {"NAME": "value"}, or file:///path',
          _check_env)
    f.add("kill_after", Duration, None, "kill the task this long after it runs (e.g. 10secs)")
    f.add("framework_name", str, "meseta-execute instance", "name the framework registers")
    f.add("checkpoint", bool, False, "enable checkpointing for the framework")
    f.add("role", str, "*", "role to register with", check_role)
    f.add("registration_timeout", Duration, 30.0,
          "give up when the framework is not registered within this time")
    f.add("ip", str, "127.0.0.1", "IP address this framework's node listens on")
    f.add("log_level", str, "warning", "log level of this tool's own log lines (to stderr)")
    f.add("principal", str, None, "HTTP Basic principal for reading the task's output from "
          "its agent (an agent with --authenticate_http_readonly)")
    f.add("secret", str, None, "the principal's HTTP secret")
    f.add("cacert", str, None, "trust this CA (PEM) for an agent serving HTTPS")
    return f


class ExecuteScheduler(Scheduler):
    """Launches one command task on the first fitting offer and waits for its end."""

    def __init__(self, name: str, command: CommandInfo, resources: Resources,
                 kill_after: float | None = None, out: TextIO = sys.stdout) -> None:
        self.name = name
        self.task_id = f"{name}-{uuid.uuid4().hex[:8]}"
        self.command = command
        self.resources = resources
        self.kill_after = kill_after
        self.out = out
        self.registered_event = threading.Event()
        self.done = threading.Event()
        self.launched_on: Offer | None = None
        self.final_state: TaskState | None = None
        self.error_message: str | None = None
        self._kill_timer: threading.Timer | None = None

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def registered(self, driver: SchedulerDriver, framework_id: str, master_info: Any) -> None:
        self._print(f"Subscribed with ID {framework_id}")
        self.registered_event.set()

    def reregistered(self, driver: SchedulerDriver, master_info: Any) -> None:
        self.registered_event.set()

    def resource_offers(self, driver: SchedulerDriver, offers: list[Offer]) -> None:
        for offer in offers:
            if self.launched_on is None and offer.resources.contains(self.resources):
                task = TaskInfo(name=self.name, task_id=self.task_id, agent_id=offer.agent_id,
                                resources=self.resources, command=self.command)
                driver.launch_tasks([offer.id], [task])
                self.launched_on = offer
                self._print(f"Submitted task '{self.task_id}' to agent '{offer.agent_id}'")
                driver.suppress_offers()
            else:
                driver.decline_offer(offer.id, Filters(refuse_seconds=DECLINE_SECONDS))

    def status_update(self, driver: SchedulerDriver, status: TaskStatus) -> None:
        if status.task_id != self.task_id:
            return
        self._print(f"Received status update {status.state.name} for task '{status.task_id}'")
        if status.message:
            self._print(f"  message: '{status.message}'")
        if status.source is not None:
            self._print(f"  source: {status.source.name}")
        if status.reason is not None:
            self._print(f"  reason: {status.reason.name}")
        if status.healthy is not None:
            self._print(f"  healthy?: {status.healthy}")
        if (status.state is TaskState.TASK_RUNNING and self.kill_after is not None
                and self._kill_timer is None):
            self._kill_timer = threading.Timer(self.kill_after, self._kill, (driver, status))
            self._kill_timer.daemon = True
            self._kill_timer.start()
        if is_terminal(status.state):
            self.final_state = status.state
            if self._kill_timer is not None:
                self._kill_timer.cancel()
            self.done.set()

    def _kill(self, driver: SchedulerDriver, status: TaskStatus) -> None:
        self._print(f"Asked to kill task '{status.task_id}' on agent '{status.agent_id}'")
        driver.kill_task(status.task_id, status.agent_id)

    def error(self, driver: SchedulerDriver, message: str) -> None:
        self.error_message = message
        self.done.set()


class SandboxRefused(Exception):
    """The agent refused to show the sandbox (401 or 403); the message says why."""


def read_sandbox_stdout(offer: Offer, framework_id: str, task_id: str,
                        agent_pid: PID | None = None, timeout: float = 5.0,
                        access: HttpAccess | None = None) -> str | None:
    """The task's ``stdout`` through the agent's HTTP endpoint or this machine's disk.

    The agent's HTTP endpoint is the offer's ``url`` if the master set it, else the
    agent's ZeroMQ PID with port + 100 (Meseta's default ``--http_port``); ``access``
    says how to reach it (credentials, CA). ``SandboxRefused`` when the agent refuses.
    """
    access = access or HttpAccess.from_env()
    bases = []
    if offer.url is not None:
        address = offer.url.address
        bases.append(f"{offer.url.scheme or access.scheme}://"
                     f"{address.ip or address.hostname}:{address.port}")
    if agent_pid is not None:
        bases.append(f"{access.scheme}://{agent_pid.host}:{agent_pid.port + 100}")
    for base in bases:
        work_dir = _agent_work_dir(base, offer.agent_id, timeout, access)
        if work_dir is None:
            continue
        path = (f"{work_dir}/agents/{offer.agent_id}/frameworks/{framework_id}"
                f"/executors/{task_id}/runs/latest/stdout")
        text = _files_read(base, path, timeout, access)
        if text is not None:
            return text
        try:
            return Path(path).read_text(errors="replace")
        except OSError:
            return None
    return None


def _get(base: str, route: str, timeout: float, access: HttpAccess) -> bytes | None:
    """The body of ``GET base + route``; None when it cannot be had; ``SandboxRefused``
    on 401/403."""
    try:
        with access.open(base + route, timeout) as reply:
            return reply.read()
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            hint = (" (give --principal and --secret, or MESETA_PRINCIPAL and MESETA_SECRET)"
                    if exc.code == 401 and access.authorization is None else "")
            what = "credentials refused" if exc.code == 401 else "not authorized"
            raise SandboxRefused(f"the agent at {base} answered HTTP {exc.code} to "
                                 f"{route.split('?')[0]} ({what}){hint}") from None
        return None
    except CliError as exc:  # the --cacert cannot be used
        raise SandboxRefused(str(exc)) from None
    except OSError:  # unreachable, or no such route or file
        return None


def _agent_work_dir(base: str, agent_id: str, timeout: float,
                    access: HttpAccess) -> str | None:
    body = _get(base, "/state", timeout, access)
    try:
        state = json.loads(body) if body is not None else None
        if state is None or state.get("id", agent_id) not in (agent_id, ""):
            return None  # some other agent answers there
        return str(state["flags"]["work_dir"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _files_read(base: str, path: str, timeout: float, access: HttpAccess) -> str | None:
    query = urllib.parse.urlencode({"path": path, "offset": 0})
    raw = _get(base, f"/files/read?{query}", timeout, access)
    if raw is None:
        return None
    body = raw.decode(errors="replace")
    try:
        data = json.loads(body)
    except ValueError:
        return body
    return str(data["data"]) if isinstance(data, dict) and "data" in data else body


def build_command(command: str, shell: bool, env: dict[str, str] | None) -> CommandInfo:
    environment = Environment.of(env) if env else None
    if shell:
        return CommandInfo(value=command, shell=True, environment=environment)
    argv = shlex.split(command)
    return CommandInfo(value=argv[0] if argv else "", shell=False, arguments=tuple(argv),
                       environment=environment)


def main() -> int:
    """Entry point of ``meseta-execute``: ``run`` with logging set up, on ``sys.argv``."""
    return run(sys.argv[1:], configure_logging=True)


def run(argv: Sequence[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr,
        configure_logging: bool = False) -> int:
    """Run ``meseta-execute`` with ``argv``; returns the exit status (bad flags exit 2)."""
    values = flags().parse(argv)
    if configure_logging:
        try:
            configure(values.log_level)
        except ValueError as exc:
            print(f"meseta-execute: error: --log_level: {exc}", file=err)
            return 2
    for required in ("name", "command"):
        if not getattr(values, required):
            print(f"meseta-execute: error: missing required flag --{required}", file=err)
            return 2
    access = HttpAccess.from_env(values.principal, values.secret, values.cacert)
    command = build_command(values.command, values.shell,
                            parse_env(values.env) if values.env else None)
    if not command.value:
        print("meseta-execute: error: --command is empty", file=err)
        return 2
    scheduler = ExecuteScheduler(values.name, command, Resources.parse(values.resources),
                                 values.kill_after, out)
    info = FrameworkInfo(user="", name=values.framework_name, roles=(values.role,),
                         checkpoint=values.checkpoint,
                         capabilities=frozenset({FrameworkCapability.TASK_KILLING_STATE}))
    driver = SchedulerDriver.create(scheduler, info, values.master, values.ip)
    try:
        return _wait(driver, scheduler, values.master, values.registration_timeout, out, err,
                     access)
    except KeyboardInterrupt:
        print("Interrupted: tearing the framework down", file=err)
        return 1
    finally:
        driver.stop()  # tear down: the task (if still running) is killed
        driver.close()


def _wait(driver: SchedulerDriver, scheduler: ExecuteScheduler, master: str, timeout: float,
          out: TextIO, err: TextIO, access: HttpAccess) -> int:
    driver.start()
    if not scheduler.registered_event.wait(timeout):
        print(f"meseta-execute: error: no master at {master} registered the framework "
              f"within {timeout:g}s (is the master running?)", file=err)
        return 1
    while not scheduler.done.wait(0.2):
        if driver.status is not DriverStatus.DRIVER_RUNNING:
            break
    if scheduler.error_message is not None:
        print(f"Received an ERROR event: {scheduler.error_message}", file=err)
        return 1
    offer = scheduler.launched_on
    if offer is not None and scheduler.final_state is not None:
        try:
            stdout = read_sandbox_stdout(offer, driver.framework_id, scheduler.task_id,
                                         driver.agent_pid(offer.agent_id), access=access)
        except SandboxRefused as exc:
            print(f"meseta-execute: cannot read the task's stdout: {exc}", file=err, flush=True)
            stdout = None
        if stdout:
            out.write(stdout if stdout.endswith("\n") else stdout + "\n")
            out.flush()
    return 0 if scheduler.final_state is TaskState.TASK_FINISHED else 1


if __name__ == "__main__":
    sys.exit(main())
