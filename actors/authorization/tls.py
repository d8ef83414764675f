"""TLS for the HTTP endpoints (Mesos' ``LIBPROCESS_SSL_*``, here ``MESETA_SSL_*``).

The master and agent take ``--ssl_enabled``, ``--ssl_cert_file``, ``--ssl_key_file``
(falling back, as every flag does, on ``MESETA_SSL_ENABLED``, ``MESETA_SSL_CERT_FILE``,
``MESETA_SSL_KEY_FILE``) and serve HTTPS only when enabled; ``server_context`` builds
the context (TLS 1.2 or later) and raises ``TlsError`` with a clear message when the
files are missing or do not match. HTTP clients (the ``meseta`` CLI, the master's
``/master/trace`` gathering agents' traces) use ``client_context``: it trusts
``MESETA_SSL_CA_FILE`` (or the given file) and the system's CAs. The ZeroMQ port is
not covered (CurveZMQ is its equivalent).
"""

from __future__ import annotations

import os
import ssl

from actors.errors import ActorsError
from transport.flags import parse_bool

__all__ = ["TlsError", "client_context", "env_ssl_enabled", "server_context"]


class TlsError(ActorsError, ValueError):
    """TLS settings that cannot be used; the message says why."""


def server_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """The HTTPS server context for ``cert_file`` / ``key_file`` (PEM)."""
    if not cert_file or not key_file:
        raise TlsError("SSL is enabled but --ssl_cert_file and --ssl_key_file "
                       "(MESETA_SSL_CERT_FILE, MESETA_SSL_KEY_FILE) are not both set")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as exc:
        raise TlsError(f"cannot load the certificate {cert_file} and key {key_file}: "
                       f"{exc}") from None
    return context


def client_context(ca_file: str | None = None) -> ssl.SSLContext:
    """A client context trusting ``ca_file`` (default ``MESETA_SSL_CA_FILE``) and the
    system's CAs; the server's certificate and host name are verified."""
    context = ssl.create_default_context()
    ca = ca_file or os.environ.get("MESETA_SSL_CA_FILE") or None
    if ca:
        try:
            context.load_verify_locations(cafile=ca)
        except (OSError, ssl.SSLError) as exc:
            raise TlsError(f"cannot load the CA file {ca}: {exc}") from None
    return context


def env_ssl_enabled() -> bool:
    """``MESETA_SSL_ENABLED`` (clients: talk HTTPS to the cluster)."""
    try:
        return parse_bool(os.environ.get("MESETA_SSL_ENABLED", "false"))
    except ValueError:
        return False
