"""``Process``: the actor base class (a Pykka ``ThreadingActor``) with a handler table.

A subclass declares what it understands in one place, libprocess ``install()`` style::

    class MasterActor(Process):
        @handles(RegisterAgent)
        def _on_register_agent(self, frm: PID, msg: RegisterAgent) -> None: ...

and talks with ``self.send(pid, message)`` (one-way; a reply is another message),
``self.link(pid)`` → ``exited(pid)`` when the peer's connection breaks, ``self.delay(
seconds, fn, *args)`` (timers on the node's injectable clock, run inside the actor),
``self.route(path, handler)`` (HTTP on the node's server at ``/<name><path>``) and the
``on_start`` / ``on_stop`` hooks. Everything a process does runs on its own thread,
one message at a time; a handler that raises is logged and the process lives on, so
nothing a peer sends can stop it.

Inbound messages arrive from the node as batches ``[(frm, msg, trace), ...]``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import pykka
import structlog
from structlog.contextvars import bound_contextvars

from transport.clock import Timer
from transport.codec import message_name
from transport.inbox import Inbox
from transport.pid import PID
from transport.trace import TraceContext

if TYPE_CHECKING:
    from transport.http import HttpHandler
    from transport.node import Node

__all__ = ["Process", "handles"]

F = TypeVar("F", bound=Callable[..., Any])
_log = structlog.get_logger("meseta.process")
_HANDLES = "__meseta_handles__"


def handles(*msg_types: type) -> Callable[[F], F]:
    """Mark a method ``(self, frm: PID, msg) -> None`` as the handler of ``msg_types``."""

    def mark(fn: F) -> F:
        setattr(fn, _HANDLES, (*getattr(fn, _HANDLES, ()), *msg_types))
        return fn

    return mark


class _Call:
    """A function to run inside the actor (timers, exited, HTTP requests)."""

    __slots__ = ("args", "fn")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.fn = fn
        self.args = args


class Process(pykka.ThreadingActor):
    """Base of every Meseta actor; see the module docstring."""

    use_daemon_thread = True
    handlers: ClassVar[dict[type, Callable[..., None]]] = {}

    @staticmethod
    def _create_actor_inbox() -> Any:
        return Inbox()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names: dict[type, str] = {}
        for klass in reversed(cls.__mro__):
            for attr_name, attr in vars(klass).items():
                for msg_type in getattr(attr, _HANDLES, ()):
                    names[msg_type] = attr_name
        # Resolved by name, so a subclass overriding a handler method (without repeating
        # @handles) gets its override called, as plain Python inheritance would.
        cls.handlers = {msg_type: getattr(cls, name) for msg_type, name in names.items()}

    def __init__(self, node: Node, name: str | None = None) -> None:
        super().__init__()
        self.node = node
        self.pid: PID = node.register(self, name or node.generate_name(type(self).__name__.lower()))
        self.handled = 0
        self._trace: TraceContext | None = None
        self._in_batch = False

    # --- talking ----------------------------------------------------------------------

    def send(self, to: PID, msg: Any) -> None:
        """Send ``msg`` to ``to`` (one-way, at most once); carries on the current trace."""
        ctx = self._trace.child() if self._trace is not None else None
        self.node.send(self.pid, to, msg, ctx, wake=not self._in_batch)

    def link(self, pid: PID) -> None:
        """Get ``exited(pid)`` once, when the connection to ``pid``'s node breaks."""
        self.node.link(self.pid.name, pid)

    def unlink(self, pid: PID) -> None:
        self.node.unlink(self.pid.name, pid)

    def exited(self, pid: PID) -> None:
        """Hook: the link to ``pid`` broke (the peer died, restarted or went silent)."""

    def unhandled(self, frm: PID, msg: Any) -> None:
        """Hook: a registered message with no handler here. Logged and dropped by default."""
        _log.warning("no handler for message", process=self.pid.name, frm=str(frm),
                     name=message_name(msg))

    # --- time -------------------------------------------------------------------------

    def delay(self, seconds: float, fn: Callable[..., Any], *args: Any) -> Timer:
        """Run ``fn(*args)`` inside this actor after ``seconds`` on the node's clock.

        A timer set while handling a traced message continues that trace (a retry is
        part of what caused it)."""
        ctx = self._trace
        if ctx is None:
            return self.node.clock.call_later(seconds, lambda: self._post(fn, *args))
        return self.node.clock.call_later(
            seconds, lambda: self._post(self._continue_trace, ctx, fn, args))

    def _continue_trace(self, ctx: TraceContext, fn: Callable[..., Any],
                        args: tuple[Any, ...]) -> None:
        with self.continuing(ctx):
            fn(*args)

    @property
    def trace_context(self) -> TraceContext | None:
        """The trace of the message being handled (None outside a traced handler)."""
        return self._trace

    @contextmanager
    def continuing(self, ctx: TraceContext | None) -> Iterator[None]:
        """Send as if handling ``ctx``'s message (outside a handler: callbacks, timers)."""
        if ctx is None or self._trace is not None:
            yield
            return
        self._trace = ctx
        try:
            yield
        finally:
            self._trace = None

    def now(self) -> float:
        return self.node.clock.now()

    # --- HTTP -------------------------------------------------------------------------

    def route(self, path: str, handler: HttpHandler) -> None:
        """Serve ``handler(request) -> HttpResponse`` at ``/<name><path>``, run in this actor."""
        self.node.add_route(self, path, handler)

    # --- life cycle -------------------------------------------------------------------

    def on_stop(self) -> None:
        """Hook: the process is stopping. Subclasses that override it call ``super()``."""
        self.node.unregister(self.pid.name)

    def on_failure(self, *exc_info: Any) -> None:
        self.node.unregister(self.pid.name)

    # --- dispatch ---------------------------------------------------------------------

    def _post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Ask this actor to run ``fn(*args)`` on its own thread (thread-safe)."""
        try:
            self.actor_ref.tell(_Call(fn, args))
        except pykka.ActorDeadError:
            pass

    def _actor_loop(self) -> None:
        placement = self.node.placement
        placement.adopt()  # with the node's other threads (transport.affinity)
        try:
            super()._actor_loop()
        finally:
            placement.release()

    def _exited_event(self, pid: PID) -> None:
        self.exited(pid)

    def on_receive(self, message: Any) -> Any:
        kind = type(message)
        if kind is not list and kind is not _Call:
            return super().on_receive(message)
        self._in_batch = True
        try:
            if kind is list:
                for frm, msg, ctx in message:
                    self._dispatch(frm, msg, ctx)
            else:
                try:
                    message.fn(*message.args)
                except Exception:
                    _log.exception("callback failed", process=self.pid.name,
                                   callback=getattr(message.fn, "__qualname__", repr(message.fn)))
        finally:
            self._in_batch = False
            self.node.flush()
        return None

    def _dispatch(self, frm: PID, msg: Any, ctx: TraceContext | None) -> None:
        handler = self.handlers.get(type(msg))
        self.handled += 1
        if ctx is None and self.node.tracer.enabled:
            ctx = TraceContext.root()  # an untraced arrival starts a trace here
        if ctx is None:
            try:
                if handler is None:
                    self.unhandled(frm, msg)
                else:
                    handler(self, frm, msg)
            except Exception:
                _log.exception("handler failed", process=self.pid.name, frm=str(frm),
                               name=message_name(msg))
            return
        self._trace = ctx
        began = time.time()
        start = time.perf_counter()
        outcome = "ok"
        try:
            with bound_contextvars(**ctx.fields()):
                if handler is None:
                    outcome = "unhandled"
                    self.unhandled(frm, msg)
                else:
                    handler(self, frm, msg)
        except Exception:
            outcome = "error"
            _log.exception("handler failed", process=self.pid.name, frm=str(frm),
                           name=message_name(msg))
        finally:
            self._trace = None
            if self.node.tracer.enabled:
                self.node.tracer.event(
                    "trace.recv", str(frm), str(self.pid), message_name(msg), None, ctx,
                    msg, ts=began, handler_ms=round((time.perf_counter() - start) * 1000, 3),
                    outcome=outcome)
