"""The ``meseta`` CLI against a real local cluster (master and agent as OS processes)."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from typing import Any

from tests.e2e.conftest import BIN, LocalCluster


def _meseta(master: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "meseta"), *args, f"--master={master}"],
                          capture_output=True, text=True, timeout=120)


def _state(http: str) -> Any:
    with urllib.request.urlopen(f"{http}/master/state", timeout=30) as reply:
        return json.loads(reply.read())


def test_cli_verbs_show_the_cluster_and_a_tasks_output(cluster: LocalCluster) -> None:
    master = cluster.master("--allocation_interval=100ms")
    agent = cluster.agent(master)
    addr = master.http.removeprefix("http://")

    ran = _meseta(addr, "execute", "--name=cli", "--command=echo line-one; echo line-two; "
                  "echo oops >&2")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "TASK_FINISHED" in ran.stdout and "line-two" in ran.stdout
    state = _state(master.http)

    agents = json.loads(_meseta(addr, "agents", "--json").stdout)
    assert [a["id"] for a in agents] == [a["id"] for a in state["agents"]]
    assert agents[0]["pid"] == agent.pid

    tasks = json.loads(_meseta(addr, "tasks", "--json").stdout)
    assert len(tasks) == 1 and tasks[0]["state"] == "TASK_FINISHED"
    task_id = tasks[0]["id"]
    assert task_id.startswith("cli-") and tasks[0]["agent_id"] == agents[0]["id"]
    assert json.loads(_meseta(addr, "ps", "--json").stdout) == []  # nothing runs now

    table = _meseta(addr, "tasks").stdout.splitlines()
    assert table[0].split() == ["ID", "NAME", "STATE", "FRAMEWORK", "AGENT", "RESOURCES"]
    assert table[1].split()[:3] == [task_id, "cli", "TASK_FINISHED"]

    frameworks = json.loads(_meseta(addr, "frameworks", "--all", "--json").stdout)
    assert [f["name"] for f in frameworks] == ["meseta-execute instance"]
    assert frameworks[0]["id"] == tasks[0]["framework_id"]

    assert _meseta(addr, "cat", task_id).stdout == "line-one\nline-two\n"
    assert _meseta(addr, "cat", task_id, "stderr").stdout.endswith("oops\n")
    tail = _meseta(addr, "tail", "-n", "1", task_id)
    assert tail.returncode == 0 and tail.stdout == "line-two\n"
    follow = _meseta(addr, "tail", "-f", "--iterations", "2", "--interval", "0.05", task_id)
    assert follow.stdout == "line-one\nline-two\n"

    top = _meseta(addr, "top", "--json", "--iterations", "2", "--interval", "0.05")
    frames = [json.loads(line) for line in top.stdout.splitlines()]
    assert len(frames) == 2 and frames[0]["agents"] == 1
    assert frames[0]["tasks"] == {"TASK_FINISHED": 1}
    assert frames[0]["total"]["cpus"] == 4.0

    screen = _meseta(addr, "top", "--iterations", "1").stdout
    assert "agents 1  frameworks 0" in screen and "tasks: TASK_FINISHED=1" in screen
    assert "cpus 0/4" in screen

    missing = _meseta(addr, "cat", "no-such-task")
    assert missing.returncode == 1 and "no task 'no-such-task'" in missing.stderr


def test_cli_without_a_reachable_master_exits_1_with_a_message() -> None:
    result = subprocess.run([str(BIN / "meseta"), "ps", "--master=127.0.0.1:1"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "no master reachable at 127.0.0.1:1" in result.stderr
