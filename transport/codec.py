"""Messages as frozen dataclasses, and their msgpack codec.

``@message`` turns a class into a frozen, slotted, keyword-only dataclass and registers
it by name (once: a second class with the same name is a ``RegistrationError``); the
name is the mailbox, as libprocess keys handlers on the protobuf type name. ``@record``
does the same for data types that travel only inside messages (``FrameworkInfo``...).

A message travels as a map ``{field: value}`` (``transport.envelope`` packs it);
fields equal to their default are left out, and unknown fields are ignored, so a
message can gain fields (with defaults) without breaking older peers; an enum member
a peer does not know reads as the field's default, or is skipped in a sequence. Decoding is
strict: every field is checked against its annotation, and anything wrong raises a
``CodecError``; the node logs and drops the message, so nothing a peer sends can
raise into an actor.

Supported field types: ``int``, ``float``, ``str``, ``bytes``, ``bool``, ``PID``,
enums (carried by member name), records, ``X | None``, ``tuple[X, ...]``,
``list[X]``, ``frozenset[X]``, ``dict[str, X]``, ``Any``, and value types added with
``register_value_type`` (e.g. ``Resources``).

Who uses it: ``actors.messages`` declares the protocol with it; ``transport.envelope``
encodes in the sending actor's thread and decodes in the node's I/O thread; HTTP
endpoints use ``encode_message`` for JSON.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

from transport.errors import (
    MessageTypeError,
    RegistrationError,
    UnknownMessageError,
)
from transport.pid import PID

__all__ = [
    "decode_message",
    "encode_message",
    "is_message",
    "lookup",
    "message",
    "message_name",
    "record",
    "register_value_type",
    "registered_messages",
]

if TYPE_CHECKING:  # tells type checkers that @message / @record build dataclasses
    from typing_extensions import dataclass_transform
else:

    def dataclass_transform(**_: Any) -> Any:
        return lambda fn: fn


C = TypeVar("C", bound=type)
Encoder = Callable[[Any], Any]
Decoder = Callable[[Any, str], Any]

_MESSAGES: dict[str, type] = {}
_NAME_ATTR = "__meseta_message__"
_RECORD_ATTR = "__meseta_record__"
_VALUE_TYPES: dict[type, tuple[Encoder, Callable[[Any], Any]]] = {}
_MISSING = dataclasses.MISSING


def _freeze(cls: type) -> type:
    return dataclasses.dataclass(frozen=True, slots=True, kw_only=True)(cls)


@overload
def message(cls: C, /) -> C: ...
@overload
def message(*, name: str | None = None) -> Callable[[C], C]: ...
@dataclass_transform(kw_only_default=True, frozen_default=True)
def message(cls: Any = None, /, *, name: str | None = None) -> Any:
    """Declare a wire message: a frozen dataclass registered under ``name`` (the class name)."""

    def wrap(c: C) -> C:
        frozen = _freeze(c)
        key = name or c.__name__
        if key in _MESSAGES:
            raise RegistrationError(f"message {key!r} is already registered")
        setattr(frozen, _NAME_ATTR, key)
        setattr(frozen, _RECORD_ATTR, True)
        _check_early(frozen)
        _MESSAGES[key] = frozen
        return typing.cast(C, frozen)

    return wrap(cls) if cls is not None else wrap


@dataclass_transform(kw_only_default=True, frozen_default=True)
def record(cls: C) -> C:
    """Declare a data type carried inside messages (not addressable on its own)."""
    frozen = _freeze(cls)
    setattr(frozen, _RECORD_ATTR, True)
    _check_early(frozen)
    return typing.cast(C, frozen)


def _check_early(cls: type) -> None:
    """Refuse an unsupported field type at declaration; forward references wait for first use."""
    try:
        typing.get_type_hints(cls)
    except NameError:  # names defined later in the module (or a recursive record)
        return
    _schema(cls)


def register_value_type(
    cls: type, encode: Encoder, decode: Callable[[Any], Any]
) -> None:
    """Teach the codec a value type: ``encode(v)`` gives msgpack data, ``decode`` reverses it.

    ``decode`` raises ``ValueError`` (or ``TypeError``) on bad input.
    """
    _VALUE_TYPES[cls] = (encode, decode)


def registered_messages() -> dict[str, type]:
    """Every registered message type by name (a copy)."""
    return dict(_MESSAGES)


def lookup(name: str) -> type:
    """The message type registered as ``name``, or ``UnknownMessageError``."""
    try:
        return _MESSAGES[name]
    except KeyError:
        raise UnknownMessageError(f"unknown message {name!r}") from None


def message_name(msg: object) -> str:
    """The registered name of a message instance or type."""
    name = getattr(msg, _NAME_ATTR, None)
    if name is None:
        raise RegistrationError(f"{type(msg).__name__} is not a registered message")
    return typing.cast(str, name)


def is_message(obj: object) -> bool:
    return getattr(obj, _NAME_ATTR, None) is not None


class UnknownEnumMember(MessageTypeError):
    """An enum member this peer does not know (perhaps a newer peer's).

    Like proto2, an optional field holding one reads as unset (its default) and a
    sequence drops it; a required field makes the message unreadable.
    """


# --- compiled schemas ------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class _Schema:
    encode: Callable[[Any], dict[str, Any]]
    decode: Callable[[Any, str], Any]


_SCHEMAS: dict[type, _Schema] = {}


def _schema(cls: type) -> _Schema:
    schema = _SCHEMAS.get(cls)
    if schema is None:
        schema = _SCHEMAS[cls] = _compile(cls)
    return schema


def _compile(cls: type) -> _Schema:
    try:
        hints = typing.get_type_hints(cls)
    except Exception as exc:  # a NameError from a bad annotation, reported at first use
        raise RegistrationError(f"cannot read the annotations of {cls.__name__}: {exc}") from exc
    enc_fields: list[tuple[str, Encoder | None, Any]] = []
    dec_fields: list[tuple[str, Decoder, bool]] = []
    for f in dataclasses.fields(cls):
        enc, dec = _codec_for(hints[f.name], f"{cls.__name__}.{f.name}")
        if f.default is not _MISSING:
            default: Any = f.default
        elif f.default_factory is not _MISSING:
            default = f.default_factory()
        else:
            default = _MISSING
        enc_fields.append((f.name, enc, default))
        dec_fields.append((f.name, dec, default is _MISSING))
    name = cls.__name__

    def encode(obj: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, enc, default in enc_fields:
            value = getattr(obj, key)
            if default is not _MISSING and type(value) is type(default) and value == default:
                continue
            out[key] = value if enc is None else enc(value)
        return out

    def decode(data: Any, path: str) -> Any:
        if type(data) is not dict:
            raise MessageTypeError(f"{path or name}: expected a map, got {type(data).__name__}")
        kwargs: dict[str, Any] = {}
        for key, dec, required in dec_fields:
            if key in data:
                try:
                    kwargs[key] = dec(data[key], f"{path}.{key}" if path else key)
                except UnknownEnumMember as exc:
                    if required:  # nothing to fall back on: the whole record is unreadable
                        raise MessageTypeError(str(exc)) from None
                    # a newer peer's enum member: the field reads as unset, as in proto2
            elif required:
                raise MessageTypeError(f"{name}: missing field {key!r}")
        try:
            return cls(**kwargs)
        except Exception as exc:  # a __post_init__ check refused the values
            raise MessageTypeError(f"{path or name}: {exc}") from None

    return _Schema(encode, decode)


def _type_error(path: str, want: str, value: Any) -> MessageTypeError:
    return MessageTypeError(f"{path}: expected {want}, got {type(value).__name__}")


def _exact(t: type) -> Decoder:
    def dec(v: Any, path: str) -> Any:
        if type(v) is not t:
            raise _type_error(path, t.__name__, v)
        return v

    return dec


def _dec_float(v: Any, path: str) -> float:
    if type(v) is float:
        return v
    if type(v) is int:
        return float(v)
    raise _type_error(path, "float", v)


def _dec_any(v: Any, path: str) -> Any:
    return v


def _dec_pid(v: Any, path: str) -> PID:
    if type(v) is not str:
        raise _type_error(path, "PID string", v)
    try:
        return PID.parse(v)
    except ValueError as exc:
        raise MessageTypeError(f"{path}: {exc}") from None


def _codec_for(tp: Any, where: str) -> tuple[Encoder | None, Decoder]:
    """(encoder or None for identity, decoder) for one annotation."""
    if tp is Any:
        return None, _dec_any
    if tp in (int, str, bytes, bool):
        return None, _exact(tp)
    if tp is float:
        return None, _dec_float
    if tp is PID:
        return str, _dec_pid
    if tp is type(None):
        return None, _exact(type(None))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        members = tp.__members__

        def dec_enum(v: Any, path: str) -> Any:
            if type(v) is not str:
                raise _type_error(path, f"{tp.__name__} name", v)
            member = members.get(v)
            if member is None:
                raise UnknownEnumMember(f"{path}: {v[:64]!r} is not a {tp.__name__}")
            return member

        return (lambda e: e.name), dec_enum
    if isinstance(tp, type) and getattr(tp, _RECORD_ATTR, False):
        return (lambda r: _schema(type(r)).encode(r)), (lambda v, p: _schema(tp).decode(v, p))
    if isinstance(tp, type) and tp in _VALUE_TYPES:
        enc_value, dec_value = _VALUE_TYPES[tp]

        def dec_custom(v: Any, path: str) -> Any:
            try:
                return dec_value(v)
            except Exception as exc:  # the boundary: whatever a value decoder raises is bad data
                raise MessageTypeError(f"{path}: bad {tp.__name__}: {exc}") from None

        return enc_value, dec_custom
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1 or len(args) != 2:
            raise RegistrationError(f"{where}: only `X | None` unions are supported")
        enc_inner, dec_inner = _codec_for(rest[0], where)

        def dec_opt(v: Any, path: str) -> Any:
            return None if v is None else dec_inner(v, path)

        enc_opt = None if enc_inner is None else (lambda v: None if v is None else enc_inner(v))
        return enc_opt, dec_opt
    if origin in (tuple, list, frozenset):
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            raise RegistrationError(f"{where}: use tuple[X, ...] for sequences")
        enc_item, dec_item = _codec_for(args[0], where)
        build: Callable[[Any], Any] = origin

        def dec_seq(v: Any, path: str) -> Any:
            if type(v) is not list:
                raise _type_error(path, "array", v)
            items = []
            for x in v:
                try:
                    items.append(dec_item(x, path))
                except UnknownEnumMember:
                    continue  # a newer peer's enum member: skipped, as proto2 does
            try:
                return build(items)
            except TypeError as exc:  # an unhashable item of a frozenset
                raise MessageTypeError(f"{path}: {exc}") from None

        enc_seq = list if enc_item is None else (lambda s: [enc_item(x) for x in s])
        return enc_seq, dec_seq
    if origin is dict:
        if args[0] is not str:
            raise RegistrationError(f"{where}: map keys must be str")
        enc_val, dec_val = _codec_for(args[1], where)

        def dec_map(v: Any, path: str) -> Any:
            if type(v) is not dict:
                raise _type_error(path, "map", v)
            if any(type(k) is not str for k in v):
                raise MessageTypeError(f"{path}: map keys must be strings")
            return {k: dec_val(x, f"{path}.{k}") for k, x in v.items()}

        enc_map = None if enc_val is None else (lambda m: {k: enc_val(x) for k, x in m.items()})
        return enc_map, dec_map
    raise RegistrationError(f"{where}: the codec cannot carry {tp!r}")


# --- whole messages ----------------------------------------------------------------


def encode_message(obj: Any) -> dict[str, Any]:
    """A message or record as plain msgpack/JSON-friendly data (defaults left out)."""
    return _schema(type(obj)).encode(obj)


def decode_message(cls: type[Any], data: Any) -> Any:
    """The reverse of ``encode_message``; raises ``MessageTypeError`` on bad data."""
    try:
        return _schema(cls).decode(data, "")
    except RecursionError:  # a recursive record nested deeper than Python recurses
        raise MessageTypeError(f"{cls.__name__}: nested too deeply") from None
    except RegistrationError as exc:  # a type that could not be checked at declaration
        raise MessageTypeError(f"{cls.__name__} cannot be decoded: {exc}") from None
