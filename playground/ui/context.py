"""What every tab needs from the app: the catalog, the backend, per-session state and a few limits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from playground.catalog import Catalog
from playground.sessions import Backend, SessionRegistry


@dataclass
class UIContext:
    demo: gr.Blocks
    catalog: Catalog
    backend: Backend
    sessions: SessionRegistry
    output_dir: Path
    concurrency_limit: int
