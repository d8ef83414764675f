"""``SandboxManager``: the agent's sandbox side -- fetching, garbage collection, file API.

``ExecutorManager`` (``running``) inherits it; ``AgentActor`` calls ``_start_sandboxes``
/ ``_stop_sandboxes`` from ``on_start`` / ``on_stop``. It owns:

- the fetcher's worker (``background``): ``_fetch(executor, then)`` runs
  ``fetcher.fetch_all`` for the executor's ``CommandInfo.uris`` and posts
  ``then(error)`` back; ``running`` launches the executor, or fails its tasks;
- garbage collection (``gc``): ``_gc_run`` / ``_gc_framework`` schedule the work and
  meta directories of a finished executor run / an idle framework for
  ``now + --gc_delay``; ``_gc_unschedule`` takes back a framework's and executor's
  directories when a new run of theirs starts. A timer removes what is due; every
  ``--disk_watch_interval`` the disk is measured and older sandboxes pruned
  (``gc.max_allowed_age``). A path holding a live run's sandbox is never removed: it
  is checked just before, and the removal is a rename into ``<work_dir>/.trash`` here
  and a delete on the GC worker;
- at start, after recovery, what an earlier life left that no record here names
  (``gc.unknown_dirs``) is scheduled by its modification time;
- the ``/files/browse``, ``/files/read`` and ``/files/download`` routes (``files``).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from typing import Any

import structlog

from actors.agent import checkpoint as meta
from actors.agent import files
from actors.agent.background import Background
from actors.agent.config import AgentConfig
from actors.agent.executors import ExecutorRecord, FrameworkRecord
from actors.agent.fetcher import fetch_all
from actors.agent.gc import (
    GcSchedule,
    disk_usage,
    max_allowed_age,
    remove_tree,
    trash,
    unknown_dirs,
)
from actors.agent.gc import trash_dir as gc_trash_dir
from actors.agent.sandbox import executor_dir
from transport import HttpRequest, HttpResponse, Process, Timer

__all__ = ["SandboxManager"]

_log = structlog.get_logger("meseta.agent.sandboxes")


class SandboxManager(Process):
    """See the module docstring; ``AgentActor`` sets the attributes declared here."""

    config: AgentConfig
    agent_id: str
    frameworks: dict[str, FrameworkRecord]
    completed_frameworks: deque[FrameworkRecord]
    gc: GcSchedule
    _fetching: set[ExecutorRecord]
    _fetcher: Background
    _remover: Background
    _gc_timer: Timer | None
    _gc_at: float | None
    _disk_timer: Timer | None

    def _init_sandboxes(self) -> None:
        self.gc = GcSchedule()
        self._fetching = set()
        self._fetcher = Background(self._post, threads=2, name="meseta-fetcher")
        self._remover = Background(self._post, threads=1, name="meseta-gc")
        self._gc_timer = None
        self._gc_at = None
        self._disk_timer = None

    def _start_sandboxes(self) -> None:
        self._fetcher.start()
        self._remover.start()
        for name, handler in (("/files/read", files.read), ("/files/browse", files.browse),
                              ("/files/download", files.download)):
            self.route(name, self._files_route(handler))
        leftovers = gc_trash_dir(self.config.work_dir)
        if os.path.isdir(leftovers):  # a crash in the middle of a removal
            self._remover.submit(remove_tree, (leftovers,), self._removed)
        self._disk_timer = self.delay(self.config.disk_watch_interval, self._check_disk)
        self._gc_unknown()

    def _gc_unknown(self) -> None:
        """Schedule what an earlier life left and nothing here knows of, by its mtime."""
        known = set()
        for framework in [*self.frameworks.values(), *self.completed_frameworks]:
            for executor in [*framework.executors.values(), *framework.completed_executors]:
                known.add(os.path.abspath(executor.sandbox.directory))
                known.add(os.path.abspath(self._meta_run(executor)))
        work_dir = os.path.abspath(self.config.work_dir)
        for path in unknown_dirs((os.path.join(work_dir, "agents"), meta.agents_dir(work_dir)),
                                 self.agent_id, known):
            if path in self.gc:
                continue
            try:
                mtime = os.stat(path).st_mtime
            except OSError:
                continue
            self.gc.schedule(path, mtime, self.config.gc_delay)
        self._arm_gc_timer()

    def _stop_sandboxes(self) -> None:
        for timer in (self._gc_timer, self._disk_timer):
            if timer is not None:
                timer.cancel()
        self._fetcher.stop()
        self._remover.stop()

    # --- files ------------------------------------------------------------------------

    def _files_route(self, handler: Any) -> Any:
        def route(request: HttpRequest) -> HttpResponse:
            known = [*self.completed_frameworks, *self.frameworks.values()]
            roots = files.sandbox_roots(known)
            acls = self.config.security.acls
            denied = files.denied_sandboxes(known, lambda user: acls.authorized(
                "access_sandboxes", request.principal, user)) if acls.restrictive else frozenset()
            response: HttpResponse = handler(request.query, roots, denied)
            return response
        return route

    # --- fetching ---------------------------------------------------------------------

    def _fetch(self, executor: ExecutorRecord, then: Any) -> None:
        """Fetch the executor's URIs into its sandbox; ``then(error or None)`` here."""
        command = executor.info.command
        uris = command.uris if command is not None else ()
        self._fetching.add(executor)

        def done(result: Any) -> None:
            if executor not in self._fetching:
                return  # aborted meanwhile (killed, timed out): it is terminated already
            self._fetching.discard(executor)
            then(result if result is None else str(result))

        self._fetcher.submit(fetch_all, (uris, executor.sandbox.directory,
                                         executor.sandbox.stderr), done)

    # --- garbage collection -----------------------------------------------------------

    def _meta_run(self, executor: ExecutorRecord) -> str:
        return meta.run_dir(self.config.work_dir, self.agent_id, executor.framework_id,
                            executor.executor_id, executor.run_id)

    def _gc_schedule(self, *paths: str) -> None:
        now = self.now()
        for path in paths:
            try:
                os.utime(path)  # Mesos touches it: the delay counts from now
            except OSError:
                continue  # not there (e.g. no meta for a non-checkpointing framework)
            self.gc.schedule(path, now, self.config.gc_delay)
        self._arm_gc_timer()

    def _gc_run(self, framework: FrameworkRecord, executor: ExecutorRecord) -> None:
        """A run is over and forgotten: its sandbox and meta directories go, and the
        executor's directories with them (the framework has no such executor now)."""
        work_executor = os.path.dirname(os.path.dirname(executor.sandbox.directory))
        meta_run = self._meta_run(executor)
        self._gc_schedule(executor.sandbox.directory, meta_run)
        if executor.executor_id not in framework.executors:
            self._gc_schedule(work_executor, os.path.dirname(os.path.dirname(meta_run)))

    def _gc_framework(self, framework: FrameworkRecord) -> None:
        work = os.path.dirname(os.path.dirname(executor_dir(
            self.config.work_dir, self.agent_id, framework.framework_id, "-")))
        self._gc_schedule(work, meta.framework_dir(self.config.work_dir, self.agent_id,
                                                   framework.framework_id))

    def _gc_unschedule(self, framework_id: str, executor_id: str) -> None:
        work = executor_dir(self.config.work_dir, self.agent_id, framework_id, executor_id)
        meta_executor = meta.executor_dir(self.config.work_dir, self.agent_id, framework_id,
                                          executor_id)
        for path in (work, os.path.dirname(os.path.dirname(work)), meta_executor,
                     os.path.dirname(os.path.dirname(meta_executor))):
            self.gc.unschedule(path)

    def _arm_gc_timer(self) -> None:
        when = self.gc.next_removal()
        if self._gc_timer is not None:
            if when == self._gc_at:
                return
            self._gc_timer.cancel()
            self._gc_timer = None
        self._gc_at = when
        if when is not None:
            self._gc_timer = self.delay(max(0.0, when - self.now()), self._gc_due)

    def _gc_due(self) -> None:
        self._gc_timer = None
        self._remove(self.gc.due(self.now()))
        self._arm_gc_timer()

    def _check_disk(self) -> None:
        self._disk_timer = self.delay(self.config.disk_watch_interval, self._check_disk)
        try:
            usage = disk_usage(self.config.work_dir)
        except OSError as exc:
            _log.warning("cannot measure the work_dir's disk", error=str(exc))
            return
        age = max_allowed_age(self.config.gc_delay, self.config.gc_disk_headroom, usage)
        pruned = self.gc.prune(self.now(), age)
        if pruned:
            _log.info("disk usage: pruning sandboxes", usage=f"{usage:.1%}",
                      max_allowed_age=f"{age:.0f}s", paths=len(pruned))
        self._remove(pruned)
        self._arm_gc_timer()

    def _live_paths(self) -> Iterator[str]:
        for framework in self.frameworks.values():
            for executor in framework.executors.values():
                yield os.path.abspath(executor.sandbox.directory)
                yield os.path.abspath(self._meta_run(executor))

    def _remove(self, paths: list[str]) -> None:
        if not paths:
            return
        live = list(self._live_paths())
        for path in paths:
            held = os.path.abspath(path)
            if any(p == held or p.startswith(held + os.sep) for p in live):
                _log.info("not collecting a directory in use", path=path)
                continue
            try:
                moved = trash(path, self.config.work_dir)
            except OSError as exc:
                _log.warning("cannot collect a directory", path=path, error=str(exc))
                continue
            if moved is not None:
                _log.debug("collecting", path=path)
                self._remover.submit(remove_tree, (moved,), self._removed)

    def _removed(self, result: Any) -> None:
        if isinstance(result, Exception):
            _log.warning("garbage collection failed", error=str(result))
