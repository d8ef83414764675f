"""CurveZMQ for a node: its key pair, the peers it admits, and who sent each envelope.

A node started with ``Node(curve=CurveKeys.load(directory))`` encrypts all its ZeroMQ
traffic. Its PULL is a CURVE server; every PUSH is a CURVE client with the node's own
key pair. The I/O thread (``transport.io``) answers libzmq's ZAP requests itself with
``zap_decide`` (a pure allow-list decision), so only keys in ``allowed`` ever complete a
handshake; the key's name becomes the ZAP User-Id that libzmq attaches to each frame.

Key files are ZeroMQ certificates (``zmq.auth.create_certificates``): ``NAME.key``
(public) and ``NAME.key_secret`` (both halves). A keys directory holds this node's
``NAME.key_secret`` and the ``*.key`` of every peer it admits; a key's name (the file's
stem) is the peer's principal.

Which server key a PUSH expects (``server_key_for``): the key of the peer heard from at
that address (``bind``), else ``server`` (the master's, ``master.key``: every agent and
framework talks to the master first; masters under HA share the ``master`` key pair).

Who may speak for an address (``bind``): the first key that delivers an envelope whose
sender PID is at ``host:port`` owns that address for the node's lifetime; envelopes
from another key claiming it are dropped as impersonation. A peer can thus not send as
another's PID, and replies to an address go only to the key that owns it.

Executors get a key pair of their own from their agent (``issue``, derived from the
agent's secret and the executor's run, so a restarted agent admits its recovered
executors again), passed in their environment (``issue`` / ``from_env``:
``MESETA_CURVE_PUBLIC``, ``MESETA_CURVE_SECRET``, ``MESETA_CURVE_SERVER``); it is allowed
only by that agent.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import zmq
import zmq.auth
from zmq.utils import z85

from transport.errors import TransportError
from transport.flags import Flags

__all__ = ["ZAP_ENDPOINT", "CurveError", "CurveKeys", "add_curve_flags", "cluster_keys",
           "create_key_pair",
           "curve_from_env", "curve_keys", "handshake_failure", "zap_decide", "zap_reply"]

ZAP_ENDPOINT = "inproc://zeromq.zap.01"
ZAP_DOMAIN = b"meseta"
SERVER_NAME = "master"


class CurveError(TransportError):
    """Keys that cannot be used: a missing directory or file, or a malformed key."""


def create_key_pair(directory: str | Path, name: str) -> tuple[Path, Path]:
    """Write ``NAME.key`` and ``NAME.key_secret`` into ``directory`` (``meseta keygen``)."""
    if not zmq.has("curve"):
        raise CurveError("this libzmq has no CURVE support")
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    public, secret = zmq.auth.create_certificates(str(path), name)
    os.chmod(secret, 0o600)
    return Path(public), Path(secret)


def cluster_keys(root: str | Path, names: list[str]) -> dict[str, Path]:
    """Key directories for a cluster of ``master`` and ``names`` under ``root``: each
    holds its own pair and ``master.key``; the master's admits every name."""
    root = Path(root)
    pool = root / "pool"
    for name in ["master", *names]:
        create_key_pair(pool, name)
    dirs: dict[str, Path] = {}
    for name in ["master", *names]:
        directory = dirs[name] = root / name
        directory.mkdir(parents=True, exist_ok=True)
        shutil.copy(pool / f"{name}.key_secret", directory)
        for public in {name, "master"} | (set(names) if name == "master" else set()):
            shutil.copy(pool / f"{public}.key", directory)
    return dirs


def _load(path: Path) -> tuple[bytes, bytes | None]:
    try:
        public, secret = zmq.auth.load_certificate(str(path))
    except (OSError, ValueError) as exc:
        raise CurveError(f"cannot read the key {path}: {exc}") from None
    if public is None or len(public) != 40:
        raise CurveError(f"{path} holds no CURVE public key")
    return public, secret


