"""``MasterDetector``: who leads, as read from Mesos' ``json.info_`` znodes.

Every component that follows the leader (agents, scheduler drivers, the CLI, standby
masters) runs one. It watches ``<path>``'s children, takes the lowest ``json.info_``
sequence as the leader (other children are ignored), watches that znode's data and calls
``on_change(MasterInfo | None)`` whenever the leader changes: first once at ``start()``,
then on every change (``None``: no leader, or its data could not be read).

Callbacks run on kazoo's event thread and must not block: tell an actor. A SUSPENDED
connection does not change the reported leader; kazoo re-arms the watches after a new
session, and the leader is then re-read.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from kazoo.client import KazooClient
from kazoo.protocol.states import ZnodeStat

from actors.ha.contender import leader_of
from actors.ha.master_info import master_info_from_json
from actors.messages.info import MasterInfo

__all__ = ["MasterDetector"]

_log = logging.getLogger(__name__)

_UNSET = object()


class MasterDetector:
    """Follows the leading master under ``path``; ``start()`` begins, ``stop()`` ends.

    ``client_or_hosts`` is a ``KazooClient`` (the caller starts and stops it) or a
    ``"host:port,..."`` string (the detector owns a client with ``session_timeout``).
    """

    def __init__(
        self,
        client_or_hosts: KazooClient | str,
        path: str,
        on_change: Callable[[MasterInfo | None], None],
        *,
        session_timeout: float = 10.0,
        connect_timeout: float = 30.0,
    ) -> None:
        if isinstance(client_or_hosts, str):
            self._client = KazooClient(hosts=client_or_hosts, timeout=session_timeout)
            self._owns_client = True
        else:
            self._client, self._owns_client = client_or_hosts, False
        self._path = path.rstrip("/") or "/"
        self._on_change = on_change
        self._connect_timeout = connect_timeout
        self._lock = threading.Lock()
        self._stopped = False
        self._leader_znode: object = _UNSET  # the leader's child name, or None
        self._reported: object = _UNSET

    @property
    def leader(self) -> MasterInfo | None:
        """The leader last reported (``None`` before the first report or without one)."""
        reported = self._reported
        return reported if isinstance(reported, MasterInfo) else None

    def start(self) -> MasterDetector:
        """Start watching; ``on_change`` is called once with the current leader."""
        if self._owns_client:
            self._client.start(timeout=self._connect_timeout)
        self._client.ensure_path(self._path)  # a ChildrenWatch on a missing node stops
        self._client.ChildrenWatch(self._path, self._on_children)
        return self

    def stop(self) -> None:
        """No more callbacks; stops an owned client."""
        with self._lock:
            self._stopped = True
        if self._owns_client:
            self._client.stop()
            self._client.close()

    def _on_children(self, children: list[str]) -> bool:
        with self._lock:
            if self._stopped:
                return False
            leader = leader_of(children)
            if leader == self._leader_znode:
                return True
            self._leader_znode = leader
        if leader is None:
            self._report(None)
        else:
            znode = f"{self._path}/{leader}"
            self._client.DataWatch(
                znode, lambda data, stat: self._on_data(leader, znode, data, stat))
        return True

    def _on_data(self, leader: str, znode: str, data: bytes | None,
                 stat: ZnodeStat | None) -> bool:
        with self._lock:
            if self._stopped or leader != self._leader_znode:
                return False  # a newer leader has its own watch
        if data is None:  # deleted: the children watch names the next leader
            return False
        try:
            info: MasterInfo | None = master_info_from_json(data)
        except ValueError as exc:
            _log.error("cannot read the leading master from %s: %s", znode, exc)
            info = None
        self._report(info)
        return True

    def _report(self, info: MasterInfo | None) -> None:
        with self._lock:
            if self._stopped or self._reported == info:
                return
            self._reported = info
        self._on_change(info)
