"""Calling the app's endpoints through gradio_client the way the page does."""

from __future__ import annotations

import re


def label_key(label: str) -> str:
    """'Budget cap ($)' -> 'budget_cap', 'Models (2–8)' -> 'models', 'Randomize seed' -> 'randomize_seed'."""
    label = re.sub(r"\(.*?\)", "", label or "")
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


def endpoint_args(client, api_name: str, **values) -> list:
    """Positional arguments for `api_name`: the page's own defaults, with `values` (by label key or parameter
    name) put over them. Unknown names are an error, so a renamed field cannot silently fall back to a default."""
    info = client.view_api(return_format="dict", print_info=False)["named_endpoints"][api_name]
    args, used = [], set()
    for param in info["parameters"]:
        keys = [k for k in (param["parameter_name"], label_key(param.get("label"))) if k in values]
        if keys:
            args.append(values[keys[0]])
            used.add(keys[0])
        else:
            args.append(param.get("parameter_default") if param.get("parameter_has_default") else None)
    unknown = set(values) - used
    if unknown:
        raise KeyError(f"{api_name} has no parameter {sorted(unknown)}")
    return args
