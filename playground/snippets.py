"""Copy-as-code: the exact request of a run as cURL and Python, in the shape of Krea's own docs examples.

The token is always a placeholder read from the environment (`$KREA_API_TOKEN`): a snippet is shown in the page
and copied around, so it must never carry the real one.
"""

from __future__ import annotations

import json
import shlex


def curl_snippet(base_url: str, model_path: str, body: dict) -> str:
    payload = shlex.quote(json.dumps(body, ensure_ascii=False))
    return (
        f"curl -X POST {base_url}{model_path} \\\n"
        '  -H "Authorization: Bearer $KREA_API_TOKEN" \\\n'
        '  -H "Content-Type: application/json" \\\n'
        f"  -d {payload}\n"
        "# then poll: curl " + base_url + '/jobs/<job_id> -H "Authorization: Bearer $KREA_API_TOKEN"'
    )


def python_snippet(base_url: str, model_path: str, body: dict) -> str:
    body_text = json.dumps(body, indent=4, ensure_ascii=False).replace("\n", "\n    ")
    return f'''import os
import time

import requests

API_BASE = "{base_url}"
HEADERS = {{"Authorization": f"Bearer {{os.environ['KREA_API_TOKEN']}}"}}

job = requests.post(
    f"{{API_BASE}}{model_path}",
    headers=HEADERS,
    json={body_text},
    timeout=30,
).json()

while True:
    job = requests.get(f"{{API_BASE}}/jobs/{{job['job_id']}}", headers=HEADERS, timeout=30).json()
    if job["status"] == "completed":
        print(f"Image ready: {{job['result']['urls'][0]}}")
        break
    if job["status"] in ("failed", "cancelled"):
        raise SystemExit(f"Job {{job['status']}}: {{job.get('result')}}")
    time.sleep(2)
'''
