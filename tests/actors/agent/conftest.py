"""Fixtures of the agent tests; the harness itself is ``agent_harness``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from agent_harness import Cluster
from isolation_helpers import new_root, remove_root


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.stop()
        leftovers = [p for p in psutil.Process().children(recursive=True)
                     if p.pid not in before]
        for proc in leftovers:
            try:
                proc.kill()
            except psutil.NoSuchProcess:  # it ended between the listing and the kill
                pass
        psutil.wait_procs(leftovers, timeout=5)


@pytest.fixture
def cgroups_root() -> Iterator[str]:
    """A cgroups root of the test's own, emptied and removed at teardown."""
    root = new_root()
    try:
        yield root
    finally:
        remove_root(root)
