"""Credentials files (Mesos' ``--credentials`` / ``--http_credentials`` format).

JSON ``{"credentials": [{"principal": "p", "secret": "s"}, ...]}`` inline, in a file
(a path or ``file://path``), or the plain text format: one ``principal secret`` per line.
``load_credentials`` returns ``{principal: secret}``; ``CredentialsError`` says what is
wrong. Read by the master's and agent's flags; pure. The format is parsed by
``actors.messages.authentication.parse_credentials`` (the same as ``--credentials``).
"""

from __future__ import annotations

from actors.errors import ActorsError
from actors.messages.authentication import parse_credentials

__all__ = ["CredentialsError", "load_credentials"]


class CredentialsError(ActorsError, ValueError):
    """Credentials that cannot be used; the message says why."""


def load_credentials(text: str) -> dict[str, str]:
    """``{principal: secret}`` from inline JSON, a file path or ``file://path``."""
    text = text.strip()
    if not text:
        return {}
    try:
        if text.startswith("{"):
            found = parse_credentials(text, "credentials")
        else:
            path = text.removeprefix("file://")
            found = parse_credentials(read_text(path), path)
    except ValueError as exc:
        raise CredentialsError(str(exc)) from None
    return {c.principal: c.secret for c in found}


def read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        raise CredentialsError(f"cannot read {path}: {exc.strerror or exc}") from None
