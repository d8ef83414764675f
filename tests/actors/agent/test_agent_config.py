"""Agent flags, config and resource detection defaults (pure)."""

from __future__ import annotations

import pytest

from actors.agent.config import AgentConfig, flags, from_flags
from actors.agent.detect import default_disk_mb, default_mem_mb, detect_resources
from actors.resources import Resources
from transport import PID
from transport.flags import FlagError

GB = 1024**3


def parse(*argv: str, env: dict[str, str] | None = None) -> AgentConfig:
    return from_flags(flags().parse(list(argv), env=env or {}, exit_on_error=False))


def test_defaults_follow_mesos() -> None:
    config = parse("--master=10.0.0.1:5050")
    assert config.master == PID("master", "10.0.0.1", 5050)
    assert (config.ip, config.port, config.effective_http_port) == ("127.0.0.1", 5051, 5151)
    assert config.executor_registration_timeout == 60.0
    assert config.executor_shutdown_grace_period == 5.0
    assert config.registration_backoff_factor == 0.5  # Mesos: 1 s (see the README, HA)
    assert config.launcher == "warm" and config.resources is None


def test_flags_parse_durations_resources_attributes_and_env_fallback() -> None:
    config = parse("--port=6000", "--http_port=0", "--resources=cpus:3;mem:512",
                   "--attributes=rack:a;zone:b", "--executor_registration_timeout=5secs",
                   "--launcher=subprocess", env={"MESETA_MASTER": "m:7000"})
    assert config.master == PID("master", "m", 7000)
    assert config.effective_http_port == 0
    assert config.resources == Resources.parse("cpus:3;mem:512")
    assert [a.name for a in config.parsed_attributes] == ["rack", "zone"]
    assert config.executor_registration_timeout == 5.0 and config.launcher == "subprocess"


def test_json_resources_are_accepted() -> None:
    config = parse("--master=m:1", '--resources=[{"name":"cpus","type":"SCALAR",'
                   '"scalar":{"value":2}}]')
    assert config.resources is not None and config.resources.get("cpus") == 2.0


@pytest.mark.parametrize("argv", [
    ["--master=nohost"], ["--master=m:1", "--resources=cpus:x"],
    ["--master=m:1", "--attributes=broken"], ["--master=m:1", "--launcher=docker"],
    ["--master=m:1", "--port=70000"], ["--master=m:1", "--executor_shutdown_grace_period=x"],
])
def test_bad_values_are_refused_with_a_message(argv: list[str]) -> None:
    with pytest.raises(FlagError):
        parse(*argv)


def test_master_is_required() -> None:
    with pytest.raises(FlagError, match="--master is required"):
        parse()


def test_memory_default_keeps_one_gb_or_half_below_two() -> None:
    assert default_mem_mb(8 * GB) == 7 * 1024
    assert default_mem_mb(GB) == 512


def test_disk_default_keeps_five_gb_or_half_below_ten() -> None:
    assert default_disk_mb(100 * GB) == 95 * 1024
    assert default_disk_mb(8 * GB) == 4 * 1024


def test_detection_fills_in_what_resources_do_not_name(tmp_path: object) -> None:
    detected = detect_resources(str(tmp_path), Resources.parse("cpus:64"))
    assert detected.get("cpus") == 64
    assert detected.get("mem") > 0 and detected.get("disk") > 0
    assert detected.ranges("ports") == ((31000, 32000),)


def test_detection_without_flags_counts_every_cpu(tmp_path: object) -> None:
    import psutil

    assert detect_resources(str(tmp_path)).get("cpus") == psutil.cpu_count()


def test_given_ports_replace_the_default_range(tmp_path: object) -> None:
    detected = detect_resources(str(tmp_path), Resources.parse("ports:[5000-5001]"))
    assert detected.ranges("ports") == ((5000, 5001),)
