"""``HttpExecutors``: the agent's ``POST /api/v1/executor`` (Mesos' executor HTTP API).

``AgentActor`` inherits this (``AgentRegistration`` over it, it over ``AgentRecovery``);
``endpoints`` routes the path to ``executor_api``, which runs on the agent's thread. An
HTTP executor and a native one are the same executor to the agent: a call is decoded
(``executor_http``) and handed to the code the native messages reach:

- SUBSCRIBE -> ``_register_executor`` (as ``RegisterExecutor``) for a launched
  executor, ``_reregister_executor`` (as ``ReregisterExecutor``, with its
  ``unacknowledged_tasks`` / ``unacknowledged_updates``) for one recovered after an
  agent restart; the answer is ``200`` and a RecordIO stream of events that stays
  open (SUBSCRIBED first, then LAUNCH, KILL, ACKNOWLEDGED, MESSAGE, SHUTDOWN and a
  HEARTBEAT every 30 s). A SUBSCRIBE from an executor already running (its
  connection broke, or a retry) replaces its stream, replays its unacknowledged
  updates, and hands it what was queued meanwhile, as Mesos does;
- UPDATE -> ``_executor_update`` (recorded, checkpointed, forwarded; ACKNOWLEDGED
  once the agent has it; traced as a continuation of the task's ``RunTask``, as a
  native executor's update is); MESSAGE -> ``_executor_message``; both ``202``.

Answers follow Mesos' ``Http::executor``: 405 for anything but POST, 400 without a
Content-Type or with a malformed or invalid call (or an unknown framework/executor),
415 for other media (protobuf included: only JSON is spoken here), 406 when
``Accept`` excludes JSON, 403 for a call other than SUBSCRIBE from an executor that
has not subscribed, 503 while the agent recovers (SUBSCRIBE excepted, unless
``--recover=cleanup``). With ``--authenticate_http_executors`` the node has checked the
caller's token already (``executor_auth``; 401 without one); a token whose claims are
not this executor's (framework, executor, current run) gets 403, Mesos' text.

When an HTTP executor's stream drops, the agent forgets the stream and keeps the
executor (Mesos: nothing else happens; the executor library reconnects within
``MESOS_RECOVERY_TIMEOUT`` if its framework checkpoints, else it exits). Events for
it meanwhile are dropped, with a warning; tasks for it stay queued until it
subscribes again. Its process exit ends it, as for any executor.
"""

from __future__ import annotations

import structlog

from actors.agent.executor_auth import claims_refusal
from actors.agent.executor_http import (
    HEARTBEAT_EVENT,
    ExecutorCall,
    ExecutorConnection,
    accepts_json,
    media_problem,
    parse_call,
    status_update,
)
from actors.agent.executors import ExecutorRecord, ExecutorState, FrameworkRecord
from actors.agent.recovering import AgentRecovery
from actors.messages import (
    ExecutorReregistered,
    RegisterExecutor,
    ReregisterExecutor,
    ShutdownExecutor,
)
from transport import HttpRequest, HttpResponse, HttpStream

__all__ = ["HEARTBEAT_INTERVAL", "HttpExecutors"]

_log = structlog.get_logger("meseta.agent.executor_api")

HEARTBEAT_INTERVAL = 30.0
"""Seconds between HEARTBEAT events (Mesos' DEFAULT_EXECUTOR_HEARTBEAT_INTERVAL)."""


def _text(status: int, message: str) -> HttpResponse:
    return HttpResponse.text(message, status)


