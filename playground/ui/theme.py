"""The app's look: its Gradio theme, favicon, and the small script that patches accessibility gaps in Gradio's
own markup."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

FAVICON_PATH = Path(__file__).resolve().parents[2] / "assets" / "favicon.png"
A11Y_JS = "() => {}"


def theme() -> gr.themes.Base:
    # System fonts only: a web font would be an outbound request from every visitor's browser.
    return gr.themes.Soft(
        primary_hue="violet",
        secondary_hue="sky",
        neutral_hue="slate",
        font=["ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
    ).set(
        # Soft's pale violet primary button fails contrast with white text; a deeper violet passes.
        button_primary_background_fill="*primary_600",
        button_primary_background_fill_hover="*primary_700",
        button_primary_background_fill_dark="*primary_600",
        button_primary_background_fill_hover_dark="*primary_500",
        button_primary_text_color="white",
        button_primary_text_color_dark="white",
    )
