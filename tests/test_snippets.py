"""The copy-as-code snippets run as they are against a real (sandbox) server, and never hold the token."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from playground.sandbox import SandboxServer
from playground.settings import SandboxSettings
from playground.snippets import curl_snippet, python_snippet

BODY = {"prompt": "it's a \"quoted\" fox", "width": 512, "height": 512, "seed": 7}
PATH = "/generate/image/bfl/flux-1-dev"


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(SandboxSettings(speed=0.001, min_job_seconds=0.1)) as server:
        yield server


def test_python_snippet_runs_unchanged_and_prints_the_image_url(sandbox):
    code = python_snippet(sandbox.base_url, PATH, BODY)
    env = {**os.environ, "KREA_API_TOKEN": "snippet-token"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Image ready: {sandbox.base_url}/files/")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_snippet_submits_the_exact_body(sandbox):
    command = curl_snippet(sandbox.base_url, PATH, BODY).split("\n# then poll")[0]
    env = {**os.environ, "KREA_API_TOKEN": "snippet-token"}
    done = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True, timeout=30)
    assert '"job_id"' in done.stdout, done.stdout + done.stderr
    job = sandbox.engine.jobs[-1]
    assert job.prompt == BODY["prompt"] and (job.width, job.height, job.seed) == (512, 512, 7)


CANARY = "sk-canary-7f3a9c-not-a-real-token"
BUILD_IN_A_TOKENED_PROCESS = f"""
import json
from playground.snippets import curl_snippet, python_snippet
print(json.dumps([curl_snippet("https://api.krea.ai", {PATH!r}, {BODY!r}),
                  python_snippet("https://api.krea.ai", {PATH!r}, {BODY!r})]))
"""


def test_snippets_use_a_placeholder_never_the_token_of_the_process():
    # Built where a real token is at hand (env, as in the app): it must stay out; the placeholder goes in.
    env = {**os.environ, "KREA_API_TOKEN": CANARY, "KREA_API_KEY": CANARY}
    done = subprocess.run([sys.executable, "-c", BUILD_IN_A_TOKENED_PROCESS], env=env, capture_output=True,
                          text=True, timeout=60, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    curl, python = json.loads(done.stdout)
    assert CANARY not in curl and CANARY not in python
    assert '"Authorization: Bearer $KREA_API_TOKEN"' in curl
    assert "os.environ['KREA_API_TOKEN']" in python
