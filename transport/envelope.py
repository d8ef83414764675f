"""The wire format: envelopes, and the batches of envelopes that travel as one frame.

An envelope is one msgpack array ``[to, from, name, body, trace]``:

- ``to``: the recipient's process name on the receiving node (``"master"``);
- ``from``: the sender's full PID (``"scheduler(1)@10.0.0.5:41234"``);
- ``name``: the registered message name (``"RegisterAgent"``), the mailbox key;
- ``body``: the message as a map of its fields (``transport.codec``);
- ``trace``: ``[trace_id, msg_id, parent_id, hop]`` or nil (``transport.trace``).

The I/O thread sends, per peer, every envelope queued since its last wake-up as ONE
ZeroMQ frame holding a msgpack array of envelopes (a batch). pyzmq spends ~3 µs per
frame but ~20 µs per four-frame multipart message, so one frame per batch is what lets
actors keep up with raw pyzmq (``scripts/bench transport``). Envelopes are packed in
the sender's thread; the batch is their concatenation behind an array header, so the
I/O thread never re-packs.

Decoding is strict and bounded: msgpack's limits scale with the frame, ext types are
refused, every envelope is checked for shape and types, and bodies against their
schema. A bad frame loses only itself; a bad envelope loses only itself.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

import msgpack

from transport.codec import decode_message, encode_message, lookup, message_name
from transport.errors import MalformedMessageError, MessageTypeError
from transport.pid import PID
from transport.trace import TraceContext

__all__ = [
    "batch",
    "decode_envelope",
    "encode_envelope",
    "iter_envelopes",
    "parse_sender",
    "split_batch",
]

_MAX_INT = 2**63


def _refuse_ext(code: int, data: bytes) -> Any:
    raise ValueError(f"msgpack ext type {code} is not accepted")


def encode_envelope(to: str, frm: str, msg: Any, ctx: TraceContext | None) -> bytes:
    """One envelope, packed (runs in the sending actor's thread)."""
    trace = None if ctx is None else (ctx.trace_id, ctx.msg_id, ctx.parent_id, ctx.hop)
    name = message_name(msg)
    try:
        return msgpack.packb((to, frm, name, encode_message(msg), trace))
    except (TypeError, ValueError, OverflowError) as exc:  # e.g. an int beyond 64 bits
        raise MessageTypeError(f"cannot encode {name}: {exc}") from None


def batch(envelopes: list[bytes]) -> bytes:
    """Packed envelopes joined into one msgpack array (no re-packing)."""
    n = len(envelopes)
    if n < 16:
        head = bytes((0x90 | n,))
    elif n < 65536:
        head = b"\xdc" + struct.pack(">H", n)
    else:
        head = b"\xdd" + struct.pack(">I", n)
    return head + b"".join(envelopes)


def split_batch(frame: bytes) -> list[Any]:
    """The envelopes of one frame, still undecoded; ``MalformedMessageError`` if unreadable."""
    try:
        items = _unpack(frame)
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        if frame[:1] in _ARRAY_HEADS:  # perhaps one bad envelope: keep the others
            return _split_one_by_one(frame, exc)
        raise MalformedMessageError(f"frame is not a msgpack batch: {exc}") from None
    if type(items) is not list:
        raise MalformedMessageError(f"frame is a {type(items).__name__}, not a batch")
    return items


_ARRAY_HEADS = frozenset([b"\xdc", b"\xdd", *(bytes((0x90 | n,)) for n in range(16))])


def _unpack(data: bytes) -> Any:
    # max_ext_len=0 also refuses ext type -1, which msgpack decodes as a Timestamp
    # without asking ext_hook.
    return msgpack.unpackb(data, ext_hook=_refuse_ext, max_ext_len=0)


class _Unreadable:
    """Stands in for an envelope whose bytes do not decode (ext, bad UTF-8, int keys)."""

    __slots__ = ("error",)

    def __init__(self, error: str) -> None:
        self.error = error


def _split_one_by_one(frame: bytes, first_error: Exception) -> list[Any]:
    """The slow path: find each envelope's bytes (skip() decodes nothing) and decode each
    alone, so a bad envelope loses only itself, not the frame it was batched into."""
    unpacker = msgpack.Unpacker(max_buffer_size=max(len(frame), 1))
    unpacker.feed(frame)
    items: list[Any] = []
    try:
        for _ in range(unpacker.read_array_header()):
            start = unpacker.tell()
            unpacker.skip()
            try:
                items.append(_unpack(frame[start:unpacker.tell()]))
            except (ValueError, TypeError, msgpack.UnpackException) as exc:
                items.append(_Unreadable(f"envelope is not valid msgpack: {exc}"))
    except (ValueError, TypeError, msgpack.UnpackException):
        raise MalformedMessageError(f"frame is not a msgpack batch: {first_error}") from None
    if unpacker.tell() != len(frame):
        raise MalformedMessageError(f"frame is not a msgpack batch: {first_error}")
    return items


def decode_envelope(env: Any) -> tuple[str, str, Any, TraceContext | None]:
    """``(to, from, message, trace)`` of one envelope; a ``CodecError`` says what is wrong."""
    if type(env) is not list or len(env) != 5:
        if type(env) is _Unreadable:
            raise MalformedMessageError(env.error)
        raise MalformedMessageError("an envelope is [to, from, name, body, trace]")
    to, frm, name, body, trace = env
    if type(to) is not str or type(frm) is not str or type(name) is not str:
        raise MalformedMessageError("envelope to, from and name must be strings")
    msg = decode_message(lookup(name), body)
    ctx = None
    if trace is not None:
        if (
            type(trace) is not list
            or len(trace) != 4
            or any(type(v) is not int or not 0 <= v < _MAX_INT for v in trace)
        ):
            raise MalformedMessageError("a trace is four non-negative ints")
        ctx = TraceContext(*trace)
    return to, frm, msg, ctx


def iter_envelopes(frame: bytes) -> Iterator[tuple[str, str, Any, TraceContext | None]]:
    """Decode a whole frame (tests and tools; the I/O thread handles errors per envelope)."""
    for env in split_batch(frame):
        yield decode_envelope(env)


def parse_sender(frm: str) -> PID:
    try:
        return PID.parse(frm)
    except ValueError as exc:
        raise MalformedMessageError(str(exc)) from None

