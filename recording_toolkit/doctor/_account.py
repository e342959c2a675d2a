"""The credentials and clock checks: one authenticated ``GET /v1/Account/{auth_id}/``.

Plivo's account resource is the cheapest authenticated request there is (no side effect, no
charge). Its answer says whether the credentials work and whose they are (a main account, or a
sub-account whose answer names its parent); its ``Date`` header is the API's clock, which the
receiver's ``received_at`` stamps are compared with in every turnaround figure.

Plivo answers a wrong auth id and a wrong token with the same 401, so the check tells them
apart only where something else does: an auth id that is not one (checked before any request),
a token whose length is not a Plivo token's (40 characters), or spaces or quotes around either
(a copy-paste slip).
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from ..config import AUTH_ID_PATTERN
from ._result import CheckResult, Status

__all__ = ["ApiAnswer", "PLIVO_TOKEN_LENGTH", "ask_account", "check_clock",
           "check_credentials"]

#: Characters in a Plivo auth token.
PLIVO_TOKEN_LENGTH = 40
#: Clock skew (seconds) from which the clock check warns, and from which it fails.
SKEW_WARNING = 5.0
SKEW_FAILURE = 60.0


@dataclass(frozen=True)
class ApiAnswer:
    """What the account request got: the status and JSON body (None when nothing answered), the
    ``Date`` header, the local time at the request's middle, and the error when it failed."""

    url: str
    status: int | None = None
    body: Any = None
    date: str | None = None
    local_time: float = 0.0
    error: str | None = None


def ask_account(base_url: str, auth_id: str, auth_token: str, *, timeout: float,
                transport: httpx.BaseTransport | None = None) -> ApiAnswer:
    """``GET {base_url}/v1/Account/{auth_id}/`` with Basic auth."""
    url = f"{base_url}/v1/Account/{auth_id}/"
    try:
        with httpx.Client(timeout=timeout, transport=transport,
                          follow_redirects=False) as client:
            sent = time.time()
            answer = client.get(url, auth=(auth_id, auth_token),
                                headers={"Accept": "application/json"})
            middle = (sent + time.time()) / 2
    except httpx.HTTPError as exc:
        return ApiAnswer(url, error=f"{type(exc).__name__}: {exc}" if str(exc)
                         else type(exc).__name__)
    try:
        body = answer.json()
    except ValueError:
        body = None
    return ApiAnswer(url, answer.status_code, body, answer.headers.get("date"), middle)


def _token_hint(token: str) -> str | None:
    if token != token.strip() or token[:1] in "'\"" or token[-1:] in "'\"":
        return "the token has spaces or quotes around it (a copy-paste slip)"
    if len(token) != PLIVO_TOKEN_LENGTH:
        return (f"the token is {len(token)} characters long where Plivo's are"
                f" {PLIVO_TOKEN_LENGTH}: the token is the likely culprit")
    return None


