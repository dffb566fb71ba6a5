"""The client is a layer below the catalog: it never imports it (the caller validates, with its own catalog)."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import playground.krea

KREA_DIR = Path(playground.krea.__file__).parent


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):  # function bodies and TYPE_CHECKING too
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_module_of_the_client_imports_the_catalog():
    offenders = {path.name: sorted(n for n in imported_modules(path) if n.startswith("playground.catalog"))
                 for path in sorted(KREA_DIR.glob("*.py"))}
    assert {name: found for name, found in offenders.items() if found} == {}


SUBMIT_WITHOUT_CATALOG = """
import json, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"job_id": "j1", "status": "queued", "created_at": None, "result": None}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()

from playground.krea import KreaClient
from playground.settings import ClientSettings

with KreaClient("t", ClientSettings(base_url=f"http://127.0.0.1:{server.server_address[1]}")) as client:
    for model in ("bfl/flux-1-dev", "/generate/image/bfl/flux-1-dev"):
        assert client.submit_job(model, {"prompt": "a fox", "steps": 10_000}).job_id == "j1"
server.shutdown()
print(sorted(name for name in sys.modules if name.startswith("playground.catalog")))
"""


def test_submitting_loads_no_catalog():
    root = Path(playground.krea.__file__).parents[2]
    done = subprocess.run([sys.executable, "-c", SUBMIT_WITHOUT_CATALOG], cwd=root, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(root), "NO_PROXY": "127.0.0.1"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
