"""``ServiceScheduler`` and its HTTP API against a recording driver and a manual clock.

No cluster: the driver records what the scheduler asks of it, and the test plays the
master's part (offers, status updates, the reconciliation marker's answer). The HTTP
API is served for real on 127.0.0.1 (port 0).
"""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.messages import MasterInfo, Offer, TaskState, TaskStatus
from actors.resources import Resources
from frameworks.service import cli
from frameworks.service.http_api import ServiceHttpApi
from frameworks.service.operations import AppOperations
from frameworks.service.scheduler import KILL_RETRY, RECONCILE_RETRY, ServiceScheduler
from frameworks.service.spec import parse_app
from frameworks.service.state import SavedState, StateFile
from frameworks.service.tasks import ServiceTask


class Driver:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def of(self, kind: str) -> list[Any]:
        return [value for k, value in self.calls if k == kind]

    def reconcile_tasks(self, statuses: Any = ()) -> None:
        self.calls.append(("reconcile", [s.task_id for s in statuses]))

    def launch_tasks(self, offer_ids: Any, tasks: Any, filters: Any = None) -> None:
        self.calls.append(("launch", [t.task_id for t in tasks]))

    def decline_offer(self, offer_id: str, filters: Any = None) -> None:
        self.calls.append(("decline", offer_id))

    def suppress_offers(self, roles: Any = ()) -> None:
        self.calls.append(("suppress", ()))

    def revive_offers(self, roles: Any = ()) -> None:
        self.calls.append(("revive", ()))

    def kill_task(self, task_id: str, agent_id: str = "") -> None:
        self.calls.append(("kill", task_id))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def offer(i: int = 1) -> Offer:
    return Offer(id=f"o{i}", framework_id="f", agent_id=f"a{i}", hostname=f"h{i}",
                 resources=Resources.parse("cpus:1;mem:256"))


def status(task_id: str, state: TaskState, agent: str = "a1") -> TaskStatus:
    return TaskStatus(task_id=task_id, state=state, agent_id=agent)


MASTER = MasterInfo(id="m")
SLEEPER = {"id": "sleeper", "cmd": "sleep 1000", "instances": 2, "cpus": 0.1, "mem": 16,
           "version": "v1"}


def make(tmp_path: Path, state: SavedState | None = None) -> tuple[ServiceScheduler, Any,
                                                                   Clock]:
    clock = Clock()
    state = state or SavedState(apps=[parse_app(SLEEPER)])
    scheduler = ServiceScheduler(state, StateFile(tmp_path), clock=clock)
    return scheduler, Driver(), clock


def reconcile(scheduler: ServiceScheduler, driver: Any) -> None:
    marker = driver.of("reconcile")[-1][0]
    assert marker.startswith("service-reconciliation.")
    scheduler.status_update(driver, status(marker, TaskState.TASK_LOST, agent=""))


def test_nothing_launches_before_reconciliation_ends(tmp_path: Path) -> None:
    scheduler, driver, _ = make(tmp_path)
    scheduler.registered(driver, "fw-1", MASTER)
    assert driver.of("reconcile")[0] == []  # implicit (no tasks known yet), then the marker
    scheduler.resource_offers(driver, [offer()])
    assert driver.of("launch") == [] and driver.of("decline") == ["o1"]
    reconcile(scheduler, driver)
    assert ("revive", ()) in driver.calls
    scheduler.resource_offers(driver, [offer()])
    (launched,) = driver.of("launch")
    assert len(launched) == 2
    saved = StateFile(tmp_path).load()
    assert saved is not None and saved.framework_id == "fw-1"
    assert sorted(t.task_id for t in saved.tasks) == sorted(launched)


def test_an_unanswered_marker_is_asked_again(tmp_path: Path) -> None:
    scheduler, driver, clock = make(tmp_path)
    scheduler.registered(driver, "fw-1", MASTER)
    asked = len(driver.of("reconcile"))
    clock.now += RECONCILE_RETRY
    scheduler.tick()
    assert len(driver.of("reconcile")) == asked + 1


