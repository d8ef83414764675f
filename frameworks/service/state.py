"""What the service framework keeps across its own restarts: ``<state_dir>/service.json``.

One JSON document: the framework id (so that a restarted framework re-registers as
the same framework and the master hands its running tasks back), the app specs (with
their versions), and the tasks it launched (so that it can reconcile them explicitly
and knows their agents' facts for constraints). ``StateFile.save`` writes it atomically
and ``load`` refuses a corrupt one (``frameworks.state_file.JsonStateFile``, shared
with the batch framework). The scheduler saves after every change (under
its lock), before launching, so a task it launched is always on disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frameworks.service.spec import AppSpec, SpecError, parse_app
from frameworks.service.tasks import ServiceTask
from frameworks.state_file import JsonStateFile

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
        self.file = JsonStateFile(state_dir, FILE_NAME)
        self.path = self.file.path

    def load(self) -> SavedState | None:
        """The saved state, or None if there is none. A corrupt file raises ValueError."""
        data = self.file.read()
        if data is None:
            return None
        try:
            return SavedState.from_json(data)
        except (ValueError, KeyError, TypeError, AttributeError, SpecError) as exc:
            raise self.file.corrupt(exc) from exc

    def save(self, state: SavedState) -> None:
        self.file.write(state.to_json())