@dataclass(eq=False)
class CurveKeys:
    """A node's CURVE identity and allow-list (see the module docstring)."""

    name: str
    public: bytes
    secret: bytes
    server: bytes
    """The server key expected of a peer not heard from yet (the master's)."""
    allowed: dict[bytes, str] = field(default_factory=dict)
    """Public key (z85) -> name, for every peer this node admits."""
    owners: dict[str, str] = field(default_factory=dict)
    """``host:port`` -> the name of the key that owns it (``bind``)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, directory: str | Path, name: str = "") -> CurveKeys:
        """This node's ``NAME.key_secret`` (the only one there when ``name`` is empty)
        and every ``*.key`` of ``directory``; raises ``CurveError`` on a problem."""
        path = Path(directory)
        if not path.is_dir():
            raise CurveError(f"the CURVE keys directory {path} does not exist")
        if not name:
            secrets = sorted(p.name[:-len(".key_secret")] for p in path.glob("*.key_secret"))
            if len(secrets) != 1:
                raise CurveError(f"{path} must hold exactly one *.key_secret (this node's "
                                 f"key; found {len(secrets)}); name it with --curve_name")
            name = secrets[0]
        public, secret = _load(path / f"{name}.key_secret")
        if secret is None:
            raise CurveError(f"{path / (name + '.key_secret')} holds no secret key")
        allowed: dict[bytes, str] = {}
        for key_file in sorted(path.glob("*.key")):
            allowed[_load(key_file)[0]] = key_file.stem
        server_file = path / f"{SERVER_NAME}.key"
        if not server_file.exists():
            raise CurveError(f"{path} has no {SERVER_NAME}.key (the master's public key, "
                             f"which every node needs)")
        server = _load(server_file)[0]
        return cls(name=name, public=public, secret=secret, server=server, allowed=allowed)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CurveKeys | None:
        """An executor's keys from its agent (``None`` when the agent runs plain)."""
        public, secret = env.get("MESETA_CURVE_PUBLIC"), env.get("MESETA_CURVE_SECRET")
        server = env.get("MESETA_CURVE_SERVER")
        if not public or not secret or not server:
            return None
        return cls(name="executor", public=public.encode(), secret=secret.encode(),
                   server=server.encode(), allowed={server.encode(): "agent"})

    def issue(self, name: str) -> dict[str, str]:
        """A key pair allowed by this node under ``name``, as an executor's environment.

        Derived from this node's secret and ``name`` (HMAC-SHA256; any 32 bytes are a
        Curve25519 secret), so an agent restarted with the same keys allows the pair of a
        recovered executor again by issuing the same name, with nothing checkpointed.
        """
        raw = hmac.new(z85.decode(self.secret), name.encode(), hashlib.sha256).digest()
        secret = z85.encode(raw)
        public = zmq.curve_public(secret)
        with self._lock:
            self.allowed[public] = name
        return {"MESETA_CURVE_PUBLIC": public.decode(), "MESETA_CURVE_SECRET": secret.decode(),
                "MESETA_CURVE_SERVER": self.public.decode()}

    def revoke(self, name: str) -> None:
        with self._lock:
            for public in [k for k, v in self.allowed.items() if v == name]:
                del self.allowed[public]

    def server_key_for(self, address: str) -> bytes:
        owner = self.owners.get(address)
        if owner is not None:
            for public, name in list(self.allowed.items()):
                if name == owner:
                    return public
        return self.server

    def bind(self, address: str, name: str) -> bool:
        """May the key ``name`` speak for ``address``? Binds it on first contact."""
        owner = self.owners.get(address)
        if owner is None:
            with self._lock:
                owner = self.owners.setdefault(address, name)
        return owner == name

    def principal_of(self, address: str) -> str | None:
        """The name of the key that owns ``address``: who sent what came from there."""
        return self.owners.get(address)


