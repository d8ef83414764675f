"""Credentials files (Mesos' ``--credentials`` / ``--http_credentials`` format).

JSON ``{"credentials": [{"principal": "p", "secret": "s"}, ...]}`` or the plain text
format, one ``principal secret`` per line; inline or in a file (``/path`` or
``file://path``: ``transport.flags.read_flag_value``).
``load_credentials`` returns ``{principal: secret}``; ``CredentialsError`` says what is
wrong. Read by the master's and agent's flags; pure. The format is parsed by
``actors.messages.authentication.read_credentials`` (the same as ``--credentials``).
"""

from __future__ import annotations

from actors.errors import ActorsError
from actors.messages.authentication import read_credentials

__all__ = ["CredentialsError", "load_credentials"]


class CredentialsError(ActorsError, ValueError):
    """Credentials that cannot be used; the message says why."""


def load_credentials(text: str) -> dict[str, str]:
    """``{principal: secret}`` of ``--http_credentials``: inline, ``file://path`` or ``/path``."""
    if not text.strip():
        return {}
    try:
        found = read_credentials(text, "http_credentials")
    except ValueError as exc:
        raise CredentialsError(str(exc)) from None
    return {c.principal: c.secret for c in found}
