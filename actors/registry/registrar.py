"""``Registrar``: the master's one door to the registry (Mesos' ``src/master/registrar.cpp``).

The leading master ``recover()``s the registry once, then ``apply()``s operations; each
mutating operation is a read-modify-write of the single ``registry`` key at the version
the registrar last saw. ``recover`` writes the registry back at once, so a master that
recovered earlier (a deposed leader still running) fails its next write with
``StorageConflict``: that master must abort, as Mesos' does when its registrar fails.
After a failed write (``StorageConflict`` or ``StorageUnavailable``) the registrar is
aborted: its copy may differ from the store, so every later ``apply`` raises
``RegistrarAborted``. ``apply_batch`` stores several operations with one write (the
registry is rewritten whole each time: ~25 ms at 10,000 agents).

``open_storage`` maps the master's ``--registry`` flag to a backend: ``in_memory``,
``sqlite`` (the default: ``<work_dir>/registry.db``) or ``zk`` (under the ``--zk`` path).

Who calls it: the master's ``RegistrarWorker`` (``actors.registry.worker``: one thread,
the only user; the lock only guards against misuse) and tests; nothing here sends
messages.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

from actors.registry.memory import MemoryStorage
from actors.registry.model import Registry, decode_registry, encode_registry
from actors.registry.operations import (
    DEFAULT_MAX_AGENT_AGE_S,
    DEFAULT_MAX_AGENT_COUNT,
    Operation,
    PruneUnreachable,
)
from actors.registry.storage import (
    NotRecovered,
    OperationRefused,
    RegistrarAborted,
    RegistryError,
    Storage,
)
from transport.clock import Clock

__all__ = [
    "REGISTRY_BACKENDS",
    "REGISTRY_KEY",
    "REGISTRY_ZNODE",
    "Registrar",
    "open_storage",
]

REGISTRY_KEY = "registry"
"""The one key the registry is stored under."""
REGISTRY_ZNODE = "registry"
"""With ``--registry=zk``: the keys live under ``<zk path>/registry``."""
REGISTRY_BACKENDS = ("in_memory", "sqlite", "zk")
"""The values of the master's ``--registry`` flag (default ``sqlite``)."""


class Registrar:
    """Recovers the registry from a ``Storage`` and applies operations to it, durably."""

    def __init__(self, storage: Storage, clock: Clock, *, key: str = REGISTRY_KEY) -> None:
        self.storage = storage
        self.clock = clock
        self._key = key
        self._lock = threading.Lock()
        self._registry: Registry | None = None
        self._version = 0
        self._aborted: RegistryError | None = None

    @property
    def registry(self) -> Registry:
        """The registry as last stored; ``NotRecovered`` before ``recover``."""
        if self._registry is None:
            raise NotRecovered("the registry has not been recovered")
        return self._registry

    @property
    def version(self) -> int:
        """The storage version of the registry this registrar last read or wrote."""
        return self._version

    def recover(self) -> Registry:
        """Read the registry (empty on a fresh store) and claim it by writing it back.

        ``StorageConflict`` if another master wrote between the read and the claim,
        ``StorageUnavailable`` if the store failed, ``CorruptRegistry`` on unreadable bytes:
        all three mean this master must not lead.
        """
        with self._lock:
            data, version = self.storage.get(self._key)
            registry = Registry() if data is None else decode_registry(data)
            # The write moves the version on: an older holder's next write now conflicts.
            self._version = self.storage.set(self._key, encode_registry(registry), version)
            self._registry = registry
            self._aborted = None
            return registry

    def apply(self, operation: Operation) -> bool:
        """Apply and store one operation; whether it changed the registry.

        Raises what the operation raises (``OperationRefused``) with nothing written;
        ``StorageConflict`` when another master wrote since, ``StorageUnavailable`` when the
        store failed (both abort this registrar); ``RegistrarAborted`` after either.
        """
        with self._lock:
            self._check_usable()
            updated, mutated = operation.apply(self.registry)
            if mutated:
                self._store(updated)
            return mutated

    def apply_batch(self, operations: Iterable[Operation]) -> list[bool | OperationRefused]:
        """Apply several operations in order and store the result once (Mesos' batching).

        Each operation's outcome is whether it changed the registry, or the
        ``OperationRefused`` it raised (that one changes nothing; the others still apply).
        A failed store raises, as ``apply`` does, and none of the batch is applied.
        """
        with self._lock:
            self._check_usable()
            current = self.registry
            outcomes: list[bool | OperationRefused] = []
            for operation in operations:
                try:
                    current, mutated = operation.apply(current)
                except OperationRefused as exc:
                    outcomes.append(exc)
                    continue
                outcomes.append(mutated)
            if any(outcome is True for outcome in outcomes):
                self._store(current)
            return outcomes

    def _check_usable(self) -> None:
        if self._aborted is not None:
            raise RegistrarAborted(f"the registrar aborted: {self._aborted}")
        self.registry  # noqa: B018  (raises NotRecovered before recover)

    def _store(self, updated: Registry) -> None:
        try:
            self._version = self.storage.set(self._key, encode_registry(updated), self._version)
        except RegistryError as exc:
            self._aborted = exc
            raise
        self._registry = updated

    def prune(
        self,
        max_age: float = DEFAULT_MAX_AGENT_AGE_S,
        max_count: int = DEFAULT_MAX_AGENT_COUNT,
    ) -> bool:
        """Garbage-collect unreachable and gone agents as of the clock's ``now()``."""
        return self.apply(PruneUnreachable(self.clock.now(), max_age, max_count))


def open_storage(
    registry: str, work_dir: str | Path | None = None, *, zk: str | None = None
) -> Storage:
    """The storage the master's ``--registry`` flag names.

    ``in_memory`` (lost with the process), ``sqlite`` (``<work_dir>/registry.db``) or
    ``zk`` (``zk`` is the ``--zk`` URL; keys under ``<path>/registry``).
    """
    if registry == "in_memory":
        return MemoryStorage()
    if registry == "sqlite":
        if work_dir is None:
            raise ValueError("--registry=sqlite needs a --work_dir")
        from actors.registry.sqlite import SqliteStorage

        return SqliteStorage(Path(work_dir) / "registry.db")
    if registry == "zk":
        if zk is None:
            raise ValueError("--registry=zk needs --zk=zk://host:port/path")
        # kazoo is imported only when ZooKeeper is asked for (actors.ha imports it too)
        from actors.ha.zk_url import parse_zk_url
        from actors.registry.zookeeper import ZooKeeperStorage

        url = parse_zk_url(zk)

        return ZooKeeperStorage(url.hosts, f"{url.path}/{REGISTRY_ZNODE}")
    raise ValueError(f"--registry is one of {', '.join(REGISTRY_BACKENDS)}, not {registry!r}")
