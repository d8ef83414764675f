"""``LeaderFollower``: a ``MasterDetector`` for a ``zk://`` URL, reporting the leader's PID.

Agents, scheduler drivers and ``meseta-execute`` take ``--master=zk://host:port/path``
(Mesos accepts the URL in the same flag as ``HOST:PORT``). They run one follower and
get ``on_leader(PID | None)`` each time the leading master changes: its ZeroMQ PID
(``MasterInfo.pid``), or ``None`` when no master leads (or its ``json.info_`` data has
no pid or cannot be read). The callback runs on kazoo's event thread and must not
block: actors ``_post`` it to themselves.

``start()`` does not block: the ZooKeeper connection is made on a thread of its own,
retried until it succeeds or ``stop()`` is called. Plain class, no actors.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from actors.ha.detector import MasterDetector
from actors.ha.zk_url import ZkUrl, parse_zk_url
from actors.messages.info import MasterInfo
from transport.pid import PID

__all__ = ["LeaderFollower", "is_zk_url"]

_log = logging.getLogger(__name__)

RETRY_INTERVAL = 1.0
"""Seconds between attempts to reach ZooKeeper at start."""


def is_zk_url(text: str) -> bool:
    """Whether a ``--master`` value is a ZooKeeper URL (``zk://...``)."""
    return text.strip().startswith("zk://")


class LeaderFollower:
    """Follows the leading master of ``url``; see the module docstring."""

    def __init__(self, url: str | ZkUrl, on_leader: Callable[[PID | None], None], *,
                 session_timeout: float = 10.0, connect_timeout: float = 30.0) -> None:
        self.url = url if isinstance(url, ZkUrl) else parse_zk_url(url)
        self._on_leader = on_leader
        self._session_timeout = session_timeout
        self._connect_timeout = connect_timeout
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._detector: MasterDetector | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> LeaderFollower:
        """Begin following (the connection is made in the background)."""
        with self._lock:
            if self._thread is not None:
                return self
            self._thread = threading.Thread(target=self._connect, name="zk-follower",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """No more callbacks; closes the ZooKeeper session."""
        self._stopped.set()
        with self._lock:
            detector, self._detector = self._detector, None
        if detector is not None:
            detector.stop()

    def _connect(self) -> None:
        while not self._stopped.is_set():
            detector = MasterDetector(self.url.hosts, self.url.path, self._changed,
                                      session_timeout=self._session_timeout,
                                      connect_timeout=self._connect_timeout)
            try:
                detector.start()
            except Exception as exc:  # kazoo's timeouts and connection errors
                _log.warning("cannot follow the master through %s: %s", self.url, exc)
                detector.stop()
                self._stopped.wait(RETRY_INTERVAL)
                continue
            with self._lock:
                if not self._stopped.is_set():
                    self._detector = detector
                    return
            detector.stop()
            return

    def _changed(self, info: MasterInfo | None) -> None:
        if self._stopped.is_set():
            return
        pid = info.pid if info is not None else None
        if info is not None and pid is None:
            _log.error("the leading master %s published no pid", info.id)
        _log.info("leading master: %s", pid)
        self._on_leader(pid)
