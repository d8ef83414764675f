"""HS256 JWTs: a good token round-trips; a tampered one, an unsigned or other-alg one, an
expired one and malformed ones are refused with the reason."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from actors.authorization.jwt import JWTError, decode, encode

KEY = b"the agent's key"
CLAIMS = {"fid": "f-1", "eid": "e-1", "cid": "c-1"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _part(value: object) -> str:
    return _b64(json.dumps(value).encode())


def _signed(header: object, claims: object, key: bytes = KEY) -> str:
    signing_input = f"{_part(header)}.{_part(claims)}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def test_a_good_token_gives_back_its_claims() -> None:
    token = encode(CLAIMS, KEY)
    header = token.split(".")[0]
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "HS256", "typ": "JWT"}
    assert "=" not in token  # base64url without padding, as libprocess writes it
    assert decode(token, KEY) == CLAIMS
    # Any HS256 implementation's token of these claims is accepted too.
    assert decode(_signed({"typ": "JWT", "alg": "HS256"}, CLAIMS), KEY) == CLAIMS


def test_a_tampered_token_or_another_key_is_refused() -> None:
    token = encode(CLAIMS, KEY)
    header, payload, signature = token.split(".")
    forged = _part({**CLAIMS, "eid": "someone-else"})
    for bad in (f"{header}.{forged}.{signature}",
                f"{header}.{payload}.{signature[:-2]}AA",
                f"{header}.{payload}.{_b64(b'x' * 32)}"):
        with pytest.raises(JWTError, match="signature does not match"):
            decode(bad, KEY)
    with pytest.raises(JWTError, match="signature does not match"):
        decode(token, b"another key")


def test_alg_none_and_other_algorithms_are_refused() -> None:
    unsigned = f"{_part({'alg': 'none', 'typ': 'JWT'})}.{_part(CLAIMS)}."
    with pytest.raises(JWTError, match='"none" does not match, expected "HS256"'):
        decode(unsigned, KEY)
    for alg in ("RS256", "HS512", "hs256"):
        with pytest.raises(JWTError, match="expected \"HS256\""):
            decode(_signed({"alg": alg, "typ": "JWT"}, CLAIMS), KEY)
    with pytest.raises(JWTError, match="'alg'"):
        decode(_signed({"typ": "JWT"}, CLAIMS), KEY)
    with pytest.raises(JWTError, match="crit"):
        decode(_signed({"alg": "HS256", "crit": ["exp"]}, CLAIMS), KEY)
    with pytest.raises(JWTError, match="typ"):
        decode(_signed({"alg": "HS256", "typ": 7}, CLAIMS), KEY)


def test_malformed_tokens_are_refused_with_a_reason() -> None:
    good = encode(CLAIMS, KEY)
    _, payload, signature = good.split(".")
    cases = {
        "": "Expected 3 components",
        "a.b": "Expected 3 components",
        f"{good}.x": "Expected 3 components",
        f"!!.{payload}.{signature}": "base64url",
        f"{_b64(b'not json')}.{payload}.{signature}": "JSON",
        f"{_part([1, 2])}.{payload}.{signature}": "not a JSON object",
        "ü.b.c": "not ASCII",
    }
    for token, reason in cases.items():
        with pytest.raises(JWTError, match=reason):
            decode(token, KEY)
    with pytest.raises(JWTError, match="not a JSON object"):
        decode(_signed({"alg": "HS256"}, ["fid"]), KEY)


def test_an_expired_token_is_refused_and_a_live_one_accepted() -> None:
    token = encode({**CLAIMS, "exp": 1000}, KEY)
    assert decode(token, KEY, now=lambda: 999.0)["exp"] == 1000
    with pytest.raises(JWTError, match=r"expired: exp\(1000\) < now\(1001\)"):
        decode(token, KEY, now=lambda: 1001.0)
    with pytest.raises(JWTError, match="'exp' field is not a number"):
        decode(encode({"exp": "never"}, KEY), KEY)
