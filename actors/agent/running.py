"""``ExecutorManager``: how the agent runs tasks — the executor half of ``AgentActor``.

``AgentActor`` (``actor``) inherits this and calls it from its handler table; nothing
here is a handler itself. It starts the lives of executors and tasks on this agent:

- ``_run_task``: find or create the framework; give a command task its own command
  executor (a task group's DEFAULT executor without a command is started as the
  default executor, ``executors.launch_command``); launch the executor in a new
  sandbox (its tasks queue until it registers, with a registration timer; if its
  command has URIs they are fetched first, off this thread, ``_fetched`` launching it
  or failing its tasks; with ``--jwt_secret_key`` its
  environment carries its token, ``executor_auth``) or hand the task to the
  running executor; ``_run_task_group`` does so for each task of a group, then hands
  the group over as one (LAUNCH_GROUP for an HTTP executor);
- ``_register_executor``: ``ExecutorRegistered`` and the queued ``RunTask``s;
- ``_send_queued``: a (re)connected executor's queued tasks (what reaches an executor
  goes through ``messaging._tell``: to its PID, or its HTTP event stream);
- how executors and tasks end (kills, shutdowns, exits, clean-up after the last
  acknowledgement) is the mixin below it, ``ExecutorEndings`` (``endings``);
- for frameworks with ``FrameworkInfo.checkpoint``, the checkpoint writes at each of
  those steps (``checkpointer``), so a restarted agent can recover (``recovering``).
"""

from __future__ import annotations

import dataclasses
import uuid as uuidlib

import structlog

from actors.agent.containerizer import (
    ContainerizerError,
    ContainerLimits,
    container_limits,
)
from actors.agent.endings import ExecutorEndings, executor_key_name
from actors.agent.executor_auth import token_environment
from actors.agent.executor_http import ExecutorConnection
from actors.agent.executors import (
    ExecutorRecord,
    ExecutorState,
    FrameworkRecord,
    Termination,
    command_executor_info,
    executor_environment,
    launch_command,
    lost_or,
)
from actors.agent.launcher import LaunchError, LaunchSpec, spec_for_command
from actors.agent.recovery import process_create_time
from actors.agent.sandbox import create_sandbox, run_dir
from actors.agent.tasks import TaskRecord
from actors.agent.users import UnknownUser, chown_sandbox, run_as
from actors.messages import (
    ExecutorInfo,
    ExecutorRegistered,
    RegisterExecutor,
    RunTask,
    RunTaskGroup,
    ShutdownExecutor,
    TaskGroupInfo,
    TaskInfo,
)
from actors.messages.task_state import Reason, TaskState
from transport import PID

__all__ = ["ExecutorManager", "executor_key_name"]

_log = structlog.get_logger("meseta.agent")


