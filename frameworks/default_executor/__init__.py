"""Meseta's default executor (Mesos' ``mesos-default-executor``): runs task groups.

The agent starts it (``python -m frameworks.default_executor``) for a LAUNCH_GROUP whose
``ExecutorInfo`` has ``type=DEFAULT`` and no command. It speaks the v1 executor HTTP
API, and runs each task of a group as a process group of its own in its own sandbox
directory. Modules:

- ``client``: the v1 executor API client (environment, calls, the RecordIO stream);
- ``book``: the pure bookkeeping and rules (what a task's end means for its group);
- ``executor``: ``DefaultExecutor``, the event handling, processes and kills.
"""

from frameworks.default_executor.book import TaskBook, TaskRun, outcome
from frameworks.default_executor.client import CallRefused, Endpoint, events, parse_duration
from frameworks.default_executor.executor import DefaultExecutor

__all__ = ["CallRefused", "DefaultExecutor", "Endpoint", "TaskBook", "TaskRun", "events",
           "outcome", "parse_duration"]

MODULE = "frameworks.default_executor"
"""What the agent runs (``python -m``)."""
