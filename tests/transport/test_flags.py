"""Flags with Mesos syntax and MESETA_* environment fallbacks."""

from __future__ import annotations

import pytest

from transport.flags import Bytes, Duration, FlagError, Flags, parse_bytes, parse_duration


def _flags() -> Flags:
    flags = Flags("meseta-test", "flags under test")
    flags.add("port", int, 5050, "port", lambda v: None if 0 < v < 65536 else "must be 1-65535")
    flags.add("offer_timeout", Duration, None, "offer timeout")
    flags.add("max_size", Bytes, Bytes(1024), "size")
    flags.add("checkpoint", bool, True, "checkpoint")
    flags.add("work_dir", str, "/tmp/meseta", "work dir")
    return flags


def test_command_line_values_are_converted() -> None:
    values = _flags().parse(["--port=6060", "--offer_timeout", "2mins", "--max_size=4GB",
                             "--no-checkpoint"], env={})
    assert values.port == 6060
    assert values.offer_timeout == 120.0
    assert values.max_size == 4 * 1024**3
    assert values.checkpoint is False


def test_environment_fills_flags_missing_from_the_command_line() -> None:
    env = {"MESETA_PORT": "7070", "MESETA_CHECKPOINT": "false", "MESETA_WORK_DIR": "/w"}
    values = _flags().parse(["--port=8080"], env=env)
    assert values.port == 8080  # the command line wins
    assert values.checkpoint is False
    assert values.work_dir == "/w"


def test_defaults_apply_when_nothing_is_given() -> None:
    values = _flags().parse([], env={})
    assert (values.port, values.offer_timeout, values.checkpoint) == (5050, None, True)


def test_boolean_flag_alone_means_true() -> None:
    assert _flags().parse(["--checkpoint"], env={"MESETA_CHECKPOINT": "false"}).checkpoint


@pytest.mark.parametrize(
    ("argv", "env", "says"),
    [
        (["--port=0"], {}, "--port: must be 1-65535"),
        (["--port=http"], {}, "'http' is not a valid int"),
        ([], {"MESETA_PORT": "x"}, "MESETA_PORT: 'x' is not a valid int"),
        (["--offer_timeout=5parsecs"], {}, "is not a duration"),
        (["--checkpoint=maybe"], {}, "is not a boolean"),
        (["--max_size=12XB"], {}, "is not a byte size"),
        (["--bogus=1"], {}, "unrecognized arguments"),
    ],
)
def test_bad_values_are_refused_with_a_message(argv: list[str], env: dict[str, str],
                                               says: str) -> None:
    with pytest.raises(FlagError, match=says):
        _flags().parse(argv, env=env, exit_on_error=False)


def test_bad_flag_exits_with_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        _flags().parse(["--port=0"], env={})
    assert exited.value.code == 2
    assert "--port: must be 1-65535" in capsys.readouterr().err


@pytest.mark.parametrize(("text", "seconds"), [("5secs", 5.0), ("100ms", 0.1), ("1.5hrs", 5400.0),
                                               ("3", 3.0), ("2days", 172800.0)])
def test_durations_follow_mesos_syntax(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


def test_byte_sizes_follow_mesos_syntax() -> None:
    assert parse_bytes("512MB") == 512 * 1024**2
    assert parse_bytes("10") == 10
