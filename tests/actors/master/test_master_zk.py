"""``meseta-master --zk``: real master processes contending in a real ZooKeeper.

Two masters on one path: exactly one leads, the other says so on ``/master/state`` and
``/master/health``, and both send ``/master/redirect`` to the leader; the znodes are
Mesos' ``json.info_NNNNNNNNNN`` with JSON data; a SIGKILLed leader is replaced within the
session timeout plus a few seconds; a leader cut off from ZooKeeper (through ``ZkProxy``)
exits with a non-zero status, and while it is cut off (SUSPENDED) it acknowledges no agent
registration nor stores it. Every process runs in its own session and its process group
is killed at teardown.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
from kazoo.client import KazooClient

from actors.master.config import MasterConfig, flags, from_flags
from actors.registry import decode_registry
from actors.registry.sqlite import SqliteStorage
from tests.zk_helpers import ZkProxy
from transport.flags import FlagError

BIN = Path(sys.executable).parent
SESSION = 1.0
WAIT = 30.0


@dataclass
class MasterProc:
    proc: subprocess.Popen[bytes]
    pid: str
    http: str
    log: Path

    def state(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.http + "/master/state", timeout=10) as resp:
            data: dict[str, Any] = json.loads(resp.read())
            return data

    def health(self) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.http + "/master/health", timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def redirect(self) -> tuple[int, str | None]:
        url = urllib.parse.urlsplit(self.http)
        conn = http.client.HTTPConnection(url.hostname or "", url.port or 0, timeout=10)
        try:
            conn.request("GET", "/master/redirect")
            reply = conn.getresponse()
            return reply.status, reply.getheader("Location")
        finally:
            conn.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)


def _drain(stream: IO[bytes], log: IO[bytes]) -> None:
    for line in iter(stream.readline, b""):
        log.write(line)
        log.flush()


class Masters:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[MasterProc] = []

    def start(self, zk: str, *extra: str) -> MasterProc:
        log_path = self.tmp / f"master{len(self.procs) + 1}.log"
        log = open(log_path, "wb")
        proc = subprocess.Popen(
            [str(BIN / "meseta-master"), "--ip=127.0.0.1", "--port=0", "--http_port=0",
             f"--zk={zk}", f"--zk_session_timeout={SESSION}secs", *extra],
            stdout=subprocess.PIPE, stderr=log, start_new_session=True)
        assert proc.stdout is not None
        line = proc.stdout.readline().decode(errors="replace")
        if not line.startswith("meseta-master: "):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise AssertionError(f"master did not start ({line!r}):\n"
                                 + log_path.read_text(errors="replace"))
        threading.Thread(target=_drain, args=(proc.stdout, log), daemon=True).start()
        _, pid, http = line.split()
        master = MasterProc(proc, pid, http, log_path)
        self.procs.append(master)
        return master

    def logs(self) -> str:
        return "\n".join(f"--- {m.pid} ---\n{m.log.read_text(errors='replace')[-4000:]}"
                         for m in self.procs)

    def stop(self) -> None:
        for master in self.procs:
            if master.proc.poll() is None:
                os.killpg(master.proc.pid, signal.SIGKILL)
        for master in self.procs:
            master.proc.wait(30)


@pytest.fixture
def masters(tmp_path: Path) -> Iterator[Masters]:
    group = Masters(tmp_path)
    try:
        yield group
    finally:
        group.stop()


@pytest.fixture
def zk_client(zookeeper: str) -> Iterator[KazooClient]:
    client = KazooClient(hosts=zookeeper)
    client.start(timeout=WAIT)
    try:
        yield client
    finally:
        client.stop()
        client.close()


def wait_for(predicate: Any, timeout: float = WAIT, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or predicate}")


def leaders(group: list[MasterProc]) -> list[MasterProc]:
    return [m for m in group if m.state()["elected"]]


def test_zk_flags() -> None:
    config = from_flags(flags().parse(["--zk=zk://127.0.0.1:2181/mesos",
                                       "--zk_session_timeout=3secs"], env={},
                                      exit_on_error=False))
    assert config.zk == "zk://127.0.0.1:2181/mesos"
    assert config.zk_session_timeout == 3.0
    assert from_flags(flags().parse([], env={}, exit_on_error=False)).zk_session_timeout == 10.0
    with pytest.raises(FlagError, match="zk"):
        flags().parse(["--zk=http://x/mesos"], env={}, exit_on_error=False)
    with pytest.raises(ValueError):
        MasterConfig(zk="nope")


def test_exactly_one_of_two_masters_leads_and_the_other_follows(
        masters: Masters, zookeeper: str, zk_path: str, zk_client: KazooClient) -> None:
    zk = f"zk://{zookeeper}{zk_path}"
    first, second = masters.start(zk), masters.start(zk)
    group = [first, second]
    wait_for(lambda: len(leaders(group)) == 1 and all(m.state()["leader"] for m in group),
             what="one leader, detected by both")
    leader = leaders(group)[0]
    follower = second if leader is first else first
    assert leader is first  # the lower sequence: the first to contend
    time.sleep(2 * SESSION)  # still exactly one, after a couple of session timeouts
    assert [m.pid for m in leaders(group)] == [leader.pid]

    state = follower.state()
    assert state["elected"] is False and state["elected_time"] is None
    assert state["leader"] == leader.pid
    assert state["pid"] == follower.pid
    assert leader.state()["leader"] == leader.pid
    status, body = follower.health()
    assert status == 503 and json.loads(body) == {"elected": False, "leader": leader.pid}
    assert leader.health()[0] == 200

    children = sorted(zk_client.get_children(zk_path))
    assert len(children) == 2 and all(re.fullmatch(r"json\.info_\d{10}", c) for c in children)
    pids = [json.loads(zk_client.get(f"{zk_path}/{c}")[0])["pid"] for c in children]
    assert pids == [first.pid, second.pid]
    data = json.loads(zk_client.get(f"{zk_path}/{children[0]}")[0])
    http_port = int(first.http.rsplit(":", 1)[1])
    assert data["port"] == http_port and data["address"]["port"] == http_port
    assert data["address"]["ip"] == "127.0.0.1"


def test_the_other_master_leads_when_the_leader_is_killed(
        masters: Masters, zookeeper: str, zk_path: str) -> None:
    zk = f"zk://{zookeeper}{zk_path}"
    first = masters.start(zk)
    wait_for(lambda: first.state()["elected"], what="first elected")
    second = masters.start(zk)
    wait_for(lambda: second.state()["leader"] == first.pid, what="second follows first")
    assert second.state()["elected"] is False

    killed_at = time.monotonic()
    first.kill()
    wait_for(lambda: second.state()["elected"], timeout=SESSION + 10, what="second elected")
    took = time.monotonic() - killed_at
    print(f"leader SIGKILLed -> other master elected in {took:.2f} s "
          f"(session timeout {SESSION} s)")
    assert took < SESSION + 5.0, masters.logs()
    assert second.state()["leader"] == second.pid
    assert second.proc.poll() is None


def test_a_leader_cut_off_from_zookeeper_exits(
        masters: Masters, zookeeper: str, zk_path: str) -> None:
    proxy = ZkProxy(zookeeper)
    try:
        master = masters.start(f"zk://{proxy.address}{zk_path}")
        wait_for(lambda: master.state()["elected"], what="elected")
        cut_at = time.monotonic()
        proxy.cut()
        code = master.proc.wait(SESSION + 10)
        took = time.monotonic() - cut_at
        print(f"leader cut off from ZooKeeper -> exited {code} in {took:.2f} s")
        assert code != 0
        assert "committing suicide" in master.log.read_text(errors="replace")
    finally:
        proxy.close()


def test_a_standby_cut_off_from_zookeeper_exits_too(
        masters: Masters, zookeeper: str, zk_path: str) -> None:
    leader = masters.start(f"zk://{zookeeper}{zk_path}")
    wait_for(lambda: leader.state()["elected"], what="elected")
    proxy = ZkProxy(zookeeper)
    try:
        standby = masters.start(f"zk://{proxy.address}{zk_path}")
        wait_for(lambda: standby.state()["leader"] == leader.pid, what="standby follows")
        proxy.cut()
        assert standby.proc.wait(SESSION + 10) != 0
        assert leader.proc.poll() is None and leader.state()["elected"]
    finally:
        proxy.close()


def test_the_leader_recovers_the_registry_in_zookeeper(
        masters: Masters, zookeeper: str, zk_path: str, zk_client: KazooClient) -> None:
    master = masters.start(f"zk://{zookeeper}{zk_path}", "--registry=zk")
    wait_for(lambda: master.state()["elected"], what="elected")
    wait_for(lambda: zk_client.exists(f"{zk_path}/registry") is not None
             and zk_client.get_children(f"{zk_path}/registry"), what="the registry znode")
    children = zk_client.get_children(zk_path)
    assert sorted(c for c in children if c.startswith("json.info_")) == [
        c for c in children if c != "registry"]


def test_a_registry_that_cannot_be_opened_exits_1(tmp_path: Path) -> None:
    done = subprocess.run([str(BIN / "meseta-master"), "--ip=127.0.0.1", "--port=0",
                           "--http_port=0", "--registry=sqlite"], capture_output=True,
                          timeout=60, start_new_session=True)
    assert done.returncode == 1
    assert b"cannot open the registry" in done.stderr


def test_both_masters_redirect_to_the_leader(
        masters: Masters, zookeeper: str, zk_path: str) -> None:
    zk = f"zk://{zookeeper}{zk_path}"
    first = masters.start(zk)
    wait_for(lambda: first.state()["elected"], what="first elected")
    second = masters.start(zk)
    wait_for(lambda: second.state()["leader"] == first.pid, what="second follows first")
    to_first = "//" + first.http.split("//", 1)[1]
    assert first.redirect() == (307, to_first)
    assert second.redirect() == (307, to_first)
    first.kill()
    wait_for(lambda: second.state()["elected"], timeout=SESSION + 10, what="second elected")
    assert second.redirect() == (307, "//" + second.http.split("//", 1)[1])


def _admitted_agents(work_dir: Path) -> dict[str, Any]:
    store = SqliteStorage(work_dir / "registry.db")
    try:
        data, _ = store.get("registry")
    finally:
        store.close()
    assert data is not None
    agents: dict[str, Any] = decode_registry(data).agents
    return agents


@pytest.mark.parametrize("heal", [False, True], ids=["session-lost", "reconnected"])
def test_a_suspended_leader_acknowledges_no_registration(
        masters: Masters, zookeeper: str, zk_path: str, tmp_path: Path, heal: bool) -> None:
    """Cut off: the registration waits. Session lost: exit, nothing stored or answered.
    Reconnected within the session: the held write is made and the agent registered."""
    proxy = ZkProxy(zookeeper)
    agent: subprocess.Popen[bytes] | None = None
    try:
        work_dir = tmp_path / "master"
        master = masters.start(f"zk://{proxy.address}{zk_path}", "--registry=sqlite",
                               f"--work_dir={work_dir}", "--zk_session_timeout=10secs")

        def logged(text: str) -> bool:
            return text in master.log.read_text(errors="replace")

        wait_for(lambda: master.state()["elected"], what="elected")
        wait_for(lambda: logged("registry recovered"), what="registry recovered")
        proxy.cut()
        wait_for(lambda: logged("registry writes held"), what="writes held while SUSPENDED")
        agent_log = open(tmp_path / "agent.log", "wb")
        agent = subprocess.Popen(
            [str(BIN / "meseta-agent"), "--ip=127.0.0.1", "--port=0", "--http_port=0",
             f"--master={master.pid.split('@', 1)[1]}", f"--work_dir={tmp_path / 'agent'}",
             "--resources=cpus:1;mem:64"],
            stdout=agent_log, stderr=agent_log, start_new_session=True)
        wait_for(lambda: logged("admitting agent"),
                 what="the agent's registration reached the master")
        if heal:
            assert not logged("agent registered")
            proxy.heal()
            wait_for(lambda: logged("agent registered"), what="the held write made")
            assert master.proc.poll() is None and master.state()["elected"]
            assert len(_admitted_agents(work_dir)) == 1
            return
        assert master.proc.wait(WAIT) != 0  # the session is given up: fail fast
        log = master.log.read_text(errors="replace")
        assert "agent registered" not in log, log[-3000:]
        assert _admitted_agents(work_dir) == {}
    finally:
        if agent is not None and agent.poll() is None:
            os.killpg(agent.pid, signal.SIGKILL)
            agent.wait(30)
        proxy.close()
