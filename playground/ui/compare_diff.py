"""Compare's diff view: any two tiles' images side by side with a wipe, linked zoom and pan, and a heatmap.

The tiles' own image components are the inputs (their current pictures, whatever the comparison on screen: a live
run, a re-run, one opened from History), and each tile's head names its model, so nothing here keeps state.
"""

from __future__ import annotations

import re
from html import unescape

import gradio as gr

from playground.ui.diff_view import diff_placeholder_html, diff_view_html

HEAD_NAME = re.compile(r"<b>(.*?)</b>", re.S)


def tile_name(head_html: str | None, index: int) -> str:
    """The model a tile's head names ("Tile 2" when it names none)."""
    found = HEAD_NAME.search(head_html or "")
    return unescape(found.group(1)) if found else f"Tile {index + 1}"


def build_compare_diff(tiles: list) -> None:
    """The accordion under the tiles: pick two tiles, see their pixels compared. `tiles`: CompareTile items."""
    choices = [(f"Tile {i + 1}", i) for i in range(len(tiles))]
    with gr.Accordion("Diff two tiles · wipe, zoom, heatmap", open=False, elem_id="compare-diff-box"):
        with gr.Row():
            first = gr.Dropdown(choices, value=0, label="A", elem_id="compare-diff-a", min_width=140)
            second = gr.Dropdown(choices, value=1, label="B", elem_id="compare-diff-b", min_width=140)
            show = gr.Button("Show the difference", elem_id="compare-diff-show", scale=0, min_width=200)
        view = gr.HTML(diff_placeholder_html("Run a comparison, pick two tiles and press Show the difference."),
                       elem_id="compare-diff")

    def diff(a: int, b: int, *values):
        heads, pictures = values[:len(tiles)], values[len(tiles):]
        if a is None or b is None or a == b:
            return diff_placeholder_html("Pick two different tiles.", error=True)
        missing = [i for i in (a, b) if not pictures[i]]
        if missing:
            return diff_placeholder_html(f"Tile {missing[0] + 1} has no finished image yet.", error=True)
        return diff_view_html(pictures[a], pictures[b], tile_name(heads[a], a), tile_name(heads[b], b))

    show.click(diff, [first, second, *[t.head for t in tiles], *[t.picture for t in tiles]], view,
               api_visibility="private", concurrency_limit=4, concurrency_id="compare-diff")
