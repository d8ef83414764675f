"""HTTP Basic authentication by realm, Mesos' way: the node's ``http_authenticator``.

``RealmAuthenticator`` is installed on the master's and the agent's ``Node``
(``transport.http`` shows it every request first). Each path belongs to a realm:
``<prefix>-readonly`` (state, metrics, flags, files, ``/__processes__``, ``/__trace__``:
anything that only reads) or ``<prefix>-readwrite`` (what changes things: the
``readwrite`` paths given, e.g. ``/teardown``, ``/api/v1``); a few paths are ``open``
(``/health``, the web UI's static files). With ``--authenticate_http_readonly`` /
``--authenticate_http_readwrite`` a request of that realm needs ``Authorization: Basic``
with a principal and secret from ``--http_credentials``, else ``401`` with
``WWW-Authenticate: Basic realm="<realm>"``; the principal reaches the handler as
``request.principal``. A realm whose authentication is off lets everyone through as
anonymous (principal ``None``), as in Mesos.

A few paths have a realm of their own (``realms``: path -> ``Realm``), checked whatever
``--authenticate_http_readonly|readwrite`` say: the master's ``/api/v1/scheduler`` in
``mesos-master-scheduler`` (``BasicRealm`` over ``--credentials``, with
``--authenticate_http_frameworks``) and the agent's ``/api/v1/executor`` in
``mesos-agent-executor`` (``BearerRealm``: the agent's JWTs, with
``--authenticate_http_executors``). A token's claims reach the handler on the principal
(``Principal.claims``; a Basic principal has none).

Routes are served at ``/<process>/<path>`` and at ``/<path>`` on the delegate, so a path
is classified with its first segment stripped when that names a process (``processes``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Callable, Collection, Mapping
from typing import Protocol

from actors.authorization.jwt import JWTError, decode
from transport.http import HttpResponse

__all__ = ["BasicRealm", "BearerRealm", "Principal", "Realm", "RealmAuthenticator",
           "basic_authorization", "parse_basic"]


class Principal(str):
    """An authenticated principal that carries claims (a JWT's); as a ``str`` it is its
    name, so it goes wherever a principal goes."""

    claims: Mapping[str, str]

    def __new__(cls, value: str, claims: Mapping[str, str]) -> Principal:
        principal = super().__new__(cls, value)
        principal.claims = dict(claims)
        return principal


class Realm(Protocol):
    """One realm's check of a request's headers: the principal, or the 401 to send."""

    name: str

    def check(self, headers: Mapping[str, str]) -> str | HttpResponse:
        ...


def _unauthorized(challenge: str) -> HttpResponse:
    return HttpResponse(401, b"Unauthorized", "text/plain", {"WWW-Authenticate": challenge})


def basic_authorization(principal: str, secret: str) -> str:
    """The ``Authorization`` header value for ``principal:secret``."""
    token = base64.b64encode(f"{principal}:{secret}".encode()).decode()
    return f"Basic {token}"


def parse_basic(header: str) -> tuple[str, str] | None:
    """``(principal, secret)`` from a Basic ``Authorization`` value; None if malformed."""
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    principal, colon, secret = decoded.partition(":")
    return (principal, secret) if colon and principal else None


class BasicRealm:
    """HTTP Basic against ``credentials`` (principal -> secret), as libprocess' basic
    authenticator: ``401`` with ``WWW-Authenticate: Basic realm="<name>"`` otherwise."""

    def __init__(self, name: str, credentials: Mapping[str, str]) -> None:
        self.name = name
        self.credentials = dict(credentials)

    def check(self, headers: Mapping[str, str]) -> str | HttpResponse:
        found = parse_basic(headers.get("Authorization", ""))
        if found is not None:
            principal, secret = found
            expected = self.credentials.get(principal)
            if expected is not None and hmac.compare_digest(expected.encode(),
                                                            secret.encode()):
                return principal
        return _unauthorized(f'Basic realm="{self.name}"')


class BearerRealm:
    """``Authorization: Bearer <JWT>`` signed with ``key`` (libprocess' JWT authenticator):
    the principal carries the token's claims (string values kept, others as JSON); a
    missing header, another scheme, a bad token or one without claims get ``401`` with
    ``WWW-Authenticate: Bearer realm="<name>"`` (and ``error="invalid_token"`` when a
    token was given, RFC 6750)."""

    def __init__(self, name: str, key: bytes) -> None:
        self.name = name
        self.key = key

    def _invalid(self, why: str) -> HttpResponse:
        # What the token said goes into a header: printable ASCII only, and not much.
        why = "".join(c if c != '"' else "'" for c in why[:200]
                      if c.isascii() and c.isprintable() and c != "\\")
        return _unauthorized(f'Bearer realm="{self.name}", error="invalid_token", '
                             f'error_description="{why}"')

    def check(self, headers: Mapping[str, str]) -> str | HttpResponse:
        header = headers.get("Authorization")
        if header is None:
            return _unauthorized(f'Bearer realm="{self.name}"')
        parts = header.split(" ")
        if len(parts) != 2:
            return self._invalid("Malformed 'Authorization' header")
        if parts[0] != "Bearer":
            return self._invalid(f"Scheme '{parts[0][:32]}' unsupported")
        try:
            claims = decode(parts[1], self.key)
        except JWTError as exc:
            return self._invalid(f"Invalid JWT: {exc}")
        if not claims:
            return self._invalid("JWT claims missing")
        values = {k: v if isinstance(v, str) else json.dumps(v) for k, v in claims.items()}
        return Principal(json.dumps({"claims": values}, sort_keys=True), values)


class RealmAuthenticator:
    """See the module docstring."""

    def __init__(self, prefix: str, credentials: Mapping[str, str], *, readonly: bool,
                 readwrite: bool, readwrite_paths: Collection[str],
                 open_paths: Collection[str] = (),
                 processes: Callable[[], Collection[str]] = tuple,
                 realms: Mapping[str, Realm] | None = None) -> None:
        self.prefix = prefix
        self.credentials = dict(credentials)
        self.enabled = {"readonly": readonly, "readwrite": readwrite}
        self.realms = dict(realms or {})
        """Path -> the realm of its own that authenticates it (see the module docstring)."""
        self._basic = {kind: BasicRealm(f"{prefix}-{kind}", credentials)
                       for kind in ("readonly", "readwrite")}
        self.readwrite_paths = tuple(readwrite_paths)
        self.open_paths = frozenset(open_paths)
        self.processes = processes

    def _own(self, path: str) -> tuple[str, Realm | None]:
        """``path`` without its process prefix, and the realm of its own if it has one."""
        head, _, rest = path.lstrip("/").partition("/")
        local = f"/{rest}" if rest and head in self.processes() else path
        return local, self.realms.get(local) or self.realms.get(path)

    def realm(self, path: str) -> str | None:
        """``readonly``, ``readwrite``, the name of a path's own realm, or ``None`` (open)."""
        local, own = self._own(path)
        if own is not None:
            return own.name
        if local in self.open_paths or path in self.open_paths:
            return None
        for prefix in self.readwrite_paths:
            if local == prefix or local.startswith(prefix.rstrip("/") + "/") or path == prefix:
                return "readwrite"
        return "readonly"

    def authenticate(self, method: str, path: str,
                     headers: Mapping[str, str]) -> str | HttpResponse | None:
        own = self._own(path)[1]
        if own is not None:
            return own.check(headers)
        kind = self.realm(path)
        if kind is None or not self.enabled[kind]:
            return None
        return self._basic[kind].check(headers)
