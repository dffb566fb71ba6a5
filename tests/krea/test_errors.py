"""Every HTTP answer Krea documents maps to one typed error with a message a person can act on."""

import email.utils
import json
import time

import pytest
import requests

from playground.krea import errors
from playground.krea.errors import (
    AnswerTooLarge,
    BadAnswer,
    BadImage,
    BadRequest,
    DownloadStopped,
    ErrorKind,
    JobCancelled,
    JobError,
    JobFailed,
    JobTimeout,
    KreaAPIError,
    KreaError,
    ModelRetired,
    NotFound,
    OutOfCredits,
    RateLimited,
    ServerError,
    Timeout,
    TransportError,
    Unauthorized,
    from_response,
    parse_field,
    parse_retry_after,
)
from playground.krea.jobs import Job
from tests.krea.conftest import TOKEN

HTML_404 = "<!DOCTYPE html><html><head><title>404</title></head><body><h1>Page not found</h1></body></html>"


def response(status: int, body=None, headers: dict | None = None, token: str | None = TOKEN) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r.reason = {404: "Not Found", 500: "Internal Server Error"}.get(status, "X")
    r._content = (json.dumps(body) if isinstance(body, (dict, list)) else (body or "")).encode()
    r.headers.update(headers or {})
    r.request = requests.Request("GET", "https://api.krea.ai/jobs/x",
                                 headers={"Authorization": f"Bearer {token}"} if token else {}).prepare()
    return r


class TestStatusMapping:
    def test_400_with_quoted_field(self):
        err = from_response(response(400, {"error": "Unknown field 'guidance' : Flux accepts prompt, width"}))
        assert type(err) is BadRequest and err.status == 400 and err.field == "guidance"
        assert "guidance" in err.user_message

    def test_422_with_leading_field(self):
        err = from_response(response(422, {"error": "width must be between 512 and 2368, got 100"}))
        assert isinstance(err, BadRequest) and err.status == 422 and err.field == "width"

    def test_422_detail_array(self):
        err = from_response(response(422, {"detail": [{"loc": ["body", "steps"], "msg": "too large", "type": "x"}]}))
        assert err.field == "steps" and "too large" in str(err)

    def test_400_field_limited_to_known_fields(self):
        body = {"error": "Invalid body: expected number for height"}
        assert from_response(response(400, body)).field is None
        assert from_response(response(400, body), known_fields={"width", "height"}).field == "height"

    def test_400_without_a_field(self):
        err = from_response(response(400, {"error": "Invalid request body"}))
        assert isinstance(err, BadRequest) and err.field is None

    def test_401(self):
        err = from_response(response(401, {"error": "Invalid API key"}))
        assert type(err) is Unauthorized
        assert "KREA_API_TOKEN" in err.user_message and "krea.ai/settings/api-tokens" in err.user_message

    def test_402(self):
        err = from_response(response(402, {"error": "You have run out of credits"}))
        assert type(err) is OutOfCredits
        assert "krea.ai/app/api" in err.user_message and "not billed" in err.user_message

    def test_404_json(self):
        err = from_response(response(404, {"error": "Job not found"}))
        assert type(err) is NotFound and str(err) == "Job not found"

    def test_404_html_page(self):
        err = from_response(response(404, HTML_404, {"Content-Type": "text/html"}))
        assert type(err) is NotFound and err.status == 404
        assert "<html" not in str(err) and str(err) == "HTTP 404 Not Found"
        assert err.body.startswith("<!DOCTYPE")

    def test_410_retired_model(self):
        body = {"error": "model_unavailable", "reason": "deprecated",
                "message": "The model 'image/bytedance/seedream-3' was deprecated on 2026-05-13.",
                "sunset_date": "2026-05-13", "replacement": "bytedance/seedream-5-lite",
                "migration_url": "https://docs.krea.ai/developers/deprecations#seedream-3"}
        err = from_response(response(410, body))
        assert type(err) is ModelRetired
        assert err.replacement == "bytedance/seedream-5-lite" and err.sunset_date == "2026-05-13"
        assert err.migration_url.endswith("#seedream-3")
        assert "Use bytedance/seedream-5-lite instead" in err.user_message and "2026-05-13" in err.user_message
        assert "deprecated on 2026-05-13" in str(err)

    def test_410_without_replacement(self):
        err = from_response(response(410, {"error": "model_unavailable", "sunset_date": "2026-04-27"}))
        assert err.replacement is None and "instead" not in err.user_message

    def test_429_with_retry_after_seconds(self):
        err = from_response(response(429, {"error": "You have reached the maximum number of concurrent jobs"},
                                     {"Retry-After": "30"}))
        assert type(err) is RateLimited and err.retry_after == 30.0
        assert "30 seconds" in err.user_message

    def test_429_with_retry_after_date(self):
        when = email.utils.formatdate(time.time() + 120, usegmt=True)
        err = from_response(response(429, {"error": "busy"}, {"Retry-After": when}))
        assert 100 < err.retry_after <= 121

    def test_429_without_retry_after(self):
        err = from_response(response(429, {"error": "busy"}))
        assert err.retry_after is None and "running job finishes" in err.user_message

    @pytest.mark.parametrize("status", [500, 502, 503, 504, 524])
    def test_5xx_html_or_json(self, status):
        assert type(from_response(response(status, "<html>Bad gateway</html>"))) is ServerError
        assert type(from_response(response(status, {"error": "boom"}))) is ServerError

    def test_unlisted_status_is_a_generic_api_error(self):
        err = from_response(response(403, {"error": "forbidden"}))
        assert type(err) is KreaAPIError and "403" in err.user_message

    def test_error_object_body(self):
        err = from_response(response(500, {"error": {"code": "x", "message": "Provider down"}}))
        assert str(err) == "Provider down"

    def test_empty_body(self):
        assert str(from_response(response(500, ""))) == "HTTP 500 Internal Server Error"


