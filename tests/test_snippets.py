"""Copy-as-code: every language's snippet runs as it is against a real (sandbox) server, sends exactly the body,
submits a comparison's jobs all at once, reports failures, and never holds the token."""

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from playground.catalog import load_catalog, validate_params
from playground.sandbox import SandboxServer
from playground.settings import SandboxSettings
from playground.snippets import (
    HEREDOC_END,
    LANGUAGE_LABELS,
    LANGUAGES,
    comparison_snippet,
    curl_snippet,
    python_snippet,
    single_snippet,
)
from tests.snippets_support import SNIPPET_TOKEN, RequestLog, SnippetRunner, default_gocache, missing_tool

# Everything a shell, a string literal or a template could trip on.
NASTY = ("it's a \"quoted\" fox: back\\slash, \\n (not a newline), $HOME ${PATH} `whoami` $(id) 'single' %s %v "
         "{{api_base}} {{body}} <b>&amp;</b>\nJSON\n\tétoile 日本 🦊 \u2028 \ufeff \x7f \x00 end\\")
FLUX = "/generate/image/bfl/flux-1-dev"
GPT = "/generate/image/openai/gpt-image-2"
UNI = "/generate/image/luma/uni-1"
BODY = {"prompt": NASTY, "width": 512, "height": 768, "seed": 7, "steps": 4, "guidance_scale_flux": 3.5}
CALLS = [
    (FLUX, BODY),
    (GPT, {"prompt": "a lighthouse 'at dusk', \"calm\"", "width": 1024, "height": 768, "quality": "low"}),
    (UNI, {"prompt": "日本の灯台 🗼 $x", "width": 1024, "height": 1024, "mode": "standard", "web_search": False,
           "output_format": None}),
]
FAIL_REASON = 'Moderation: "NSFW" content détecté \\ (sandbox)'

LANGS = [pytest.param(lang, marks=pytest.mark.skipif(missing_tool(lang) is not None, reason=missing_tool(lang) or ""))
         for lang in LANGUAGES]


@pytest.fixture(scope="module")
def sandbox():
    server = SandboxServer(SandboxSettings(speed=0.001, min_job_seconds=0.1))
    server.app = RequestLog(server.app)  # served as is by start(): every request is recorded with its raw body
    with server:
        yield server


@pytest.fixture
def log(sandbox) -> RequestLog:
    sandbox.app.clear()
    return sandbox.app


@pytest.fixture(scope="module")
def runner(tmp_path_factory) -> SnippetRunner:
    return SnippetRunner(tmp_path_factory.mktemp("snippets"), default_gocache())


def posted_bodies(log: RequestLog) -> dict[str, dict]:
    return {r.path: json.loads(r.body) for r in log.seen("POST")}


# ------------------------------------------------------------------------------------------------ no network


def test_languages_come_in_order_with_their_labels():
    assert LANGUAGES == ("curl", "python", "node", "go")
    assert LANGUAGE_LABELS == {"curl": "cURL", "python": "Python", "node": "Node", "go": "Go"}


def test_an_unknown_language_or_an_empty_comparison_is_refused():
    with pytest.raises(ValueError, match="curl, python, node, go"):
        single_snippet("ruby", "https://api.krea.ai", FLUX, BODY)
    with pytest.raises(ValueError, match="at least one"):
        comparison_snippet("python", "https://api.krea.ai", [])


def test_the_generate_tab_helpers_are_the_single_snippets():
    assert curl_snippet("https://api.krea.ai", FLUX, BODY) == single_snippet("curl", "https://api.krea.ai", FLUX, BODY)
    assert python_snippet("https://api.krea.ai", FLUX, BODY) == single_snippet("python", "https://api.krea.ai", FLUX,
                                                                                  BODY)


def test_the_bodies_used_here_are_valid_for_their_models():
    catalog = load_catalog()
    for path, body in CALLS:
        assert validate_params(catalog.by_path(path), body) == [], path


def test_python_and_bash_literals_hold_the_exact_body():
    tricky = {**BODY, "list": ["a", 1, 2.5, None, True], "nested": [{"k": "v\"'"}], "empty": {}, "none": []}
    python = single_snippet("python", "https://api.krea.ai", FLUX, tricky)
    assignment = next(node for node in ast.parse(python).body
                      if isinstance(node, ast.Assign) and node.targets[0].id == "BODY")
    assert ast.literal_eval(assignment.value) == tricky
    bash = single_snippet("curl", "https://api.krea.ai", FLUX, tricky)
    heredoc = re.search(rf"<<'{HEREDOC_END}'\n(.*?)\n{HEREDOC_END}\n", bash, re.S).group(1)
    assert json.loads(heredoc) == tricky
    assert "日本 🦊" in python and "日本 🦊" in bash  # readable: visible unicode is not escaped
    assert "\\u2028" in python and "\u2028" not in python  # invisible characters are shown escaped


