"""The client over real HTTP (a scripted loopback server): retries, headers, tokens, downloads."""

import json
import socket
import time

import pytest

from playground.catalog import ValidationFailed, load_catalog
from playground.krea import KreaClient
from playground.krea.errors import (
    BadImage,
    BadRequest,
    KreaAPIError,
    NotFound,
    RateLimited,
    ServerError,
    Timeout,
    TransportError,
    Unauthorized,
)
from playground.settings import replace
from tests.krea.conftest import TOKEN, Reply, job_json, png_bytes

FLUX = "/generate/image/bfl/flux-1-dev"


class TestGetRetries:
    def test_503_then_success_is_retried(self, fake, client):
        fake.on("GET", "/jobs/j1", Reply(503, "<html>busy</html>"), Reply(200, job_json("j1", "processing")))
        assert client.get_job("j1").status == "processing"
        assert len(fake.calls("GET", "/jobs/j1")) == 2

    def test_persistent_503_gives_up_as_server_error(self, fake, client):
        fake.on("GET", "/jobs/j1", Reply(503, {"error": "down"}))
        with pytest.raises(ServerError):
            client.get_job("j1")
        assert len(fake.calls("GET", "/jobs/j1")) == 3  # first try + total=2 retries

    def test_429_retry_after_under_the_cap_is_honoured(self, fake, client):
        fake.on("GET", "/jobs/j1", Reply(429, {"error": "busy"}, {"Retry-After": "0.3"}), Reply(200, job_json("j1")))
        started = time.monotonic()
        assert client.get_job("j1").job_id == "j1"
        assert time.monotonic() - started >= 0.3
        assert len(fake.calls("GET", "/jobs/j1")) == 2

    def test_429_retry_after_above_the_cap_returns_at_once(self, fake, client):
        fake.on("GET", "/jobs/j1", Reply(429, {"error": "busy"}, {"Retry-After": "120"}))
        started = time.monotonic()
        with pytest.raises(RateLimited) as info:
            client.get_job("j1")
        assert info.value.retry_after == 120.0 and time.monotonic() - started < 1.0
        assert len(fake.calls("GET", "/jobs/j1")) == 1

    def test_read_timeout_is_retried_then_reported(self, fake, settings):
        fake.on("GET", "/jobs/slow", Reply(200, job_json("slow"), delay=0.5))
        with KreaClient(TOKEN, replace(settings, read_timeout=0.1)) as client:
            with pytest.raises(Timeout):
                client.get_job("slow")
        assert len(fake.calls("GET", "/jobs/slow")) == 3

    def test_404_is_not_retried(self, fake, client):
        fake.on("GET", "/jobs/nope", Reply(404, {"error": "Job not found"}))
        with pytest.raises(NotFound):
            client.get_job("nope")
        assert len(fake.calls("GET", "/jobs/nope")) == 1

    def test_html_404_for_an_unknown_path(self, fake, client):
        with pytest.raises(NotFound) as info:  # no route: the fake answers an HTML page
            client.get_job("missing")
        assert "<html" not in str(info.value)


