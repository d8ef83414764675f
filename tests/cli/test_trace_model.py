"""The pure parts of ``meseta trace`` and the tables: merge, task selection, order, output."""

from __future__ import annotations

from typing import Any

from actors.cli.agents import agent_rows
from actors.cli.table import render, resources_text
from actors.cli.top import summary
from actors.cli.trace import event_line
from actors.cli.trace_model import for_task, merge, mermaid, order, render_lines

S, M, A, E = ("scheduler(1)@h:1", "master@h:2", "agent@h:3", "executor@h:4")


def _ev(kind: str, msg_id: str, parent: str | None, name: str, frm: str, to: str, ts: float,
        **keys: Any) -> dict[str, Any]:
    return {"event": kind, "msg_id": msg_id, "parent_id": parent, "trace_id": "T", "hop": 0,
            "name": name, "frm": frm, "to": to, "ts": ts, **keys}


def _events() -> list[dict[str, Any]]:
    return [
        # the master's and the agent's view; times out of order across nodes
        _ev("trace.recv", "a", None, "AcceptOffers", S, M, 10.0, task_id="t1"),
        _ev("trace.send", "r", "a", "RunTask", M, A, 10.001, task_id="t1", size=90),
        _ev("trace.recv", "r", "a", "RunTask", M, A, 10.0005, task_id="t1", handler_ms=0.1),
        _ev("trace.recv", "g", "r", "RegisterExecutor", E, A, 10.030, executor_id="t1"),
        _ev("trace.send", "x", "g", "ExecutorRegistered", A, E, 10.031),
        _ev("trace.send", "u", "g", "StatusUpdate", A, M, 10.040, task_id="t1",
            state="TASK_RUNNING"),
        _ev("trace.send", "o", None, "StatusUpdate", A, M, 10.050, task_id="t2",
            state="TASK_RUNNING"),  # another task
        _ev("trace.recv", "p", None, "PingAgent", M, A, 9.0),  # untraced by the task
    ]


def test_merge_folds_a_send_and_its_receive_into_one_message() -> None:
    msgs = {m["msg_id"]: m for m in merge(_events())}
    assert len(msgs) == 7
    run = msgs["r"]
    assert run["sent"] == 10.001 and run["received"] == 10.0005
    assert run["size"] == 90 and run["handler_ms"] == 0.1 and run["task_id"] == "t1"
    assert msgs["a"]["sent"] is None and msgs["a"]["received"] == 10.0
    assert merge([{"event": "trace.send", "name": "X"}]) == []  # untraced: left out


def test_for_task_keeps_the_tasks_messages_and_what_they_caused() -> None:
    kept = {m["msg_id"] for m in for_task(merge(_events()), "t1")}
    assert kept == {"a", "r", "g", "x", "u"}  # not t2's update, not the ping


def test_order_puts_parents_first_even_against_the_clock() -> None:
    msgs = merge([
        _ev("trace.send", "c", "p", "Child", M, A, 1.0),
        _ev("trace.recv", "p", None, "Parent", S, M, 2.0),
        _ev("trace.send", "z", None, "Later", A, M, 3.0),
        _ev("trace.send", "loop1", "loop2", "L1", A, M, 4.0),  # a cycle does not hang
        _ev("trace.send", "loop2", "loop1", "L2", A, M, 5.0),
    ])
    assert [m["name"] for m in order(msgs)][:3] == ["Parent", "Child", "Later"]
    assert sorted(m["name"] for m in order(msgs)) == ["Child", "L1", "L2", "Later", "Parent"]


def test_render_lines_and_mermaid() -> None:
    msgs = order(for_task(merge(_events()), "t1"))
    lines = render_lines(msgs)
    assert lines[0] == f"+0.0ms  {S} → {M}  AcceptOffers  task=t1"
    assert lines[1] == f"+1.0ms  {M} → {A}  RunTask  task=t1"
    assert lines[-1] == f"+40.0ms  {A} → {M}  StatusUpdate  task=t1  state=TASK_RUNNING"
    diagram = mermaid(msgs).splitlines()
    assert diagram[0] == "sequenceDiagram"
    assert diagram[1] == f"    participant scheduler_1__h_1 as {S}"
    assert "    master_h_2->>agent_h_3: RunTask task=t1" in diagram
    assert sum("->>" in line for line in diagram) == len(msgs)
    assert render_lines([]) == []


def test_event_line_of_the_follow_stream() -> None:
    ev = _ev("trace.recv", "u", None, "StatusUpdate", A, M, 1.0, task_id="t1",
             state="TASK_FINISHED")
    assert event_line(ev) == f"recv  {A} → {M}  StatusUpdate  task=t1  state=TASK_FINISHED"


def test_tables_pad_columns_and_mark_empty_cells() -> None:
    text = render(("ID", "NAME"), [["a-long-id", ""], ["b", "x"]])
    assert text == "ID         NAME\na-long-id  -\nb          x\n"
    assert resources_text({"cpus": 0.5, "mem": 128.0, "disk": 0, "ports": "[1-2]"}) == \
        "cpus:0.5 mem:128"
    rows = agent_rows([{"id": "S0", "hostname": "h", "pid": "agent@h:1", "active": True,
                        "resources": {"cpus": 2}, "used_resources": {}}])
    assert rows == [["S0", "h", "agent@h:1", True, "cpus:2", ""]]


def test_top_summary_adds_up_agents_and_counts_task_states() -> None:
    state = {"agents": [{"resources": {"cpus": 2, "mem": 100}, "used_resources": {"cpus": 1}},
                        {"resources": {"cpus": 2, "mem": 50}, "used_resources": {}}],
             "frameworks": [{"tasks": [{"state": "TASK_RUNNING"}],
                             "completed_tasks": [{"state": "TASK_FINISHED"},
                                                 {"state": "TASK_FINISHED"}]}]}
    s = summary(state)
    assert s["agents"] == 2 and s["frameworks"] == 1
    assert s["total"] == {"cpus": 4.0, "mem": 150.0, "disk": 0.0}
    assert s["used"]["cpus"] == 1.0
    assert s["tasks"] == {"TASK_FINISHED": 2, "TASK_RUNNING": 1}
