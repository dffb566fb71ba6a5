"""Typed errors of the Krea client, each with a ``user_message`` a person can act on.

Two families, kept apart as replicate-python does: :class:`KreaAPIError` means *the API call failed* (the
request was refused or never got an answer); :class:`JobError` means *the call worked but the job did not*
(failed, cancelled, or we stopped waiting). :class:`BadImage` is a result download that was refused.

No error ever holds the token: bodies are scrubbed of the request's own ``Authorization`` value before they
are stored, and no error keeps the ``requests`` response (whose request carries the header).

Every error class names its :class:`ErrorKind` (``err.kind``) and so its short heading (``err.title``): the
layers above decide what to show and whether to retry by kind, written once here.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Iterable
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, quote_plus

import requests

from playground.krea.jobs import status_label  # jobs imports nothing from here: no cycle

if TYPE_CHECKING:
    from playground.krea.jobs import Job


# Bodies are kept for debugging, not for display: an HTML error page can be huge.
MAX_BODY_CHARS = 2000
TOKEN_URL = "krea.ai/settings/api-tokens"
TOPUP_URL = "krea.ai/app/api"


class ErrorKind(StrEnum):
    """What went wrong, in one word: every layer above (runs, pages, exports) keys on this, never on a class.

    ``title`` is the short heading shown to people; the error's ``user_message`` says what to do.
    ``budget`` and ``internal`` are never raised by the client: they are the app's own (a run refused for
    its cost, a bug of ours), listed here so there is one list of kinds.
    """

    INVALID = "invalid"
    UNAUTHORIZED = "unauthorized"
    OUT_OF_CREDITS = "out_of_credits"
    RATE_LIMITED = "rate_limited"
    RETIRED = "retired"
    NOT_FOUND = "not_found"
    SERVER = "server"
    NETWORK = "network"
    TIMEOUT = "timeout"
    JOB_FAILED = "job_failed"
    CANCELLED = "cancelled"
    BAD_IMAGE = "bad_image"
    BUDGET = "budget"
    INTERNAL = "internal"

    @property
    def title(self) -> str:
        return _TITLES[self]


_TITLES: dict[ErrorKind, str] = {
    ErrorKind.INVALID: "Check the form",
    ErrorKind.UNAUTHORIZED: "Token refused",
    ErrorKind.OUT_OF_CREDITS: "Out of credits",
    ErrorKind.RATE_LIMITED: "Too many jobs at once",
    ErrorKind.RETIRED: "Model retired",
    ErrorKind.NOT_FOUND: "Not found",
    ErrorKind.SERVER: "Krea had a problem",
    ErrorKind.NETWORK: "Can't reach the API",
    ErrorKind.TIMEOUT: "Still not finished",
    ErrorKind.JOB_FAILED: "The job failed",
    ErrorKind.CANCELLED: "Cancelled",
    ErrorKind.BAD_IMAGE: "Image problem",
    ErrorKind.BUDGET: "Over budget",
    ErrorKind.INTERNAL: "Something went wrong",
}


class KreaError(Exception):
    """Base of every client error. ``str(err)`` is the technical message; show ``user_message`` to people.

    ``kind`` (a class attribute) says what went wrong in one word; ``title`` is its short heading.
    """

    kind: ClassVar[ErrorKind] = ErrorKind.SERVER
    default_user_message = "Something went wrong talking to Krea. Please try again."

    def __init__(
        self,
        message: str,
        status: int | None = None,
        body: str | None = None,
        user_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body
        self.user_message = user_message or self.default_user_message

    @property
    def title(self) -> str:
        return self.kind.title

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, message={self.message!r})"


# --- the API call failed ----------------------------------------------------------------------------------


class KreaAPIError(KreaError):
    """The request was refused or got no usable answer (an HTTP error status, or an unexpected body)."""

    kind: ClassVar[ErrorKind] = ErrorKind.SERVER


class BadAnswer(KreaAPIError):
    """A success status with an unusable answer: not JSON, not a job, or too large to read."""

    kind: ClassVar[ErrorKind] = ErrorKind.SERVER
    default_user_message = "Krea answered with something that is not Krea's JSON. Check the API base URL."


class AnswerTooLarge(BadAnswer):
    """An answer above ``ClientSettings.max_answer_bytes``: refused unread (the connection is closed)."""

    def __init__(self, message: str, cap: int, status: int | None = None) -> None:
        super().__init__(message, status, None,
                         f"Krea's answer was larger than {_size(cap)}, so it was not read. Check the API base URL "
                         "(KREA_API_BASE); if it is right, raise KREA_MAX_ANSWER_BYTES.")
        self.cap = cap


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB" if n >= 1024 * 1024 else f"{n / 1024:g} KB" if n >= 1024 else f"{n} bytes"


class BadRequest(KreaAPIError):
    """400/422: Krea refused the parameters. ``field`` names the culprit when the message says which."""

    kind: ClassVar[ErrorKind] = ErrorKind.INVALID

    def __init__(self, message: str, status: int | None = 400, body: str | None = None,
                 field: str | None = None) -> None:
        where = f" Check “{field}”." if field else ""
        super().__init__(message, status, body, f"Krea refused the parameters: {message}{where}")
        self.field = field


class Unauthorized(KreaAPIError):
    kind: ClassVar[ErrorKind] = ErrorKind.UNAUTHORIZED
    default_user_message = (
        f"The API token was refused. Check KREA_API_TOKEN / paste a valid token from {TOKEN_URL}"
    )


class OutOfCredits(KreaAPIError):
    kind: ClassVar[ErrorKind] = ErrorKind.OUT_OF_CREDITS
    default_user_message = (
        f"Your Krea API balance is used up. Top up at {TOPUP_URL}; failed jobs are not billed."
    )


class NotFound(KreaAPIError):
    kind: ClassVar[ErrorKind] = ErrorKind.NOT_FOUND
    default_user_message = (
        "Krea does not know this job (or this address). It may belong to another token or workspace, "
        "or the base URL may be wrong."
    )


class ModelRetired(KreaAPIError):
    """410: the model was sunset. Do not retry; switch to ``replacement`` when there is one."""

    kind: ClassVar[ErrorKind] = ErrorKind.RETIRED

    def __init__(self, message: str, status: int | None = 410, body: str | None = None, *,
                 replacement: str | None = None, sunset_date: str | None = None,
                 migration_url: str | None = None) -> None:
        when = f" on {sunset_date}" if sunset_date else ""
        text = f"This model was retired by Krea{when} and no longer runs."
        if replacement:
            text += f" Use {replacement} instead."
        if migration_url:
            text += f" Details: {migration_url}"
        super().__init__(message, status, body, text)
        self.replacement = replacement
        self.sunset_date = sunset_date
        self.migration_url = migration_url


class RateLimited(KreaAPIError):
    """429: too many jobs at once. ``retry_after`` is the server's hint in seconds, when it gave one."""

    kind: ClassVar[ErrorKind] = ErrorKind.RATE_LIMITED

    def __init__(self, message: str, status: int | None = 429, body: str | None = None,
                 retry_after: float | None = None) -> None:
        when = f"in about {retry_after:.0f} seconds" if retry_after is not None else "when a running job finishes"
        super().__init__(message, status, body,
                         f"Krea is already running as many of your jobs as your plan allows. Try again {when}.")
        self.retry_after = retry_after


