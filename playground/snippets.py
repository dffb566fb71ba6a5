"""Copy-as-code: a run, or a whole comparison, as a complete program in cURL (bash), Python, Node or Go.

Every snippet is runnable as it is, in the shape of Krea's own docs examples: it submits the exact body, polls the
job every 2 s until it ends (giving up after 10 minutes), prints ``Image ready: <url>`` (one run) or one
``<model path>: <url>`` / ``<model path>: failed: <reason>`` line per model (a comparison, submitted concurrently),
and exits non-zero on any failure. The token is always read from ``$KREA_API_TOKEN`` when the program runs: a
snippet is shown in the page and copied around, so it never carries the real one (nothing here reads os.environ).

Bodies are embedded as literals of the target language, built by one renderer: strings are JSON string literals,
whose escapes JSON, Python, JavaScript and Go all read alike; bash gets the JSON text in a quoted heredoc, which
the shell passes on byte for byte (no ``$``, backtick or backslash expansion, quotes need no escaping).
"""

from __future__ import annotations

import json
import re
import shlex
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Language = Literal["curl", "python", "node", "go"]
LANGUAGES: tuple[Language, ...] = ("curl", "python", "node", "go")
LANGUAGE_LABELS: dict[Language, str] = {"curl": "cURL", "python": "Python", "node": "Node", "go": "Go"}
# For gr.Code(language=...): Gradio 6 has no Go highlighting, so Go shows as plain text.
CODE_LANGUAGES: dict[Language, str | None] = {"curl": "shell", "python": "python", "node": "javascript", "go": None}

HEREDOC_END = "JSON"  # the bash heredoc delimiter: never a line of the rendered JSON (see _bash_body)


def single_snippet(language: Language, base_url: str, model_path: str, body: Mapping[str, Any]) -> str:
    """A program that submits ``body`` to ``model_path``, waits for the job and prints ``Image ready: <url>``."""
    return _BUILDERS[_check(language)][0](base_url, model_path, body)


def comparison_snippet(language: Language, base_url: str, calls: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """A program that submits every ``(model path, body)`` at once, waits for all of them and prints one line per
    model, in order: ``<model path>: <url>`` or ``<model path>: failed: <reason>``."""
    if not calls:
        raise ValueError("a comparison snippet needs at least one (model path, body) call")
    return _BUILDERS[_check(language)][1](base_url, list(calls))


def curl_snippet(base_url: str, model_path: str, body: dict) -> str:
    return single_snippet("curl", base_url, model_path, body)


def python_snippet(base_url: str, model_path: str, body: dict) -> str:
    return single_snippet("python", base_url, model_path, body)


def _check(language: str) -> Language:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}; got {language!r}")
    return language  # type: ignore[return-value]


# ------------------------------------------------------------------------------------------------ literals


@dataclass(frozen=True)
class _Style:
    """How one language writes a JSON value."""

    indent: str
    null: str = "null"
    true: str = "true"
    false: str = "false"
    open_map: str = "{"
    open_list: str = "["
    close_list: str = "]"
    trailing_comma: bool = False
    align_keys: bool = False  # gofmt lines up the values of consecutive one-line entries


_JSON = _Style("  ")
_PYTHON = _Style("    ", null="None", true="True", false="False")
_GO = _Style("\t", null="nil", open_map="map[string]any{", open_list="[]any{", close_list="}",
             trailing_comma=True, align_keys=True)

# Invisible or line-breaking characters (controls, format characters, U+2028/U+2029) shown as \\uXXXX escapes.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _string(text: str) -> str:
    """A double-quoted literal valid in JSON, Python, JavaScript and Go alike; visible non-ASCII kept as is."""
    return "".join(
        f"\\u{ord(c):04x}" if "\x7e" < c <= "\uffff" and unicodedata.category(c) in _HIDDEN else c
        for c in json.dumps(text, ensure_ascii=False)
    )


