"""Authentication before registration: scheduler driver / agent <-> master (Mesos' CRAM).

With ``--authenticate_frameworks`` / ``--authenticate_agents`` the master admits only
senders that proved a principal first. The exchange (Mesos' message names, one
mechanism, ``CRAM-HMAC-SHA256``: an HMAC-SHA256 of a fresh master nonce keyed with the
secret, so the secret never travels)::

    client -> master  Authenticate(pid)
    master -> client  AuthenticationMechanisms(mechanisms)
    client -> master  AuthenticationStart(mechanism, principal)
    master -> client  AuthenticationStep(data=nonce)
    client -> master  AuthenticationStep(data=hmac(secret, nonce))
    master -> client  AuthenticationCompleted | AuthenticationFailed | AuthenticationError

Also here, because the driver and the agent share them: ``Credential`` and the flags
that hold credentials (``load_credential``: ``--credential`` / ``MESETA_CREDENTIAL``;
``load_credentials``: the master's ``--credentials``; ``read_credentials`` for any, also
``--http_credentials``), given inline, as ``file://path`` or ``/path``
(``transport.flags.read_flag_value``), in Mesos' JSON or one ``principal secret`` per
line; ``respond`` (the HMAC); and ``Authenticatee``, the client's side of the exchange as
a pure state machine.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transport.codec import message
from transport.flags import flag_path, read_flag_value

__all__ = [
    "MECHANISM",
    "Authenticate",
    "Authenticatee",
    "AuthenticationCompleted",
    "AuthenticationError",
    "AuthenticationFailed",
    "AuthenticationMechanisms",
    "AuthenticationStart",
    "AuthenticationStep",
    "Credential",
    "load_credential",
    "load_credentials",
    "parse_credentials",
    "read_credentials",
    "respond",
]

MECHANISM = "CRAM-HMAC-SHA256"


@message
class Authenticate:
    """Driver/agent -> master: I want to authenticate (sent before registering)."""

    pid: str = ""


@message
class AuthenticationMechanisms:
    """Master -> driver/agent: the mechanisms it offers (the first answer to Authenticate)."""

    mechanisms: tuple[str, ...] = ()


@message
class AuthenticationStart:
    """Driver/agent -> master: authenticate ``principal`` with ``mechanism``."""

    mechanism: str
    principal: str


@message
class AuthenticationStep:
    """Master -> driver/agent: the challenge (a nonce); back the other way: the answer."""

    data: str


@message
class AuthenticationCompleted:
    """Master -> driver/agent: authenticated; registration may follow."""


@message
class AuthenticationFailed:
    """Master -> driver/agent: the credential was refused (Mesos: refused authentication)."""

    reason: str = ""


@message
class AuthenticationError:
    """Master -> driver/agent: the exchange went wrong (unknown mechanism, no session)."""

    error: str = ""


@dataclass(frozen=True, slots=True)
class Credential:
    """A principal and its secret (Mesos' ``Credential``)."""

    principal: str
    secret: str

    def __repr__(self) -> str:  # never log a secret
        return f"Credential(principal={self.principal!r})"


def respond(secret: str, nonce: str) -> str:
    """The answer to a challenge: HMAC-SHA256(secret, nonce), hex."""
    return hmac.new(secret.encode(), nonce.encode(), hashlib.sha256).hexdigest()


def parse_credentials(text: str, where: str) -> list[Credential]:
    """Mesos' credentials: JSON (``{"credentials": [...]}``, a list, or one) or
    ``principal secret`` lines; ``ValueError`` naming ``where`` when malformed."""
    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        try:
            data: Any = json.loads(stripped)
        except ValueError as exc:
            raise ValueError(f"{where}: not valid JSON: {exc}") from None
        entries = data.get("credentials", [data]) if isinstance(data, dict) else data
        if not isinstance(entries, list):
            raise ValueError(f"{where}: 'credentials' must be a list")
        found = []
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("principal"), str) \
                    or not isinstance(entry.get("secret", ""), str) or not entry["principal"]:
                raise ValueError(f"{where}: each credential needs a principal and a secret")
            found.append(Credential(entry["principal"], entry.get("secret", "")))
        return found
    found = []
    for number, line in enumerate(stripped.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ValueError(f"{where}:{number}: expected 'principal secret'")
        found.append(Credential(parts[0], parts[1]))
    return found


def read_credentials(value: str | Path, flag: str) -> list[Credential]:
    """The credentials ``--flag`` gives: inline, ``file://path``, ``/path`` or a relative
    path (one word that is not JSON; a ``Path`` is always a file); ``ValueError``
    naming the flag or the file when unreadable or malformed."""
    text = value.strip() if isinstance(value, str) else str(value)
    if isinstance(value, Path) or (flag_path(text) is None and text[:1] != "{"
                                   and len(text.split()) == 1):
        # Mesos' credentials flags are paths: one word that is not JSON names a file,
        # relative ones too ("principal secret" inline has two)
        text = f"file://{text}"
    where = flag_path(text) or f"--{flag}"
    return parse_credentials(read_flag_value(text, flag, "credentials"), where)


def load_credentials(value: str | Path, flag: str = "credentials") -> dict[str, str]:
    """The master's ``--credentials``: principal -> secret; ``ValueError`` if malformed."""
    found = read_credentials(value, flag)
    if not found:
        raise ValueError(f"--{flag}: no credentials")
    return {c.principal: c.secret for c in found}


def load_credential(value: str | Path, flag: str = "credential") -> Credential:
    """An agent's ``--credential`` / a driver's ``MESETA_CREDENTIAL``: exactly one."""
    found = read_credentials(value, flag)
    if len(found) != 1:
        raise ValueError(f"--{flag}: expected one credential, found {len(found)}")
    return found[0]


class Authenticatee:
    """The client's side: ``begin()`` starts, ``step(msg)`` answers each master message.

    ``step`` returns ``(reply, outcome)``: a message to send the master (or ``None``)
    and ``None`` while the exchange goes on, else ``"completed"``, ``"refused: ..."``
    (the credential was refused: Mesos aborts the driver / exits the agent) or
    ``"error: ..."`` (worth another try).
    """

    def __init__(self, credential: Credential) -> None:
        self.credential = credential
        self.started = False

    def begin(self, pid: str) -> Authenticate:
        self.started = True
        return Authenticate(pid=pid)

    def step(self, msg: Any) -> tuple[Any | None, str | None]:
        if not self.started:
            return None, None
        if isinstance(msg, AuthenticationMechanisms):
            if MECHANISM not in msg.mechanisms:
                self.started = False
                return None, f"error: the master offers {list(msg.mechanisms)}, not {MECHANISM}"
            return AuthenticationStart(mechanism=MECHANISM,
                                       principal=self.credential.principal), None
        if isinstance(msg, AuthenticationStep):
            return AuthenticationStep(data=respond(self.credential.secret, msg.data)), None
        self.started = False
        if isinstance(msg, AuthenticationCompleted):
            return None, "completed"
        if isinstance(msg, AuthenticationFailed):
            return None, f"refused: {msg.reason or 'Master refused authentication'}"
        if isinstance(msg, AuthenticationError):
            return None, f"error: {msg.error}"
        return None, None
