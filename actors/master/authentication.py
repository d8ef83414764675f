"""Who sent this? The master's one answer: ``Authentication.principal_of(pid)``.

A sender is authenticated in one of two ways:

- by its CURVE key (``--curve``; ``transport.curve``): the name of the key that owns
  the sender's address (the key file ``<principal>.key``) is its principal;
- by a credential (``--credentials``): the CRAM exchange of
  ``actors.messages.authentication``, answered here (``handle``), binds the sender's
  PID to the principal it proved, until its connection breaks (``forget``); an HTTP
  framework's SUBSCRIBE proves it with HTTP Basic (``--authenticate_http_frameworks``),
  and its stream's PID is bound the same way (``bind``) until the stream closes.

A credential proved beats the key (a key may be shared by a machine's frameworks).
The master asks ``principal_of`` to refuse unauthenticated registrations when
``--authenticate_frameworks`` / ``--authenticate_agents`` is on (``framework_refusal``,
``agent_refusal``: Mesos' texts) and a ``FrameworkInfo.principal`` given that is not the
authenticated one (an empty one is allowed, as in Mesos); authorization asks it too.
Pure: no actor, no zmq; the master actor feeds it messages and sends what it returns.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from actors.messages.authentication import (
    MECHANISM,
    Authenticate,
    AuthenticationCompleted,
    AuthenticationError,
    AuthenticationFailed,
    AuthenticationMechanisms,
    AuthenticationStart,
    AuthenticationStep,
    respond,
)
from actors.messages.info import FrameworkInfo
from transport.pid import PID

__all__ = ["Authentication"]


class Authentication:
    """Credentials, sessions in progress, and who is authenticated as whom."""

    def __init__(self, credentials: Mapping[str, str] | None = None,
                 key_principal: Callable[[PID], str | None] = lambda pid: None,
                 nonce: Callable[[], str] = lambda: secrets.token_hex(16)) -> None:
        self.credentials = dict(credentials or {})
        self._key_principal = key_principal
        self._nonce = nonce
        self._sessions: dict[PID, tuple[str, str]] = {}
        """PID -> (principal, nonce) of an exchange waiting for the client's answer."""
        self._starting: set[PID] = set()
        self.authenticated: dict[PID, str] = {}
        """PID -> the principal its credential proved."""

    def principal_of(self, pid: PID) -> str | None:
        """The authenticated principal of messages from ``pid``, or ``None`` (unknown)."""
        return self.authenticated.get(pid) or self._key_principal(pid)

    def bind(self, pid: PID, principal: str) -> None:
        """``pid`` is ``principal``, proved by other means: an HTTP framework's stream, whose
        SUBSCRIBE authenticated in ``mesos-master-scheduler`` (``scheduler_api.auth``)."""
        self.authenticated[pid] = principal

    def forget(self, pid: PID) -> None:
        """The sender's connection broke: it authenticates again (as Mesos)."""
        self.authenticated.pop(pid, None)
        self._sessions.pop(pid, None)
        self._starting.discard(pid)

    def handle(self, frm: PID, msg: Any) -> Any | None:
        """The master's answer to one message of the exchange (``None``: nothing)."""
        if isinstance(msg, Authenticate):  # a new attempt discards an earlier one
            self.forget(frm)
            self._starting.add(frm)
            return AuthenticationMechanisms(mechanisms=(MECHANISM,))
        if isinstance(msg, AuthenticationStart):
            if frm not in self._starting:
                return AuthenticationError(error="no authentication in progress")
            self._starting.discard(frm)
            if msg.mechanism != MECHANISM:
                return AuthenticationError(error=f"unsupported mechanism {msg.mechanism!r}")
            nonce = self._nonce()
            self._sessions[frm] = (msg.principal, nonce)
            return AuthenticationStep(data=nonce)
        if isinstance(msg, AuthenticationStep):
            session = self._sessions.pop(frm, None)
            if session is None:
                return AuthenticationError(error="no authentication in progress")
            principal, nonce = session
            secret = self.credentials.get(principal)
            if secret is None or not hmac.compare_digest(respond(secret, nonce), msg.data):
                return AuthenticationFailed(reason=f"Authentication failed for principal "
                                                   f"'{principal}'")
            self.authenticated[frm] = principal
            return AuthenticationCompleted()
        return None

    def framework_refusal(self, frm: PID, info: FrameworkInfo, required: bool) -> str | None:
        """Why a (re-)registration from ``frm`` is refused, or ``None`` (Mesos' texts)."""
        principal = self.principal_of(frm)
        if principal is None:
            return f"Framework at {frm} is not authenticated" if required else None
        if info.principal and info.principal != principal:  # Mesos lets it be omitted
            return (f"Framework principal '{info.principal}' does not match authenticated "
                    f"principal '{principal}'")
        return None

    def agent_refusal(self, frm: PID, required: bool) -> str | None:
        if required and self.principal_of(frm) is None:
            return (f"Refusing registration of agent at {frm} because it is not "
                    f"authenticated")
        return None
