"""The catalog's data types: a model, its parameters, its price, retired models, the catalog itself.

Everything here is frozen and JSON-round-trippable (``to_dict``/``from_dict``), because ``assets/models.json``
is just these objects written out by :mod:`playground.catalog.build`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Iterator, Mapping

from .image_inputs import ImageInput

IMAGE_PATH_PREFIX = "/generate/image/"

# Fields the form offers, and the run service sends, as whole numbers (1024.0 goes out as 1024). NOT a validation
# rule: the spec types most of them "number" while typing others "integer" in the same schemas (Flux's steps,
# Qwen's width and height) [C SPEC], so Krea's own check takes 1000.5 for a Flux width or a seed and validation
# follows it (what a provider then does with half a pixel is not documented). Only "integer" refuses fractions.
INTEGER_VALUED_NAMES = frozenset({"width", "height", "steps", "seed", "num_inference_steps"})

# The largest seed any model takes: seeds are unsigned 32-bit integers [I]. The spec's own per-snapshot random
# seed defaults (3317551338, 3261419148) exceed 2**31 - 1, so a signed 32-bit limit would refuse seeds Krea
# itself hands out. Every model's ``seed`` param is bounded 0..MAX_SEED (see ``overrides.BOUNDS_BY_NAME``).
MAX_SEED = 2**32 - 1  # 4294967295

SIZING_KINDS = ("wh", "ratio", "both", "none")
PRICE_SOURCES = ("confirmed", "third-party", "compute-units")


@dataclass(frozen=True)
class Param:
    """One body field of a model, flattened from its JSON schema (plus catalog overrides)."""

    name: str
    type: str  # "string" | "integer" | "number" | "boolean" | "array" | "object"
    required: bool
    nullable: bool
    default: Any  # None when the spec gives none (or gives a per-snapshot random seed)
    minimum: float | None
    maximum: float | None
    min_length: int | None
    max_length: int | None
    min_items: int | None
    max_items: int | None
    choices: tuple | None
    multiple_of: int | None
    description: str
    schema: dict
    needs_url: bool

    def __hash__(self) -> int:  # the raw schema is a dict: hash what identifies the param
        return hash((self.name, self.type, self.required))

    @property
    def is_integer(self) -> bool:
        """True when the form offers (and the service sends) whole numbers: typed integer, or a size, step count
        or seed typed number. Validation refuses a fraction only for typed integer (see INTEGER_VALUED_NAMES)."""
        return self.type == "integer" or (self.type == "number" and self.name in INTEGER_VALUED_NAMES)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["choices"] = list(self.choices) if self.choices is not None else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Param:
        values = dict(data)
        if values.get("choices") is not None:
            values["choices"] = tuple(values["choices"])
        return cls(**values)


@dataclass(frozen=True)
class PriceRule:
    """Another price for a body that uses ``field``: present and not empty (a list with items, a set URL), or,
    with ``equals``, set to that value (``resolution`` = ``"2K"``). ``source`` is its mark, e.g. "[C K2M]"."""

    field: str
    usd: float
    label: str  # "with style references"
    source: str
    equals: Any = None

    def applies(self, body: Mapping[str, Any]) -> bool:
        value = body.get(self.field)
        if self.equals is not None:
            return value == self.equals
        return value not in (None, "", [], (), {})


@dataclass(frozen=True)
class Price:
    """What one job costs. ``usd`` is None when no USD figure is known; ``basis`` says what it is for.

    ``rules`` are the other prices a body's fields lead to (Krea 2 with style references or a moodboard, Nano
    Banana 2 at 2K/4K): the job costs the highest that applies (:func:`playground.catalog.estimate_usd`).
    """

    usd: float | None
    compute_units: float | None
    basis: str  # e.g. "per image at 1K"
    source: str  # "confirmed" | "third-party" | "compute-units"
    rules: tuple[PriceRule, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Price:
        values = dict(data)
        values["rules"] = tuple(PriceRule(**r) for r in values.get("rules") or ())
        return cls(**values)

    def label(self) -> str:
        """Short human text, e.g. "$0.030 per image at 1K" or "~22.9 compute units"."""
        if self.usd is not None:
            approx = "" if self.source == "confirmed" else "~"
            digits = f"{self.usd:.4f}".rstrip("0")
            digits += "0" * max(0, 3 - len(digits.split(".")[1]))  # $0.030, $0.0128
            return f"{approx}${digits} {self.basis}".strip()
        if self.compute_units is not None:
            return f"~{self.compute_units:g} compute units"
        return "price unknown"


@dataclass(frozen=True)
class Model:
    """One text-to-image endpoint and everything the app needs to show, validate, run and price it."""

    id: str  # "bfl/flux-1-dev": the path after /generate/image/
    path: str  # "/generate/image/bfl/flux-1-dev"
    name: str
    provider: str
    description: str
    params: tuple[Param, ...]
    sizing: str  # "wh" | "ratio" | "both" | "none"
    previews: bool
    needs_image: bool
    expected_seconds: float
    price: Price
    notes: tuple[str, ...] = ()
    image_inputs: tuple[ImageInput, ...] = ()  # the image fields it takes: kind, count, strength, required

    def __hash__(self) -> int:  # usable as a dict key or in an lru_cache despite the schema dicts inside
        return hash((self.id, self.path))

    def param(self, name: str) -> Param | None:
        for p in self.params:
            if p.name == name:
                return p
        return None

    def image_input(self, field_name: str) -> ImageInput | None:
        for item in self.image_inputs:
            if item.field == field_name:
                return item
        return None

    @property
    def accepts(self) -> frozenset[str]:
        return frozenset(p.name for p in self.params)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params if p.required)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "path": self.path,
            "name": self.name,
            "provider": self.provider,
            "description": self.description,
            "sizing": self.sizing,
            "previews": self.previews,
            "needs_image": self.needs_image,
            "expected_seconds": self.expected_seconds,
            "price": asdict(self.price),
            "notes": list(self.notes),
            "image_inputs": [i.to_dict() for i in self.image_inputs],
            "params": [p.to_dict() for p in self.params],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Model:
        return cls(
            id=data["id"],
            path=data["path"],
            name=data["name"],
            provider=data["provider"],
            description=data["description"],
            params=tuple(Param.from_dict(p) for p in data["params"]),
            sizing=data["sizing"],
            previews=data["previews"],
            needs_image=data["needs_image"],
            expected_seconds=data["expected_seconds"],
            price=Price.from_dict(data["price"]),
            notes=tuple(data.get("notes", ())),
            image_inputs=tuple(ImageInput.from_dict(i) for i in data.get("image_inputs", ())),
        )


@dataclass(frozen=True)
class RetiredModel:
    """A sunset model: Krea answers 410 with :meth:`body` (API-NOTES §5.1)."""

    id: str  # "bytedance/seedream-3"
    sunset_date: str  # ISO date
    replacement: str | None  # a catalog id, e.g. "bytedance/seedream-5-lite"
    message: str
    migration_url: str | None
    name: str = ""
    error: str = "model_unavailable"  # the stable switch value clients test
    reason: str = "deprecated"

    @property
    def path(self) -> str:
        return IMAGE_PATH_PREFIX + self.id

    def body(self) -> dict:
        """The JSON body of the 410 answer; replacement and migration_url only when there is one."""
        data: dict[str, Any] = {
            "error": self.error,
            "reason": self.reason,
            "message": self.message,
            "sunset_date": self.sunset_date,
        }
        if self.replacement:
            data["replacement"] = self.replacement
        if self.migration_url:
            data["migration_url"] = self.migration_url
        return data


@dataclass(frozen=True)
class Catalog:
    """All models in display order, the retired ones, and where they were derived from."""

    models: tuple[Model, ...]
    retired: Mapping[str, RetiredModel] = field(default_factory=dict)
    source: str = ""  # the spec file (or URL) the catalog was derived from

    def __hash__(self) -> int:
        return hash((self.source, tuple(m.id for m in self.models)))

    def get(self, model_id: str) -> Model:
        """The model with this id; ``KeyError`` if unknown (a retired id is unknown too)."""
        for m in self.models:
            if m.id == model_id:
                return m
        raise KeyError(model_id)

    def find(self, model_id: str) -> Model | None:
        try:
            return self.get(model_id)
        except KeyError:
            return None

    def by_path(self, path: str) -> Model:
        """The model served at ``/generate/image/...``; ``KeyError`` if none."""
        path = "/" + path.lstrip("/")
        if not path.startswith(IMAGE_PATH_PREFIX):
            raise KeyError(path)
        return self.get(path[len(IMAGE_PATH_PREFIX):])

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.models)

    def __iter__(self) -> Iterator[Model]:
        return iter(self.models)

    def __len__(self) -> int:
        return len(self.models)

    def __contains__(self, model_id: object) -> bool:
        return any(m.id == model_id for m in self.models)

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "models": [m.to_dict() for m in self.models],
            "retired": [asdict(r) for r in sorted(self.retired.values(), key=lambda r: r.id)],
        }

    def to_json(self) -> str:
        """Pretty, stable JSON (the content of ``assets/models.json``), ending in a newline."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Catalog:
        retired = {r["id"]: RetiredModel(**r) for r in data.get("retired", ())}
        return cls(
            models=tuple(Model.from_dict(m) for m in data["models"]),
            retired=retired,
            source=data.get("source", ""),
        )

    @classmethod
    def from_json(cls, text: str) -> Catalog:
        return cls.from_dict(json.loads(text))