def _literal(value: Any, style: _Style, level: int = 0) -> str:
    """``value`` as a pretty-printed literal; nested lines are indented for ``level`` levels of nesting."""
    if value is None:
        return style.null
    if isinstance(value, bool):
        return style.true if value else style.false
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, Mapping):
        opening, closing = style.open_map, "}"
        entries = [(_string(str(k)) + ":", _literal(v, style, level + 1)) for k, v in value.items()]
    elif isinstance(value, (list, tuple)):
        opening, closing = style.open_list, style.close_list
        entries = [("", _literal(v, style, level + 1)) for v in value]
        if not any(isinstance(v, (Mapping, list, tuple)) for v in value):
            inline = opening + ", ".join(text for _, text in entries) + closing
            if len(inline) <= 80:
                return inline
    else:
        raise TypeError(f"a request body holds JSON values only; got {type(value).__name__}")
    if not entries:
        return opening + closing
    keys = _aligned([key for key, _ in entries], [text for _, text in entries]) if style.align_keys else None
    pad = style.indent * (level + 1)
    lines = [pad + ((keys[i] if keys else key + " ") if key else "") + text for i, (key, text) in enumerate(entries)]
    tail = "," if style.trailing_comma else ""
    return opening + "\n" + ",\n".join(lines) + tail + "\n" + style.indent * level + closing


def _aligned(keys: list[str], values: list[str]) -> list[str]:
    """Keys padded as gofmt does: the values of each run of consecutive one-line entries start in one column."""
    padded = [key + " " for key in keys]
    start = 0
    while start < len(keys):
        end = start
        while end < len(keys) and "\n" not in values[end]:
            end += 1
        width = max((len(k) for k in keys[start:end]), default=0)
        padded[start:end] = [k.ljust(width) + " " for k in keys[start:end]]
        start = end + 1
    return padded


def _indent_tail(text: str, prefix: str) -> str:
    return text.replace("\n", "\n" + prefix)


def _fill(template: str, **values: str) -> str:
    """``{{name}}`` markers replaced in one pass (a body that contains ``{{name}}`` stays as it is)."""
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], template)


# -------------------------------------------------------------------------------------------- cURL (bash)

_TOKEN_MISSING = "KREA_API_TOKEN is not set: export your Krea API token (https://www.krea.ai/settings/api-tokens)."

_BASH_HEAD = r"""#!/usr/bin/env bash
# {{what}}
# Needs only bash and curl. Run: KREA_API_TOKEN=<your token> bash {{file}}
set -euo pipefail

API_BASE={{api_base}}

if [[ -z ${KREA_API_TOKEN:-} ]]; then
  echo "{{token_missing}}" >&2
  exit 1
fi

# One API call with the token: prints the reply, or "HTTP <code>: <reply>" and fails.
krea() {
  local reply code
  reply=$(curl -sS --max-time 30 -w '\n%{http_code}' -H "Authorization: Bearer $KREA_API_TOKEN" "$@") \
    || { echo "no answer from $API_BASE"; return 1; }
  code=${reply##*$'\n'} reply=${reply%$'\n'*}
  if [[ $code != 2* ]]; then echo "HTTP $code: $reply"; return 1; fi
  printf '%s\n' "$reply"
}

# Prints string field $1 of the JSON on stdin, unescaped (enough for Krea's replies: no jq needed).
field() { sed -nE 's/.*"'"$1"'": *"(([^"\\]|\\.)*)".*/\1/p' | sed -E 's/\\(["\\/])/\1/g'; }

{{die}}

# Submits the JSON body on stdin to model $1, then polls the job every 2 s until it ends.
generate() {
  local model=$1 job id status url reason deadline=$((SECONDS + 600))  # give up after 10 minutes
  job=$(krea -X POST "$API_BASE$model" -H "Content-Type: application/json" --data-binary @-) || die "$job"
  id=$(field job_id <<<"$job") status=$(field status <<<"$job")
  while [[ $status != completed && $status != failed && $status != cancelled ]]; do
    (( SECONDS < deadline )) || die "gave up after 10 minutes: job $id is $status"
    sleep 2
    job=$(krea "$API_BASE/jobs/$id") || die "$job"
    status=$(field status <<<"$job")
  done
  if [[ $status != completed ]]; then
    reason=$(field message <<<"$job")  # error.message, else result.error
    reason=${reason:-$(field error <<<"$job")}
    die "job $status: ${reason:-no reason given}"
  fi
  url=$(sed -nE 's/.*"urls": *\[ *"([^"]*)".*/\1/p' <<<"$job")
  [[ -n $url ]] || die "job completed without an image URL"
  {{success}}
}
"""

