"""The layers of docs/ARCHITECTURE.md, checked on the source: each imports only what sits below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def files(*parts: str) -> list[Path]:
    target = ROOT.joinpath(*parts)
    return sorted(target.rglob("*.py")) if target.is_dir() else [target.with_suffix(".py")]


def offenders(paths: list[Path], forbidden) -> list[str]:
    return [f"{p.relative_to(ROOT)} imports {name}" for p in paths for name in sorted(imports_of(p))
            if forbidden(name)]


def ours(name: str) -> bool:
    return name == "playground" or name.startswith("playground.")


@pytest.mark.parametrize("layer, allowed", [
    ("playground/krea", ("playground.krea", "playground.settings")),
    ("playground/catalog", ("playground.catalog", "playground.settings")),
    ("playground/sandbox", ("playground.sandbox", "playground.catalog", "playground.settings")),
])
def test_low_layers_import_nothing_above_them(layer, allowed):
    assert offenders(files(layer), lambda n: ours(n) and not n.startswith(allowed)) == []


@pytest.mark.parametrize("module", ["runs", "generate", "compare", "service", "evaluation", "arena", "grid_runner", "grid_plan", "rating", "image_diff", "contact_sheet", "sessions", "outputs", "settings",
                                    "store", "journal", "history", "recipes", "snippets", "bundles",
                                    "cleanup", "references", "reference_mapping", "asset_cache", "style_list"])
def test_the_run_path_knows_nothing_of_gradio(module):
    assert offenders(files("playground", module), lambda n: n.split(".")[0] in ("gradio", "gradio_client")) == []


def test_the_ui_makes_no_http_calls_and_starts_no_runs_itself():
    forbidden = ("requests", "playground.krea.client", "playground.generate", "playground.sandbox")
    assert offenders(files("playground/ui"), lambda n: n.startswith(forbidden)) == []


def test_scripts_never_import_from_tests():
    assert offenders(files("scripts"), lambda n: n == "tests" or n.startswith("tests.")) == []
