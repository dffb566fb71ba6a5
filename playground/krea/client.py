"""``KreaClient``: the one object that talks HTTP to Krea (or to the sandbox, which speaks the same protocol).

One client per user session, built from that session's token: never a module-level client. Submit and
follow are separate steps with the job id in hand between them, so a journal can sit in between later.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from io import BytesIO
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import requests
from PIL import Image

from playground.krea import errors, transport
from playground.krea.assets import MAX_ASSET_BYTES, Asset, AssetPage, StylePage
from playground.krea.follow import Expectation, JobFollower, PollingFollower, wait_for_job
from playground.krea.webhooks import INBOX
from playground.krea.jobs import Job, JobPage
from playground.settings import ClientSettings, PollPolicy

log = logging.getLogger(__name__)

IMAGE_PATH_PREFIX = "/generate/image/"
MAX_DOWNLOAD_REDIRECTS = 3


def submit_path(model: str) -> str:
    """The submit path for a model id (``"bfl/flux-1-dev"``, ``"image/bfl/flux-1-dev"``) or a full path
    (``"/generate/image/bfl/flux-1-dev"``, returned as it is)."""
    if not isinstance(model, str):
        raise TypeError(f"submit_job takes a model id or path (a str), not {type(model).__name__}; "
                        "pass model.id")
    model = model.strip()
    if model.startswith("/"):
        return model
    model_id = model.strip("/")
    for prefix in (IMAGE_PATH_PREFIX.strip("/") + "/", "image/"):
        model_id = model_id.removeprefix(prefix)
    if not model_id:
        raise ValueError("submit_job: the model id is empty")
    return IMAGE_PATH_PREFIX + model_id


def host_allowed(host: str, suffixes: tuple[str, ...]) -> bool:
    """True if ``host`` is one of ``suffixes`` or a subdomain of one (dot boundary: not "evilkrea.ai")."""
    host = host.lower().rstrip(".")
    for suffix in suffixes:
        suffix = suffix.lower().strip(".")
        if suffix and (host == suffix or host.endswith("." + suffix)):
            return True
    return False


class KreaClient:
    """Krea's job API: submit, get, cancel, list, follow, download. Every call has explicit timeouts."""

    def __init__(self, token: str | None, settings: ClientSettings | None = None) -> None:
        self.settings = settings or ClientSettings()
        self.base_url = self.settings.base_url.rstrip("/")
        self._has_token = bool(token)
        self._scrub = errors.Scrubber(token)  # nothing built from an answer may carry the token back out
        self._api = transport.build_api_session(token, self.settings)
        self._submit = transport.build_submit_session(token, self.settings)
        self._download = transport.build_download_session(self.settings)
        self._api_origin = transport.origin(self.base_url)

    def __repr__(self) -> str:
        return f"KreaClient(base_url={self.base_url!r}, token={'set' if self._has_token else 'none'})"

    __str__ = __repr__

    # --- lifecycle -----------------------------------------------------------------------------------------

    def close(self) -> None:
        for session in (self._api, self._submit, self._download):
            session.close()

    def __enter__(self) -> KreaClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- plumbing ------------------------------------------------------------------------------------------

    @property
    def _timeout(self) -> tuple[float, float]:
        return (self.settings.connect_timeout, self.settings.read_timeout)

    def _call(self, session: requests.Session, method: str, path: str, *,
              known_fields: frozenset[str] | None = None, **kwargs: Any) -> Any:
        """One API call → parsed JSON (None for an empty body), or the typed error. Every text of the answer
        is scrubbed of the token."""
        try:
            return self._scrub.json(self._exchange(session, method, path, known_fields, **kwargs))
        except errors.KreaError as exc:
            raise self._scrub.error(exc) from None

    def _exchange(self, session: requests.Session, method: str, path: str,
                  known_fields: frozenset[str] | None, **kwargs: Any) -> Any:
        url = self.base_url + path
        host = self._api_origin[1]
        cap = self.settings.max_answer_bytes
        try:
            # Redirects are never followed: Krea's API does not redirect, and following one could carry the
            # request (and on same-host hops, the token) somewhere we did not choose. Streamed, so the body
            # is read under a cap and a deadline rather than whole, whatever its size.
            response = session.request(method, url, timeout=self._timeout, allow_redirects=False, stream=True,
                                       **kwargs)
        except requests.RequestException as exc:
            raise errors.from_transport(exc, host) from None  # `from None`: the chain holds the request
        with response:
            log.debug("%s %s -> %s", method, path, response.status_code)
            body_deadline = time.monotonic() + self.settings.read_timeout  # a trickling body is bounded too

            def in_time() -> None:
                if time.monotonic() > body_deadline:
                    raise requests.exceptions.ReadTimeout(f"the answer took over {self.settings.read_timeout:g} s")

            too_large = None
            try:
                content = transport.read_capped(response, cap, in_time)
            except transport.BodyTooLarge as exc:
                if response.status_code < 300:
                    raise errors.AnswerTooLarge(f"{method} {path}: the answer is {exc}", cap,
                                                response.status_code) from None
                content, too_large = b"", exc  # an error status says enough: map it, unread
            except requests.RequestException as exc:
                raise errors.from_transport(exc, host) from None
        if response.status_code >= 300:
            response._content = content  # what from_response reads (requests keeps a read body there too)
            response.encoding = response.encoding or "utf-8"  # JSON is UTF-8; skip guessing over megabytes
            error = errors.from_response(response, known_fields)
            if too_large is not None:
                error.message = f"{error.message} (the answer was {too_large}: not read)"
                error.args = (error.message,)
            raise error
        if not content.strip():
            return None
        try:
            return json.loads(content)
        except ValueError:
            raise errors.BadAnswer(
                f"{method} {path}: the answer was not JSON", response.status_code,
                self._scrub.text(content[: errors.MAX_BODY_CHARS].decode("utf-8", "replace")),
                f"{host} answered with something that is not Krea's JSON. Check the API base URL.",
            ) from None

    def _job(self, data: Any, what: str) -> Job:
        try:
            return Job.from_dict(data)
        except ValueError as exc:
            raise errors.BadAnswer(f"{what}: {exc}", 200, None,
                                   "Krea answered with something that is not a job. Check the API base URL.",
                                   ) from None

    @staticmethod
    def _job_path(job_id: str) -> str:
        if not job_id:
            raise ValueError("job_id is empty")
        return "/jobs/" + quote(str(job_id), safe="")  # an id is one path segment, whatever it contains

    # --- jobs ----------------------------------------------------------------------------------------------

    def submit_job(self, model: str, body: Mapping[str, Any], webhook_url: str | None = None, *,
                   known_fields: Iterable[str] | None = None) -> Job:
        """``POST /generate/image/{model}`` with ``body`` as it is → the pending job.

        ``model`` is a model id (``"bfl/flux-1-dev"``, also SDK-style ``"image/bfl/flux-1-dev"``) or a full
        path (``"/generate/image/bfl/flux-1-dev"``). Nothing is validated here: the caller checks parameters
        against its own catalog first, and the server has the last word. ``known_fields`` (the model's
        parameter names) only helps a 400 name its culprit field.

        Only connect errors are retried (nothing reached Krea). A 429 raises :class:`errors.RateLimited` at
        once with its ``retry_after``: the caller waits, where a person can see it and stop it.
        Raises a :class:`errors.KreaAPIError`.
        """
        path = submit_path(model)
        known = frozenset(known_fields) if known_fields is not None else None
        webhook_url = webhook_url or self.settings.webhook_url
        headers = {"X-Webhook-URL": webhook_url} if webhook_url else {}
        data = self._call(self._submit, "POST", path, json=dict(body), headers=headers, known_fields=known)
        return self._job(data, f"POST {path}")

    def get_job(self, job_id: str, stop: threading.Event | None = None) -> Job:
        """``GET /jobs/{id}``. Setting ``stop`` cuts a poll in flight within about a second (it then raises a
        :class:`errors.TransportError`; the caller looks at ``stop``) instead of after the read timeout."""
        path = self._job_path(job_id)
        if stop is None:
            return self._job(self._call(self._api, "GET", path), f"GET {path}")
        bound = time.monotonic() + self.settings.connect_timeout + self.settings.read_timeout + 1.0
        with transport.Watch(stop, bound):  # the timeouts bound the call; the Watch only adds Stop
            return self._job(self._call(self._api, "GET", path), f"GET {path}")

    def cancel_job(self, job_id: str) -> Job:
        """``DELETE /jobs/{id}``, then the job as it now stands (from the answer if it is a job, else a GET)."""
        path = self._job_path(job_id)
        data = self._call(self._api, "DELETE", path)
        if isinstance(data, dict) and data.get("job_id") and data.get("status"):
            return Job.from_dict(data)
        return self.get_job(job_id)

    def list_jobs(self, limit: int = 100, cursor: str | None = None, status: str | None = None) -> JobPage:
        """One page of ``GET /jobs`` (newest first); pass ``page.next_cursor`` back for the next one."""
        query: dict[str, Any] = {"limit": limit}
        if cursor:
            query["cursor"] = cursor
        if status:
            query["status"] = str(status)
        data = self._call(self._api, "GET", "/jobs", params=query)
        try:
            return JobPage.from_dict(data)
        except ValueError as exc:
            raise errors.KreaAPIError(f"GET /jobs: {exc}", 200, None,
                                      "Krea answered with something that is not a job list.") from None

    def iter_jobs(self, limit: int = 100, status: str | None = None, max_pages: int | None = None) -> Iterator[Job]:
        """Every job, page after page, each once (a cursor is a timestamp: equal ones could repeat an item)."""
        return _every(lambda cursor: self.list_jobs(limit=limit, cursor=cursor, status=status),
                      lambda job: job.job_id, max_pages)

    # --- assets and styles ---------------------------------------------------------------------------------

    @staticmethod
    def _asset_path(asset_id: str) -> str:
        if not asset_id:
            raise ValueError("asset_id is empty")
        return "/assets/" + quote(str(asset_id), safe="")  # one path segment, whatever it contains

    @staticmethod
    def _parsed(parse: Any, data: Any, what: str, user_message: str) -> Any:
        try:
            return parse(data)
        except ValueError as exc:
            raise errors.BadAnswer(f"{what}: {exc}", 200, None, user_message) from None

    @staticmethod
    def _asset_not_found(exc: errors.NotFound, asset_id: str) -> errors.NotFound:
        exc.user_message = (f"Krea has no asset {asset_id} for this token: it was deleted, or belongs to another "
                            "workspace, or the base URL is wrong.")
        return exc

    def upload_asset(self, data: bytes, filename: str, mime_type: str, description: str | None = None) -> Asset:
        """``POST /assets`` (multipart ``file``, optional ``description``) → the :class:`Asset`, whose
        ``image_url`` goes into a generation body (style reference, image prompt, image to edit).

        Like submitting a job, the upload goes through the submit session: only connect errors are retried
        (nothing reached Krea); after the request may have been received it is never sent again (a second
        upload would make a second asset), and the caller can look for it in :meth:`list_assets`. The answer is
        read under ``max_answer_bytes``. Raises ``ValueError`` for an empty file or one over Krea's 75 MB limit
        (not sent), else a :class:`errors.KreaAPIError` (``BadRequest`` for a type or size Krea refuses).
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"upload_asset takes the file's bytes, not {type(data).__name__}")
        payload = bytes(data)
        if not payload:
            raise ValueError("upload_asset: the file is empty")
        if len(payload) > MAX_ASSET_BYTES:
            raise ValueError(f"upload_asset: the file is {len(payload)} bytes, above Krea's limit of "
                             f"{MAX_ASSET_BYTES} (75 MB)")
        name = str(filename or "").strip() or "upload"
        form = {"description": description} if description else None
        answer = self._call(self._submit, "POST", "/assets", files={"file": (name, payload, mime_type)},
                            data=form, known_fields=frozenset({"file", "description"}))
        asset = self._parsed(Asset.from_dict, answer, "POST /assets",
                             "Krea answered the upload with something that is not an asset. Check the API base URL.")
        if not asset.id or not asset.image_url:
            raise errors.BadAnswer("POST /assets: the answer has no id or image_url", 200, None,
                                   "Krea's answer to the upload did not say where the file is. Look for it in your "
                                   "assets before uploading it again.")
        return asset

    def list_assets(self, limit: int = 100, cursor: str | None = None) -> AssetPage:
        """One page of ``GET /assets`` (``limit`` 1..1000); pass ``page.next_cursor`` back for the next one."""
        query: dict[str, Any] = {"limit": limit}
        if cursor:
            query["cursor"] = cursor
        data = self._call(self._api, "GET", "/assets", params=query)
        return self._parsed(AssetPage.from_dict, data, "GET /assets",
                            "Krea answered with something that is not an asset list.")

    def iter_assets(self, limit: int = 100, max_pages: int | None = None) -> Iterator[Asset]:
        """Every asset, page after page, each once (a repeated cursor ends the walk)."""
        return _every(lambda cursor: self.list_assets(limit=limit, cursor=cursor), lambda asset: asset.id,
                      max_pages)

    def get_asset(self, asset_id: str) -> Asset:
        """``GET /assets/{id}``; :class:`errors.NotFound` when this token cannot see it."""
        path = self._asset_path(asset_id)
        try:
            data = self._call(self._api, "GET", path)
        except errors.NotFound as exc:
            raise self._asset_not_found(exc, asset_id) from None
        return self._parsed(Asset.from_dict, data, f"GET {path}", "Krea answered with something that is not an asset.")

    def delete_asset(self, asset_id: str) -> bool:
        """``DELETE /assets/{id}`` → True when Krea says it is gone (``{"success": true}``, or an empty 2xx),
        False when it answers ``success: false``; :class:`errors.NotFound` for an unknown asset."""
        path = self._asset_path(asset_id)
        try:
            data = self._call(self._api, "DELETE", path)
        except errors.NotFound as exc:
            raise self._asset_not_found(exc, asset_id) from None
        if isinstance(data, dict) and "success" in data:
            return data["success"] is True
        return True  # a 2xx without the documented body: the call succeeded

    def list_styles(self, limit: int = 100, cursor: str | None = None, filter: str | None = None) -> StylePage:
        """One page of ``GET /styles`` (LoRA styles; ``limit`` 1..1000; ``filter`` e.g. ``"user"``,
        ``"shared"``, ``"krea"``). A style's ``id`` goes into a body's ``styles`` as ``{id, strength}``."""
        query: dict[str, Any] = {"limit": limit}
        if cursor:
            query["cursor"] = cursor
        if filter:
            query["filter"] = filter
        data = self._call(self._api, "GET", "/styles", params=query)
        return self._parsed(StylePage.from_dict, data, "GET /styles",
                            "Krea answered with something that is not a style list.")

    # --- the API's own description ------------------------------------------------------------------------

    def get_openapi(self, *, max_bytes: int | None = None, timeout: float | None = None,
                    stop: threading.Event | None = None) -> dict[str, Any]:
        """``GET /openapi.json`` → the API's OpenAPI spec as a dict (to list the models it serves now).

        The same exchange as every call (the API session: the token only to the API host, GET retries, no
        redirects, the answer scrubbed of the token), read under a cap made for a spec: ``max_bytes``, by default
        the larger of ``settings.max_answer_bytes`` and 16 MiB (Krea's spec is 1-2 MB). ``timeout`` bounds the
        whole call in seconds, retries included (a socket still busy then is cut; the connect and read timeouts
        are shortened to it); ``stop`` cuts the call within about a second. A ``Retry-After`` or backoff sleep
        between two retries cannot be cut: a caller that needs a hard bound calls this from a thread it can
        abandon (``playground.catalog.live`` does).

        Raises a :class:`errors.KreaAPIError`: the typed error of an HTTP status as every call, :class:`errors.Timeout`
        past ``timeout``, :class:`errors.AnswerTooLarge` above the cap, :class:`errors.BadAnswer` for an answer
        that is not JSON or not an OpenAPI document (an object with ``paths``).
        """
        path = "/openapi.json"
        limits: dict[str, Any] = {"max_answer_bytes": max_bytes if max_bytes is not None
                                  else max(self.settings.max_answer_bytes, 16 * 1024 * 1024)}
        if timeout is not None:
            limits["connect_timeout"] = min(self.settings.connect_timeout, timeout)
            limits["read_timeout"] = min(self.settings.read_timeout, timeout)
        spec_call = copy.copy(self)  # this client (its sessions, token scrubber, host) with the spec's limits
        spec_call.settings = dataclasses.replace(self.settings, **limits)
        ends = time.monotonic() + (timeout if timeout is not None else float("inf"))
        with transport.Watch(stop, ends) as watch:
            try:
                data = spec_call._call(self._api, "GET", path)
            except errors.KreaError as exc:
                if watch.ended() == "deadline" and not isinstance(exc, errors.Timeout):
                    raise errors.Timeout(f"GET {path}: no whole answer within {timeout:g} s",
                                         self._api_origin[1]) from None
                raise
        if not isinstance(data, dict) or not isinstance(data.get("paths"), dict):
            raise errors.BadAnswer(f"GET {path}: the answer is not an OpenAPI document (no paths)", 200, None,
                                   "The API answered with something that is not its OpenAPI description. "
                                   "Check the API base URL.")
        return data

    # --- following -----------------------------------------------------------------------------------------

    def follower(self, poll: PollPolicy | None = None) -> JobFollower:
        """The way this client learns of job updates (polling today; a webhook follower can replace it)."""
        inbox = INBOX if self.settings.webhook_url else None  # submitted with our X-Webhook-URL: wait for the call
        return PollingFollower(self.get_job, poll or self.settings.poll, inbox=inbox)

    def poll_job(self, job_id: str, poll: PollPolicy | None = None, stop: threading.Event | None = None,
                 expect: Expectation | None = None) -> Iterator[Job]:
        """Yield the job when first fetched and on every change; end after the terminal job (no raise on
        failed/cancelled). Transient errors are waited out; past the deadline, :class:`errors.JobTimeout`.
        ``expect`` (when the job is likely to end) aims the poll schedule: see :func:`follow.next_poll_in`."""
        return self.follower(poll).follow(job_id, stop, expect)

    def wait_for_job(self, job_id: str, poll: PollPolicy | None = None,
                     stop: threading.Event | None = None) -> Job:
        """The completed job, or :class:`errors.JobFailed` / ``JobCancelled`` / ``JobTimeout``."""
        return wait_for_job(self.follower(poll), job_id, stop)

    # --- downloads -----------------------------------------------------------------------------------------

    def _check_download_url(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https"):
            raise errors.BadImage(f"refused to fetch a {parts.scheme or 'relative'!s} URL; only http(s)")
        scheme, host, port = transport.origin(url)
        if not host:
            raise errors.BadImage("the image URL has no host")
        if (host, port) == self._api_origin[1:] or host_allowed(host, self.settings.download_host_suffixes):
            return
        raise errors.BadImage(f"refused to fetch from {host}: not the API host nor an allowed image host",
                              user_message=f"The image link points to {host}, which is not a Krea host, so it "
                                           "was not fetched.")

    def download_image(self, url: str, stop: threading.Event | None = None) -> bytes:
        """The bytes of a result image, untouched: token-free session, allowed hosts only, size cap, and a cheap
        check that it is a whole image (:func:`check_image`; the pixels are not decoded).

        Bounded in all: ``settings.download_timeout`` is the total wall time (connect, redirects, retries,
        every read; a body that trickles in hits it too), and setting ``stop`` ends the download within about
        a second with :class:`errors.DownloadStopped`. Connect errors, resets, timeouts, 408/429/5xx are tried
        again while time remains (``settings.retry.total`` times at most).
        """
        timeout = self.settings.download_timeout
        with transport.Watch(stop, time.monotonic() + timeout) as watch:
            attempt = 0
            while True:
                attempt += 1
                try:
                    data = self._fetch_image(url, watch)
                    break
                except errors.KreaError as exc:
                    problem = exc
                ended = watch.ended()
                if ended == "stopped":
                    raise errors.DownloadStopped() from None
                wait = self._download_retry_wait(problem, attempt)
                if ended or (wait is not None and wait >= watch.remaining()):
                    last = "" if isinstance(problem, _Ended) else f" (last problem: {problem})"
                    raise errors.BadImage(
                        f"the download did not finish within {timeout:g} s{last}",
                        user_message=f"The image did not arrive within {timeout:g} s (KREA_DOWNLOAD_TIMEOUT): "
                                     "its host is slow or stuck.") from None
                if wait is None:
                    raise problem
                log.info("image download from %s: %s (trying again in %.1f s)", transport.origin(url)[1], problem,
                         wait)
                if watch.stop.wait(wait):
                    raise errors.DownloadStopped() from None
        check_image(data)
        return data

    def _download_retry_wait(self, problem: Exception, attempt: int) -> float | None:
        """Seconds to wait before trying a failed download again, or None when trying again cannot help."""
        policy = self.settings.retry
        transient = isinstance(problem, errors.TransportError) or (
            isinstance(problem, errors.BadImage) and problem.status in (*policy.status_forcelist, 429))
        if not transient or attempt > policy.total:
            return None
        backoff = min(policy.backoff_max, policy.backoff_factor * 2 ** (attempt - 1))
        wait = backoff + random.uniform(0, policy.backoff_jitter)
        # A host that says when to come back (429/503 with Retry-After) is asked no sooner; a wait past the
        # deadline ends the download at once rather than sleeping into it (download_image checks).
        hint = getattr(problem, "retry_after", None)
        return max(wait, hint) if hint is not None else wait

    def _fetch_image(self, url: str, watch: transport.Watch) -> bytes:
        """One try: follow up to MAX_DOWNLOAD_REDIRECTS allowed hops, then the capped body."""
        for _ in range(MAX_DOWNLOAD_REDIRECTS + 1):
            self._check_download_url(url)  # every hop, so a redirect cannot lead elsewhere
            host = transport.origin(url)[1]
            left = watch.remaining()
            if watch.ended():
                raise _Ended("the download ended")
            timeout = (min(self.settings.connect_timeout, left), min(self.settings.read_timeout, left))
            try:
                response = self._download.get(url, stream=True, allow_redirects=False, timeout=timeout)
            except requests.RequestException as exc:
                raise errors.from_transport(exc, host) from None
            with response:
                if response.is_redirect and response.headers.get("Location"):
                    url = urljoin(url, response.headers["Location"])
                    continue
                if response.status_code != 200:
                    raise errors.BadImage(
                        f"HTTP {response.status_code} from {host}", response.status_code,
                        f"The image could not be downloaded (HTTP {response.status_code} from {host}); "
                        "the link may have expired.",
                        retry_after=errors.parse_retry_after(response.headers.get("Retry-After")))

                def going_on() -> None:
                    if watch.ended():
                        raise _Ended("the download ended")

                try:
                    data = transport.read_capped(response, self.settings.download_max_bytes, going_on)
                except transport.BodyTooLarge as exc:
                    raise errors.BadImage(f"image is {exc}") from None
                except requests.RequestException as exc:
                    raise errors.from_transport(exc, host) from None
            going_on()  # a cut socket ends a body without a length as if it were whole
            return data
        raise errors.BadImage("too many redirects while downloading the image")



def _every(fetch: Callable[[str | None], Any], key: Callable[[Any], str], max_pages: int | None) -> Iterator[Any]:
    """Every item of a cursor-paged list (``fetch(cursor)`` -> a page with ``items`` and ``next_cursor``), each
    once: a cursor is a timestamp, so equal ones could repeat an item, and a repeated cursor ends the walk."""
    cursor: str | None = None
    seen_ids: set[str] = set()
    seen_cursors: set[str] = set()
    pages = 0
    while max_pages is None or pages < max_pages:
        page = fetch(cursor)
        pages += 1
        for item in page.items:
            if key(item) not in seen_ids:
                seen_ids.add(key(item))
                yield item
        if not page.items or not page.next_cursor or page.next_cursor in seen_cursors:
            return  # a repeated cursor would loop forever
        seen_cursors.add(page.next_cursor)
        cursor = page.next_cursor

class _Ended(errors.BadImage):
    """A download's Watch ended it (a Stop, or the deadline): download_image says which."""


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # length 0, type, CRC: the last chunk of every PNG


def image_format(data: bytes) -> str | None:
    """"PNG" / "JPEG" / "WEBP" / "GIF" from the magic bytes, or None."""
    if data.startswith(PNG_SIGNATURE):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    return None


def _complete(fmt: str, data: bytes) -> bool:
    """Cheap end-of-file checks that catch a download cut short (the header alone would still parse)."""
    if fmt == "PNG":
        return data.endswith(PNG_IEND)
    if fmt == "JPEG":
        return data.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9")  # EOI (some encoders pad after it)
    if fmt == "WEBP":
        return int.from_bytes(data[4:8], "little") + 8 <= len(data)  # the RIFF size fits in what arrived
    return data.rstrip(b"\x00").endswith(b"\x3b")  # GIF trailer


def check_image(data: bytes) -> tuple[str, tuple[int, int]]:
    """(format, (width, height)) of a result image, or :class:`errors.BadImage`. Never decodes the pixels.

    The bytes are recognised by their magic (PNG, JPEG, WebP, GIF), the size comes from the header
    (``Image.open`` is lazy), and a PNG must end with its IEND chunk (a JPEG with EOI, a WebP fill its
    RIFF size, a GIF end with its trailer), so a truncated download is refused too.
    """
    if not data:
        raise errors.BadImage("the download was empty")
    fmt = image_format(data)
    if fmt is None:
        raise errors.BadImage("the download is not a valid image (not PNG, JPEG, WebP or GIF)")
    try:
        with Image.open(BytesIO(data), formats=[fmt]) as image:  # reads the header only
            width, height = image.size
    except Exception as exc:  # Pillow raises many types (and DecompressionBombError) for bad input
        raise errors.BadImage(f"the download is not a valid image ({type(exc).__name__})") from None
    if width <= 0 or height <= 0:
        raise errors.BadImage(f"the download is not a valid image (size {width}x{height})")
    if not _complete(fmt, data):
        raise errors.BadImage(f"the download is not a valid image (a truncated {fmt})")
    return fmt, (width, height)
