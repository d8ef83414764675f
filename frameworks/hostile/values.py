"""Hostile values: message bodies built from the protocol's own schemas, then broken.

``Values(rng)`` reads a message class's dataclass fields and annotations (the same ones
``transport.codec`` checks) and makes

- ``plausible(cls)``: a body that decodes, with boundary values in every field (empty
  and huge strings, ``2**63 - 1``, NaN and infinities, negative resources, unknown enum
  members in sequences, long lists) -- what reaches a handler;
- ``confused(cls)``: the same body with one field of the wrong type, a required field
  missing, unknown fields, or nesting deeper than any schema -- what the codec refuses;
- ``random_value()``: any msgpack value, ext types included.

Used by ``frameworks.hostile.wire`` (the ZeroMQ attacks); knows only the codec's
supported field types, so new messages are covered as they are declared.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import types
import typing
from random import Random
from typing import Any

import msgpack

from actors.resources import Resources
from transport.pid import PID

__all__ = ["Values"]

_MAX_DEPTH = 4
_INTS = (0, 1, -1, 2**31, -(2**31), 2**63 - 1, -(2**63), 65535, 65536)
_FLOATS = (0.0, -0.0, -1.0, 1e308, -1e308, 5e-324, math.nan, math.inf, -math.inf)
_WEIRD = ("", " ", "*", "\x00", "..", "../../etc/passwd", "é" * 3, "\U0001f4a5", "%s%n",
          "a@b", "master", "agent", "TASK_RUNNING", "cpus", "-1", "null", "\ud7ff")


class Values:
    """Random and boundary values for message bodies (see the module docstring)."""

    def __init__(self, rng: Random, fake_pid: typing.Callable[[], str] | None = None,
                 huge: int = 16 * 1024) -> None:
        self.rng = rng
        self.fake_pid = fake_pid or (lambda: f"x@127.0.0.1:{rng.randrange(1, 65536)}")
        self.huge = huge
        """The longest string or bytes value made (well under any frame limit)."""

    # --- any value ----------------------------------------------------------------------

    def random_value(self, depth: int = 0) -> Any:
        rng = self.rng
        kind = rng.randrange(11 if depth < _MAX_DEPTH else 7)
        if kind == 0:
            return None
        if kind == 1:
            return rng.random() < 0.5
        if kind == 2:
            return rng.choice(_INTS) if rng.random() < 0.5 else rng.randint(-(2**63), 2**64 - 1)
        if kind == 3:
            return rng.choice(_FLOATS) if rng.random() < 0.5 else rng.uniform(-1e9, 1e9)
        if kind == 4:
            return self.string()
        if kind == 5:
            return rng.randbytes(rng.randrange(32))
        if kind == 6:
            if rng.random() < 0.2:  # ext type -1, which msgpack reads as a Timestamp
                return msgpack.Timestamp(rng.randrange(2**32), rng.randrange(10**9))
            return msgpack.ExtType(rng.randrange(128), rng.randbytes(rng.randrange(9)))
        if kind in (7, 8):
            return [self.random_value(depth + 1) for _ in range(rng.randrange(5))]
        if kind == 9:
            return {self.string(8): self.random_value(depth + 1) for _ in range(rng.randrange(4))}
        return {rng.randrange(-5, 5): self.random_value(depth + 1)}  # a map with int keys

    def string(self, limit: int | None = None) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.3:
            text = rng.choice(_WEIRD)
        elif roll < 0.31 and limit is None:
            text = rng.choice("ax\u00e9") * rng.randrange(1, self.huge)
        else:
            text = "".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(rng.randrange(24)))
        return text if limit is None else text[:limit]

    def resources(self) -> list[Any]:
        """The wire form of ``Resources``: often valid, sometimes negative, NaN or huge."""
        rng = self.rng
        if rng.random() < 0.4:
            cpus = rng.choice([1, 4, 1000, 10**9])
            return Resources.parse(f"cpus:{cpus};mem:{cpus * 1024};disk:1024;"
                                   "ports:[31000-31099]").to_data()
        entries: list[Any] = []
        for _ in range(rng.randrange(1, 5)):
            name = rng.choice(["cpus", "mem", "disk", "ports", "gpus", "", "x" * 200, "c:p"])
            kind = rng.choice(["SCALAR", "RANGES", "SET", "TEXT", ""])
            value: Any = rng.choice([-1000, 0, 2**62, math.nan, math.inf, 1.5,
                                     [[5, 1]], [[0, 2**40]], ["a", "a"], None])
            stack = rng.choice([[], [["DYNAMIC", "*", None]], [["STATIC", "r", "p"]], [[1]]])
            entries.append([name, stack, kind, value])
        return entries

    # --- bodies from schemas ------------------------------------------------------------

    def plausible(self, cls: type, depth: int = 0) -> dict[str, Any]:
        """A body for ``cls`` (a message or record) whose every field has its own type."""
        hints = typing.get_type_hints(cls)
        body: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            required = f.default is dataclasses.MISSING and (
                f.default_factory is dataclasses.MISSING)
            if required or self.rng.random() < 0.5:
                body[f.name] = self.of_type(hints[f.name], depth)
        return body

    def confused(self, cls: type) -> dict[str, Any]:
        """A body for ``cls`` that its schema refuses (or, rarely, one with unknown extras)."""
        rng = self.rng
        body = self.plausible(cls)
        fields = [f.name for f in dataclasses.fields(cls)]
        kind = rng.randrange(5)
        if kind == 0 and fields:  # one field of the wrong type
            name = rng.choice(fields)
            body[name] = self._wrong_for(typing.get_type_hints(cls)[name])
        elif kind == 1:  # required fields missing
            for f in dataclasses.fields(cls):
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    body.pop(f.name, None)
            if not body:
                body = {"": None}
        elif kind == 2:  # unknown fields (ignored by design) with a wrong one among them
            for _ in range(rng.randrange(1, 6)):
                body[self.string(16) or "_"] = self.random_value()
            if fields:
                body[rng.choice(fields)] = self.random_value()
        elif kind == 3 and fields:  # deep nesting where a record or value goes
            nested: Any = None
            for _ in range(rng.choice([50, 200, 400])):  # the packer stops at 512
                nested = [nested] if rng.random() < 0.5 else {"x": nested}
            body[rng.choice(fields)] = nested
        else:  # not a map at all
            return typing.cast(dict[str, Any], rng.choice([[body], "body", 7, None]))
        return body

    def _wrong_for(self, tp: Any) -> Any:
        """A value of another type than ``tp`` wants (most of the time)."""
        for _ in range(8):
            value = self.random_value()
            if tp is str and type(value) is not str:
                return value
            if tp in (int, float) and type(value) not in (int, float):
                return value
            if tp not in (str, int, float):
                return value
        return [value]

    def of_type(self, tp: Any, depth: int = 0) -> Any:
        """A plausible wire value of annotation ``tp`` (boundary values favoured)."""
        rng = self.rng
        if tp is Any:
            return self.random_value(depth)
        if tp is bool:
            return rng.random() < 0.5
        if tp is int:
            return rng.choice(_INTS) if rng.random() < 0.6 else rng.randrange(-10, 10**6)
        if tp is float:
            return rng.choice(_FLOATS) if rng.random() < 0.6 else rng.uniform(-1e6, 1e6)
        if tp is str:
            return self.string()
        if tp is bytes:
            return rng.randbytes(rng.choice([0, 1, 16, 16, 4096]))
        if tp is PID:
            return self.fake_pid()
        if tp is Resources:
            return self.resources()
        if tp is type(None):
            return None
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            names = list(tp.__members__)
            return rng.choice(names) if rng.random() < 0.9 else "NOT_A_" + tp.__name__.upper()
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            return self.plausible(tp, depth + 1) if depth < _MAX_DEPTH else {}
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin in (typing.Union, types.UnionType):
            inner = next(a for a in args if a is not type(None))
            return None if rng.random() < 0.3 else self.of_type(inner, depth)
        if origin in (tuple, list, frozenset):
            count = 0 if depth >= _MAX_DEPTH else rng.choice([0, 0, 1, 1, 2, 3])
            if depth == 0 and rng.random() < 0.02:
                count = 200
            return [self.of_type(args[0], depth + 1) for _ in range(count)]
        if origin is dict:
            count = 0 if depth >= _MAX_DEPTH else rng.randrange(4)
            return {self.string(32): self.of_type(args[1], depth + 1) for _ in range(count)}
        return self.random_value(depth)
