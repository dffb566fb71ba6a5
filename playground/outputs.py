"""Writing finished images to disk as PNGs that carry their own recipe.

The parameters travel inside the file (PNG text chunks), so a downloaded image can always be traced back to the
prompt, model, seed and job that made it, on any machine.

A PNG from the API is never decoded: the text chunks are spliced into its bytes right after the header chunk
(IHDR), every other chunk kept byte for byte, which costs well under a millisecond where a decode and re-encode
cost ~90 ms a megapixel. Instead of a decode, a structural check (signature, IHDR, every chunk's length and CRC,
IEND) refuses a file cut short or damaged. Only another format (JPEG, WebP from a CDN) is converted to PNG, once.
Preview frames that are already small JPEGs are stored as they came.
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


TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")
IHDR_END = len(PNG_SIGNATURE) + 25  # IHDR is the first chunk: length 4 + type 4 + 13 bytes of data + CRC 4


class BadPng(OSError):
    """Bytes that claim to be a PNG but are not a whole one (cut short, a chunk's CRC wrong, no IEND).

    An OSError, like what Pillow raises for a file it cannot read: callers that handled a failed decode handle
    this the same way."""


def _chunks(png: bytes) -> list[tuple[int, int, bytes]]:
    """(start, end, type) of every chunk after IHDR, up to and including IEND; BadPng if the file is not whole.

    A structural check instead of a decode: each chunk must fit in the data and carry the right CRC (zlib's
    crc32 reads about a gigabyte a second: under a millisecond for a megapixel image), and IEND must come."""
    chunks, pos, view = [], IHDR_END, memoryview(png)
    while True:
        if pos + 12 > len(png):
            raise BadPng(f"the PNG is cut short: no IEND chunk in its {len(png)} bytes")
        length = struct.unpack(">I", png[pos:pos + 4])[0]
        end = pos + 12 + length
        if end > len(png):
            raise BadPng(f"the PNG is cut short: a chunk of {length} bytes at byte {pos} goes past its end")
        kind = png[pos + 4:pos + 8]
        if zlib.crc32(view[pos + 4:end - 4]) != struct.unpack(">I", png[end - 4:end])[0]:
            raise BadPng(f"the PNG is damaged: the CRC of its {kind.decode('latin-1')!r} chunk at byte {pos} is "
                         "wrong")
        chunks.append((pos, end, kind))
        if kind == b"IEND":
            return chunks
        pos = end


def _whole_png(png: bytes) -> tuple[tuple[int, int], list[tuple[int, int, bytes]]]:
    """The size (from IHDR) and the chunks after IHDR of a whole PNG; BadPng otherwise."""
    size = png_size(png)
    if size is None or len(png) < IHDR_END:
        raise BadPng("the data is not a PNG (no PNG signature followed by an IHDR chunk)")
    if struct.unpack(">I", png[8:12])[0] != 13 or zlib.crc32(png[12:29]) != struct.unpack(">I", png[29:33])[0]:
        raise BadPng("the PNG is damaged: its IHDR chunk is malformed")
    if 0 in size:
        raise BadPng(f"the PNG claims a size of {size[0]}x{size[1]}")
    return size, _chunks(png)


def check_png(png: bytes) -> tuple[int, int]:
    """(width, height) of a whole PNG, read from its header; BadPng otherwise. Never decodes the pixels."""
    return _whole_png(png)[0]


def _annotated(png: bytes, metadata: dict[str, str]) -> tuple[bytes, tuple[int, int]]:
    size, chunks = _whole_png(png)
    ours = {key.encode("latin-1", errors="replace")[:79] for key in metadata}
    view = memoryview(png)
    kept = [view[a:b] for a, b, kind in chunks
            if kind not in TEXT_CHUNKS or bytes(view[a + 8:b - 4]).split(b"\0", 1)[0] not in ours]
    texts = b"".join(text_chunk(k, v) for k, v in metadata.items())
    return b"".join([view[:IHDR_END], texts, *kept]), size


def with_text_chunks(png: bytes, metadata: dict[str, str]) -> bytes:
    """The same PNG with `metadata` as text chunks right after IHDR, every other chunk byte for byte as it was;
    BadPng if the PNG is not whole.

    Text chunks the file already has under one of our keywords are dropped: readers keep the last value of a
    keyword, so a provider's own "prompt" chunk would otherwise hide ours. Bytes after IEND are dropped too."""
    return _annotated(png, metadata)[0]


def _converted(data: bytes) -> bytes:
    """Another format (JPEG, WebP from a CDN) as a PNG: the one case that decodes and encodes."""
    image = Image.open(io.BytesIO(data))
    image.load()
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=4)  # level 4: ~3x faster than 9, ~5% larger
    return buffer.getvalue()


def save_final_png(data: bytes, output_dir: Path, metadata: dict[str, str]) -> tuple[Path, tuple[int, int]]:
    """Write the downloaded image as a PNG carrying `metadata`; return its path and size. A PNG that is not whole
    raises BadPng, anything Pillow cannot read its own OSError (both before a file is written)."""
    png, size = _annotated(data if data.startswith(PNG_SIGNATURE) else _converted(data), metadata)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    model_part = _slug(metadata.get("model", "").split("/")[-1])
    # The random part makes the file's address unguessable: the page serves it by path, and on a shared app
    # nobody should fetch another visitor's image by guessing a time, a model and a seed.
    name = (f"{stamp}_{model_part}_{metadata.get('seed') or 'noseed'}_{_slug(metadata.get('job_id', ''), 8)}_"
            f"{secrets.token_hex(8)}.png")
    day_dir = output_dir / stamp[:8]
    day_dir.mkdir(parents=True, exist_ok=True)
    path = day_dir / name
    path.write_bytes(png)
    return path, size


PREVIEW_DIR = Path(tempfile.gettempdir()) / "krea-playground-previews"


def save_preview(data: bytes, job_id: str, index: int, max_side: int = 512) -> str:
    """A small JPEG copy of a preview frame, as a file: the UI can send the same path on every update and the
    browser only fetches it once. Previews live in the temp dir, apart from the finished images.

    A frame that already is a small RGB or grey JPEG (the sandbox's are 384 px) is written as it came: decoding
    and encoding it again would only cost CPU and quality."""
    image = Image.open(io.BytesIO(data))  # reads the header only
    PREVIEW_DIR.mkdir(parents=True, exist_ok=True)
    path = PREVIEW_DIR / f"{_slug(job_id, 64)}-{index}.jpg"
    if image.format == "JPEG" and image.mode in ("RGB", "L") and max(image.size) <= max_side:
        path.write_bytes(data)
        return str(path)
    image.draft("RGB", (max_side, max_side))  # JPEG previews decode at reduced size directly
    image.load()
    image = image.convert("RGB")
    image.thumbnail((max_side, max_side))
    image.save(path, format="JPEG", quality=85)
    return str(path)
