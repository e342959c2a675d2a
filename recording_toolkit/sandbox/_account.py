"""The sandbox's account resource: the main account and its sub-accounts, as Plivo answers them.

==============================================================  ================================
``GET    /v1/Account/{auth_id}/``                               the account (main or sub)
``GET    /v1/Account/{auth_id}/Subaccount/``                    list (``limit`` 1-20, ``offset``)
``POST   /v1/Account/{auth_id}/Subaccount/``                    create (``name``, ``enabled``): 201
``GET    /v1/Account/{auth_id}/Subaccount/{sub_auth_id}/``      one sub-account
``DELETE /v1/Account/{auth_id}/Subaccount/{sub_auth_id}/``      delete it: 204
==============================================================  ================================

This is what ``recording-toolkit doctor`` checks credentials against: the cheapest
authenticated request Plivo offers. The shapes follow Plivo's Account API and the official
SDK (``docs/plivo.md``, "The account resource"). Sub-account credentials authenticate on their
own account resource only (``GET /v1/Account/{sub_auth_id}/``, answered with the sub-account
object without its token); the sandbox's recordings stay the main account's. Every refusal is
Plivo's 401, the same whether the auth id or the token is wrong.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import string
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

if TYPE_CHECKING:
    from ._sandbox import SandboxCore

__all__ = ["AccountBook", "account_resource"]

_ID_ALPHABET = string.ascii_uppercase + string.digits
_MAX_SUBACCOUNTS = 1000


@dataclass
class _Subaccount:
    auth_id: str
    auth_token: str
    name: str
    enabled: bool
    created: str


class AccountBook:
    """The sub-accounts of the sandbox's main account (in memory, for the sandbox's life)."""

    def __init__(self) -> None:
        self._subaccounts: dict[str, _Subaccount] = {}
        self._lock = threading.Lock()

    def create(self, name: str, enabled: bool, created: str) -> _Subaccount:
        with self._lock:
            while True:
                auth_id = "SA" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(18))
                if auth_id not in self._subaccounts:
                    break
            token = "".join(secrets.choice(string.ascii_letters + string.digits)
                            for _ in range(40))
            sub = _Subaccount(auth_id, token, name, enabled, created)
            self._subaccounts[auth_id] = sub
            return sub

    def get(self, auth_id: str) -> _Subaccount | None:
        with self._lock:
            return self._subaccounts.get(auth_id)

    def delete(self, auth_id: str) -> bool:
        with self._lock:
            return self._subaccounts.pop(auth_id, None) is not None

    def all(self) -> list[_Subaccount]:
        with self._lock:
            return list(self._subaccounts.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._subaccounts)


def _error(core: SandboxCore, status: int, message: str,
           headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"api_id": core.new_api_id(), "error": message}, status,
                        headers=headers)


def _unauthorised(core: SandboxCore) -> JSONResponse:
    return _error(core, 401, "authentication failed: wrong auth id or auth token",
                  {"WWW-Authenticate": 'Basic realm="recording_toolkit sandbox"'})


def _basic_auth(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def _matches(given: tuple[str, str], auth_id: str, token: str) -> bool:
    # both compared, without an early exit that would time the auth id alone
    same_user = hmac.compare_digest(given[0].encode(), auth_id.encode())
    same_token = hmac.compare_digest(given[1].encode(), token.encode())
    return same_user and same_token


def _main_object(core: SandboxCore) -> dict[str, Any]:
    return {"account_type": "standard", "address": "", "api_id": core.new_api_id(),
            "auth_id": core.auth_id, "auto_recharge": False, "billing_mode": "prepaid",
            "cash_credits": "100.00000", "city": "", "name": "Sandbox account",
            "resource_uri": f"/v1/Account/{core.auth_id}/", "state": "", "timezone": "UTC"}


def _sub_object(core: SandboxCore, sub: _Subaccount, *, with_token: bool) -> dict[str, Any]:
    found: dict[str, Any] = {
        "account": f"/v1/Account/{core.auth_id}/", "api_id": core.new_api_id(),
        "auth_id": sub.auth_id, "created": sub.created, "enabled": sub.enabled,
        "modified": None, "name": sub.name,
        "resource_uri": f"/v1/Account/{core.auth_id}/Subaccount/{sub.auth_id}/",
    }
    if with_token:
        found["auth_token"] = sub.auth_token
    return found


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if body.lstrip()[:1] == b"{":
        import json

        try:
            data = json.loads(body)
        except ValueError:
            return {}
        return {str(k): ("" if v is None else str(v).lower() if isinstance(v, bool) else str(v))
                for k, v in data.items()} if isinstance(data, dict) else {}
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        return {}


async def account_resource(request: Request, core: SandboxCore, book: AccountBook,
                           auth_id: str, rest: list[str]) -> Response:
    """Answer a request under ``/v1/Account/{auth_id}/`` whose rest is ``[]`` or starts with
    ``Subaccount`` (checked by the caller)."""
    given = _basic_auth(request)
    method = request.method
    if given is None:
        return _unauthorised(core)
    main = _matches(given, core.auth_id, core.auth_token) and auth_id == core.auth_id
    if not rest:
        sub = book.get(auth_id)
        if not main and not (sub is not None and sub.enabled
                             and _matches(given, sub.auth_id, sub.auth_token)):
            return _unauthorised(core)
        if method != "GET":
            return _error(core, 405, f"method {method} not allowed; use GET",
                          {"Allow": "GET"})
        if main:
            return JSONResponse(_main_object(core))
        assert sub is not None
        return JSONResponse(_sub_object(core, sub, with_token=False))
    if not main:  # only the main account manages its sub-accounts
        return _unauthorised(core)
    if len(rest) == 1:
        if method == "GET":
            return _list(request, core, book)
        if method == "POST":
            return await _create(request, core, book)
        return _error(core, 405, f"method {method} not allowed; use GET or POST",
                      {"Allow": "GET, POST"})
    if len(rest) == 2 and rest[1]:
        sub = book.get(rest[1])
        if sub is None:
            return _error(core, 404, "subaccount not found")
        if method == "GET":
            return JSONResponse(_sub_object(core, sub, with_token=True))
        if method == "DELETE":
            book.delete(sub.auth_id)
            return Response(status_code=204)
        return _error(core, 405, f"method {method} not allowed; use GET or DELETE",
                      {"Allow": "GET, DELETE"})
    return _error(core, 404, "resource not found")


def _list(request: Request, core: SandboxCore, book: AccountBook) -> Response:
    try:
        limit = int(request.query_params.get("limit", "20"))
        offset = int(request.query_params.get("offset", "0"))
    except ValueError:
        return _error(core, 400, "limit and offset must be whole numbers")
    if not 0 < limit <= 20:
        return _error(core, 400, "limit: must be from 1 to 20")
    if offset < 0:
        return _error(core, 400, "offset: must be 0 or more")
    subs = book.all()
    page = subs[offset:offset + limit]
    base = f"/v1/Account/{core.auth_id}/Subaccount/"
    more = offset + limit < len(subs)
    return JSONResponse({
        "api_id": core.new_api_id(),
        "meta": {"limit": limit, "offset": offset, "total_count": len(subs),
                 "next": f"{base}?limit={limit}&offset={offset + limit}" if more else None,
                 "previous": (f"{base}?limit={limit}&offset={max(0, offset - limit)}"
                              if offset else None)},
        "objects": [_sub_object(core, s, with_token=True) for s in page],
    })


async def _create(request: Request, core: SandboxCore, book: AccountBook) -> Response:
    fields = await _form(request)
    name = fields.get("name", "").strip()
    if not name:
        return _error(core, 400, "name: required")
    enabled_text = fields.get("enabled", "false").strip().lower()
    if enabled_text not in ("true", "false", ""):
        return _error(core, 400, f"enabled: {enabled_text[:20]!r} is not true or false")
    if len(book) >= _MAX_SUBACCOUNTS:
        return _error(core, 400, f"no more than {_MAX_SUBACCOUNTS} sub-accounts")
    sub = book.create(name[:200], enabled_text == "true", core.clock.now().date().isoformat())
    return JSONResponse({"api_id": core.new_api_id(), "auth_id": sub.auth_id,
                         "auth_token": sub.auth_token, "message": "created"}, 201)