@pytest.mark.skipif(shutil.which("gofmt") is None, reason="gofmt is not installed (it comes with Go)")
def test_go_snippets_are_gofmt_clean(tmp_path):
    for name, code in (("single.go", single_snippet("go", "https://api.krea.ai", FLUX, BODY)),
                       ("compare.go", comparison_snippet("go", "https://api.krea.ai", CALLS))):
        (tmp_path / name).write_text(code, encoding="utf-8")
    done = subprocess.run(["gofmt", "-d", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr


# ------------------------------------------------------------------------------- real programs, real server


@pytest.mark.parametrize("language", LANGS)
def test_single_snippet_sends_the_exact_body_and_prints_the_image_url(language, sandbox, log, runner):
    done = runner.run(language, single_snippet(language, sandbox.base_url, FLUX, BODY))
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.fullmatch(re.escape(f"Image ready: {sandbox.base_url}/files/") + r"\S+\n", done.stdout), done.stdout
    assert posted_bodies(log) == {FLUX: BODY}
    assert {r.authorization for r in log.seen()} == {f"Bearer {SNIPPET_TOKEN}"}
    job = sandbox.engine.jobs[-1]
    assert (job.prompt, job.width, job.height, job.seed) == (NASTY, 512, 768, 7)


@pytest.mark.parametrize("language", LANGS)
def test_comparison_snippet_submits_every_model_at_once_and_prints_a_line_each(language, sandbox, log, runner):
    done = runner.run(language, comparison_snippet(language, sandbox.base_url, CALLS))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(": ")[0] for line in lines] == [path for path, _ in CALLS], done.stdout
    for line in lines:
        assert re.fullmatch(r"\S+: " + re.escape(f"{sandbox.base_url}/files/") + r"\S+", line), line
    assert posted_bodies(log) == dict(CALLS)
    # Concurrent: all three jobs were submitted before any was polled (one after the other, a poll comes first).
    order = [r.method for r in log.seen() if r.path.startswith(("/generate/", "/jobs/"))]
    assert order[:3] == ["POST"] * 3 and "POST" not in order[3:], order


@pytest.mark.parametrize("language", LANGS)
def test_comparison_snippet_reports_each_failure_on_its_line_and_exits_non_zero(language, sandbox, log, runner):
    calls = [CALLS[0], CALLS[1], (UNI, {**CALLS[2][1], "width": 100})]  # GPT's job fails; Uni's body is refused
    sandbox.set_fault({"kind": "job_fails", "model": "openai/gpt-image-2", "reason": FAIL_REASON, "count": 1})
    try:
        done = runner.run(language, comparison_snippet(language, sandbox.base_url, calls))
    finally:
        sandbox.clear_faults()
    assert done.returncode != 0, done.stdout + done.stderr
    flux, gpt, uni = done.stdout.splitlines()
    assert flux.startswith(f"{FLUX}: {sandbox.base_url}/files/"), flux
    assert gpt == f"{GPT}: failed: job failed: {FAIL_REASON}"
    assert uni.startswith(f"{UNI}: failed: HTTP 400: ") and "Invalid request body" in uni and "width" in uni, uni


@pytest.mark.parametrize("language", LANGS)
def test_single_snippet_exits_non_zero_with_the_status_and_reason_of_a_failed_job(language, sandbox, log, runner):
    sandbox.set_fault({"kind": "job_fails", "model": "bfl/flux-1-dev", "reason": FAIL_REASON, "count": 1})
    try:
        done = runner.run(language, single_snippet(language, sandbox.base_url, FLUX, BODY))
    finally:
        sandbox.clear_faults()
    assert done.returncode != 0
    assert (done.stdout, done.stderr) == ("", f"Failed: job failed: {FAIL_REASON}\n")


@pytest.mark.parametrize("language", LANGS)
def test_single_snippet_exits_non_zero_with_the_reason_when_the_body_is_refused(language, sandbox, log, runner):
    jobs_before = len(sandbox.engine.jobs)
    done = runner.run(language, single_snippet(language, sandbox.base_url, FLUX, {"prompt": "a fox", "width": "wide"}))
    assert done.returncode != 0
    assert done.stdout == ""
    assert "Failed: HTTP 400: " in done.stderr and "Invalid request body" in done.stderr, done.stderr
    assert len(sandbox.engine.jobs) == jobs_before


@pytest.mark.parametrize("language", LANGS)
def test_snippets_without_a_token_say_so_and_send_nothing(language, sandbox, log, runner):
    for code in (single_snippet(language, sandbox.base_url, FLUX, BODY),
                 comparison_snippet(language, sandbox.base_url, CALLS)):
        done = runner.run(language, code, token=None)
        assert done.returncode != 0
        assert "KREA_API_TOKEN is not set" in done.stderr, done.stderr
    assert log.seen() == []


CANARY = "sk-canary-7f3a9c-not-a-real-token"
BUILD_IN_A_TOKENED_PROCESS = f"""
import json
from playground.snippets import LANGUAGES, comparison_snippet, curl_snippet, python_snippet, single_snippet
base = "https://api.krea.ai"
codes = [curl_snippet(base, {FLUX!r}, {BODY!r}), python_snippet(base, {FLUX!r}, {BODY!r})]
for language in LANGUAGES:
    codes += [single_snippet(language, base, {FLUX!r}, {BODY!r}), comparison_snippet(language, base, {CALLS!r})]
print(json.dumps(codes))
"""


def test_snippets_read_the_token_from_the_environment_never_the_token_of_the_process():
    # Built where a real token is at hand (env, as in the app): it must stay out; $KREA_API_TOKEN is read instead.
    env = {**os.environ, "KREA_API_TOKEN": CANARY, "KREA_API_KEY": CANARY}
    done = subprocess.run([sys.executable, "-c", BUILD_IN_A_TOKENED_PROCESS], env=env, capture_output=True,
                          text=True, timeout=60, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    codes = json.loads(done.stdout)
    assert len(codes) == 2 + 2 * len(LANGUAGES)
    for code in codes:
        assert CANARY not in code
        assert "KREA_API_TOKEN" in code
    curl, python = codes[:2]
    assert '"Authorization: Bearer $KREA_API_TOKEN"' in curl
    assert "os.environ['KREA_API_TOKEN']" in python
