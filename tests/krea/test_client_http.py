"""The client over real HTTP (a scripted loopback server): retries, headers, tokens, downloads."""

import io
import json
import random
import socket
import struct
import time
import zlib

import pytest
from PIL import Image, ImageFile, PngImagePlugin

from playground.catalog import load_catalog
from playground.krea import KreaClient
from playground.krea.client import PNG_SIGNATURE
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


def noisy_png(size: tuple[int, int] = (64, 64)) -> bytes:
    """A PNG of random pixels (several KB, so a cut lands in the data) with a text chunk, as the app writes."""
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a fox")
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, random.Random(3).randbytes(size[0] * size[1] * 3)).save(
        buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def encoded(fmt: str) -> bytes:
    if fmt == "PNG":
        return noisy_png()
    buffer = io.BytesIO()
    Image.frombytes("RGB", (64, 64), random.Random(5).randbytes(64 * 64 * 3)).save(buffer, format=fmt)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


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

    def test_429_is_not_retried_inside_the_call(self, fake, client):
        # Waiting out a Retry-After inside requests could not be stopped: the caller gets it at once.
        fake.on("GET", "/jobs/j1", Reply(429, {"error": "busy"}, {"Retry-After": "0.5"}), Reply(200, job_json("j1")))
        started = time.monotonic()
        with pytest.raises(RateLimited) as info:
            client.get_job("j1")
        assert info.value.retry_after == 0.5 and time.monotonic() - started < 0.4
        assert len(fake.calls("GET", "/jobs/j1")) == 1

    def test_503_retry_after_under_the_cap_is_honoured(self, fake, client):
        fake.on("GET", "/jobs/j1", Reply(503, {"error": "busy"}, {"Retry-After": "0.3"}), Reply(200, job_json("j1")))
        started = time.monotonic()
        assert client.get_job("j1").job_id == "j1"
        assert time.monotonic() - started >= 0.3
        assert len(fake.calls("GET", "/jobs/j1")) == 2

    def test_503_retry_after_above_the_cap_returns_at_once(self, fake, client):
        fake.on("GET", "/jobs/j1", Reply(503, {"error": "maintenance"}, {"Retry-After": "120"}))
        started = time.monotonic()
        with pytest.raises(ServerError):
            client.get_job("j1")
        assert time.monotonic() - started < 1.0
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

    def test_429_on_submit_comes_back_at_once_with_its_hint(self, fake, settings):
        fake.on("POST", FLUX, Reply(429, {"error": "max concurrent jobs"}, {"Retry-After": "30"}),
                Reply(200, job_json("new", "queued")))
        patient = replace(settings, retry=replace(settings.retry, retry_after_cap=60.0))  # 30 s is under the cap
        with KreaClient(TOKEN, patient) as client:
            started = time.monotonic()
            with pytest.raises(RateLimited) as info:
                client.submit_job("bfl/flux-1-dev", {"prompt": "a fox"})
            assert time.monotonic() - started < 0.5
            assert info.value.retry_after == 30.0 and "30 seconds" in info.value.user_message
            assert len(fake.calls("POST", FLUX)) == 1  # the caller waits (interruptibly) and sends it again
            assert client.submit_job("bfl/flux-1-dev", {"prompt": "a fox"}).job_id == "new"

    def test_429_on_submit_is_not_retried_even_with_a_short_hint(self, fake, client):
        fake.on("POST", FLUX, Reply(429, {"error": "busy"}, {"Retry-After": "0"}), Reply(200, job_json("new")))
        with pytest.raises(RateLimited) as info:
            client.submit_job("bfl/flux-1-dev", {"prompt": "a fox"})
        assert info.value.retry_after == 0.0 and len(fake.calls("POST", FLUX)) == 1

    def test_request_shape(self, fake, client):
        fake.on("POST", FLUX, Reply(200, job_json("j", "backlogged", result={}, type="externalImage")))
        job = client.submit_job("bfl/flux-1-dev", {"prompt": "a fox", "seed": 7},
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

    def test_the_body_is_sent_as_it_is_the_server_decides(self, fake, client):
        # No local validation: the caller checks against its catalog; the server has the last word.
        fake.on("POST", FLUX, Reply(400, {"error": "Invalid request body: steps must be between 1 and 100"}))
        with pytest.raises(BadRequest) as info:
            client.submit_job("bfl/flux-1-dev", {"prompt": "x", "steps": 10_000, "bogus": True})
        assert info.value.field == "steps"
        assert json.loads(fake.seen[0].body) == {"prompt": "x", "steps": 10_000, "bogus": True}

    def test_known_fields_name_the_culprit_of_a_400(self, fake, client):
        fake.on("POST", FLUX, Reply(400, {"error": "Invalid body: expected number for height"}))
        with pytest.raises(BadRequest) as bare:
            client.submit_job("bfl/flux-1-dev", {"prompt": "x", "height": "tall"})
        with pytest.raises(BadRequest) as told:
            client.submit_job("bfl/flux-1-dev", {"prompt": "x", "height": "tall"},
                              known_fields=["prompt", "width", "height"])
        assert bare.value.field is None and told.value.field == "height"

    @pytest.mark.parametrize("model", ["bfl/flux-1-dev", "image/bfl/flux-1-dev", "/generate/image/bfl/flux-1-dev",
                                       "generate/image/bfl/flux-1-dev", " bfl/flux-1-dev/ "])
    def test_model_id_or_path(self, fake, client, model):
        fake.on("POST", FLUX, Reply(200, job_json("x")))
        assert client.submit_job(model, {"prompt": "p"}).job_id == "x"
        assert [s.path for s in fake.seen] == [FLUX]

    def test_a_model_object_is_refused_plainly(self, fake, client):
        with pytest.raises(TypeError, match="model id"):
            client.submit_job(load_catalog().get("bfl/flux-1-dev"), {"prompt": "p"})  # pass model.id
        assert fake.seen == []

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

    @pytest.mark.parametrize("cut", [1, 12, 13, 40])
    def test_png_cut_short_before_its_end_is_refused(self, fake, client, cut):
        # The header still parses; only the missing IEND chunk shows the download was cut.
        fake.on("GET", "/a.png", Reply(200, noisy_png()[:-cut]))
        with pytest.raises(BadImage) as info:
            client.download_image(f"{fake.url}/a.png")
        assert "truncated PNG" in str(info.value)

    @pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "GIF"])
    def test_other_formats_cut_short_are_refused(self, fake, client, fmt):
        data = encoded(fmt)
        fake.on("GET", "/a.img", Reply(200, data[: len(data) * 2 // 3]))
        with pytest.raises(BadImage):
            client.download_image(f"{fake.url}/a.img")

    @pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
    def test_whole_images_come_back_byte_for_byte(self, fake, client, fmt):
        data = encoded(fmt)
        fake.on("GET", "/a.img", Reply(200, data))
        assert client.download_image(f"{fake.url}/a.img") == data

    def test_pixels_are_never_decoded(self, fake, client, monkeypatch):
        def refuse(*_args, **_kwargs):
            raise AssertionError("pixels decoded")

        monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
        monkeypatch.setattr(PngImagePlugin.PngImageFile, "verify", refuse)
        data = noisy_png()
        fake.on("GET", "/a.png", Reply(200, data))
        assert client.download_image(f"{fake.url}/a.png") == data

    def test_a_header_claiming_a_huge_image_is_refused(self, fake, client):
        # 100000 x 100000 pixels: Pillow's decompression-bomb check fires on the header alone.
        ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
        bomb = (PNG_SIGNATURE + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
                + png_chunk(b"IEND", b""))
        fake.on("GET", "/bomb.png", Reply(200, bomb))
        with pytest.raises(BadImage) as info:
            client.download_image(f"{fake.url}/bomb.png")
        assert "DecompressionBomb" in str(info.value)

    def test_magic_bytes_alone_are_not_enough(self, fake, client):
        fake.on("GET", "/a.png", Reply(200, PNG_SIGNATURE + b"garbage" * 10 + png_chunk(b"IEND", b"")))
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
