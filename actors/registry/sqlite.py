"""``SqliteStorage``: the embedded, durable registry store (``<work_dir>/registry.db``).

The default backend of ``--registry=sqlite``: durable on one machine, no server. One table
``kv(key, value, version)``; a write is a single conditional statement (``UPDATE ... WHERE
version = ?`` or ``INSERT`` of an absent key), so the compare-and-swap holds across threads
and across processes that open the same file. WAL journal and ``synchronous=FULL``: a write
that returned is on disk, even if the machine loses power right after.

``sqlite3`` errors are translated here: a locked or unreadable database is
``StorageUnavailable``; a lost race is ``StorageConflict``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from actors.registry.storage import StorageConflict, StorageUnavailable, check_key

__all__ = ["SqliteStorage"]

BUSY_TIMEOUT_S = 10.0
"""How long a write waits for another process's write lock before giving up."""

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS kv ("
    " key TEXT PRIMARY KEY NOT NULL,"
    " value BLOB NOT NULL,"
    " version INTEGER NOT NULL)"
)


class SqliteStorage:
    """A versioned key-value store in one SQLite file; safe to share across processes."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = BUSY_TIMEOUT_S):
        self.path = Path(path)
        self._lock = threading.Lock()
        db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # autocommit (isolation_level=None): each statement is its own transaction
            db = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")  # per connection: every one of ours sets it
            db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            if db is not None:
                db.close()
            raise StorageUnavailable(
                f"cannot open the registry database {self.path}: {exc}") from exc
        self._db: sqlite3.Connection | None = db

    def get(self, key: str) -> tuple[bytes | None, int]:
        check_key(key)
        with self._lock:
            db = self._open_db()
            try:
                row = db.execute("SELECT value, version FROM kv WHERE key = ?", (key,)).fetchone()
            except sqlite3.Error as exc:
                raise StorageUnavailable(f"reading {key!r} from {self.path}: {exc}") from exc
        if row is None:
            return None, 0
        return bytes(row[0]), int(row[1])

    def set(self, key: str, value: bytes, expected_version: int) -> int:
        check_key(key)
        new_version = expected_version + 1
        with self._lock:
            db = self._open_db()
            try:
                if expected_version == 0:
                    cur = db.execute(
                        "INSERT OR IGNORE INTO kv (key, value, version) VALUES (?, ?, 1)",
                        (key, sqlite3.Binary(value)),
                    )
                else:
                    cur = db.execute(
                        "UPDATE kv SET value = ?, version = ? WHERE key = ? AND version = ?",
                        (sqlite3.Binary(value), new_version, key, expected_version),
                    )
                written = cur.rowcount == 1
                actual = None
                if not written:
                    row = db.execute("SELECT version FROM kv WHERE key = ?", (key,)).fetchone()
                    actual = 0 if row is None else int(row[0])
            except sqlite3.Error as exc:
                raise StorageUnavailable(f"writing {key!r} to {self.path}: {exc}") from exc
        if not written:
            raise StorageConflict(key, expected_version, actual)
        return new_version

    def close(self) -> None:
        with self._lock:
            db, self._db = self._db, None
        if db is not None:
            try:
                db.close()
            except sqlite3.Error as exc:
                raise StorageUnavailable(f"closing {self.path}: {exc}") from exc

    def _open_db(self) -> sqlite3.Connection:
        if self._db is None:
            raise StorageUnavailable(f"the registry database {self.path} is closed")
        return self._db
