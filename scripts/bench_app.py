"""The app in sandbox mode, instrumented for the benchmark (run by scripts/benchmark.py, not by hand).

It starts exactly what `python app.py` starts in sandbox mode (``launcher.running_app`` with the settings from the
environment), with additions that only read, count or time (wrappers on this process's instances; nothing of the
project is edited), reported on a separate loopback port:

- every ``GET /jobs/{id}`` the sandbox answers is counted per job (the sandbox keeps no request counter, so the
  engine's ``get`` is wrapped on this instance; a counter in the sandbox itself would make this unnecessary);
- ``GET /jobs`` on the side port lists every sandbox job, whoever owns it, with its created/completed wall-clock
  times (milliseconds since the epoch, the clock of ``created_at``/``completed_at``), its GET count and when the
  first GET that answered its terminal status was served (``seen``, seconds since the epoch);
- ``GET /calls``: for prompts starting with ``bench-``, when the call joined Gradio's queue and when its handler
  began (``RunService.start_generation`` was called), wall clock;

When ready it writes ``{"app", "sandbox", "info", "pid"}`` as JSON to ``--ready-file``. SIGINT/SIGTERM stop it.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import signal
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("GRADIO_RUN_HISTORY", "False")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playground.launcher import running_app  # noqa: E402
from playground.settings import load_settings, replace  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--speed", type=float)
    parser.add_argument("--min-job-seconds", type=float)
    parser.add_argument("--concurrency", type=int, default=128, help="sandbox jobs at once per token")
    args = parser.parse_args()

    settings = load_settings()
    sandbox = replace(settings.sandbox, concurrency_limit=args.concurrency, backlog_limit=args.concurrency,
                      keep_jobs=max(settings.sandbox.keep_jobs, 5000))
    if args.speed is not None:
        sandbox = replace(sandbox, speed=args.speed)
    if args.min_job_seconds is not None:
        sandbox = replace(sandbox, min_job_seconds=args.min_job_seconds)
    # Sandbox mode as the demo runs it; only the port, the sandbox's capacity and speed differ.
    settings = replace(settings, token=None, use_sandbox=True, sandbox=sandbox,
                       app=replace(settings.app, port=args.port, host="127.0.0.1"))

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    with running_app(settings) as app:
        engine = app.engine
        counts: collections.Counter[str] = collections.Counter()
        lock = threading.Lock()
        original_get = engine.get

        seen: dict[str, float] = {}  # job id -> wall clock of the first GET that answered a terminal status

        def counting_get(token, job_id):
            with lock:
                counts[job_id] += 1
            job = original_get(token, job_id)
            if job is not None and job.is_terminal and job_id not in seen:
                seen[job_id] = time.time()
            return job

        engine.get = counting_get  # the route looks the method up on each request

        # When a call joined Gradio's queue and when its handler began (RunService.start_generation), keyed by
        # the prompt, for prompts starting with "bench-": whether a run waited for a Gradio slot.
        joined: dict[str, float] = {}
        began: dict[str, float] = {}
        queue = getattr(app.demo, "_queue", None)
        if queue is not None and hasattr(queue, "push"):  # Gradio internals: without them, /calls stays empty
            original_push = queue.push

            async def timed_push(body, *args, **kwargs):
                now = time.time()
                for item in getattr(body, "data", None) or ():
                    if isinstance(item, str) and item.startswith("bench-"):
                        joined.setdefault(item, now)
                return await original_push(body, *args, **kwargs)

            queue.push = timed_push
        original_start = app.service.start_generation

        def timed_start(session_id, request, *args, **kwargs):
            prompt = getattr(request, "prompt", "")
            if isinstance(prompt, str) and prompt.startswith("bench-"):
                began.setdefault(prompt, time.time())
            return original_start(session_id, request, *args, **kwargs)

        app.service.start_generation = timed_start

        def jobs() -> list[dict]:
            with lock:
                snapshot = dict(counts)
            return [{"job_id": j.job_id, "model_id": j.model_id, "status": j.status, "created_ms": j.created_ms,
                     "ended_ms": j.ended_ms, "duration": j.duration, "gets": snapshot.get(j.job_id, 0),
                     "seen": seen.get(j.job_id), "owner": j.owner[:12]} for j in engine.jobs]

        class Handler(BaseHTTPRequestHandler):
            def _send(self, payload, status: int = 200) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                if urlsplit(self.path).path == "/jobs":
                    self._send(jobs())
                elif urlsplit(self.path).path == "/calls":
                    self._send({p: {"joined": joined.get(p), "began": began.get(p)} for p in set(joined) | set(began)})
                else:
                    self._send({"error": "unknown"}, 404)

            def log_message(self, *_args) -> None:
                pass

        side = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=side.serve_forever, daemon=True, name="bench-info").start()
        ready = Path(args.ready_file)
        with tempfile.NamedTemporaryFile("w", dir=ready.parent, delete=False) as tmp:
            json.dump({"app": app.url, "sandbox": app.backend.sandbox.base_url,
                       "info": f"http://127.0.0.1:{side.server_address[1]}", "pid": os.getpid(),
                       "poll": dataclasses.asdict(app.backend.client_settings.poll)}, tmp)
        os.replace(tmp.name, ready)
        stop.wait()
        side.shutdown()


if __name__ == "__main__":
    main()
