"""Task states, why they change (``Reason``), who said so (``Source``), and the legal moves.

Everyone who holds a task record walks this state machine: the agent (its task and
status update manager), the master (its ``Task`` copies, reconciliation answers) and
the scheduler driver. Values are Mesos' enum numbers (``include/mesos/mesos.proto``);
on the wire an enum travels by member name, so the numbers are documentation only.

The terminal set is exactly Mesos' ``protobuf::isTerminalState``
(src/common/protobuf_utils.cpp): FINISHED, FAILED, KILLED, ERROR, LOST, DROPPED,
GONE, GONE_BY_OPERATOR. A terminal state frees the task's resources.

The transition table (``TRANSITIONS``), and why:

- ``X -> X`` is legal for every non-terminal state: a RUNNING update that only
  changes ``healthy`` is still RUNNING, and reconciliation repeats answers.
- ``TASK_ERROR`` is a verdict on the task description, reached only from STAGING
  (the master or the agent refused to launch it).
- Live states move forward: STAGING -> STARTING -> RUNNING -> KILLING; never back
  (a KILLING task does not return to RUNNING; only a new task can).
- From any live state a task may end (FINISHED, FAILED, KILLED, DROPPED, GONE,
  GONE_BY_OPERATOR), or the master may lose sight of it: UNREACHABLE (agent
  partitioned), LOST (the same for frameworks that are not PARTITION_AWARE),
  UNKNOWN (a reconciliation answer for a task nobody knows any more). DROPPED is
  also what an agent answers for a task the master believed live but it never saw.
- UNREACHABLE, UNKNOWN and LOST are *not the end of the story* in Mesos: when the
  partitioned agent re-registers it reports its tasks as they are, so a healed
  partition moves UNREACHABLE -> RUNNING (``PartitionTest.ReregisterSlavePartitionAware``),
  and, for non-partition-aware frameworks, LOST -> RUNNING (Mesos >= 1.5 keeps those
  tasks instead of killing them; marathon#3924 is users meeting it). So although LOST
  is in ``TERMINAL`` (Mesos releases its resources), we allow LOST, UNREACHABLE and
  UNKNOWN to go to any state an agent can report (STAGING, STARTING, RUNNING,
  KILLING or an end), and to each other. Only TASK_ERROR stays out of reach.
- The other terminal states (FINISHED, FAILED, KILLED, ERROR, DROPPED, GONE,
  GONE_BY_OPERATOR) go nowhere, not even to themselves: a second terminal update is a
  duplicate that the status update manager drops by uuid before asking.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from actors.errors import InvalidTransitionError

__all__ = [
    "TERMINAL",
    "TRANSITIONS",
    "Reason",
    "Source",
    "TaskState",
    "can_transition",
    "is_terminal",
    "transition",
]


class TaskState(enum.Enum):
    """The state of a task (Mesos' ``TaskState``)."""

    TASK_STAGING = 6
    """Initial: the master sent the task to an agent. Executors never send it."""
    TASK_STARTING = 0
    """The executor is starting the task."""
    TASK_RUNNING = 1
    TASK_KILLING = 8
    """Being killed; sent only to frameworks with the TASK_KILLING_STATE capability."""
    TASK_FINISHED = 2
    TASK_FAILED = 3
    TASK_KILLED = 4
    TASK_ERROR = 7
    """The task description is invalid; it was never launched."""
    TASK_LOST = 5
    """Lost sight of (frameworks that are not PARTITION_AWARE); may come back."""
    TASK_DROPPED = 9
    """A transient launch failure; the task never ran."""
    TASK_UNREACHABLE = 10
    """Its agent is partitioned away; may come back RUNNING."""
    TASK_GONE = 11
    """Its agent is gone and the task with it."""
    TASK_GONE_BY_OPERATOR = 12
    """An operator marked its agent gone."""
    TASK_UNKNOWN = 13
    """Nobody knows this task (a reconciliation answer)."""


_S = TaskState

TERMINAL: frozenset[TaskState] = frozenset(
    {
        _S.TASK_FINISHED,
        _S.TASK_FAILED,
        _S.TASK_KILLED,
        _S.TASK_ERROR,
        _S.TASK_LOST,
        _S.TASK_DROPPED,
        _S.TASK_GONE,
        _S.TASK_GONE_BY_OPERATOR,
    }
)
"""Mesos' ``isTerminalState``: the task holds no resources any more."""

_ENDS = frozenset(
    {
        _S.TASK_FINISHED,
        _S.TASK_FAILED,
        _S.TASK_KILLED,
        _S.TASK_LOST,
        _S.TASK_DROPPED,
        _S.TASK_UNREACHABLE,
        _S.TASK_GONE,
        _S.TASK_GONE_BY_OPERATOR,
        _S.TASK_UNKNOWN,
    }
)
"""Where any live task may go next: an end, or out of the master's sight."""

_LIVE = frozenset({_S.TASK_STAGING, _S.TASK_STARTING, _S.TASK_RUNNING, _S.TASK_KILLING})

TRANSITIONS: Mapping[TaskState, frozenset[TaskState]] = MappingProxyType(
    {
        _S.TASK_STAGING: _LIVE | _ENDS | {_S.TASK_ERROR},
        _S.TASK_STARTING: _ENDS | {_S.TASK_STARTING, _S.TASK_RUNNING, _S.TASK_KILLING},
        _S.TASK_RUNNING: _ENDS | {_S.TASK_RUNNING, _S.TASK_KILLING},
        _S.TASK_KILLING: _ENDS | {_S.TASK_KILLING},
        # Out of sight, not necessarily over: a re-registering agent reports the truth.
        _S.TASK_UNREACHABLE: _LIVE | _ENDS,
        _S.TASK_UNKNOWN: _LIVE | _ENDS,
        _S.TASK_LOST: _LIVE | _ENDS,
        _S.TASK_FINISHED: frozenset(),
        _S.TASK_FAILED: frozenset(),
        _S.TASK_KILLED: frozenset(),
        _S.TASK_ERROR: frozenset(),
        _S.TASK_DROPPED: frozenset(),
        _S.TASK_GONE: frozenset(),
        _S.TASK_GONE_BY_OPERATOR: frozenset(),
    }
)
"""``old -> {legal new states}`` for every state (see the module docstring)."""


def is_terminal(state: TaskState) -> bool:
    """True for Mesos' terminal states (the task's resources are free)."""
    return state in TERMINAL


def can_transition(old: TaskState, new: TaskState) -> bool:
    """Whether ``old -> new`` is a legal move."""
    return new in TRANSITIONS[old]


def transition(old: TaskState, new: TaskState) -> TaskState:
    """``new`` if ``old -> new`` is legal, else ``InvalidTransitionError``."""
    if new in TRANSITIONS[old]:
        return new
    if not TRANSITIONS[old]:
        why = f"{old.name} is terminal"
    elif new is _S.TASK_ERROR:
        why = "TASK_ERROR is only reachable from TASK_STAGING (a refused launch)"
    else:
        why = "task states only move forward"
    raise InvalidTransitionError("task state", old.name, new.name, why)


class Source(enum.Enum):
    """Who produced a status update (Mesos' ``TaskStatus.Source``, SLAVE -> AGENT)."""

    SOURCE_MASTER = 0
    SOURCE_AGENT = 1
    SOURCE_EXECUTOR = 2


class Reason(enum.Enum):
    """Why a task's state changed (Mesos' ``TaskStatus.Reason``, SLAVE -> AGENT).

    docs/task-state-reasons.md in Mesos says which states each reason goes with.
    """

    REASON_COMMAND_EXECUTOR_FAILED = 0
    REASON_CONTAINER_LAUNCH_FAILED = 21
    REASON_CONTAINER_LIMITATION = 19
    REASON_CONTAINER_LIMITATION_DISK = 20
    REASON_CONTAINER_LIMITATION_MEMORY = 8
    REASON_CONTAINER_PREEMPTED = 17
    REASON_CONTAINER_UPDATE_FAILED = 22
    REASON_MAX_COMPLETION_TIME_REACHED = 33
    REASON_EXECUTOR_REGISTRATION_TIMEOUT = 23
    REASON_EXECUTOR_REREGISTRATION_TIMEOUT = 24
    REASON_EXECUTOR_TERMINATED = 1
    REASON_EXECUTOR_UNREGISTERED = 2
    """Kept for completeness; Mesos no longer sends it."""
    REASON_FRAMEWORK_REMOVED = 3
    REASON_GC_ERROR = 4
    REASON_INVALID_FRAMEWORKID = 5
    REASON_INVALID_OFFERS = 6
    REASON_IO_SWITCHBOARD_EXITED = 27
    REASON_MASTER_DISCONNECTED = 7
    REASON_RECONCILIATION = 9
    REASON_RESOURCES_UNKNOWN = 18
    REASON_AGENT_DISCONNECTED = 10
    REASON_AGENT_DRAINING = 34
    REASON_AGENT_REMOVED = 11
    REASON_AGENT_REMOVED_BY_OPERATOR = 31
    REASON_AGENT_REREGISTERED = 32
    REASON_AGENT_RESTARTED = 12
    REASON_AGENT_UNKNOWN = 13
    REASON_TASK_KILLED_DURING_LAUNCH = 30
    REASON_TASK_CHECK_STATUS_UPDATED = 28
    REASON_TASK_HEALTH_CHECK_STATUS_UPDATED = 29
    REASON_TASK_GROUP_INVALID = 25
    REASON_TASK_GROUP_UNAUTHORIZED = 26
    REASON_TASK_INVALID = 14
    REASON_TASK_UNAUTHORIZED = 15
    REASON_TASK_UNKNOWN = 16
