"""Meta's signed_request: valid, bad signature, wrong algorithm, malformed — and nothing else ever escapes."""

from __future__ import annotations

import base64
import hashlib
import hmac

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from accorria_agent.messenger.signed_request import (
    InvalidSignedRequest,
    make_signed_request,
    parse_signed_request,
    signed_request_user_id,
)

SECRET = "9f3b1c7e2a4d8f60b5e1c3a7d9f2b4e6"
PAYLOAD = {"algorithm": "HMAC-SHA256", "issued_at": 1795000000, "user_id": "218471"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_valid_request_gives_its_payload_and_user() -> None:
    payload = parse_signed_request(make_signed_request(PAYLOAD, SECRET), SECRET)
    assert payload == PAYLOAD
    assert signed_request_user_id(payload) == "218471"


def test_a_request_signed_as_meta_documents_it_is_accepted() -> None:
    # Meta's recipe, independently: HMAC-SHA256 over the *encoded* payload, both parts base64url, unpadded.
    encoded = b64(orjson.dumps(PAYLOAD))
    signature = b64(hmac.new(SECRET.encode(), encoded.encode(), hashlib.sha256).digest())
    assert parse_signed_request(f"{signature}.{encoded}", SECRET)["user_id"] == "218471"


def test_a_bad_signature_is_refused() -> None:
    with pytest.raises(InvalidSignedRequest, match="signature does not match"):
        parse_signed_request(make_signed_request(PAYLOAD, "another-secret-entirely-000000"), SECRET)
    signature, payload = make_signed_request(PAYLOAD, SECRET).split(".")
    tampered = b64(orjson.dumps({**PAYLOAD, "user_id": "999"}))
    with pytest.raises(InvalidSignedRequest, match="signature"):
        parse_signed_request(f"{signature}.{tampered}", SECRET)


@pytest.mark.parametrize("algorithm", ["HMAC-SHA1", "none", "", None, 256])
def test_a_wrong_algorithm_is_refused(algorithm: object) -> None:
    with pytest.raises(InvalidSignedRequest, match="algorithm must be HMAC-SHA256"):
        parse_signed_request(make_signed_request({**PAYLOAD, "algorithm": algorithm}, SECRET), SECRET)


@pytest.mark.parametrize(
    "raw",
    ["", ".", "abc", "a.b.c", "!!!.???", "a b.c", "é.é", "x" * 9000, "\x00.\x00"],
)
def test_malformed_requests_are_refused(raw: str) -> None:
    with pytest.raises(InvalidSignedRequest, match="malformed|signature"):
        parse_signed_request(raw, SECRET)


def test_a_signed_payload_that_is_not_a_json_object_is_malformed() -> None:
    for document in (b"[1, 2]", b"not json"):
        encoded = b64(document)
        signature = b64(hmac.new(SECRET.encode(), encoded.encode(), hashlib.sha256).digest())
        with pytest.raises(InvalidSignedRequest, match="malformed"):
            parse_signed_request(f"{signature}.{encoded}", SECRET)


@pytest.mark.parametrize("user_id", [None, "", "12a", "1" * 65, True, [1]])
def test_a_payload_without_a_usable_user_id_is_refused(user_id: object) -> None:
    with pytest.raises(InvalidSignedRequest, match="user_id"):
        signed_request_user_id({**PAYLOAD, "user_id": user_id})


def test_without_an_app_secret_nothing_is_accepted() -> None:
    with pytest.raises(InvalidSignedRequest, match="FACEBOOK_APP_SECRET"):
        parse_signed_request(make_signed_request(PAYLOAD, ""), "")


@given(st.text(max_size=300))
def test_any_other_text_is_refused_with_a_clear_400(raw: str) -> None:
    with pytest.raises(InvalidSignedRequest) as refused:  # random text is never a signed request
        parse_signed_request(raw, SECRET)
    assert refused.value.status_code == 400 and refused.value.detail
