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

Routes are served at ``/<process>/<path>`` and at ``/<path>`` on the delegate, so a path
is classified with its first segment stripped when that names a process (``processes``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable, Collection, Mapping

from transport.http import HttpResponse

__all__ = ["RealmAuthenticator", "basic_authorization", "parse_basic"]


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


class RealmAuthenticator:
    """See the module docstring."""

    def __init__(self, prefix: str, credentials: Mapping[str, str], *, readonly: bool,
                 readwrite: bool, readwrite_paths: Collection[str],
                 open_paths: Collection[str] = (),
                 processes: Callable[[], Collection[str]] = tuple) -> None:
        self.prefix = prefix
        self.credentials = dict(credentials)
        self.enabled = {"readonly": readonly, "readwrite": readwrite}
        self.readwrite_paths = tuple(readwrite_paths)
        self.open_paths = frozenset(open_paths)
        self.processes = processes

    def realm(self, path: str) -> str | None:
        """``readonly``, ``readwrite`` or ``None`` (open) for ``path``."""
        head, _, rest = path.lstrip("/").partition("/")
        local = f"/{rest}" if rest and head in self.processes() else path
        if local in self.open_paths or path in self.open_paths:
            return None
        for prefix in self.readwrite_paths:
            if local == prefix or local.startswith(prefix.rstrip("/") + "/") or path == prefix:
                return "readwrite"
        return "readonly"

    def authenticate(self, method: str, path: str,
                     headers: Mapping[str, str]) -> str | HttpResponse | None:
        kind = self.realm(path)
        if kind is None or not self.enabled[kind]:
            return None
        realm = f"{self.prefix}-{kind}"
        found = parse_basic(headers.get("Authorization", ""))
        if found is not None:
            principal, secret = found
            expected = self.credentials.get(principal)
            if expected is not None and hmac.compare_digest(expected.encode(),
                                                            secret.encode()):
                return principal
        return HttpResponse(401, b"Unauthorized", "text/plain",
                            {"WWW-Authenticate": f'Basic realm="{realm}"'})
