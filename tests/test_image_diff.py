"""The diff of two result images: numbers, heatmap, guards, inlined pictures, and the HTML block."""

import base64
import math
import re

import numpy as np
import pytest
from PIL import Image

from playground import image_diff
from playground.image_diff import difference, to_data_uri
from playground.ui.diff_view import DIFF_CSS, DIFF_JS, diff_placeholder_html, diff_view_html, stats_line


def save(tmp_path, name, array):
    path = tmp_path / name
    Image.fromarray(np.asarray(array, dtype=np.uint8), "RGB").save(path)
    return path


def gradient(width=64, height=48):
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // max(1, width - 1), y * 255 // max(1, height - 1), (x + y) % 256], axis=-1)


def noisy(size=1024, seed=0, sigma=12.0):
    y, x = np.mgrid[0:size, 0:size]
    base = np.stack([x / 4, y / 4, (x + y) / 8], axis=-1)
    return np.clip(base + np.random.default_rng(seed).normal(0, sigma, base.shape), 0, 255).astype(np.uint8)


def decode(uri):
    head, data = uri.split(",", 1)
    return head, base64.b64decode(data)


def test_identical_images_are_identical(tmp_path):
    a = save(tmp_path, "a.png", gradient())
    b = save(tmp_path, "b.png", gradient())
    result = difference(a, b)
    assert result.identical
    assert result.mean_abs == 0 and result.changed_pct == 0
    assert math.isinf(result.psnr_db)
    assert result.note == ""
    assert "PSNR ∞" in stats_line(result)


def test_one_changed_pixel_gives_its_share(tmp_path):
    pixels = np.full((10, 20, 3), 100, dtype=np.uint8)
    changed = pixels.copy()
    changed[3, 7] = (200, 100, 100)
    result = difference(save(tmp_path, "a.png", pixels), save(tmp_path, "b.png", changed))
    assert not result.identical
    assert result.changed_pct == pytest.approx(100 / 200)
    assert result.mean_abs == pytest.approx(100 / 600)
    assert result.psnr_db == pytest.approx(10 * math.log10(255**2 / (100**2 / 600)))


def test_changes_below_the_threshold_do_not_count_as_differing(tmp_path):
    pixels = np.full((10, 10, 3), 100, dtype=np.uint8)
    result = difference(save(tmp_path, "a.png", pixels), save(tmp_path, "b.png", pixels + image_diff.CHANGED_THRESHOLD))
    assert result.changed_pct == 0 and result.mean_abs == image_diff.CHANGED_THRESHOLD


def test_different_sizes_scale_b_and_say_so(tmp_path):
    a = save(tmp_path, "a.png", gradient(64, 64))
    b = save(tmp_path, "b.png", gradient(48, 64))
    result = difference(a, b)
    assert result.size == (64, 64) and result.image_b.size == (64, 64) and result.heatmap.size == (64, 64)
    assert result.note == "B was 48×64, scaled to 64×64 to compare."
    assert not result.identical
    assert 0 < result.mean_abs < 255 and result.psnr_db > 0


def test_heatmap_is_black_where_identical_and_bright_where_different(tmp_path):
    pixels = np.full((20, 20, 3), 30, dtype=np.uint8)
    changed = pixels.copy()
    changed[:, 10:] = 255 - changed[:, 10:]
    heat = np.asarray(difference(save(tmp_path, "a.png", pixels), save(tmp_path, "b.png", changed)).heatmap)
    assert (heat[:, :10] == 0).all()
    assert heat[:, 10:].mean(axis=2).min() > 120
    # A larger difference is brighter than a smaller one.
    small = pixels.copy()
    small[:, 10:] += 20
    heat_small = np.asarray(difference(save(tmp_path, "a2.png", pixels), save(tmp_path, "c.png", small)).heatmap)
    assert heat_small[:, 10:].sum() < heat[:, 10:].sum()


def test_oversize_images_are_refused_before_decoding(tmp_path, monkeypatch):
    a = save(tmp_path, "a.png", gradient(64, 64))
    monkeypatch.setattr(image_diff, "MAX_PIXELS", 1000)
    with pytest.raises(ValueError, match="over the"):
        difference(a, a)


