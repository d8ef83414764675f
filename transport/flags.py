"""Command-line flags the Mesos way, each with a ``MESETA_<NAME>`` environment fallback.

Programs declare their flags once::

    flags = Flags("meseta-master", "Run a Meseta master.")
    flags.add("port", int, 5050, "port the ZeroMQ endpoint listens on")
    flags.add("offer_timeout", Duration, None, "rescind offers not answered in time")
    values = flags.parse(sys.argv[1:])          # exits with a clear message on bad input
    values.port, values.offer_timeout

Syntax follows Mesos: ``--name=value`` or ``--name value``; booleans as ``--name``,
``--no-name`` or ``--name=true|false``; durations as ``5secs``, ``100ms``, ``10mins``,
``2hrs``, ``1days`` (a bare number is seconds); byte sizes as ``512MB``, ``4GB``.
A flag not on the command line takes ``MESETA_<NAME>`` (upper case) from the
environment, then its default. Used by the console scripts; libraries take the
resulting values, never ``sys.argv``.

Flags whose value is a document (``--acls``, ``--rate_limits``, the credentials flags)
take it inline or from a file, with Mesos' rule: a value starting with ``file://`` or
``/`` names a file to read, anything else is the text itself (``read_flag_value``;
``load_json_flag`` also decodes JSON). Their errors name the flag.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

__all__ = [
    "Bytes",
    "Duration",
    "FlagError",
    "Flags",
    "at_least",
    "flag_path",
    "load_json_flag",
    "not_negative",
    "one_of",
    "parse_bool",
    "parse_bytes",
    "parse_duration",
    "port_number",
    "positive",
    "read_flag_value",
]


class Duration(float):
    """Seconds, parsed from Mesos' duration syntax."""


class Bytes(int):
    """A byte count, parsed from Mesos' byte syntax."""


class FlagError(ValueError):
    """A flag value that cannot be used; the message says which and why."""


_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "secs": 1.0, "sec": 1.0, "s": 1.0,
                   "mins": 60.0, "min": 60.0, "hrs": 3600.0, "hr": 3600.0, "days": 86400.0,
                   "day": 86400.0, "weeks": 604800.0}
_BYTE_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
_NUMBER_UNIT = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*$")


def parse_duration(text: str) -> Duration:
    match = _NUMBER_UNIT.match(text)
    unit = match.group(2) if match else ""
    if match is None or (unit and unit not in _DURATION_UNITS):
        raise FlagError(f"{text!r} is not a duration (e.g. 5secs, 100ms, 10mins)")
    return Duration(float(match.group(1)) * _DURATION_UNITS.get(unit, 1.0))


def parse_bytes(text: str) -> Bytes:
    match = _NUMBER_UNIT.match(text)
    unit = (match.group(2) if match else "").upper()
    if match is None or (unit and unit not in _BYTE_UNITS):
        raise FlagError(f"{text!r} is not a byte size (e.g. 512MB, 4GB)")
    return Bytes(int(float(match.group(1)) * _BYTE_UNITS.get(unit or "B", 1)))


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise FlagError(f"{text!r} is not a boolean (true or false)")


# --- validators for ``Flags.add(check=...)``: each returns None or what is wrong ----------


def port_number(value: int) -> str | None:
    return None if 0 <= value <= 65535 else "a port is between 0 and 65535"


def positive(value: float) -> str | None:
    return None if value > 0 else "must be positive"


def not_negative(value: float) -> str | None:
    return None if value >= 0 else "must not be negative"


def at_least(minimum: float) -> Callable[[float], str | None]:
    def check(value: float) -> str | None:
        return None if value >= minimum else f"must be at least {minimum:g}"
    return check


