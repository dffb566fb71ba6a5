"""The sandbox's ``GET /openapi.json``, and which paths are Krea's.

The served spec is Krea's 2026-05 snapshot cut down to what the sandbox answers: every operation it does not
implement (video, enhance, node apps, style training, editing and sharing) is removed, so a client that discovers
the API from the spec (as ``playground.catalog.live`` does) never calls one; the image models of the catalog that
the snapshot lacks (the Krea 2 family) are added. :func:`is_krea_path` tells the 404/405 answers which paths are
Krea's API, so that an unimplemented operation answers 401 without a valid token before it says 404, as every
route of Krea's does (``security: bearerAuth`` on the whole spec).
"""

from __future__ import annotations

import copy
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from playground.settings import OPENAPI_SNAPSHOT_PATH

GENERATE_IMAGE = "/generate/image/"
# The operations of Krea's spec the sandbox implements, besides POST /generate/image/{model} for its catalog.
SERVED_OPERATIONS = frozenset({
    ("get", "/jobs"), ("get", "/jobs/{id}"), ("delete", "/jobs/{id}"),
    ("post", "/assets"), ("get", "/assets"), ("get", "/assets/{id}"), ("delete", "/assets/{id}"),
    ("get", "/styles"), ("get", "/styles/{id}"),
})
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@lru_cache(maxsize=4)
def _snapshot(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _load(snapshot_path: Path) -> dict:
    return json.loads(_snapshot(Path(snapshot_path)))


def is_served(method: str, path: str, model_paths: frozenset[str] | set[str]) -> bool:
    """Whether the sandbox implements this operation of Krea's spec (``path`` as the spec writes it)."""
    if path.startswith(GENERATE_IMAGE):
        return method == "post" and path in model_paths
    return (method, path) in SERVED_OPERATIONS


def build_openapi(catalog, snapshot_path: Path = OPENAPI_SNAPSHOT_PATH) -> dict:
    """Krea's snapshot without the operations the sandbox does not implement, plus a path for every catalog
    model the snapshot lacks; tags no operation uses any more are dropped."""
    spec = _load(snapshot_path)
    model_paths = {model.path for model in catalog.models}
    paths: dict[str, Any] = spec.setdefault("paths", {})
    template = copy.deepcopy(paths.get("/generate/image/bfl/flux-1-dev", {}).get("post", {}))
    for path in list(paths):
        item = paths[path]
        for method in [m for m in item if m in HTTP_METHODS]:
            if not is_served(method, path, model_paths):
                del item[method]
        if not any(m in item for m in HTTP_METHODS):
            del paths[path]
    responses = template.get("responses") or {"200": {"description": "The job, pending."}}
    webhook = {
        "name": "X-Webhook-URL",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "format": "uri"},
        "description": "URL to receive a POST request when the job completes.",
    }
    for model in catalog.models:
        if model.path in paths:
            continue
        properties = {p.name: copy.deepcopy(p.schema) or _schema_of(p) for p in model.params}
        paths[model.path] = {
            "post": {
                "tags": ["Image"],
                "summary": model.name,
                "description": model.description,
                "parameters": [webhook],
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": properties,
                                "required": [p.name for p in model.params if p.required],
                                "additionalProperties": False,
                            }
                        }
                    }
                },
                "responses": copy.deepcopy(responses),
                "x-sandbox-source": "playground catalog (not in the 2026-05 snapshot)",
            }
        }
    used = {tag for item in paths.values() for method, op in item.items() if method in HTTP_METHODS
            for tag in op.get("tags", ())}
    if "tags" in spec:
        spec["tags"] = [tag for tag in spec["tags"] if tag.get("name") in used]
    return spec


def _schema_of(param) -> dict:
    schema: dict[str, Any] = {"type": [param.type, "null"] if param.nullable else param.type}
    for key, value in (
        ("minimum", param.minimum),
        ("maximum", param.maximum),
        ("minLength", param.min_length),
        ("maxLength", param.max_length),
        ("minItems", param.min_items),
        ("maxItems", param.max_items),
        ("multipleOf", param.multiple_of),
        ("default", param.default),
    ):
        if value is not None:
            schema[key] = value
    if param.choices is not None:
        schema["enum"] = list(param.choices)
    if param.description:
        schema["description"] = param.description
    return schema


@lru_cache(maxsize=4)
def _krea_path_pattern(snapshot_path: Path) -> re.Pattern[str]:
    templates = sorted(_load(snapshot_path).get("paths", {}))
    parts = [re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(t)) for t in templates]
    return re.compile("^(?:" + "|".join([*parts, re.escape("/generate/") + ".+"]) + ")$")


def is_krea_path(path: str, snapshot_path: Path = OPENAPI_SNAPSHOT_PATH) -> bool:
    """Whether ``path`` is one of Krea's API paths (any operation of its spec, served here or not, or any
    ``/generate/...`` model): such a request is authenticated before the sandbox says 404 or 405."""
    return bool(_krea_path_pattern(Path(snapshot_path)).match(path))
