"""A node with an echo/counter process, run in a child OS process by the tests.

``python -m tests.transport.peer [--port N] [--max-message-size BYTES] [--link-timeout S]
[--http-port N]``
starts a ``Node`` on 127.0.0.1 with one process named ``echo`` (``EchoActor``), prints
``READY <port>`` on stdout and serves until stdin closes or it is killed. Logs go to
stderr so stdout carries only the READY line.
"""

from __future__ import annotations

import argparse
import logging
import sys

import structlog

from tests.transport.wire import Add, Count, Echo, Echoed, GetCount
from transport import PID, Node, Process, handles


class EchoActor(Process):
    """Answers ``Echo`` with ``Echoed``; sums ``Add``; reports the sum on ``GetCount``."""

    def __init__(self, node: Node, name: str = "echo") -> None:
        super().__init__(node, name)
        self.total = 0
        self.adds = 0

    @handles(Echo)
    def _on_echo(self, frm: PID, msg: Echo) -> None:
        self.send(frm, Echoed(seq=msg.seq, payload=msg.payload, by=self.pid))

    @handles(Add)
    def _on_add(self, frm: PID, msg: Add) -> None:
        self.total += msg.n
        self.adds += 1

    @handles(GetCount)
    def _on_get_count(self, frm: PID, msg: GetCount) -> None:
        self.send(frm, Count(total=self.total, adds=self.adds))


def _quiet_logs() -> None:
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    logging.basicConfig(stream=sys.stderr, level=logging.ERROR)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-message-size", type=int, default=16 * 1024 * 1024)
    parser.add_argument("--link-timeout", type=float, default=3.0)
    parser.add_argument("--http-port", type=int, default=None,
                        help="serve /__processes__ (0: any free port, printed as HTTP <port>)")
    args = parser.parse_args(argv)
    _quiet_logs()
    node = Node("127.0.0.1", args.port, max_message_size=args.max_message_size,
                link_timeout=args.link_timeout, http_port=args.http_port).start()
    try:
        node.spawn(EchoActor)
        if node.http_port is not None:
            print(f"HTTP {node.http_port}", flush=True)
        print(f"READY {node.port}", flush=True)
        sys.stdin.read()  # serve until the parent closes our stdin (or kills us)
    finally:
        node.stop()


if __name__ == "__main__":
    main()
