"""Sandboxes through a real agent (fake master, real executors and tasks): URIs fetched
before the launch (a local tar.gz, an http:// URL from a server on 127.0.0.1, an
executable script), failures that launch nothing, garbage collection of finished
sandboxes (never a running one), and the /files API."""

from __future__ import annotations

import dataclasses
import http.server
import io
import json
import os
import stat
import tarfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agent_harness import FRAMEWORK, WAIT, Cluster, command_task, eventually, run_task, send, state

from actors.agent.recovery import recover
from actors.messages import CommandInfo, KillTask, TaskInfo, TaskState
from actors.messages.task_state import Reason
from actors.messages.tasks import URI


class Served:
    """Files under ``root`` on http://127.0.0.1:<port>/; ``/slow/...`` waits for ``gate``."""

    def __init__(self, root: Path) -> None:
        self.gate = threading.Event()
        gate = self.gate

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=str(root), **kwargs)

            def do_GET(self) -> None:
                if self.path.startswith("/slow/"):
                    gate.wait(WAIT)
                    self.path = self.path[len("/slow"):]
                if self.path.startswith("/moved/"):
                    self.send_response(302)
                    self.send_header("Location", self.path[len("/moved"):])
                    self.end_headers()
                    return
                super().do_GET()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    root = tmp_path / "www"
    root.mkdir()
    (root / "greeting.txt").write_text("hello over http\n")
    server = Served(root)
    try:
        yield server
    finally:
        server.close()


def make_tarball(path: Path) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data, mode in (("pkg/data.txt", b"from the tarball\n", 0o644),
                                 ("pkg/run.sh", b"#!/bin/sh\necho ran-the-script\n", 0o755)):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))


def sandbox(agent: Any, executor_id: str) -> Path:
    return (Path(agent.config.work_dir) / "agents" / "M1-S1" / "frameworks" / FRAMEWORK.id
            / "executors" / executor_id / "runs" / "latest")


def with_uris(task_id: str, command: str, *uris: URI) -> TaskInfo:
    return dataclasses.replace(command_task(task_id, command),
                               command=CommandInfo(value=command, uris=uris))


def test_a_tarball_and_an_http_url_are_fetched_before_the_task_runs(
        cluster: Cluster, tmp_path: Path, served: Served) -> None:
    make_tarball(tmp_path / "app.tar.gz")
    agent = cluster.make_agent()
    run_task(cluster, agent, with_uris(
        "t-fetch", "cat pkg/data.txt greeting.txt && ./pkg/run.sh",
        URI(value=str(tmp_path / "app.tar.gz")),
        URI(value=f"{served.url}/moved/greeting.txt")))  # a redirect, followed
    cluster.master.wait_state("t-fetch", TaskState.TASK_FINISHED)
    box = sandbox(agent, "t-fetch")
    assert (box / "stdout").read_text() == \
        "from the tarball\nhello over http\nran-the-script\n"
    assert (box / "app.tar.gz").is_file()  # the archive stays, as in Mesos
    assert "Fetched all URIs" in (box / "stderr").read_text()


def test_an_executable_uri_gets_x_and_is_not_extracted(cluster: Cluster,
                                                       tmp_path: Path) -> None:
    script = tmp_path / "tool.tar"
    script.write_text("#!/bin/sh\necho tool-ran\n")  # named like an archive: not one
    script.chmod(0o644)
    agent = cluster.make_agent()
    run_task(cluster, agent, with_uris("t-exe", "./mytool", URI(
        value=f"file://{script}", executable=True, output_file="mytool")))
    cluster.master.wait_state("t-exe", TaskState.TASK_FINISHED)
    fetched = sandbox(agent, "t-exe") / "mytool"
    assert fetched.stat().st_mode & stat.S_IXUSR
    assert (sandbox(agent, "t-exe") / "stdout").read_text() == "tool-ran\n"


@pytest.mark.parametrize("bad", ["/no/such/file.tar.gz", "{url}/missing.zip",
                                 "ftp://127.0.0.1/x"])