class ServerError(KreaAPIError):
    kind: ClassVar[ErrorKind] = ErrorKind.SERVER
    default_user_message = (
        "Krea had a problem on its side (server error). Try again in a minute; if a job was submitted, "
        "check your recent jobs before submitting again."
    )


class TransportError(KreaAPIError):
    """No HTTP answer at all: refused connection, DNS failure, broken TLS, connection dropped mid-way.

    ``request_sent`` is False when the request certainly never left (e.g. connection refused), so a submit
    that failed this way created no job.
    """

    kind: ClassVar[ErrorKind] = ErrorKind.NETWORK

    def __init__(self, message: str, host: str = "", request_sent: bool = True,
                 user_message: str | None = None) -> None:
        self.host = host
        self.request_sent = request_sent
        target = host or "the Krea API"
        super().__init__(message, None, None, user_message or (
            f"Could not reach {target}. Check your network connection and the API base URL (KREA_API_BASE)."
        ))


class Timeout(TransportError):
    """The connection or the answer took longer than the configured timeout."""

    kind: ClassVar[ErrorKind] = ErrorKind.TIMEOUT

    def __init__(self, message: str, host: str = "", request_sent: bool = True) -> None:
        target = host or "the Krea API"
        super().__init__(message, host, request_sent,
                         f"{target} did not answer in time. Check your network and try again; if you were "
                         "submitting, look at your recent jobs first (the job may have been created).")


