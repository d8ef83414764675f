"""Authentication of HTTP frameworks (Mesos' ``--authenticate_http_frameworks``).

``scheduler_realms(config)`` is what ``actors.master.main`` gives ``secure_node``: with
the flag on, ``/api/v1/scheduler`` is in the realm ``mesos-master-scheduler`` of its own
(``http_auth.BasicRealm`` over the ``--credentials`` principals, the ones the ZeroMQ
drivers authenticate with, as Mesos' master does), so a request without the right
Basic credentials gets ``401`` before ``route`` sees it; ``ValueError`` with Mesos'
words when the flags cannot work (main exits 1): no ``--http_framework_authenticators``,
one other than ``basic``, or no credentials.

``route`` then holds the authenticated principal (``request.principal``) to what the
framework declares, as Mesos' ``Http::scheduler`` does (``subscribe_principal``,
``call_refusal``): a SUBSCRIBE whose ``FrameworkInfo.principal`` is another one is
refused (400), one without a principal gets the authenticated one (so ACLs and rate
limits, which read ``FrameworkInfo.principal``, use it); every later call must come
from the principal the framework subscribed with (400 otherwise). Pure.
"""

from __future__ import annotations

import dataclasses

from actors.authorization.http_auth import BasicRealm, Realm
from actors.master.config import MasterConfig
from actors.messages.framework import RegisterFramework

__all__ = ["AUTHENTICATORS", "REALM", "call_refusal", "scheduler_realms",
           "subscribe_principal"]

REALM = "mesos-master-scheduler"
"""Mesos' ``DEFAULT_HTTP_FRAMEWORK_AUTHENTICATION_REALM``."""

AUTHENTICATORS = ("basic",)
"""The values ``--http_framework_authenticators`` may take (no authenticator modules)."""

PATH = "/api/v1/scheduler"


def scheduler_realms(config: MasterConfig) -> dict[str, Realm]:
    """``{PATH: realm}`` when ``--authenticate_http_frameworks`` is on, else ``{}``."""
    if not config.authenticate_http_frameworks:
        return {}
    names = [n.strip() for n in config.http_framework_authenticators.split(",") if n.strip()]
    if not names:
        raise ValueError("Missing `--http_framework_authenticators` flag. This must be used "
                         "in conjunction with `--authenticate_http_frameworks`")
    if len(names) > 1 or names[0] not in AUTHENTICATORS:
        raise ValueError(f"Failed to create HTTP authenticator module "
                         f"'{config.http_framework_authenticators}': only "
                         f"'{AUTHENTICATORS[0]}' is supported (authenticator modules are "
                         f"not)")
    if not config.credentials:
        raise ValueError(f"Failed to create HTTP authenticator module 'basic': No "
                         f"credentials provided for the default 'basic' HTTP authenticator "
                         f"for realm '{REALM}' (see --credentials)")
    return {PATH: BasicRealm(REALM, config.credentials)}


def _mismatch(authenticated: str, declared: str) -> str:
    return (f"Authenticated principal '{authenticated}' does not match principal "
            f"'{declared}' set in `FrameworkInfo`")


def subscribe_principal(principal: str | None,
                        msg: RegisterFramework) -> tuple[RegisterFramework, str | None]:
    """The SUBSCRIBE to handle, or why it is refused (Mesos' text, for a 400)."""
    if principal is None:
        return msg, None
    declared = msg.framework_info.principal
    if declared and declared != principal:
        return msg, f"Failed to validate scheduler::Call: {_mismatch(principal, declared)}"
    if not declared:  # Mesos: the framework is then known by its authenticated principal
        info = dataclasses.replace(msg.framework_info, principal=str(principal))
        msg = dataclasses.replace(msg, framework_info=info)
    return msg, None


def call_refusal(principal: str | None, framework_principal: str) -> str | None:
    """Why a call of a subscribed framework is refused (400), or ``None``."""
    if principal is not None and principal != framework_principal:
        return _mismatch(principal, framework_principal)
    return None
