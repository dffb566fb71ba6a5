"""The recipe is spliced into the PNG the sandbox sent, over real HTTP: pixels and chunks untouched, text readable
back (non-Latin-1 text too), and a PNG that is cut short or damaged refused before anything is written."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from playground.krea import KreaClient
from playground.outputs import BadPng, check_png, png_metadata, save_final_png
from playground.recipes import Recipe, recipe_from_png
from playground.sandbox import SandboxServer
from playground.settings import ClientSettings, PollPolicy, SandboxSettings

MODEL = "bfl/flux-1-dev"
BODY = {"prompt": "a lighthouse at dusk", "width": 640, "height": 512, "seed": 11, "steps": 20}


@pytest.fixture(scope="module")
def downloaded() -> bytes:
    """A final PNG as the app receives it: submitted, followed and downloaded from a real sandbox."""
    with SandboxServer(SandboxSettings(speed=0.002, min_job_seconds=0.05)) as sandbox:
        settings = ClientSettings(base_url=sandbox.base_url, download_host_suffixes=(),
                                  poll=PollPolicy(initial_interval=0.02, max_interval=0.05, deadline=20))
        with KreaClient("png-tests", settings) as client:
            job = client.submit_job(MODEL, BODY)
            final = list(client.poll_job(job.job_id))[-1]
            assert final.status == "completed", final.raw
            return client.download_image(final.urls[0])


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, whole chunk bytes) of every chunk, checking each CRC on the way."""
    found, pos = [], 8
    while pos < len(png):
        length = struct.unpack(">I", png[pos:pos + 4])[0]
        whole = png[pos:pos + 12 + length]
        assert struct.unpack(">I", whole[-4:])[0] == zlib.crc32(whole[4:-4]), whole[4:8]
        found.append((whole[4:8], whole))
        pos += 12 + length
    return found


def meta(prompt: str = BODY["prompt"]) -> dict[str, str]:
    return png_metadata(prompt=prompt, model_id=MODEL, params={**BODY, "prompt": prompt}, seed=11, job_id="job-7",
                        backend="sandbox")


def test_the_spliced_png_has_the_same_pixels_and_every_image_chunk_byte_for_byte(downloaded, tmp_path):
    path, size = save_final_png(downloaded, tmp_path, meta())
    saved = path.read_bytes()
    assert size == (640, 512) == check_png(saved)
    with Image.open(path) as image, Image.open(io.BytesIO(downloaded)) as original:
        assert image.size == original.size and image.tobytes() == original.tobytes()
        assert image.text["model"] == MODEL and image.text["seed"] == "11" and image.text["job_id"] == "job-7"
        assert image.text["sandbox"] == "true"  # the sandbox's own chunk, under a keyword that is not ours, stays
    before = [whole for kind, whole in chunks(downloaded) if kind not in (b"tEXt", b"iTXt", b"zTXt")]
    after = chunks(saved)
    assert [whole for kind, whole in after if kind not in (b"tEXt", b"iTXt", b"zTXt")] == before
    assert after[0][0] == b"IHDR" and {kind for kind, _ in after[1:len(meta()) + 1]} == {b"tEXt"}
    Image.open(path).verify()  # Pillow's own CRC and structure check


def test_the_recipe_reads_back_from_the_spliced_file(downloaded, tmp_path):
    path, _ = save_final_png(downloaded, tmp_path, meta())
    params = {k: v for k, v in BODY.items() if k not in ("prompt", "seed")}
    assert recipe_from_png(path) == Recipe(MODEL, BODY["prompt"], params, 11)


def test_text_beyond_latin_1_travels_as_itxt_and_round_trips(downloaded, tmp_path):
    prompt = "狐が灯台の下で眠る 🦊, «café» — Ωmega"
    path, _ = save_final_png(downloaded, tmp_path, meta(prompt))
    kinds = {whole[8:].split(b"\0", 1)[0]: kind for kind, whole in chunks(path.read_bytes())
             if kind in (b"tEXt", b"iTXt")}
    assert kinds[b"prompt"] == b"iTXt" and kinds[b"params"] == b"iTXt" and kinds[b"model"] == b"tEXt"
    assert recipe_from_png(path).prompt == prompt
    latin = save_final_png(downloaded, tmp_path, meta("un café crème"))[0]
    assert recipe_from_png(latin).prompt == "un café crème"  # Latin-1 stays in plain tEXt
    Image.open(path).verify()


def cut_in_idat(png: bytes) -> bytes:
    return png[:png.index(b"IDAT") + 100]


def flip_a_pixel_byte(png: bytes) -> bytes:
    at = png.index(b"IDAT") + 50
    return png[:at] + bytes([png[at] ^ 0xFF]) + png[at + 1:]


def damage_ihdr(png: bytes) -> bytes:
    return png[:20] + b"\x00\x00\x09\x99" + png[24:]  # the height, without fixing IHDR's CRC


@pytest.mark.parametrize("damage", [
    cut_in_idat,
    lambda png: png[:-12],  # no IEND
    lambda png: png[:-3],  # IEND cut
    flip_a_pixel_byte,
    damage_ihdr,
    lambda png: png[:30],
], ids=["cut-in-idat", "no-iend", "iend-cut", "flipped-byte", "damaged-ihdr", "header-only"])
def test_a_png_cut_short_or_damaged_is_refused_and_nothing_is_written(downloaded, tmp_path, damage):
    with pytest.raises(BadPng) as refused:
        save_final_png(damage(downloaded), tmp_path, meta())
    assert isinstance(refused.value, OSError)  # what a failed Pillow decode raised: callers handle it the same
    assert list(tmp_path.rglob("*.png")) == []


def test_bytes_that_are_no_image_at_all_are_refused_as_before(tmp_path):
    with pytest.raises(OSError):  # Pillow's UnidentifiedImageError, as before the splice
        save_final_png(b"<html>Service Unavailable</html>", tmp_path, meta())
    assert list(tmp_path.rglob("*.png")) == []