# --- the job failed ---------------------------------------------------------------------------------------


class JobError(KreaError):
    """The API calls worked, but the job did not produce an image (or we stopped waiting for it)."""

    kind: ClassVar[ErrorKind] = ErrorKind.JOB_FAILED


class JobFailed(JobError):
    """A job ended ``failed``, or ``completed`` without an image (a silent provider refusal)."""

    kind: ClassVar[ErrorKind] = ErrorKind.JOB_FAILED

    def __init__(self, job: Job) -> None:
        reason = job.error_message or "Krea gave no reason"
        super().__init__(f"job {job.job_id} failed: {reason}", None, None,
                         f"The job failed: {reason}. Failed jobs are not billed.")
        self.job = job
        self.reason = reason


class JobCancelled(JobError):
    kind: ClassVar[ErrorKind] = ErrorKind.CANCELLED

    def __init__(self, job: Job) -> None:
        super().__init__(f"job {job.job_id} was cancelled", None, None,
                         "The job was cancelled before it finished; cancelled jobs are not billed.")
        self.job = job


class JobTimeout(JobError):
    """The overall deadline passed while following a job. The job itself is not lost."""

    kind: ClassVar[ErrorKind] = ErrorKind.TIMEOUT

    def __init__(self, job_id: str, last_status: str | None, waited: float,
                 last_error: KreaError | None = None) -> None:
        seen = status_label(last_status) if last_status else "never seen"
        detail = f"; last problem: {last_error.user_message}" if last_error else ""
        super().__init__(
            f"stopped following job {job_id} after {waited:.0f}s (last status: {last_status}){detail}",
            None, None,
            f"Stopped waiting for job {job_id} after {waited:.0f} seconds (last status: {seen}). "
            "The job is not lost: it may still finish, and you can look it up later by its id.",
        )
        self.job_id = job_id
        self.last_status = last_status
        self.last_error = last_error


# --- a result download was refused ------------------------------------------------------------------------


class BadImage(KreaError):
    """A result URL was refused (foreign host, not http(s)), too large, unreachable, or not an image."""

    kind: ClassVar[ErrorKind] = ErrorKind.BAD_IMAGE

    def __init__(self, message: str, status: int | None = None, user_message: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message, status, None, user_message or f"The result image could not be used: {message}.")
        self.retry_after = retry_after  # the image host's Retry-After (on a 429/503), in seconds


class DownloadStopped(BadImage):
    """A Stop ended a download midway. The job itself is untouched (when it completed, it is billed)."""

    def __init__(self, message: str = "the download was stopped") -> None:
        super().__init__(message, None, "You stopped the download.")


# --- keeping the token out of every text ------------------------------------------------------------------

MIN_SECRET_CHARS = 8  # a shorter "token" (tests use "t") would blank ordinary words; real tokens are long


