"""The Arena tab (being built)."""

from __future__ import annotations

import gradio as gr

from playground.ui.context import UIContext

ARENA_JS = "() => {}"
ARENA_CSS = ""


def build_arena_tab(ctx: UIContext) -> None:
    gr.Markdown("Coming next.")
