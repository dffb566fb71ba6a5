"""The client's /assets and /styles calls against a small Krea-like server on loopback (real sockets, real
``requests``): the multipart upload as Krea documents it, typed errors as for jobs, pagination, a POST that is
never sent twice, and the token going to the API host only."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

import playground.krea.client as client_module
from playground.krea import Asset, AssetPage, KreaClient, Style
from playground.krea.errors import (
    AnswerTooLarge,
    BadAnswer,
    BadRequest,
    ErrorKind,
    KreaAPIError,
    NotFound,
    ServerError,
    Timeout,
    TransportError,
    Unauthorized,
)
from playground.settings import ClientSettings, RetryPolicy, replace
from tests.krea.conftest import png_bytes

TOKEN = "sk-live/Asset+Token=0123456789abcdef"
FAST_RETRY = RetryPolicy(total=2, backoff_factor=0.01, backoff_max=0.05, backoff_jitter=0.0, retry_after_cap=1.0)
PNG = png_bytes((3, 2), "blue")
ASSET_ID = "1b7c5a8e-54b6-4c0e-9a55-5d7c3f7c2b11"


def asset_json(asset_id: str = ASSET_ID, **extra) -> dict:
    data = {"id": asset_id, "image_url": f"https://gen.krea.ai/assets/{asset_id}.png",
            "uploaded_at": "2026-05-20T09:15:00.123Z", "width": 3, "height": 2, "size_bytes": len(PNG),
            "mime_type": "image/png"}
    data.update(extra)
    return data


@dataclass
class Answer:
    status: int = 200
    body: bytes | str | dict | list | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # read the request, then close the connection without a word


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)

    def form(self) -> dict[str, dict]:
        """The multipart parts by field name: {filename, content_type, data} each."""
        raw = b"Content-Type: " + (self.header("Content-Type") or "").encode() + b"\r\n\r\n" + self.body
        message = BytesParser(policy=policy.HTTP).parsebytes(raw)
        assert message.is_multipart()
        parts = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            parts[name] = {"filename": part.get_filename(), "content_type": part.get_content_type(),
                           "data": part.get_payload(decode=True)}
        return parts


class LoopbackKrea:
    """Scripted answers per (METHOD, path), the last one repeating; every request recorded."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[tuple[str, str], list[Answer]] = {}
        self.received: list[Received] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with server._lock:
                    server.received.append(Received(self.command, parts.path, parse_qs(parts.query),
                                                    dict(self.headers.items()), body))
                    script = server.routes.get((self.command, parts.path))
                    answer = (script.pop(0) if len(script) > 1 else script[0]) if script else Answer(
                        404, {"error": f"no route {self.command} {parts.path}"})
                time.sleep(answer.delay)
                if answer.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                payload = answer.body
                headers = dict(answer.headers)
                if isinstance(payload, (dict, list)):
                    payload = json.dumps(payload).encode()
                    headers.setdefault("Content-Type", "application/json")
                elif isinstance(payload, str):
                    payload = payload.encode()
                payload = payload or b""
                try:
                    self.send_response(answer.status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_DELETE = _handle

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()

    def on(self, method: str, path: str, *answers: Answer) -> None:
        self.routes[(method, path)] = list(answers)

    def calls(self, method: str, path: str) -> list[Received]:
        return [r for r in self.received if r.method == method and r.path == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def krea():
    server = LoopbackKrea()
    yield server
    server.close()


@pytest.fixture
def settings(krea) -> ClientSettings:
    return ClientSettings(base_url=krea.url, connect_timeout=1.0, read_timeout=2.0, retry=FAST_RETRY,
                          download_timeout=2.0, download_host_suffixes=("localhost",), max_answer_bytes=64 * 1024)


@pytest.fixture
def client(settings):
    with KreaClient(TOKEN, settings) as c:
        yield c


# --- upload ----------------------------------------------------------------------------------------------------

class TestUpload:
    def test_the_multipart_body_is_a_file_part_and_a_description_part(self, krea, client):
        krea.on("POST", "/assets", Answer(200, asset_json(description="a blue test card")))
        asset = client.upload_asset(PNG, "card.png", "image/png", description="a blue test card")
        (seen,) = krea.calls("POST", "/assets")
        assert seen.header("Content-Type").startswith("multipart/form-data; boundary=")
        assert seen.header("Authorization") == f"Bearer {TOKEN}"
        parts = seen.form()
        assert set(parts) == {"file", "description"}
        assert (parts["file"]["filename"], parts["file"]["content_type"], parts["file"]["data"]) == (
            "card.png", "image/png", PNG)
        assert parts["description"]["data"] == b"a blue test card" and parts["description"]["filename"] is None
        assert asset == Asset(id=ASSET_ID, image_url=f"https://gen.krea.ai/assets/{ASSET_ID}.png",
                              uploaded_at=datetime(2026, 5, 20, 9, 15, 0, 123000, tzinfo=timezone.utc),
                              width=3, height=2, size_bytes=len(PNG), mime_type="image/png",
                              description="a blue test card", raw=asset_json(description="a blue test card"))
        assert asset.is_image

    def test_no_description_part_without_a_description(self, krea, client):
        krea.on("POST", "/assets", Answer(200, asset_json()))
        client.upload_asset(PNG, "card.png", "image/png")
        assert set(krea.calls("POST", "/assets")[0].form()) == {"file"}

    def test_an_awkward_file_name_stays_one_header_value(self, krea, client):
        krea.on("POST", "/assets", Answer(200, asset_json()))
        client.upload_asset(PNG, 'my "best"\r\nX-Evil: 1.png', "image/png")
        seen = krea.calls("POST", "/assets")[0]
        assert b"\r\nX-Evil: 1" not in seen.body and set(seen.form()) == {"file"}

    @pytest.mark.parametrize("answer", [Answer(500, {"error": "boom"}), Answer(drop=True),
                                        Answer(503, {"error": "busy"}, {"Retry-After": "0"})])
    def test_an_upload_that_may_have_arrived_is_never_sent_again(self, krea, client, answer):
        krea.on("POST", "/assets", answer, Answer(200, asset_json()))
        with pytest.raises(KreaAPIError) as info:
            client.upload_asset(PNG, "card.png", "image/png")
        assert isinstance(info.value, (ServerError, TransportError))
        time.sleep(0.1)  # a late retry would land here
        assert len(krea.calls("POST", "/assets")) == 1

    def test_a_slow_answer_is_a_timeout_and_not_resent(self, krea, settings):
        krea.on("POST", "/assets", Answer(200, asset_json(), delay=0.6))
        with KreaClient(TOKEN, replace(settings, read_timeout=0.2)) as client:
            with pytest.raises(Timeout) as info:
                client.upload_asset(PNG, "card.png", "image/png")
        assert info.value.request_sent
        time.sleep(0.6)
        assert len(krea.calls("POST", "/assets")) == 1

    def test_nothing_listening_means_nothing_was_sent(self, settings):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with KreaClient(TOKEN, replace(settings, base_url=f"http://127.0.0.1:{port}")) as client:
            with pytest.raises(TransportError) as info:
                client.upload_asset(PNG, "card.png", "image/png")
        assert not info.value.request_sent

    def test_the_answer_is_read_under_the_cap(self, krea, client):
        krea.on("POST", "/assets", Answer(200, asset_json(description="x" * 100_000)))
        with pytest.raises(AnswerTooLarge):
            client.upload_asset(PNG, "card.png", "image/png")

    def test_400_is_a_bad_request_naming_the_file(self, krea, client):
        krea.on("POST", "/assets", Answer(400, {"error": "file must be JPEG, PNG, WebP, HEIC, MP4, MOV, WebM, GLB, "
                                                         "WAV or MP3"}))
        with pytest.raises(BadRequest) as info:
            client.upload_asset(b"GIF89a...", "anim.gif", "image/gif")
        assert info.value.status == 400 and info.value.field == "file" and info.value.kind == ErrorKind.INVALID
        assert "file must be JPEG" in info.value.user_message

    def test_401_is_unauthorized_and_the_echoed_token_is_scrubbed(self, krea, client):
        krea.on("POST", "/assets", Answer(401, {"error": f"Invalid token {TOKEN}"}))
        with pytest.raises(Unauthorized) as info:
            client.upload_asset(PNG, "card.png", "image/png")
        assert TOKEN not in str(info.value) and TOKEN not in (info.value.body or "") and "***" in str(info.value)

    def test_a_token_echoed_in_a_good_answer_is_scrubbed_too(self, krea, client):
        krea.on("POST", "/assets", Answer(200, asset_json(description=f"uploaded with {TOKEN}")))
        asset = client.upload_asset(PNG, "card.png", "image/png")
        assert TOKEN not in json.dumps(asset.raw) and asset.description == "uploaded with ***"

    @pytest.mark.parametrize("body", [[asset_json()], "<html>captive portal</html>", {"id": ASSET_ID},
                                      {"image_url": "https://gen.krea.ai/a.png"}])
    def test_an_answer_that_is_not_an_asset_is_a_bad_answer(self, krea, client, body):
        krea.on("POST", "/assets", Answer(200, body))
        with pytest.raises(BadAnswer):
            client.upload_asset(PNG, "card.png", "image/png")

    def test_empty_or_oversized_files_are_refused_before_sending(self, krea, client, monkeypatch):
        with pytest.raises(ValueError, match="empty"):
            client.upload_asset(b"", "card.png", "image/png")
        monkeypatch.setattr(client_module, "MAX_ASSET_BYTES", 10)
        with pytest.raises(ValueError, match="75 MB"):
            client.upload_asset(PNG, "card.png", "image/png")
        with pytest.raises(TypeError):
            client.upload_asset("card.png", "card.png", "image/png")  # type: ignore[arg-type]
        assert krea.received == []


# --- list, get, delete -------------------------------------------------------------------------------------------

class TestAssets:
    def test_list_pages_through_the_cursor(self, krea, client):
        krea.on("GET", "/assets",
                Answer(200, {"items": [asset_json("a1"), asset_json("a2")], "next_cursor": "2026-05-20T09:00:00Z"}),
                Answer(200, {"items": [asset_json("a3")], "next_cursor": None}))
        first = client.list_assets(limit=2)
        assert [a.id for a in first.items] == ["a1", "a2"] and first.next_cursor == "2026-05-20T09:00:00Z"
        second = client.list_assets(limit=2, cursor=first.next_cursor)
        assert [a.id for a in second.items] == ["a3"] and second.next_cursor is None
        queries = [c.query for c in krea.calls("GET", "/assets")]
        assert queries == [{"limit": ["2"]}, {"limit": ["2"], "cursor": ["2026-05-20T09:00:00Z"]}]
        assert all(c.header("Authorization") == f"Bearer {TOKEN}" for c in krea.received)

    def test_iter_assets_yields_each_once_and_stops(self, krea, client):
        krea.on("GET", "/assets",
                Answer(200, {"items": [asset_json("a1"), asset_json("a2")], "nextCursor": "c1"}),  # older spelling
                Answer(200, {"items": [asset_json("a2"), asset_json("a3")], "next_cursor": "c1"}))  # repeated cursor
        assert [a.id for a in client.iter_assets(limit=2)] == ["a1", "a2", "a3"]
        assert len(krea.calls("GET", "/assets")) == 2

    def test_list_tolerates_odd_items(self, krea, client):
        krea.on("GET", "/assets", Answer(200, {"items": [asset_json(width=None, height="512", size_bytes=1.5e3,
                                                                    mime_type=None, uploaded_at="yesterday"), 7],
                                                "next_cursor": ""}))
        page = client.list_assets()
        (asset,) = page.items
        assert (asset.width, asset.height, asset.size_bytes, asset.mime_type, asset.uploaded_at) == (
            None, 512, 1500, None, None)
        assert page.next_cursor is None and not asset.is_image

    def test_a_list_that_is_not_a_list_is_a_bad_answer(self, krea, client):
        krea.on("GET", "/assets", Answer(200, {"items": "nope"}))
        with pytest.raises(BadAnswer):
            client.list_assets()

    def test_get_one_asset_with_its_id_as_one_path_segment(self, krea, client):
        krea.on("GET", "/assets/a%2F..%2Fb", Answer(200, asset_json("a/../b", metadata={"source": "test"})))
        asset = client.get_asset("a/../b")
        assert asset.id == "a/../b" and asset.metadata == {"source": "test"}

    def test_get_404_is_not_found_about_the_asset(self, krea, client):
        krea.on("GET", f"/assets/{ASSET_ID}", Answer(404, {"error": "Asset not found"}))
        with pytest.raises(NotFound) as info:
            client.get_asset(ASSET_ID)
        assert info.value.status == 404 and ASSET_ID in info.value.user_message
        assert len(krea.calls("GET", f"/assets/{ASSET_ID}")) == 1  # a 404 is not retried

    def test_401_on_list_is_unauthorized(self, krea, client):
        krea.on("GET", "/assets", Answer(401, {"error": "Unauthorized"}))
        with pytest.raises(Unauthorized):
            client.list_assets()

    def test_delete_says_whether_it_is_gone(self, krea, client):
        path = f"/assets/{ASSET_ID}"
        krea.on("DELETE", path, Answer(200, {"success": True, "message": "Asset deleted"}),
                Answer(200, {"success": False, "message": "still in use"}), Answer(200, ""),
                Answer(404, {"error": "Asset not found"}))
        assert client.delete_asset(ASSET_ID) is True
        assert client.delete_asset(ASSET_ID) is False
        assert client.delete_asset(ASSET_ID) is True  # an empty 2xx
        with pytest.raises(NotFound):
            client.delete_asset(ASSET_ID)

    def test_an_empty_id_is_refused(self, client):
        with pytest.raises(ValueError):
            client.get_asset("")
        with pytest.raises(ValueError):
            client.delete_asset("")


class TestStyles:
    def test_list_styles(self, krea, client):
        style = {"id": "s1", "title": "Watercolour", "urls": ["https://gen.krea.ai/s1.png", 3], "public": True,
                 "cover_url": None, "prompt": "a watercolour of", "models": ["flux_dev"],
                 "owner": {"id": "u1", "name": "Ada"}, "like_count": 12, "created_at": "2026-01-02T03:04:05Z"}
        krea.on("GET", "/styles", Answer(200, {"items": [style, {"id": "s2", "owner": None}], "next_cursor": "n"}))
        page = client.list_styles(limit=5, filter="shared")
        first, second = page.items
        assert isinstance(first, Style)
        assert (first.id, first.title, first.urls, first.models, first.owner, first.like_count, first.public) == (
            "s1", "Watercolour", ("https://gen.krea.ai/s1.png",), ("flux_dev",), "Ada", 12, True)
        assert (second.id, second.owner, second.title) == ("s2", None, None) and page.next_cursor == "n"
        assert krea.calls("GET", "/styles")[0].query == {"limit": ["5"], "filter": ["shared"]}


# --- the token goes to the API host only ------------------------------------------------------------------------

class TestTokenStaysHome:
    def test_the_uploaded_image_is_fetched_without_the_token(self, krea, client):
        cdn = LoopbackKrea("localhost")  # another host, as Krea's CDN is
        try:
            image_path = "/assets/card.png"
            cdn.on("GET", image_path, Answer(200, PNG, {"Content-Type": "image/png"}))
            krea.on("POST", "/assets", Answer(200, asset_json(image_url=cdn.url + image_path)))
            asset = client.upload_asset(PNG, "card.png", "image/png")
            assert client.download_image(asset.image_url) == PNG
            (fetch,) = cdn.received
            assert fetch.header("Authorization") is None and TOKEN.encode() not in fetch.body
            assert all(r.header("Authorization") == f"Bearer {TOKEN}" for r in krea.received)
        finally:
            cdn.close()

    def test_a_redirect_away_from_the_api_is_not_followed(self, krea, client):
        elsewhere = LoopbackKrea("localhost")
        try:
            krea.on("POST", "/assets", Answer(307, "", {"Location": elsewhere.url + "/assets"}))
            krea.on("GET", "/assets", Answer(302, "", {"Location": elsewhere.url + "/assets"}))
            with pytest.raises(KreaAPIError) as info:
                client.upload_asset(PNG, "card.png", "image/png")
            assert info.value.status == 307
            with pytest.raises(KreaAPIError):
                client.list_assets()
            assert elsewhere.received == []  # neither the file nor the token went there
        finally:
            elsewhere.close()


def test_asset_page_parsing_without_a_server():
    assert AssetPage.from_dict({"assets": [asset_json("x")]}).items[0].id == "x"
    with pytest.raises(ValueError):
        Asset.from_dict(None)
    assert Asset.from_dict({"url": "https://a/b.png", "asset_id": "q"}).image_url == "https://a/b.png"
