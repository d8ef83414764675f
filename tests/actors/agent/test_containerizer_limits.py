"""The pure parts of isolation: ``--isolation``, limits from resources, the memory
decision, and reading ``/proc/self/cgroup``, ``/proc/mounts`` and cgroup stat files."""

from __future__ import annotations

import pytest

from actors.agent.config import AgentConfig, flags, from_flags
from actors.agent.containerizer import (
    ContainerizerError,
    ContainerLimits,
    IsolatingContainerizer,
    container_limits,
    parse_isolation,
)
from actors.agent.containerizer.cgroups import (
    CgroupSupport,
    parse_flat_keyed,
    parse_mounts,
    parse_proc_cgroup,
    probe,
)
from actors.agent.containerizer.limits import (
    cfs_quota_us,
    cpu_shares,
    memory_limitation,
)
from actors.resources import Resources
from transport.flags import FlagError

MB = 1024 * 1024


def test_isolation_defaults_to_posix_and_parses_cgroups() -> None:
    default = parse_isolation("posix/cpu,posix/mem")
    assert not default.cgroups and default.has("posix/mem")
    chosen = parse_isolation(" cgroups/cpu, cgroups/mem ,cgroups/pids")
    assert chosen.cgroups and str(chosen) == "cgroups/cpu,cgroups/mem,cgroups/pids"


@pytest.mark.parametrize("text, why", [
    ("", "names no isolator"),
    ("posix/cpu,cgroups/mem", "do not mix"),
    ("cgroups/devices", "unknown isolator"),
])
def test_bad_isolation_says_what_is_wrong(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_isolation(text)


def test_isolation_flags_default_to_mesos_and_show_in_state_flags() -> None:
    config = from_flags(flags().parse(["--master=127.0.0.1:5050"], env={}))
    assert config.isolation == "posix/cpu,posix/mem" and config.cgroups_root == "meseta"
    assert config.to_flags()["isolation"] == "posix/cpu,posix/mem"
    assert config.to_flags()["cgroups_root"] == "meseta"
    chosen = from_flags(flags().parse(["--master=127.0.0.1:5050", "--cgroups_root=mine",
                                       "--isolation=cgroups/cpu,cgroups/mem"], env={}))
    assert (chosen.isolation, chosen.cgroups_root) == ("cgroups/cpu,cgroups/mem", "mine")


@pytest.mark.parametrize("argv", [["--isolation=posix/mem,cgroups/mem"],
                                  ["--isolation=cgroups/gpu"], ["--cgroups_root=a/b"]])
def test_bad_isolation_flags_are_refused_with_a_message(argv: list[str]) -> None:
    with pytest.raises(FlagError):
        from_flags(flags().parse(["--master=127.0.0.1:5050", *argv], env={},
                                 exit_on_error=False))
    with pytest.raises(ValueError, match="cgroups_root"):
        AgentConfig(cgroups_root="a/b")


def test_a_command_executor_adds_mesos_allowance_to_its_tasks_resources() -> None:
    task = Resources.parse("cpus:0.5;mem:64;disk:10")
    assert container_limits(task, command_executor=True) == ContainerLimits(0.6, 96 * MB)
    assert container_limits(task, command_executor=False) == ContainerLimits(0.5, 64 * MB)
    assert container_limits(Resources(), command_executor=False) == ContainerLimits()


def test_cpu_quota_and_shares_follow_mesos() -> None:
    assert cfs_quota_us(0.25) == 25_000
    assert cfs_quota_us(2.0) == 200_000
    assert cfs_quota_us(0.001) == 1_000  # at least 1 ms per period
    assert cpu_shares(0.25) == 256 and cpu_shares(4) == 4096 and cpu_shares(0.0001) == 2


def test_the_watchdog_acts_only_over_the_limit_and_says_used_vs_limit() -> None:
    assert memory_limitation(64 * MB, 64 * MB) is None
    assert memory_limitation(10 * MB, None) is None
    assert memory_limitation(70 * MB, 64 * MB, max_used_bytes=72 * MB) == (
        "Memory limit exceeded: Requested: 64MB Maximum Used: 72MB")


def test_proc_self_cgroup_maps_controllers_to_paths() -> None:
    text = ("12:cpu,cpuacct:/a/b\n4:memory:/process_api/x\n1:name=systemd:/\n0::/user.slice\n"
            "garbage\n")
    assert parse_proc_cgroup(text) == {"cpu": "/a/b", "cpuacct": "/a/b",
                                       "memory": "/process_api/x", "systemd": "/",
                                       "": "/user.slice"}


def test_mounts_find_v1_controllers_and_the_unified_tree() -> None:
    text = ("cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,relatime,cpu,cpuacct 0 0\n"
            "cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n"
            "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\nproc /proc proc rw 0 0\n")
    v1, v2 = parse_mounts(text)
    assert v1["cpu"] == v1["cpuacct"] == "/sys/fs/cgroup/cpu,cpuacct"
    assert v1["memory"] == "/sys/fs/cgroup/memory" and v2 == "/sys/fs/cgroup/unified"


def test_flat_keyed_files_parse_and_skip_what_is_not_a_number() -> None:
    assert parse_flat_keyed("nr_periods 27\nnr_throttled 24\nthrottled_time 1782\nx y\n") == {
        "nr_periods": 27, "nr_throttled": 24, "throttled_time": 1782}


def test_probe_without_controllers_explains_and_cgroups_isolation_refuses() -> None:
    support = probe(proc_cgroup="0::/\n", mounts="proc /proc proc rw 0 0\n")
    assert support.version == 0 and "memory not mounted" in support.describe()
    with pytest.raises(ContainerizerError, match="needs cgroups: no usable cgroups"):
        IsolatingContainerizer(parse_isolation("cgroups/mem"), support=support)
    posix = IsolatingContainerizer(parse_isolation("posix/cpu,posix/mem"), support=support)
    assert str(posix.isolation) == "posix/cpu,posix/mem"


def test_probe_reads_own_paths_under_each_v1_mount() -> None:
    support = probe()
    if support.version == 1:  # this machine and CI: the agent's own groups, writable
        assert set(support.own) == {"memory", "cpu", "pids", "freezer"}
        assert all(path.startswith("/") for path in support.own.values())
    else:
        assert support.version in (0, 2)
    assert isinstance(support, CgroupSupport)
