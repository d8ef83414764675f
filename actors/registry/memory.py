"""``MemoryStorage``: the registry's in-process store, for tests and ``--registry=in_memory``.

Nothing survives the process. One instance may be shared by two registrars to play two
masters racing on one store; the compare-and-swap makes the second writer lose.
"""

from __future__ import annotations

import threading

from actors.registry.storage import StorageConflict, StorageUnavailable, check_key

__all__ = ["MemoryStorage"]


class MemoryStorage:
    """A dict of ``key -> (value, version)`` behind a lock."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[bytes, int]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def get(self, key: str) -> tuple[bytes | None, int]:
        check_key(key)
        with self._lock:
            self._check_open()
            value, version = self._data.get(key, (None, 0))
            return value, version

    def set(self, key: str, value: bytes, expected_version: int) -> int:
        check_key(key)
        with self._lock:
            self._check_open()
            _, version = self._data.get(key, (None, 0))
            if version != expected_version:
                raise StorageConflict(key, expected_version, version)
            self._data[key] = (bytes(value), version + 1)
            return version + 1

    def close(self) -> None:
        with self._lock:
            self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise StorageUnavailable("the in-memory storage is closed")
