"""The one parameter check shared by the form, the client and the sandbox, and example bodies for tests.

Every message names the field first and says what is allowed, so it can be shown as is: in the UI next to
the field, in a ``ValidationFailed`` before any request leaves, or in the sandbox's 400 body. A value inside a
list is named by its path as Krea names it (``style_images.0.strength``).

It follows the spec: what the spec takes is taken, with these divergences, each kept for a stated reason:

* URLs (``format: uri``) must be http(s) with a host; the Krea 2 style references also take a
  ``data:image/...;base64,`` URI [C ZDR]. JSON Schema's ``uri`` would also take ``ftp:`` or ``mailto:``; nothing
  but an http(s) URL or an allowed data URI can reach a provider's image fetcher [I].
* Flux Kontext refuses a body without ``image_url`` (optional in the spec; an editing model) [C SPEC summary].
* Bounds the overrides add where the spec is silent (``overrides.PARAM_BOUNDS``/``BOUNDS_BY_NAME``: seeds
  0..2**32-1, GPT Image 2's 480..3840 and multiple of 16, the Nano Banana and Qwen sizes, Seedream's floor of
  one pixel, the image-input maxima of ``overrides.IMAGE_INPUT_FACTS``); each says why next to it.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, Mapping
from urllib.parse import urlsplit

from .from_openapi import schema_type
from .image_inputs import needed_message
from .model import Model, Param

# The spec's own example of an input image (SeedEdit); example bodies use it where an image is needed.
EXAMPLE_IMAGE_URL = "https://gen.krea.ai/images/0424f602-2999-4d0c-a46e-39cbf0ef384b.png"
DEFAULT_EXAMPLE_PROMPT = "A lighthouse on a rocky cliff at dusk, warm light in the windows"

_TYPE_WORDS = {
    "string": "a string", "integer": "a whole number", "number": "a number", "boolean": "true or false",
    "array": "a list", "object": "an object",
}


@dataclass(frozen=True)
class FieldError:
    """One problem with one field; ``message`` names the field and the allowed range or choices.

    ``field`` is the top-level body field (what a form marks); ``path`` the exact value, e.g.
    ``style_images.0.strength`` (equal to ``field`` for a top-level value)."""

    field: str
    message: str
    path: str = dataclass_field(default="", compare=False)


class ValidationFailed(Exception):
    """Raised by :func:`check_params`; ``str()`` joins the messages, ``field`` is the first error's field."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = list(errors)
        self.field = self.errors[0].field if self.errors else None
        super().__init__("; ".join(e.message for e in self.errors) or "invalid parameters")


