"""Derive the catalog from an OpenAPI spec (Krea's ``/openapi.json``) plus :mod:`.overrides`.

The spec gives each endpoint's body schema and, in the operation's markdown description, a small table of
compute units and sometimes average completion time. Everything else comes from the overrides.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import Any, Iterable

from . import overrides
from .image_inputs import image_inputs_for
from .model import IMAGE_PATH_PREFIX, Catalog, Model, Param, Price, PriceRule, RetiredModel

_RANDOM_SEED_DEFAULT_KEPT = 1337  # the only seed default that is stable across snapshots [C]; others are random


# --- schemas -------------------------------------------------------------------------------------------------

def resolve_refs(node: Any, spec: dict, _depth: int = 0) -> Any:
    """Inline local ``$ref``s (``#/components/...``) so params carry self-contained schemas."""
    if _depth > 20:  # a cyclic schema: stop rather than recurse forever
        return node
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
            target: Any = spec
            for part in node["$ref"][2:].split("/"):
                target = target.get(part.replace("~1", "/").replace("~0", "~"), {})
            merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            return resolve_refs(merged, spec, _depth + 1)
        return {k: resolve_refs(v, spec, _depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve_refs(v, spec, _depth + 1) for v in node]
    return node


def schema_type(schema: dict) -> tuple[str, bool]:
    """(main type, nullable) from ``type`` (string or list), ``anyOf``/``oneOf`` with null, or an enum."""
    raw = schema.get("type")
    nullable = bool(schema.get("nullable"))
    if raw is None:
        for key in ("anyOf", "oneOf"):
            options = [o for o in schema.get(key, ()) if isinstance(o, dict)]
            if options:
                nullable = nullable or any(o.get("type") == "null" for o in options)
                raw = [o.get("type") for o in options if o.get("type") not in (None, "null")][:1] or None
    if isinstance(raw, list):
        nullable = nullable or "null" in raw
        raw = next((t for t in raw if t != "null"), None)
    if raw is None:
        enum = schema.get("enum") or []
        raw = "string" if all(isinstance(v, str) or v is None for v in enum) else "number"
    if None in (schema.get("enum") or ()):
        nullable = True
    return str(raw), nullable


def _needs_url(name: str, type_: str, schema: dict) -> bool:
    """Params that take image URLs or structured references: the simple form hides them."""
    return (
        type_ in ("array", "object")
        or schema.get("format") == "uri"
        or name.endswith(("_url", "_urls"))
    )


def param_from_schema(name: str, schema: dict, required: bool) -> Param:
    """One :class:`Param` from a property schema."""
    type_, nullable = schema_type(schema)
    default = schema.get("default")
    if name == "seed" and default != _RANDOM_SEED_DEFAULT_KEPT:
        default = None
    multiple = schema.get("multipleOf")
    return Param(
        name=name,
        type=type_,
        required=required,
        nullable=nullable,
        default=default,
        minimum=schema.get("minimum"),
        maximum=schema.get("maximum"),
        min_length=schema.get("minLength"),
        max_length=schema.get("maxLength"),
        min_items=schema.get("minItems"),
        max_items=schema.get("maxItems"),
        choices=tuple(schema["enum"]) if "enum" in schema else None,
        multiple_of=int(multiple) if isinstance(multiple, (int, float)) and float(multiple).is_integer() else None,
        description=str(schema.get("description", "")),
        schema=schema,
        needs_url=_needs_url(name, type_, schema),
    )


def _fill_bounds(param: Param, bounds: tuple[float, float] | None) -> Param:
    """A number param with ``bounds`` filling whichever of its minimum/maximum the spec left open."""
    if bounds is None or param.type not in ("integer", "number"):
        return param
    low, high = bounds
    return replace(param, minimum=param.minimum if param.minimum is not None else low,
                   maximum=param.maximum if param.maximum is not None else high)


def _apply_param_overrides(param: Param, changes: dict[str, Any]) -> Param:
    values = {**param.__dict__, **changes}
    if values.get("choices") is not None and values.get("default") not in values["choices"]:
        values["default"] = param.default  # a newer spec changed the enum: never default to a missing choice
    return Param(**values)


def params_from_body(model_id: str, body: dict) -> tuple[Param, ...]:
    """The params of a request body schema, in spec order, with open bounds filled and overrides applied."""
    required = set(body.get("required", ()))
    changes = overrides.PARAM_OVERRIDES.get(model_id, {})
    bounds = {**overrides.BOUNDS_BY_NAME, **overrides.PARAM_BOUNDS.get(model_id, {})}
    image_facts = overrides.IMAGE_INPUT_FACTS.get(model_id, {})
    params = []
    for name, schema in (body.get("properties") or {}).items():
        p = param_from_schema(name, schema if isinstance(schema, dict) else {}, name in required)
        p = _fill_bounds(p, bounds.get(name))
        known_max = image_facts.get(name, {}).get("max_items")
        if known_max is not None and p.max_items is None and p.type == "array":
            p = replace(p, max_items=known_max)  # only where the spec gives none: a newer spec's maxItems wins
        params.append(_apply_param_overrides(p, changes[name]) if name in changes else p)
    return tuple(params)


def sizing_kind(params: Iterable[Param]) -> str:
    names = {p.name for p in params}
    has_wh = {"width", "height"} <= names
    has_ratio = "aspect_ratio" in names
    if has_wh and has_ratio:
        return "both"
    return "wh" if has_wh else "ratio" if has_ratio else "none"


# --- description tables --------------------------------------------------------------------------------------

def parse_markdown_table(text: str) -> list[dict[str, str]]:
    """Rows of the first pipe table in ``text`` as {header: cell} dicts (empty if there is none)."""
    lines = [ln.strip() for ln in (text or "").splitlines()]
    for i, line in enumerate(lines[:-1]):
        if line.startswith("|") and re.fullmatch(r"\|?[\s:|-]+\|?", lines[i + 1]) and "-" in lines[i + 1]:
            headers = [c.strip() for c in line.strip("|").split("|")]
            rows = []
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                cells = [c.strip() for c in row.strip("|").split("|")]
                rows.append(dict(zip(headers, cells)))
            return rows
    return []


def _number(cell: str) -> float | None:
    match = re.search(r"\d+(?:\.\d+)?", cell or "")
    return float(match.group()) if match else None


def _seconds(cell: str) -> float | None:
    value = _number(cell)
    if value is not None and re.search(r"min", cell, re.I):
        value *= 60
    return value


def cost_and_time(description: str) -> tuple[float | None, float | None, str | None]:
    """(compute units of the base case, average seconds, a note on the other rows) from a description table.

    The base case is the 1K row when the table is by resolution, else the cheapest row (e.g. Ideogram 3
    without character reference, Luma standard mode with no references).
    """
    rows = parse_markdown_table(description)
    if not rows:
        return None, None, None
    cu_col = next((h for h in rows[0] if "compute unit" in h.lower()), None)
    time_col = next((h for h in rows[0] if "time" in h.lower()), None)
    keyed = [r for r in rows if cu_col and _number(r.get(cu_col, "")) is not None]
    base = next((r for r in keyed if "1K" in r.values()), None)
    if base is None and keyed:
        base = min(keyed, key=lambda r: _number(r[cu_col]) or math.inf)
    cu = _number(base[cu_col]) if base and cu_col else None
    seconds = _seconds(rows[0].get(time_col, "")) if time_col else None
    note = None
    if len(keyed) > 1 and cu_col:
        key_cols = [h for h in rows[0] if h not in (cu_col, time_col)]
        values = [_number(r[cu_col]) or 0.0 for r in keyed]
        if len(keyed) <= 4:
            parts = [f"{' '.join(r[c] for c in key_cols)}: {r[cu_col]}" for r in keyed]
            note = f"Compute units by {', '.join(c.lower() for c in key_cols)}: " + "; ".join(parts) + "."
        else:
            note = (f"Compute units {min(values):g} to {max(values):g} depending on "
                    f"{' and '.join(c.lower() for c in key_cols)}.")
    return cu, seconds, note


# --- models --------------------------------------------------------------------------------------------------

def image_operations(spec: dict) -> list[tuple[str, dict]]:
    """(model id, POST operation) for every ``/generate/image/...`` path, in spec order."""
    ops = []
    for path, item in (spec.get("paths") or {}).items():
        if path.startswith(IMAGE_PATH_PREFIX) and isinstance(item, dict) and isinstance(item.get("post"), dict):
            ops.append((path[len(IMAGE_PATH_PREFIX):].strip("/"), item["post"]))
    return ops


def _body_schema(operation: dict, spec: dict) -> dict:
    content = resolve_refs((operation.get("requestBody") or {}).get("content") or {}, spec)
    schema = (content.get("application/json") or {}).get("schema") or {}
    return schema if isinstance(schema, dict) else {}


def _price(facts: dict, compute_units: float | None, model_id: str = "") -> Price:
    if "price" in facts:
        usd, basis, source = facts["price"]
        rules = tuple(PriceRule(*rule) for rule in overrides.PRICE_RULES.get(model_id, ()))
        return Price(usd=usd, compute_units=compute_units, basis=basis, source=source, rules=rules)
    basis = "compute units per image (pre-USD billing); no USD price known" if compute_units is not None \
        else "no published price"
    return Price(usd=None, compute_units=compute_units, basis=basis, source="compute-units")


def model_from_operation(model_id: str, operation: dict, spec: dict, *, from_spec: bool = True) -> Model:
    """One :class:`Model` from its spec operation plus overrides (``from_spec=False``: an operation the
    overrides made up for a model the spec lacks)."""
    facts = overrides.FACTS.get(model_id, {})
    params = params_from_body(model_id, _body_schema(operation, spec))
    image_inputs = image_inputs_for(params, overrides.IMAGE_INPUT_FACTS.get(model_id), from_spec=from_spec)
    provider_key = model_id.split("/", 1)[0]
    provider = overrides.PROVIDERS.get(provider_key, provider_key.replace("-", " ").title())
    name = facts.get("name") or operation.get("summary") or model_id.rsplit("/", 1)[-1]
    cu, spec_seconds, cu_note = cost_and_time(str(operation.get("description") or ""))
    seconds = spec_seconds or (facts["seconds"][0] if "seconds" in facts else overrides.DEFAULT_EXPECTED_SECONDS)
    needs_image = bool(facts.get("needs_image")) or any(i.required for i in image_inputs) or any(
        p.required and p.needs_url and p.name != "prompt" for p in params
    )
    notes = list(facts.get("notes", ()))
    if cu_note:
        notes.append(cu_note)
    if operation.get("deprecated"):
        notes.append("Krea marks this model as deprecated: it will be retired.")
    return Model(
        id=model_id,
        path=IMAGE_PATH_PREFIX + model_id,
        name=str(name),
        provider=provider,
        description=facts.get("description") or f"{name} by {provider}.",
        params=params,
        sizing=sizing_kind(params),
        previews=bool(facts.get("previews", False)),
        needs_image=needs_image,
        expected_seconds=float(seconds),
        price=_price(facts, cu, model_id),
        notes=tuple(notes),
        image_inputs=image_inputs,
    )


def display_order(models: Iterable[Model]) -> tuple[Model, ...]:
    """Popular first, then by provider, needs_image models last (stable within each group)."""
    models = list(models)
    first = {mid: i for i, mid in enumerate(overrides.SHOWN_FIRST)}
    providers = list(overrides.PROVIDER_ORDER) + sorted(
        {m.provider for m in models} - set(overrides.PROVIDER_ORDER)
    )

    def key(indexed: tuple[int, Model]) -> tuple:
        i, m = indexed
        if m.id in first and not m.needs_image:
            return (0, first[m.id], 0, i)
        return (1 + int(m.needs_image), providers.index(m.provider), 0, i)

    return tuple(m for _, m in sorted(enumerate(models), key=key))


def derive_catalog(spec: dict, source: str = "") -> Catalog:
    """The whole catalog from a spec dict: its image endpoints, the extra models it lacks, the retired ones."""
    retired = {r["id"]: RetiredModel(**r) for r in overrides.RETIRED}
    models: list[Model] = []
    for model_id, operation in image_operations(spec):
        if model_id not in retired:  # a sunset model still listed in a spec only answers 410
            models.append(model_from_operation(model_id, operation, spec))
    present = {m.id for m in models}
    for model_id, extra in overrides.EXTRA_MODELS.items():
        if model_id not in present:
            fake_op = {"summary": extra["summary"],
                       "requestBody": {"content": {"application/json": {"schema": extra["schema"]}}}}
            models.append(model_from_operation(model_id, fake_op, spec, from_spec=False))
    return Catalog(models=display_order(models), retired=retired, source=source)