def test_a_failed_fetch_fails_the_task_and_launches_nothing(
        cluster: Cluster, served: Served, bad: str) -> None:
    agent = cluster.make_agent()
    run_task(cluster, agent, with_uris("t-bad", "echo never", URI(
        value=bad.format(url=served.url))))
    update = cluster.master.wait_state("t-bad", TaskState.TASK_FAILED).update
    assert update.status.reason is Reason.REASON_CONTAINER_LAUNCH_FAILED
    assert update.status.message.startswith("Failed to launch container: Failed to fetch "
                                            "all URIs for container")
    assert cluster.master.updates("t-bad") == [TaskState.TASK_FAILED]
    assert (sandbox(agent, "t-bad") / "stdout").read_text() == ""
    assert "Failed to fetch" in (sandbox(agent, "t-bad") / "stderr").read_text()
    assert eventually(lambda: any(e["id"] == "t-bad" and e["pid"] is None
                                  for f in state(agent)["completed_frameworks"]
                                  for e in f["completed_executors"]))


def test_a_task_killed_while_its_uris_are_fetched_is_killed_and_never_started(
        cluster: Cluster, served: Served) -> None:
    agent = cluster.make_agent()
    run_task(cluster, agent, with_uris("t-slow", "echo never", URI(
        value=f"{served.url}/slow/greeting.txt")))
    assert eventually(lambda: any(e["id"] == "t-slow" for f in state(agent)["frameworks"]
                                  for e in f["executors"]))
    send(cluster, agent, KillTask(framework_id=FRAMEWORK.id, task_id="t-slow"))
    cluster.master.wait_state("t-slow", TaskState.TASK_KILLED)
    served.gate.set()
    assert eventually(lambda: not state(agent)["frameworks"])
    assert cluster.master.updates("t-slow") == [TaskState.TASK_KILLED]
    assert (sandbox(agent, "t-slow") / "stdout").read_text() == ""


def test_gc_removes_a_finished_sandbox_after_gc_delay_never_a_running_one(
        cluster: Cluster) -> None:
    agent = cluster.make_agent(gc_delay=2.0)
    run_task(cluster, agent, command_task("t-long", "sleep 60"))
    cluster.master.wait_state("t-long", TaskState.TASK_RUNNING)
    run_task(cluster, agent, command_task("t-done", "echo done"))
    cluster.master.wait_state("t-done", TaskState.TASK_FINISHED)
    def completed() -> list[str]:
        return [e["directory"] for f in state(agent)["frameworks"]
                for e in f["completed_executors"]]

    assert eventually(lambda: len(completed()) == 1)  # /state shows it, then and after
    done = Path(completed()[0])
    assert done.parent.parent.name == "t-done"
    assert eventually(lambda: not done.parent.parent.exists())
    live = sandbox(agent, "t-long")
    assert (live / "stdout").is_file()  # the framework is not idle: its directory stays
    assert live.parent.parent.parent.parent.is_dir()
    trash = Path(agent.config.work_dir) / ".trash"
    assert eventually(lambda: not trash.exists() or not any(trash.iterdir()))
    assert completed() == [str(done)]


def test_a_full_disk_prunes_finished_sandboxes_at_the_next_disk_check(
        cluster: Cluster) -> None:
    """--gc_disk_headroom=1 leaves no allowed age: the disk check prunes at once, though
    --gc_delay is a week."""
    agent = cluster.make_agent(disk_watch_interval=0.2, gc_disk_headroom=1.0)
    run_task(cluster, agent, command_task("t-a", "echo a"))
    cluster.master.wait_state("t-a", TaskState.TASK_FINISHED)
    framework_dir = sandbox(agent, "t-a").parent.parent.parent.parent
    assert eventually(lambda: not framework_dir.exists())
    assert state(agent)["flags"]["gc_delay"] == f"{7 * 86400.0}secs"


def _get(agent: Any, route: str, **query: Any) -> tuple[int, bytes, Any]:
    url = f"http://127.0.0.1:{agent.node.http_port}{route}?{urllib.parse.urlencode(query)}"
    try:
        with urllib.request.urlopen(url, timeout=WAIT) as resp:
            return resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers


