"""The one exception root of Meseta and the transport's branch of it.

Every error Meseta raises on purpose derives from ``MesetaError``; errors of the
libraries underneath (zmq, msgpack) are translated at the transport boundary::

    MesetaError
    ├── TransportError            the node could not do what was asked
    │   ├── BindError             the ZeroMQ or HTTP port could not be bound
    │   └── UnknownProcessError   no local process by that name
    ├── CodecError                bytes that are not a valid message (logged and dropped)
    │   ├── MalformedMessageError not msgpack, wrong frame count, bad envelope
    │   ├── UnknownMessageError   a message name nobody registered
    │   └── MessageTypeError      a field missing or of the wrong type
    └── RegistrationError         a message type declared twice or not encodable

Other packages (``actors``, ``frameworks``) hang their own branches off ``MesetaError``.
"""

from __future__ import annotations

__all__ = [
    "BindError",
    "CodecError",
    "MalformedMessageError",
    "MesetaError",
    "MessageTypeError",
    "RegistrationError",
    "TransportError",
    "UnknownMessageError",
    "UnknownProcessError",
]


class MesetaError(Exception):
    """Root of every error Meseta raises on purpose."""


class TransportError(MesetaError):
    """The transport could not do what was asked."""


class BindError(TransportError):
    """A ZeroMQ or HTTP endpoint could not be bound."""


class UnknownProcessError(TransportError):
    """No process by that name lives on this node."""


class CodecError(MesetaError):
    """Bytes that do not decode to a registered, well-typed message."""


class MalformedMessageError(CodecError):
    """Not msgpack, the wrong number of frames, or an unreadable envelope."""


class UnknownMessageError(CodecError):
    """A message name that no one registered."""


class MessageTypeError(CodecError):
    """A message field is missing, or its value has the wrong type."""


class RegistrationError(MesetaError):
    """A message type is declared twice, or has a field type the codec cannot carry."""