def test_a_restart_reconciles_known_tasks_adopts_others_and_kills_orphans(
        tmp_path: Path) -> None:
    known = ServiceTask(task_id="sleeper.1", app_id="sleeper", version="v1", agent_id="a1")
    scheduler, driver, _ = make(tmp_path, SavedState("fw-1", [parse_app(SLEEPER)], [known]))
    scheduler.reregistered(driver, MASTER)
    assert driver.of("reconcile")[:2] == [["sleeper.1"], []]
    scheduler.status_update(driver, status("sleeper.1", TaskState.TASK_RUNNING))
    scheduler.status_update(driver, status("sleeper.2", TaskState.TASK_RUNNING))
    scheduler.status_update(driver, status("gone-app.3", TaskState.TASK_RUNNING))
    reconcile(scheduler, driver)
    assert sorted(scheduler.tasks) == ["sleeper.1", "sleeper.2"]
    assert driver.of("kill") == ["gone-app.3"]
    assert driver.calls[-1] == ("suppress", ())  # both instances adopted: nothing wanted
    scheduler.resource_offers(driver, [offer()])
    assert driver.of("launch") == [] and driver.calls[-1] == ("decline", "o1")


def test_a_failed_instance_is_replaced_after_its_backoff(tmp_path: Path) -> None:
    scheduler, driver, clock = make(tmp_path)
    scheduler.registered(driver, "fw-1", MASTER)
    reconcile(scheduler, driver)
    scheduler.resource_offers(driver, [offer()])
    first, second = driver.of("launch")[0]
    for task_id in (first, second):
        scheduler.status_update(driver, status(task_id, TaskState.TASK_RUNNING))
    scheduler.status_update(driver, status(first, TaskState.TASK_FAILED))
    assert scheduler.backoffs["sleeper"].delay == 1.0
    scheduler.resource_offers(driver, [offer(2)])
    assert len(driver.of("launch")) == 1  # still backing off: declined
    revivals = len(driver.of("revive"))
    clock.now += 1.0
    scheduler.tick()
    assert len(driver.of("revive")) == revivals + 1  # the backoff expired: offers again
    scheduler.resource_offers(driver, [offer(2)])
    assert len(driver.of("launch")[1]) == 1


def test_reconciliation_repeats_on_the_clock_and_a_task_the_master_lost_is_replaced(
        tmp_path: Path) -> None:
    clock = Clock()
    scheduler = ServiceScheduler(SavedState(apps=[parse_app(SLEEPER)]), StateFile(tmp_path),
                                 clock=clock, reconciliation_initial_delay=15.0,
                                 reconciliation_interval=600.0)
    driver: Any = Driver()
    scheduler.registered(driver, "fw-1", MASTER)
    reconcile(scheduler, driver)
    scheduler.resource_offers(driver, [offer()])
    first, second = driver.of("launch")[0]
    for task_id in (first, second):
        scheduler.status_update(driver, status(task_id, TaskState.TASK_RUNNING))

    def periodic_after(seconds: float) -> list[Any]:
        asked = len(driver.of("reconcile"))
        clock.now += seconds
        scheduler.tick()
        return [sorted(ids) for ids in driver.of("reconcile")[asked:]]

    assert periodic_after(14.5) == []  # the initial delay runs from the first reconciliation
    assert periodic_after(0.5) == [sorted([first, second]), []]  # explicit, then implicit
    assert periodic_after(599.0) == []
    assert periodic_after(1.0) == [sorted([first, second]), []]
    # The master answers that it lost one (its update never reached us): it is replaced.
    scheduler.status_update(driver, status(first, TaskState.TASK_LOST))
    assert sorted(scheduler.tasks) == [second]
    clock.now += 1.0  # the backoff
    scheduler.tick()
    scheduler.resource_offers(driver, [offer(2)])
    (replacement,) = driver.of("launch")[1]
    assert periodic_after(600.0) == [sorted([second, replacement]), []]
    assert scheduler.periodic_reconciliations == 3
    # A re-registration reconciles at once, and the periodic timer starts over after it.
    scheduler.reregistered(driver, MASTER)
    (only,) = periodic_after(600.0)  # not reconciled yet: only the marker is asked again
    assert len(only) == 1 and only[0].startswith("service-reconciliation.")
    reconcile(scheduler, driver)
    assert periodic_after(14.0) == []
    assert periodic_after(1.0) == [sorted([second, replacement]), []]


def test_kills_are_sent_again_until_a_terminal_update_comes(tmp_path: Path) -> None:
    scheduler, driver, clock = make(tmp_path)
    scheduler.registered(driver, "fw-1", MASTER)
    reconcile(scheduler, driver)
    scheduler.resource_offers(driver, [offer()])
    ops = AppOperations(scheduler)
    ops.update_app("sleeper", {"instances": 1})
    (killed,) = driver.of("kill")
    clock.now += KILL_RETRY
    scheduler.tick()
    assert driver.of("kill") == [killed, killed]
    scheduler.status_update(driver, status(killed, TaskState.TASK_KILLED))
    assert killed not in scheduler.tasks and "sleeper" not in scheduler.backoffs


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[str, ServiceScheduler, Any]]:
    scheduler, driver, _ = make(tmp_path)
    scheduler.registered(driver, "fw-1", MASTER)
    reconcile(scheduler, driver)
    server = ServiceHttpApi(AppOperations(scheduler), 0).start()
    try:
        yield server.url, scheduler, driver
    finally:
        server.stop()


