"""CPU spent per run, in milliseconds: figures only (never a pass/fail test).

    python scripts/cpu_per_run.py [--runs 10] [--model bfl/flux-1-dev]

1. Sandbox render + encode alone: the sandbox's own work for one job (final PNG and its preview JPEGs), called
   directly, without HTTP.
2. App save alone: what the app does with the bytes it downloaded (final PNG with its recipe, preview copies).
3. App alone: whole runs through RunService (submit, polls, previews, download, save, journal) against a sandbox
   in another process; only this process's CPU is counted (the sandbox's is printed beside it).
4. Whole run in sandbox mode: the same with the sandbox in-process, as `python app.py` without a token runs.

CPU is `resource.getrusage(RUSAGE_SELF)` user + system time (every thread of the process), or the sandbox
process's /proc/<pid>/stat. Each run uses a new seed, so no render is reused from an earlier one.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402
from PIL.PngImagePlugin import PngInfo  # noqa: E402

from playground.backend import start_backend, stop_backend  # noqa: E402
from playground.catalog import load_catalog, output_size  # noqa: E402
from playground.outputs import png_metadata, save_final_png, save_preview  # noqa: E402
from playground.sandbox.job_files import render_files  # noqa: E402
from playground.service import GenerationRequest, RunService  # noqa: E402
from playground.sessions import Backend, SessionRegistry  # noqa: E402
from playground.settings import AppSettings, ClientSettings, SandboxSettings, Settings, replace  # noqa: E402
from playground.store import RunStore  # noqa: E402

PROMPT = "a serene mountain landscape at sunset"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of another process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def per_run_ms(action, runs: int) -> list[float]:
    """CPU milliseconds of each call of action(i), after one warm-up call."""
    action(-1)
    figures = []
    for i in range(runs):
        start = cpu_seconds()
        action(i)
        figures.append((cpu_seconds() - start) * 1000)
    return figures


def show(label: str, figures: list[float], extra: str = "") -> None:
    print(f"   {label:<44} median {statistics.median(figures):7.1f} ms   mean {statistics.mean(figures):7.1f} ms"
          f"{extra}")


def bench_sandbox_files(model_id: str, runs: int) -> dict[str, bytes]:
    catalog = load_catalog()
    width, height = output_size(catalog.get(model_id), {})
    frames = 3 if catalog.get(model_id).previews else 0
    files: dict[str, bytes] = {}

    def render(i: int) -> None:
        files.clear()
        files.update(render_files(model_id, PROMPT, 1000 + i, width, height, frames))

    show(f"{model_id} {width}x{height}, {frames} previews", per_run_ms(render, runs))
    sizes = ", ".join(f"{name} {len(data) // 1024} KB" for name, data in files.items())
    print(f"   (files: {sizes})")
    with Image.open(io.BytesIO(files["image.png"])) as png:
        image = png.convert("RGB")
    show("  for reference: that PNG by Pillow at level 6",
         per_run_ms(lambda i: image.save(io.BytesIO(), format="PNG"), runs))
    return files


def decoded_again(png: bytes, meta: dict[str, str]) -> bytes:
    """What saving with metadata cost before the splice: a full decode, then Pillow's encoder at level 6."""
    info = PngInfo()
    for key, value in meta.items():
        info.add_itxt(key, value)
    buffer = io.BytesIO()
    with Image.open(io.BytesIO(png)) as image:
        image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def bench_app_save(files: dict[str, bytes], runs: int, output_dir: Path) -> None:
    final = files["image.png"]
    previews = [data for name, data in files.items() if name != "image.png"]
    meta = png_metadata(prompt=PROMPT, model_id="bfl/flux-1-dev", params={"prompt": PROMPT, "seed": 1}, seed=1,
                        job_id="bench", backend="sandbox")
    show("final PNG with its recipe", per_run_ms(lambda i: save_final_png(final, output_dir, meta), runs))
    show("  for reference: decode + re-encode instead", per_run_ms(lambda i: decoded_again(final, meta), runs))
    if previews:
        copies: list[str] = []
        show(f"{len(previews)} preview copies", per_run_ms(
            lambda i: copies.extend(save_preview(data, f"cpu-bench-{i}", n) for n, data in enumerate(previews, 1)),
            runs))
        for copy in copies:  # they live in the shared preview folder, not in this run's temp folder
            Path(copy).unlink(missing_ok=True)


def drive_runs(service: RunService, model_id: str, runs: int, seed_base: int) -> list[float]:
    def run(i: int) -> None:
        request = GenerationRequest(model_id, PROMPT, seed=seed_base + i)
        last = list(service.start_generation("bench", request))[-1]
        if last.phase != "done":
            raise SystemExit(f"run {i} ended {last.phase}: {last.error}")

    return per_run_ms(run, runs)


def make_service(backend: Backend, root: Path) -> RunService:
    return RunService(load_catalog(), backend, SessionRegistry(backend), root / "out", RunStore(root / "data"))


def bench_app_alone(settings: Settings, model_id: str, runs: int, root: Path) -> None:
    s = settings.sandbox
    command = [sys.executable, "-m", "playground.sandbox", "--port", "0", "--speed", str(s.speed),
               "--min-job-seconds", str(s.min_job_seconds)]
    sandbox = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent)
    try:
        match = re.search(r"running at (\S+)", sandbox.stdout.readline())
        if match is None:
            raise SystemExit("the sandbox process did not start")
        client = replace(ClientSettings(), base_url=match.group(1), download_host_suffixes=(),
                         poll=settings.app.sandbox_poll)
        backend = Backend(name="sandbox", client_settings=client, krea_settings=ClientSettings())
        service = make_service(backend, root)
        sandbox_before = process_cpu_seconds(sandbox.pid)
        wall = time.monotonic()
        figures = drive_runs(service, model_id, runs, 2000)
        wall = time.monotonic() - wall
        sandbox_ms = (process_cpu_seconds(sandbox.pid) - sandbox_before) * 1000 / (runs + 1)
        show("app (this process)", figures,
             f"   [sandbox process {sandbox_ms:.0f} ms/run, wall {wall / (runs + 1):.2f} s/run]")
    finally:
        sandbox.terminate()
        sandbox.wait(10)


def bench_in_process(settings: Settings, model_id: str, runs: int, root: Path) -> None:
    backend = start_backend(settings, load_catalog())
    try:
        show("app + in-process sandbox", drive_runs(make_service(backend, root), model_id, runs, 3000))
    finally:
        stop_backend(backend)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--model", default="bfl/flux-1-dev")
    parser.add_argument("--speed", type=float, default=SandboxSettings.speed, help="sandbox speed (the demo's)")
    args = parser.parse_args()
    settings = Settings(use_sandbox=True, sandbox=SandboxSettings(speed=args.speed), app=AppSettings())
    print(f"machine: {os.cpu_count()} cores; {args.runs} runs each (after one warm-up); CPU ms per run")
    with tempfile.TemporaryDirectory(prefix="cpu-per-run-") as folder:
        root = Path(folder)
        print("\n1. Sandbox render + encode alone")
        files = bench_sandbox_files(args.model, args.runs)
        print("\n2. App save alone")
        bench_app_save(files, args.runs, root / "saved")
        print(f"\n3. Whole runs, sandbox in another process (speed {args.speed}, {settings.app.sandbox_poll})")
        bench_app_alone(settings, args.model, args.runs, root / "alone")
        print("\n4. Whole runs in sandbox mode (sandbox in-process)")
        bench_in_process(settings, args.model, args.runs, root / "in-process")

if __name__ == "__main__":
    main()
