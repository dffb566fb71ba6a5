"""The sandbox: our Krea-compatible server (FastAPI + uvicorn) with a job engine, procedural images and faults.

See docs/SANDBOX.md for what it matches of Krea's API and what it does not.
"""

from .engine import JobEngine
from .faults import Fault
from .renderer import render_image, render_preview, render_previews
from .runner import SandboxServer
from .server import create_app

__all__ = ["Fault", "JobEngine", "SandboxServer", "create_app", "render_image", "render_preview",
           "render_previews"]
