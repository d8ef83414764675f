"""The I/O thread's guard of its PULL socket: the ZAP handler and failed-handshake reports.

Used only by ``transport.io.IOThread``, on its own thread (the only one touching zmq).
``ServerGuard(ctx, node)`` binds the ZAP REP (``inproc://zeromq.zap.01``) when the node
has CURVE keys, before the PULL binds, and makes the PULL a CURVE server
(``secure(pull)``); its sockets are polled by the I/O loop, which hands each ready one
to ``handle``: a ZAP request is answered by ``transport.curve.zap_reply`` (the allow-list
decision), a failed inbound handshake is logged and counted (``handshake_failed``;
refused keys also ``curve_refused``). ``secure_push`` makes a PUSH a CURVE client that
expects its peer's server key (``CurveKeys.server_key_for``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog
import zmq
from zmq.utils.monitor import parse_monitor_message

from transport.curve import ZAP_DOMAIN, ZAP_ENDPOINT, CurveKeys, handshake_failure, zap_reply

if TYPE_CHECKING:
    from transport.node import Node

__all__ = ["HANDSHAKE_FAILED", "ServerGuard", "secure_push"]

_log = structlog.get_logger("meseta.transport")

HANDSHAKE_FAILED = (zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                    | zmq.EVENT_HANDSHAKE_FAILED_AUTH)


class ServerGuard:
    """See the module docstring."""

    def __init__(self, ctx: zmq.Context[Any], node: Node) -> None:
        self.node = node
        self.zap: zmq.Socket[bytes] | None = None
        if node.curve is not None:  # bound before the first handshake can happen
            self.zap = ctx.socket(zmq.REP)
            self.zap.setsockopt(zmq.LINGER, 0)
            self.zap.bind(ZAP_ENDPOINT)
        self.monitor: zmq.Socket[bytes] | None = None
        self._pull: zmq.Socket[bytes] | None = None

    def secure(self, pull: zmq.Socket[bytes]) -> None:
        """Make ``pull`` a CURVE server (with keys) and watch its handshakes."""
        curve = self.node.curve
        if curve is not None:
            pull.curve_secretkey = curve.secret
            pull.curve_publickey = curve.public
            pull.curve_server = True
            pull.zap_domain = ZAP_DOMAIN
        self._pull = pull
        self.monitor = pull.get_monitor_socket(HANDSHAKE_FAILED)

    def sockets(self) -> list[zmq.Socket[bytes]]:
        return [s for s in (self.zap, self.monitor) if s is not None]

    def handle(self, sock: Any) -> bool:
        """Deal with ``sock`` if it is one of ours; ``False`` if it is not."""
        if sock is self.zap:
            self._answer_zap()
        elif sock is self.monitor:
            self._on_monitor()
        else:
            return False
        return True

    def close(self) -> None:
        if self._pull is not None and self.monitor is not None:
            self._pull.disable_monitor()
            self.monitor.close(0)
        if self.zap is not None:
            self.zap.close(0)

    def _answer_zap(self) -> None:
        assert self.zap is not None and self.node.curve is not None
        try:
            request = self.zap.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            return
        reply, why = zap_reply(request, self.node.curve.allowed)
        if why:
            self.node.stats["curve_refused"] += 1
            _log.error("CURVE handshake refused", node=self.node.address, why=why)
        self.zap.send_multipart(reply)

    def _on_monitor(self) -> None:
        assert self.monitor is not None
        while True:
            try:
                message = parse_monitor_message(self.monitor.recv_multipart(zmq.NOBLOCK))
            except zmq.Again:
                return
            self.node.stats["handshake_failed"] += 1
            _log.error("a peer's handshake failed", node=self.node.address,
                       why=handshake_failure(message["event"], message["value"],
                                             self.node.curve is not None, inbound=True))


def secure_push(push: zmq.Socket[bytes], curve: CurveKeys, address: str) -> None:
    """Make ``push`` a CURVE client of the node at ``address``."""
    push.curve_secretkey = curve.secret
    push.curve_publickey = curve.public
    push.curve_serverkey = curve.server_key_for(address)
