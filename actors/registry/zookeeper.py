"""``ZooKeeperStorage``: the registry in ZooKeeper, for masters in HA (``--registry=zk``).

One znode per key under a base path (``/meseta/registry/<key>`` for ``--zk
zk://host:port/meseta``); the znode's own version is the compare-and-swap token
(kazoo's ``set(path, value, version=...)`` fails with ``BadVersionError`` when another
master wrote in between). The storage version is the znode version + 1, so that ``0``
still means "absent" as in the other backends.

kazoo errors are translated at this boundary: a lost race (``BadVersionError``,
``NodeExistsError``, a znode deleted under us) is ``StorageConflict``; a lost
connection, an expired session, a timeout or any other ZooKeeper error is
``StorageUnavailable``. A write interrupted by a lost connection may or may not have
landed: the master treats ``StorageUnavailable`` as fatal, as Mesos does a failed store.
ZooKeeper refuses znodes over ``jute.maxbuffer`` (1 MiB by default).
"""

from __future__ import annotations

import posixpath
import threading
from collections.abc import Callable
from typing import TypeVar

from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, KazooException, NodeExistsError, NoNodeError
from kazoo.handlers.threading import KazooTimeoutError

from actors.registry.storage import StorageConflict, StorageUnavailable, check_key

__all__ = ["DEFAULT_TIMEOUT_S", "ZooKeeperStorage"]

DEFAULT_TIMEOUT_S = 10.0
"""Session timeout of a client we create, and how long we wait for it to connect."""

T = TypeVar("T")


class ZooKeeperStorage:
    """A versioned key-value store of znodes under ``path``.

    ``hosts_or_client`` is a ``host:port[,host:port]`` string (the storage then owns a
    client and stops it on ``close``) or a started ``KazooClient`` shared with, say, the
    leader contender (``close`` leaves it running).
    """

    def __init__(
        self, hosts_or_client: str | KazooClient, path: str, *, timeout: float = DEFAULT_TIMEOUT_S
    ) -> None:
        if not path.startswith("/"):
            raise ValueError(f"a ZooKeeper path is absolute: {path!r}")
        self.path = posixpath.normpath(path)
        self._lock = threading.Lock()
        self._closed = False
        if isinstance(hosts_or_client, str):
            self._client = KazooClient(hosts=hosts_or_client, timeout=timeout)
            self._owned = True
            try:
                self._client.start(timeout=timeout)
            except (KazooTimeoutError, KazooException) as exc:
                self._client.close()
                raise StorageUnavailable(
                    f"cannot reach ZooKeeper at {hosts_or_client}: {exc}") from exc
        else:
            self._client = hosts_or_client
            self._owned = False
        try:
            self._call(lambda: self._client.ensure_path(self.path), "creating")
        except StorageUnavailable:
            self.close()
            raise

    def get(self, key: str) -> tuple[bytes | None, int]:
        znode = self._znode(key)
        try:
            data, stat = self._call(lambda: self._client.get(znode), f"reading {znode}")
        except NoNodeError:
            return None, 0
        return bytes(data), int(stat.version) + 1

    def set(self, key: str, value: bytes, expected_version: int) -> int:
        znode = self._znode(key)
        try:
            if expected_version == 0:
                self._call(lambda: self._client.create(znode, value), f"creating {znode}")
                return 1
            stat = self._call(
                lambda: self._client.set(znode, value, version=expected_version - 1),
                f"writing {znode}",
            )
        except (NodeExistsError, BadVersionError, NoNodeError):
            raise StorageConflict(key, expected_version, self.get(key)[1]) from None
        return int(stat.version) + 1

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._owned:
            try:
                self._client.stop()
                self._client.close()
            except (KazooTimeoutError, KazooException) as exc:
                raise StorageUnavailable(f"closing the ZooKeeper client: {exc}") from exc

    def _znode(self, key: str) -> str:
        return posixpath.join(self.path, check_key(key))

    def _call(self, fn: Callable[[], T], doing: str) -> T:
        """Run one kazoo call; race outcomes pass through, everything else is unavailable."""
        if self._closed:
            raise StorageUnavailable("the ZooKeeper storage is closed")
        try:
            return fn()
        except (NodeExistsError, BadVersionError, NoNodeError):
            raise
        except (KazooTimeoutError, KazooException) as exc:
            raise StorageUnavailable(f"ZooKeeper failed {doing} ({self.path}): {exc!r}") from exc

