"""Comparison bundles: the ZIP that Compare's "Download images + manifest" writes, read back, and a re-run of it
compared with the original, model by model.

A bundle is untrusted input (anyone can hand you a ZIP), so it is read defensively: only ``manifest.json`` and
the images the manifest names are read, each under a size cap; names must be plain file names (no folders, no
``..``); every image must be a PNG that decodes; nothing else in the archive is touched. Every refusal is a
:class:`BundleError` whose message says what is wrong with the file, for the person who chose it.

The regression table pairs each old record with its re-run: status, time, cost, size, and whether the image is
the same. Saved PNGs carry their job id in a text chunk, so two runs never have identical *files*; "identical
bytes" compares the images with the text chunks left out (the bytes the API sent), and "same pixels" decodes both.
"""

from __future__ import annotations

import io
import json
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
from PIL import Image

from playground.catalog import Catalog, load_catalog
from playground.catalog.model import IMAGE_PATH_PREFIX
from playground.compare import MANIFEST_FORMAT, MANIFEST_VERSION, MAX_MODELS, cost_cell, status_word
from playground.krea.errors import ErrorKind
from playground.outputs import PNG_SIGNATURE, TEXT_CHUNKS, png_size
from playground.runs import Phase, RunError, RunRecord

BUNDLE_FORMAT = MANIFEST_FORMAT  # "format" in manifest.json (exports before it was written have none)
BUNDLE_VERSION = MANIFEST_VERSION  # the newest manifest version this code reads (none written: version 1)
MANIFEST_NAME = "manifest.json"

MAX_BUNDLE_BYTES = 600 * 1024 * 1024  # the ZIP file itself
MAX_MEMBERS = 200  # a comparison has at most 8 images and a manifest
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_IMAGE_BYTES = 64 * 1024 * 1024  # a 4K PNG is ~20-40 MB
MAX_IMAGE_PIXELS = 8192 * 8192
MAX_RUNS = MAX_MODELS
IMAGE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,150}\.png", re.IGNORECASE)


class BundleError(ValueError):
    """A file that is not a comparison bundle this playground can open; the message says why."""


@dataclass(frozen=True)
class Bundle:
    """A saved comparison: where it ran and one record per run, images extracted next to each other."""

    api_base: str
    records: tuple[RunRecord, ...]
    version: int = BUNDLE_VERSION

    @property
    def items(self) -> list[tuple[str, dict]]:
        """(model id, exact request body) per run, for ``RunService.start_rerun``."""
        return [(r.model_id, dict(r.params)) for r in self.records]


# --- reading -------------------------------------------------------------------------------------------------

def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KB"


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, what: str) -> bytes:
    """A member's bytes, never more than `cap` (the size in the directory may lie: the read is capped too)."""
    if info.is_dir():
        raise BundleError(f"{what} is a folder in this ZIP, not a file.")
    if info.file_size > cap:
        raise BundleError(f"{what} is {_mb(info.file_size)}, over the {_mb(cap)} limit.")
    try:
        with archive.open(info) as member:
            data = member.read(cap + 1)
    except (RuntimeError, NotImplementedError, zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        # RuntimeError: encrypted; NotImplementedError: a compression method zipfile lacks; BadZipFile: bad CRC
        raise BundleError(f"{what} could not be read from the ZIP ({exc}). The file may be damaged or "
                          "encrypted.") from None
    if len(data) > cap:
        raise BundleError(f"{what} unpacks to more than {_mb(cap)}, over the limit.")
    return data


def _manifest(archive: zipfile.ZipFile) -> dict:
    try:
        info = archive.getinfo(MANIFEST_NAME)
    except KeyError:
        raise BundleError("This ZIP has no manifest.json, so it is not a comparison saved by this playground. "
                          "Open the ZIP that Compare's “Download images + manifest (ZIP)” button saved.") from None
    data = _read_member(archive, info, MAX_MANIFEST_BYTES, "manifest.json")
    try:
        manifest = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise BundleError("manifest.json is not UTF-8 text, so it is not a manifest this playground wrote.") from None
    except json.JSONDecodeError as exc:
        raise BundleError(f"manifest.json is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}). "
                          "The file may have been edited or damaged.") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("runs"), list):
        raise BundleError("manifest.json does not describe a comparison (it has no list of “runs”).")
    kind = manifest.get("format", BUNDLE_FORMAT)
    if kind != BUNDLE_FORMAT:
        raise BundleError(f"manifest.json describes {str(kind)[:60]!r}, not a comparison saved by this playground "
                          f"({BUNDLE_FORMAT!r}).")
    version = manifest.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BundleError(f"manifest.json has an unknown version ({str(version)[:20]!r}).")
    if version > BUNDLE_VERSION:
        raise BundleError(f"This comparison was saved by a newer playground (manifest version {version}; this one "
                          f"reads up to version {BUNDLE_VERSION}). Update the playground to open it.")
    runs = manifest["runs"]
    if not runs:
        raise BundleError("manifest.json lists no runs: there is nothing to show.")
    if len(runs) > MAX_RUNS:
        raise BundleError(f"manifest.json lists {len(runs)} runs; a comparison has at most {MAX_RUNS}.")
    return manifest