class ExecutorManager(ExecutorEndings):
    """See the module docstring; the attributes ``AgentActor`` sets are declared on
    ``ExecutorEndings``."""

    def _init_executors(self) -> None:
        self._by_os_pid = {}
        self._init_sandboxes()

    # --- launching --------------------------------------------------------------------

    def _run_task_group(self, msg: RunTaskGroup) -> None:
        """Each task of the group into the executor; handed over together (Mesos)."""
        group = msg.task_group
        records = []
        for task in group.tasks:
            record = self._run_task(RunTask(
                framework_info=msg.framework_info, task=dataclasses.replace(
                    task, executor=msg.executor_info), launch_executor=msg.launch_executor),
                group)
            if record is None:
                break  # refused (and said so): the rest would be refused alike
            records.append(record)
        framework = self.frameworks.get(msg.framework_info.id)
        executor = framework.executors.get(msg.executor_info.executor_id) if framework else None
        if records and framework is not None and executor is not None \
                and executor.state is ExecutorState.RUNNING and executor.link is not None:
            self._hand_over(framework, executor, records)

    def _run_task(self, msg: RunTask, group: TaskGroupInfo | None = None) -> TaskRecord | None:
        """Record the task under its executor (launched if need be); hand it over now if
        the executor runs (a group's tasks are handed over by ``_run_task_group``)."""
        task, info = msg.task, msg.framework_info
        framework = self.frameworks.get(info.id)
        if framework is None:
            framework = self.frameworks[info.id] = FrameworkRecord(info=info, pid=msg.pid)
            if info.checkpoint:
                self.ckpt.framework(self.agent_id, framework)
        elif msg.pid is not None and msg.pid != framework.pid:
            framework.pid = msg.pid
            if framework.info.checkpoint:
                self.ckpt.framework(self.agent_id, framework)
        if framework.terminating:
            _log.warning("RunTask for a terminating framework; ignored", task_id=task.task_id)
            return None
        if framework.find_task(task.task_id) is not None:
            _log.warning("RunTask for a task already here; ignored", task_id=task.task_id)
            return None
        command = task.executor is None
        executor_info = (command_executor_info(task, info.id) if task.executor is None
                         else task.executor)
        executor = framework.executors.get(executor_info.executor_id)
        if executor is not None and executor.state in (ExecutorState.TERMINATING,
                                                       ExecutorState.TERMINATED):
            self._refuse(info, task.task_id, "its executor is terminating")
            return None
        if executor is None:
            if not msg.launch_executor:
                self._refuse(info, task.task_id, "its executor is not running")
                return None
            executor = self._launch(framework, executor_info, command, task)
            if executor is None:
                self._drop_idle_framework(framework)
                return None
        record = TaskRecord(info=task, framework_id=info.id,
                            executor_id=executor.executor_id, group=group,
                            trace=self.trace_context)
        grows = bool(executor.tasks)
        executor.tasks[task.task_id] = record
        if grows:  # a task for a running container: the limits follow its live tasks
            self.containerizer.update(executor.run_id, self._limits(executor))
        if framework.info.checkpoint:
            self.ckpt.task(self.agent_id, executor, task)
        if group is None and executor.state is ExecutorState.RUNNING \
                and executor.link is not None:
            self._hand_over(framework, executor, [record])
        return record

    def _launch(self, framework: FrameworkRecord, executor_info: ExecutorInfo, command: bool,
                task: TaskInfo) -> ExecutorRecord | None:
        task_id = task.task_id
        run_id = uuidlib.uuid4().hex
        grace = self._grace_period(executor_info.shutdown_grace_period)
        self._gc_unschedule(framework.info.id, executor_info.executor_id)
        user = executor_info.command.user if executor_info.command is not None else ""
        try:
            who = run_as(user or framework.info.user, self.config.switch_user)
        except UnknownUser as exc:  # Mesos: the sandbox cannot be given to the user
            directory = run_dir(self.config.work_dir, self.agent_id, framework.info.id,
                                executor_info.executor_id, run_id)
            message = (f"Failed to create executor directory '{directory}': Failed to chown "
                       f"directory to '{user or framework.info.user}': {exc}")
            _log.warning("executor launch refused", executor_id=executor_info.executor_id,
                         error=message)
            self._send_agent_update(framework.info, task_id,
                                    lost_or(TaskState.TASK_DROPPED, framework.info),
                                    Reason.REASON_EXECUTOR_TERMINATED, message,
                                    executor_info.executor_id)
            return None
        try:
            launch = launch_command(executor_info)
            if launch is None:
                raise LaunchError("the executor has no command")
            sandbox = create_sandbox(self.config.work_dir, self.agent_id, framework.info.id,
                                     executor_info.executor_id, run_id)
            if who is not None:
                chown_sandbox(sandbox.directory, who)
            env = executor_environment(
                agent=self.pid, framework=framework.info, executor=executor_info,
                directory=sandbox.directory, run_id=run_id, grace_period=grace,
                host=self.config.ip, recovery_timeout=self.config.recovery_timeout,
                agent_id=self.agent_id, agent_endpoint=self._http_endpoint(),
                subscription_backoff_max=self.config.executor_reregistration_timeout)
            if who is not None:
                env.update(HOME=who.home, USER=who.user, LOGNAME=who.user)
            env.update(token_environment(self.config.jwt_secret_key, framework.info.id,
                                         executor_info.executor_id, run_id))
            if self.node.curve is not None:  # the executor's own key pair, allowed here
                env.update(self.node.curve.issue(executor_key_name(
                    framework.info.id, executor_info.executor_id, run_id)))
            if self.trace_context is not None:  # the executor's registration continues it
                env["MESETA_TRACE_PARENT"] = self.trace_context.to_env()
            spec = dataclasses.replace(
                spec_for_command(launch, env, sandbox.directory,
                                 sandbox.stdout, sandbox.stderr), run_as=who)
            limits = container_limits(executor_info.resources + task.resources, command)
            fetch = bool(launch.uris)  # then launched once fetched
            os_pid = None if fetch else self._start_container(run_id, limits, spec)
        except (LaunchError, ContainerizerError, OSError) as exc:
            _log.warning("executor launch failed", executor_id=executor_info.executor_id,
                         error=str(exc))
            self._send_agent_update(framework.info, task_id, TaskState.TASK_FAILED,
                                    Reason.REASON_CONTAINER_LAUNCH_FAILED,
                                    f"Failed to launch the executor: {exc}",
                                    executor_info.executor_id)
            return None
        executor = ExecutorRecord(info=executor_info, framework_id=framework.info.id,
                                  run_id=run_id, sandbox=sandbox, command_executor=command)
        framework.executors[executor.executor_id] = executor
        # The registration timeout covers the fetch too, as in Mesos.
        executor.timer = self.delay(self.config.executor_registration_timeout,
                                    self._registration_timed_out, executor)
        if os_pid is None:
            if framework.info.checkpoint:
                self.ckpt.executor(self.agent_id, executor)  # no pid yet: not alive
            self._fetch(executor, lambda error: self._fetched(executor, spec, limits, error))
        else:
            self._launched(framework, executor, os_pid)
        return executor

    def _launched(self, framework: FrameworkRecord, executor: ExecutorRecord,
                  os_pid: int) -> None:
        executor.os_pid, executor.create_time = os_pid, process_create_time(os_pid)
        self._by_os_pid[os_pid] = executor
        if framework.info.checkpoint:
            self.ckpt.executor(self.agent_id, executor)
        _log.debug("executor launched", executor_id=executor.executor_id, pid=os_pid)

    def _start_container(self, run_id: str, limits: ContainerLimits, spec: LaunchSpec) -> int:
        """Prepare the run's container, start the executor inside it; its OS pid."""
        cgroups = self.containerizer.prepare(run_id, limits)
        try:
            os_pid = self.launcher.launch(dataclasses.replace(spec, cgroups=cgroups))
        except BaseException:
            self.containerizer.destroy(run_id)
            raise
        self.containerizer.launched(run_id, os_pid)
        return os_pid

    def _fetched(self, executor: ExecutorRecord, spec: LaunchSpec, limits: ContainerLimits,
                 error: str | None) -> None:
        """The fetcher is done: launch the executor, or fail its tasks (Mesos' message)."""
        framework = self.frameworks.get(executor.framework_id)
        if framework is None or executor.state is not ExecutorState.REGISTERING:
            return
        message = ""
        if error is not None:
            message = (f"Failed to launch container: Failed to fetch all URIs for "
                       f"container '{executor.run_id}': {error}")
        else:
            try:
                if spec.run_as is not None:  # the fetched files are the user's too
                    chown_sandbox(executor.sandbox.directory, spec.run_as)
                self._launched(framework, executor,
                               self._start_container(executor.run_id, limits, spec))
                return
            except (LaunchError, ContainerizerError, OSError) as exc:
                message = f"Failed to launch the executor: {exc}"
        _log.warning("executor launch failed", executor_id=executor.executor_id,
                     error=message)
        executor.pending_termination = Termination(
            TaskState.TASK_FAILED, Reason.REASON_CONTAINER_LAUNCH_FAILED, message)
        executor.state = ExecutorState.TERMINATING
        self._executor_terminated(executor, None)

    def _register_executor(self, frm: PID | ExecutorConnection, msg: RegisterExecutor) -> None:
        framework = self.frameworks.get(msg.framework_id)
        executor = framework.executors.get(msg.executor_id) if framework else None
        if framework is None or executor is None \
                or executor.state is not ExecutorState.REGISTERING:
            _log.warning("unexpected executor registration; shutting it down",
                         executor_id=msg.executor_id, frm=str(frm))
            self._tell(frm, ShutdownExecutor(executor_id=msg.executor_id,
                                             framework_id=msg.framework_id))
            return
        executor.cancel_timer()
        executor.state = ExecutorState.RUNNING
        self._connect(framework, executor, frm)
        self._tell(frm, ExecutorRegistered(
            executor_info=executor.info, framework_id=framework.info.id,
            framework_info=framework.info, agent_id=self.agent_id, agent_info=self.info))
        queued = self._send_queued(framework, executor)
        if framework.terminating or (not queued and not any(executor.live())):
            self._shutdown_executor(framework, executor)

    def _send_queued(self, framework: FrameworkRecord, executor: ExecutorRecord) -> int:
        """Hand a (re)connected executor its queued tasks; how many there were."""
        queued = list(executor.queued())
        self._hand_over(framework, executor, queued)
        return len(queued)

    def _hand_over(self, framework: FrameworkRecord, executor: ExecutorRecord,
                   tasks: list[TaskRecord]) -> None:
        """Send tasks to their executor: ``RunTask`` each, a group as one ``RunTaskGroup``
        (its LAUNCH_GROUP event; a native executor gets its tasks one by one)."""
        sent: set[int] = set()
        for record in tasks:
            record.launched = True
            group = record.group
            if group is None or isinstance(executor.link, PID):
                self._tell(executor.link, RunTask(framework_info=framework.info,
                                                  task=record.info, pid=framework.pid))
            elif id(group) not in sent:
                sent.add(id(group))
                self._tell(executor.link, RunTaskGroup(
                    framework_info=framework.info, executor_info=executor.info,
                    task_group=group))
