"""The default executor's pure parts: the task book's rules, the v1 client's reader and
environment, and the agent's choice of what starts a DEFAULT executor."""

from __future__ import annotations

import io
import json

import pytest

from actors.agent.executors import is_command_executor, launch_command
from actors.messages import CommandInfo, ExecutorInfo, ExecutorType, TaskInfo, TaskState
from actors.messages.tasks import TaskStatus
from actors.resources import Resources
from frameworks.default_executor import Endpoint, TaskBook, events, outcome, parse_duration
from frameworks.default_executor.book import uuid_key
from frameworks.default_executor.executor import task_environment


def info(task_id: str) -> TaskInfo:
    return TaskInfo(name=task_id, task_id=task_id, agent_id="a",
                    resources=Resources.parse("cpus:0.1"), command=CommandInfo(value="true"))


def status(task_id: str, state: TaskState, uuid: bytes) -> TaskStatus:
    return TaskStatus(task_id=task_id, state=state, uuid=uuid)


def test_outcomes_name_the_exit() -> None:
    assert outcome(0, killing=False) == (TaskState.TASK_FINISHED, "Command exited with status 0")
    assert outcome(3, killing=False) == (TaskState.TASK_FAILED, "Command exited with status 3")
    assert outcome(-15, killing=True) == (TaskState.TASK_KILLED,
                                          "Command terminated with signal SIGTERM")
    assert outcome(0, killing=True)[0] is TaskState.TASK_KILLED  # it was asked to die


def test_siblings_are_the_live_tasks_of_the_same_group_only() -> None:
    book = TaskBook()
    (a, b, c), _ = book.add_group([info("a"), info("b"), info("c")])
    (other,), _ = book.add_group([info("other")])
    for run in (a, b, c, other):
        book.sent(status(run.task_id, TaskState.TASK_RUNNING, run.task_id.encode().ljust(16)))
    c.killing = True
    assert book.siblings_to_kill("a") == [b]  # c is being killed already, other is apart
    book.sent(status("b", TaskState.TASK_FAILED, b"b-failed".ljust(16)))
    assert book.siblings_to_kill("a") == []
    assert book.siblings_to_kill("unknown") == []


def test_a_duplicate_task_is_not_run_twice() -> None:
    book = TaskBook()
    book.add_group([info("a")])
    runs, duplicates = book.add_group([info("a"), info("b")])
    assert [r.task_id for r in runs] == ["b"] and [d.task_id for d in duplicates] == ["a"]


def test_the_executor_is_done_once_terminal_updates_are_acknowledged() -> None:
    book = TaskBook()
    assert not book.launched
    book.add_group([info("a")])
    assert book.launched
    running, finished = b"r" * 16, b"f" * 16
    book.sent(status("a", TaskState.TASK_RUNNING, running))
    assert not book.done()
    book.sent(status("a", TaskState.TASK_FINISHED, finished))
    assert not book.done() and set(book.unacked) == {uuid_key(running), uuid_key(finished)}
    book.acknowledged(uuid_key(finished))
    assert "a" not in book.tasks and not book.done()  # the RUNNING one is still out
    book.acknowledged(uuid_key(running))
    assert book.done()
    assert book.acknowledged("unknown") is None


def test_events_reads_recordio_records_until_the_stream_ends() -> None:
    records = [{"type": "SUBSCRIBED"}, {"type": "LAUNCH_GROUP", "x": "é\n"}]
    data = b"".join(b"%d\n%s" % (len(raw), raw)
                    for raw in (json.dumps(r).encode() for r in records))
    assert list(events(io.BytesIO(data))) == records
    assert list(events(io.BytesIO(data[:-3]))) == records[:1]  # cut inside a record


@pytest.mark.parametrize("broken", [b"abc\n{}", b"99999999999\n{}", b"2\n[]"])
def test_a_broken_stream_is_an_error_not_an_event(broken: bytes) -> None:
    with pytest.raises(ValueError):
        list(events(io.BytesIO(broken)))


def test_durations_read_as_mesos_writes_them() -> None:
    assert parse_duration("15mins", 1.0) == 900.0
    assert parse_duration("500ms", 1.0) == 0.5
    assert parse_duration("2.5secs", 1.0) == 2.5
    assert parse_duration("soon", 7.0) == 7.0 and parse_duration(None, 7.0) == 7.0


def test_the_endpoint_comes_from_mesos_environment_with_the_token_as_bearer() -> None:
    env = {"MESOS_AGENT_ENDPOINT": "127.0.0.1:5151", "MESOS_FRAMEWORK_ID": "f",
           "MESOS_EXECUTOR_ID": "e", "MESOS_SANDBOX": "/sandbox", "MESOS_CHECKPOINT": "1",
           "MESOS_RECOVERY_TIMEOUT": "15mins", "MESOS_EXECUTOR_AUTHENTICATION_TOKEN": "jwt"}
    endpoint = Endpoint.from_environment(env)
    assert (endpoint.host, endpoint.port, endpoint.sandbox) == ("127.0.0.1", 5151, "/sandbox")
    assert endpoint.checkpoint and endpoint.recovery_timeout == 900.0
    assert endpoint.headers == {"Authorization": "Bearer jwt"}
    assert endpoint.call("UPDATE")["executor_id"] == {"value": "e"}
    del env["MESOS_EXECUTOR_AUTHENTICATION_TOKEN"]
    assert Endpoint.from_environment(env).headers == {}
    with pytest.raises(KeyError):
        Endpoint.from_environment({})


def test_a_task_gets_its_own_sandbox_and_not_the_executors_token() -> None:
    task = info("t")
    base = {"MESOS_SANDBOX": "/s", "MESOS_EXECUTOR_AUTHENTICATION_TOKEN": "jwt", "PATH": "/bin"}
    env = task_environment(base, task, "/s/tasks/t")
    assert env["MESOS_SANDBOX"] == "/s/tasks/t" and env["PATH"] == "/bin"
    assert "MESOS_EXECUTOR_AUTHENTICATION_TOKEN" not in env


def test_the_agent_starts_the_default_executor_for_a_default_executor_without_command() -> None:
    default = ExecutorInfo(executor_id="pod", type=ExecutorType.DEFAULT)
    command = launch_command(default, python="/py")
    assert command is not None and command.value == "/py -m frameworks.default_executor"
    assert not is_command_executor(default)
    custom = ExecutorInfo(executor_id="x", command=CommandInfo(value="run-me"))
    assert launch_command(custom) == custom.command
    assert launch_command(ExecutorInfo(executor_id="y")) is None
    commanded = ExecutorInfo(executor_id="t", type=ExecutorType.DEFAULT,
                             command=CommandInfo(value="/py -m frameworks.command_executor"))
    assert is_command_executor(commanded)
