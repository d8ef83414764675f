"""``MasterProcess``: the base of ``MasterActor`` -- its state and how decisions are sent.

The master's handlers are split by concern over a few classes (``agent_handlers`` for
agents and the registry, ``actor`` for the rest); they share what is declared here: the
books, the config, leadership, and the plumbing every handler uses (``_apply`` sends what
a pure decision put in an ``Outbox``; ``_leading`` gates what only a leader handles;
``_fail_fast`` exits the process, as Mesos' master "commits suicide").
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import structlog

from actors.master.books import Books, Outbox
from actors.master.config import MasterConfig
from actors.master.frameworks import is_http_scheduler
from actors.master.held import HeldMessages
from actors.master.metrics import MasterCounters
from actors.master.scheduler_api.link import HttpLinks
from actors.messages.agent import RegisterAgent, ReregisterAgent
from actors.messages.framework import RegisterFramework, ReregisterFramework
from actors.messages.info import AgentInfo, MasterInfo
from transport import PID, Process
from transport.codec import message_name
from transport.trace import TraceContext

__all__ = ["MasterProcess"]

_log = structlog.get_logger("meseta.master")

HELD_TYPES = (RegisterAgent, ReregisterAgent, RegisterFramework, ReregisterFramework)
"""What a master not yet able to handle it holds rather than drops (``actors.master.held``)."""


class MasterProcess(Process):
    """State and plumbing shared by the master's handler classes (set in ``MasterActor``)."""

    books: Books
    config: MasterConfig
    allocator: PID
    elected: bool
    """Whether this master leads; standalone (no ``--zk``) masters lead from the start."""
    leader: MasterInfo | None
    """The leading master as last detected (ourselves once elected)."""
    _exit: Callable[[int], None]
    """How to fail fast (tests replace it)."""
    held: HeldMessages
    """Registrations that came before this master could handle them (``_hold``)."""
    counters: MasterCounters
    """Messages by type, dropped ones, status updates (``/metrics/snapshot``)."""
    http_links: HttpLinks
    """The event streams of HTTP (v1 API) frameworks (``actors.master.scheduler_api``)."""

    def _agent_refused(self, frm: PID) -> bool:
        """Whether an agent's registration is refused (``security_handlers``)."""
        return False

    def _machine_down(self, frm: PID, info: AgentInfo) -> bool:
        """Whether an agent's machine is DOWN, refusing it (``maintenance_handlers``)."""
        return False

    def principal_of(self, pid: PID) -> str | None:
        """The authenticated principal of ``pid`` (``security_handlers``); None: unknown."""
        return None

    def _forget_principal(self, pid: PID) -> None:
        """``pid`` is gone: it is no one until it authenticates again (``security_handlers``)."""

    @property
    def master_id(self) -> str:
        return self.books.master_id

    def _fail_fast(self, reason: str) -> None:
        _log.error("committing suicide", reason=reason, master_id=self.master_id,
                   elected=self.elected)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        self._exit(1)

    def _leading(self, frm: PID, msg: object) -> bool:
        """Whether to handle ``msg``; a non-leading master holds a registration (its
        sender's detector already reports this master leading: our own election may be a
        moment behind) and logs and drops anything else."""
        if self.elected:
            return True
        if self._hold(frm, msg, "not the leading master yet"):
            return False
        _log.info("not the leading master: dropping", message=type(msg).__name__,
                  frm=str(frm), leader=str(self.leader.pid) if self.leader else None)
        self.counters.dropped_messages += 1
        return False

    def _dispatch(self, frm: PID, msg: Any, ctx: Any) -> None:
        self.counters.received(msg)
        super()._dispatch(frm, msg, ctx)

    def unhandled(self, frm: PID, msg: Any) -> None:
        self.counters.dropped_messages += 1
        super().unhandled(frm, msg)

    def _hold(self, frm: PID, msg: object, why: str) -> bool:
        """Hold a registration for ``_replay_held``; ``False`` if it is not one or no room."""
        if type(msg) not in HELD_TYPES or not self.held.hold(frm, msg, self.node.clock.monotonic()):
            return False
        _log.info("registration held", why=why, message=type(msg).__name__, frm=str(frm))
        return True

    def _replay_held(self) -> None:
        """Handle the held registrations now (each is gated again by its handler)."""
        for frm, msg in self.held.take(self.node.clock.monotonic()):
            Process._dispatch(self, frm, msg, None)  # counted when it came

    def _apply(self, out: Outbox) -> None:
        """Send what a decision queued; watch new peers; time the new offers out."""
        if self.config.offer_timeout is not None:  # before the offers leave: no reply
            for offer_id in out.offers_made:        # can come back ahead of its timer
                self.delay(self.config.offer_timeout, self._offer_timed_out, offer_id)
        for pid in out.links:
            if not is_http_scheduler(pid):  # an HTTP framework's stream reports its end
                self.link(pid)
        for msg in out.allocator:
            self.send(self.allocator, msg)
        for to, msg in out.sends:
            self._send_out(to, msg)

    def _send_out(self, to: PID, msg: Any) -> None:
        """The one way a decision's message leaves the master: over ZeroMQ, or, for an
        HTTP framework, as a v1 Event on its stream (``scheduler_api.link``)."""
        if is_http_scheduler(to):
            self.http_links.deliver(to, msg)
        else:
            self.send(to, msg)

    def unlink(self, pid: PID) -> None:
        if is_http_scheduler(pid):
            self.http_links.close(pid)
            self._forget_principal(pid)
        else:
            super().unlink(pid)

    def _trace_http(self, to: PID, msg: Any) -> None:
        """Record a message sent to an HTTP framework as the node records a send."""
        tracer = self.node.tracer
        if tracer.enabled:
            parent = self.trace_context
            ctx = (parent.child() if parent is not None else None) or TraceContext.root()
            tracer.event("trace.send", str(self.pid), str(to), message_name(msg), None, ctx,
                         msg)

    def _run(self, fn: Callable[..., Any], *args: Any) -> None:
        out = Outbox()
        fn(self.books, *args, out)
        self._apply(out)

    def _offer_timed_out(self, offer_id: str) -> None:
        from actors.master import offers

        if offer_id in self.books.offers:
            _log.info("offer timed out, rescinded", offer_id=offer_id)
            self._run(offers.rescind, offer_id)