_BASH_SINGLE = r"""
# The body below is a quoted heredoc: sent byte for byte, nothing in it is expanded.
generate {{model}} <<'{{end}}'
{{body}}
{{end}}
"""

_BASH_COMPARISON = r"""
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
pids=()

# Every model at once, one background job each. Each body is a quoted heredoc: sent byte for byte.
{{jobs}}

# One line per model, in the order above; exit 1 if any failed.
failed=0
for i in "${!pids[@]}"; do
  wait "${pids[i]}" || failed=1
  cat "$out/$i"
done
exit "$failed"
"""


def _bash_body(body: Mapping[str, Any]) -> str:
    text = _literal(body, _JSON)
    if HEREDOC_END in text.splitlines():  # cannot happen: every line is an entry, a bracket or a brace
        raise ValueError("the rendered body has a line equal to the heredoc delimiter")
    return text


def _bash_head(what: str, file: str, base_url: str, *, die: str, success: str) -> str:
    return _fill(_BASH_HEAD, what=what, file=file, api_base=shlex.quote(base_url), token_missing=_TOKEN_MISSING,
                 die=die, success=success)


def _curl_single(base_url: str, model_path: str, body: Mapping[str, Any]) -> str:
    head = _bash_head("Generates one image with Krea's API: submits the job, polls it, prints the image URL.",
                      "generate.sh", base_url,
                      die='# Stops the script with the reason.\ndie() { echo "Failed: $*" >&2; exit 1; }',
                      success='echo "Image ready: $url"')
    return head + _fill(_BASH_SINGLE, model=shlex.quote(model_path), end=HEREDOC_END, body=_bash_body(body))


def _curl_comparison(base_url: str, calls: list[tuple[str, Mapping[str, Any]]]) -> str:
    head = _bash_head("Compares models with Krea's API: submits every job at once, prints one line per model.",
                      "compare.sh", base_url,
                      die='# Ends this job\'s background subshell with its line ($model is generate\'s).\n'
                          'die() { echo "$model: failed: $*"; exit 1; }',
                      success='echo "$model: $url"')
    jobs = "\n".join(
        f"generate {shlex.quote(path)} >\"$out/{i}\" <<'{HEREDOC_END}' &\n{_bash_body(body)}\n{HEREDOC_END}\npids+=($!)"
        for i, (path, body) in enumerate(calls)
    )
    return head + _fill(_BASH_COMPARISON, jobs=jobs)


# ------------------------------------------------------------------------------------------------- Python

_PYTHON_HEAD = '''"""{{what}}

Run: KREA_API_TOKEN=<your token> python {{file}}   (needs: pip install requests)
"""

import os
import sys
import time
{{extra_import}}
import requests

API_BASE = {{api_base}}
{{data}}


def krea(method, path, **kwargs):
    """One API call with the token: the JSON reply, or RuntimeError("HTTP <code>: <reply>")."""
    headers = {"Authorization": f"Bearer {os.environ['KREA_API_TOKEN']}"}
    response = requests.request(method, API_BASE + path, headers=headers, timeout=30, **kwargs)
    if not response.ok:
        raise RuntimeError(f"HTTP {response.status_code}: {response.text}")
    return response.json()


def reason(job):
    """The failure text Krea gave: error.message, else result.error."""
    for detail in (job.get("error"), (job.get("result") or {}).get("error")):
        if isinstance(detail, dict):
            detail = detail.get("message")
        if detail:
            return str(detail)
    return "no reason given"


def generate(model, body):
    """Submits one job and polls it every 2 s until it ends: the image URL, or RuntimeError with the reason."""
    job = krea("POST", model, json=body)
    deadline = time.monotonic() + 600  # give up after 10 minutes
    while job["status"] not in ("completed", "failed", "cancelled"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up after 10 minutes: job {job['job_id']} is {job['status']}")
        time.sleep(2)
        job = krea("GET", f"/jobs/{job['job_id']}")
    if job["status"] != "completed":
        raise RuntimeError(f"job {job['status']}: {reason(job)}")
    urls = (job.get("result") or {}).get("urls")
    if not urls:
        raise RuntimeError("job completed without an image URL")
    return urls[0]

'''

