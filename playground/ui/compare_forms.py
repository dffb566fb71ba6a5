"""The Compare form's numbers and recipes (from the form, from links, from a saved comparison), and the folder
an opened comparison ZIP's images go to."""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from playground.compare import GUIDANCE_NAMES, STEP_NAMES
from playground.recipes import CompareRecipe
from playground.runs import RunRecord

BUNDLE_ROOT = Path(tempfile.gettempdir()) / "krea-playground-bundles"  # opened ZIPs' images (a temp dir: servable)
BUNDLE_MAX_AGE_S = 24 * 3600


# --- numbers from the form and from links ----------------------------------------------------------------------

def whole_number(value: Any) -> int | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) and number.is_integer() else None


def decimal_number(value: Any) -> float | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def text_number(value: Any) -> str:
    """What a Steps/Guidance text box shows for a number ("" means each model's default)."""
    number = decimal_number(value)
    return "" if number is None else (str(int(number)) if number.is_integer() else f"{number:g}")


def form_recipe(prompt: str, model_ids, width, height, seed: int | None, steps, guidance) -> CompareRecipe:
    return CompareRecipe(prompt=prompt or "", model_ids=tuple(model_ids or ()), width=whole_number(width),
                         height=whole_number(height), seed=seed, steps=whole_number(steps), guidance=decimal_number(guidance))


def past_recipe(records: list[RunRecord], catalog) -> CompareRecipe:
    """The Compare form that would make a saved comparison again (as near as shared settings can say it)."""
    bodies = [r.params for r in records]
    seeds = {r.params["seed"] for r in records if isinstance(r.params.get("seed"), int)}
    sized = next((b for b in bodies if "width" in b and "height" in b), {})

    def first(names: tuple[str, ...]):
        return next((b[n] for b in bodies for n in names if b.get(n) is not None), None)

    ids = tuple(r.model_id for r in records if (m := catalog.find(r.model_id)) is not None and not m.needs_image)
    return CompareRecipe(prompt=records[0].prompt if records else "", model_ids=ids, width=sized.get("width"),
                         height=sized.get("height"), seed=seeds.pop() if len(seeds) == 1 else None,
                         steps=first(STEP_NAMES), guidance=first(GUIDANCE_NAMES))


def bundle_folder() -> Path:
    """A fresh folder for one opened ZIP's images; folders older than a day are removed on the way."""
    BUNDLE_ROOT.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - BUNDLE_MAX_AGE_S
    for old in BUNDLE_ROOT.iterdir():
        try:
            if old.is_dir() and old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass
    return Path(tempfile.mkdtemp(prefix="bundle-", dir=BUNDLE_ROOT))
