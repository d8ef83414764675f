"""The ``actors`` branch of Meseta's exception tree.

Errors the cluster manager raises on purpose hang off ``transport.errors.MesetaError``
(the one root; its docstring draws the transport's branch)::

    MesetaError
    └── ActorsError              the cluster manager refused or could not do something
        └── InvalidTransitionError   a task state change the state machine forbids

Raised by pure code (``actors.messages.task_state.transition``, later task validation
and bookkeeping); actors catch them at the handler and turn them into a status update,
a log line or an error message to the framework, never into a crash.
"""

from __future__ import annotations

from transport.errors import MesetaError

__all__ = ["ActorsError", "InvalidTransitionError"]


class ActorsError(MesetaError):
    """Root of the errors raised by the cluster manager (master, agent, allocator)."""


class InvalidTransitionError(ActorsError):
    """A move from one state to another that the state machine does not allow."""

    def __init__(self, kind: str, old: str, new: str, why: str = "") -> None:
        self.kind = kind
        self.old = old
        self.new = new
        detail = f": {why}" if why else ""
        super().__init__(f"illegal {kind} transition {old} -> {new}{detail}")
