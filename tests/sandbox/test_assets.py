"""Assets and styles over real HTTP: upload, list, page, get, delete, per-token isolation, refusals, files."""

from __future__ import annotations

import io
import re
import uuid

import numpy as np
import pytest
from PIL import Image

from playground.catalog import load_catalog
from playground.sandbox import JobEngine, SandboxServer

from .conftest import FAST, Api

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ASSET_KEYS = {"id", "image_url", "uploaded_at", "width", "height", "size_bytes", "mime_type", "description"}
STYLE_REQUIRED = {"id", "title", "urls", "public", "prompt", "owner", "like_count", "created_at"}


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (96, 64), color=(200, 80, 30), noise: bool = False) -> bytes:
    if noise:  # incompressible: the file is about 3 bytes a pixel
        pixels = np.random.default_rng(1).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        image = Image.fromarray(pixels)
    else:
        image = Image.new("RGB", size, color)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def upload(api: Api, data: bytes, filename: str = "picture.png", content_type: str = "image/png", **fields):
    return api.request("POST", "/assets", files={"file": (filename, data, content_type)}, data=fields)


def uploaded(api: Api, data: bytes | None = None, **fields) -> dict:
    response = upload(api, image_bytes() if data is None else data, **fields)
    assert response.status_code == 200, response.text
    return response.json()


def other_token(api: Api) -> Api:
    return Api(api.base, token=f"other-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def small_cap_sandbox():
    """A sandbox whose assets may be at most 4 KB and at most 3 per token."""
    engine = JobEngine(FAST, load_catalog(), max_asset_bytes=4096, keep_assets=3)
    server = SandboxServer(FAST, engine=engine).start()
    yield server
    server.stop()


# ------------------------------------------------------------------------------------------------- upload


def test_upload_answers_krea_shape_with_an_absolute_url_on_the_sandbox(api):
    data = image_bytes(size=(120, 80))
    asset = uploaded(api, data, description="an orange card")
    assert set(asset) == ASSET_KEYS
    assert re.fullmatch(r"[0-9a-f-]{36}", asset["id"])
    assert ISO_MS.match(asset["uploaded_at"])
    assert (asset["width"], asset["height"], asset["size_bytes"]) == (120, 80, len(data))
    assert asset["mime_type"] == "image/png" and asset["description"] == "an orange card"
    assert asset["image_url"] == f"{api.base}/assets-files/{asset['id']}/asset.png"
    served = api.session.get(asset["image_url"])  # no token needed, like a CDN URL
    assert served.status_code == 200 and served.content == data
    assert served.headers["content-type"] == "image/png"


def test_the_type_is_sniffed_from_the_bytes_not_the_name(api):
    jpeg = uploaded(api, image_bytes("JPEG"))  # sent as "picture.png", image/png
    webp = uploaded(api, image_bytes("WEBP"))
    assert jpeg["mime_type"] == "image/jpeg" and jpeg["image_url"].endswith("/asset.jpg")
    assert webp["mime_type"] == "image/webp" and webp["image_url"].endswith("/asset.webp")
    assert uploaded(api)["description"] == ""


@pytest.mark.parametrize("data, filename", [
    (b"hello, this is text", "hello.png"),
    (image_bytes("GIF"), "anim.gif"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "broken.png"),  # PNG signature, no readable header
    (b"", "empty.png"),
])
def test_files_that_are_not_jpeg_png_or_webp_are_refused(api, data, filename):
    response = upload(api, data, filename)
    assert response.status_code == 400
    assert "file" in response.json()["error"]


def test_malformed_uploads_are_400(api):
    assert api.request("POST", "/assets", json={"file": "x"}).status_code == 400  # not multipart
    missing = api.request("POST", "/assets", files={"image": ("a.png", image_bytes(), "image/png")})
    assert missing.status_code == 400 and "file is required" in missing.json()["error"]
    two = api.request("POST", "/assets", files=[("file", ("a.png", image_bytes())), ("file", ("b.png", image_bytes()))])
    assert two.status_code == 400


def test_uploads_over_the_cap_are_refused_however_they_are_sent(small_cap_sandbox):
    api = Api(small_cap_sandbox.base_url)
    small, big = image_bytes(size=(16, 16)), image_bytes(size=(48, 48), noise=True)
    assert len(small) < 4096 < len(big) < 4096 + 8192
    assert upload(api, small).status_code == 200
    refused = upload(api, big)  # within the form's room: parsed, then measured
    assert refused.status_code == 400 and "too large" in refused.json()["error"]
    huge = image_bytes(size=(200, 200), noise=True)  # Content-Length past the cap: refused unread
    assert upload(api, huge).status_code == 400
    # Chunked (no Content-Length): the capped stream stops reading past the limit.
    boundary = "sandboxboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode() + huge + f"\r\n--{boundary}--\r\n".encode()
    chunks = (body[i:i + 8192] for i in range(0, len(body), 8192))
    chunked = api.request("POST", "/assets", data=chunks,
                          headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert chunked.status_code == 400 and "too large" in chunked.json()["error"]


def test_past_the_per_token_bound_the_oldest_asset_goes_with_its_file(small_cap_sandbox):
    api = Api(small_cap_sandbox.base_url)
    assets = [uploaded(api, image_bytes(size=(8, 8), color=(i, 0, 0))) for i in range(4)]
    listed = api.get("/assets").json()["items"]
    assert [a["id"] for a in listed] == [a["id"] for a in reversed(assets[1:])]
    assert api.get(f"/assets/{assets[0]['id']}").status_code == 404
    assert api.session.get(assets[0]["image_url"]).status_code == 404


# ------------------------------------------------------------------------------------ list, get, delete


def test_list_is_newest_first_and_pages_with_cursor(api):
    ids = [uploaded(api, image_bytes(size=(8, 8), color=(i * 20, 0, 0)))["id"] for i in range(5)]
    page = api.get("/assets", params={"limit": 2}).json()
    assert set(page) == {"items", "next_cursor"}
    seen = [a["id"] for a in page["items"]]
    while page["next_cursor"]:
        page = api.get("/assets", params={"limit": 2, "cursor": page["next_cursor"]}).json()
        seen += [a["id"] for a in page["items"]]
    assert seen == ids[::-1]
    everything = api.get("/assets").json()
    assert [a["id"] for a in everything["items"]] == ids[::-1] and everything["next_cursor"] is None


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 1001}, {"limit": "ten"}, {"cursor": "yesterday"}])
def test_bad_list_queries_are_400(api, query):
    response = api.get("/assets", params=query)
    assert response.status_code == 400 and "error" in response.json()


