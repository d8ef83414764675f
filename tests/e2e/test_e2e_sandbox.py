"""Sandboxes end to end: a real master and agent, a framework in this process, a tiny
http.server on 127.0.0.1. A task's URIs (a tarball built here, an http:// URL) are
fetched and unpacked before its command runs, its output is read back through the
agent's /files API, a bad URI fails its task, and the finished sandboxes are collected
after --gc_delay."""

from __future__ import annotations

import dataclasses
import functools
import http.server
import io
import json
import tarfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.messages import CommandInfo, Reason, TaskState
from actors.messages.tasks import URI
from tests.e2e.conftest import LocalCluster, Node
from tests.e2e.harness import WAIT, command_task, framework

FAST = ("--allocation_interval=100ms",)


@pytest.fixture
def web(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "www"
    root.mkdir()
    (root / "motd.txt").write_text("served by http.server\n")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _read(agent: Node, path: str) -> tuple[int, dict[str, object]]:
    query = urllib.parse.urlencode({"path": path, "offset": 0})
    try:
        with urllib.request.urlopen(f"{agent.http}/files/read?{query}", timeout=WAIT) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _eventually(check: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_uris_are_fetched_output_is_served_and_sandboxes_are_collected(
        cluster: LocalCluster, tmp_path: Path, web: str) -> None:
    bundle = tmp_path / "bundle.tgz"
    with tarfile.open(bundle, "w:gz") as tar:
        data = b"#!/bin/sh\necho bundled-script-ran\n"
        info = tarfile.TarInfo("bundle/hello.sh")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
    master = cluster.master(*FAST)
    agent = cluster.agent(master, "cpus:4;mem:4096;disk:4096;ports:[31000-32000]",
                          "--gc_delay=3secs", "--disk_watch_interval=1secs")
    with framework(master.address) as (driver, sched):
        offer = sched.wait("offer")
        good = dataclasses.replace(
            command_task("fetched", offer, "./bundle/hello.sh && cat motd.txt"),
            command=CommandInfo(value="./bundle/hello.sh && cat motd.txt", uris=(
                URI(value=str(bundle)), URI(value=f"{web}/motd.txt"))))
        bad = dataclasses.replace(
            command_task("unfetchable", offer, "true", "cpus:0.1;mem:32"),
            command=CommandInfo(value="true", uris=(URI(value=f"{web}/nope.tar.gz"),)))
        driver.launch_tasks([offer.id], [good, bad])
        sched.wait_state("fetched", TaskState.TASK_FINISHED)
        failed = sched.wait_state("unfetchable", TaskState.TASK_FAILED)
        assert failed.reason is Reason.REASON_CONTAINER_LAUNCH_FAILED
        assert "Failed to fetch all URIs" in failed.message and "404" in failed.message
        state: dict[str, Any] = {}

        def completed() -> list[str]:
            with urllib.request.urlopen(f"{agent.http}/state", timeout=WAIT) as r:
                state.update(json.loads(r.read()))
            return [e["directory"] for f in state["frameworks"] + state["completed_frameworks"]
                    for e in f["completed_executors"] if e["id"] == "fetched"]

        assert _eventually(lambda: len(completed()) == 1)
        [run] = completed()
        assert state["flags"]["gc_delay"] == "3.0secs"
        assert state["flags"]["gc_disk_headroom"] == "0.1"
        status, body = _read(agent, f"{run}/stdout")
        assert status == 200
        assert body["data"] == "bundled-script-ran\nserved by http.server\n"
    # The framework is gone; after --gc_delay its sandboxes are collected.
    assert _eventually(lambda: not Path(run).exists())
    assert _read(agent, f"{run}/stdout")[0] == 404
    framework_dirs = list(cluster.tmp.glob("agent1/agents/*/frameworks/*"))
    assert _eventually(lambda: not any(p.exists() for p in framework_dirs))
