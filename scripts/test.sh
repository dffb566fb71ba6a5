#!/usr/bin/env bash
# Installs everything the tests need on a fresh machine, then runs every test.
# Used by the README's test command and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

# Browser tests drive Debian's Chromium (no `playwright install`: that would download a browser).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "Installing Debian chromium for the browser tests..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q chromium >/dev/null
  else
    echo "NOTE: /usr/bin/chromium is missing and this is not root: browser tests will be skipped." >&2
    echo "      Install it with: sudo apt-get install -y chromium" >&2
  fi
fi

# The Go copy-as-code snippets are built and run by tests/test_snippets.py (standard library only, offline).
if ! command -v go >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    echo "Installing Debian golang-go for the Go snippet tests..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q golang-go >/dev/null
  else
    echo "NOTE: go is missing and this is not root: the Go snippet tests will be skipped." >&2
    echo "      Install it with: sudo apt-get install -y golang-go" >&2
  fi
fi

# The accessibility test injects axe-core into the page (tests/browser/test_accessibility.py); npm fetches it once.
AXE_VERSION=4.14.1
if [ ! -f .cache/axe/node_modules/axe-core/axe.min.js ] || \
   ! grep -q "\"version\": \"$AXE_VERSION\"" .cache/axe/node_modules/axe-core/package.json 2>/dev/null; then
  if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "Installing Debian npm for the accessibility test..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q npm >/dev/null
  fi
  if command -v npm >/dev/null 2>&1; then
    echo "Installing axe-core $AXE_VERSION for the accessibility test..."
    npm install --prefix .cache/axe --no-save --no-audit --no-fund --silent "axe-core@$AXE_VERSION"
  else
    echo "NOTE: npm is missing and this is not root: the accessibility test will be skipped (fails under CI=true)." >&2
    echo "      Install Node.js and npm, e.g.: sudo apt-get install -y npm" >&2
  fi
fi

# Into .venv, the same one scripts/run.sh uses (system Pythons may refuse pip: PEP 668). $PYTHON picks the base.
source scripts/bootstrap.sh requirements-dev.txt

export GRADIO_ANALYTICS_ENABLED=False
export PYTHONDONTWRITEBYTECODE=1
exec "$VENV_PYTHON" -m pytest -q -rs -p no:cacheprovider "$@"
