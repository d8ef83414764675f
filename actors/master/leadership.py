"""A master's leadership in ZooKeeper (``--zk``): contender and detector for ``MasterActor``.

``Leadership(master, zk, session_timeout).start()`` opens one ZooKeeper session (one
``KazooClient``) for a ``MasterContender`` holding the master's ``MasterInfo`` and a
``MasterDetector``. Their callbacks run on kazoo's threads and never block: they tell the
actor (``tell_elected`` / ``tell_leader``, which post into it). ``on_lost`` (candidacy
gone, session expired, or suspended past the session timeout) logs and exits the process
at once (``os._exit(1)``), as Mesos' master "commits suicide": a supervisor restarts it,
and it contends again. While the session's connection is SUSPENDED (it may come back,
or this master may have been deposed) the master's registry writes are held
(``hold_registry``; released when the connection is back, same session), so the master
never acknowledges an operation while it might no longer lead. Only ``main`` uses this
module, so kazoo is imported only with ``--zk``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import structlog
from kazoo.client import KazooClient, KazooState

from actors.ha import MasterContender, MasterDetector, parse_zk_url
from actors.master.actor import MasterActor
from actors.messages.info import MasterInfo

__all__ = ["Leadership"]

_log = structlog.get_logger("meseta.master.leadership")


class Leadership:
    """The master's candidacy and leader detection under one ZooKeeper session."""

    def __init__(self, master: MasterActor, zk: str, session_timeout: float, *,
                 connect_timeout: float = 30.0,
                 exit: Callable[[int], None] = os._exit) -> None:
        url = parse_zk_url(zk)
        self._master = master
        self._exit = exit
        self._client = KazooClient(hosts=url.hosts, timeout=session_timeout)
        self._connect_timeout = connect_timeout
        self._contender = MasterContender(self._client, url.path, master.books.master_info,
                                          self._on_elected, self._on_lost,
                                          session_timeout=session_timeout)
        self._detector = MasterDetector(self._client, url.path, self._on_change)
        self.url = url

    def start(self) -> Leadership:
        """Connect, enter the candidacy, follow the leader; blocks until ZooKeeper answers."""
        self._client.start(timeout=self._connect_timeout)
        self._client.add_listener(self._on_state)
        try:
            self._contender.start()
            self._detector.start()
        except BaseException:
            self._client.stop()
            self._client.close()
            raise
        _log.info("contending for leadership", zk=str(self.url),
                  znode=self._contender.znode)
        return self

    def stop(self) -> None:
        """Withdraw (our znode is deleted) and close the session."""
        self._client.remove_listener(self._on_state)
        self._detector.stop()
        self._contender.stop()
        self._client.stop()
        self._client.close()

    # -- callbacks on kazoo's threads: never block --------------------------------------

    def _on_state(self, state: KazooState) -> None:
        if state == KazooState.SUSPENDED:
            _log.warning("ZooKeeper connection suspended: registry writes held")
            self._master.hold_registry()
        elif state == KazooState.CONNECTED:
            self._master.release_registry()

    def _on_elected(self) -> None:
        self._master.tell_elected()

    def _on_change(self, info: MasterInfo | None) -> None:
        self._master.tell_leader(info)

    def _on_lost(self, reason: str) -> None:
        _log.error("lost candidacy, committing suicide", reason=reason,
                   elected=self._contender.elected)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        self._exit(1)
