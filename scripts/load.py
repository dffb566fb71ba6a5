"""A bounded load run: many sessions generating at once through the real app, with faults injected.

    python scripts/load.py [--sessions 50] [--runs 10] [--faults 0.05]

Each session is its own gradio_client (its own session, so its own sandbox identity) and makes its runs one after
another through /generate, each with a unique prompt. About `--faults` of the jobs meet an injected fault (failed
jobs, shadow fails, 503 on submit, 500 on a poll). Prints: runs completed, clear errors (a terminal record with an
error kind and message), lost (no terminal answer within the deadline), duplicate submissions (more than one
sandbox job for one prompt), images that carry someone else's prompt, and the wall time. Never pass/fail.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gradio_client import Client  # noqa: E402
from PIL import Image  # noqa: E402

from playground.launcher import free_port, running_app  # noqa: E402
from playground.sandbox import Fault  # noqa: E402
from playground.settings import AppSettings, PollPolicy, SandboxSettings, Settings  # noqa: E402

FAULTS = [Fault(kind="job_fails"), Fault(kind="shadow_fail"), Fault(kind="submit_status", status=503),
          Fault(kind="get_status", status=500)]
RUN_DEADLINE = 120.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--faults", type=float, default=0.05, help="share of jobs that meet a fault")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="load-"))
    settings = Settings(use_sandbox=True, sandbox=SandboxSettings(speed=0.02, min_job_seconds=1.0),
                        app=AppSettings(output_dir=out / "outputs", data_dir=out / "data", port=free_port(),
                                        sandbox_poll=PollPolicy(initial_interval=0.2, max_interval=1.0)))
    total = args.sessions * args.runs
    outcomes: collections.Counter[str] = collections.Counter()
    foreign_images = 0
    lock = threading.Lock()

    with running_app(settings) as app:
        injected = round(total * args.faults)
        for i in range(injected):  # spread over kinds; each is used once, by whichever job meets it first
            app.backend.sandbox.set_fault(dataclasses.replace(FAULTS[i % len(FAULTS)], count=1))

        def session(number: int) -> None:
            nonlocal foreign_images
            client = Client(app.url, verbose=False)
            try:
                for run in range(args.runs):
                    prompt = f"load s{number} r{run}"
                    job = client.submit(model="bfl/flux-1-dev", prompt=prompt, api_name="/generate")
                    try:
                        image, record = job.result(timeout=RUN_DEADLINE)
                    except Exception as exc:  # a refusal raised as an error still counts as a clear answer
                        kind = "clear error (raised)" if str(exc) else "lost"
                        with lock:
                            outcomes[kind] += 1
                        continue
                    with lock:
                        if record.get("phase") == "done":
                            outcomes["completed"] += 1
                        elif record.get("error") and record["error"].get("message"):
                            outcomes["clear error"] += 1
                        else:
                            outcomes["lost"] += 1
                        if image and Image.open(image).text.get("prompt") != prompt:
                            foreign_images += 1
            finally:
                client.close()

        start = time.monotonic()
        threads = [threading.Thread(target=session, args=(n,)) for n in range(args.sessions)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - start
        per_prompt = collections.Counter(j.prompt for j in app.engine.jobs if j.prompt.startswith("load "))
        duplicates = sum(n - 1 for n in per_prompt.values() if n > 1)

    print(f"{args.sessions} sessions x {args.runs} runs = {total} runs, {injected} faults injected "
          f"({args.faults:.0%}); machine: {os.cpu_count()} cores")
    for name in ("completed", "clear error", "clear error (raised)", "lost"):
        print(f"   {name:<22} {outcomes[name]:>5}")
    print(f"   duplicate submissions  {duplicates:>5}")
    print(f"   images with another's prompt {foreign_images:>3}")
    print(f"   wall time              {wall:>7.1f} s ({total / wall:.1f} runs/s)")


if __name__ == "__main__":
    main()