_PYTHON_SINGLE = '''
if __name__ == "__main__":
    if not os.environ.get("KREA_API_TOKEN"):
        sys.exit("{{token_missing}}")
    try:
        print(f"Image ready: {generate(MODEL, BODY)}")
    except (RuntimeError, requests.RequestException) as error:
        sys.exit(f"Failed: {error}")
'''

_PYTHON_COMPARISON = '''
def outcome(call):
    """One model's line, and whether it succeeded."""
    model, body = call
    try:
        return f"{model}: {generate(model, body)}", True
    except Exception as error:  # any failure of this model goes on its line; the others carry on
        return f"{model}: failed: {error}", False


if __name__ == "__main__":
    if not os.environ.get("KREA_API_TOKEN"):
        sys.exit("{{token_missing}}")
    # Every model at once, one thread each; the lines print in the order above.
    with ThreadPoolExecutor(max_workers=len(CALLS)) as pool:
        results = list(pool.map(outcome, CALLS))
    for line, _ in results:
        print(line)
    sys.exit(0 if all(ok for _, ok in results) else 1)
'''


def _python_single(base_url: str, model_path: str, body: Mapping[str, Any]) -> str:
    data = f"MODEL = {_string(model_path)}\nBODY = {_literal(body, _PYTHON)}"
    head = _fill(_PYTHON_HEAD, what="Generates one image with Krea's API: submits the job, polls it, prints the "
                 "image URL.", file="generate.py", extra_import="", api_base=_string(base_url), data=data)
    return head + _fill(_PYTHON_SINGLE, token_missing=_TOKEN_MISSING)


def _python_comparison(base_url: str, calls: list[tuple[str, Mapping[str, Any]]]) -> str:
    entries = "".join(f"    ({_string(path)}, {_literal(body, _PYTHON, 1)}),\n" for path, body in calls)
    head = _fill(_PYTHON_HEAD, what="Compares models with Krea's API: submits every job at once, prints one line "
                 "per model.", file="compare.py", extra_import="from concurrent.futures import ThreadPoolExecutor\n",
                 api_base=_string(base_url), data=f"CALLS = [  # (model path, request body)\n{entries}]")
    return head + _fill(_PYTHON_COMPARISON, token_missing=_TOKEN_MISSING)


# --------------------------------------------------------------------------------------------------- Node

