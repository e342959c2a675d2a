"""The callback path check: a signed test callback sent to ``{public_url}/callbacks/recording``,
through whatever stands between (tunnel, load balancer, reverse proxy), to the receiver.

The receiver verifies it as any callback and stores it (so the log's fsync is part of the path)
and, because it is a test callback (:mod:`recording_toolkit.probes`), answers with the URL it
verified the signature against. When that is not the URL signed, the two are compared part by
part (scheme, host, port, path prefix): that is the usual reason signatures never match behind
a proxy, and each part has its fix.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..probes import new_test_callback
from ..receiver import RECORDING_PATH
from ..signature import signed_headers
from ._result import CheckResult

__all__ = ["check_callback_path", "url_differences"]

_NAME = "callback path"


def _port(parts: Any) -> int | None:
    try:
        port: int | None = parts.port
    except ValueError:
        return None
    return port or {"http": 80, "https": 443}.get(parts.scheme)


def url_differences(signed: str, rebuilt: str) -> list[str]:
    """How ``rebuilt`` (the URL the receiver verified against) differs from ``signed``.

    >>> url_differences("https://cb.example.com/rt/callbacks/recording",
    ...                 "http://127.0.0.1:8000/callbacks/recording")
    ["scheme: signed 'https', the receiver saw 'http'", "host: signed 'cb.example.com', the \
receiver saw '127.0.0.1'", 'port: signed 443, the receiver saw 8000', "path prefix: signed \
'/rt', the receiver saw none"]
    """
    a, b = urlsplit(signed), urlsplit(rebuilt)
    found = []
    if a.scheme != b.scheme:
        found.append(f"scheme: signed {a.scheme!r}, the receiver saw {b.scheme!r}")
    if (a.hostname or "") != (b.hostname or ""):
        found.append(f"host: signed {a.hostname!r}, the receiver saw {b.hostname!r}")
    if _port(a) != _port(b):
        found.append(f"port: signed {_port(a)}, the receiver saw {_port(b)}")
    prefix_a = a.path[:-len(RECORDING_PATH)] if a.path.endswith(RECORDING_PATH) else a.path
    prefix_b = b.path[:-len(RECORDING_PATH)] if b.path.endswith(RECORDING_PATH) else b.path
    if prefix_a != prefix_b:
        shown_b = repr(prefix_b) if prefix_b else "none"
        found.append(f"path prefix: signed {prefix_a or 'none'!r}, the receiver saw {shown_b}"
                     if prefix_a else f"path prefix: signed none, the receiver saw {shown_b}")
    return found


def _mismatch_fix(public_url: str, differences: list[str]) -> str:
    fix = f"run the receiver with --public-url {public_url} (the URL Plivo calls)"
    parts = {d.split(":", 1)[0] for d in differences}
    if parts <= {"scheme", "host", "port"}:
        fix += (", or behind a proxy you control, forward the Host and X-Forwarded-Proto"
                " headers and run it with --trust-forwarded")
    if "path prefix" in parts:
        fix += "; the proxy strips the path prefix, so only --public-url (with the prefix) fixes it"
    return fix


def check_callback_path(public_url: str | None, auth_token: str | None, *, timeout: float,
                        transport: httpx.BaseTransport | None = None) -> CheckResult:
    """Send one signed test callback to the receiver at ``public_url`` and read its answer."""
    if public_url is None:
        return CheckResult(_NAME, "skipped", "no public URL given, so no test callback was sent",
                           "pass --public-url (the base URL Plivo calls) while the receiver runs")
    url = public_url + RECORDING_PATH
    if not auth_token:
        return CheckResult(_NAME, "failed", "no auth token to sign a test callback with",
                           "set PLIVO_AUTH_TOKEN to the token the receiver verifies with")
    fields = new_test_callback()
    headers = signed_headers(auth_token, secrets.token_hex(16), "POST", url, fields)
    details: dict[str, Any] = {"url": url, "recording_id": fields["recording_id"]}
    try:
        with httpx.Client(timeout=timeout, transport=transport,
                          follow_redirects=False) as client:
            answer = client.post(url, data=fields, headers=headers)
    except httpx.HTTPError as exc:
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return CheckResult(_NAME, "failed", f"nothing answered at {url} ({reason})",
                           "start the receiver (recording-toolkit receive --public-url"
                           f" {public_url}) and check that this URL reaches it: tunnel or proxy"
                           " running, DNS, firewall", details)
    details["status"] = answer.status_code
    try:
        body: Any = answer.json()
    except ValueError:
        body = None
    said: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
    marked = said.get("test_callback") is True
    rebuilt = said.get("rebuilt_url") if isinstance(said.get("rebuilt_url"), str) else None
    details["rebuilt_url"] = rebuilt
    status = answer.status_code
    if status == 200 and marked and said.get("status") in ("stored", "duplicate"):
        if said.get("verified") is False:
            return CheckResult(_NAME, "warning",
                               f"the test callback reached the receiver at {url} and was stored,"
                               " but the receiver does not check signatures (--no-verify)",
                               "run the receiver without --no-verify: anyone could post"
                               " callbacks to it", details)
        return CheckResult(_NAME, "ok", f"a signed test callback to {url} was verified and"
                           " stored (the loader and the analytics leave it out)", "", details)
    if status == 403 and marked and rebuilt is not None:
        differences = url_differences(url, rebuilt)
        details["differences"] = differences
        if differences:
            return CheckResult(_NAME, "failed",
                               f"the receiver refused the signature: it verified against"
                               f" {rebuilt} but {url} was signed ({'; '.join(differences)})",
                               _mismatch_fix(public_url, differences), details)
        return CheckResult(_NAME, "failed",
                           f"the receiver refused the signature for the very URL signed ({url}):"
                           " it verifies with another token than this PLIVO_AUTH_TOKEN",
                           "give the receiver this account's token (PLIVO_AUTH_TOKEN, or"
                           " --auth-token while rotating; for a sub-account, its own token)",
                           details)
    if status == 403:
        return CheckResult(_NAME, "failed", f"{url} refused the test callback (403) without"
                           " saying which URL it verified against: not this toolkit's receiver,"
                           " or an older one", "run recording-toolkit receive behind this URL",
                           details)
    if status in (301, 302, 303, 307, 308):
        where = answer.headers.get("location", "?")
        return CheckResult(_NAME, "failed", f"{url} redirects ({status}) to {where}; Plivo does"
                           " not follow redirects with callbacks",
                           "give Plivo and --public-url the final URL (often the https one)",
                           details)
    if status == 404:
        return CheckResult(_NAME, "failed", f"{url} answered 404: what answers there does not"
                           " route this path to the receiver",
                           "check the proxy's location / path prefix, and that --public-url"
                           " includes the prefix it forwards", details)
    if status == 503 and said.get("error"):
        return CheckResult(_NAME, "failed", f"the receiver could not write its log: {said['error']}",
                           "see the log folder check: space, permissions", details)
    if status == 200:
        return CheckResult(_NAME, "failed", f"{url} answered 200 but not as the receiver does: the"
                           " test callback was not taken as one (an older receiver, or another"
                           " application at this URL)", "run recording-toolkit receive behind"
                           " this URL", details)
    return CheckResult(_NAME, "failed", f"{url} answered {status}"
                       f"{': ' + str(said['error']) if said.get('error') else ''}",
                       "check what serves this URL: it should be recording-toolkit receive",
                       details)
