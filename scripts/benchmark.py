"""Benchmarks: figures and ratios measured side by side in one run (never a pass/fail test).

    python scripts/benchmark.py [--runs 3] [--speed 0.06]

1. Compare fan-out: the five default models through the real app (gradio_client -> Compare tab -> sandbox over
   loopback HTTP). Prints the comparison's wall time against the slowest single model's time in the same run;
   one after another would be about the sum of the tiles (~N times the slowest).
2. Two users at once on the Generate tab: wall time of both against each one's own time.
3. Sandbox renderer: median milliseconds per image.
4. Head-of-line: 100 runs whose jobs never end are being watched; how long until another visitor's run shows its
   first update (target under 1 s), next to the same with the old limit of 16 runs per event.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gradio_client import Client  # noqa: E402

from playground.launcher import free_port, running_app  # noqa: E402
from playground.settings import AppSettings, PollPolicy, SandboxSettings, Settings  # noqa: E402

FIVE = ["krea/krea-2/medium", "bfl/flux-1-dev", "google/nano-banana-pro", "bytedance/seedream-4",
        "openai/gpt-image-2"]


def settings_for(speed: float, output_dir: Path) -> Settings:
    """The demo's own sandbox and poll settings (only the output folder and port differ)."""
    return Settings(use_sandbox=True, sandbox=SandboxSettings(speed=speed),
                    app=AppSettings(output_dir=output_dir, data_dir=output_dir / "data", port=free_port()))


def bench_compare(app, runs: int) -> list[float]:
    print(f"\n1. Compare fan-out: {len(FIVE)} models, {runs} runs, sandbox speed {app.settings.sandbox.speed}")
    print("   wall = click to final table at the client; tiles = each model's own submit-to-saved-image time")
    print(f"   {'run':>3}  {'wall s':>7}  {'slowest tile s':>14}  {'sum of tiles s':>14}  "
          f"{'wall/slowest':>12}  {'sum/wall':>8}")
    ratios = []
    for run in range(1, runs + 1):
        # download_files=False: like a browser, don't fetch every intermediate image into the measurement.
        client = Client(app.url, verbose=False, download_files=False)
        start = time.monotonic()
        _images, records = client.submit(prompt=f"a lighthouse at dusk, run {run}", models=FIVE,
                                         api_name="/compare").result()
        wall = time.monotonic() - start
        client.close()
        totals = [r["total_s"] for r in records]
        phases = [r["phase"] for r in records]
        assert phases == ["done"] * len(FIVE), phases
        slowest, total = max(totals), sum(totals)
        ratios.append(wall / slowest)
        print(f"   {run:>3}  {wall:>7.2f}  {slowest:>14.2f}  {total:>14.2f}  {wall / slowest:>12.3f}  "
              f"{total / wall:>8.2f}")
    print(f"   median wall/slowest = {statistics.median(ratios):.3f} (target <= 1.15; one after another would be "
          f"~{len(FIVE)} times the average tile)")
    return ratios


def bench_two_users(app) -> None:
    print("\n2. Two users generating at once (Generate tab, Flux)")
    clients = [Client(app.url, verbose=False) for _ in range(2)]
    own: dict[int, float] = {}

    def user(index: int) -> None:
        start = time.monotonic()
        clients[index].submit(model="bfl/flux-1-dev", prompt=f"user {index}", api_name="/generate").result()
        own[index] = time.monotonic() - start

    alone_start = time.monotonic()
    user(0)
    alone = time.monotonic() - alone_start
    threads = [threading.Thread(target=user, args=(i,)) for i in range(2)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - start
    for c in clients:
        c.close()
    print(f"   one alone {alone:.2f} s; two at once: wall {wall:.2f} s (each {own[0]:.2f} s / {own[1]:.2f} s); "
          f"wall/alone = {wall / alone:.2f} (one after the other would be ~2; sandbox durations vary ±25%)")


def bench_renderer() -> None:
    from playground.sandbox.renderer import render_image, render_preview

    print("\n3. Sandbox renderer (median of 15, ms)")
    for model, (w, h) in [("bfl/flux-1-dev", (1024, 1024)), ("krea/krea-2/medium", (1024, 1024)),
                          ("openai/gpt-image-2", (1024, 576)), ("google/imagen-4", (2048, 2048))]:
        times = []
        for i in range(15):
            start = time.perf_counter()
            image = render_image(model, "a serene mountain landscape at sunset", i, w, h)
            times.append((time.perf_counter() - start) * 1000)
        preview_times = []
        for i in range(15):
            start = time.perf_counter()
            render_preview(image, i / 15, 1)
            preview_times.append((time.perf_counter() - start) * 1000)
        print(f"   {model:<22} {w}x{h}: {statistics.median(times):6.1f} ms   "
              f"preview {statistics.median(preview_times):5.1f} ms")


def bench_head_of_line(holders: int = 100) -> None:
    import dataclasses

    import requests

    from playground.sandbox import Fault

    print(f"\n4. Head-of-line: {holders} runs with never-ending jobs, then one more visitor's run")
    new = AppSettings()
    for limit, threads in ((new.concurrency_limit, new.max_threads), (16, 64)):  # now, and the old settings
        out = Path(tempfile.mkdtemp(prefix="bench-hol-"))
        settings = settings_for(SandboxSettings.speed, out)
        settings = dataclasses.replace(
            settings, sandbox=dataclasses.replace(settings.sandbox, concurrency_limit=holders + 8,
                                                  backlog_limit=holders + 8),
            app=dataclasses.replace(settings.app, concurrency_limit=limit, max_threads=threads,
                                    session_run_limit=holders + 8))
        with running_app(settings) as app:
            app.backend.sandbox.set_fault(Fault(kind="hang", count=holders))
            http = requests.Session()
            for i in range(holders):  # Gradio's REST call API: queued at once, each held by a hanging job
                http.post(f"{app.url}gradio_api/call/generate",
                          json={"data": ["bfl/flux-1-dev", f"holder {i}", None, None, None, None, None, None]},
                          timeout=10).raise_for_status()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and sum(j.status == "processing" for j in app.engine.jobs) < min(
                    holders, limit):
                time.sleep(0.1)
            held = sum(j.status == "processing" for j in app.engine.jobs)
            client = Client(app.url, verbose=False, download_files=False)
            start = time.monotonic()
            job = client.submit(model="bfl/flux-1-dev", prompt="the next visitor", api_name="/generate")
            first = None
            while time.monotonic() - start < 10 and first is None:
                if job.status().code.name in ("ITERATING", "FINISHED") or job.outputs():
                    first = time.monotonic() - start
                time.sleep(0.02)
            shown = f"{first:.2f} s" if first is not None else "none within 10 s"
            print(f"   {limit:>3} runs per event, {threads:>3} queue slots: {held} jobs held; the next visitor's first "
                  f"update after {shown}")
            job.cancel()
            client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--speed", type=float, default=SandboxSettings.speed,
                        help="sandbox speed factor (default: the demo's)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; poll policy in sandbox mode: {PollPolicy.__name__} "
          f"{AppSettings().sandbox_poll}")
    with running_app(settings_for(args.speed, Path(tempfile.mkdtemp(prefix="bench-")))) as app:
        bench_compare(app, args.runs)
        bench_two_users(app)
    bench_renderer()
    bench_head_of_line()


if __name__ == "__main__":
    main()