_NODE_HEAD = """// {{what}}
// Node 18+, no npm packages. Run: KREA_API_TOKEN=<your token> node {{file}}
const API_BASE = {{api_base}};
{{data}}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// One API call with the token: the JSON reply, or an Error("HTTP <code>: <reply>").
async function krea(method, path, body) {
  const response = await fetch(API_BASE + path, {
    method,
    headers: { Authorization: `Bearer ${process.env.KREA_API_TOKEN}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${text}`);
  return JSON.parse(text);
}

// The failure text Krea gave: error.message, else result.error.
function reason(job) {
  for (let detail of [job.error, job.result?.error]) {
    if (detail && typeof detail === "object") detail = detail.message;
    if (detail) return String(detail);
  }
  return "no reason given";
}

// Submits one job and polls it every 2 s until it ends: the image URL, or an Error with the reason.
async function generate(model, body) {
  let job = await krea("POST", model, body);
  const deadline = Date.now() + 10 * 60_000; // give up after 10 minutes
  while (!["completed", "failed", "cancelled"].includes(job.status)) {
    if (Date.now() > deadline) throw new Error(`gave up after 10 minutes: job ${job.job_id} is ${job.status}`);
    await sleep(2000);
    job = await krea("GET", `/jobs/${job.job_id}`);
  }
  if (job.status !== "completed") throw new Error(`job ${job.status}: ${reason(job)}`);
  const url = job.result?.urls?.[0];
  if (!url) throw new Error("job completed without an image URL");
  return url;
}

async function main() {
  if (!process.env.KREA_API_TOKEN) {
    console.error("{{token_missing}}");
    process.exit(1);
  }
"""

_NODE_SINGLE = """  try {
    console.log(`Image ready: ${await generate(MODEL, BODY)}`);
  } catch (error) {
    console.error(`Failed: ${error.message}`);
    process.exitCode = 1;
  }
}

main();
"""

_NODE_COMPARISON = """  // Every model at once; the lines print in the order above.
  const results = await Promise.all(
    CALLS.map(async ([model, body]) => {
      try {
        return { ok: true, line: `${model}: ${await generate(model, body)}` };
      } catch (error) {
        return { ok: false, line: `${model}: failed: ${error.message}` };
      }
    }),
  );
  for (const { line } of results) console.log(line);
  if (results.some((result) => !result.ok)) process.exitCode = 1;
}

main();
"""


def _node_single(base_url: str, model_path: str, body: Mapping[str, Any]) -> str:
    data = f"const MODEL = {_string(model_path)};\nconst BODY = {_literal(body, _JSON)};"
    return _fill(_NODE_HEAD, what="Generates one image with Krea's API: submits the job, polls it, prints the "
                 "image URL.", file="generate.js", api_base=_string(base_url), data=data,
                 token_missing=_TOKEN_MISSING) + _NODE_SINGLE


def _node_comparison(base_url: str, calls: list[tuple[str, Mapping[str, Any]]]) -> str:
    entries = "".join(f"  [{_string(path)}, {_literal(body, _JSON, 1)}],\n" for path, body in calls)
    return _fill(_NODE_HEAD, what="Compares models with Krea's API: submits every job at once, prints one line "
                 "per model.", file="compare.js", api_base=_string(base_url),
                 data=f"// [model path, request body]\nconst CALLS = [\n{entries}];",
                 token_missing=_TOKEN_MISSING) + _NODE_COMPARISON


# ----------------------------------------------------------------------------------------------------- Go

_GO_HEAD = """// {{what}}
// Standard library only. Run: KREA_API_TOKEN=<your token> go run main.go
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
{{extra_import}}	"time"
)

const apiBase = {{api_base}}

"""

_GO_SINGLE_MAIN = """func main() {
	token := os.Getenv("KREA_API_TOKEN")
	if token == "" {
		fmt.Fprintln(os.Stderr, "{{token_missing}}")
		os.Exit(1)
	}
	body := {{body}}
	url, err := generate(token, {{model}}, body)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Failed:", err)
		os.Exit(1)
	}
	fmt.Println("Image ready:", url)
}
"""

_GO_COMPARISON_MAIN = """func main() {
	token := os.Getenv("KREA_API_TOKEN")
	if token == "" {
		fmt.Fprintln(os.Stderr, "{{token_missing}}")
		os.Exit(1)
	}
	calls := []struct {
		model string
		body  map[string]any
	}{
{{calls}}
	}

	// Every model at once, one goroutine each; the lines print in the order above.
	urls := make([]string, len(calls))
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Add(1)
		go func(i int, model string, body map[string]any) {
			defer wg.Done()
			urls[i], errs[i] = generate(token, model, body)
		}(i, c.model, c.body)
	}
	wg.Wait()

	failed := false
	for i, c := range calls {
		if errs[i] != nil {
			fmt.Printf("%s: failed: %v\\n", c.model, errs[i])
			failed = true
		} else {
			fmt.Printf("%s: %s\\n", c.model, urls[i])
		}
	}
	if failed {
		os.Exit(1)
	}
}
"""

