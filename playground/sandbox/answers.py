"""What every sandbox route shares: Krea's ``{"error": ...}`` answers, Bearer auth, paging queries."""

from __future__ import annotations

import hmac

from fastapi import Request
from fastapi.responses import JSONResponse

from playground.settings import SandboxSettings

from .engine import parse_cursor


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def authenticate(request: Request, settings: SandboxSettings) -> str | JSONResponse:
    """The Bearer token, or the 401 answer."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if not header:
        return error(401, "Missing Authorization header. Send 'Authorization: Bearer <your API token>'.")
    if scheme.lower() != "bearer" or not token:
        return error(401, "Malformed Authorization header. Send 'Authorization: Bearer <your API token>'.")
    required = settings.required_token
    if required is not None and not hmac.compare_digest(token.encode(), required.encode()):
        return error(401, "Invalid API token.")
    return token


def base_url(request: Request) -> str:
    """The sandbox's address as this client reached it: URLs in answers are built on it."""
    return str(request.base_url).rstrip("/")


def page_query(request: Request) -> tuple[int, float | None] | JSONResponse:
    """``limit`` (1-1000, default 100) and ``cursor`` (ISO 8601, as milliseconds) of a list route, or the 400."""
    query = request.query_params
    raw_limit = query.get("limit", "100")
    try:
        limit = int(raw_limit)
    except ValueError:
        limit = 0
    if not 1 <= limit <= 1000:
        return error(400, f"limit must be an integer from 1 to 1000; got {raw_limit!r}.")
    cursor = query.get("cursor")
    if not cursor:
        return limit, None
    try:
        return limit, parse_cursor(cursor)
    except ValueError:
        return error(400, f"cursor must be an ISO 8601 date-time such as 2025-01-15T10:30:00.000Z; got {cursor!r}.")


def not_implemented(method: str, path: str, served: str) -> str:
    return f"The sandbox does not implement {method} {path}. It serves: {served}. See docs/SANDBOX.md."