def one_of(*choices: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"
    return check


def checked_by(parse: Callable[[str], object]) -> Callable[[str], str | None]:
    """A flag check from a parser that raises ``ValueError`` saying what is wrong."""
    def check(value: str) -> str | None:
        try:
            parse(value)
        except ValueError as exc:
            return str(exc)
        return None
    return check


# --- documents given inline or in a file -------------------------------------------------


def flag_path(value: str) -> str | None:
    """The file a flag value names (it starts with ``file://`` or ``/``); ``None``: inline."""
    if value.startswith("file://"):
        return value[len("file://"):]
    if value.startswith("/"):
        return value
    return None


def read_flag_value(value: str, flag: str, inline: str = "inline text") -> str:
    """The text of ``--flag``: the file's content when ``value`` names one (``flag_path``),
    else ``value`` itself; ``FlagError`` naming the flag when the file cannot be read
    (``inline`` says what an inline value would have been, for that message)."""
    path = flag_path(value)
    if path is None:
        return value
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        reason = exc.strerror or str(exc)
    except UnicodeDecodeError as exc:
        reason = f"not UTF-8 text ({exc.reason})"
    raise FlagError(f"--{flag}: {value!r} is neither {inline} nor a readable file: {reason}")


def load_json_flag(value: str, flag: str) -> Any:
    """The JSON of ``--flag``, inline or in a file (``read_flag_value``); ``FlagError``
    naming the flag (and the file) when it cannot be read or is not JSON."""
    text = read_flag_value(value, flag, "JSON")
    try:
        return json.loads(text)
    except ValueError as exc:
        path = flag_path(value)
        where = f"--{flag}: " if path is None else f"--{flag}: {path}: "
        raise FlagError(f"{where}not valid JSON: {exc}") from None


def _converter(kind: type) -> Callable[[str], Any]:
    if kind is Duration:
        return parse_duration
    if kind is Bytes:
        return parse_bytes
    if kind is bool:
        return parse_bool
    if kind in (int, float, str):
        def convert(text: str) -> Any:
            try:
                return kind(text)
            except ValueError:
                raise FlagError(f"{text!r} is not a valid {kind.__name__}") from None
        return convert
    return kind  # a custom parser: a callable str -> value raising ValueError


@dataclass(frozen=True)
class _Flag:
    name: str
    kind: Any
    default: Any
    help: str
    check: Callable[[Any], str | None] | None


class Flags:
    """A program's flags; ``parse`` returns a namespace of their values."""

    def __init__(self, prog: str, description: str) -> None:
        self.prog = prog
        self.description = description
        self._flags: dict[str, _Flag] = {}

    def add(self, name: str, kind: Any, default: Any, help: str,
            check: Callable[[Any], str | None] | None = None) -> None:
        """Declare ``--name``; ``check(value)`` may return an error message."""
        self._flags[name] = _Flag(name, kind, default, help, check)

    def env_name(self, name: str) -> str:
        return f"MESETA_{name.upper()}"

    def parse(self, argv: Sequence[str], env: Mapping[str, str] | None = None,
              exit_on_error: bool = True) -> argparse.Namespace:
        """Parse ``argv`` with environment fallbacks; bad input exits with status 2."""
        env = os.environ if env is None else env
        parser = _Parser(prog=self.prog, description=self.description,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.exit_on_error_flag = exit_on_error
        for flag in self._flags.values():
            helptext = f"{flag.help} (env {self.env_name(flag.name)}; default {flag.default})"
            if flag.kind is bool:
                parser.add_argument(f"--{flag.name}", nargs="?", const="true", default=None,
                                    metavar="BOOL", help=helptext)
                parser.add_argument(f"--no-{flag.name}", dest=flag.name, action="store_const",
                                    const="false", help=argparse.SUPPRESS)
            else:
                parser.add_argument(f"--{flag.name}", default=None, metavar=flag.name.upper(),
                                    help=helptext)
        raw = parser.parse_args(list(argv))
        values: dict[str, Any] = {}
        for flag in self._flags.values():
            text = getattr(raw, flag.name)
            source = f"--{flag.name}"
            if text is None and self.env_name(flag.name) in env:
                text, source = env[self.env_name(flag.name)], self.env_name(flag.name)
            try:
                value = flag.default if text is None else _converter(flag.kind)(text)
                problem = flag.check(value) if flag.check and value is not None else None
            except (FlagError, ValueError) as exc:
                problem = str(exc)
            if problem:  # said once, by where it came from, even if the problem names the flag
                parser.error(f"{source}: {problem.removeprefix(f'--{flag.name}: ')}")
            values[flag.name] = value
        return argparse.Namespace(**values)


class _Parser(argparse.ArgumentParser):
    exit_on_error_flag = True

    def error(self, message: str) -> NoReturn:
        if not self.exit_on_error_flag:
            raise FlagError(message)
        super().error(message)
