"""Real command tasks through the agent: RunTask -> warm launch -> command executor ->
status updates to the (fake) master in order, each released by the master's ack."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from agent_harness import FRAMEWORK, Cluster, command_task, run_task

from actors.messages import StatusUpdate, TaskState


def test_true_reports_starting_running_finished_in_order(cluster: Cluster) -> None:
    agent = cluster.make_agent()
    run_task(cluster, agent, command_task("t1", "true"))
    cluster.master.wait_state("t1", TaskState.TASK_FINISHED)
    assert cluster.master.updates("t1") == [
        TaskState.TASK_STARTING, TaskState.TASK_RUNNING, TaskState.TASK_FINISHED]


def test_echo_output_lands_in_the_sandbox(cluster: Cluster) -> None:
    agent = cluster.make_agent()
    run_task(cluster, agent, command_task("t-echo", "echo hello"))
    update = cluster.master.wait_state("t-echo", TaskState.TASK_FINISHED)
    assert update.update.agent_id == "M1-S1"
    run = (Path(agent.config.work_dir) / "agents" / "M1-S1" / "frameworks" / FRAMEWORK.id
           / "executors" / "t-echo" / "runs" / "latest")
    assert (run / "stdout").read_text() == "hello\n"
    assert isinstance(update, StatusUpdate)
    query = urllib.parse.urlencode({"path": str(run / "stdout"), "offset": 0})
    url = f"http://127.0.0.1:{agent.node.http_port}/files/read?{query}"
    with urllib.request.urlopen(url, timeout=30) as resp:
        assert json.load(resp) == {"data": "hello\n", "offset": 0}
    outside = urllib.parse.urlencode({"path": "/etc/passwd"})
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(f"http://127.0.0.1:{agent.node.http_port}/files/read?{outside}",
                               timeout=30)
    assert agent.info.http_port == agent.node.http_port