def zap_decide(mechanism: bytes, credentials: list[bytes],
               allowed: Mapping[bytes, str]) -> tuple[bytes, bytes, bytes]:
    """ZAP status code, text and User-Id for one handshake: CURVE keys in ``allowed`` only."""
    if mechanism != b"CURVE":
        return b"400", b"CURVE required", b""
    if len(credentials) != 1 or len(credentials[0]) != 32:
        return b"400", b"malformed CURVE credentials", b""
    name = allowed.get(z85.encode(credentials[0]))
    if name is None:
        return b"400", b"unknown CURVE key", b""
    return b"200", b"OK", name.encode()


def zap_reply(request: list[bytes], allowed: Mapping[bytes, str]) -> tuple[list[bytes], str]:
    """The reply frames to a ZAP request, and a line for the log when refused."""
    if len(request) < 6 or request[0] != b"1.0":
        return [b"1.0", request[1] if len(request) > 1 else b"", b"500",
                b"bad ZAP request", b"", b""], "bad ZAP request"
    _version, request_id, _domain, address, _identity, mechanism, *credentials = request
    status, text, user = zap_decide(mechanism, credentials, allowed)
    why = "" if status == b"200" else (
        f"refused a {mechanism.decode(errors='replace')} handshake from "
        f"{address.decode(errors='replace')}: {text.decode()}")
    return [b"1.0", request_id, status, text, user, b""], why


def handshake_failure(event: int, value: int, curve: bool, inbound: bool = False) -> str:
    """Why a ZMTP handshake failed (a socket monitor's event), in words a user can act on.

    Which side notices a mechanism mismatch first is a race; the other sees the
    connection closed. A plain node's failed handshake therefore always means its peer
    requires CURVE; a CURVE node's means a plain peer, unless the peer refused our key.
    """
    who = "a peer" if inbound else "the peer"
    if event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
        return f"{who} refused our CURVE key (ZAP status {value}): is it in its keys directory?"
    if not curve:
        return f"{who} requires CURVE (--curve) while this node runs plain"
    if value == getattr(zmq, "PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH", -1):
        return f"{who} runs plain ZeroMQ while this node requires CURVE (--curve)"
    if event == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
        return f"ZMTP protocol error {value:#x} with {who}: a CURVE key mismatch?"
    return (f"{who} closed the connection during the handshake (errno {value}): it runs "
            f"plain ZeroMQ while this node requires CURVE (--curve), or refused our key")


def add_curve_flags(f: Flags) -> None:
    """``--curve``, ``--curve_keys``, ``--curve_name`` (master and agent)."""
    f.add("curve", bool, False, "encrypt and authenticate all ZeroMQ traffic with CurveZMQ: "
          "only peers whose public key is in --curve_keys are admitted")
    f.add("curve_keys", str, "", "directory holding this node's NAME.key_secret and the "
          "*.key of every peer to admit (master.key is the master's; see meseta keygen)")
    f.add("curve_name", str, "", "this node's key name in --curve_keys (default: the only "
          "*.key_secret there)")


def curve_keys(curve: bool, directory: str, name: str = "") -> CurveKeys | None:
    """The keys the flags ask for (``None``: plain); ``CurveError`` says what is wrong."""
    if not curve:
        return None
    if not directory:
        raise CurveError("--curve needs --curve_keys DIR (make key pairs with meseta keygen)")
    if not zmq.has("curve"):
        raise CurveError("--curve: this libzmq has no CURVE support")
    return CurveKeys.load(directory, name)


def curve_from_env(env: Mapping[str, str] | None = None) -> CurveKeys | None:
    """A framework's or executor's keys: ``MESETA_CURVE`` + ``MESETA_CURVE_KEYS`` (+
    ``MESETA_CURVE_NAME``), or the keys an agent gave its executor; else ``None``."""
    env = os.environ if env is None else env
    issued = CurveKeys.from_env(env)
    if issued is not None:
        return issued
    on = env.get("MESETA_CURVE", "").strip().lower() in ("1", "true", "yes", "on")
    return curve_keys(on, env.get("MESETA_CURVE_KEYS", ""), env.get("MESETA_CURVE_NAME", ""))
