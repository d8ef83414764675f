"""What this machine offers: Mesos' resource detection defaults, with psutil.

``AgentActor`` calls ``detect_resources(work_dir, given)`` once at start; the result
goes into its ``AgentInfo``. As in Mesos (``Containerizer::resources``), each resource
named in ``--resources`` replaces the detected one, and the rest is detected:

- ``cpus``: every CPU (fallback 1);
- ``mem`` (MB): total - 1 GB, or half of it below 2 GB (fallback 1 GB);
- ``disk`` (MB): the work_dir filesystem's size - 5 GB, or half of it below 10 GB
  (fallback 10 GB);
- ``ports``: ``[31000-32000]``.
"""

from __future__ import annotations

import os

import psutil

from actors.resources import Resources

__all__ = ["DEFAULT_PORTS", "default_disk_mb", "default_mem_mb", "detect_resources"]

DEFAULT_PORTS = "[31000-32000]"
_MB = 1024 * 1024
_GB = 1024 * _MB


def default_mem_mb(total_bytes: int) -> int:
    """Mesos: total - 1 GB when total >= 2 GB, else half of it."""
    usable = total_bytes - _GB if total_bytes >= 2 * _GB else total_bytes // 2
    return usable // _MB


def default_disk_mb(total_bytes: int) -> int:
    """Mesos: size - 5 GB when the filesystem has >= 10 GB, else half of it."""
    usable = total_bytes - 5 * _GB if total_bytes >= 10 * _GB else total_bytes // 2
    return usable // _MB


def _existing_parent(path: str) -> str:
    path = os.path.abspath(path)
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    return path


def detect_resources(work_dir: str, given: Resources | None = None) -> Resources:
    """The agent's total resources: ``given`` where it names a resource, detected elsewhere."""
    given = given if given is not None else Resources()
    named = given.names()
    detected: list[str] = []
    if "cpus" not in named:
        detected.append(f"cpus:{psutil.cpu_count() or 1}")
    if "mem" not in named:
        try:
            mem = default_mem_mb(psutil.virtual_memory().total)
        except (OSError, RuntimeError):
            mem = 1024
        detected.append(f"mem:{mem}")
    if "disk" not in named:
        try:
            disk = default_disk_mb(psutil.disk_usage(_existing_parent(work_dir)).total)
        except OSError:
            disk = 10 * 1024
        detected.append(f"disk:{disk}")
    if "ports" not in named:
        detected.append(f"ports:{DEFAULT_PORTS}")
    return given + Resources.parse(";".join(detected)) if detected else given
