"""How a task's command ended, in words (Mesos' ``WSTRINGIFY``), for the built-in executors.

``frameworks.command_executor`` and ``frameworks.default_executor`` put it in the
message of a task's terminal update.
"""

from __future__ import annotations

import signal

__all__ = ["describe_exit"]


def describe_exit(returncode: int) -> str:
    """``Command exited with status 3`` / ``Command terminated with signal SIGTERM``
    (``returncode`` as ``subprocess`` gives it: negative for a signal)."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        return f"Command terminated with signal {name}"
    return f"Command exited with status {returncode}"
