"""Running copy-as-code snippets as real programs (bash + curl, Python, Node, Go), and seeing what they sent.

``SnippetRunner`` writes a snippet to a file as a user would and runs it in a subprocess; Go is built once per
distinct program (stdlib only, offline: no module download, no toolchain switch). ``RequestLog`` wraps the sandbox
app and records every HTTP request with its raw body, so a test can compare the bytes that arrived.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

FILE_NAMES = {"curl": "generate.sh", "python": "generate.py", "node": "generate.js", "go": "main.go"}
SNIPPET_TOKEN = "snippet-token"
RUN_TIMEOUT = 60  # seconds; a snippet polls every 2 s, sandbox jobs here last about 0.1 s
BUILD_TIMEOUT = 300  # a cold Go cache compiles net/http once


@functools.lru_cache(maxsize=None)
def missing_tool(language: str) -> str | None:
    """Why ``language``'s snippets cannot run here, or None when they can."""
    if language == "curl":
        missing = [tool for tool in ("bash", "curl") if shutil.which(tool) is None]
        return f"{' and '.join(missing)} not installed: cURL snippets need bash and curl" if missing else None
    if language == "node":
        if shutil.which("node") is None:
            return "node is not installed: Node snippets need Node 18+"
        version = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
        major = re.match(r"v(\d+)", version)
        return None if major and int(major.group(1)) >= 18 else f"node {version} has no fetch: Node 18+ is needed"
    if language == "go":
        if shutil.which("go") is None:
            return "go is not installed (Debian: apt-get install golang-go; scripts/test.sh does it as root)"
    return None


def snippet_env(token: str | None = SNIPPET_TOKEN) -> dict[str, str]:
    """The test's environment without proxies (the sandbox is on loopback) and with ``token`` as the only token."""
    env = {k: v for k, v in os.environ.items()
           if "proxy" not in k.lower() and k not in ("KREA_API_TOKEN", "KREA_API_KEY")}
    if token is not None:
        env["KREA_API_TOKEN"] = token
    return env


class SnippetRunner:
    """Runs snippets from files in ``workdir``; Go programs are built once each, with a cache kept in ``gocache``."""

    def __init__(self, workdir: Path, gocache: Path):
        self.workdir = workdir
        self.gocache = gocache
        self._binaries: dict[str, Path] = {}
        self._lock = threading.Lock()

    def run(self, language: str, code: str, *, token: str | None = SNIPPET_TOKEN) -> subprocess.CompletedProcess:
        command = self.command(language, code)
        return subprocess.run(command, env=snippet_env(token), capture_output=True, text=True,
                              encoding="utf-8", timeout=RUN_TIMEOUT, cwd=self.workdir)

    def command(self, language: str, code: str) -> list[str]:
        if language == "go":
            return [str(self._go_binary(code))]
        folder = self._folder(code)
        path = folder / FILE_NAMES[language]
        path.write_text(code, encoding="utf-8")
        runner = {"curl": ["bash"], "python": [sys.executable], "node": ["node"]}[language]
        return [*runner, str(path)]

    def _folder(self, code: str) -> Path:
        folder = self.workdir / hashlib.sha256(code.encode()).hexdigest()[:16]
        folder.mkdir(exist_ok=True)
        return folder

    def _go_binary(self, code: str) -> Path:
        with self._lock:
            if code not in self._binaries:
                folder = self._folder(code)
                (folder / "main.go").write_text(code, encoding="utf-8")
                (folder / "go.mod").write_text("module snippet\n\ngo 1.18\n", encoding="utf-8")
                env = {**snippet_env(), **go_env(self.gocache)}
                built = subprocess.run(["go", "build", "-o", "snippet", "main.go"], cwd=folder, env=env,
                                       capture_output=True, text=True, timeout=BUILD_TIMEOUT)
                if built.returncode != 0:
                    raise AssertionError(f"go build failed:\n{built.stderr}\n--- main.go ---\n{code}")
                self._binaries[code] = folder / "snippet"
            return self._binaries[code]


def go_env(gocache: Path) -> dict[str, str]:
    """Offline Go: the standard library only, never a module download or a toolchain switch."""
    return {"GOCACHE": str(gocache), "GOPATH": str(gocache / "gopath"), "GOFLAGS": "-mod=mod", "GOPROXY": "off",
            "GOTOOLCHAIN": "local", "GO111MODULE": "on", "GOSUMDB": "off", "CGO_ENABLED": "0"}


def default_gocache() -> Path:
    """A Go build cache that outlives the test session (the first build compiles the standard library)."""
    return Path(tempfile.gettempdir()) / f"playground-snippet-gocache-{os.getuid()}"


# ------------------------------------------------------------------------------------------ request log


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    authorization: str | None
    body: bytes


class RequestLog:
    """ASGI middleware that records every HTTP request (method, path, Authorization, raw body) in order."""

    def __init__(self, app):
        self.app = app
        self.requests: list[SeenRequest] = []
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def seen(self, method: str | None = None) -> list[SeenRequest]:
        with self._lock:
            return [r for r in self.requests if method is None or r.method == method]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        body, more = b"", scope["method"] not in ("GET", "HEAD", "DELETE")
        while more:  # read the whole body first, then hand it on as one message
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            more = message.get("more_body", False)
        self._record(scope, dict(scope.get("headers") or []), body)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)

    def _record(self, scope, headers: dict, body: bytes) -> None:
        authorization = headers.get(b"authorization")
        with self._lock:
            self.requests.append(SeenRequest(scope["method"], scope["path"],
                                             authorization.decode("latin-1") if authorization else None, body))