class Scrubber:
    """Replaces a client's token (as is and URL-encoded; ``Bearer <token>`` too) with ``***``.

    Applied to every answer the client parses, so nothing built from Krea's answers (a job's failure reason,
    its id or URLs, an error message, a log line) can carry the token back out, even when the API echoes it.
    """

    def __init__(self, secret: str | None) -> None:
        forms = ({secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}
                 if secret and len(secret) >= MIN_SECRET_CHARS else set())
        self._forms = tuple(sorted(forms, key=len, reverse=True))

    def __repr__(self) -> str:
        return "Scrubber(***)"

    def text(self, text: str) -> str:
        for form in self._forms:
            text = text.replace(form, "***")
        return text

    def json(self, data: Any) -> Any:
        """Parsed JSON with every string (keys too) scrubbed; after parsing, so escapes cannot hide the token."""
        if not self._forms:
            return data
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, list):
            return [self.json(item) for item in data]
        if isinstance(data, dict):
            return {self.text(k) if isinstance(k, str) else k: self.json(v) for k, v in data.items()}
        return data

    def error(self, exc: KreaError) -> KreaError:
        """The same error with its texts scrubbed (in place), for errors built from an answer."""
        for name in ("message", "body", "user_message", "reason"):
            value = getattr(exc, name, None)
            if isinstance(value, str):
                setattr(exc, name, self.text(value))
        exc.args = tuple(self.text(a) if isinstance(a, str) else a for a in exc.args)
        return exc


# --- building errors --------------------------------------------------------------------------------------

_Q = "\"'`\u2018\u201c\u2019\u201d"  # straight and curly quotes, backticks
_QUOTED = re.compile(rf"[{_Q}]([A-Za-z_][A-Za-z0-9_.\[\]]*)[{_Q}]")
# "Unknown field 'bogus'", "Unrecognized key(s) in object: 'imageUrl'": the named key is the culprit even
# though the model does not know it.
_UNKNOWN_KEY = re.compile(rf"(?i)\b(?:unknown|unrecognized|unexpected|extra|additional)\b[^{_Q}]{{0,40}}"
                          rf"[{_Q}]([A-Za-z_][A-Za-z0-9_]*)[{_Q}]")
_LEADING = re.compile(
    r"^\s*([a-z_][a-z0-9_]*)(?:\[\d+\]|\.[a-z0-9_]+)*"  # a name, maybe with a path: style_images[0].url
    r"\s*(?::|\s+(?:must|is|should|has|cannot|can't|expected|exceeds|not))"
)
_GENERIC_PREFIX = re.compile(r"(?i)^\s*(?:invalid (?:request )?body|validation (?:error|failed)|bad request)\s*:\s*")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _top_name(path: str) -> str:
    """"style_images[0].url" → style_images; "body.width" → width."""
    return next((p for p in re.split(r"[\[\].]", path) if p and p != "body"), "")


def parse_field(message: str, known_fields: Iterable[str] | None = None) -> str | None:
    """The parameter a validation message names, or None.

    In order: a leading ``name must…``/``name:`` (after a generic "Invalid request body:"), the key of an
    "unknown field 'x'" message, the first quoted name, and (only with ``known_fields``) the first known
    name anywhere. With ``known_fields``, leading and quoted names count only if known, so an ordinary word
    or a quoted value ("got 'square'") is not taken for a field.
    """
    known = frozenset(known_fields) if known_fields is not None else None
    text = _GENERIC_PREFIX.sub("", message, count=1)
    lead = _LEADING.match(text)
    if lead and (known is None or lead.group(1) in known):
        return lead.group(1)
    unknown = _UNKNOWN_KEY.search(text)
    if unknown:
        return unknown.group(1)
    for match in _QUOTED.finditer(text):
        name = _top_name(match.group(1))
        if name and (known is None or name in known):
            return name
    if known:
        for word in _IDENT.findall(text):
            if word in known:
                return word
    return None


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: a number (fractions allowed) or an HTTP date. Garbage → None."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        if parsed is None:
            return None
        seconds = email.utils.mktime_tz(parsed) - (time.time() if now is None else now)
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN / inf from a hostile header
        return None
    return max(0.0, seconds)


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


