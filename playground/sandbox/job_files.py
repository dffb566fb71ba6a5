"""The files a sandbox job publishes: the final PNG and its preview JPEGs, as bytes.

CPU per job is what bounds how many runs one machine serves in sandbox mode, so both are made cheaply: the PNG
with the fast encoder of :mod:`.png` (Pillow at its default level 6 was two thirds of a job's CPU), the previews
small (at most 384 px) as JPEG at quality 75, all frames from one downscale and one noise field.

Renders are not cached: a run draws a new seed unless the user fixes one, so a cache keyed by the request would
hold megabytes for hits that rarely come.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

from .png import encode_png

FINAL_NAME = "image.png"
PREVIEW_QUALITY = 75  # previews are glimpses, shown for a second or two

# render_image(model_id, prompt, seed, width, height[, references=...]) -> PIL image (references are passed
# only when a job has some, so a renderer without image inputs need not take them);
# render_previews(final, progresses, seed) -> one PIL image per progress
Renderer = tuple[Callable, Callable]


def preview_name(index: int) -> str:
    return f"preview-{index}.jpg"


def _default_renderer() -> Renderer:
    from .renderer import render_image, render_previews

    return render_image, render_previews


def render_files(model_id: str, prompt: str, seed: int, width: int, height: int, preview_frames: int,
                 renderer: Renderer | None = None, references: Sequence = ()) -> dict[str, bytes]:
    """{file name: bytes} of one job: the final PNG, then preview-1.jpg .. preview-N.jpg (N = preview_frames).
    ``references``: the job's image inputs (:class:`.restyle.Reference`), named in the PNG's text."""
    render_image, render_previews = renderer or _default_renderer()
    if references:
        final = render_image(model_id, prompt, seed, width, height, references=references)
    else:
        final = render_image(model_id, prompt, seed, width, height)
    text = {"sandbox": "true", "model": model_id, "seed": str(seed)}
    if references:
        text["references"] = ", ".join(r.field for r in references)
    files = {FINAL_NAME: encode_png(final, text)}
    progresses = [index / (preview_frames + 1) for index in range(1, preview_frames + 1)]
    for index, preview in enumerate(render_previews(final, progresses, seed) if progresses else (), 1):
        buffer = io.BytesIO()
        preview.convert("RGB").save(buffer, format="JPEG", quality=PREVIEW_QUALITY)
        files[preview_name(index)] = buffer.getvalue()
    return files
