"""Credentials files (Mesos' ``--credentials`` / ``--http_credentials`` format).

JSON ``{"credentials": [{"principal": "p", "secret": "s"}, ...]}`` inline, in a file
(a path or ``file://path``), or the plain text format: one ``principal secret`` per line.
``load_credentials`` returns ``{principal: secret}``; ``CredentialsError`` says what is
wrong. Read by the master's and agent's flags; pure.
"""

from __future__ import annotations

import json

from actors.errors import ActorsError

__all__ = ["CredentialsError", "load_credentials"]


class CredentialsError(ActorsError, ValueError):
    """Credentials that cannot be used; the message says why."""


def _from_json(text: str) -> dict[str, str]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CredentialsError(f"not valid JSON: {exc}") from None
    entries = data.get("credentials") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise CredentialsError('expected {"credentials": [{"principal": ..., "secret": ...}]}')
    out: dict[str, str] = {}
    for i, entry in enumerate(entries):
        if not (isinstance(entry, dict) and isinstance(entry.get("principal"), str)
                and isinstance(entry.get("secret", ""), str) and entry["principal"]):
            raise CredentialsError(f"credentials[{i}]: expected a principal and a secret")
        out[entry["principal"]] = entry.get("secret", "")
    return out


def load_credentials(text: str) -> dict[str, str]:
    """``{principal: secret}`` from inline JSON, a file path or ``file://path``."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        return _from_json(text)
    path = text.removeprefix("file://")
    try:
        with open(path, encoding="utf-8") as f:
            body = f.read()
    except OSError as exc:
        raise CredentialsError(f"cannot read {path}: {exc.strerror or exc}") from None
    if body.lstrip().startswith("{"):
        return _from_json(body)
    out: dict[str, str] = {}
    for number, line in enumerate(body.splitlines(), 1):
        words = line.split()
        if not words:
            continue
        if len(words) != 2:
            raise CredentialsError(f"{path}:{number}: expected 'principal secret'")
        out[words[0]] = words[1]
    return out
