"""Plivo callback signatures, version 3: signing and verification.

Plivo signs every callback with HMAC-SHA256 over the callback URL, its parameters and a nonce, and
sends the result in ``X-Plivo-Signature-V3`` (signed with the account's or sub-account's token) or
``X-Plivo-Signature-Ma-V3`` (the main account's token), with the nonce in
``X-Plivo-Signature-V3-Nonce``. The receiver verifies with :func:`verify_v3`; the sandbox signs
with :func:`sign_v3`. Both build the same string, so they cannot drift apart.

The string to sign (``docs/plivo.md``, "Callback signatures (V3)"; checked against the golden
vectors in the tests):

- the base is the URL as configured, scheme + host[:port] + path; ``#fragment`` (Plivo's
  callback-retry settings live there) and ``;params`` are dropped; the query is parsed and
  percent-decoded (``+`` is a space);
- GET: callback parameters merged with the URL's query (the URL wins on a clash), then
  ``base?k=v&k=v`` over sorted keys, a repeated key giving one pair per value, values sorted;
  just ``base`` with no parameters at all;
- POST: ``base?`` + the sorted query as ``k=v&...`` + ``.`` (only when there was a query) +
  ``k1v1k2v2...`` over the sorted body keys; with no body parameters, ``base`` (plus ``?query``).

``message = string + "." + nonce``; signature = base64(HMAC-SHA256(token, message)).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import parse_qsl, urlsplit

from .errors import (
    ConfigurationError,
    MissingNonceError,
    MissingSignatureError,
    SignatureMismatchError,
)

__all__ = [
    "MA_SIGNATURE_HEADER",
    "NONCE_HEADER",
    "SIGNATURE_HEADER",
    "Params",
    "SignatureVerifier",
    "sign_v3",
    "signature_string",
    "signed_headers",
    "verify_v3",
]

SIGNATURE_HEADER = "X-Plivo-Signature-V3"
MA_SIGNATURE_HEADER = "X-Plivo-Signature-Ma-V3"
NONCE_HEADER = "X-Plivo-Signature-V3-Nonce"

#: Callback parameters: a mapping of name to one value or several, or a sequence of pairs.
Params = Mapping[str, "str | Sequence[str]"] | Iterable[tuple[str, str]]


def _pairs(params: Params | None) -> list[tuple[str, str]]:
    if params is None:
        return []
    # a list (the receiver's parsed pairs) skips the slower Mapping check
    items = params if type(params) is list else (
        params.items() if isinstance(params, Mapping) else params)
    out: list[tuple[str, str]] = []
    for key, value in items:
        if type(value) is str:  # the common case first: the receiver's parsed text pairs
            out.append((key if type(key) is str else str(key), value))
        elif isinstance(value, list | tuple):
            out.extend((str(key), str(v)) for v in value)
        else:
            out.append((str(key), str(value)))
    return out


def _grouped(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return grouped


def _sorted_pairs(grouped: Mapping[str, list[str]]) -> list[tuple[str, str]]:
    return [(key, value) for key in sorted(grouped) for value in sorted(grouped[key])]


@functools.lru_cache(maxsize=256)  # a receiver sees the same few callback URLs over and over
def _split_url(url: str) -> tuple[str, dict[str, list[str]], str]:
    """(base, query grouped by key, sorted query text) of a callback URL; treat as read-only."""
    parts = urlsplit(url)
    path = parts.path.split(";", 1)[0]
    base = f"{parts.scheme}://{parts.netloc}{path}"
    query = _grouped(parse_qsl(parts.query, keep_blank_values=True))
    return base, query, "&".join(f"{k}={v}" for k, v in _sorted_pairs(query))


def signature_string(method: str, url: str, params: Params | None = None) -> str:
    """The text Plivo signs for a callback to ``url`` with these parameters (before the nonce).

    Examples
    --------
    >>> signature_string("POST", "https://h/cb?b=2&a=1#ct=2000", {"y": "2", "x": "1"})
    'https://h/cb?a=1&b=2.x1y2'
    """
    base, query, query_text = _split_url(url)
    pairs = _pairs(params)
    if method.upper() == "GET":
        merged = _grouped(pairs)
        merged.update(query)  # the URL's own query wins on a clash
        if not merged:
            return base
        return base + "?" + "&".join(f"{k}={v}" for k, v in _sorted_pairs(merged))
    if not pairs:
        return base + ("?" + query_text if query_text else "")
    # sorted() over (key, value) pairs: by key, a repeated key's values in order
    body_text = "".join([k + v for k, v in sorted(pairs)])
    return base + "?" + query_text + ("." if query_text else "") + body_text


def _utf8(text: str) -> bytes:
    # A lone surrogate (from a JSON "\\ud800" escape) cannot be UTF-8; encode it anyway so that
    # such a request fails verification as a mismatch instead of raising.
    return text.encode("utf-8", "surrogatepass")


def sign_v3(auth_token: str, nonce: str, method: str, url: str, params: Params | None = None) -> str:
    """The V3 signature (standard base64 with padding) of a callback."""
    message = _utf8(f"{signature_string(method, url, params)}.{nonce}")
    digest = hmac.digest(_utf8(auth_token), message, "sha256")
    return base64.b64encode(digest).decode("ascii")


def signed_headers(auth_token: str, nonce: str, method: str, url: str,
                   params: Params | None = None, *, main_account_token: str | None = None
                   ) -> dict[str, str]:
    """The headers Plivo would send with this callback (the sandbox's signing helper)."""
    headers = {
        SIGNATURE_HEADER: sign_v3(auth_token, nonce, method, url, params),
        NONCE_HEADER: nonce,
    }
    headers[MA_SIGNATURE_HEADER] = sign_v3(main_account_token or auth_token, nonce, method, url,
                                           params)
    return headers


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever its case (ASGI and the receiver use lower-case names)."""
    lowered = name.lower()
    value = headers.get(lowered)
    if value is None:
        value = headers.get(name)
        if value is None:
            for key, val in headers.items():
                if key.lower() == lowered:
                    return val
    return value


def _token_list(tokens: str | Sequence[str], name: str) -> list[str]:
    # An empty token would make HMAC keyed with b"" and accept signatures anyone can compute.
    listed = [tokens] if isinstance(tokens, str) else list(tokens)
    if not listed or not all(isinstance(t, str) and t for t in listed):
        raise ConfigurationError(f"{name}: at least one non-empty auth token is needed to verify"
                                 " callback signatures")
    return listed


class SignatureVerifier:
    """Checks V3 signatures against a fixed set of tokens (what :func:`verify_v3` does).

    A receiver checks every callback against the same tokens, so this validates and encodes
    them once instead of on each request. ``auth_tokens`` check ``X-Plivo-Signature-V3``
    (several while one is being rotated); ``main_account_tokens`` check
    ``X-Plivo-Signature-Ma-V3`` (default: the same tokens). The repr shows how many tokens,
    never their values.

    Examples
    --------
    >>> headers = signed_headers("token", "12345", "POST", "https://h/cb", {"a": "1"})
    >>> SignatureVerifier("token").verify(headers, method="POST", url="https://h/cb",
    ...                                   params={"a": "1"})
    'X-Plivo-Signature-V3'
    """

    __slots__ = ("_keys",)

    def __init__(self, auth_tokens: str | Sequence[str],
                 main_account_tokens: str | Sequence[str] | None = None) -> None:
        # HMAC objects keyed once: each check copies one instead of keying HMAC again
        keys = tuple(hmac.new(_utf8(t), digestmod=hashlib.sha256)
                     for t in _token_list(auth_tokens, "auth_tokens"))
        ma_keys = (keys if main_account_tokens is None
                   else tuple(hmac.new(_utf8(t), digestmod=hashlib.sha256)
                              for t in _token_list(main_account_tokens, "main_account_tokens")))
        self._keys = ((SIGNATURE_HEADER, SIGNATURE_HEADER.lower(), keys),
                      (MA_SIGNATURE_HEADER, MA_SIGNATURE_HEADER.lower(), ma_keys))

    def __repr__(self) -> str:
        return (f"SignatureVerifier(tokens={len(self._keys[0][2])},"
                f" main_account_tokens={len(self._keys[1][2])})")

    def verify(self, headers: Mapping[str, str], *, method: str, url: str,
               params: Params | None) -> str:
        """Check one callback's signature; return the header name that matched.

        A header may hold several comma-separated signatures; any match passes. ``url`` must
        be the public URL Plivo called. Comparison is constant-time. Raises
        :class:`MissingSignatureError`, :class:`MissingNonceError` or
        :class:`SignatureMismatchError`.
        """
        offered = [(name, _header(headers, lowered), keys) for name, lowered, keys in self._keys]
        if not ((offered[0][1] or "").strip() or (offered[1][1] or "").strip()):
            raise MissingSignatureError(
                f"no {SIGNATURE_HEADER} or {MA_SIGNATURE_HEADER} header: the request is not signed"
            )
        nonce = _header(headers, NONCE_HEADER)
        if not nonce or not nonce.strip():
            raise MissingNonceError(f"no {NONCE_HEADER} header: the signature cannot be checked")
        message = _utf8(f"{signature_string(method, url, params)}.{nonce.strip()}")
        for header_name, value, keys in offered:
            if not value:
                continue
            candidates = [_utf8(s.strip()) for s in value.split(",") if s.strip()]
            for keyed in keys:
                mac = keyed.copy()
                mac.update(message)
                expected = binascii.b2a_base64(mac.digest(), newline=False)
                # compare against every candidate, without stopping early on a match
                matched = False
                for candidate in candidates:
                    matched |= hmac.compare_digest(expected, candidate)
                if matched:
                    return header_name
        raise SignatureMismatchError(
            "signature mismatch: no offered signature matches the configured token(s) for this"
            " URL (check that public_url is the URL Plivo calls)"
        )


def verify_v3(
    headers: Mapping[str, str],
    *,
    method: str,
    url: str,
    params: Params | None,
    auth_tokens: str | Sequence[str],
    main_account_tokens: str | Sequence[str] | None = None,
) -> str:
    """Check a callback's V3 signature; return the header name that matched.

    ``auth_tokens`` are the account's (or sub-account's) tokens, several while one is being
    rotated; ``main_account_tokens`` check ``X-Plivo-Signature-Ma-V3`` (default: the same tokens).
    A header may hold several comma-separated signatures; any match passes. ``url`` must be the
    public URL Plivo called. Comparison is constant-time. To check many callbacks against the
    same tokens, build one :class:`SignatureVerifier`.

    Raises :class:`MissingSignatureError`, :class:`MissingNonceError` or
    :class:`SignatureMismatchError`; :class:`ConfigurationError` when no usable token is given
    (an empty token is refused: it would accept signatures anyone can compute).
    """
    return SignatureVerifier(auth_tokens, main_account_tokens).verify(
        headers, method=method, url=url, params=params)