def _png_checked(data: bytes, what: str) -> tuple[int, int]:
    """The size of a PNG that really decodes (within the pixel cap), or BundleError."""
    size = png_size(data)
    if size is None:
        raise BundleError(f"{what} is not a PNG image.")
    if size[0] * size[1] > MAX_IMAGE_PIXELS or 0 in size:
        raise BundleError(f"{what} claims {size[0]}x{size[1]} pixels, more than this playground opens.")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise BundleError(f"{what} is a damaged PNG ({exc}).") from None
    return size


def read_bundle(zip_path: str | Path, extract_dir: str | Path, catalog: Catalog | None = None) -> Bundle:
    """The comparison saved in `zip_path`, its images written into `extract_dir`; BundleError if it is not one."""
    catalog = catalog or load_catalog()
    path, target_dir = Path(zip_path), Path(extract_dir)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise BundleError(f"Could not read {path.name}: {exc.strerror or exc}.") from None
    if size > MAX_BUNDLE_BYTES:
        raise BundleError(f"{path.name} is {_mb(size)}; a comparison bundle is at most {_mb(MAX_BUNDLE_BYTES)}.")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise BundleError(f"{path.name} is not a ZIP file. Open the ZIP that Compare's “Download images + "
                          "manifest (ZIP)” button saved.") from None
    with archive:
        if len(archive.infolist()) > MAX_MEMBERS:
            raise BundleError(f"This ZIP holds {len(archive.infolist())} files; a comparison bundle holds at most "
                              f"{MAX_RUNS} images and a manifest.")
        manifest = _manifest(archive)
        api_base = manifest.get("api_base")
        api_base = api_base if isinstance(api_base, str) else ""
        target_dir.mkdir(parents=True, exist_ok=True)
        root = target_dir.resolve()
        records: list[RunRecord] = []
        written: list[Path] = []
        try:
            _extract(archive, manifest["runs"], root, catalog, records, written)
        except BundleError:
            for file in written:  # a refused bundle leaves nothing behind
                file.unlink(missing_ok=True)
            raise
    return Bundle(api_base=api_base, records=tuple(records), version=manifest.get("version", 1))


def _extract(archive: zipfile.ZipFile, runs: list, root: Path, catalog: Catalog, records: list[RunRecord],
             written: list[Path]) -> None:
    """Each run's record, and its image (only the one the manifest names) written into `root`."""
    for number, entry in enumerate(runs, start=1):
        try:
            record = record_from_manifest(entry, catalog)
        except BundleError as exc:
            raise BundleError(f"Run {number} in manifest.json: {exc}") from None
        name = entry.get("image") if isinstance(entry, dict) else None
        if name is not None:
            what = f"Run {number} ({record.model_name}): image {str(name)[:80]!r}"
            if not isinstance(name, str) or not IMAGE_NAME.fullmatch(name):
                raise BundleError(f"{what} is not a plain .png file name (no folders, no “..”): refused.")
            try:
                info = archive.getinfo(name)
            except KeyError:
                raise BundleError(f"{what} is named in manifest.json but missing from the ZIP.") from None
            data = _read_member(archive, info, MAX_IMAGE_BYTES, what)
            image_size = _png_checked(data, what)
            destination = (root / name).resolve()
            if destination.parent != root:  # the pattern already forbids it; never write outside, whatever
                raise BundleError(f"{what} would be written outside the folder: refused.")
            destination.write_bytes(data)
            written.append(destination)
            record = replace(record, image_path=str(destination), image_size=image_size)
        records.append(record)


