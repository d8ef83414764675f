"""Suite-wide fixtures: a real ZooKeeper server, started only for tests that ask for it,
and the reaping of processes the tests leave behind.

The pytest process makes itself a child subreaper (``PR_SET_CHILD_SUBREAPER``): a process
whose parent dies (an executor that outlives its SIGKILLed agent on purpose, waiting for a
recovery that never comes) becomes pytest's child instead of init's, so the fixtures that
kill what a test left (``psutil.Process().children(recursive=True)``) see it, and whatever
is still alive when the session ends is killed, leaving no orphans behind.

``zookeeper`` yields ``"127.0.0.1:<port>"`` of a standalone server this session starts
(see ``tests/zk_helpers.py``) and stops at the end; with ``MESETA_TEST_ZK=host:port`` set,
it yields that address and starts nothing. If no server can be started, the tests that
need one fail (they are never skipped). Tests share the server: each uses its own znode
path (``zk_path``).

Logging: structlog's default prints to the ``sys.stdout`` of the moment it was imported,
so a line an actor thread logs between pytest's capture windows (a master's "master
started" from ``on_start`` racing the end of a fixture's set-up) lands between the
progress dots. ``pytest_configure`` routes structlog through stdlib ``logging`` instead
(loggers ``meseta.*``, every level): pytest captures those per test phase and shows them
as "Captured log" of a failing test (``--log-cli-level=INFO`` prints them live), and
outside a phase they go to pytest's session handlers, never to the terminal. A test that
calls ``transport.logs.configure`` gets this routing back afterwards (``_suite_logging``).
"""

from __future__ import annotations

import ctypes
import logging
import os
import uuid
from collections.abc import Iterator

import psutil
import pytest
import structlog

from tests.zk_helpers import ZooKeeperServer, ZooKeeperUnavailable

_PR_SET_CHILD_SUBREAPER = 36
_TO_STDLIB = structlog.stdlib.LoggerFactory()


def _route_structlog_to_logging() -> None:
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars,
                    structlog.processors.TimeStamper(fmt="iso", utc=True),
                    structlog.dev.ConsoleRenderer(colors=False)],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
        logger_factory=_TO_STDLIB,
        cache_logger_on_first_use=False,
    )
    logging.getLogger("meseta").setLevel(logging.DEBUG)


def pytest_configure(config: pytest.Config) -> None:
    _route_structlog_to_logging()


@pytest.fixture(autouse=True)
def _suite_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    if structlog.get_config()["logger_factory"] is not _TO_STDLIB:  # the test configured logs
        _route_structlog_to_logging()
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.fixture(scope="session", autouse=True)
def _no_orphans() -> Iterator[None]:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: orphans go to init as before
        pass
    yield
    leftovers = psutil.Process().children(recursive=True)
    for proc in leftovers:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(leftovers, timeout=10)


@pytest.fixture(scope="session")
def zookeeper() -> Iterator[str]:
    external = os.environ.get("MESETA_TEST_ZK")
    if external:
        yield external
        return
    server = ZooKeeperServer()
    try:
        address = server.start()
    except ZooKeeperUnavailable as exc:
        pytest.fail(f"cannot start ZooKeeper for the tests: {exc}", pytrace=False)
    try:
        yield address
    finally:
        server.stop()


@pytest.fixture
def zk_path() -> str:
    """A znode path no other test uses, e.g. ``/meseta-test/3f2a.../mesos``."""
    return f"/meseta-test/{uuid.uuid4().hex}/mesos"
