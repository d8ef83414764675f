"""``MasterContender``: a master's candidacy in ZooKeeper, Mesos' ``json.info_`` way.

The contender creates an EPHEMERAL|SEQUENCE znode ``<path>/json.info_<seq>`` holding the
master's ``MasterInfo`` as JSON (``master_info.py``), watches ``<path>``'s children, and:

- calls ``on_elected()`` once, when its znode is the lowest ``json.info_`` sequence;
- calls ``on_lost(reason)`` once, when the candidacy (or leadership) is gone: its znode
  disappeared, the session was LOST (expired), or the connection stayed SUSPENDED for
  longer than the session timeout. The last case is Mesos' local session expiry
  (``zookeeper/group.cpp``): a partitioned leader only hears of the expiry when it
  reconnects, so it gives up by itself after the session timeout, by when ZooKeeper
  has expired its session and another master may lead. This bounds split brain.

After ``on_lost`` the contender is finished; a master then exits (fail fast, as Mesos'
"committing suicide") and a new process contends again. Callbacks run on kazoo's event
thread or the suspension timer's thread and must not block: tell an actor.

Plain class, no actors; kazoo is only imported in ``actors/ha``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from kazoo.client import KazooClient
from kazoo.exceptions import KazooException, NoNodeError
from kazoo.protocol.states import KazooState

from actors.ha.master_info import master_info_to_json
from actors.messages.info import MasterInfo

__all__ = ["LABEL", "MasterContender", "leader_of", "sequence_of"]

LABEL = "json.info_"
"""The znode name prefix of Mesos masters' candidacies (``json.info_0000000001``)."""

_log = logging.getLogger(__name__)


def sequence_of(name: str) -> int | None:
    """``json.info_0000000007`` -> 7; ``None`` for any other child name."""
    if not name.startswith(LABEL):
        return None
    digits = name[len(LABEL):]
    return int(digits) if digits.isascii() and digits.isdigit() else None


def leader_of(children: list[str]) -> str | None:
    """The child with the lowest ``json.info_`` sequence, or ``None``; others are ignored."""
    numbered = [(seq, name) for name in children if (seq := sequence_of(name)) is not None]
    return min(numbered)[1] if numbered else None


def _client(client_or_hosts: KazooClient | str, timeout: float) -> tuple[KazooClient, bool]:
    if isinstance(client_or_hosts, str):
        return KazooClient(hosts=client_or_hosts, timeout=timeout), True
    return client_or_hosts, False


class MasterContender:
    """One master's candidacy under ``path``; ``start()`` enters it, ``stop()`` withdraws.

    ``client_or_hosts`` is a ``KazooClient`` (the caller starts and stops it) or a
    ``"host:port,..."`` string (the contender owns a client with ``session_timeout``).
    ``session_timeout`` also bounds a SUSPENDED connection; by default it is the client's.
    """

    def __init__(
        self,
        client_or_hosts: KazooClient | str,
        path: str,
        master_info: MasterInfo,
        on_elected: Callable[[], None],
        on_lost: Callable[[str], None],
        *,
        session_timeout: float | None = None,
        connect_timeout: float = 30.0,
    ) -> None:
        self._client, self._owns_client = _client(client_or_hosts, session_timeout or 10.0)
        self._path = path.rstrip("/") or "/"
        self._payload = master_info_to_json(master_info)
        self._on_elected = on_elected
        self._on_lost = on_lost
        self._session_timeout = session_timeout or self._client._session_timeout / 1000.0
        self._connect_timeout = connect_timeout
        self._lock = threading.Lock()
        self._znode: str | None = None
        self._elected = False
        self._finished = False
        self._suspended_timer: threading.Timer | None = None

    @property
    def znode(self) -> str | None:
        """Our znode's full path once ``start()`` created it."""
        return self._znode

    @property
    def elected(self) -> bool:
        """Whether we were elected (stays true after loss: ``on_lost`` ends a term)."""
        return self._elected

    @property
    def session_timeout(self) -> float:
        return self._session_timeout

    def start(self) -> MasterContender:
        """Create our znode and start watching; blocks until ZooKeeper has answered."""
        if self._owns_client:
            self._client.start(timeout=self._connect_timeout)
        self._client.add_listener(self._on_state)
        self._znode = self._client.create(
            f"{self._path}/{LABEL}", self._payload, ephemeral=True, sequence=True,
            makepath=True)
        _log.info("contending for leadership as %s", self._znode)
        self._client.ChildrenWatch(self._path, self._on_children)
        return self

    def stop(self) -> None:
        """Withdraw: no more callbacks, delete our znode, stop an owned client."""
        with self._lock:
            self._finished = True
            self._cancel_timer()
        self._client.remove_listener(self._on_state)
        if self._znode is not None and self._client.connected:
            try:
                self._client.delete(self._znode)
            except NoNodeError:
                pass
            except KazooException as exc:  # the session ends soon; its ephemeral goes then
                _log.warning("could not delete %s: %s", self._znode, exc)
        if self._owns_client:
            self._client.stop()
            self._client.close()

    # -- kazoo callbacks (never block) ------------------------------------------------

    def _on_state(self, state: KazooState) -> None:
        """Connection listener: runs on kazoo's connection thread, so only sets a timer."""
        if state == KazooState.LOST:
            self._lose("ZooKeeper session lost (expired or closed)")
            return
        with self._lock:
            if self._finished:
                return
            if state == KazooState.SUSPENDED:
                _log.warning("ZooKeeper connection suspended; giving up after %.1f s",
                             self._session_timeout)
                self._cancel_timer()
                timer = threading.Timer(self._session_timeout, self._on_suspended_too_long)
                timer.daemon = True
                timer.name = "zk-contender-suspended"
                self._suspended_timer = timer
                timer.start()
            else:  # CONNECTED with the same session: our znode is still there
                self._cancel_timer()

    def _on_suspended_too_long(self) -> None:
        self._lose(f"ZooKeeper connection suspended longer than the session timeout "
                   f"({self._session_timeout:.1f} s): session expired locally")

    def _on_children(self, children: list[str]) -> bool:
        assert self._znode is not None
        ours = self._znode.rsplit("/", 1)[1]
        if ours not in children:
            self._lose(f"our znode {self._znode} disappeared")
            return False
        with self._lock:
            if self._finished:
                return False
            newly_elected = not self._elected and leader_of(children) == ours
            if newly_elected:
                self._elected = True
        if newly_elected:
            _log.info("elected leader as %s", self._znode)
            self._on_elected()
        return True

    def _lose(self, reason: str) -> None:
        with self._lock:
            if self._finished:
                return
            self._finished = True
            self._cancel_timer()
        _log.error("lost %s: %s", "leadership" if self._elected else "candidacy", reason)
        self._on_lost(reason)

    def _cancel_timer(self) -> None:
        """Call with ``_lock`` held."""
        if self._suspended_timer is not None:
            self._suspended_timer.cancel()
            self._suspended_timer = None
