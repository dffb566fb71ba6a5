"""``/assets`` against a server that speaks Krea's protocol: the sandbox always, the real API when opted in.

Upload (PNG, JPEG, WebP) answers the spec's shape; the list is newest first and pages with ``limit`` and
``next_cursor``; get answers the asset; delete removes it (then get is 404); a file that is not an image, or one
over the size cap, is refused with 400; another token's asset is 404.

Live runs upload a few small pictures and delete every one of them at the end of each test, whatever happens.
Two cases need more than ``KREA_API_TOKEN`` + ``KREA_LIVE_TESTS=1`` on the live API:

* the oversize file: ``KREA_LIVE_BIG_UPLOADS=1`` (it sends 75 MB + 1 byte); the sandbox uses its constructor cap;
* another token's asset: ``KREA_LIVE_OTHER_TOKEN``, a token of another workspace (the sandbox just uses a second
  token).
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
from PIL import Image

from playground.catalog import load_catalog
from playground.krea import KreaClient
from playground.krea.assets import Asset
from playground.krea.errors import BadRequest, NotFound
from playground.sandbox import JobEngine, SandboxServer
from playground.settings import token_from_env
from tests.contract.conftest import (
    FAST_SANDBOX,
    SANDBOX_TOKEN,
    Backend,
    live_client_settings,
    sandbox_client_settings,
)

KREA_MAX_ASSET_BYTES = 75 * 1024 * 1024  # "Maximum file size: 75MB" [C SPEC POST /assets]
SANDBOX_CAP = 16 * 1024  # the capped sandbox's max_asset_bytes (its constructor argument)
BIG_UPLOADS_ENV = "KREA_LIVE_BIG_UPLOADS"
OTHER_TOKEN_ENV = "KREA_LIVE_OTHER_TOKEN"
SHAPE = {"id", "image_url", "uploaded_at", "width", "height", "size_bytes", "mime_type"}  # required [C SPEC]
FORMATS = [("PNG", "image/png", "card.png"), ("JPEG", "image/jpeg", "card.jpg"), ("WEBP", "image/webp", "card.webp")]


def picture(fmt: str = "PNG", size: tuple[int, int] = (72, 48), seed: int = 0, noise: bool = False) -> bytes:
    """A small picture that differs per ``seed`` (so no server can deduplicate two uploads)."""
    if noise:  # incompressible: about 3 bytes a pixel
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, (40 + seed * 37 % 200, 90, 160))
        image.putpixel((seed % size[0], 0), (255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


class Uploads:
    """Uploads made through it are deleted when the test ends (live runs must leave nothing behind)."""

    def __init__(self, backend: Backend):
        self.backend = backend
        self.made: list[tuple[str | None, str]] = []  # (token; None = the backend's own, asset id)

    def __call__(self, data: bytes, filename: str = "card.png", mime_type: str = "image/png",
                 description: str | None = None, client: KreaClient | None = None,
                 token: str | None = None) -> Asset:
        asset = (client or self.backend.client).upload_asset(data, filename, mime_type, description)
        self.made.append((token, asset.id))
        return asset

    def clean_up(self) -> None:
        for token, asset_id in self.made:
            client = self.backend.client if token is None else self.backend.new_client(token)
            try:
                client.delete_asset(asset_id)
            except NotFound:
                pass  # the test deleted it already
            finally:
                if token is not None:
                    client.close()


@pytest.fixture
def uploads(backend: Backend) -> Iterator[Uploads]:
    made = Uploads(backend)
    try:
        yield made
    finally:
        made.clean_up()


@pytest.fixture
def own_token(backend: Backend) -> str | None:
    """On the sandbox a fresh token (an asset list of its own, so exact assertions hold); live: the one token."""
    return f"assets-{uuid.uuid4().hex}" if backend.is_sandbox else None


def listed(client: KreaClient, wanted: set[str], limit: int, max_pages: int = 20) -> tuple[list[str], list]:
    """Walk GET /assets from the newest until every wanted id was seen: the ids in order, and the pages."""
    ids: list[str] = []
    pages = []
    cursor = None
    for _ in range(max_pages):
        page = client.list_assets(limit=limit, cursor=cursor)
        pages.append(page)
        ids += [a.id for a in page.items]
        cursor = page.next_cursor
        if cursor is None or wanted <= set(ids):
            break
    return ids, pages


def same_or_unknown(value, expected) -> bool:
    """The spec lets width, height, size_bytes and mime_type be null; when given they must be right."""
    return value is None or value == expected


# --- upload -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt, mime_type, filename", FORMATS, ids=[f[0] for f in FORMATS])
def test_upload_answers_the_spec_shape(backend: Backend, uploads: Uploads, fmt, mime_type, filename):
    data = picture(fmt, (72, 48), seed=len(uploads.made))
    asset = uploads(data, filename, mime_type, description="contract test upload")
    assert SHAPE <= set(asset.raw), sorted(asset.raw)
    assert uuid.UUID(asset.id) and asset.uploaded_at is not None
    assert urlsplit(asset.image_url).scheme in ("http", "https") and urlsplit(asset.image_url).netloc
    if backend.is_sandbox:
        assert (asset.width, asset.height, asset.size_bytes, asset.mime_type) == (72, 48, len(data), mime_type)
        assert asset.description == "contract test upload"
    else:
        assert same_or_unknown(asset.width, 72) and same_or_unknown(asset.height, 48)
        assert same_or_unknown(asset.size_bytes, len(data)) and same_or_unknown(asset.mime_type, mime_type)
    if backend.is_sandbox or urlsplit(asset.image_url).hostname.endswith("krea.ai"):
        served = Image.open(io.BytesIO(backend.client.download_image(asset.image_url)))
        assert served.size == (72, 48)


# --- list, get, delete --------------------------------------------------------------------------------------


def test_list_is_newest_first_and_pages_with_next_cursor(backend: Backend, uploads: Uploads, own_token):
    with backend.new_client(own_token) as client:
        ids = [uploads(picture(seed=i), client=client, token=own_token).id for i in range(3)]
        seen, pages = listed(client, set(ids), limit=2)
        assert len(seen) == len(set(seen))  # no asset twice across pages
        mine = [i for i in seen if i in ids]
        assert mine == ids[::-1]  # newest first
        assert all(len(page.items) <= 2 for page in pages)
        assert all(page.next_cursor for page in pages[:-1])  # every page but the last says where to go on
        if backend.is_sandbox:  # a token of its own: exactly these three
            assert seen == ids[::-1] and [len(p.items) for p in pages] == [2, 1]
            assert pages[-1].next_cursor is None
            assert [a.id for a in client.list_assets(limit=1).items] == ids[-1:]
            assert [a.id for a in client.iter_assets(limit=2)] == ids[::-1]


def test_get_answers_the_asset(backend: Backend, uploads: Uploads):
    asset = uploads(picture("JPEG", seed=7), "card.jpg", "image/jpeg")
    again = backend.client.get_asset(asset.id)
    assert (again.id, again.image_url, again.width, again.height, again.mime_type) == \
           (asset.id, asset.image_url, asset.width, asset.height, asset.mime_type)
    if backend.is_sandbox:
        assert again.raw == asset.raw


def test_delete_then_get_is_404(backend: Backend, uploads: Uploads):
    asset = uploads(picture(seed=11))
    assert backend.client.delete_asset(asset.id) is True
    with pytest.raises(NotFound):
        backend.client.get_asset(asset.id)
    with pytest.raises(NotFound):
        backend.client.delete_asset(asset.id)
    assert asset.id not in {a.id for a in backend.client.list_assets(limit=20).items}
    if backend.is_sandbox:  # a CDN may keep serving the file a while; the sandbox drops it at once
        with requests.Session() as session:
            session.trust_env = False  # loopback: never through a proxy from the environment
            assert session.get(asset.image_url, timeout=10).status_code == 404


def test_an_unknown_asset_is_404(client: KreaClient):
    with pytest.raises(NotFound):
        client.get_asset(str(uuid.uuid4()))


# --- refusals -----------------------------------------------------------------------------------------------


def test_a_file_that_is_not_an_image_is_refused(backend: Backend, uploads: Uploads):
    before = {a.id for a in backend.client.list_assets(limit=5).items}
    with pytest.raises(BadRequest) as info:
        uploads(b"these are notes, not a picture\n" * 8, "notes.txt", "text/plain")
    assert info.value.status == 400
    assert {a.id for a in backend.client.list_assets(limit=5).items} == before  # nothing was kept


@pytest.fixture(scope="module")
def capped_sandbox() -> Iterator[SandboxServer]:
    """A sandbox whose assets may be at most SANDBOX_CAP bytes (JobEngine's max_asset_bytes)."""
    engine = JobEngine(FAST_SANDBOX, load_catalog(), max_asset_bytes=SANDBOX_CAP)
    with SandboxServer(FAST_SANDBOX, engine=engine) as server:
        yield server


def _live_oversize(backend: Backend) -> None:
    if os.environ.get(BIG_UPLOADS_ENV) != "1":
        pytest.skip(f"sends 75 MB to Krea: set {BIG_UPLOADS_ENV}=1 to allow the bandwidth")
    # The client refuses such a file before sending it, so this goes out as a plain multipart POST.
    data = picture() + b"\0" * (KREA_MAX_ASSET_BYTES + 1 - len(picture()))
    settings = live_client_settings()
    response = requests.post(f"{settings.base_url}/assets", headers={"Authorization": f"Bearer {token_from_env()}"},
                             files={"file": ("big.png", data, "image/png")}, timeout=(10, 600))
    if response.status_code == 200:  # accepted after all: do not leave 75 MB in the account
        backend.client.delete_asset(response.json()["id"])
    # The spec's answer is 400 "Invalid file type or size"; a proxy in front may say 413 before Krea reads it.
    assert response.status_code in (400, 413), response.text[:300]


def test_a_file_over_the_size_cap_is_refused(backend: Backend, request: pytest.FixtureRequest):
    if not backend.is_sandbox:
        _live_oversize(backend)
        return
    server: SandboxServer = request.getfixturevalue("capped_sandbox")
    small, big = picture(size=(16, 16)), picture(size=(96, 96), noise=True)
    assert len(small) < SANDBOX_CAP < len(big) < KREA_MAX_ASSET_BYTES  # the client sends it: only the cap refuses
    with KreaClient(SANDBOX_TOKEN, sandbox_client_settings(server.base_url)) as client:
        kept = client.upload_asset(small, "small.png", "image/png")
        with pytest.raises(BadRequest) as info:
            client.upload_asset(big, "big.png", "image/png")
        assert info.value.status == 400 and "too large" in str(info.value)
        assert [a.id for a in client.list_assets().items] == [kept.id]


def _other_client(backend: Backend) -> KreaClient:
    if backend.is_sandbox:
        return backend.new_client(f"someone-else-{uuid.uuid4().hex[:8]}")
    other = os.environ.get(OTHER_TOKEN_ENV)
    if not other:
        pytest.skip(f"needs a token of another workspace in {OTHER_TOKEN_ENV}")
    return KreaClient(other, live_client_settings())


def test_another_tokens_asset_is_404(backend: Backend, uploads: Uploads):
    asset = uploads(picture(seed=23))
    with _other_client(backend) as stranger:
        with pytest.raises(NotFound):
            stranger.get_asset(asset.id)
        with pytest.raises(NotFound):
            stranger.delete_asset(asset.id)
        assert asset.id not in {a.id for a in stranger.list_assets(limit=20).items}
    assert backend.client.get_asset(asset.id).id == asset.id  # still there for its owner