def test_a_real_decompression_bomb_is_refused(tmp_path):
    bomb = tmp_path / "bomb.png"
    Image.new("1", (10_000, 5_000)).save(bomb)  # 50 MP, a few kB on disk
    assert bomb.stat().st_size < 200_000
    small = save(tmp_path, "a.png", gradient())
    with pytest.raises(ValueError, match="10000×5000"):
        difference(small, bomb)


@pytest.mark.parametrize("content", [None, b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\0" * 40])
def test_unreadable_files_give_a_short_message(tmp_path, content):
    good = save(tmp_path, "a.png", gradient())
    bad = tmp_path / "b.png"
    if content is not None:
        bad.write_bytes(content)
    with pytest.raises(ValueError, match="Image B .*(run it again|pick another)"):
        difference(good, bad)


def test_data_uri_is_a_downscaled_jpeg(tmp_path):
    uri = to_data_uri(Image.fromarray(noisy(1024)).resize((2048, 1024)))
    head, data = decode(uri)
    assert head == "data:image/jpeg;base64"
    img = Image.open(__import__("io").BytesIO(data))
    assert img.format == "JPEG" and img.size == (1024, 512)


def test_data_uri_of_a_noisy_1024_picture_stays_small():
    image = Image.fromarray(noisy(1024))
    assert len(to_data_uri(image)) < 600_000  # JPEG q90
    pure_noise = Image.fromarray(np.random.default_rng(1).integers(0, 256, (1024, 1024, 3), dtype=np.uint8))
    _, data = decode(to_data_uri(pure_noise, max_bytes=250_000))
    assert len(data) <= 250_000


def test_png_data_uri():
    head, data = decode(to_data_uri(Image.new("RGB", (8, 8)), format="PNG"))
    assert head == "data:image/png;base64" and data.startswith(b"\x89PNG")


def test_view_of_two_noisy_1024_pictures_is_under_a_megabyte(tmp_path):
    html = diff_view_html(save(tmp_path, "a.png", noisy(seed=1)), save(tmp_path, "b.png", noisy(seed=2)), "A", "B")
    assert len(html) < 1_000_000
    assert html.count("data:image/jpeg;base64,") == 3  # A and B once each (wipe and side by side share them), heatmap


def test_view_escapes_labels_and_has_the_three_modes(tmp_path):
    a = save(tmp_path, "a.png", gradient())
    b = save(tmp_path, "b.png", gradient(32, 48))
    html = diff_view_html(a, b, "<script>alert(1)</script>", 'say "hi" & <b>')
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "say &quot;hi&quot; &amp; &lt;b&gt;" in html
    for mode, label in (("wipe", "Wipe"), ("side", "Side by side"), ("heatmap", "Heatmap")):
        assert f'data-mode="{mode}"' in html and f">{label}</button>" in html
    assert html.startswith('<div class="diff-view"')
    assert 'class="diff-wipe"' in html and 'aria-label="Wipe position"' in html
    assert "B was 32×48, scaled to 64×48 to compare." in html
    assert "of pixels differ" in html and "PSNR" in html
    assert "/gradio_api/file=" not in html and not re.search(r"(src=\"|url\()(?!data:)", html)  # all inlined


def test_unreadable_file_gives_the_placeholder_with_the_reason(tmp_path):
    html = diff_view_html(tmp_path / "gone.png", tmp_path / "gone.png", "a", "b")
    assert "diff-error" in html and "no longer on disk" in html


def test_placeholder_and_page_assets():
    assert "Pick two results to compare them here." in diff_placeholder_html()
    assert "&lt;x&gt;" in diff_placeholder_html("<x>")
    assert DIFF_JS.strip().startswith("() => {") and DIFF_JS.strip().endswith("}")
    assert ".diff-view" in DIFF_CSS and "var(--body-text-color)" in DIFF_CSS
    # Gradio scopes custom CSS rule by rule and keeps only style, @media, @keyframes and @font-face rules.
    assert set(re.findall(r"@([a-z-]+)", DIFF_CSS)) <= {"media", "keyframes", "font-face"}
    assert "http" not in DIFF_JS and "http" not in DIFF_CSS  # nothing fetched at run time
