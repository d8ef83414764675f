"""The flags that take a document (``--acls``, ``--rate_limits``, ``--credentials``,
``--http_credentials``, the agent's ``--credential``) all read it one way
(``transport.flags.read_flag_value``): inline, ``/path`` or ``file://path``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from actors.agent.config import flags as agent_flags
from actors.agent.config import from_flags as agent_from_flags
from actors.master.config import flags as master_flags
from actors.master.config import from_flags as master_from_flags
from actors.master.rate_limits import RateLimits
from actors.messages.authentication import Credential
from transport.flags import FlagError

ACLS = {"permissive": False,
        "run_tasks": [{"principals": {"type": "ANY"}, "users": {"values": ["nobody"]}}]}
LIMITS = {"limits": [{"principal": "a", "qps": 2}]}
CREDENTIALS = {"credentials": [{"principal": "a", "secret": "x"}]}


def _master(*argv: str) -> object:
    return master_from_flags(master_flags().parse(list(argv), env={}, exit_on_error=False))


def _forms(tmp_path: Path, name: str, text: str) -> list[str]:
    path = tmp_path / name
    path.write_text(text)
    return [text, str(path), f"file://{path}"]


def test_every_document_flag_takes_inline_a_path_or_a_file_url(tmp_path: Path) -> None:
    acls, limits, creds = (_forms(tmp_path, "acls", json.dumps(ACLS)),
                           _forms(tmp_path, "limits", json.dumps(LIMITS)),
                           _forms(tmp_path, "creds", "a x\n"))
    for acl, limit, cred in zip(acls, limits, creds, strict=True):
        config = master_from_flags(master_flags().parse(
            [f"--acls={acl}", f"--rate_limits={limit}", f"--credentials={cred}",
             f"--http_credentials={cred}"], env={}, exit_on_error=False))
        assert config.security.acls.authorized("run_tasks", "p", "nobody")
        assert not config.security.acls.authorized("run_tasks", "p", "root")
        assert RateLimits.parse(config.rate_limits).limits["a"].qps == 2.0
        assert config.credentials == {"a": "x"} == dict(config.security.http_credentials)
    for cred in _forms(tmp_path, "one", json.dumps(CREDENTIALS["credentials"][0])):
        agent = agent_from_flags(agent_flags().parse(
            ["--master=127.0.0.1:5050", f"--credential={cred}"], env={}, exit_on_error=False))
        assert agent.credential == Credential("a", "x")


@pytest.mark.parametrize("flag", ["acls", "rate_limits", "credentials", "http_credentials"])
def test_an_unreadable_file_exits_naming_the_flag_and_the_file(tmp_path: Path,
                                                               flag: str) -> None:
    missing = tmp_path / "missing"
    for value in (str(missing), f"file://{missing}"):
        with pytest.raises(FlagError) as error:
            _master(f"--{flag}={value}")
        message = str(error.value)
        assert message.startswith(f"--{flag}: ") and message.count(f"--{flag}") == 1
        assert str(missing) in message and "No such file or directory" in message


def test_a_document_that_is_not_json_says_which_flag(tmp_path: Path) -> None:
    with pytest.raises(FlagError, match=r"^--acls: not valid JSON"):
        _master("--acls={nope")
    with pytest.raises(FlagError, match=r"^--rate_limits: rate limits are not valid JSON"):
        _master("--rate_limits={nope")
    bad = tmp_path / "creds.json"
    bad.write_text('{"credentials": [')
    with pytest.raises(FlagError, match=f"^--credentials: {bad}: not valid JSON"):
        _master(f"--credentials=file://{bad}")


def test_inline_http_credentials_are_never_shown_but_a_file_is(tmp_path: Path) -> None:
    inline = json.dumps(CREDENTIALS)
    assert _flags_json(f"--http_credentials={inline}") == "(inline)"
    assert _flags_json("--http_credentials=a x") == "(inline)"
    path = tmp_path / "creds"
    path.write_text(inline)
    assert _flags_json(f"--http_credentials={path}") == str(path)


def _flags_json(*argv: str) -> str:
    config = master_from_flags(master_flags().parse(list(argv), env={}, exit_on_error=False))
    return config.security.flags_json()["http_credentials"]


def test_a_relative_credentials_path_is_a_file_as_in_mesos(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "creds").write_text("a x\n")
    monkeypatch.chdir(tmp_path)
    config = master_from_flags(master_flags().parse(["--credentials=creds"], env={},
                                                    exit_on_error=False))
    assert config.credentials == {"a": "x"}
    with pytest.raises(FlagError, match="missing"):
        _master("--credentials=missing")
