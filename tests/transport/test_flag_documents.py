"""Flag values that are documents: inline text, ``/path`` or ``file://path`` (Mesos' rule),
read by ``transport.flags.read_flag_value`` / ``load_json_flag``."""

from __future__ import annotations

from pathlib import Path

import pytest

from transport.flags import FlagError, Flags, flag_path, load_json_flag, read_flag_value


def test_a_value_is_a_file_only_when_it_starts_with_a_slash_or_file_url(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    path.write_text('{"a": 1}')
    assert read_flag_value(str(path), "acls") == '{"a": 1}'
    assert read_flag_value(f"file://{path}", "acls") == '{"a": 1}'
    assert read_flag_value('{"a": 2}', "acls") == '{"a": 2}'
    assert read_flag_value("a secret", "credentials") == "a secret"
    # Not a path by Mesos' rule, even when such a file exists: inline text.
    assert read_flag_value("doc.json", "acls") == "doc.json"
    assert (flag_path(str(path)), flag_path(f"file://{path}"), flag_path("doc.json")) == (
        str(path), str(path), None)


@pytest.mark.parametrize("form", ["{}", "file://{}"])
def test_a_missing_file_is_an_error_naming_the_flag_and_the_file(tmp_path: Path,
                                                                 form: str) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(FlagError) as error:
        read_flag_value(form.format(missing), "acls", "JSON")
    message = str(error.value)
    assert message.startswith("--acls: ")
    assert str(missing) in message and "neither JSON nor a readable file" in message
    assert "No such file or directory" in message


def test_a_directory_or_binary_file_is_not_readable_text(tmp_path: Path) -> None:
    with pytest.raises(FlagError, match=r"--rate_limits: .* Is a directory"):
        read_flag_value(str(tmp_path), "rate_limits")
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(FlagError, match=r"--credentials: .* not UTF-8 text"):
        read_flag_value(f"file://{binary}", "credentials")


def test_json_documents_decode_inline_and_from_files(tmp_path: Path) -> None:
    path = tmp_path / "limits.json"
    path.write_text('{"limits": [{"principal": "a", "qps": 1}]}')
    expected = {"limits": [{"principal": "a", "qps": 1}]}
    assert load_json_flag(str(path), "rate_limits") == expected
    assert load_json_flag(f"file://{path}", "rate_limits") == expected
    assert load_json_flag(path.read_text(), "rate_limits") == expected


def test_bad_json_says_so_naming_the_flag_and_where_it_was_read(tmp_path: Path) -> None:
    with pytest.raises(FlagError) as inline:
        load_json_flag("{nope", "acls")
    assert str(inline.value).startswith("--acls: not valid JSON: ")
    assert "line 1 column 2" in str(inline.value)
    bad = tmp_path / "bad.json"
    bad.write_text("[1,")
    with pytest.raises(FlagError) as from_file:
        load_json_flag(f"file://{bad}", "acls")
    assert str(from_file.value).startswith(f"--acls: {bad}: not valid JSON: ")


def test_a_problem_naming_its_flag_is_reported_once_by_its_source(tmp_path: Path) -> None:
    flags = Flags("meseta-test", "flags under test")
    flags.add("doc", lambda value: load_json_flag(value, "doc"), None, "a JSON document")
    missing = str(tmp_path / "missing.json")
    with pytest.raises(FlagError) as given:
        flags.parse([f"--doc={missing}"], env={}, exit_on_error=False)
    assert str(given.value).startswith("--doc: ") and str(given.value).count("--doc") == 1
    with pytest.raises(FlagError) as from_env:
        flags.parse([], env={"MESETA_DOC": missing}, exit_on_error=False)
    assert str(from_env.value).startswith("MESETA_DOC: ") and "--doc" not in str(from_env.value)
    assert flags.parse(['--doc={"a": [1]}'], env={}).doc == {"a": [1]}