def test_assets_are_per_token_and_delete_answers_success(api):
    asset = uploaded(api)
    stranger = other_token(api)
    assert api.get(f"/assets/{asset['id']}").json() == asset
    assert stranger.get(f"/assets/{asset['id']}").status_code == 404
    assert stranger.delete(f"/assets/{asset['id']}").status_code == 404
    assert stranger.get("/assets").json() == {"items": [], "next_cursor": None}
    assert api.get("/assets/not-an-asset").status_code == 404
    deleted = api.delete(f"/assets/{asset['id']}")
    assert deleted.status_code == 200
    assert deleted.json()["success"] is True and isinstance(deleted.json()["message"], str)
    assert api.get(f"/assets/{asset['id']}").status_code == 404
    assert api.delete(f"/assets/{asset['id']}").status_code == 404
    assert api.session.get(asset["image_url"]).status_code == 404


def test_asset_routes_need_a_token(sandbox):
    anonymous = Api(sandbox.base_url, token=None)
    for method, path in (("GET", "/assets"), ("GET", "/assets/x"), ("DELETE", "/assets/x"), ("POST", "/assets"),
                         ("GET", "/styles"), ("GET", "/styles/x")):
        assert anonymous.request(method, path).status_code == 401, (method, path)


def test_asset_files_are_deleted_when_the_sandbox_stops():
    server = SandboxServer(FAST).start()
    try:
        uploaded(Api(server.base_url))
        folder = server.engine.assets.folder
        assert any(folder.rglob("asset.png"))
    finally:
        server.stop()
    assert not folder.exists()


# ------------------------------------------------------------------------------------------------- styles


def test_styles_list_in_krea_shape_with_covers(api):
    listing = api.get("/styles").json()
    assert set(listing) == {"items", "next_cursor"} and listing["next_cursor"] is None
    assert len(listing["items"]) >= 3
    for style in listing["items"]:
        assert STYLE_REQUIRED <= set(style)
        assert style["owner"] is None and style["public"] is True and style["title"]
    first = listing["items"][0]
    assert api.get(f"/styles/{first['id']}").json() == first
    cover = api.session.get(first["cover_url"])
    assert cover.status_code == 200 and cover.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(cover.content)).size == (192, 256)


def test_styles_page_and_filter(api):
    everything = [s["id"] for s in api.get("/styles").json()["items"]]
    page = api.get("/styles", params={"limit": 2}).json()
    seen = [s["id"] for s in page["items"]]
    while page["next_cursor"]:
        page = api.get("/styles", params={"limit": 2, "cursor": page["next_cursor"]}).json()
        seen += [s["id"] for s in page["items"]]
    assert seen == everything
    assert api.get("/styles", params={"filter": "user"}).json()["items"] == []
    assert [s["id"] for s in api.get("/styles", params={"ids": everything[1]}).json()["items"]] == everything[1:2]
    assert api.get("/styles", params={"filter": "mine"}).status_code == 400
    assert api.get("/styles/not-a-style").status_code == 404


def test_style_training_and_sharing_are_not_implemented(api):
    for method, path in (("POST", "/styles/train"), ("PATCH", "/styles/abc"), ("POST", "/styles/abc/share/link"),
                         ("PUT", "/styles")):
        response = api.request(method, path)
        assert response.status_code == 404
        assert response.json()["error"].startswith(f"The sandbox does not implement {method} {path}")
