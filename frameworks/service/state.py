"""What the service framework keeps across its own restarts: ``<state_dir>/service.json``.

One JSON document: the framework id (so that a restarted framework re-registers as
the same framework and the master hands its running tasks back), the app specs (with
their versions), and the tasks it launched (so that it can reconcile them explicitly
and knows their agents' facts for constraints). ``StateFile.save`` writes a temporary
file, fsyncs it and renames it over the old one, so a crash leaves either the old or
the new document, never half of one. The scheduler saves after every change (under
its lock), before launching, so a task it launched is always on disk.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frameworks.service.spec import AppSpec, SpecError, parse_app
from frameworks.service.tasks import ServiceTask

__all__ = ["SavedState", "StateFile"]

FILE_NAME = "service.json"


@dataclass
class SavedState:
    framework_id: str = ""
    apps: list[AppSpec] = field(default_factory=list)
    tasks: list[ServiceTask] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"framework_id": self.framework_id,
                "apps": [a.to_json() for a in self.apps],
                "tasks": [t.to_json() for t in self.tasks]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SavedState:
        return cls(framework_id=str(data.get("framework_id", "")),
                   apps=[parse_app(a) for a in data.get("apps", [])],
                   tasks=[ServiceTask.from_json(t) for t in data.get("tasks", [])])


class StateFile:
    """The saved state in ``state_dir`` (none: nothing is kept)."""

    def __init__(self, state_dir: str | Path | None) -> None:
        self.path = Path(state_dir) / FILE_NAME if state_dir else None

    def load(self) -> SavedState | None:
        """The saved state, or None if there is none. A corrupt file raises ValueError."""
        if self.path is None or not self.path.exists():
            return None
        try:
            return SavedState.from_json(json.loads(self.path.read_text()))
        except (ValueError, KeyError, TypeError, SpecError) as exc:
            raise ValueError(f"corrupt state file {self.path}: {exc}") from exc

    def save(self, state: SavedState) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".service-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(state.to_json(), out, indent=1, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
