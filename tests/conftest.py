"""Suite-wide setup: no outbound calls from Gradio, and shared helpers for starting the sandbox."""

import os

# Gradio's analytics thread and gradio_client's telemetry are outbound calls: off before anything imports gradio.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("GRADIO_RUN_HISTORY", "False")
