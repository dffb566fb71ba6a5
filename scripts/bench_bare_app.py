"""A bare Gradio app (one textbox), launched like app.py: the benchmark's baseline for start-up and idle CPU.

    python scripts/bench_bare_app.py --port 7870
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("GRADIO_RUN_HISTORY", "False")

import gradio as gr  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=7870)
    args = parser.parse_args()
    with gr.Blocks() as demo:
        gr.Textbox(label="Text")
    demo.launch(server_name="127.0.0.1", server_port=args.port, run_history=False)


if __name__ == "__main__":
    main()
