"""``meseta keygen``: a CurveZMQ pair that a node loads, never overwritten, no master needed."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest
import zmq

from actors.cli.main import run
from transport.curve import CurveKeys

pytestmark = pytest.mark.skipif(not zmq.has("curve"), reason="libzmq without CURVE")


def test_keygen_writes_a_pair_a_node_can_load_and_refuses_to_overwrite_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    assert run(["keygen", "master", "--dir", str(tmp_path)], out) == 0
    assert out.getvalue().split() == [str(tmp_path / "master.key"),
                                      str(tmp_path / "master.key_secret")]
    assert stat.S_IMODE((tmp_path / "master.key_secret").stat().st_mode) == 0o600
    keys = CurveKeys.load(tmp_path)
    assert (keys.name, keys.server, keys.allowed) == ("master", keys.public,
                                                      {keys.public: "master"})
    before = (tmp_path / "master.key_secret").read_bytes()
    assert run(["keygen", "master", "--dir", str(tmp_path)], io.StringIO()) == 1
    assert "already exists" in capsys.readouterr().err
    assert (tmp_path / "master.key_secret").read_bytes() == before
    assert run(["keygen", "../escape", "--dir", str(tmp_path)], io.StringIO()) == 1
