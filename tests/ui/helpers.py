"""Calling the app's endpoints through gradio_client the way the page does."""

from __future__ import annotations


def endpoint_args(client, api_name: str, **values) -> list:
    """Positional arguments for `api_name`: the page's own defaults, with `values` (by label, lower-cased,
    spaces as underscores, or by parameter name) put over them."""
    info = client.view_api(return_format="dict", print_info=False)["named_endpoints"][api_name]
    args = []
    for param in info["parameters"]:
        keys = {param["parameter_name"], (param.get("label") or "").lower().replace(" ", "_")}
        hit = next((values[k] for k in keys if k in values), None)
        if any(k in values for k in keys):
            args.append(hit)
        else:
            args.append(param.get("parameter_default") if param.get("parameter_has_default") else None)
    return args
