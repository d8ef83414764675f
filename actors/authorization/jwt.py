"""JSON Web Tokens signed with HMAC-SHA256 (RFC 7519, ``HS256`` only), Mesos' way.

The agent mints one per executor (``actors.agent.executor_auth``) and its executor realm
checks them (``http_auth.BearerRealm``). ``encode(claims, key)`` writes
``base64url(header).base64url(claims).base64url(signature)`` with the header
``{"alg":"HS256","typ":"JWT"}``, no padding, as libprocess' ``JWT::create`` does;
``decode(token, key)`` returns the claims or raises ``JWTError`` saying why: not three
parts, not base64url or JSON objects, an ``alg`` other than ``HS256`` (``none``
included: an unsigned token is never accepted with a key), a ``crit`` header, a
``typ`` that is not a string, an ``exp`` passed, or a signature that does not match
(compared in constant time). Pure: stdlib ``hmac``/``hashlib``/``base64``/``json``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from transport.http import parse_json

__all__ = ["HEADER", "JWTError", "decode", "encode"]

HEADER = {"alg": "HS256", "typ": "JWT"}


class JWTError(ValueError):
    """A token that is not a valid HS256 JWT for the key; the message says why."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(part: str, what: str) -> bytes:
    try:
        return base64.b64decode(part + "=" * (-len(part) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise JWTError(f"Failed to base64url-decode token {what}: {exc}") from None


def _object(part: str, what: str) -> dict[str, Any]:
    raw = _unb64(part, what)
    try:
        value = parse_json(raw)
    except ValueError as exc:
        raise JWTError(f"Failed to parse token {what} into JSON: {exc}") from None
    if not isinstance(value, dict):
        raise JWTError(f"Token {what} is not a JSON object")
    return value


def _sign(signing_input: str, key: bytes) -> bytes:
    return hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()


def encode(claims: Mapping[str, Any], key: bytes) -> str:
    """A signed token carrying ``claims``."""
    header = _b64(json.dumps(HEADER, separators=(",", ":")).encode())
    payload = _b64(json.dumps(dict(claims), separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}"
    return f"{signing_input}.{_b64(_sign(signing_input, key))}"


def decode(token: str, key: bytes,
           now: Callable[[], float] = time.time) -> dict[str, Any]:
    """The claims of ``token`` once its header and signature check out (``JWTError``)."""
    if not token.isascii():
        raise JWTError("Token is not ASCII")
    parts = token.split(".")
    if len(parts) != 3:
        raise JWTError(f"Expected 3 components in token, got {len(parts)}")
    header_part, payload_part, signature_part = parts
    header = _object(header_part, "header")
    if "typ" in header and not isinstance(header["typ"], str):
        raise JWTError("Token 'typ' is not a string")
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise JWTError("Failed to locate 'alg' in token JSON header")
    if alg != "HS256":
        raise JWTError(f"Token 'alg' value \"{alg}\" does not match, expected \"HS256\"")
    if "crit" in header:
        raise JWTError("Token 'crit' field is unsupported")
    signature = _unb64(signature_part, "signature")
    if not hmac.compare_digest(signature, _sign(f"{header_part}.{payload_part}", key)):
        raise JWTError("Token signature does not match")
    claims = _object(payload_part, "payload")
    exp = claims.get("exp")
    if exp is not None:
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            raise JWTError("JSON payload 'exp' field is not a number")
        if exp < int(now()):
            raise JWTError(f"Token has expired: exp({int(exp)}) < now({int(now())})")
    return claims