_GO_HELPERS = """
// job is the part of Krea's job JSON this program reads.
type job struct {
	ID     string `json:"job_id"`
	Status string `json:"status"`
	Result struct {
		URLs  []string `json:"urls"`
		Error any      `json:"error"`
	} `json:"result"`
	Error any `json:"error"` // {"code": ..., "message": ...} on a failed job
}

var client = &http.Client{Timeout: 30 * time.Second}

// call makes one API call with the token and decodes the job in the reply.
func call(token, method, path string, payload []byte) (job, error) {
	var j job
	req, err := http.NewRequest(method, apiBase+path, bytes.NewReader(payload))
	if err != nil {
		return j, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return j, err
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(resp.Body)
	if err != nil {
		return j, err
	}
	if resp.StatusCode >= 300 {
		return j, fmt.Errorf("HTTP %d: %s", resp.StatusCode, reply)
	}
	err = json.Unmarshal(reply, &j)
	return j, err
}

// reason is the failure text Krea gave: error.message, else result.error.
func reason(j job) string {
	for _, detail := range []any{j.Error, j.Result.Error} {
		if m, ok := detail.(map[string]any); ok {
			detail = m["message"]
		}
		if text, ok := detail.(string); ok && text != "" {
			return text
		}
	}
	return "no reason given"
}

// generate submits one job and polls it every 2 s until it ends: the image URL, or an error with the reason.
func generate(token, model string, body map[string]any) (string, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return "", err
	}
	j, err := call(token, "POST", model, payload)
	deadline := time.Now().Add(10 * time.Minute) // give up after 10 minutes
	for err == nil && j.Status != "completed" && j.Status != "failed" && j.Status != "cancelled" {
		if time.Now().After(deadline) {
			return "", fmt.Errorf("gave up after 10 minutes: job %s is %s", j.ID, j.Status)
		}
		time.Sleep(2 * time.Second)
		j, err = call(token, "GET", "/jobs/"+j.ID, nil)
	}
	switch {
	case err != nil:
		return "", err
	case j.Status != "completed":
		return "", fmt.Errorf("job %s: %s", j.Status, reason(j))
	case len(j.Result.URLs) == 0:
		return "", errors.New("job completed without an image URL")
	}
	return j.Result.URLs[0], nil
}
"""


def _go_head(what: str, base_url: str, extra_import: str = "") -> str:
    return _fill(_GO_HEAD, what=what, extra_import=extra_import, api_base=_string(base_url))


def _go_single(base_url: str, model_path: str, body: Mapping[str, Any]) -> str:
    main = _fill(_GO_SINGLE_MAIN, token_missing=_TOKEN_MISSING, body=_literal(dict(body), _GO, 1),
                 model=_string(model_path))
    head = _go_head("Generates one image with Krea's API: submits the job, polls it, prints the image URL.", base_url)
    return head + main + _GO_HELPERS


def _go_comparison(base_url: str, calls: list[tuple[str, Mapping[str, Any]]]) -> str:
    entries = "\n".join(f"\t\t{{{_string(path)}, {_literal(dict(body), _GO, 2)}}}," for path, body in calls)
    main = _fill(_GO_COMPARISON_MAIN, token_missing=_TOKEN_MISSING, calls=entries)
    head = _go_head("Compares models with Krea's API: submits every job at once, prints one line per model.",
                    base_url, extra_import='\t"sync"\n')
    return head + main + _GO_HELPERS


_BUILDERS = {
    "curl": (_curl_single, _curl_comparison),
    "python": (_python_single, _python_comparison),
    "node": (_node_single, _node_comparison),
    "go": (_go_single, _go_comparison),
}
