"""The master's web UI in a real headless browser: a real master and agent, a framework
in this process with a long-running task that prints to its stdout, and Debian's
``chromium`` (installed by ./scripts/test) loading the master's page. The rendered DOM
must show the agent, the task as TASK_RUNNING, and -- on the task's own page, whose
sandbox is read from the agent cross-origin -- the task's stdout. When the agent wants
HTTP credentials (which the browser never sends it cross-origin), the page reads the
sandbox through the master's ``/agents/<agent_id>/files/*`` with its own credentials.
The static files are served with their content types and nothing else under /webui/ is."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.authorization.http_auth import basic_authorization
from actors.messages import TaskState
from tests.e2e.conftest import LocalCluster, Node
from tests.e2e.harness import WAIT, command_task, framework
from tests.e2e.security import CREDENTIALS, acls_flag, call, credentials_flag

FAST = ("--allocation_interval=100ms",)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                "(./scripts/test installs it)")

Browser = Callable[..., str]


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    """``browser(url, *flags) -> stdout``: one headless chromium run with a fresh profile;
    its whole process group is killed afterwards, whatever happened."""
    started: list[subprocess.Popen[bytes]] = []

    def run(url: str, *flags: str, timeout: float = 90.0) -> str:
        profile = tmp_path / f"chromium-profile-{len(started)}"
        profile.mkdir()
        proc = subprocess.Popen([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}",
                                 *flags, url], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, cwd=tmp_path, start_new_session=True)
        started.append(proc)
        out, _ = proc.communicate(timeout=timeout)
        return out.decode(errors="replace")

    yield run
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
        else:  # leftovers of a finished browser (its zygotes) share its group
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def dom(browser: Browser, url: str, until: Callable[[str], bool],
        deadline: float = WAIT) -> str:
    """The rendered DOM of ``url`` once ``until(dom)`` holds (a browser run takes the page
    as its scripts left it after the virtual-time budget; retried until ``deadline``)."""
    end = time.monotonic() + deadline
    while True:
        page = browser(url, "--dump-dom", "--virtual-time-budget=6000")
        if until(page) or time.monotonic() > end:
            return page


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=WAIT) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_static_files_are_served_with_their_types_and_nothing_else(cluster: LocalCluster) -> None:
    master = cluster.master()
    status, headers, body = _get(f"{master.http}/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert headers["Cache-Control"] == "no-cache" and b"/webui/app.js" in body
    for name, kind in (("app.js", "text/javascript"), ("style.css", "text/css"),
                       ("index.html", "text/html")):
        status, headers, _ = _get(f"{master.http}/webui/{name}")
        assert status == 200 and headers["Content-Type"].startswith(kind), name
    for bad in ("/webui/../http.py", "/webui/%2e%2e/http.py", "/webui/webui.py",
                "/webui/app.js/../../http.py", "/webui/nope.js"):
        assert _get(f"{master.http}{bad}")[0] == 404, bad


def test_browser_shows_a_running_task_its_agent_and_its_stdout(
        cluster: LocalCluster, browser: Browser) -> None:
    master = cluster.master(*FAST)
    agent = cluster.agent(master)
    with framework(master.address, name="webui-e2e") as (driver, rec):
        offer = rec.wait("offer")
        task = command_task("web-task-1", offer,
                            "echo hello-from-the-sandbox; echo to-stderr >&2; sleep 600")
        driver.launch_tasks([offer.id], [task])
        rec.wait_state("web-task-1", TaskState.TASK_RUNNING)
        agent_id = offer.agent_id

        page = dom(browser, f"{master.http}/",
                   lambda d: "web-task-1" in d and "TASK_RUNNING" in d)
        row = re.search(r'<tr><td><a href="#/tasks/[^"]+/web-task-1">web-task-1</a>.*?</tr>',
                        page, re.S)
        assert row is not None and "TASK_RUNNING" in row.group(0), page[-3000:]
        assert "webui-e2e" in page  # the framework's row
        assert f'href="#/agents/{agent_id}"' in page  # the agent's row links to its page
        assert "Cannot read the master" not in page

        framework_id = json.loads(_get(f"{master.http}/master/state")[2])["frameworks"][0]["id"]
        url = f"{master.http}/#/tasks/{framework_id}/web-task-1"
        page = dom(browser, url, lambda d: "hello-from-the-sandbox" in d)
        stdout = re.search(r'<pre[^>]*id="tail-stdout"[^>]*>(.*?)</pre>', page, re.S)
        assert stdout is not None, page[-3000:]
        assert "hello-from-the-sandbox" in stdout.group(1)
        stderr = re.search(r'<pre[^>]*id="tail-stderr"[^>]*>(.*?)</pre>', page, re.S)
        assert stderr is not None and "to-stderr" in stderr.group(1)
        assert "from the agent" in page and "through the master" not in page
        # The trace section answered one way or another: no /master/trace, no traced
        # messages (the nodes run without --trace), or the messages.
        trace = page.split("Message trace", 1)[1]
        assert 'id="trace-none"' in trace or 'id="trace-empty"' in trace or "→" in trace

        page = dom(browser, f"{master.http}/#/agents/{agent_id}", lambda d: "web-task-1" in d)
        assert agent_id in page and "web-task-1" in page and agent.http in page

        # What let the page read the agent: any origin may GET its state and files.
        status, headers, _ = _get(f"{agent.http}/state")
        assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"


def test_a_standby_masters_page_names_and_links_the_leader(
        cluster: LocalCluster, browser: Browser, zookeeper: str, zk_path: str) -> None:
    flags = (f"--zk=zk://{zookeeper}{zk_path}", "--zk_session_timeout=1secs")
    first = cluster.master(*flags, name="master1")
    second = cluster.master(*flags, name="master2")

    def state(node: Node) -> dict[str, Any]:
        return dict(json.loads(_get(f"{node.http}/master/state")[2]))

    deadline = time.monotonic() + WAIT
    while True:  # wait for the election, and for the standby to have detected it
        standby = next((n for n in (first, second)
                        if not state(n)["elected"] and state(n)["leader_info"]), None)
        if standby is not None:
            break
        assert time.monotonic() < deadline, "no standby master learnt of a leader"
        time.sleep(0.1)  # polling an external process's state; the deadline bounds it
    leader = second if standby is first else first
    assert state(leader)["elected"]
    leader_port = leader.http.rpartition(":")[2]

    page = dom(browser, f"{standby.http}/", lambda d: "not the leader" in d)
    banner = re.search(r'<div id="leader"[^>]*>(.*?)</div>', page, re.S)
    assert banner is not None and "not the leader" in banner.group(1), page[-2000:]
    assert re.search(rf'href="http://[^"/]+:{leader_port}/"', banner.group(1)), banner.group(1)
    assert leader.pid in banner.group(1)


def test_a_sandbox_the_agent_guards_is_read_through_the_master_with_the_users_credentials(
        cluster: LocalCluster, browser: Browser) -> None:
    """Master and agent both with --authenticate_http_readonly, the agent with an
    access_sandboxes ACL for ops only. The page, opened as ops (through /webui/login with
    credentials in the URL, which the browser then sends to the master's origin only),
    cannot read the agent
    itself and shows the task's stdout read through the master; opened as alice, whom the
    agent's ACL refuses, it shows the refusal and not the output."""
    auth = ("--authenticate_http_readonly", credentials_flag())
    master = cluster.master(*FAST, *auth)
    cluster.agent(master, "cpus:4;mem:4096;disk:4096;ports:[31000-32000]", *auth,
                  acls_flag(access_sandboxes=[
                      {"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
                      {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}]))
    with framework(master.address, name="webui-auth") as (driver, rec):
        offer = rec.wait("offer")
        driver.launch_tasks([offer.id], [command_task(
            "guarded-1", offer, "echo hello-through-the-master; sleep 600")])
        rec.wait_state("guarded-1", TaskState.TASK_RUNNING)
        status, _, body = call(f"{master.http}/master/state", principal="ops")
        assert status == 200, body
        framework_id = json.loads(body)["frameworks"][0]["id"]
        # /webui/login is in the master's readonly realm: the browser answers its
        # challenge with the URL's credentials, follows it to the page and keeps them for
        # the master's origin (a challenge from a page's own fetch would prompt, and hang)
        hashpath = f"/webui/login#/tasks/{framework_id}/guarded-1"

        def as_user(principal: str) -> str:
            return master.http.replace("://", f"://{principal}:{CREDENTIALS[principal]}@", 1)

        page = dom(browser, as_user("ops") + hashpath,
                   lambda d: "hello-through-the-master" in d)
        stdout = re.search(r'<pre[^>]*id="tail-stdout"[^>]*>(.*?)</pre>', page, re.S)
        assert stdout is not None, page[-3000:]
        assert "hello-through-the-master" in stdout.group(1)
        assert "through the master" in page and "Cannot read the master" not in page

        page = dom(browser, as_user("alice") + hashpath, lambda d: "HTTP 403" in d)
        assert "guarded-1" in page and "Cannot read the master" not in page, page[-3000:]
        assert "HTTP 403" in page and "hello-through-the-master" not in page


def test_the_login_route_is_in_the_readonly_realm_and_leads_to_the_page(
        cluster: LocalCluster) -> None:
    """(A browser is not used: the page's own 401 would open a prompt headless chromium
    never answers.)"""
    master = cluster.master("--authenticate_http_readonly", credentials_flag())
    status, headers, _ = call(f"{master.http}/webui/login")
    assert status == 401
    assert headers["WWW-Authenticate"] == 'Basic realm="mesos-master-readonly"'
    assert call(f"{master.http}/webui/login", principal="ops", secret="wrong")[0] == 401
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(f"{master.http}/webui/login", headers={
        "Authorization": basic_authorization("ops", CREDENTIALS["ops"])})
    try:
        opener.open(request, timeout=WAIT)
        raise AssertionError("no redirect")
    except urllib.error.HTTPError as exc:
        assert exc.code == 303 and exc.headers["Location"] == "/"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None
