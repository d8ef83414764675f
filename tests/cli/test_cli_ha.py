"""``meseta`` finds the leading master through ZooKeeper (``--zk``) or a standby's redirect."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request

from tests.e2e.conftest import BIN, LocalCluster

WAIT = 60.0


def _elected(http: str) -> bool:
    with urllib.request.urlopen(f"{http}/master/state", timeout=30) as reply:
        return bool(json.loads(reply.read())["elected"])


def _agents(*flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "meseta"), "agents", "--json", *flags],
                          capture_output=True, text=True, timeout=120)


def test_the_cli_reads_the_leader_from_zookeeper_and_follows_a_standby(
        cluster: LocalCluster, zookeeper: str, zk_path: str) -> None:
    zk = f"zk://{zookeeper}{zk_path}"
    flags = ("--allocation_interval=100ms", f"--zk={zk}", "--zk_session_timeout=1secs")
    first = cluster.master(*flags, name="master1")
    second = cluster.master(*flags, name="master2")
    agent = cluster.agent(zk)
    deadline = time.monotonic() + WAIT
    while True:
        result = _agents(f"--zk={zk}")
        if result.returncode == 0 and json.loads(result.stdout):
            break
        assert time.monotonic() < deadline, result.stderr
        time.sleep(0.2)
    assert [a["pid"] for a in json.loads(result.stdout)] == [agent.pid]
    standby = second if _elected(first.http) else first
    via_standby = _agents(f"--master={standby.http.removeprefix('http://')}")
    assert via_standby.returncode == 0, via_standby.stderr
    assert [a["pid"] for a in json.loads(via_standby.stdout)] == [agent.pid]
    env_only = subprocess.run([str(BIN / "meseta"), "agents", "--json"], capture_output=True,
                              text=True, timeout=120, env={"MESETA_MASTER": zk, "PATH": ""})
    assert [a["pid"] for a in json.loads(env_only.stdout)] == [agent.pid], env_only.stderr
