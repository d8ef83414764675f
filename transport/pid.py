"""``PID``: the address of one process (actor), printed ``name@host:port``.

The value type of libprocess' ``UPID``. Every message carries the sender's PID; logs,
traces and state endpoints print PIDs as strings. The ``host:port`` part names the
node (one per OS process) whose ZeroMQ ROUTER listens there.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PID"]


@dataclass(frozen=True, slots=True)
class PID:
    """``name@host:port`` — who a message is for, or who sent it."""

    name: str
    """The process id on its node, e.g. ``master`` or ``scheduler(1)``."""
    host: str
    """The host (IP or hostname) of the node's ZeroMQ endpoint."""
    port: int
    """The TCP port of the node's ZeroMQ endpoint."""

    @classmethod
    def parse(cls, text: str) -> PID:
        """Parse ``name@host:port``; raise ``ValueError`` saying what is wrong."""
        if not isinstance(text, str):
            raise ValueError(f"a PID must be a string, not {type(text).__name__}")
        # The host never holds an "@" but a name may: split at the last one.
        name, at, address = text.rpartition("@")
        if not at or not name:
            raise ValueError(f"bad PID {text!r}: expected name@host:port")
        host, colon, port_text = address.rpartition(":")
        if not colon or not host:
            raise ValueError(f"bad PID {text!r}: expected name@host:port")
        if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
            raise ValueError(f"bad PID {text!r}: port must be 1-65535")
        return cls(name, host, int(port_text))

    @property
    def address(self) -> str:
        """``host:port``: the node this process lives on."""
        return f"{self.host}:{self.port}"

    def with_name(self, name: str) -> PID:
        """Another process on the same node."""
        return PID(name, self.host, self.port)

    def __str__(self) -> str:
        return f"{self.name}@{self.host}:{self.port}"

    def __bool__(self) -> bool:
        return bool(self.name) and self.port > 0 and self.host not in ("", "0.0.0.0")