@dataclass(frozen=True)
class _Rules:
    """The constraints of one value, from a :class:`Param` (top level) or a raw schema (items, properties)."""

    type: str
    nullable: bool = False
    integer: bool = False
    format: str | None = None
    choices: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None
    multiple_of: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    min_items: int | None = None
    max_items: int | None = None
    items: dict | None = None
    properties: dict | None = None
    required: tuple = ()

    @classmethod
    def of_param(cls, p: Param) -> _Rules:
        s = p.schema or {}
        # Only a typed integer refuses a fraction: the spec's "number" sizes and seeds take 1000.5 (model.py).
        return cls(p.type, p.nullable, p.type == "integer", s.get("format"), p.choices, p.minimum, p.maximum,
                   p.multiple_of,
                   p.min_length, p.max_length, s.get("pattern"), p.min_items, p.max_items,
                   s.get("items") if isinstance(s.get("items"), dict) else None,
                   s.get("properties"), tuple(s.get("required", ())))

    @classmethod
    def of_schema(cls, s: dict) -> _Rules:
        type_, nullable = schema_type(s)
        multiple = s.get("multipleOf")
        return cls(type_, nullable, type_ == "integer", s.get("format"), tuple(s["enum"]) if "enum" in s else None,
                   s.get("minimum"), s.get("maximum"), int(multiple) if isinstance(multiple, int) else None,
                   s.get("minLength"), s.get("maxLength"), s.get("pattern"), s.get("minItems"), s.get("maxItems"),
                   s.get("items") if isinstance(s.get("items"), dict) else None,
                   s.get("properties"), tuple(s.get("required", ())))


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _shown(value: Any) -> str:
    """A value as it appears in a message: JSON-like, short."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _num(value) if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _type_ok(rules: _Rules, value: Any) -> bool:
    t = rules.type
    if t == "string":
        return isinstance(value, str)
    if t == "boolean":
        return isinstance(value, bool)
    if t in ("number", "integer"):  # bool is an int in Python, but never a number in JSON
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        return not rules.integer or float(value).is_integer()
    if t == "array":
        return isinstance(value, (list, tuple))
    if t == "object":
        return isinstance(value, dict)
    return True  # a type this catalog does not know: accept rather than block


def _range_message(path: str, lo: float | None, hi: float | None, got: Any, unit: str = "") -> str:
    if lo is not None and hi is not None:
        return f"{path} must be between {_num(lo)} and {_num(hi)}{unit} (got {got})"
    if lo is not None:
        return f"{path} must be at least {_num(lo)}{unit} (got {got})"
    return f"{path} must be at most {_num(hi)}{unit} (got {got})"  # type: ignore[arg-type]


_DATA_IMAGE_URI = re.compile(r"data:image/[A-Za-z0-9.+-]+;base64,[A-Za-z0-9+/]+={0,2}")


def is_http_url(value: str) -> bool:
    """An absolute http(s) URL with a host and no spaces: what a provider can fetch."""
    if not value or any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # e.g. a port that is not a number
        return False


def is_data_image_uri(value: str) -> bool:
    """``data:image/<type>;base64,<base64>`` (what ZDR asks for in place of an external URL) [C ZDR]."""
    return _DATA_IMAGE_URI.fullmatch(value) is not None


def _uri_problem(path: str, value: str, data_uri: bool) -> str | None:
    if is_http_url(value) or (data_uri and is_data_image_uri(value)):
        return None
    wanted = "an http(s) URL or a data:image/...;base64, URI" if data_uri else "an http(s) URL"
    if value.startswith("data:") and not data_uri:
        wanted += " (this field takes no data: URI; upload the file with POST /assets)"
    return f"{path} must be {wanted} (got {_shown(value)})"


def _check(path: str, top: str, rules: _Rules, value: Any, data_uri: bool = False) -> list[FieldError]:
    """All problems of one value; ``path`` is what messages name (``style_images.0.url``), ``top`` the field.
    ``data_uri``: a ``format: uri`` string may also be a data:image/...;base64, URI."""
    def err(message: str) -> list[FieldError]:
        return [FieldError(top, message, path)]

    if value is None:
        return [] if rules.nullable else err(f"{path} must not be null")
    if not _type_ok(rules, value):
        word = "a whole number" if rules.integer else _TYPE_WORDS.get(rules.type, rules.type)
        return err(f"{path} must be {word} (got {_shown(value)})")
    if rules.choices is not None and not any(value == c and type(value) is type(c) for c in rules.choices):
        allowed = ", ".join(str(c) for c in rules.choices if c is not None)
        return err(f"{path} must be one of {allowed} (got {_shown(value)})")
    errors: list[FieldError] = []
    if rules.type in ("number", "integer"):
        lo, hi = rules.minimum, rules.maximum
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            errors += err(_range_message(path, lo, hi, _shown(value)))
        elif rules.multiple_of and value % rules.multiple_of:
            errors += err(f"{path} must be a multiple of {rules.multiple_of} (got {_shown(value)})")
    elif rules.type == "string":
        # As the spec says, no more: a prompt without minLength (Qwen, Z Image) may be empty, and "  " is as long
        # as minLength 1 asks. The run service refuses a blank prompt itself, before this check.
        n = len(value)
        if (rules.min_length is not None and n < rules.min_length) or (
                rules.max_length is not None and n > rules.max_length):
            if rules.max_length is not None and n > rules.max_length:
                errors += err(f"{path} must be at most {rules.max_length} characters (got {n})")
            elif rules.min_length == 1:
                errors += err(f"{path} must not be empty")
            else:
                errors += err(f"{path} must be at least {rules.min_length} characters (got {n})")
        elif rules.pattern and not re.search(rules.pattern, value):
            errors += err(f"{path} must match {rules.pattern} (got {_shown(value)})")
        elif rules.format == "uri":
            problem = _uri_problem(path, value, data_uri)
            if problem:
                errors += err(problem)
    elif rules.type == "array":
        n = len(value)
        if rules.max_items is not None and n > rules.max_items:
            errors += err(f"{path} takes at most {rules.max_items} item{'s' * (rules.max_items != 1)} (got {n})")
        if rules.min_items is not None and n < rules.min_items:
            errors += err(f"{path} needs at least {rules.min_items} item{'s' * (rules.min_items != 1)} (got {n})")
        if rules.items is not None:
            item_rules = _Rules.of_schema(rules.items)
            for i, item in enumerate(value):
                errors += _check(f"{path}.{i}", top, item_rules, item, data_uri)
    elif rules.type == "object":
        for key in rules.required:
            if key not in value:
                errors.append(FieldError(top, f"{path}.{key} is required", f"{path}.{key}"))
        for key, sub in (rules.properties or {}).items():
            if key in value and isinstance(sub, dict):
                errors += _check(f"{path}.{key}", top, _Rules.of_schema(sub), value[key], data_uri)
    return errors


def _unknown_message(model: Model, key: str) -> str:
    names = [p.name for p in model.params]
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", str(key)).lower()
    guess = snake if snake in names and snake != key else next(
        iter(difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)), None)
    hint = f" (did you mean '{guess}'?)" if guess else ""
    return f"Unknown field '{key}'{hint}: {model.name} accepts {', '.join(names)}"


def validate_params(model: Model, params: Mapping[str, Any]) -> list[FieldError]:
    """Every problem with a request body for ``model``; an empty list means Krea should accept it."""
    if not isinstance(params, Mapping):
        return [FieldError("body", f"the request body must be a JSON object (got {_shown(params)})", "body")]
    errors: list[FieldError] = []
    for p in model.params:
        image = model.image_input(p.name)
        if image is not None and image.required and params.get(p.name) in (None, "", [], ()):
            # One message saying what is needed, whether the field is absent, null or empty (an image-only model)
            errors.append(FieldError(p.name, needed_message(model.name, image), p.name))
            continue
        if p.name not in params:
            if p.required:
                errors.append(FieldError(p.name, f"{p.name} is required", p.name))
            continue
        errors += _check(p.name, p.name, _Rules.of_param(p), params[p.name],
                         data_uri=image is not None and image.data_uri)
    for key in params:
        if key not in model.accepts:
            errors.append(FieldError(str(key), _unknown_message(model, key), str(key)))
    return errors


def check_params(model: Model, params: Mapping[str, Any]) -> None:
    """Raise :class:`ValidationFailed` if ``params`` is not a valid body for ``model``."""
    errors = validate_params(model, params)
    if errors:
        raise ValidationFailed(errors)


# --- example bodies --------------------------------------------------------------------------------------------

def _example_number(rules: _Rules, default: Any = None) -> float | int:
    if default is not None:
        return default
    lo, hi = rules.minimum, rules.maximum
    value: float = 1 if lo is None or lo <= 1 <= (hi if hi is not None else 1) else (lo if lo is not None else 0)
    if hi is not None and value > hi:
        value = hi
    return int(value) if rules.type == "integer" or float(value).is_integer() else value


def _example_from_schema(name: str, schema: dict, index: int = 0) -> Any:
    rules = _Rules.of_schema(schema)
    if schema.get("default") is not None:
        return schema["default"]
    if rules.choices:
        return next(c for c in rules.choices if c is not None)
    if rules.type == "string":
        if schema.get("format") == "uri" or name.endswith(("url", "_urls")):
            return EXAMPLE_IMAGE_URL
        return f"ref{index + 1}" if name == "tag" else "example"
    if rules.type in ("number", "integer"):
        return _example_number(rules)
    if rules.type == "boolean":
        return False
    if rules.type == "array":
        count = max(1, rules.min_items or 0)
        return [_example_from_schema(name, rules.items or {}, i) for i in range(count)]
    if rules.type == "object":
        props = rules.properties or {}
        return {k: _example_from_schema(k, props.get(k, {}), index) for k in rules.required}
    return None


def _example_value(p: Param) -> Any:
    if p.default is not None:
        return p.default
    if p.choices:
        for preferred in ("1:1", "1K"):
            if preferred in p.choices:
                return preferred
    if p.name in ("width", "height"):  # 1024, as in the spec's own examples, kept inside the model's limits
        side = 1024
        side = min(side, int(p.maximum)) if p.maximum is not None else side
        side = max(side, int(math.ceil(p.minimum))) if p.minimum is not None else side
        return (side // p.multiple_of) * p.multiple_of if p.multiple_of else side
    return _example_from_schema(p.name, p.schema)


def example_params(model: Model, prompt: str = DEFAULT_EXAMPLE_PROMPT) -> dict[str, Any]:
    """A minimal valid body: the prompt, every required field (default or a sensible value), an input image
    for models that need one."""
    body: dict[str, Any] = {}
    if "prompt" in model.accepts:
        body["prompt"] = prompt
    for p in model.params:
        if p.required and p.name not in body:
            body[p.name] = _example_value(p)
    if model.needs_image and "image_url" in model.accepts and "image_url" not in body:
        body["image_url"] = EXAMPLE_IMAGE_URL
    return body
