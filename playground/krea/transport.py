"""The ``requests`` sessions the client uses, with urllib3 ``Retry`` doing all retrying.

Three sessions, because three kinds of call need different rules:

* **API reads** (GET/DELETE): idempotent, so connect errors, read errors and 408/5xx are retried with
  exponential backoff and jitter, honouring ``Retry-After`` up to a cap.
* **Submit** (POST): creating a job is not idempotent and Krea has no idempotency key. Only what certainly
  never reached Krea is retried: connect errors (no request was sent). Never a read timeout or a 5xx: the job
  may already exist and be billed, and a blind retry would run (and bill) it twice. The caller is told
  instead, and can check ``GET /jobs`` before trying again.
* **Downloads**: no token at all, ever (result URLs live on a CDN, and a hostile URL must not get it).

No session retries a 429. Waiting out a ``Retry-After`` inside a ``requests`` call can be neither stopped
by the person waiting nor shown to them; :class:`~playground.krea.errors.RateLimited` (with ``retry_after``)
goes straight back instead, and the caller waits where a Stop can end it (the polling follower does so
with ``stop.wait``; the run stream shows a countdown).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from playground.krea.errors import parse_retry_after
from playground.settings import ClientSettings, RetryPolicy

READ_METHODS = frozenset({"GET", "HEAD", "DELETE"})  # DELETE /jobs/{id} (cancel) is idempotent
SUBMIT_METHODS = frozenset({"POST"})
SUBMIT_STATUS_FORCELIST: frozenset[int] = frozenset()  # no status is safe to resend (and 429 is the caller's)


class CappedRetry(Retry):
    """``Retry`` that never sleeps longer than ``retry_after_max`` for a ``Retry-After``.

    urllib3 alone would clamp a long ``Retry-After`` (say on a 503) to the cap and retry early, which just
    earns another refusal. Here a hint above the cap ends the retrying at once: the answer goes back to the
    caller, whose typed error carries the full hint (``RateLimited.retry_after`` when a policy lists 429).
    Also: fractional seconds are accepted, a garbage header is ignored (urllib3 would raise), and only
    ``status_forcelist`` statuses are retried (urllib3 would also retry any 413/503 carrying Retry-After,
    which for the POST session could mean a double submit).
    """

    def parse_retry_after(self, retry_after: str) -> float:
        seconds = parse_retry_after(retry_after)
        return 0.0 if seconds is None else seconds  # unclamped: the cap is enforced in increment()

    def get_retry_after(self, response: Any) -> float | None:
        seconds = parse_retry_after(response.headers.get("Retry-After"))
        return seconds if self.respect_retry_after_header else None

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        return self._is_method_retryable(method) and status_code in self.status_forcelist

    def increment(self, method: str | None = None, url: str | None = None, response: Any = None,
                  error: Exception | None = None, _pool: Any = None, _stacktrace: Any = None) -> CappedRetry:
        if response is not None and error is None:
            wait = self.get_retry_after(response)
            if wait is not None and wait > self.retry_after_max:
                # With raise_on_status=False urllib3 returns this response to the caller as is.
                raise MaxRetryError(_pool, url or "", ResponseError(
                    f"Retry-After {wait:.0f}s is above the {self.retry_after_max:.0f}s cap"))
        return super().increment(method, url, response, error, _pool, _stacktrace)


def read_retry(policy: RetryPolicy) -> CappedRetry:
    """Retries for GET/DELETE: connect, read and ``status_forcelist`` (408/5xx by default)."""
    return CappedRetry(
        total=policy.total,
        connect=policy.total,
        read=policy.total,
        status=policy.total,
        other=0,  # e.g. a TLS certificate error: retrying cannot fix it
        redirect=0,
        allowed_methods=READ_METHODS,
        status_forcelist=frozenset(policy.status_forcelist),
        backoff_factor=policy.backoff_factor,
        backoff_max=policy.backoff_max,
        backoff_jitter=policy.backoff_jitter,
        respect_retry_after_header=True,
        retry_after_max=policy.retry_after_cap,  # type: ignore[arg-type]  # float works; typed int upstream
        raise_on_status=False,  # hand the last error response back so it maps to a typed error
        raise_on_redirect=False,
    )


def submit_retry(policy: RetryPolicy) -> CappedRetry:
    """Retries for POST submit: only connect errors, which never created a job (see module doc)."""
    return CappedRetry(
        total=policy.total,
        connect=policy.total,
        read=0,  # the request was sent: Krea may have created (and will bill) the job
        status=0,
        other=0,
        redirect=0,
        allowed_methods=SUBMIT_METHODS,
        status_forcelist=SUBMIT_STATUS_FORCELIST,  # never 5xx (the job may exist), never 429 (caller waits)
        backoff_factor=policy.backoff_factor,
        backoff_max=policy.backoff_max,
        backoff_jitter=policy.backoff_jitter,
        respect_retry_after_header=False,
        retry_after_max=policy.retry_after_cap,  # type: ignore[arg-type]
        raise_on_status=False,
        raise_on_redirect=False,
    )


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with default ports filled in, for same-origin checks."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


class BearerAuth(requests.auth.AuthBase):
    """Adds ``Authorization: Bearer`` only to requests for the API origin.

    Being the session's ``auth`` also stops requests from consulting ``~/.netrc`` (which would overwrite the
    header). The token never appears in ``repr``.
    """

    def __init__(self, token: str, base_url: str) -> None:
        self._token = token
        self._origin = origin(base_url)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if origin(request.url or "") == self._origin:
            request.headers["Authorization"] = f"Bearer {self._token}"
        else:
            request.headers.pop("Authorization", None)
        return request

    def __repr__(self) -> str:
        return "BearerAuth(token=***)"


class NoAuth(requests.auth.AuthBase):
    """Strips any Authorization header (and keeps ``~/.netrc`` credentials out): downloads are anonymous."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.pop("Authorization", None)
        return request


def _session(retry: Retry, settings: ClientSettings, auth: requests.auth.AuthBase, accept: str) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=16)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"User-Agent": settings.user_agent, "Accept": accept})
    session.auth = auth
    return session


def build_api_session(token: str | None, settings: ClientSettings) -> requests.Session:
    """GET/DELETE session: token on API calls only, idempotent retries."""
    auth = BearerAuth(token, settings.base_url) if token else NoAuth()
    return _session(read_retry(settings.retry), settings, auth, "application/json")


def build_submit_session(token: str | None, settings: ClientSettings) -> requests.Session:
    """POST session: token on API calls only, retries only for what never reached Krea."""
    auth = BearerAuth(token, settings.base_url) if token else NoAuth()
    return _session(submit_retry(settings.retry), settings, auth, "application/json")


def build_download_session(settings: ClientSettings) -> requests.Session:
    """Result downloads: never a token; idempotent retries."""
    return _session(read_retry(settings.retry), settings, NoAuth(), "image/*")
