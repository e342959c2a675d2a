"""Plivo V3 callback signatures (signature.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recording_toolkit.errors import (
    ConfigurationError,
    MissingNonceError,
    MissingSignatureError,
    SignatureError,
    SignatureMismatchError,
)
from recording_toolkit.signature import (
    MA_SIGNATURE_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    sign_v3,
    signature_string,
    signed_headers,
    verify_v3,
)

# The golden vectors of docs/plivo.md, "Callback signatures (V3)" (the same four are in
# Plivo's Go and Ruby SDK tests).
GOLDEN_TOKEN = "Y2Q2ZDgxZmY5YWRiOTI5YmQ1Njg0MTAxZWIyOTc4"
GOLDEN_NONCE = "31627761595286130198"
GOLDEN_PARAMS = {
    "Direction": "outbound",
    "From": "19792014278",
    "ALegUUID": "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36",
    "CallStatus": "in-progress",
    "BillRate": "0.002",
    "ParentAuthID": "MANWVLYTK4ZWU1YTY4QA",
    "To": "sip:PlivoSignature382029104058171078704104@phone-qa.voice.plivodev.com",
    "ALegRequestUUID": "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36",
    "CallUUID": "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36",
    "RequestUUID": "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36",
    "SIP-H-To": "<sip:PlivoSignature382029104058171078704104@52.9.11.55;transport=udp>;tag=1",
    "SessionStart": "2020-04-08 11:34:33.238707",
    "Event": "StartApp",
}
GOLDEN_URL_QUERY = "https://plivobin.non-prod.plivops.com/api/v1/validate_signature03.xml/?a=b&c=d"
GOLDEN_URL = "https://plivobin.non-prod.plivops.com/api/v1/validate_signature03.xml"
GOLDEN = [
    ("POST", GOLDEN_URL_QUERY, "k7Pusd4OxCIjR5IfA9iedDNu/h/gbdYqdzG/MiYtd1c="),
    ("GET", GOLDEN_URL_QUERY, "UBq8jAtd32wR8EK9VgxbBn4n5rpI/l1H9iN4WfSEHFQ="),
    ("POST", GOLDEN_URL, "iAjE5QqI37mbkYe4w3jTMudqEzbDufdqi7sYwTu64e0="),
    ("GET", GOLDEN_URL, "i/MQsaQSAd6fiKhOh2qeeeLHZ9faldADSb3/7+Akfbc="),
]

URL = "https://callbacks.example.com/callbacks/transcription"
NONCE = "12345678901234567890"


def _hmac_b64(token: str, message: str) -> str:
    digest = hmac.new(token.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


@pytest.mark.parametrize(("method", "url", "expected"), GOLDEN)
def test_golden_vectors_sign(method, url, expected):
    assert sign_v3(GOLDEN_TOKEN, GOLDEN_NONCE, method, url, GOLDEN_PARAMS) == expected


@pytest.mark.parametrize(("method", "url", "expected"), GOLDEN)
def test_golden_vectors_verify(method, url, expected):
    headers = {SIGNATURE_HEADER: expected, NONCE_HEADER: GOLDEN_NONCE}
    assert verify_v3(headers, method=method, url=url, params=GOLDEN_PARAMS,
                     auth_tokens=GOLDEN_TOKEN) == SIGNATURE_HEADER


def test_string_to_sign_rules():
    # POST: sorted query, a dot, then key+value over sorted body keys without separators
    assert (signature_string("POST", "https://h/cb?b=2&a=1", {"y": "2", "x": "1"})
            == "https://h/cb?a=1&b=2.x1y2")
    # POST without parameters: just the base, plus the query when the URL has one
    assert signature_string("POST", "https://h/cb", {}) == "https://h/cb"
    assert signature_string("POST", "https://h/cb?a=1", None) == "https://h/cb?a=1"
    # GET: parameters merged with the URL's query, the URL's value winning on a clash
    assert (signature_string("GET", "https://h/cb?a=url", {"a": "param", "b": "2"})
            == "https://h/cb?a=url&b=2")
    assert signature_string("GET", "https://h/cb", None) == "https://h/cb"
    # a repeated key: each value, sorted, as its own pair
    assert signature_string("GET", "https://h/cb", [("k", "2"), ("k", "1")]) == \
        "https://h/cb?k=1&k=2"
    # the fragment (callback-retry settings) and ;params are not signed; the query is decoded
    assert (signature_string("POST", "https://h:8443/cb;p=1?q=a+b%21#ct=2000&rc=3", {"x": "1"})
            == "https://h:8443/cb?q=a b!.x1")


def test_fragment_does_not_change_the_signature():
    params = {"recording_id": "r1"}
    assert (sign_v3("tok", NONCE, "POST", URL + "?run=7#ct=2000&rt=10000&rc=3&rp=ct,rt,5xx",
                    params)
            == sign_v3("tok", NONCE, "POST", URL + "?run=7", params))


def test_non_ascii_values_are_signed_as_utf8():
    params = {"transcription": "Grüße aus Köln — 你好, नमस्ते 👋", "recording_id": "r-ü"}
    expected = _hmac_b64(
        "tök", f"{URL}?recording_idr-ütranscription{params['transcription']}.{NONCE}")
    assert sign_v3("tök", NONCE, "POST", URL, params) == expected
    headers = {SIGNATURE_HEADER: expected, NONCE_HEADER: NONCE}
    assert verify_v3(headers, method="POST", url=URL, params=params, auth_tokens="tök")
    changed = dict(params, transcription=params["transcription"].replace("ü", "u"))
    with pytest.raises(SignatureMismatchError):
        verify_v3(headers, method="POST", url=URL, params=changed, auth_tokens="tök")


def test_several_comma_separated_signatures_any_match_passes():
    good = sign_v3("tok", NONCE, "POST", URL, {"a": "1"})
    other = sign_v3("other", NONCE, "POST", URL, {"a": "1"})
    headers = {SIGNATURE_HEADER: f"{other}, {good} ,bm90LWEtc2lnbmF0dXJl", NONCE_HEADER: NONCE}
    assert verify_v3(headers, method="POST", url=URL, params={"a": "1"}, auth_tokens="tok")
    headers[SIGNATURE_HEADER] = f"{other},bm90LWEtc2lnbmF0dXJl"
    with pytest.raises(SignatureMismatchError):
        verify_v3(headers, method="POST", url=URL, params={"a": "1"}, auth_tokens="tok")


def test_main_account_header_is_checked_with_the_main_token():
    params = {"recording_id": "r1"}
    headers = {
        SIGNATURE_HEADER: sign_v3("not-the-sub-account-token", NONCE, "POST", URL, params),
        MA_SIGNATURE_HEADER: sign_v3("main", NONCE, "POST", URL, params),
        NONCE_HEADER: NONCE,
    }
    assert verify_v3(headers, method="POST", url=URL, params=params, auth_tokens="sub",
                     main_account_tokens=["main"]) == MA_SIGNATURE_HEADER
    # the Ma header alone is enough
    del headers[SIGNATURE_HEADER]
    assert verify_v3(headers, method="POST", url=URL, params=params, auth_tokens="sub",
                     main_account_tokens="main") == MA_SIGNATURE_HEADER
    # ... but not when signed with the sub-account's token while a main token is configured
    headers[MA_SIGNATURE_HEADER] = sign_v3("sub", NONCE, "POST", URL, params)
    with pytest.raises(SignatureMismatchError):
        verify_v3(headers, method="POST", url=URL, params=params, auth_tokens="sub",
                  main_account_tokens="main")


def test_signed_headers_carry_both_signatures_and_the_nonce():
    headers = signed_headers("tok", NONCE, "GET", URL + "?recording_id=r1",
                             main_account_token="main")
    assert headers[NONCE_HEADER] == NONCE
    assert headers[SIGNATURE_HEADER] == sign_v3("tok", NONCE, "GET", URL + "?recording_id=r1")
    assert headers[MA_SIGNATURE_HEADER] == sign_v3("main", NONCE, "GET", URL + "?recording_id=r1")


def test_rotation_accepts_any_configured_token():
    params = {"recording_id": "r1"}
    for token in ("old-token", "new-token"):
        headers = {SIGNATURE_HEADER: sign_v3(token, NONCE, "POST", URL, params),
                   NONCE_HEADER: NONCE}
        assert verify_v3(headers, method="POST", url=URL, params=params,
                         auth_tokens=["old-token", "new-token"]) == SIGNATURE_HEADER
    headers = {SIGNATURE_HEADER: sign_v3("retired", NONCE, "POST", URL, params),
               NONCE_HEADER: NONCE}
    with pytest.raises(SignatureMismatchError):
        verify_v3(headers, method="POST", url=URL, params=params,
                  auth_tokens=["old-token", "new-token"])


def test_header_names_are_case_insensitive():
    params = {"recording_id": "r1"}
    headers = {SIGNATURE_HEADER.lower(): sign_v3("tok", NONCE, "POST", URL, params),
               NONCE_HEADER.upper(): NONCE}
    assert verify_v3(headers, method="POST", url=URL, params=params, auth_tokens="tok")


@pytest.mark.parametrize(("headers", "error", "text"), [
    ({NONCE_HEADER: NONCE}, MissingSignatureError, "not signed"),
    ({SIGNATURE_HEADER: "  ", MA_SIGNATURE_HEADER: "", NONCE_HEADER: NONCE},
     MissingSignatureError, "not signed"),
    ({SIGNATURE_HEADER: "c2ln"}, MissingNonceError, NONCE_HEADER),
    ({SIGNATURE_HEADER: "c2ln", NONCE_HEADER: " "}, MissingNonceError, NONCE_HEADER),
    ({SIGNATURE_HEADER: "c2ln", NONCE_HEADER: NONCE}, SignatureMismatchError, "public_url"),
])
def test_each_failure_has_its_own_error(headers, error, text):
    with pytest.raises(error, match=text) as info:
        verify_v3(headers, method="POST", url=URL, params={"a": "1"}, auth_tokens="s3cr3t-value")
    assert isinstance(info.value, SignatureError)
    assert "s3cr3t" not in str(info.value)


@pytest.mark.parametrize("tokens", [[], "", ["good", ""]])
def test_empty_tokens_are_refused(tokens):
    # an empty HMAC key would accept signatures anyone can compute
    headers = {SIGNATURE_HEADER: sign_v3("", NONCE, "POST", URL, {}), NONCE_HEADER: NONCE}
    with pytest.raises(ConfigurationError, match="auth_tokens"):
        verify_v3(headers, method="POST", url=URL, params={}, auth_tokens=tokens)


# -- property: a signed request verifies; any one changed byte fails ---------------------------

_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_word = st.text(alphabet=_ALNUM, min_size=1, max_size=8)


@st.composite
def signed_requests(draw):
    scheme = draw(st.sampled_from(["http", "https"]))
    host = draw(_word) + "." + draw(st.sampled_from(["com", "example", "io"]))
    port = draw(st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}")))
    path = "/" + "/".join(draw(st.lists(_word, min_size=0, max_size=3)))
    # query keys start with q, parameter keys with p: a GET clash (URL wins) cannot hide a change
    query = draw(st.lists(st.tuples(_word.map(lambda w: "q" + w), _word), max_size=3))
    url = f"{scheme}://{host}{port}{path}"
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query)
    params = draw(st.lists(st.tuples(_word.map(lambda w: "p" + w),
                                     st.text(min_size=1, max_size=20)), max_size=5))
    return {
        "method": draw(st.sampled_from(["GET", "POST"])),
        "url": url,
        "params": params,
        "nonce": draw(st.text(alphabet="0123456789", min_size=1, max_size=24)),
        "token": draw(st.text(alphabet=_ALNUM, min_size=1, max_size=40)),
    }


def _change_one_char(draw, text: str, alphabet: str | None = None) -> str:
    positions = [i for i, ch in enumerate(text) if alphabet is None or ch in alphabet]
    i = draw(st.sampled_from(positions))
    replacement = draw((st.sampled_from(alphabet) if alphabet else st.characters(
        exclude_categories=("Cs",))).filter(lambda ch: ch != text[i]))
    return text[:i] + replacement + text[i + 1:]


def _verifies(request: dict, headers: dict) -> bool:
    try:
        verify_v3(headers, method=request["method"], url=request["url"],
                  params=request["params"], auth_tokens=request["token"])
    except SignatureMismatchError:
        return False
    return True


@settings(max_examples=150, deadline=None)
@given(request=signed_requests(), data=st.data())
def test_property_signed_verifies_and_any_changed_byte_fails(request, data):
    headers = signed_headers(request["token"], request["nonce"], request["method"],
                             request["url"], request["params"])
    assert _verifies(request, headers)

    target = data.draw(st.sampled_from(
        ["url", "nonce", "token"] + (["param"] if request["params"] else [])))
    changed = dict(request)
    changed_headers = dict(headers)
    if target == "url":
        # one letter or digit anywhere in scheme, host, port, path or query
        changed["url"] = _change_one_char(data.draw, request["url"], _ALNUM)
    elif target == "nonce":
        changed_headers[NONCE_HEADER] = _change_one_char(data.draw, request["nonce"], "0123456789")
    elif target == "token":
        changed["token"] = _change_one_char(data.draw, request["token"], _ALNUM)
    else:
        params = list(request["params"])
        i = data.draw(st.integers(0, len(params) - 1))
        key, value = params[i]
        if data.draw(st.booleans()):
            value = _change_one_char(data.draw, value)
        else:
            key = "p" + _change_one_char(data.draw, key[1:], _ALNUM)
        params[i] = (key, value)
        changed["params"] = params
    assert not _verifies(changed, changed_headers)
