"""The master's security handlers: authentication exchanges, registration gates, rate limits.

A base class of ``MasterActor`` (as ``agent_handlers``). ``_init_security`` builds
``self.authentication`` (``actors.master.authentication``: ``principal_of(pid)`` is THE
way to ask who sent a message) and the ``--rate_limits`` limiters.

- ``Authenticate`` ... ``AuthenticationStep``: answered by ``Authentication.handle``.
- ``_framework_refused`` / ``_agent_refused``: the registration handlers ask them
  first (``--authenticate_frameworks`` gates driver frameworks only: HTTP ones have
  ``--authenticate_http_frameworks``, as in Mesos); a framework refused hears
  ``FrameworkError`` (Mesos' texts), an agent refused
  is logged and ignored (as Mesos: it keeps retrying, which changes nothing until its
  credential or key is fixed).
- ``_dispatch``: a message from a registered framework whose principal has a limit
  goes through that principal's ``Limiter``: handled now, held until its turn (a timer
  on the node's clock), or, past ``capacity``, dropped with a ``FrameworkError``.
  Counted per principal: ``frameworks/<principal>/messages_received`` and
  ``messages_processed`` (Mesos' metrics).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import structlog

from actors.master.authentication import Authentication
from actors.master.frameworks import is_http_scheduler
from actors.master.plumbing import MasterProcess
from actors.master.rate_limits import Limiter, RateLimits, capacity_exceeded
from actors.messages.authentication import (
    Authenticate,
    AuthenticationStart,
    AuthenticationStep,
)
from actors.messages.framework import FrameworkError
from actors.messages.info import FrameworkInfo
from transport import PID, Timer, handles
from transport.codec import message_name

__all__ = ["SecurityHandlers"]

_log = structlog.get_logger("meseta.master")


class SecurityHandlers(MasterProcess):
    """See the module docstring; ``MasterActor`` calls ``_init_security``."""

    def _init_security(self) -> None:
        self.authentication = Authentication(self.config.credentials, self.node.principal_of)
        self.rate_limits = (RateLimits.parse(self.config.rate_limits)
                            if self.config.rate_limits else None)
        self.principal_messages: Counter[tuple[str, str]] = Counter()
        """(principal, "messages_received" | "messages_processed") -> count."""
        self._release_timers: dict[int, Timer] = {}

    def principal_of(self, pid: PID) -> str | None:
        """Who ``pid`` is, authenticated (``Authentication.principal_of``)."""
        return self.authentication.principal_of(pid)

    def _forget_principal(self, pid: PID) -> None:
        self.authentication.forget(pid)

    def framework_principal(self, framework_id: str) -> str | None:
        """The authenticated principal of a registered framework's scheduler, or ``None``."""
        framework = self.books.frameworks.get(framework_id)
        return None if framework is None or framework.pid is None else self.principal_of(
            framework.pid)

    def agent_principal(self, agent_id: str) -> str | None:
        """The authenticated principal of a registered agent, or ``None``."""
        agent = self.books.agents.registered.get(agent_id)
        return None if agent is None else self.principal_of(agent.pid)

    # --- authentication ---------------------------------------------------------------

    @handles(Authenticate, AuthenticationStart, AuthenticationStep)
    def _on_authentication(self, frm: PID, msg: Any) -> None:
        reply = self.authentication.handle(frm, msg)
        if reply is not None:
            if type(reply).__name__ == "AuthenticationFailed":
                _log.warning("authentication refused", frm=str(frm), reason=reply.reason)
            elif type(reply).__name__ == "AuthenticationCompleted":
                _log.info("authenticated", frm=str(frm), principal=self.principal_of(frm))
                self.link(frm)  # its connection breaking ends the authentication
            self.send(frm, reply)

    def _framework_refused(self, frm: PID, info: FrameworkInfo) -> bool:
        # --authenticate_frameworks is for driver frameworks; an HTTP one is authenticated
        # by its realm, --authenticate_http_frameworks (Mesos), before it gets here.
        required = self.config.authenticate_frameworks and not is_http_scheduler(frm)
        why = self.authentication.framework_refusal(frm, info, required)
        if why is None:
            return False
        _log.warning("framework refused", frm=str(frm), reason=why)
        self.send(frm, FrameworkError(message=why))
        return True

    def _agent_refused(self, frm: PID) -> bool:
        why = self.authentication.agent_refusal(frm, self.config.authenticate_agents)
        if why is not None:
            _log.warning(why)
            self.counters.dropped_messages += 1
        return why is not None

    # --- rate limits ------------------------------------------------------------------

    def _dispatch(self, frm: PID, msg: Any, ctx: Any) -> None:
        if self.rate_limits is None:
            super()._dispatch(frm, msg, ctx)
            return
        framework = self.books.frameworks.by_pid(frm)
        principal = framework.info.principal if framework is not None else ""
        limiter = self.rate_limits.limiter_for(principal or None) if framework else None
        if principal:
            self.principal_messages[principal, "messages_received"] += 1
        if limiter is not None:
            verdict = limiter.offer(self.node.clock.now(), (frm, msg, ctx, principal))
            if verdict == "queued":
                self._release_later(limiter)
                return
            if verdict == "dropped":
                self._capacity_exceeded(frm, msg, limiter)
                return
        self._process(frm, msg, ctx, principal)

    def _process(self, frm: PID, msg: Any, ctx: Any, principal: str) -> None:
        super()._dispatch(frm, msg, ctx)
        if principal:
            self.principal_messages[principal, "messages_processed"] += 1

    def _release_later(self, limiter: Limiter[Any]) -> None:
        due = limiter.next_due()
        if due is None or id(limiter) in self._release_timers:
            return
        delay = max(0.0, due - self.node.clock.now())
        self._release_timers[id(limiter)] = self.delay(delay, self._release, limiter)

    def _release(self, limiter: Limiter[Any]) -> None:
        self._release_timers.pop(id(limiter), None)
        for frm, msg, ctx, principal in limiter.due(self.node.clock.now()):
            self._process(frm, msg, ctx, principal)
        self._release_later(limiter)

    def _capacity_exceeded(self, frm: PID, msg: Any, limiter: Limiter[Any]) -> None:
        text = capacity_exceeded(message_name(msg), limiter.capacity or 0)
        _log.warning("framework message dropped", frm=str(frm), reason=text)
        self.counters.dropped_messages += 1
        self.send(frm, FrameworkError(message=text))

    def principal_metrics(self) -> dict[str, float]:
        """``frameworks/<principal>/messages_received`` and ``..._processed``."""
        return {f"frameworks/{principal}/{kind}": float(count)
                for (principal, kind), count in list(self.principal_messages.items())}