def check_credentials(auth_id: str | None, auth_token: str | None, *, auth_id_given: bool,
                      auth_id_flag: str | None, answer: ApiAnswer | None,
                      base_url: str) -> CheckResult:
    """The credentials check from the resolved values and the account request's answer
    (``answer`` is None when no request could be made)."""
    id_from = (auth_id_flag or "auth_id") if auth_id_given else "PLIVO_AUTH_ID"
    if not auth_id:
        return CheckResult("credentials", "failed", "no auth id is set",
                           f"set PLIVO_AUTH_ID{f' or pass {auth_id_flag}' if auth_id_flag else ''}"
                           " to the auth id shown on Plivo's console (Overview)")
    if not AUTH_ID_PATTERN.match(auth_id):
        shown = auth_id if len(auth_id) <= 40 else auth_id[:40] + "..."
        hint = " (it has spaces around it)" if auth_id != auth_id.strip() else ""
        return CheckResult("credentials", "failed",
                           f"{id_from} is {shown!r}{hint}, which is not a Plivo auth id",
                           "an auth id is 'MA' (main account) or 'SA' (sub-account) and 18"
                           " upper-case letters or digits: copy it again from Plivo's console")
    kind = "sub-account" if auth_id.startswith("SA") else "main account"
    if not auth_token:
        return CheckResult("credentials", "failed", f"no auth token is set for {kind} {auth_id}",
                           "set PLIVO_AUTH_TOKEN to the token shown beside the auth id on"
                           " Plivo's console")
    assert answer is not None
    details: dict[str, Any] = {"auth_id": auth_id, "kind": kind, "url": answer.url,
                               "status": answer.status}
    if answer.status is None:
        return CheckResult("credentials", "failed",
                           f"the API at {base_url} did not answer ({answer.error})",
                           "check the network and the API root (--base-url or"
                           " PLIVO_API_BASE_URL; Plivo's is https://api.plivo.com)", details)
    body = answer.body if isinstance(answer.body, Mapping) else {}
    said = body.get("error")
    said_text = f": {said}" if isinstance(said, str) and said else ""
    if answer.status == 200:
        parent = body.get("account")
        if isinstance(parent, str) and parent or auth_id.startswith("SA"):
            parent_id = parent.strip("/").split("/")[-1] if isinstance(parent, str) else "?"
            details.update(kind="sub-account", main_account=parent_id)
            found = f"sub-account {auth_id} of main account {parent_id}"
            fix = ""
            note = ("; Plivo signs its callbacks with this token (X-Plivo-Signature-V3) and"
                    " with the main account's (X-Plivo-Signature-Ma-V3): the receiver needs"
                    " this sub-account's token")
        else:
            details["kind"] = "main account"
            found, fix, note = f"main account {auth_id}", "", ""
        name = body.get("name")
        if isinstance(name, str) and name:
            found += f" ({name!r})"
        return CheckResult("credentials", "ok", f"{found}, accepted by {base_url}{note}", fix,
                           details)
    if answer.status == 401:
        token_hint = _token_hint(auth_token)
        if token_hint is not None:
            found = (f"the API refused {kind} {auth_id} with this token (401{said_text});"
                     f" {token_hint}")
            fix = ("set PLIVO_AUTH_TOKEN to the 40-character token shown beside this auth id"
                   " on Plivo's console")
        else:
            found = (f"the API refused {kind} {auth_id} with this token (401{said_text}); Plivo"
                     " gives the same answer for a wrong auth id and a wrong token")
            fix = (f"check that PLIVO_AUTH_TOKEN is the token of {auth_id} itself"
                   + (" (a sub-account has its own token, not the main account's)"
                      if kind == "sub-account" else
                      " (not a sub-account's, nor a token since rotated)")
                   + f", and that {id_from} is the auth id you meant")
        return CheckResult("credentials", "failed", found, fix, details)
    if answer.status == 403:
        return CheckResult("credentials", "failed",
                           f"the API knows {kind} {auth_id} but forbids this request"
                           f" (403{said_text})",
                           "the account may be suspended or restricted: see Plivo's console",
                           details)
    if answer.status == 404:
        return CheckResult("credentials", "failed",
                           f"no account resource at {answer.url} (404{said_text})",
                           "the API root looks wrong: --base-url or PLIVO_API_BASE_URL should be"
                           " https://api.plivo.com (or the sandbox's URL)", details)
    if answer.status == 429 or answer.status >= 500:
        return CheckResult("credentials", "warning",
                           f"the API answered {answer.status}{said_text}; the credentials were"
                           " not checked", "run doctor again in a minute", details)
    return CheckResult("credentials", "failed",
                       f"the API answered {answer.status}{said_text} to {answer.url}",
                       "check --base-url / PLIVO_API_BASE_URL", details)


def check_clock(answer: ApiAnswer | None) -> CheckResult:
    """This machine's clock against the ``Date`` header of the API's answer."""
    if answer is None or answer.status is None:
        return CheckResult("clock", "skipped", "no answer from the API to compare the clock with",
                           "")
    if not answer.date:
        return CheckResult("clock", "skipped", "the API's answer has no Date header", "")
    try:
        stamp = email.utils.parsedate_to_datetime(answer.date).timestamp()
    except (TypeError, ValueError):
        return CheckResult("clock", "skipped", f"the API's Date header {answer.date!r} is not"
                           " a date", "")
    # Date has whole seconds (cut, not rounded): the API's time was within the next second
    skew = answer.local_time - (stamp + 0.5)
    details = {"skew_seconds": round(skew, 1), "api_date": answer.date}
    way = "ahead of" if skew > 0 else "behind"
    size = abs(skew)
    if size < SKEW_WARNING:
        return CheckResult("clock", "ok", f"within {SKEW_WARNING:g} s of the API's"
                           f" ({size:.1f} s {way.split()[0]})", "", details)
    status: Status = "failed" if size >= SKEW_FAILURE else "warning"
    return CheckResult("clock", status,
                       f"this machine's clock is {size:.0f} s {way} the API's (Date:"
                       f" {answer.date}); received_at stamps and turnaround figures are off by"
                       " as much",
                       "turn on time synchronisation: timedatectl set-ntp true (or chrony/ntpd)",
                       details)
