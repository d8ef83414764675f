"""Authentication of HTTP executors (Mesos' ``--authenticate_http_executors``).

With ``--jwt_secret_key`` (a file holding the key; ``--executor_secret_key`` is its
deprecated name, as in Mesos) the agent mints for every executor it launches a JWT
(``actors.authorization.jwt``, HS256) whose claims are Mesos' executor principal --
``fid`` (framework id), ``eid`` (executor id), ``cid`` (container id: the executor run's
``run_id``) -- and gives it in the executor's environment as
``MESOS_EXECUTOR_AUTHENTICATION_TOKEN`` (and its twin ``MESETA_...``; ``running`` calls
``token_environment``). With ``--authenticate_http_executors`` on (it needs the key:
``executor_realms`` raises ``ValueError``, main exits 1), ``/api/v1/executor`` is in the
realm ``mesos-agent-executor`` of its own (``http_auth.BearerRealm``): no or a bad
token is ``401`` before ``executor_api`` runs; there ``claims_refusal`` answers ``403``
when the token's claims are not those of the call's framework, executor and current
container (Mesos' ``verifyExecutorClaims`` texts). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from actors.authorization.http_auth import BearerRealm, Realm
from actors.authorization.jwt import encode
from transport.flags import Flags

if TYPE_CHECKING:
    from actors.agent.config import AgentConfig

__all__ = ["PATH", "REALM", "TOKEN_ENV", "add_flags", "claims_refusal", "executor_realms",
           "executor_token", "load_secret_key", "token_environment"]

REALM = "mesos-agent-executor"
"""Mesos' ``EXECUTOR_HTTP_AUTHENTICATION_REALM``."""

PATH = "/api/v1/executor"
TOKEN_ENV = ("MESOS_EXECUTOR_AUTHENTICATION_TOKEN", "MESETA_EXECUTOR_AUTHENTICATION_TOKEN")


def add_flags(f: Flags) -> None:
    f.add("authenticate_http_executors", bool, False, "HTTP executors must authenticate: "
          "/api/v1/executor needs the token the agent gave the executor "
          "(Authorization: Bearer, realm mesos-agent-executor); needs --jwt_secret_key")
    f.add("jwt_secret_key", str, "", "file holding the key the agent signs executors' "
          "tokens (JWT, HS256) with; given, every executor gets one in "
          "MESOS_EXECUTOR_AUTHENTICATION_TOKEN")
    f.add("executor_secret_key", str, "", "deprecated name of --jwt_secret_key")


def load_secret_key(path: str) -> bytes:
    """The key in the file ``path`` (``file://`` optional), as it is; ``ValueError``."""
    file = Path(path.removeprefix("file://"))
    try:
        key = file.read_bytes()
    except OSError as exc:
        raise ValueError(f"Failed to read the file specified by --jwt_secret_key ({file}): "
                         f"{exc.strerror}") from None
    if not key:
        raise ValueError(f"the file specified by --jwt_secret_key ({file}) is empty")
    return key


def executor_realms(config: AgentConfig) -> dict[str, Realm]:
    """``{PATH: realm}`` when ``--authenticate_http_executors`` is on, else ``{}``."""
    if not config.authenticate_http_executors:
        return {}
    if not config.jwt_secret_key:
        raise ValueError("--jwt_secret_key must be specified when "
                         "--authenticate_http_executors is set to true")
    return {PATH: BearerRealm(REALM, config.jwt_secret_key)}


def executor_token(key: bytes, framework_id: str, executor_id: str,
                   container_id: str) -> str:
    """The token of one executor run (Mesos' ``Slave::generateSecret`` claims)."""
    return encode({"fid": framework_id, "eid": executor_id, "cid": container_id}, key)


def token_environment(key: bytes, framework_id: str, executor_id: str,
                      container_id: str) -> dict[str, str]:
    """The executor's token variables; none without a key (as Mesos, no secret generator)."""
    if not key:
        return {}
    token = executor_token(key, framework_id, executor_id, container_id)
    return dict.fromkeys(TOKEN_ENV, token)


def claims_refusal(principal: str, framework_id: str, executor_id: str,
                   container_id: str) -> str | None:
    """Why the authenticated ``principal`` may not call for this executor (403), or None."""
    claims: Mapping[str, str] = getattr(principal, "claims", {})
    if claims.get("fid") != framework_id:
        return (f"Authenticated principal '{principal}' does not contain an 'fid' claim "
                f"with the framework ID {framework_id}, which is set in the call")
    if claims.get("eid") != executor_id:
        return (f"Authenticated principal '{principal}' does not contain an 'eid' claim "
                f"with the executor ID {executor_id}, which is set in the call")
    if claims.get("cid") != container_id:
        return (f"Authenticated principal '{principal}' does not contain a 'cid' claim "
                f"with the correct active ContainerID")
    return None
