"""The security flags the master and the agent share, and how a node gets them.

``add_flags(flags)`` declares ``--acls``, ``--authenticate_http_readonly``,
``--authenticate_http_readwrite``, ``--http_credentials``, ``--ssl_enabled``,
``--ssl_cert_file`` and ``--ssl_key_file`` (each with its ``MESETA_<NAME>`` fallback;
bad ACLs or credentials exit with a clear message); ``from_flags(ns)`` builds the
``SecurityConfig`` kept in ``MasterConfig.security`` / ``AgentConfig.security``.
``secure_node`` makes the process's ``Node`` with its HTTPS context and its
``RealmAuthenticator`` (wiring, called by the two ``main``\\ s), with the realms of
their own the scheduler and executor APIs get (``actors.master.scheduler_api.auth``,
``actors.agent.executor_auth``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from actors.authorization.acls import ACLs, load_acls
from actors.authorization.credentials import load_credentials
from actors.authorization.http_auth import Realm, RealmAuthenticator
from actors.authorization.tls import server_context
from transport import Node
from transport.flags import Flags, flag_path

__all__ = ["SecurityConfig", "add_flags", "from_flags", "secure_node"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityConfig:
    """Authorization, HTTP authentication and TLS settings (Mesos' flags of these names)."""

    acls: ACLs = field(default_factory=ACLs)
    acls_source: str = ""
    """``--acls`` as given (shown by ``/flags``)."""
    authenticate_http_readonly: bool = False
    authenticate_http_readwrite: bool = False
    http_credentials: Mapping[str, str] = field(default_factory=dict, repr=False)
    http_credentials_source: str = ""
    ssl_enabled: bool = False
    ssl_cert_file: str = ""
    ssl_key_file: str = ""

    def __post_init__(self) -> None:
        if ((self.authenticate_http_readonly or self.authenticate_http_readwrite)
                and not self.http_credentials):
            raise ValueError("HTTP authentication is on but --http_credentials names "
                             "no credentials")

    @property
    def scheme(self) -> str:
        return "https" if self.ssl_enabled else "http"

    def flags_json(self) -> dict[str, str]:
        """The flags as ``/flags`` shows them (inline secrets are never shown)."""
        creds = self.http_credentials_source
        return {
            "acls": self.acls_source,
            "authenticate_http_readonly": str(self.authenticate_http_readonly).lower(),
            "authenticate_http_readwrite": str(self.authenticate_http_readwrite).lower(),
            "http_credentials": creds if not creds or flag_path(creds.strip()) else "(inline)",
            "ssl_enabled": str(self.ssl_enabled).lower(),
            "ssl_cert_file": self.ssl_cert_file, "ssl_key_file": self.ssl_key_file,
        }


def _problem(load: Callable[[str], Any]) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        try:
            load(value)
        except ValueError as exc:
            return str(exc)
        return None
    return check


def add_flags(f: Flags) -> None:
    f.add("acls", str, "", "ACLs as Mesos' JSON (inline, /path or file://path): who may "
          "register frameworks, run tasks as which users, tear down, view, read sandboxes "
          "(default: none, everything allowed)", check=_problem(load_acls))
    f.add("authenticate_http_readonly", bool, False,
          "require HTTP Basic credentials for the read-only endpoints (state, metrics, files)")
    f.add("authenticate_http_readwrite", bool, False,
          "require HTTP Basic credentials for the endpoints that change things (teardown, "
          "/api/v1)")
    f.add("http_credentials", str, "", 'HTTP credentials: {"credentials": [{"principal": '
          '..., "secret": ...}]} inline, /path or file://path',
          check=_problem(load_credentials))
    f.add("ssl_enabled", bool, False, "serve HTTPS instead of HTTP (needs --ssl_cert_file "
          "and --ssl_key_file)")
    f.add("ssl_cert_file", str, "", "the HTTPS certificate (PEM)")
    f.add("ssl_key_file", str, "", "the HTTPS private key (PEM)")


def from_flags(ns: argparse.Namespace) -> SecurityConfig:
    """The ``SecurityConfig`` of parsed ``add_flags`` flags; ``ValueError`` if unusable."""
    return SecurityConfig(
        acls=load_acls(ns.acls), acls_source=ns.acls,
        authenticate_http_readonly=bool(ns.authenticate_http_readonly),
        authenticate_http_readwrite=bool(ns.authenticate_http_readwrite),
        http_credentials=load_credentials(ns.http_credentials),
        http_credentials_source=ns.http_credentials,
        ssl_enabled=bool(ns.ssl_enabled), ssl_cert_file=ns.ssl_cert_file,
        ssl_key_file=ns.ssl_key_file)


def secure_node(security: SecurityConfig, prefix: str, *, readwrite_paths: Collection[str],
                open_paths: Collection[str] = (), realms: Mapping[str, Realm] | None = None,
                **node_args: Any) -> Node:
    """A (not started) ``Node`` serving HTTPS when ``ssl_enabled`` (``TlsError`` if the
    certificate cannot be loaded) and authenticating in the ``<prefix>-readonly`` /
    ``-readwrite`` realms when ``--authenticate_http_*`` is on, and the paths of
    ``realms`` in theirs (the scheduler or executor API's)."""
    if security.ssl_enabled:
        node_args["http_ssl"] = server_context(security.ssl_cert_file, security.ssl_key_file)
    node = Node(**node_args)
    if security.authenticate_http_readonly or security.authenticate_http_readwrite or realms:
        node.http_authenticator = RealmAuthenticator(
            prefix, security.http_credentials,
            readonly=security.authenticate_http_readonly,
            readwrite=security.authenticate_http_readwrite,
            readwrite_paths=readwrite_paths, open_paths=open_paths,
            processes=lambda: tuple(node.processes), realms=realms)
    return node
