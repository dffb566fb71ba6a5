"""The ``requests`` sessions the client uses, with urllib3 ``Retry`` doing all retrying.

Three sessions, because three kinds of call need different rules:

* **API reads** (GET/DELETE): idempotent, so connect errors, read errors and 408/5xx are retried with
  exponential backoff and jitter, honouring ``Retry-After`` up to a cap.
* **Submit** (POST): creating a job is not idempotent and Krea has no idempotency key. Only what certainly
  never reached Krea is retried: connect errors (no request was sent). Never a read timeout or a 5xx: the job
  may already exist and be billed, and a blind retry would run (and bill) it twice. The caller is told
  instead, and can check ``GET /jobs`` before trying again.
* **Downloads**: no token at all, ever (result URLs live on a CDN, and a hostile URL must not get it). No
  urllib3 retries either: the client retries itself, inside one total deadline and giving way to Stop, and a
  :class:`Watch` shuts the socket of a download that is stopped or past its deadline, whatever it is blocked on.

Bodies are read as they arrive and never past a cap (:func:`read_capped`), and an error answer that urllib3
retries is closed rather than drained when it is big (urllib3 would read all of it into memory first).

No session retries a 429. Waiting out a ``Retry-After`` inside a ``requests`` call can be neither stopped
by the person waiting nor shown to them; :class:`~playground.krea.errors.RateLimited` (with ``retry_after``)
goes straight back instead, and the caller waits where a Stop can end it (the polling follower does so
with ``stop.wait``; the run stream shows a countdown).
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import DecodeError, MaxRetryError, ProtocolError, ReadTimeoutError, ResponseError, SSLError
from urllib3.util.retry import Retry

from playground.krea.errors import parse_retry_after
from playground.settings import ClientSettings, RetryPolicy

READ_METHODS = frozenset({"GET", "HEAD", "DELETE"})  # DELETE /jobs/{id} (cancel) is idempotent
SUBMIT_METHODS = frozenset({"POST"})
SUBMIT_STATUS_FORCELIST: frozenset[int] = frozenset()  # no status is safe to resend (and 429 is the caller's)
READ_CHUNK = 64 * 1024
DRAIN_LIMIT = 64 * 1024  # a retried error answer up to this size is drained (keeps the connection); else closed
WATCH_TICK = 0.1  # how often a Watch looks at its stop event and deadline


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
        watch = getattr(_current, "watch", None)
        if watch is not None and watch.ended():
            # The exchange was cut by a Stop (or its deadline): trying again would only be cut again.
            raise MaxRetryError(_pool, url or "", error or ResponseError(f"ended: {watch.ended()}"))
        if response is not None and error is None:
            wait = self.get_retry_after(response)
            if wait is not None and wait > self.retry_after_max:
                # With raise_on_status=False urllib3 returns this response to the caller as is.
                raise MaxRetryError(_pool, url or "", ResponseError(
                    f"Retry-After {wait:.0f}s is above the {self.retry_after_max:.0f}s cap"))
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        if response is not None and error is None:
            _close_if_big(response)  # urllib3 drains it next: unbounded, into memory
        return retry


def _close_if_big(response: Any) -> None:
    declared = response.headers.get("Content-Length", "")
    if not (declared.isdigit() and int(declared) <= DRAIN_LIMIT):
        response.close()  # the connection goes too; the retry opens a new one


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


def _session(retry: Retry, settings: ClientSettings, auth: requests.auth.AuthBase, accept: str,
             adapter_class: type[HTTPAdapter] = HTTPAdapter) -> requests.Session:
    session = requests.Session()
    adapter = adapter_class(max_retries=retry, pool_connections=4, pool_maxsize=16)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"User-Agent": settings.user_agent, "Accept": accept})
    session.auth = auth
    return session


def build_api_session(token: str | None, settings: ClientSettings) -> requests.Session:
    """GET/DELETE session: token on API calls only, idempotent retries; a poll in flight can be cut by a
    :class:`Watch` (Stop). The submit session is never watched: cutting a POST could lose a created job."""
    auth = BearerAuth(token, settings.base_url) if token else NoAuth()
    return _session(read_retry(settings.retry), settings, auth, "application/json", WatchedAdapter)


def build_submit_session(token: str | None, settings: ClientSettings) -> requests.Session:
    """POST session: token on API calls only, retries only for what never reached Krea."""
    auth = BearerAuth(token, settings.base_url) if token else NoAuth()
    return _session(submit_retry(settings.retry), settings, auth, "application/json")


def build_download_session(settings: ClientSettings) -> requests.Session:
    """Result downloads: never a token; sockets a :class:`Watch` can cut; no urllib3 retries (the client retries
    within the download's deadline, where a Stop can end the wait)."""
    no_retry = Retry(total=0, redirect=0, raise_on_redirect=False, raise_on_status=False)
    return _session(no_retry, settings, NoAuth(), "image/*", WatchedAdapter)


# --- reading bodies -----------------------------------------------------------------------------------------


class BodyTooLarge(Exception):
    """A body above its cap; ``declared`` is the Content-Length when that alone gave it away."""

    def __init__(self, cap: int, declared: int | None = None) -> None:
        super().__init__(f"{declared} bytes, above the {cap}-byte limit" if declared is not None
                         else f"larger than the {cap}-byte limit")
        self.cap = cap
        self.declared = declared


def read_capped(response: requests.Response, cap: int, check: Any = None) -> bytes:
    """A streamed (``stream=True``) response's body, at most ``cap`` bytes, else :class:`BodyTooLarge` before
    reading more (close the response after: it is not drained). Reads what each socket read brings
    (``read1``), so ``check()``, called between reads, runs even while a body trickles in; it raises to end the
    read (a deadline, a Stop). A broken transfer raises the ``requests`` exception ``iter_content`` would."""
    declared = response.headers.get("Content-Length", "").strip()
    if declared.isdigit() and int(declared) > cap:
        raise BodyTooLarge(cap, int(declared))
    buffer = bytearray()
    while True:
        if check is not None:
            check()
        try:
            chunk = response.raw.read1(READ_CHUNK, decode_content=True)
        except ProtocolError as exc:
            raise requests.exceptions.ChunkedEncodingError(exc) from None
        except DecodeError as exc:
            raise requests.exceptions.ContentDecodingError(exc) from None
        except ReadTimeoutError as exc:
            raise requests.exceptions.ConnectionError(exc) from None
        except SSLError as exc:
            raise requests.exceptions.SSLError(exc) from None
        except OSError as exc:  # a socket cut by a Watch, on some platforms
            raise requests.exceptions.ConnectionError(exc) from None
        if not chunk:
            return bytes(buffer)
        buffer += chunk
        if len(buffer) > cap:  # the header may lie or be absent: count what actually arrives
            raise BodyTooLarge(cap)


# --- watching a download ------------------------------------------------------------------------------------

_current = threading.local()


class Watch:
    """Ends the HTTP exchanges of the thread that enters it once ``stop`` is set or ``deadline`` (a
    ``time.monotonic()`` value) has passed, whatever they are blocked on: waiting for headers, or for the next
    byte of a body that trickles in. A blocked read cannot look at a clock, so a watchdog thread shuts the
    exchange's socket down; the read returns at once and the caller asks :meth:`ended` why.

    Only sessions built with :class:`WatchedAdapter` are watched (downloads, and polls). The connect itself
    is bounded by the connect timeout only.
    """

    def __init__(self, stop: threading.Event | None, deadline: float) -> None:
        self.stop = stop or threading.Event()
        self.deadline = deadline
        self._cut_for: str | None = None
        self._conn: Any = None
        self._lock = threading.Lock()
        self._done = threading.Event()

    def __enter__(self) -> Watch:
        self._outer = getattr(_current, "watch", None)  # a download inside a watched follow: restored on exit
        _current.watch = self
        threading.Thread(target=self._watch, name="krea-download-watch", daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        _current.watch = self._outer
        with self._lock:
            self._conn = None  # from now on the connection may serve someone else: never cut it
        self._done.set()

    def ended(self) -> str | None:
        """"stopped", "deadline", or None while the exchange may go on."""
        if self._cut_for:
            return self._cut_for
        if self.stop.is_set():
            return "stopped"
        return "deadline" if time.monotonic() >= self.deadline else None

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def attach(self, conn: Any) -> None:
        with self._lock:
            self._conn = conn
            if self._cut_for:
                _shutdown(getattr(conn, "sock", None))

    def _watch(self) -> None:
        while not self._done.wait(WATCH_TICK):
            reason = self.ended()
            if reason:
                with self._lock:
                    self._cut_for = reason
                    if self._conn is not None and self._conn.watch is self:
                        _shutdown(self._conn.sock)
                return


def _shutdown(sock: Any) -> None:
    """Wake whatever reads or writes ``sock`` (a plain or TLS socket) in another thread."""
    if sock is None:
        return
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's call, also for an SSLSocket
    except (OSError, TypeError, ValueError):
        pass  # already closed, or not a socket (TLS in TLS through a proxy): the read timeout still bounds it


class _Watched:
    """Connection mixin: an exchange started in a thread inside a :class:`Watch` can be cut by that watch."""

    watch: Watch | None = None

    def request(self, *args: Any, **kwargs: Any) -> None:
        self.watch = getattr(_current, "watch", None)  # before a byte is sent: the connection is ours now
        if self.watch is not None:
            self.watch.attach(self)
        super().request(*args, **kwargs)  # type: ignore[misc]

    def getresponse(self) -> Any:
        if self.watch is not None:
            self.watch.attach(self)  # connected now: a cut that came during the connect lands here
        return super().getresponse()  # type: ignore[misc]


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class WatchedAdapter(HTTPAdapter):
    """An adapter whose connections a :class:`Watch` can cut (also through an HTTP proxy)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_WATCHED_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = dict(_WATCHED_POOLS)
        return manager