class TestTokenNeverLeaks:
    def test_echoed_token_is_scrubbed_from_message_and_body(self):
        err = from_response(response(401, {"error": f"Token {TOKEN} is not valid"}))
        assert TOKEN not in str(err) and TOKEN not in err.body and TOKEN not in repr(err)
        assert TOKEN not in err.user_message and "***" in str(err)

    @pytest.mark.parametrize("status", [400, 401, 402, 404, 410, 422, 429, 500, 503])
    def test_no_error_holds_the_token(self, status):
        err = from_response(response(status, {"error": f"echo {TOKEN}", "message": f"again {TOKEN}"}))
        for text in (str(err), repr(err), err.body, err.user_message, json.dumps(vars(err), default=str)):
            assert TOKEN not in text


class TestHierarchy:
    def test_api_errors_and_job_errors_are_apart(self):
        for cls in (BadRequest, Unauthorized, OutOfCredits, NotFound, ModelRetired, RateLimited, ServerError,
                    TransportError, Timeout):
            assert issubclass(cls, KreaAPIError) and not issubclass(cls, JobError)
        for cls in (JobFailed, JobCancelled, JobTimeout):
            assert issubclass(cls, JobError) and not issubclass(cls, KreaAPIError)
        assert issubclass(BadImage, KreaError)
        assert issubclass(Timeout, TransportError)

    def test_job_failed_carries_the_reason(self):
        job = Job.from_dict({"job_id": "j9", "status": "failed", "error": {"code": "nsfw", "message": "Moderated"}})
        err = JobFailed(job)
        assert err.job is job and err.reason == "Moderated (nsfw)"
        assert "Moderated" in err.user_message and "j9" in str(err)

    def test_job_failed_on_shadow_fail(self):
        err = JobFailed(Job.from_dict({"job_id": "j", "status": "completed", "result": {}}))
        assert "possibly filtered by the provider" in err.user_message

    def test_job_cancelled(self):
        err = JobCancelled(Job.from_dict({"job_id": "j", "status": "cancelled"}))
        assert "cancelled" in err.user_message and err.job.job_id == "j"

    def test_job_timeout_says_the_job_is_not_lost(self):
        err = JobTimeout("job-42", "processing", 600.0)
        assert err.job_id == "job-42" and err.last_status == "processing"
        assert "job-42" in err.user_message and "not lost" in err.user_message
        assert "Processing" in err.user_message


class TestTransportMapping:
    def test_connection_refused(self):
        from urllib3.exceptions import MaxRetryError, NewConnectionError

        exc = requests.ConnectionError(MaxRetryError(None, "/", NewConnectionError(None, "refused")))
        err = errors.from_transport(exc, "api.krea.ai")
        assert type(err) is TransportError and not err.request_sent
        assert "Could not reach api.krea.ai" in err.user_message and "network" in err.user_message

    def test_read_timeout_after_retries(self):
        from urllib3.exceptions import MaxRetryError, ReadTimeoutError

        exc = requests.ConnectionError(MaxRetryError(None, "/", ReadTimeoutError(None, "/", "read timed out")))
        err = errors.from_transport(exc, "api.krea.ai")
        assert type(err) is Timeout and err.request_sent

    def test_requests_timeouts(self):
        assert type(errors.from_transport(requests.ReadTimeout("x"))) is Timeout
        err = errors.from_transport(requests.ConnectTimeout("x"))
        assert type(err) is Timeout and not err.request_sent

    def test_other_failures(self):
        assert type(errors.from_transport(requests.exceptions.ChunkedEncodingError("x"))) is TransportError