class TestSubmit:
    def test_post_not_retried_on_500(self, fake, client):
        fake.on("POST", FLUX, Reply(500, {"error": "boom"}), Reply(200, job_json()))
        with pytest.raises(ServerError):
            client.submit_job("bfl/flux-1-dev", {"prompt": "a fox"})
        assert len(fake.calls("POST", FLUX)) == 1

    def test_post_not_retried_on_read_timeout(self, fake, settings):
        fake.on("POST", FLUX, Reply(200, job_json(), delay=0.5))
        with KreaClient(TOKEN, replace(settings, read_timeout=0.1)) as client:
            with pytest.raises(Timeout) as info:
                client.submit_job("bfl/flux-1-dev", {"prompt": "a fox"})
        assert info.value.request_sent and "recent jobs" in info.value.user_message
        time.sleep(0.5)  # let the slow handler finish so a late retry would be seen
        assert len(fake.calls("POST", FLUX)) == 1

    def test_post_retried_on_429_then_success(self, fake, client):
        fake.on("POST", FLUX, Reply(429, {"error": "max concurrent jobs"}), Reply(200, job_json("new", "queued")))
        job = client.submit_job("bfl/flux-1-dev", {"prompt": "a fox"})
        assert job.job_id == "new" and job.status == "queued"
        assert len(fake.calls("POST", FLUX)) == 2

    def test_request_shape(self, fake, client):
        fake.on("POST", FLUX, Reply(200, job_json("j", "backlogged", result={}, type="externalImage")))
        job = client.submit_job(load_catalog().get("bfl/flux-1-dev"), {"prompt": "a fox", "seed": 7},
                                webhook_url="https://example.com/hook")
        assert job.status == "backlogged" and job.raw["type"] == "externalImage"
        seen = fake.calls("POST", FLUX)[0]
        assert seen.headers["Authorization"] == f"Bearer {TOKEN}"
        assert seen.headers["X-Webhook-URL"] == "https://example.com/hook"
        assert seen.headers["Content-Type"] == "application/json"
        assert seen.headers["User-Agent"].startswith("krea-playground/")
        assert json.loads(seen.body) == {"prompt": "a fox", "seed": 7}

    def test_no_webhook_header_by_default(self, fake, client):
        fake.on("POST", FLUX, Reply(200, job_json()))
        client.submit_job("bfl/flux-1-dev", {"prompt": "a fox"})
        assert "X-Webhook-URL" not in fake.calls("POST", FLUX)[0].headers

    def test_invalid_params_refused_before_any_request(self, fake, client):
        with pytest.raises(ValidationFailed) as info:
            client.submit_job("bfl/flux-1-dev", {"prompt": "a fox", "steps": 10_000})
        assert info.value.field == "steps"
        assert fake.seen == []

    def test_validation_can_be_skipped_on_purpose(self, fake, client):
        fake.on("POST", FLUX, Reply(400, {"error": "Invalid request body: steps must be between 1 and 100"}))
        with pytest.raises(BadRequest) as info:
            client.submit_job("bfl/flux-1-dev", {"prompt": "x", "steps": 10_000}, validate=False)
        assert info.value.field == "steps" and json.loads(fake.seen[0].body)["steps"] == 10_000

    def test_unknown_model_is_sent_unvalidated(self, fake, client):
        fake.on("POST", "/generate/image/acme/brand-new", Reply(200, job_json("x")))
        assert client.submit_job("acme/brand-new", {"anything": True}).job_id == "x"
        assert client.submit_job("image/acme/brand-new", {}).job_id == "x"  # SDK-style id with category

    def test_400_names_the_field(self, fake, client):
        fake.on("POST", FLUX, Reply(400, {"error": "steps must be at most 100, got 500"}))
        with pytest.raises(BadRequest) as info:
            client.submit_job("bfl/flux-1-dev", {"prompt": "x"})
        assert info.value.field == "steps" and len(fake.calls("POST", FLUX)) == 1

    def test_connection_refused_is_a_transport_error(self, settings):
        with socket.socket() as s:  # a port nobody listens on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        dead = replace(settings, base_url=f"http://127.0.0.1:{port}")
        with KreaClient(TOKEN, dead) as client:
            with pytest.raises(TransportError) as info:
                client.submit_job("acme/x", {"prompt": "p"})
        err = info.value
        assert type(err) is TransportError and not err.request_sent
        assert "Could not reach 127.0.0.1" in err.user_message and TOKEN not in str(err)

    def test_unauthorized_token_never_echoed(self, fake, client):
        fake.on("POST", FLUX, Reply(401, {"error": f"Bad token {TOKEN}"}))
        with pytest.raises(Unauthorized) as info:
            client.submit_job("bfl/flux-1-dev", {"prompt": "x"})
        assert TOKEN not in str(info.value) and TOKEN not in (info.value.body or "")

    def test_non_json_success_is_an_api_error(self, fake, client):
        fake.on("GET", "/jobs/j1", Reply(200, "<html>captive portal</html>"))
        with pytest.raises(KreaAPIError) as info:
            client.get_job("j1")
        assert "base URL" in info.value.user_message

    def test_redirects_are_not_followed(self, fake, client):
        fake.on("GET", "/jobs/j1", Reply(302, "", {"Location": "http://localhost:1/steal"}))
        with pytest.raises(KreaAPIError) as info:
            client.get_job("j1")
        assert info.value.status == 302


class TestJobs:
    def test_job_id_is_one_path_segment(self, fake, client):
        fake.on("GET", "/jobs/a%2F..%2Fb", Reply(200, job_json("a/../b")))
        assert client.get_job("a/../b").job_id == "a/../b"

    def test_cancel_uses_the_delete_answer_when_it_is_a_job(self, fake, client):
        fake.on("DELETE", "/jobs/j1", Reply(200, job_json("j1", "cancelled")))
        assert client.cancel_job("j1").status == "cancelled"
        assert fake.calls("GET", "/jobs/j1") == []

    def test_cancel_fetches_the_job_when_the_answer_is_empty(self, fake, client):
        fake.on("DELETE", "/jobs/j1", Reply(200, ""))
        fake.on("GET", "/jobs/j1", Reply(200, job_json("j1", "cancelled")))
        assert client.cancel_job("j1").status == "cancelled"
        assert len(fake.calls("GET", "/jobs/j1")) == 1

    def test_list_jobs_query_and_cursor(self, fake, client):
        fake.on("GET", "/jobs", Reply(200, {"items": [job_json("a")], "nextCursor": "2026-01-01T00:00:00Z"}))
        page = client.list_jobs(limit=5, cursor="c0", status="completed")
        assert [j.job_id for j in page.items] == ["a"] and page.next_cursor == "2026-01-01T00:00:00Z"
        assert fake.seen[0].query == {"limit": ["5"], "cursor": ["c0"], "status": ["completed"]}

    def test_iter_jobs_follows_pages_once_each(self, fake, client):
        fake.on("GET", "/jobs",
                Reply(200, {"items": [job_json("a"), job_json("b")], "next_cursor": "c1"}),
                Reply(200, {"items": [job_json("b"), job_json("c")], "next_cursor": "c2"}),
                Reply(200, {"items": [job_json("d")], "next_cursor": None}))
        assert [j.job_id for j in client.iter_jobs(limit=2)] == ["a", "b", "c", "d"]
        assert [s.query.get("cursor") for s in fake.seen] == [None, ["c1"], ["c2"]]

    def test_iter_jobs_stops_on_a_repeated_cursor(self, fake, client):
        fake.on("GET", "/jobs", Reply(200, {"items": [job_json("a")], "next_cursor": "same"}))
        assert [j.job_id for j in client.iter_jobs()] == ["a"]
        assert len(fake.seen) == 2


