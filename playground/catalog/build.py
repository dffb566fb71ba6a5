"""Regenerate ``assets/models.json`` from an OpenAPI spec plus the overrides.

    python -m playground.catalog.build [--openapi PATH] [--out PATH]

The output is pretty-printed with a stable order, so a diff shows exactly what a newer spec changed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from playground.settings import CATALOG_PATH, OPENAPI_SNAPSHOT_PATH

from .from_openapi import derive_catalog
from .model import Catalog


def build_catalog(openapi_path: str | Path = OPENAPI_SNAPSHOT_PATH) -> Catalog:
    """The catalog derived from the spec file at ``openapi_path`` (source recorded as its file name)."""
    path = Path(openapi_path)
    spec = json.loads(path.read_text(encoding="utf-8"))
    return derive_catalog(spec, source=path.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m playground.catalog.build", description=__doc__.splitlines()[0])
    parser.add_argument("--openapi", default=str(OPENAPI_SNAPSHOT_PATH), help="OpenAPI spec (JSON) to derive from")
    parser.add_argument("--out", default=str(CATALOG_PATH), help="where to write the catalog JSON")
    args = parser.parse_args(argv)
    catalog = build_catalog(args.openapi)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(catalog.to_json(), encoding="utf-8")
    print(f"wrote {len(catalog.models)} models ({len(catalog.retired)} retired) to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
