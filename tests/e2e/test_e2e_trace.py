"""End to end: one task's trace across a traced 2-agent cluster (real processes).

A command task launched through a scheduler driver in this process is followed from
the scheduler's accept through the master, the agent that got it, its executor, and the
status updates and acknowledgements both ways, as gathered by ``meseta trace`` (the
CLI, the master's ``/master/trace`` and ``actors.cli.client`` all give the same list).
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from typing import Any

from actors.cli.client import gather_task_trace
from actors.messages import TaskState
from tests.e2e.conftest import BIN, LocalCluster
from tests.e2e.harness import command_task, framework

WAIT = 60.0


def _role(pid: str | None) -> str:
    return (pid or "?").split("(")[0].split("@")[0]


def _find(msgs: list[dict[str, Any]], after: int, name: str, frm: str, to: str,
          state: str | None = None) -> int:
    for i in range(after + 1, len(msgs)):
        m = msgs[i]
        if (m["name"] == name and _role(m["frm"]) == frm and _role(m["to"]) == to
                and (state is None or m.get("state") == state)):
            return i
    lines = [f"{i}: {_role(m['frm'])}->{_role(m['to'])} {m['name']} {m.get('state', '')}"
             for i, m in enumerate(msgs)]
    raise AssertionError(f"no {name} {frm}->{to} {state or ''} after #{after}:\n"
                         + "\n".join(lines))


def _complete(msgs: list[dict[str, Any]]) -> bool:
    """Whether the last acknowledgement (of TASK_FINISHED) has reached the agent's trace: the
    master records a received message once its handler is done, after what it sent."""
    try:
        i = _find(msgs, -1, "StatusUpdate", "master", "scheduler", "TASK_FINISHED")
        i = _find(msgs, i, "StatusUpdateAcknowledgement", "scheduler", "master")
        _find(msgs, i, "StatusUpdateAcknowledgement", "master", "agent")
    except AssertionError:
        return False
    return True


def test_a_tasks_trace_follows_it_through_master_agent_and_executor(
        cluster: LocalCluster) -> None:
    master = cluster.master("--trace", "--allocation_interval=100ms")
    agents = [cluster.agent(master, "cpus:1;mem:256;disk:256;ports:[31000-31100]", "--trace"),
              cluster.agent(master, "cpus:1;mem:256;disk:256;ports:[31200-31300]", "--trace")]
    with framework(master.address) as (driver, recorder):
        offer = recorder.wait("offer")
        driver.launch_tasks(offer.id, [command_task("t1", offer, "echo traced")])
        recorder.wait_state("t1", TaskState.TASK_FINISHED)
        deadline = time.monotonic() + WAIT
        while True:  # the last acknowledgement may still be on its way
            result = gather_task_trace(master.http, "t1")
            if _complete(result["messages"]) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    msgs = result["messages"]
    assert result["errors"] == []
    accept = _find(msgs, -1, "AcceptOffers", "scheduler", "master")
    run_m = _find(msgs, accept, "RunTask", "master", "agent")
    reg = _find(msgs, run_m, "RegisterExecutor", "executor", "agent")
    run_e = _find(msgs, reg, "RunTask", "agent", "executor")
    i = run_e
    for state in ("TASK_RUNNING", "TASK_FINISHED"):
        i = _find(msgs, i, "StatusUpdate", "executor", "agent", state)
        j = _find(msgs, i, "StatusUpdate", "agent", "master", state)
        j = _find(msgs, j, "StatusUpdate", "master", "scheduler", state)
        j = _find(msgs, j, "StatusUpdateAcknowledgement", "scheduler", "master")
        _find(msgs, j, "StatusUpdateAcknowledgement", "master", "agent")
        _find(msgs, i, "StatusUpdateAcknowledgement", "agent", "executor")
    # the agent that ran it, and only that agent, is in the task's trace
    task_agent = next(a for a in agents if a.pid == msgs[run_m]["to"])
    assert {m["to"] for m in msgs if _role(m["to"]) == "agent"} == {task_agent.pid}
    # one trace id follows the task from the accept to the last acknowledgement
    key = [msgs[k] for k in (accept, run_m, reg, run_e)] + [
        m for m in msgs if m["name"].startswith("StatusUpdate")]
    assert {m["trace_id"] for m in key} == {msgs[accept]["trace_id"]}
    assert all(m.get("task_id") == "t1" for m in msgs if m["name"] == "StatusUpdate")

    # the master serves the same gathered trace, and the CLI prints it
    with urllib.request.urlopen(f"{master.http}/master/trace?task_id=t1", timeout=30) as r:
        served = json.loads(r.read())
    assert [m["msg_id"] for m in served["messages"]] == [m["msg_id"] for m in msgs]
    out = subprocess.run([str(BIN / "meseta"), "trace", "--task", "t1",
                          f"--master={master.http.removeprefix('http://')}"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == len(msgs)
    assert "AcceptOffers" in lines[accept] and lines[accept].startswith("+")
    assert f"→ {task_agent.pid}  RunTask  task=t1" in lines[run_m]
    mermaid = subprocess.run([str(BIN / "meseta"), "trace", "--task", "t1", "--mermaid",
                              f"--master={master.http.removeprefix('http://')}"],
                             capture_output=True, text=True, timeout=60)
    assert mermaid.stdout.startswith("sequenceDiagram\n")
    assert mermaid.stdout.count("->>") == len(msgs)
    # --follow streams every node's events (here: the recent ones, then a second of new)
    live = subprocess.run([str(BIN / "meseta"), "trace", "--follow", "--name", "RunTask",
                           "--since", "0", "--seconds", "1",
                           f"--master={master.http.removeprefix('http://')}"],
                          capture_output=True, text=True, timeout=60)
    assert live.returncode == 0, live.stderr
    followed = live.stdout.splitlines()
    to_agent = f"{msgs[run_m]['frm']} → {task_agent.pid}  RunTask  task=t1"
    assert any(line.startswith(f"send  {to_agent}") for line in followed), live.stdout
    assert any(line.startswith(f"recv  {to_agent}") for line in followed), live.stdout
    assert sum("→ executor@" in line for line in followed) >= 1  # the agent's RunTask to it
    assert all("  RunTask  " in line for line in followed)
