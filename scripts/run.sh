#!/usr/bin/env bash
# Starts the playground from a fresh checkout: `bash scripts/run.sh [app.py flags]`, e.g. --port 7861.
# The first run makes the virtual environment .venv and installs requirements.txt (see bootstrap.sh); later runs
# start at once.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh requirements.txt

export GRADIO_ANALYTICS_ENABLED=False   # no outbound analytics calls
exec "$VENV_PYTHON" app.py "$@"