class HttpExecutors(AgentRecovery):
    """See the module docstring."""

    def executor_api(self, request: HttpRequest) -> HttpResponse:
        """``/api/v1/executor`` (on the agent's thread)."""
        if self._recovering and self.config.recover == "cleanup":
            return _text(503, "Agent has not finished recovery")
        if request.method != "POST":
            response = _text(405, f"Expecting one of {{ 'POST' }}, but received "
                                  f"'{request.method}'")
            response.headers["Allow"] = "POST"
            return response
        problem = media_problem(request.headers)
        if problem is not None:
            return _text(*problem)
        try:
            call = parse_call(request.body)
        except ValueError as exc:
            return _text(400, f"Failed to validate Executor::Call: {exc}")
        if call.type == "SUBSCRIBE":
            if not accepts_json(request.headers):
                return _text(406, "Expecting 'Accept' to allow 'application/json'")
        elif call.type == "HEARTBEAT":
            return HttpResponse(202)
        elif self._recovering:
            return _text(503, "Agent has not finished recovery")
        framework = self.frameworks.get(call.framework_id)
        if framework is None:
            return _text(400, "Framework cannot be found")
        executor = framework.executors.get(call.executor_id)
        if executor is None:
            return _text(400, "Executor cannot be found")
        if request.principal is not None:  # authenticated (--authenticate_http_executors)
            refused = claims_refusal(request.principal, framework.framework_id,
                                     executor.executor_id, executor.run_id)
            if refused is not None:
                return _text(403, refused)
        if executor.state is ExecutorState.REGISTERING and call.type != "SUBSCRIBE":
            return _text(403, "Executor is not subscribed")
        if call.type == "SUBSCRIBE":
            return self._subscribe(framework, executor, call)
        if call.type == "UPDATE":
            assert call.status is not None
            task = executor.tasks.get(call.status.task_id)
            with self.continuing(task.trace if task is not None else None):
                self._executor_update(executor.link, status_update(
                    framework.framework_id, executor.executor_id, self.agent_id,
                    call.status, self.now()))
        else:
            self._executor_message(framework.framework_id, executor.executor_id, call.data)
        return HttpResponse(202)

    def _subscribe(self, framework: FrameworkRecord, executor: ExecutorRecord,
                   call: ExecutorCall) -> HttpResponse:
        connection = ExecutorConnection(HttpStream(), executor, framework)
        connection.stream.on_close = lambda: self._http_closed(connection)
        response = HttpResponse(200, content_type="application/json", stream=connection.stream)
        _log.info("HTTP executor subscribing", executor_id=executor.executor_id,
                  state=executor.state.name)
        updates = tuple(status_update(framework.framework_id, executor.executor_id,
                                      self.agent_id, s, self.now()) for s in call.updates)
        if framework.terminating or executor.state in (ExecutorState.TERMINATING,
                                                       ExecutorState.TERMINATED):
            connection.send(ShutdownExecutor(executor_id=executor.executor_id,
                                             framework_id=framework.framework_id))
            connection.close()
            return response
        if executor.recovered and executor.state is ExecutorState.REGISTERING:
            self._reregister_executor(connection, ReregisterExecutor(
                executor_id=executor.executor_id, framework_id=framework.framework_id,
                tasks=call.tasks, updates=updates))
        elif executor.state is ExecutorState.REGISTERING:
            self._register_executor(connection, RegisterExecutor(
                framework_id=framework.framework_id, executor_id=executor.executor_id))
        else:  # RUNNING: a reconnection (or a retried SUBSCRIBE) replaces the stream
            self._connect(framework, executor, connection)
            self._tell(connection, ExecutorReregistered(agent_id=self.agent_id,
                                                        agent_info=self.info))
            self._replay_updates(connection, framework, updates)
            self._send_queued(framework, executor)
        if executor.http is connection:
            self.delay(HEARTBEAT_INTERVAL, self._heartbeat, connection)
        return response

    def _heartbeat(self, connection: ExecutorConnection) -> None:
        if connection.executor.http is connection and connection.write(HEARTBEAT_EVENT):
            self.delay(HEARTBEAT_INTERVAL, self._heartbeat, connection)

    def _http_closed(self, connection: ExecutorConnection) -> None:
        """The HTTP executor's stream dropped (see the module docstring)."""
        executor = connection.executor
        if executor.http is connection:
            _log.warning("HTTP executor disconnected", executor_id=executor.executor_id,
                         state=executor.state.name)
            executor.http = None