# --- one manifest entry -> RunRecord -----------------------------------------------------------------------

def _text(entry: Mapping, key: str, *, required: bool = False, default: str | None = None) -> str | None:
    value = entry.get(key, default)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise BundleError(f"“{key}” must be text (got {type(value).__name__}).")
    return value


def _number(entry: Mapping, key: str) -> float | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BundleError(f"“{key}” must be a number (got {str(value)[:30]!r}).")
    return float(value)


def _error(value: Any) -> RunError | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BundleError("“error” must be an object.")
    try:
        kind = ErrorKind(value.get("kind"))
    except ValueError:
        kind = ErrorKind.INTERNAL  # a kind this version does not know: keep the message
    retry = value.get("retry_after")
    return RunError(kind, str(value.get("message") or ""), field=value.get("field") if isinstance(
        value.get("field"), str) else None, retry_after=float(retry) if isinstance(retry, (int, float))
        and not isinstance(retry, bool) else None, replacement=value.get("replacement") if isinstance(
        value.get("replacement"), str) else None)


def record_from_manifest(entry: Any, catalog: Catalog) -> RunRecord:
    """One run of a manifest as the RunRecord it was written from (``RunRecord.to_dict`` read back), without its
    image (``read_bundle`` extracts it). Models the catalog no longer has keep their saved name."""
    if not isinstance(entry, dict):
        raise BundleError("a run must be an object.")
    request = entry.get("request")
    if not isinstance(request, dict) or not isinstance(request.get("body"), dict):
        raise BundleError("it has no request body (“request”: {“body”: …}), so it cannot be shown or re-run.")
    body = dict(request["body"])
    endpoint = _text(request, "endpoint")
    model_id = _text(entry, "model")
    if model_id is None and endpoint and endpoint.startswith(IMAGE_PATH_PREFIX):
        model_id = endpoint[len(IMAGE_PATH_PREFIX):]
    if not model_id:
        raise BundleError("it names no model.")
    if endpoint is not None and endpoint != IMAGE_PATH_PREFIX + model_id:
        raise BundleError(f"it says model {model_id[:60]!r} but its request went to {endpoint[:80]!r}.")
    try:
        phase = Phase(entry.get("phase"))
    except ValueError:
        raise BundleError(f"its phase {str(entry.get('phase'))[:30]!r} is not one this playground knows.") from None
    model = catalog.find(model_id)
    seed = entry.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise BundleError("“seed” must be a whole number.")
    size = entry.get("image_size")
    image_size = (tuple(size) if isinstance(size, list) and len(size) == 2
                  and all(isinstance(v, int) and not isinstance(v, bool) for v in size) else None)
    notes = entry.get("notes") or []
    if not isinstance(notes, list):
        raise BundleError("“notes” must be a list.")
    return RunRecord(
        run_id=_text(entry, "run_id") or "", model_id=model_id,
        model_name=model.name if model is not None else (_text(entry, "model_name") or model_id),
        request_path=IMAGE_PATH_PREFIX + model_id,
        prompt=_text(entry, "prompt") or str(body.get("prompt", "")), params=body, seed=seed, phase=phase,
        status=_text(entry, "status"), job_id=_text(entry, "job_id"), backend=_text(entry, "backend") or "",
        started_at=_text(entry, "started_at") or "", queue_s=_number(entry, "queue_s"),
        run_s=_number(entry, "run_s"), total_s=_number(entry, "total_s"), cost_usd=_number(entry, "cost_usd"),
        priced=bool(entry.get("priced", model is not None and model.price.usd is not None)), image_path=None,
        image_size=image_size, error=_error(entry.get("error")) if phase != Phase.DONE else None,
        notes=tuple(str(n) for n in notes), group_id=_text(entry, "group_id"),
    )


# --- old vs new ----------------------------------------------------------------------------------------------

