"""Final PNGs carry their recipe in text chunks, spliced into the downloaded bytes without a re-encode."""

import io

from PIL import Image, PngImagePlugin

from playground.outputs import png_metadata, save_final_png


def png_bytes(**text) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in text.items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


META = png_metadata(prompt="un renard roux, 日本語, a broken \ud800 emoji", model_id="bfl/flux-1-dev",
                    params={"prompt": "x", "seed": 7}, seed=7, job_id="job-1", backend="sandbox")


def test_the_recipe_is_spliced_into_the_png_and_the_pixels_are_untouched(tmp_path):
    original = png_bytes()
    path, size = save_final_png(original, tmp_path, META)
    image = Image.open(path)
    assert size == (64, 48) and image.text["model"] == "bfl/flux-1-dev" and image.text["seed"] == "7"
    assert image.text["prompt"].startswith("un renard roux, 日本語")
    assert image.tobytes() == Image.open(io.BytesIO(original)).tobytes()


def test_a_providers_own_chunk_under_our_keyword_does_not_hide_ours(tmp_path):
    path, _ = save_final_png(png_bytes(prompt='{"comfy": 1}', Software="provider", other="kept"), tmp_path, META)
    text = Image.open(path).text
    assert text["prompt"].startswith("un renard roux") and text["Software"] == "krea-playground"
    assert text["other"] == "kept"


def test_a_jpeg_from_a_cdn_becomes_a_png_with_the_recipe(tmp_path):
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "red").save(buffer, "JPEG")
    path, size = save_final_png(buffer.getvalue(), tmp_path, META)
    assert Image.open(path).format == "PNG" and size == (32, 32) and Image.open(path).text["job_id"] == "job-1"


def test_saved_file_names_carry_an_unguessable_part(tmp_path):
    from io import BytesIO

    from PIL import Image

    from playground.outputs import png_metadata, save_final_png

    buffer = BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="PNG")
    meta = png_metadata(prompt="p", model_id="bfl/flux-1-dev", params={}, seed=1, job_id="same-job", backend="x")
    first, _ = save_final_png(buffer.getvalue(), tmp_path, meta)
    second, _ = save_final_png(buffer.getvalue(), tmp_path, meta)
    assert first != second  # same time, model, seed and job: still two addresses nobody can guess
    assert len(first.stem.rsplit("_", 1)[-1]) == 16


def test_a_small_jpeg_preview_is_stored_as_it_came_and_anything_else_becomes_a_small_jpeg():
    from playground.outputs import save_preview

    small = io.BytesIO()
    Image.new("RGB", (384, 256), "navy").save(small, "JPEG", quality=75)
    assert open(save_preview(small.getvalue(), "job-pass", 1), "rb").read() == small.getvalue()  # no re-encode
    for name, size, kind in (("job-big", (1024, 768), "JPEG"), ("job-png", (300, 200), "PNG")):
        buffer = io.BytesIO()
        Image.new("RGB", size, "olive").save(buffer, kind)
        with Image.open(save_preview(buffer.getvalue(), name, 1)) as stored:
            assert stored.format == "JPEG" and max(stored.size) <= 512
