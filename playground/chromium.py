"""How the browser tests and scripts/screenshots.py start Debian's Chromium through Playwright.

Development-only (nothing in the app imports it); it lives in the package so scripts never import from tests.
"""

CHROMIUM_PATH = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps trying to reach Google on this closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
