"""``MaintenanceHandlers``: the master's maintenance routes, inverse-offer answers and timer.

A base of ``MasterActor`` over ``AgentHandlers`` (it uses the registry and agent removal
there). Decisions are ``actors.master.maintenance``'s (requests checked by
``maintenance_requests``); every change goes through the
registry first (``UpdateSchedule`` / ``StartMaintenance`` / ``StopMaintenance``, applied by
the ``RegistrarWorker``), and the HTTP answer waits for it (``HttpPending``), as Mesos'
``registrar->apply(...).then(...)``. Routes (readwrite realm, ``main.READWRITE_PATHS``):

- ``/maintenance/schedule``: GET the schedule; POST a new one (400 with the reason if
  invalid); scheduled machines are DRAINING;
- ``/maintenance/status``: GET the DRAINING machines with the frameworks' answers to
  their inverse offers, and the DOWN machines;
- ``/machine/down``: POST DRAINING machines: DOWN; their agents are told ``Shutdown`` and
  removed (their tasks lost), and agents of a DOWN machine may not (re-)register;
- ``/machine/up``: POST DOWN machines: UP again, out of the schedule.

ACLs (``--acls``): ``update_maintenance_schedules``, ``get_maintenance_schedules``,
``get_maintenance_statuses`` (no object) and ``start_maintenances`` /
``stop_maintenances`` (each machine's hostname, or ip without one): 403.

Schedulers answer inverse offers with ``AcceptInverseOffers`` / ``DeclineInverseOffers``;
every ``allocation_interval`` (and at once after a schedule change) the maintenance timer
sends the inverse offers due (``maintenance.inverse_offers_due``).
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from actors.master import maintenance
from actors.master import maintenance_requests as requests
from actors.master.agent_handlers import AgentHandlers
from actors.master.books import Outbox
from actors.master.frameworks import FrameworkRecord
from actors.messages.agent import Shutdown
from actors.messages.framework import AcceptInverseOffers, DeclineInverseOffers
from actors.messages.info import AgentInfo
from actors.messages.maintenance import InverseOfferState, MachineID, MachineMode, Schedule
from actors.registry import OperationRefused, StartMaintenance, StopMaintenance, UpdateSchedule
from actors.registry.worker import Outcome
from transport import PID, HttpPending, HttpRequest, HttpResponse, Timer, handles

__all__ = ["MaintenanceHandlers"]

_log = structlog.get_logger("meseta.master")


def _method(request: HttpRequest, *allowed: str) -> HttpResponse | None:
    if request.method in allowed:
        return None
    return HttpResponse.text(
        f"Expecting one of {{ {', '.join(repr(m) for m in allowed)} }}, "
        f"but received '{request.method}'", 405)


def _forbidden(principal: str | None, what: str) -> HttpResponse:
    return HttpResponse.text(f"Forbidden: '{principal or 'anonymous'}' may not {what}", 403)


class MaintenanceHandlers(AgentHandlers):
    """See the module docstring; ``MasterActor`` calls ``_init_maintenance``."""

    def _init_maintenance(self) -> None:
        self._maintenance_timer: Timer | None = None

    def _start_maintenance(self) -> None:
        """From ``on_start``: the routes and the inverse-offer timer."""
        routes: dict[str, Callable[[HttpRequest], HttpResponse]] = {
            "/maintenance/schedule": self._schedule_route,
            "/maintenance/status": self._status_route,
            "/machine/down": self._down_route,
            "/machine/up": self._up_route,
        }
        for path, handler in routes.items():
            self.route(path, handler)
        self._maintenance_timer = self.delay(self.config.allocation_interval,
                                             self._maintenance_tick)

    def _stop_maintenance(self) -> None:
        if self._maintenance_timer is not None:
            self._maintenance_timer.cancel()

    def _maintenance_tick(self) -> None:
        self._maintenance_timer = self.delay(self.config.allocation_interval,
                                             self._maintenance_tick)
        self._send_inverse_offers()

    def _send_inverse_offers(self) -> None:
        if not self.elected or not self.recovered or not self.books.maintenance.machines:
            return
        out = Outbox()
        made = maintenance.inverse_offers_due(self.books, self.node.clock.now(), out)
        if made:
            _log.info("inverse offers sent", count=len(made),
                      frameworks=sorted({i.framework_id for i in made}))
        self._apply(out)

    # --- registration gate --------------------------------------------------------------

    def _machine_down(self, frm: PID, info: AgentInfo) -> bool:
        """An agent of a DOWN machine may not register (Mesos): it hears ``Shutdown``."""
        machine_id = MachineID(hostname=info.hostname.lower(), ip=frm.host)
        if self.books.maintenance.mode(machine_id) is not MachineMode.DOWN:
            return False
        _log.warning("refusing registration of an agent on a DOWN machine", pid=str(frm),
                     machine=str(machine_id))
        self.send(frm, Shutdown(message="Machine is `DOWN`"))
        return True

    # --- inverse offers -----------------------------------------------------------------

    def _answer(self, frm: PID, framework_id: str, ids: tuple[str, ...],
                state: InverseOfferState, filters: object, kind: str) -> None:
        from actors.master import tasks
        from actors.messages.offers import Filters

        framework: FrameworkRecord | None = tasks.scheduler_of(self.books, frm, framework_id,
                                                               kind)
        if framework is None or not isinstance(filters, Filters):
            return
        answered = maintenance.answer(self.books, framework, ids, state, filters,
                                      self.node.clock.now())
        _log.info("inverse offers answered", framework_id=framework.id, answer=state.name,
                  inverse_offer_ids=answered, ignored=len(ids) - len(answered))

    @handles(AcceptInverseOffers)
    def _on_accept_inverse_offers(self, frm: PID, msg: AcceptInverseOffers) -> None:
        self._answer(frm, msg.framework_id, msg.inverse_offer_ids, InverseOfferState.ACCEPT,
                     msg.filters, "AcceptInverseOffers")

    @handles(DeclineInverseOffers)
    def _on_decline_inverse_offers(self, frm: PID, msg: DeclineInverseOffers) -> None:
        self._answer(frm, msg.framework_id, msg.inverse_offer_ids, InverseOfferState.DECLINE,
                     msg.filters, "DeclineInverseOffers")

    # --- routes -------------------------------------------------------------------------

    def _gate(self, request: HttpRequest) -> HttpResponse | None:
        """What a non-leader or a leader still recovering answers instead."""
        if not self.elected:
            from actors.master.actor import MasterActor
            from actors.master.http import redirect

            assert isinstance(self, MasterActor)
            return redirect(self)
        if not self.recovered:
            return HttpResponse.text("Registry not recovered yet", 503)
        return None

    def _schedule_route(self, request: HttpRequest) -> HttpResponse:
        refused = _method(request, "GET", "POST") or self._gate(request)
        if refused is not None:
            return refused
        acls, principal = self.books.acls, request.principal
        if request.method == "GET":
            if not acls.authorized("get_maintenance_schedules", principal, None):
                return _forbidden(principal, "view the maintenance schedule")
            return HttpResponse.json(maintenance.schedule_json(self.books.maintenance))
        try:
            schedule = requests.parse_schedule(request.body)
        except ValueError as exc:
            return HttpResponse.text(str(exc), 400)
        problem = requests.validate_schedule(schedule, self.books.maintenance.machines)
        if problem is not None:
            return HttpResponse.text(problem, 400)
        if not acls.authorized("update_maintenance_schedules", principal, None):
            return _forbidden(principal, "update the maintenance schedule")
        pending = HttpPending()
        self._store(UpdateSchedule(schedule), self._schedule_stored, schedule, pending)
        return HttpResponse.later(pending)

    def _schedule_stored(self, outcome: Outcome, schedule: Schedule,
                         pending: HttpPending) -> None:
        if isinstance(outcome, OperationRefused):
            pending.complete(HttpResponse.text(str(outcome), 400))
            return
        out = Outbox()
        maintenance.apply_schedule(self.books, schedule, out)
        self._apply(out)
        _log.info("maintenance schedule updated", windows=len(schedule.windows),
                  machines=len(self.books.maintenance.machines))
        pending.complete(HttpResponse.text("", 200))
        self._send_inverse_offers()

    def _status_route(self, request: HttpRequest) -> HttpResponse:
        refused = _method(request, "GET") or self._gate(request)
        if refused is not None:
            return refused
        if not self.books.acls.authorized("get_maintenance_statuses", request.principal, None):
            return _forbidden(request.principal, "view the maintenance status")
        return HttpResponse.json(maintenance.status_json(self.books))

    def _machines_request(self, request: HttpRequest, action: str,
                          validate: Callable[[tuple[MachineID, ...],
                                              maintenance.MaintenanceBook], str | None]
                          ) -> tuple[MachineID, ...] | HttpResponse:
        refused = _method(request, "POST") or self._gate(request)
        if refused is not None:
            return refused
        try:
            ids = requests.parse_machine_ids(request.body)
        except ValueError as exc:
            return HttpResponse.text(str(exc), 400)
        problem = validate(ids, self.books.maintenance)
        if problem is not None:
            return HttpResponse.text(problem, 400)
        for machine_id in ids:
            if not self.books.acls.authorized(action, request.principal,
                                              machine_id.hostname or machine_id.ip):
                return _forbidden(request.principal, f"{action} on machine '{machine_id}'")
        return ids

    def _down_route(self, request: HttpRequest) -> HttpResponse:
        ids = self._machines_request(request, "start_maintenances", requests.validate_down)
        if isinstance(ids, HttpResponse):
            return ids
        pending = HttpPending()
        self._store(StartMaintenance(ids), self._down_stored, ids, pending)
        return HttpResponse.later(pending)

    def _down_stored(self, outcome: Outcome, ids: tuple[MachineID, ...],
                     pending: HttpPending) -> None:
        if isinstance(outcome, OperationRefused):
            pending.complete(HttpResponse.text(str(outcome), 400))
            return
        for agent in maintenance.apply_down(self.books, ids):
            _log.warning("machine down: removing its agent", agent_id=agent.id,
                         machine=str(maintenance.machine_of(agent)))
            self.send(agent.pid, Shutdown(message="Operator initiated 'Machine DOWN'"))
            self._remove_durably(agent)
        out = Outbox()
        maintenance.forget(self.books, out)
        self._apply(out)
        pending.complete(HttpResponse.text("", 200))

    def _up_route(self, request: HttpRequest) -> HttpResponse:
        ids = self._machines_request(request, "stop_maintenances", requests.validate_up)
        if isinstance(ids, HttpResponse):
            return ids
        pending = HttpPending()
        self._store(StopMaintenance(ids), self._up_stored, ids, pending)
        return HttpResponse.later(pending)

    def _up_stored(self, outcome: Outcome, ids: tuple[MachineID, ...],
                   pending: HttpPending) -> None:
        if isinstance(outcome, OperationRefused):
            pending.complete(HttpResponse.text(str(outcome), 400))
            return
        maintenance.apply_up(self.books, ids)
        _log.info("machines up", machines=[str(m) for m in ids])
        pending.complete(HttpResponse.text("", 200))