def _secret_of(response: requests.Response) -> str | None:
    """The bearer token this response answered (to scrub it from any echo); None when there was none."""
    request = getattr(response, "request", None)
    header = request.headers.get("Authorization") if request is not None else None
    if not header:
        return None
    return header.split(" ", 1)[1] if " " in header else header


def _message_of(data: Any, fallback: str) -> str:
    """Krea bodies are ``{"error": "..."}``; also read ``message``, ``{"error": {code, message}}`` and
    FastAPI-style ``{"detail": [{loc, msg}]}``."""
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):
            return str(error.get("message") or error.get("code") or fallback)
        if isinstance(data.get("message"), str) and data["message"]:
            return data["message"]
        if isinstance(error, str) and error:
            return error
        detail = data.get("detail")
        if isinstance(detail, str) and detail:
            return detail
        if isinstance(detail, list) and detail and isinstance(detail[0], dict):
            return "; ".join(str(d.get("msg", d)) for d in detail)
    return fallback


def _field_of(data: Any, message: str, known_fields: Iterable[str] | None) -> str | None:
    if isinstance(data, dict):
        if isinstance(data.get("field"), str):
            return data["field"]
        detail = data.get("detail")
        if isinstance(detail, list) and detail and isinstance(detail[0], dict):
            loc = [p for p in detail[0].get("loc", []) if isinstance(p, str) and p not in ("body", "query")]
            if loc:
                return loc[-1]
    return parse_field(message, known_fields)


def from_response(response: requests.Response, known_fields: Iterable[str] | None = None) -> KreaAPIError:
    """The typed error for a non-success HTTP answer. Works for JSON and non-JSON (HTML) bodies alike."""
    status = response.status_code
    secret = _secret_of(response)
    text = _scrub(response.text or "", secret)
    body = text[:MAX_BODY_CHARS]
    try:
        data: Any = json.loads(text) if text else None
    except ValueError:
        data = None  # an HTML error page from a proxy or an unknown path: map by status alone
    reason = response.reason or "error"
    message = _scrub(_message_of(data, f"HTTP {status} {reason}"), secret)

    if status in (400, 422):
        return BadRequest(message, status, body, field=_field_of(data, message, known_fields))
    if status == 401:
        return Unauthorized(message, status, body)
    if status == 402:
        return OutOfCredits(message, status, body)
    if status == 404:
        return NotFound(message, status, body)
    if status == 410:
        info = data if isinstance(data, dict) else {}
        return ModelRetired(message, status, body, replacement=info.get("replacement"),
                            sunset_date=info.get("sunset_date"), migration_url=info.get("migration_url"))
    if status == 429:
        return RateLimited(message, status, body, parse_retry_after(response.headers.get("Retry-After")))
    if status >= 500:
        return ServerError(message, status, body)
    return KreaAPIError(message, status, body,
                        f"Krea answered with an unexpected HTTP {status}: {message}")


def from_transport(exc: requests.RequestException, host: str = "") -> TransportError:
    """Map a ``requests`` exception (after urllib3's retries) to :class:`Timeout` or :class:`TransportError`."""
    # requests wraps an exhausted read-timeout retry as ConnectionError(MaxRetryError(ReadTimeoutError)).
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    reason_name = type(reason).__name__
    if isinstance(exc, requests.ConnectTimeout):
        return Timeout(f"connect timeout: {exc}", host, request_sent=False)
    if isinstance(exc, requests.Timeout) or reason_name == "ReadTimeoutError":
        return Timeout(f"read timeout: {exc}", host, request_sent=True)
    never_sent = reason_name in ("NewConnectionError", "NameResolutionError", "ConnectTimeoutError")
    return TransportError(f"{type(exc).__name__}: {exc}", host, request_sent=not never_sent)
