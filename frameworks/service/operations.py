"""App operations: what the HTTP API (``frameworks.service.http_api``) asks the scheduler.

``AppOperations`` wraps a ``ServiceScheduler``: create, change (scale, new config),
restart and remove apps, and read apps and tasks as Marathon's JSON. Each operation
runs under the scheduler's lock, saves the state, then lets the scheduler converge
(kill what must go, revive offers when something must launch). A change of anything
but ``instances`` is a new version, which the scheduler rolls out instance by instance;
``restart`` makes a new version of the same config. Errors: ``SpecError`` (bad spec),
``AppNotFound``, ``AppConflict`` (the id exists, or a body's id names another app).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from frameworks.service.planner import Backoff, live
from frameworks.service.scheduler import ServiceScheduler
from frameworks.service.spec import AppSpec, SpecError, config_of, parse_app
from frameworks.service.tasks import is_ready
from transport import MesetaError

__all__ = ["AppConflict", "AppNotFound", "AppOperations"]


class AppNotFound(MesetaError):
    """No app has that id."""


class AppConflict(MesetaError):
    """The app exists already (create), or the body names another app (change)."""


class AppOperations:
    """The scheduler's app operations, thread-safe; see the module docstring."""

    def __init__(self, scheduler: ServiceScheduler) -> None:
        self.scheduler = scheduler

    def _app(self, app_id: str) -> AppSpec:
        app = self.scheduler.apps.get(app_id.strip("/"))
        if app is None:
            raise AppNotFound(f"App '/{app_id.strip('/')}' does not exist")
        return app

    def app_json(self, app: AppSpec) -> dict[str, Any]:
        """Marathon's app with its task counts."""
        tasks = live(app, list(self.scheduler.tasks.values()))
        out = app.to_json()
        out["id"] = "/" + app.id
        out.update(tasksRunning=sum(1 for t in tasks if t.state is not None
                                    and t.state.name == "TASK_RUNNING"),
                   tasksStaged=sum(1 for t in tasks if t.state is None
                                   or t.state.name in ("TASK_STAGING", "TASK_STARTING")),
                   tasksHealthy=sum(1 for t in tasks if app.health_checks and is_ready(t, app)),
                   tasksUpToDate=sum(1 for t in tasks if t.version == app.version),
                   tasksReady=sum(1 for t in tasks if is_ready(t, app)))
        return out

    def list_apps(self) -> list[dict[str, Any]]:
        with self.scheduler.lock:
            return [self.app_json(a) for _, a in sorted(self.scheduler.apps.items())]

    def get_app(self, app_id: str) -> dict[str, Any]:
        with self.scheduler.lock:
            return self.app_json(self._app(app_id))

    def app_tasks(self, app_id: str) -> list[dict[str, Any]]:
        with self.scheduler.lock:
            app = self._app(app_id)
            return [t.to_json() for t in self.scheduler.tasks.values() if t.app_id == app.id]

    def create_app(self, data: Any) -> dict[str, Any]:
        app = parse_app(data)
        with self.scheduler.lock:
            if app.id in self.scheduler.apps:
                raise AppConflict(f"An app with id [/{app.id}] already exists.")
            result = self._put(replace(app, version=self.scheduler.new_version()))
            return {**self.app_json(self.scheduler.apps[app.id]), **result}

    def update_app(self, app_id: str, data: Any) -> dict[str, Any]:
        """Marathon's PUT: the fields given replace the app's (a missing app is created)."""
        if not isinstance(data, dict):
            raise SpecError("the body must be a JSON object")
        app_id = app_id.strip("/")
        if str(data.get("id", app_id)).strip("/") != app_id:
            raise AppConflict(f"the body's id {data.get('id')!r} is not /{app_id}")
        with self.scheduler.lock:
            old = self.scheduler.apps.get(app_id)
            base = old.to_json() if old is not None else {}
            app = parse_app({**base, **data, "id": app_id})
            if old is not None and config_of(app) == config_of(old):
                version = old.version
            else:
                version = self.scheduler.new_version()
            return self._put(replace(app, version=version))

    def restart_app(self, app_id: str) -> dict[str, Any]:
        with self.scheduler.lock:
            app = self._app(app_id)
            return self._put(replace(app, version=self.scheduler.new_version()))

    def delete_app(self, app_id: str) -> dict[str, Any]:
        with self.scheduler.lock:
            app = self._app(app_id)
            del self.scheduler.apps[app.id]
            self.scheduler.backoffs.pop(app.id, None)
            return self._changed(self.scheduler.new_version())

    def _put(self, app: AppSpec) -> dict[str, Any]:
        old = self.scheduler.apps.get(app.id)
        self.scheduler.apps[app.id] = app
        if old is None or old.version != app.version:
            self.scheduler.backoffs[app.id] = Backoff()
        return self._changed(app.version)

    def _changed(self, version: str) -> dict[str, Any]:
        self.scheduler.save()
        self.scheduler.converge()
        return {"version": version, "deploymentId": str(uuid.uuid4())}
