"""``transport.http.parse_json``: a body nested deeper than ``json`` can parse is a
``ValueError`` like any bad JSON, so the v1 APIs, the maintenance endpoints and JWTs
answer 400 / refuse, never 500 (found by ``scripts/hostile``'s ``http_bad_json``)."""

from __future__ import annotations

import base64

import pytest

from actors.agent.executor_http import CallError as ExecutorCallError
from actors.agent.executor_http import parse_call
from actors.authorization.jwt import JWTError
from actors.authorization.jwt import decode as decode_jwt
from actors.master.scheduler_api.calls import CallError, decode_call
from transport.http import parse_json

DEEP = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
DEEP_LIST = b"[" * 100_000 + b"]" * 100_000


def test_good_json_parses_and_every_failure_is_a_value_error() -> None:
    assert parse_json(b'{"type": "SUBSCRIBE"}') == {"type": "SUBSCRIBE"}
    for bad in (DEEP, DEEP_LIST, b"{", b"\xff\xfe", "[" * 100_000):
        with pytest.raises(ValueError):
            parse_json(bad)


def test_the_v1_call_parsers_refuse_deep_nesting_as_a_bad_request() -> None:
    for body in (DEEP, DEEP_LIST):
        with pytest.raises(CallError) as error:
            decode_call(body)
        assert error.value.status == 400 and "JSON" in error.value.message
        with pytest.raises(ExecutorCallError, match="JSON"):
            parse_call(body)


def test_a_token_with_a_deeply_nested_header_is_refused() -> None:
    header = base64.urlsafe_b64encode(DEEP).rstrip(b"=").decode()
    with pytest.raises(JWTError, match="JSON"):
        decode_jwt(f"{header}.e30.c2ln", b"key")
