"""``BatchScheduler`` against a recording driver, its HTTP API's routes, and the CLI (the
``submit``/``jobs``/``status``/``start``/``watch``/``delete`` verbs over a real socket;
bad flags and bad job files in a real process)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.messages import MasterInfo, Offer, TaskState, TaskStatus
from actors.resources import Resources
from frameworks.batch import client
from frameworks.batch.api import route, serve
from frameworks.batch.jobs import parse_jobs
from frameworks.batch.scheduler import BatchScheduler
from frameworks.citizen import DECLINE_SECONDS


class Driver:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def launch_tasks(self, offer_ids: Any, tasks: Any, filters: Any = None) -> None:
        self.calls.append(("launch", (offer_ids[0], [t.task_id for t in tasks])))
        self.tasks = getattr(self, "tasks", []) + list(tasks)

    def decline_offer(self, offer_id: str, filters: Any = None) -> None:
        self.calls.append(("decline", (offer_id, filters.refuse_seconds)))

    def suppress_offers(self, roles: Any = ()) -> None:
        self.calls.append(("suppress", tuple(roles)))

    def revive_offers(self, roles: Any = ()) -> None:
        self.calls.append(("revive", tuple(roles)))

    def kill_task(self, task_id: str, agent_id: str = "") -> None:
        self.calls.append(("kill", (task_id, agent_id)))

    def reconcile_tasks(self, statuses: Any = ()) -> None:
        self.calls.append(("reconcile", sorted(s.task_id for s in statuses)))

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.calls]


def _offer(i: int, resources: str) -> Offer:
    return Offer(id=f"o{i}", framework_id="f", agent_id=f"a{i}", hostname="h",
                 resources=Resources.parse(resources))


def _jobs(n: int, **fields: Any) -> Any:
    return parse_jobs([{"name": f"j{i}", "command": "sleep 4", "cpus": 1, "mem": 64, **fields}
                       for i in range(n)])


def _finish(sched: BatchScheduler, driver: Any, task_id: str,
            state: TaskState = TaskState.TASK_FINISHED) -> None:
    sched.status_update(driver, TaskStatus(task_id=task_id, state=state, agent_id="a1"))


def test_offers_are_packed_round_robin_and_the_rest_is_left_to_the_citizen() -> None:
    sched, d = BatchScheduler(roles=["batch"]), Driver()
    driver: Any = d
    sched.registered(driver, "f", MasterInfo(id="m", ip=0, port=1))
    assert d.calls == [("suppress", ("batch",))]  # nothing to do yet
    sched.submit(_jobs(7))
    assert d.calls[-1] == ("revive", ("batch",))
    sched.resource_offers(driver, [_offer(1, "cpus:4;mem:1024"), _offer(2, "cpus:2;mem:1024"),
                                   _offer(3, "cpus:0.5;mem:1024")])
    launches = {value[0]: value[1] for kind, value in d.calls if kind == "launch"}
    assert {o: len(ids) for o, ids in launches.items()} == {"o1": 4, "o2": 2}
    assert ("decline", ("o3", DECLINE_SECONDS)) in d.calls
    assert d.kinds()[-1] == "decline"  # j6 still waits: no suppression
    sched.resource_offers(driver, [_offer(4, "cpus:1;mem:64")])
    assert d.calls[-2][0] == "launch" and d.calls[-1] == ("suppress", ("batch",))
    for task in d.tasks:
        _finish(sched, driver, task.task_id)
    assert sched.status()["done"] and sched.status()["succeeded"] == 7
    env = d.tasks[0].command.environment.to_dict()
    assert env["MESETA_BATCH_JOB"] == "j0" and env["MESETA_BATCH_ATTEMPT"] == "1"


def test_a_retry_revives_offers_and_a_reregistration_reconciles_running_tasks() -> None:
    sched, d = BatchScheduler(exit_when_done=True), Driver()
    driver: Any = d
    info = MasterInfo(id="m", ip=0, port=1)
    sched.registered(driver, "f", info)
    sched.submit(_jobs(2, retries=1))
    sched.resource_offers(driver, [_offer(1, "cpus:4;mem:1024")])
    first, second = [t.task_id for t in d.tasks]
    sched.reregistered(driver, info)
    assert ("reconcile", sorted([first, second])) in d.calls
    _finish(sched, driver, first, TaskState.TASK_LOST)  # lost: retried
    assert d.calls[-1] == ("revive", ())
    sched.resource_offers(driver, [_offer(2, "cpus:4;mem:1024")])
    retry = d.tasks[-1].task_id
    assert retry.startswith("j0.1.2-")
    _finish(sched, driver, second)
    assert not sched.finished.is_set()
    _finish(sched, driver, retry)
    assert sched.finished.is_set() and sched.status()["runs"] == 2


def test_the_api_answers_chronos_paths_and_json_errors() -> None:
    sched, d = BatchScheduler(), Driver()
    driver: Any = d
    sched.registered(driver, "f", MasterInfo(id="m", ip=0, port=1))
    job = {"name": "p", "command": "true", "schedule": "R1/2099-01-01T00:00:00Z/PT1S"}
    assert route(sched, "POST", "/v1/scheduler/iso8601", json.dumps(job).encode()) == (
        201, {"submitted": ["p"]})
    child = json.dumps({"name": "c", "command": "true", "parents": ["p"]}).encode()
    assert route(sched, "POST", "/v1/scheduler/iso8601", child)[0] == 400
    assert route(sched, "POST", "/v1/scheduler/dependency", child)[0] == 201
    status, jobs = route(sched, "GET", "/v1/scheduler/jobs")
    assert status == 200 and [j["name"] for j in jobs] == ["p", "c"]
    assert jobs[0]["next_run"] == "2099-01-01T00:00:00.000Z" and jobs[0]["state"] == "idle"
    assert route(sched, "POST", "/v1/scheduler/job/p") == (202, {"job": "p", "run": 1})
    status, one = route(sched, "GET", "/v1/scheduler/job/p")
    assert status == 200 and one["runs"][0]["cause"] == "manual"
    assert one["runs"][0]["state"] == "QUEUED"
    for method, path, body, code, words in [
            ("GET", "/v1/scheduler/job/nope", b"", 404, "no job 'nope'"),
            ("DELETE", "/v1/scheduler/job/p", b"", 400, "parent of c"),
            ("POST", "/v1/scheduler/jobs", b"{not json", 400, "not JSON"),
            ("POST", "/v1/scheduler/jobs", b'[{"name": "x"}]', 400, "command"),
            ("POST", "/v1/scheduler/dependency", b'{"name": "d", "command": "true"}', 400,
             "needs parents"),
            ("PATCH", "/v1/scheduler/jobs", b"", 405, "not allowed"),
            ("GET", "/v1/other", b"", 404, "no such path")]:
        status, data = route(sched, method, path, body)
        assert status == code and words in data["message"], (path, data)
    assert route(sched, "DELETE", "/v1/scheduler/job/c") == (204, None)
    assert [kind for kind in d.kinds() if kind == "kill"] == []


@pytest.fixture
def api() -> Iterator[tuple[BatchScheduler, Driver, str]]:
    sched, d = BatchScheduler(), Driver()
    driver: Any = d
    sched.registered(driver, "f", MasterInfo(id="m", ip=0, port=1))
    server = serve(sched, 0)
    try:
        yield sched, d, server.url
    finally:
        server.stop()


def _cli(*argv: str) -> tuple[int, str]:
    args = client.argparse.ArgumentParser()
    client.add_parsers(args.add_subparsers(dest="command", required=True))
    out, err = io.StringIO(), io.StringIO()
    code = client.run(args.parse_args(list(argv)), out, err)
    return code, out.getvalue() + err.getvalue()


def test_client_verbs_over_http(api: tuple[BatchScheduler, Driver, str],
                                tmp_path: Path) -> None:
    sched, d, url = api
    driver: Any = d
    jobs = tmp_path / "jobs.json"
    jobs.write_text(json.dumps([{"name": "a", "command": "true"},
                                {"name": "b", "command": "true", "parents": ["a"], "retries": 0}]))
    assert _cli("submit", str(jobs), "--url", url) == (0, "submitted a, b\n")
    code, text = _cli("jobs", "--url", url)
    assert code == 0 and text.splitlines()[1].split()[:2] == ["a", "queued"]
    sched.resource_offers(driver, [_offer(1, "cpus:1;mem:512")])
    _finish(sched, driver, d.tasks[0].task_id)
    sched.resource_offers(driver, [_offer(2, "cpus:1;mem:512")])
    _finish(sched, driver, d.tasks[1].task_id, TaskState.TASK_FAILED)
    code, text = _cli("status", "b", "--url", url)
    assert code == 0 and json.loads(text)["runs"][0]["attempts"][0]["state"] == "TASK_FAILED"
    code, text = _cli("start", "a", "--url", url)
    assert (code, text) == (0, "started a run 2\n")
    sched.resource_offers(driver, [_offer(3, "cpus:1;mem:512")])
    _finish(sched, driver, d.tasks[2].task_id)
    code, text = _cli("watch", "a", "--url", url, "--interval", "0.1")
    assert code == 0 and [line.split()[1:5] for line in text.splitlines()] == [
        ["a", "run", "1", "SUCCEEDED"], ["a", "run", "2", "SUCCEEDED"]]
    code, text = _cli("delete", "a", "--url", url)
    assert code == 1 and "400" in text and "parent of b" in text
    assert _cli("status", "zz", "--url", url)[0] == 1
    assert "cannot reach" in _cli("jobs", "--url", "http://127.0.0.1:1")[1]


def _run_cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "frameworks.batch", *argv],
                          capture_output=True, text=True, timeout=60)


def test_bad_flags_and_bad_job_files_exit_2_with_a_message(tmp_path: Path) -> None:
    cyclic = tmp_path / "cyclic.json"
    cyclic.write_text(json.dumps([{"name": "a", "command": "x", "parents": ["b"]},
                                  {"name": "b", "command": "x", "parents": ["a"]}]))
    for argv, words in [(("run", "--http_port=99999"), "port"),
                        (("run", "--master=zz"), "master"),
                        (("run", "--bogus"), "unrecognized"),
                        (("run", f"--jobs={cyclic}"), "cycle"),
                        (("run", f"--jobs={tmp_path / 'missing.json'}"), "cannot read"),
                        (("run", "--failover_timeout=soon"), "--failover_timeout"),
                        (("frobnicate",), "unknown verb"),
                        (("jobs",), "--url")]:
        result = _run_cli(*argv)
        assert result.returncode == 2 and words in result.stderr, (argv, result.stderr)
