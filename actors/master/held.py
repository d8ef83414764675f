"""``HeldMessages``: registrations a master holds until it can handle them, instead of dropping.

An agent or a scheduler driver writes to a master only once its own detector reports that
master leading, and a newly elected master must still recover its registry before it
handles agents. Mesos' master drops whatever arrives in between (``Master::visit``: "not
elected yet" / "not recovered yet", with a TODO to re-queue instead); the sender retries
only after its backoff, which after a failover can be seconds. Meseta's master holds those
registrations, the latest one per sender and kind, for ``window`` seconds, and handles them
the moment it leads with its registry recovered (``MasterActor`` / ``AgentHandlers`` call
``hold`` and ``take``). What is older than the window, or beyond ``limit`` senders, is
dropped as before: a master that is never elected holds nothing for long.

Pure bookkeeping (no threads, no clock of its own): the caller passes ``now``.
"""

from __future__ import annotations

from typing import Any

from transport.pid import PID

__all__ = ["HeldMessages"]

DEFAULT_WINDOW = 5.0
"""Seconds a registration is held (longer than the gap between a sender's detection of a
new leader and that master's own election and registry recovery)."""

DEFAULT_LIMIT = 20_000
"""Senders held at most (one registration each)."""


class HeldMessages:
    """The latest held registration per ``(sender, message type)``, oldest first."""

    def __init__(self, window: float = DEFAULT_WINDOW, limit: int = DEFAULT_LIMIT) -> None:
        self.window = window
        self.limit = limit
        self._held: dict[tuple[PID, type], tuple[float, Any]] = {}

    def __len__(self) -> int:
        return len(self._held)

    def hold(self, frm: PID, msg: Any, now: float) -> bool:
        """Keep ``msg`` (replacing an older one of its kind from ``frm``); ``False``: full."""
        self._expire(now)
        key = (frm, type(msg))
        if key not in self._held and len(self._held) >= self.limit:
            return False
        self._held.pop(key, None)  # a retry moves to the back, with its own time
        self._held[key] = (now, msg)
        return True

    def take(self, now: float) -> list[tuple[PID, Any]]:
        """Everything still within the window, in arrival order; the hold is emptied."""
        self._expire(now)
        items = [(frm, msg) for (frm, _), (_, msg) in self._held.items()]
        self._held.clear()
        return items

    def _expire(self, now: float) -> None:
        held = self._held
        while held:
            key, (when, _) = next(iter(held.items()))
            if now - when <= self.window:
                return
            del held[key]
