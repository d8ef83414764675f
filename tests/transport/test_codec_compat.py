"""Forward compatibility: what an older peer does with a newer peer's messages."""

from __future__ import annotations

import enum

import pytest

from transport.codec import decode_message, message
from transport.errors import MessageTypeError


class Color(enum.Enum):
    RED = 1
    BLUE = 2


@message(name="test.compat.Paint")
class Paint:
    color: Color
    trim: Color = Color.RED
    palette: tuple[Color, ...] = ()
    tags: frozenset[Color] = frozenset()


def test_unknown_fields_are_ignored() -> None:
    assert decode_message(Paint, {"color": "BLUE", "gloss": 0.5}) == Paint(color=Color.BLUE)


def test_an_unknown_member_in_an_optional_field_reads_as_its_default() -> None:
    decoded = decode_message(Paint, {"color": "BLUE", "trim": "GREEN"})
    assert decoded.trim is Color.RED


def test_unknown_members_in_sequences_are_skipped() -> None:
    decoded = decode_message(
        Paint, {"color": "RED", "palette": ["BLUE", "GREEN", "RED"], "tags": ["GREEN", "BLUE"]})
    assert decoded.palette == (Color.BLUE, Color.RED)
    assert decoded.tags == frozenset({Color.BLUE})


def test_an_unknown_member_in_a_required_field_makes_the_message_unreadable() -> None:
    with pytest.raises(MessageTypeError, match="not a Color"):
        decode_message(Paint, {"color": "GREEN"})


def test_a_wrongly_typed_enum_value_is_still_an_error() -> None:
    with pytest.raises(MessageTypeError):
        decode_message(Paint, {"color": "RED", "trim": 7})