def call(url: str, method: str = "GET", body: Any = None,
         raw: bytes | None = None) -> tuple[int, Any]:
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            text = reply.read()
            return reply.status, text.decode() if text == b"pong" else json.loads(text)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_http_api_creates_reads_changes_and_removes_apps(
        api: tuple[str, ServiceScheduler, Any], tmp_path: Path) -> None:
    url, scheduler, _ = api
    assert call(f"{url}/ping") == (200, "pong")
    code, created = call(f"{url}/v2/apps", "POST", {"id": "web", "cmd": "serve", "cpus": 0.1,
                                                     "mem": 16})
    assert code == 201 and created["id"] == "/web" and created["version"]
    assert [a["id"] for a in call(f"{url}/v2/apps")[1]["apps"]] == ["/sleeper", "/web"]
    code, scaled = call(f"{url}/v2/apps/web", "PUT", {"instances": 3})
    assert code == 200 and scaled["version"] == created["version"]
    assert call(f"{url}/v2/apps/web")[1]["app"]["instances"] == 3
    code, changed = call(f"{url}/v2/apps/web", "PUT", {"cmd": "serve --new"})
    assert code == 200 and changed["version"] != created["version"]
    code, restarted = call(f"{url}/v2/apps/web/restart", "POST")
    assert code == 200 and restarted["version"] != changed["version"]
    assert call(f"{url}/v2/apps/web/tasks") == (200, {"tasks": []})
    assert call(f"{url}/v2/apps/web", "DELETE")[0] == 200
    assert "web" not in scheduler.apps
    saved = StateFile(tmp_path).load()
    assert saved is not None and [a.id for a in saved.apps] == ["sleeper"]


@pytest.mark.parametrize("method, path, body, code, message", [
    ("GET", "/v2/apps/nope", None, 404, "does not exist"),
    ("DELETE", "/v2/apps/nope", None, 404, "does not exist"),
    ("POST", "/v2/apps/nope/restart", None, 404, "does not exist"),
    ("GET", "/v2/nothing", None, 404, "no such path"),
    ("POST", "/v2/apps", {"id": "sleeper", "cmd": "x"}, 409, "already exists"),
    ("PUT", "/v2/apps/sleeper", {"id": "other"}, 409, "is not /sleeper"),
    ("POST", "/v2/apps", {"id": "x"}, 400, "'cmd'"),
    ("PUT", "/v2/apps/sleeper", {"instances": -2}, 400, "'instances'"),
    ("POST", "/v2/apps", b"{not json", 400, "not JSON"),
])
def test_http_api_errors_are_json_messages(api: tuple[str, ServiceScheduler, Any],
                                           method: str, path: str, body: Any, code: int,
                                           message: str) -> None:
    url, _, _ = api
    raw = body if isinstance(body, bytes) else None
    got, answer = call(url + path, method, None if raw else body, raw)
    assert got == code and message in answer["message"]


def test_client_verbs_deploy_restart_scale_and_remove_through_the_api(
        api: tuple[str, ServiceScheduler, Any], tmp_path: Path) -> None:
    url, scheduler, _ = api
    spec = tmp_path / "apps.json"
    spec.write_text(json.dumps({"apps": [{"id": "web", "cmd": "serve", "mem": 16}]}))
    out, err = io.StringIO(), io.StringIO()
    assert cli.client("deploy", [str(spec), f"--url={url}"], out, err) == 0, err.getvalue()
    assert scheduler.apps["web"].cmd == "serve"
    version = scheduler.apps["web"].version
    assert cli.client("scale", ["web", "4", f"--url={url}"], out, err) == 0
    assert scheduler.apps["web"].instances == 4 and scheduler.apps["web"].version == version
    spec.write_text(json.dumps([{"id": "web", "cmd": "serve --v2", "mem": 16}]))
    assert cli.client("deploy", [str(spec), f"--url={url}"], out, err) == 0
    assert scheduler.apps["web"].cmd == "serve --v2" and scheduler.apps["web"].version != version
    assert cli.client("restart", ["/web", f"--url={url}"], out, err) == 0
    assert cli.client("remove", ["web", f"--url={url}"], out, err) == 0
    assert "web" not in scheduler.apps
    assert cli.client("remove", ["web", f"--url={url}"], out, err) == 1
    assert "404 App '/web' does not exist" in err.getvalue()
