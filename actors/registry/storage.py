"""The ``Storage`` seam of the registry, and the registry's branch of the exception tree.

A ``Storage`` is a tiny versioned key-value store. Every key has a version: ``0`` while the
key is absent, then a number that grows with every write. ``set`` is a compare-and-swap on
that version, so of two masters that read the same version only the first one's write
lands; the other gets ``StorageConflict`` and must abort (Mesos' registrar does the same
when the replicated log refuses a stale write). Backends: ``memory`` (tests), ``sqlite``
(the embedded default) and ``zookeeper`` (HA); ``actors.registry.registrar`` reads and
writes through whichever ``open_storage`` picked.

Errors (each backend translates its library's errors at this boundary)::

    MesetaError
    └── RegistryError              the registry could not do what was asked
        ├── StorageConflict        someone else wrote the key since we read it (CAS lost)
        ├── StorageUnavailable     the store cannot be reached or refused the write
        ├── CorruptRegistry        stored bytes that do not decode to a Registry
        ├── OperationRefused       an impossible operation (admit an admitted agent...)
        ├── NotRecovered           ``Registrar.apply`` before ``Registrar.recover``
        └── RegistrarAborted       an earlier write failed; nothing more until recovered
"""

from __future__ import annotations

from typing import Protocol

from transport.errors import MesetaError

__all__ = [
    "CorruptRegistry",
    "NotRecovered",
    "OperationRefused",
    "RegistrarAborted",
    "RegistryError",
    "Storage",
    "StorageConflict",
    "StorageUnavailable",
    "check_key",
]


class RegistryError(MesetaError):
    """Root of the registry's errors."""


class StorageConflict(RegistryError):
    """The key's version is not the one expected: another writer got there first."""

    def __init__(self, key: str, expected: int, actual: int | None = None) -> None:
        self.key = key
        self.expected = expected
        self.actual = actual
        seen = "" if actual is None else f", found version {actual}"
        super().__init__(f"storage conflict on {key!r}: expected version {expected}{seen}")


class StorageUnavailable(RegistryError):
    """The store could not be reached, or failed the operation (disk, session, lock)."""


class CorruptRegistry(RegistryError):
    """Stored bytes that do not decode to a ``Registry``."""


class OperationRefused(RegistryError):
    """A registry operation that is impossible in the current registry."""


class NotRecovered(RegistryError):
    """The registrar was asked to write before it recovered the registry."""


class RegistrarAborted(RegistryError):
    """A write failed (conflict or outage): the in-memory registry can no longer be trusted."""


class Storage(Protocol):
    """A versioned key-value store with compare-and-swap writes."""

    def get(self, key: str) -> tuple[bytes | None, int]:
        """The key's value and version; ``(None, 0)`` when the key is absent."""
        ...

    def set(self, key: str, value: bytes, expected_version: int) -> int:
        """Write ``value`` if the key is still at ``expected_version``; return the new version.

        Raises ``StorageConflict`` if the key moved on (or, with ``expected_version`` 0,
        if it already exists), ``StorageUnavailable`` if the store failed.
        """
        ...

    def close(self) -> None:
        """Release connections and files; the store's data stays."""
        ...


def check_key(key: str) -> str:
    """Refuse keys that a backend could not store as one flat name."""
    if not key or "/" in key or key in (".", "..") or "\x00" in key:
        raise ValueError(f"bad storage key {key!r}: a non-empty name without '/'")
    return key
