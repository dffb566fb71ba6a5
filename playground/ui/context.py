"""What every tab needs from the app: the catalog, the run service, per-session state and a few limits."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from playground.catalog import Catalog
from playground.evaluation import Evaluation
from playground.service import RunService
from playground.sessions import Backend, SessionRegistry


@dataclass
class UIContext:
    demo: gr.Blocks
    catalog: Catalog
    backend: Backend
    sessions: SessionRegistry
    service: RunService
    concurrency_limit: int
    evaluation: Evaluation | None = None  # grids and the arena (None: tabs built without them, in some tests)
