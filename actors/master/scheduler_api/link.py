"""The master's side of HTTP frameworks' event streams: ``HttpLink`` and ``HttpLinks``.

A framework subscribed through ``/api/v1/scheduler`` is addressed inside the master by a
PID on no node (``frameworks.http_scheduler_pid``); every handler sends to it exactly as
to a native scheduler, and ``MasterProcess._apply`` hands what goes there to
``HttpLinks.deliver``: the message becomes a v1 Event (``events``), written RecordIO-framed
to the framework's ``HttpStream``. The stream closing (the client went, or a write
failed) is the framework's ``exited``, as a broken ZeroMQ link is for a native one: the
master deactivates it and starts its failover timeout. ``HEARTBEAT`` events go out at
subscription and every ``heartbeat_interval`` on the master's clock. All of it runs on
the master's thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

from actors.master.scheduler_api.events import HEARTBEAT, event_for, record
from actors.messages.framework import FrameworkError, FrameworkRegistered, FrameworkReregistered
from transport.codec import message_name
from transport.http import HttpStream
from transport.pid import PID

__all__ = ["HttpLink", "HttpLinks"]

_log = structlog.get_logger("meseta.master")


class HttpLink:
    """One HTTP framework's subscription: its stream, stream id and the master's PID for it."""

    def __init__(self, pid: PID, stream_id: str, stream: HttpStream) -> None:
        self.pid = pid
        self.stream_id = stream_id
        self.stream = stream
        self.subscribed = False
        self.in_call = False
        """A call of this framework is being handled: its errors are the call's answer."""
        self.refused: str | None = None
        """Why the subscription or the call being handled was refused (a ``FrameworkError``
        before ``SUBSCRIBED`` or during the call: answered 400 rather than on the stream)."""


class HttpLinks:
    """The open HTTP framework streams of a master, by PID.

    ``delay(seconds, fn, *args)`` is the master's timer, ``exited(pid)`` its failure
    detection entry, ``trace(to, msg)`` records a send in the message trace.
    """

    def __init__(self, heartbeat_interval: float, delay: Callable[..., Any],
                 exited: Callable[[PID], None], trace: Callable[[PID, Any], None]) -> None:
        self.heartbeat_interval = heartbeat_interval
        self._delay = delay
        self._exited = exited
        self._trace = trace
        self._links: dict[PID, HttpLink] = {}

    def get(self, pid: PID | None) -> HttpLink | None:
        return self._links.get(pid) if pid is not None else None

    def open(self, pid: PID, stream_id: str) -> HttpLink:
        """A new subscription's stream; it reports its closing to ``gone``."""
        link = HttpLink(pid, stream_id, HttpStream(on_close=lambda: self.gone(pid)))
        self._links[pid] = link
        return link

    def deliver(self, to: PID, msg: Any) -> None:
        """Send ``msg`` to the HTTP framework ``to`` as its v1 Event."""
        link = self._links.get(to)
        if link is None:
            _log.info("message for a closed HTTP scheduler stream dropped", to=str(to),
                      name=message_name(msg))
            return
        event = event_for(msg, self.heartbeat_interval)
        if event is None:
            _log.debug("no v1 event for this message", name=message_name(msg), to=str(to))
            return
        self._trace(to, msg)
        if isinstance(msg, FrameworkError) and (link.in_call or not link.subscribed):
            link.refused = msg.message
            if not link.subscribed:
                self.gone(to)
            return
        if not link.stream.write(record(event)) or isinstance(msg, FrameworkError):
            self.gone(to)  # after an ERROR the master closes the stream (Mesos)
            return
        if isinstance(msg, FrameworkRegistered | FrameworkReregistered) and not link.subscribed:
            link.subscribed = True
            self._heartbeat(to, link)

    def _heartbeat(self, pid: PID, link: HttpLink) -> None:
        if self._links.get(pid) is not link:
            return
        if not link.stream.write(record(HEARTBEAT)):
            self.gone(pid)
            return
        self._delay(self.heartbeat_interval, self._heartbeat, pid, link)

    def gone(self, pid: PID) -> None:
        """The stream closed or failed: the framework's scheduler is disconnected."""
        link = self._links.pop(pid, None)
        if link is None:
            return
        link.stream.close()
        _log.info("HTTP scheduler stream closed", pid=str(pid), stream_id=link.stream_id)
        self._exited(pid)

    def close(self, pid: PID) -> None:
        """The master ends the subscription itself (teardown): no failover follows."""
        link = self._links.pop(pid, None)
        if link is not None:
            link.stream.close()