def test_files_api_reads_browses_downloads_and_refuses_escapes(
        cluster: Cluster, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not serve")
    agent = cluster.make_agent()
    run_task(cluster, agent, command_task(
        "t-files", f"echo 0123456789 && ln -s {secret} leak && mkdir sub && sleep 60"))
    cluster.master.wait_state("t-files", TaskState.TASK_RUNNING)
    box = sandbox(agent, "t-files")
    assert eventually(lambda: (box / "sub").is_dir())
    stdout = str(box / "stdout")
    status, body, _ = _get(agent, "/files/read", path=stdout, offset=2, length=4)
    assert (status, json.loads(body)) == (200, {"data": "2345", "offset": 2})
    status, body, _ = _get(agent, "/files/read", path=stdout, offset=-1)
    assert json.loads(body) == {"data": "", "offset": 11}
    virtual = f"/frameworks/{FRAMEWORK.id}/executors/t-files/runs/latest/stdout"
    assert json.loads(_get(agent, "/files/read", path=virtual, offset=0)[1])["data"] == \
        "0123456789\n"
    assert _get(agent, "/files/read", path=f"{box}/../../../../../../secret.txt",
                offset=0)[0] == 403
    status, body, _ = _get(agent, "/files/read", path=f"{box}/leak", offset=0)
    assert status == 403 and b"do not serve" not in body
    assert _get(agent, "/files/read", path=str(secret), offset=0)[0] == 404
    meta = Path(agent.config.work_dir) / "meta" / "agents" / "latest" / "agent.info"
    assert _get(agent, "/files/read", path=str(meta), offset=0)[0] == 404
    status, body, _ = _get(agent, "/files/browse", path=str(box))
    listing = {Path(e["path"]).name: e for e in json.loads(body)}
    assert status == 200 and {"stdout", "stderr", "sub"} <= set(listing)
    assert listing["sub"]["mode"].startswith("d") and listing["stdout"]["size"] == 11
    assert set(listing["stdout"]) == {"path", "size", "mode", "mtime", "nlink", "uid", "gid"}
    status, body, headers = _get(agent, "/files/download", path=stdout)
    assert (status, body) == (200, b"0123456789\n")
    assert headers["Content-Disposition"] == "attachment; filename=stdout"
    assert os.path.realpath(box) == state(agent)["frameworks"][0]["executors"][0]["directory"]


def test_gc_takes_a_checkpointing_runs_meta_directories_and_recovery_still_reads(
        cluster: Cluster) -> None:
    framework = dataclasses.replace(FRAMEWORK, checkpoint=True)
    agent = cluster.make_agent(gc_delay=1.0)
    run_task(cluster, agent, command_task("t-live", "sleep 60"), framework)
    cluster.master.wait_state("t-live", TaskState.TASK_RUNNING)
    run_task(cluster, agent, command_task("t-over", "true"), framework)
    cluster.master.wait_state("t-over", TaskState.TASK_FINISHED)
    meta = Path(agent.config.work_dir) / "meta" / "agents" / "M1-S1" / "frameworks" / FRAMEWORK.id
    assert eventually(lambda: not (meta / "executors" / "t-over").exists())
    assert eventually(lambda: not sandbox(agent, "t-over").parent.parent.exists())
    recovered = recover(agent.config.work_dir, strict=True)
    assert recovered.errors == [] and recovered.agent is not None
    assert list(recovered.agent.frameworks[FRAMEWORK.id].executors) == ["t-live"]


def test_an_earlier_lifes_leftovers_are_collected_by_their_age(cluster: Cluster,
                                                               tmp_path: Path) -> None:
    work = tmp_path / "work"
    old = work / "agents" / "OLD-S1" / "frameworks" / "f" / "executors" / "e" / "runs" / "r"
    recent = work / "agents" / "OLD-S2" / "frameworks" / "f"
    old.mkdir(parents=True)
    recent.mkdir(parents=True)
    two_weeks_ago = time.time() - 14 * 86400
    os.utime(work / "agents" / "OLD-S1", (two_weeks_ago, two_weeks_ago))
    agent = cluster.make_agent()  # --gc_delay 1weeks
    assert eventually(lambda: not (work / "agents" / "OLD-S1").exists())
    assert recent.is_dir()  # a week to go
    scheduled = agent.actor_ref.proxy().gc.get(timeout=WAIT).removals
    assert str(work / "agents" / "OLD-S2") in scheduled