class TestDownload:
    def test_no_authorization_header(self, fake, client):
        fake.on("GET", "/files/j1/a.png", Reply(200, png_bytes(), {"Content-Type": "image/png"}))
        data = client.download_image(f"{fake.url}/files/j1/a.png")
        assert data.startswith(b"\x89PNG")
        seen = fake.calls("GET", "/files/j1/a.png")[0]
        assert "Authorization" not in seen.headers and TOKEN not in json.dumps(seen.headers)

    def test_api_calls_do_carry_the_token(self, fake, client):
        fake.on("GET", "/jobs/j1", Reply(200, job_json("j1")))
        client.get_job("j1")
        assert fake.seen[0].headers["Authorization"] == f"Bearer {TOKEN}"

    def test_allowed_suffix_host(self, fake, settings):
        fake.on("GET", "/a.png", Reply(200, png_bytes()))
        with KreaClient(TOKEN, replace(settings, download_host_suffixes=("localhost",))) as client:
            assert client.download_image(f"http://localhost:{fake.port}/a.png")
        assert "Authorization" not in fake.seen[0].headers

    @pytest.mark.parametrize("url", [
        "http://localhost:{port}/a.png",  # same server, other host name: not the API host, not allowed
        "https://evil.example/a.png",
        "https://notkrea.ai.evil.example/a.png",
        "file:///etc/passwd",
        "ftp://127.0.0.1/a.png",
        "data:image/png;base64,AAAA",
        "/relative/a.png",
    ])
    def test_foreign_or_odd_urls_are_refused_without_a_request(self, fake, client, url):
        with pytest.raises(BadImage):
            client.download_image(url.format(port=fake.port))
        assert fake.seen == []

    def test_other_port_on_the_api_host_is_refused(self, fake, client):
        with pytest.raises(BadImage):
            client.download_image(f"http://127.0.0.1:{fake.port + 1}/a.png")

    def test_redirect_to_a_foreign_host_is_refused(self, fake, client):
        fake.on("GET", "/r.png", Reply(302, "", {"Location": f"http://localhost:{fake.port}/a.png"}))
        with pytest.raises(BadImage):
            client.download_image(f"{fake.url}/r.png")
        assert [s.path for s in fake.seen] == ["/r.png"]

    def test_redirect_on_an_allowed_host_is_followed(self, fake, client):
        fake.on("GET", "/r.png", Reply(302, "", {"Location": "/a.png"}))
        fake.on("GET", "/a.png", Reply(200, png_bytes()))
        assert client.download_image(f"{fake.url}/r.png").startswith(b"\x89PNG")

    def test_not_an_image(self, fake, client):
        fake.on("GET", "/a.png", Reply(200, "<html>login</html>", {"Content-Type": "text/html"}))
        with pytest.raises(BadImage) as info:
            client.download_image(f"{fake.url}/a.png")
        assert "not a valid image" in str(info.value)

    def test_truncated_image(self, fake, client):
        fake.on("GET", "/a.png", Reply(200, png_bytes((64, 64))[:60]))
        with pytest.raises(BadImage):
            client.download_image(f"{fake.url}/a.png")

    def test_oversize_by_content_length(self, fake, client):
        fake.on("GET", "/big.png", Reply(200, b"\0" * 200_000))
        with pytest.raises(BadImage) as info:
            client.download_image(f"{fake.url}/big.png")
        assert "limit" in str(info.value)

    def test_oversize_without_content_length(self, fake, client):
        fake.on("GET", "/big.png", Reply(200, b"\0" * 200_000, declare_length=False))
        with pytest.raises(BadImage) as info:
            client.download_image(f"{fake.url}/big.png")
        assert "larger than" in str(info.value)

    def test_http_error(self, fake, client):
        fake.on("GET", "/gone.png", Reply(404, "nope"))
        with pytest.raises(BadImage) as info:
            client.download_image(f"{fake.url}/gone.png")
        assert info.value.status == 404 and "expired" in info.value.user_message
