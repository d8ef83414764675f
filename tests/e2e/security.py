"""Helpers for the security tests: HTTP calls with Basic credentials and TLS, and
ACL/credential flag values (the certificate: ``tests.tls_helpers``)."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from actors.authorization.http_auth import basic_authorization

CREDENTIALS = {"ops": "ops-secret", "alice": "alice-secret", "bob": "bob-secret"}


def credentials_flag() -> str:
    return "--http_credentials=" + json.dumps({"credentials": [
        {"principal": p, "secret": s} for p, s in CREDENTIALS.items()]})


def acls_flag(**rules: Any) -> str:
    return "--acls=" + json.dumps(rules)


def call(url: str, method: str = "GET", principal: str | None = None,
         secret: str | None = None, form: dict[str, str] | None = None,
         context: ssl.SSLContext | None = None) -> tuple[int, dict[str, str], bytes]:
    """``(status, headers, body)``; ``secret`` defaults to the principal's right one."""
    headers = {}
    if principal is not None:
        headers["Authorization"] = basic_authorization(
            principal, CREDENTIALS.get(principal, "") if secret is None else secret)
    data = None if form is None else urllib.parse.urlencode(form).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30, context=context) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()
