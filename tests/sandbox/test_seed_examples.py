"""Krea's own doc examples (the Text to Image page) run unchanged against `python -m playground.sandbox`.

Only the base URL changes. The page is read from ``shared/seed/`` (beside the repo, or /work/shared) at test
time; without it, the verbatim copies kept here are used (``seed_example.py`` and ``CURL_FALLBACK``), and a test
checks that those copies still match the page whenever it is present.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests
from PIL import Image

from .conftest import loopback_env, standalone_sandbox

REPO = Path(__file__).resolve().parents[2]
SEED_NAME = "seed/000_67da42c3b5ae34c1.txt"
SEED_CANDIDATES = (REPO.parent / "shared" / SEED_NAME, Path("/work/shared") / SEED_NAME)
PYTHON_FALLBACK = Path(__file__).with_name("seed_example.py")
KREA_BASE = "https://api.krea.ai"
DOC_JOB_ID = "550e8400-e29b-41d4-a716-446655440000"
CURL_FALLBACK = """\
# Step 1: Create generation job
curl -X POST https://api.krea.ai/generate/image/bfl/flux-1-dev \\
  -H "Authorization: Bearer YOUR_API_TOKEN" \\
  -H "Content-Type: application/json" \\
  -d '{
    "prompt": "a serene mountain landscape at sunset",
    "width": 1024,
    "height": 576,
    "steps": 28
  }'

# Response: {"job_id": "550e8400-e29b-41d4-a716-446655440000", ...}

# Step 2: Poll for completion (repeat until completed)
curl -X GET https://api.krea.ai/jobs/550e8400-e29b-41d4-a716-446655440000 \\
  -H "Authorization: Bearer YOUR_API_TOKEN"
"""


def seed_page() -> str | None:
    for path in SEED_CANDIDATES:
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return None


def first_block(page: str, language: str) -> str:
    """The first fenced code block of this language, de-indented (the page nests them in <CodeGroup>)."""
    match = re.search(rf"^([ \t]*)```{language}\b[^\n]*\n(.*?)^\1```", page, re.DOTALL | re.MULTILINE)
    assert match, f"no ```{language} block in the seed page"
    return textwrap.dedent(match.group(2))


def python_example() -> str:
    page = seed_page()
    return first_block(page, "python") if page else PYTHON_FALLBACK.read_text(encoding="utf-8")


def curl_example() -> str:
    page = seed_page()
    return first_block(page, "bash") if page else CURL_FALLBACK


@pytest.fixture(scope="module")
def standalone():
    """`python -m playground.sandbox --port 0` as its own process; yields the base URL it prints."""
    with standalone_sandbox() as base:
        yield base


def fetch_png(url: str) -> Image.Image:
    session = requests.Session()
    session.trust_env = False
    response = session.get(url, timeout=10)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    return Image.open(io.BytesIO(response.content))


def test_fallback_copies_match_the_doc_page():
    page = seed_page()
    if page is None:
        pytest.skip("shared/seed is not present: the fallback copies are used as they are")
    assert PYTHON_FALLBACK.read_text(encoding="utf-8") == first_block(page, "python")
    assert CURL_FALLBACK == first_block(page, "bash")


def test_python_example_runs_unchanged(standalone, tmp_path):
    source = python_example()
    line = f'API_BASE = "{KREA_BASE}"'
    assert source.count(line) == 1
    script = tmp_path / "example.py"
    script.write_text(source.replace(line, f'API_BASE = "{standalone}"'), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, str(script)], env=loopback_env(), capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    found = re.search(r"^Image ready: (\S+)$", run.stdout, re.MULTILINE)
    assert found, run.stdout
    url = found.group(1)
    assert url.startswith(standalone + "/files/")
    image = fetch_png(url)
    assert image.size == (1024, 576)
    assert image.text.get("sandbox") == "true"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_example_runs_unchanged(standalone):
    block = "\n".join(line for line in curl_example().splitlines() if not line.lstrip().startswith("#"))
    commands = [c.strip() for c in re.split(r"\n(?=curl )", block.strip()) if c.strip()]
    assert len(commands) == 2 and all(KREA_BASE in c for c in commands)

    def run(command: str) -> dict:
        done = subprocess.run(
            ["bash", "-c", command.replace(KREA_BASE, standalone)],
            env=loopback_env(), capture_output=True, text=True, timeout=30, check=False,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    submitted = run(commands[0])
    assert submitted["status"] in ("queued", "backlogged") and submitted["result"] is None
    assert DOC_JOB_ID in commands[1]
    polled = run(commands[1].replace(DOC_JOB_ID, submitted["job_id"]))
    assert polled["job_id"] == submitted["job_id"]
    assert polled["created_at"] == submitted["created_at"]
