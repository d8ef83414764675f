"""Sandboxes: the directory each executor run lives in, laid out as in the contract.

``<work_dir>/agents/<agent_id>/frameworks/<framework_id>/executors/<executor_id>/runs/<run_id>``
with a ``latest`` symlink beside the runs and ``stdout`` / ``stderr`` files inside,
where the launcher points the executor's (and so its tasks') output. The agent creates
one per executor launch; the executor finds it in ``MESETA_SANDBOX``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["Sandbox", "create_sandbox", "executor_dir", "run_dir"]


def executor_dir(work_dir: str, agent_id: str, framework_id: str, executor_id: str) -> str:
    return os.path.join(work_dir, "agents", agent_id, "frameworks", framework_id,
                        "executors", executor_id)


def run_dir(work_dir: str, agent_id: str, framework_id: str, executor_id: str,
            run_id: str) -> str:
    return os.path.join(executor_dir(work_dir, agent_id, framework_id, executor_id),
                        "runs", run_id)


@dataclass(frozen=True, slots=True)
class Sandbox:
    """One executor run's directory and its output files."""

    directory: str
    stdout: str
    stderr: str


def create_sandbox(work_dir: str, agent_id: str, framework_id: str, executor_id: str,
                   run_id: str) -> Sandbox:
    """Create the run directory, its empty ``stdout``/``stderr`` and the ``latest`` link."""
    directory = run_dir(work_dir, agent_id, framework_id, executor_id, run_id)
    os.makedirs(directory, exist_ok=True)
    stdout, stderr = os.path.join(directory, "stdout"), os.path.join(directory, "stderr")
    for path in (stdout, stderr):
        with open(path, "ab"):
            pass
    latest = os.path.join(os.path.dirname(directory), "latest")
    tmp = f"{latest}.{run_id}.tmp"
    try:
        os.symlink(run_id, tmp)
        os.replace(tmp, latest)
    except OSError:
        pass  # a missing convenience link must not fail the launch
    return Sandbox(directory, stdout, stderr)
