"""Resource usage of process trees through psutil: what ``/monitor/statistics`` reports.

The containerizer's watchdog thread calls ``sample_trees`` once per tick for every
container (never the agent's actor thread): one pass over ``/proc`` builds the
parent -> children map (``children_map``), then each executor's tree is summed
(``tree_usage``: RSS, user and system CPU time including reaped children's, processes,
threads). That costs one ``/proc/<pid>/{stat,statm,status}`` read per process per
tick, not one scan of ``/proc`` per executor. ``tree_pss`` is the dearer, fairer
measure the ``posix/mem`` watchdog confirms an over-limit RSS with.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable
from dataclasses import dataclass

import psutil

__all__ = ["TreeUsage", "children_map", "signal_tree", "tree_pids", "tree_pss", "tree_usage"]


@dataclass(frozen=True, slots=True)
class TreeUsage:
    """The sum over a process tree (RSS in bytes, CPU times in seconds)."""

    rss_bytes: int
    user_secs: float
    system_secs: float
    processes: int
    threads: int


def children_map() -> dict[int, list[int]]:
    """Every live process's children, from one pass over ``/proc``."""
    out: dict[int, list[int]] = {}
    for proc in psutil.process_iter(["ppid"]):
        ppid = proc.info.get("ppid")
        if ppid is not None:
            out.setdefault(ppid, []).append(proc.pid)
    return out


def tree_pids(root: int, children: dict[int, list[int]]) -> list[int]:
    """``root`` and its descendants (root first)."""
    out, stack, seen = [], [root], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        out.append(pid)
        stack.extend(children.get(pid, ()))
    return out


def tree_usage(pids: Iterable[int]) -> TreeUsage | None:
    """Sum the usage of ``pids``; None when none of them is alive any more."""
    rss, user, system, processes, threads = 0, 0.0, 0.0, 0, 0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            with proc.oneshot():
                if proc.status() == psutil.STATUS_ZOMBIE:
                    continue
                mem = proc.memory_info()
                times = proc.cpu_times()
                nthreads = proc.num_threads()
        except psutil.Error:
            continue
        rss += mem.rss
        user += times.user + times.children_user
        system += times.system + times.children_system
        processes += 1
        threads += nthreads
    if processes == 0:
        return None
    return TreeUsage(rss, user, system, processes, threads)


def tree_pss(pids: Iterable[int]) -> int:
    """The tree's proportional set size (``smaps_rollup``; ~1 ms a process, so only
    asked for a tree whose RSS is over its limit: see ``containerizer``)."""
    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_full_info().pss
        except (psutil.Error, AttributeError):
            continue
    return total


def signal_tree(pids: Iterable[int], sig: signal.Signals) -> None:
    """Send ``sig`` to each pid (gone ones are skipped)."""
    for pid in pids:
        try:
            os.kill(pid, sig)
        except OSError:
            pass