def image_bytes(data: bytes) -> bytes:
    """A PNG without its text chunks: the image as the API sent it, before we wrote the recipe (and job id) in."""
    if not data.startswith(PNG_SIGNATURE):
        return data
    kept, pos = [data[:len(PNG_SIGNATURE)]], len(PNG_SIGNATURE)
    while pos + 12 <= len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        end = pos + 12 + length
        if data[pos + 4:pos + 8] not in TEXT_CHUNKS:
            kept.append(data[pos:end])
        pos = end
    kept.append(data[pos:])
    return b"".join(kept)


def image_verdict(old_path: str | None, new_path: str | None, seeded: bool = True) -> str:
    """How a re-run's image compares with the old one, in words for the table."""
    if not old_path and not new_path:
        return "no images"
    if not old_path or not new_path:
        return "only the re-run has an image" if new_path else "only the old run has an image"
    try:
        old, new = Path(old_path).read_bytes(), Path(new_path).read_bytes()
    except OSError:
        return "image file missing"
    if image_bytes(old) == image_bytes(new):
        return "identical bytes"
    try:
        with Image.open(io.BytesIO(old)) as a, Image.open(io.BytesIO(new)) as b:
            if a.size != b.size:
                return f"different size ({a.size[0]}x{a.size[1]} → {b.size[0]}x{b.size[1]})"
            if a.convert("RGBA").tobytes() == b.convert("RGBA").tobytes():
                return "same pixels"  # the bytes differ (another encoder, other chunks), the picture does not
    except (OSError, ValueError):
        return "unreadable image"
    return "different pixels" + ("" if seeded else NO_SEED)


NO_SEED = " (no seed)"  # the request had no seed: every run of it differs, so a different image is expected
IDENTICAL_VERDICTS = ("identical bytes", "same pixels")
REGRESSION_COLUMNS = ["model", "old status", "new status", "old total s", "new total s", "old cost $", "new cost $",
                      "old size", "new size", "image"]


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def regression_table(old: list[RunRecord], new: list[RunRecord],
                     verdict: Callable[[RunRecord, RunRecord], str] | None = None) -> pd.DataFrame:
    """One row per model: the old run next to its re-run (paired in order). The image verdict is given once both
    are finished (`verdict` may cache it; by default :func:`image_verdict`)."""
    verdict = verdict or (lambda a, b: image_verdict(a.image_path, b.image_path, "seed" in b.params))
    rows = []
    for before, after in zip(old, new):
        rows.append({
            "model": after.model_name, "old status": status_word(before), "new status": status_word(after),
            "old total s": _seconds(before.total_s), "new total s": _seconds(after.total_s),
            "old cost $": cost_cell(before), "new cost $": cost_cell(after),
            "old size": before.size_text, "new size": after.size_text,
            "image": verdict(before, after) if after.is_terminal else "",
        })
    return pd.DataFrame(rows, columns=REGRESSION_COLUMNS)


def regression_summary(table: pd.DataFrame) -> str:
    """One sentence: how many images came out the same, which models changed image or status, what is running."""
    done = table[table["image"] != ""]
    if done.empty:
        return f"Re-running {len(table)} saved requests exactly as they were…"
    identical = int(done["image"].isin(IDENTICAL_VERDICTS).sum())
    parts = [f"{identical} of {len(table)} images identical"]
    changed = done[~done["image"].isin(IDENTICAL_VERDICTS)]
    unseeded = [m for m, v in zip(changed["model"], changed["image"]) if v.endswith(NO_SEED)]
    others = [f"{m} ({v})" for m, v in zip(changed["model"], changed["image"]) if not v.endswith(NO_SEED)]
    if others:
        parts.append("changed: " + ", ".join(others))
    if unseeded:
        parts.append(f"{', '.join(unseeded)} {'takes' if len(unseeded) == 1 else 'take'} no seed, so every run "
                     "differs")
    statuses = [f"{m}: {a} → {b}" for m, a, b in zip(table["model"], table["old status"], table["new status"])
                if b != "Running" and a != b]
    if statuses:
        parts.append("status changed: " + ", ".join(statuses))
    if len(table) > len(done):
        parts.append(f"{len(table) - len(done)} still running")
    return " · ".join(parts) + "."
