"""A run's recipe (model, prompt, parameters, seed) in the three places it travels: a link, a PNG, a stored run.

Links: the Generate and Compare forms live in the query string (``?model=bfl/flux-1-dev&prompt=…&seed=42``),
parameters under Krea's own names, so a link needs no server storage and reads like the request it makes.
PNGs: every image this app saves carries its recipe in text chunks (:func:`playground.outputs.png_metadata`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from PIL import Image

from playground.catalog import Catalog, Model
from playground.outputs import SOFTWARE

GENERATE_RESERVED = ("tab", "model", "prompt", "seed")


@dataclass(frozen=True)
class Recipe:
    """What fills the Generate form: a model, a prompt, the model's own parameters and the seed."""

    model_id: str
    prompt: str
    params: dict[str, Any] = field(default_factory=dict)  # Krea's names, without prompt and seed
    seed: int | None = None


@dataclass(frozen=True)
class CompareRecipe:
    """What fills the Compare form."""

    prompt: str
    model_ids: tuple[str, ...]
    width: int | None = None
    height: int | None = None
    seed: int | None = None
    steps: int | None = None
    guidance: float | None = None


class RecipeError(ValueError):
    """A link or file that does not hold a usable recipe; the message says why, for the person who gave it."""


def image_input_names(model: Model) -> frozenset[str]:
    """The body fields that carry pictures, styles or moodboards (and a single edit image's own strength field):
    links leave them out. They hold this session's uploads, which a link cannot carry."""
    names = {item.field for item in model.image_inputs}
    names |= {item.strength_field for item in model.image_inputs if item.strength_field and not item.strength_per_item}
    return frozenset(names)


def link_recipe(model: Model, body: Mapping[str, Any]) -> tuple[Recipe, bool]:
    """The recipe a link of this request body carries, and whether pictures (image inputs) were left out."""
    leave_out = image_input_names(model)
    params = {k: v for k, v in body.items() if k not in ("prompt", "seed") and k not in leave_out}
    seed = body.get("seed")
    left_out = any(body.get(name) not in (None, "", [], {}) for name in leave_out
                   if not _is_strength_only(model, name))
    return Recipe(model.id, str(body.get("prompt", "")), params, seed if isinstance(seed, int) else None), left_out


def _is_strength_only(model: Model, name: str) -> bool:
    return any(item.strength_field == name and not item.strength_per_item for item in model.image_inputs)


def recipe_from_body(model_id: str, body: Mapping[str, Any]) -> Recipe:
    """The recipe of a request body (a stored run, a manifest entry)."""
    params = {k: v for k, v in body.items() if k not in ("prompt", "seed")}
    seed = body.get("seed")
    return Recipe(model_id, str(body.get("prompt", "")), params, int(seed) if isinstance(seed, int) else None)


# --- values from text ----------------------------------------------------------------------------------------

def _typed(model: Model, name: str, text: str) -> Any:
    """A query value read as the model's parameter wants it; text the model would refuse is left as text, for
    the run service to refuse with a message naming the field."""
    param = model.param(name)
    kind = param.type if param is not None else None
    if kind == "boolean":
        return text.strip().lower() in ("1", "true", "yes", "on")
    if kind in ("array", "object"):  # written as JSON by generate_query
        try:
            return json.loads(text)
        except ValueError:
            return text
    if kind in ("integer", "number"):
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if kind == "integer" and number.is_integer() else number
    return text


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(float(text)) if text not in (None, "") else None
    except ValueError:
        return None


def _float_or_none(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


# --- links ---------------------------------------------------------------------------------------------------

def generate_query(recipe: Recipe) -> str:
    """``model=…&prompt=…&<param>=…&seed=…`` (empty values left out)."""
    pairs: list[tuple[str, str]] = [("model", recipe.model_id), ("prompt", recipe.prompt)]
    for name, value in recipe.params.items():
        if value is None or value == "" or name in GENERATE_RESERVED:
            continue
        # Text as it is; anything else as JSON (true/false, lists, objects), which _typed reads back.
        pairs.append((name, value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))))
    if recipe.seed is not None:
        pairs.append(("seed", str(recipe.seed)))
    return urlencode(pairs)


def compare_query(recipe: CompareRecipe) -> str:
    pairs: list[tuple[str, str]] = [("tab", "compare"), ("prompt", recipe.prompt),
                                    ("models", ",".join(recipe.model_ids))]
    for name in ("width", "height", "seed", "steps", "guidance"):
        value = getattr(recipe, name)
        if value is not None and value != "":
            pairs.append((name, str(value)))
    return urlencode(pairs)


def recipe_from_query(catalog: Catalog, query: Mapping[str, str]) -> Recipe | CompareRecipe | None:
    """The form a link describes, or None for a link without one. Unknown models raise RecipeError."""
    query = {k: v for k, v in query.items() if isinstance(v, str)}
    if query.get("tab") == "compare":
        ids = tuple(i.strip() for i in (query.get("models") or "").split(",") if i.strip())
        unknown = [i for i in ids if catalog.find(i) is None]
        if unknown:
            raise RecipeError(f"This link names models this playground does not know: {', '.join(unknown)[:120]}.")
        return CompareRecipe(prompt=query.get("prompt", ""), model_ids=ids, width=_int_or_none(query.get("width")),
                             height=_int_or_none(query.get("height")), seed=_int_or_none(query.get("seed")),
                             steps=_int_or_none(query.get("steps")), guidance=_float_or_none(query.get("guidance")))
    model_id = (query.get("model") or "").strip()
    if not model_id:
        return None if "prompt" not in query else Recipe("", query["prompt"])
    model = catalog.find(model_id)
    if model is None:
        raise RecipeError(f"This link names a model this playground does not know: {model_id[:80]!r}.")
    params = {name: _typed(model, name, value) for name, value in query.items()
              if name not in GENERATE_RESERVED and model.param(name) is not None}
    return Recipe(model.id, query.get("prompt", ""), params, _int_or_none(query.get("seed")))


# --- PNG info ------------------------------------------------------------------------------------------------

def recipe_from_png(path: str | Path) -> Recipe:
    """The recipe written into a PNG this app saved, or RecipeError saying why there is none."""
    try:
        with Image.open(path) as image:
            image_format = image.format
            text = dict(getattr(image, "text", {}) or {})
    except (OSError, ValueError) as exc:
        raise RecipeError(f"That file is not an image this app can read ({exc.__class__.__name__}).") from None
    if image_format != "PNG":
        raise RecipeError(f"That is a {image_format or 'non-PNG'} file. Drop a PNG saved by this playground: its "
                          "settings travel inside it.")
    if not text.get("model") or "prompt" not in text:
        made_by = text.get("Software")
        hint = f" (made by {made_by[:40]})" if made_by and made_by != SOFTWARE else ""
        raise RecipeError(f"This PNG carries no playground settings{hint}. Only images saved by this playground "
                          "(Generate, Compare, History downloads) can fill the form.")
    try:
        params = json.loads(text.get("params") or "{}")
    except json.JSONDecodeError:
        params = {}
    if not isinstance(params, dict):
        params = {}
    seed = _int_or_none(text.get("seed"))
    params = {k: v for k, v in params.items() if k not in ("prompt", "seed")}
    return Recipe(text["model"], text["prompt"], params, seed)
