"""``JsonStateFile``: one JSON document a framework keeps in its ``--state_dir``.

Both long-lived frameworks (``frameworks.service`` and ``frameworks.batch``) keep their
framework id and what they run across their own restarts in a file of their state dir
(``service.json``, ``batch.json``). This module holds what they share: where the file
is, reading it (no file: ``None``; a file that is not a JSON object: ``CorruptState``,
so a framework never silently starts empty over state it could not read), and writing
it atomically — a temporary file in the same directory, fsynced, then renamed over the
old one — so that a crash leaves either the old or the new document, never half of one.
Each framework turns its own state into the document and back (``frameworks.service.
state``, ``frameworks.batch.state``).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["CorruptState", "JsonStateFile"]


class CorruptState(ValueError):
    """A state file that exists but cannot be read (or read back); the message names
    the file."""


class JsonStateFile:
    """``<state_dir>/<file_name>`` (no ``state_dir``: nothing is kept or read)."""

    def __init__(self, state_dir: str | Path | None, file_name: str) -> None:
        self.path = Path(state_dir) / file_name if state_dir else None

    def read(self) -> dict[str, Any] | None:
        """The saved document, or None when there is none; raises ``CorruptState``."""
        if self.path is None or not self.path.exists():
            return None
        try:
            text = self.path.read_text()
        except OSError as exc:
            raise CorruptState(f"cannot read state file {self.path}: {exc}") from exc
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise self.corrupt(exc) from exc
        if not isinstance(data, dict):
            raise self.corrupt(f"expected a JSON object, not {type(data).__name__}")
        return data

    def corrupt(self, why: object) -> CorruptState:
        """The error for a document that could not be turned back into state."""
        return CorruptState(f"corrupt state file {self.path}: {why}")

    def write(self, data: dict[str, Any]) -> None:
        """Replace the document atomically (temp file, fsync, rename)."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        stem = self.path.stem
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{stem}-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(data, out, indent=1, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
