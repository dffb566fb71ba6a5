"""Writing finished images to disk as PNGs that carry their own recipe.

The parameters travel inside the file (PNG text chunks), so a downloaded image can always be traced back to the
prompt, model, seed and job that made it, on any machine.

A PNG from the API is never decoded: the text chunks are spliced into its bytes right after the header chunk
(IHDR), which costs microseconds instead of a decode and re-encode of tens of milliseconds. Only another format
(JPEG, WebP from a CDN) is converted to PNG, once.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import struct
import tempfile
import zlib
from datetime import datetime, timezone
from pathlib import Path

from PIL import Image

SOFTWARE = "krea-playground"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _slug(text: str, limit: int = 32) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit] or "image"


def png_metadata(*, prompt: str, model_id: str, params: dict, seed: int | None, job_id: str, backend: str) -> dict:
    """The text chunks written into every final PNG (also shown back to the user)."""
    return {
        "prompt": prompt,
        "model": model_id,
        "params": json.dumps(params, sort_keys=True, ensure_ascii=False),
        "seed": "" if seed is None else str(seed),
        "job_id": job_id,
        "backend": backend,
        "Software": SOFTWARE,
    }


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def text_chunk(key: str, value: str) -> bytes:
    """tEXt for Latin-1 text, iTXt (UTF-8) otherwise: what Pillow's PngInfo writes, readable by any PNG tool."""
    keyword = key.encode("latin-1")[:79]
    value = value.replace("\0", "")  # no text chunk may hold a NUL
    try:
        return _chunk(b"tEXt", keyword + b"\0" + value.encode("latin-1"))
    except UnicodeEncodeError:
        # keyword, null, compression flag 0, method 0, empty language tag, null, empty translated keyword, null
        return _chunk(b"iTXt", keyword + b"\0\0\0\0\0" + value.encode("utf-8", errors="replace"))


def png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR, or None if `data` is not a PNG."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _chunks(png: bytes, start: int):
    """(start, end, type, keyword) of each chunk from `start` on; keyword only for text chunks."""
    pos = start
    while pos + 12 <= len(png):
        length = struct.unpack(">I", png[pos:pos + 4])[0]
        kind = png[pos + 4:pos + 8]
        end = pos + 12 + length
        keyword = png[pos + 8:end - 4].split(b"\0", 1)[0] if kind in TEXT_CHUNKS else None
        yield pos, end, kind, keyword
        pos = end


TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")


def with_text_chunks(png: bytes, metadata: dict[str, str]) -> bytes:
    """The same PNG with `metadata` as text chunks after IHDR (the first chunk: 8 + 4 + 4 + 13 + 4 bytes).

    Text chunks the file already has under one of our keywords are dropped: readers keep the last value of a
    keyword, so a provider's own "prompt" chunk would otherwise hide ours."""
    ihdr_end = len(PNG_SIGNATURE) + 25
    ours = {key.encode("latin-1", errors="replace")[:79] for key in metadata}
    rest = [png[a:b] for a, b, _kind, keyword in _chunks(png, ihdr_end) if keyword not in ours]
    chunks = b"".join(text_chunk(k, v) for k, v in metadata.items())
    return png[:ihdr_end] + chunks + b"".join(rest)


def _as_png(data: bytes) -> tuple[bytes, tuple[int, int]]:
    """Bytes of a PNG and its size: PNGs as they are, anything else converted once."""
    size = png_size(data)
    if size is not None:
        return data, size
    image = Image.open(io.BytesIO(data))
    image.load()
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=4)  # level 4: ~3x faster than 9, ~5% larger
    return buffer.getvalue(), image.size


def save_final_png(data: bytes, output_dir: Path, metadata: dict[str, str]) -> tuple[Path, tuple[int, int]]:
    """Write the downloaded image as a PNG carrying `metadata`; return its path and size."""
    png, size = _as_png(data)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    model_part = _slug(metadata.get("model", "").split("/")[-1])
    # The random part makes the file's address unguessable: the page serves it by path, and on a shared app
    # nobody should fetch another visitor's image by guessing a time, a model and a seed.
    name = (f"{stamp}_{model_part}_{metadata.get('seed') or 'noseed'}_{_slug(metadata.get('job_id', ''), 8)}_"
            f"{secrets.token_hex(8)}.png")
    day_dir = output_dir / stamp[:8]
    day_dir.mkdir(parents=True, exist_ok=True)
    path = day_dir / name
    path.write_bytes(with_text_chunks(png, metadata))
    return path, size


PREVIEW_DIR = Path(tempfile.gettempdir()) / "krea-playground-previews"


def save_preview(data: bytes, job_id: str, index: int, max_side: int = 512) -> str:
    """A small JPEG copy of a preview frame, as a file: the UI can send the same path on every update and the
    browser only fetches it once. Previews live in the temp dir, apart from the finished images."""
    image = Image.open(io.BytesIO(data))
    image.draft("RGB", (max_side, max_side))  # JPEG previews decode at reduced size directly
    image.load()
    image = image.convert("RGB")
    image.thumbnail((max_side, max_side))
    PREVIEW_DIR.mkdir(parents=True, exist_ok=True)
    path = PREVIEW_DIR / f"{_slug(job_id, 64)}-{index}.jpg"
    image.save(path, format="JPEG", quality=85)
    return str(path)