class TestParsers:
    @pytest.mark.parametrize("message, field", [
        ("Unknown field 'foo': Flux accepts prompt", "foo"),
        ('"steps" must be at most 100', "steps"),
        ("`aspect_ratio` is not one of 1:1, 16:9", "aspect_ratio"),
        ("style_images[0].url must be a URL", "style_images"),
        ("prompt is required", "prompt"),
        ("height: expected a number", "height"),
        ("Invalid body", None),
        ("Unrecognized key(s) in object: 'imageUrl'", "imageUrl"),
        ("Invalid request body: width must be a whole number (got 'big')", "width"),
        ("aspect_ratio must be one of 1:1, 4:3 (got 'square')", "aspect_ratio"),
    ])
    def test_parse_field(self, message, field):
        assert parse_field(message) == field

    FLUX_FIELDS = frozenset({"prompt", "steps", "width", "height", "seed", "style_images", "aspect_ratio"})

    @pytest.mark.parametrize("message, field", [
        ("Invalid request body: steps must be between 1 and 100 (got 10000)", "steps"),
        ("Invalid request body: Unknown field 'bogus': Flux accepts prompt, steps", "bogus"),
        ("aspect_ratio must be one of 1:1, 4:3 (got 'square')", "aspect_ratio"),
        ("Invalid body: expected number for height", "height"),
        ("The value 'square' is not allowed", None),
        ("Invalid request body", None),
    ])
    def test_parse_field_with_known_fields(self, message, field):
        assert parse_field(message, known_fields=self.FLUX_FIELDS) == field

    def test_quoted_value_is_not_a_field_when_fields_are_known(self):
        assert parse_field("got 'square' for aspect_ratio", known_fields=self.FLUX_FIELDS) == "aspect_ratio"

    @pytest.mark.parametrize("value, seconds", [("5", 5.0), (" 0.5 ", 0.5), ("0", 0.0), ("-3", 0.0),
                                                (None, None), ("", None), ("soon", None), ("nan", None)])
    def test_parse_retry_after(self, value, seconds):
        assert parse_retry_after(value) == seconds

    def test_parse_retry_after_past_date(self):
        assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


class TestKinds:
    KINDS = {
        BadRequest: "invalid", Unauthorized: "unauthorized", OutOfCredits: "out_of_credits",
        RateLimited: "rate_limited", ModelRetired: "retired", NotFound: "not_found", ServerError: "server",
        TransportError: "network", Timeout: "timeout", JobTimeout: "timeout", JobFailed: "job_failed",
        JobCancelled: "cancelled", BadImage: "bad_image", KreaAPIError: "server", KreaError: "server",
        BadAnswer: "server", AnswerTooLarge: "server", DownloadStopped: "bad_image",
    }
    TITLES = {
        "invalid": "Check the form", "unauthorized": "Token refused", "out_of_credits": "Out of credits",
        "rate_limited": "Too many jobs at once", "retired": "Model retired", "not_found": "Not found",
        "server": "Krea had a problem", "network": "Can't reach the API", "timeout": "Still not finished",
        "job_failed": "The job failed", "cancelled": "Cancelled", "bad_image": "Image problem",
        "budget": "Over budget", "internal": "Something went wrong",
    }

    def test_every_kind_has_its_title(self):
        assert {kind.value: kind.title for kind in ErrorKind} == self.TITLES
        assert ErrorKind("rate_limited") is ErrorKind.RATE_LIMITED and f"{ErrorKind.BAD_IMAGE}" == "bad_image"

    @staticmethod
    def instance(cls):
        job = Job.from_dict({"job_id": "j", "status": "failed"})
        special = {JobFailed: lambda: JobFailed(job), JobCancelled: lambda: JobCancelled(job),
                   JobTimeout: lambda: JobTimeout("j", "processing", 600.0), BadImage: lambda: BadImage("x"),
                   TransportError: lambda: TransportError("x"), Timeout: lambda: Timeout("x"),
                   AnswerTooLarge: lambda: AnswerTooLarge("x", 4 * 1024 * 1024)}
        return special.get(cls, lambda: cls("x"))()

    @pytest.mark.parametrize("cls", list(KINDS), ids=lambda c: c.__name__)
    def test_each_error_class_has_its_kind_and_title(self, cls):
        err = self.instance(cls)
        assert cls.kind == self.KINDS[cls] and isinstance(cls.kind, ErrorKind)
        assert err.kind is cls.kind and err.title == self.TITLES[self.KINDS[cls]]

    def test_every_error_class_in_the_module_is_covered(self):
        # A new error class must get its own kind (or this test, a deliberate entry).
        classes = {obj for obj in vars(errors).values() if isinstance(obj, type) and issubclass(obj, KreaError)}
        assert classes - {JobError} == set(self.KINDS)

    @pytest.mark.parametrize("status, kind", [(400, "invalid"), (422, "invalid"), (401, "unauthorized"),
                                              (402, "out_of_credits"), (404, "not_found"), (410, "retired"),
                                              (429, "rate_limited"), (500, "server"), (503, "server"),
                                              (403, "server")])
    def test_answers_map_to_kinds(self, status, kind):
        assert from_response(response(status, {"error": "x"})).kind == kind

    def test_transport_failures_map_to_kinds(self):
        assert errors.from_transport(requests.ReadTimeout("x")).kind == "timeout"
        assert errors.from_transport(requests.ConnectionError("x")).kind == "network"


def test_bad_image_message():
    err = BadImage("not an image")
    assert "not an image" in err.user_message and err.status is None
