"""Benchmarks: each figure printed with its comparison beside it, measured in the same run (never pass/fail).

    python scripts/benchmark.py                 # everything (about 7-8 minutes on 2 cores)
    python scripts/benchmark.py --quick         # a shorter version of every section (about 3-4 minutes)
    python scripts/benchmark.py --only A        # one section (or a list: --only A,C)

Every section prints the load average and the machine's CPU busy share while it measured, and the run ends with a
Markdown table (figure | this app | beside it | target) to paste into the README.

1. Compare fan-out: five models through the real app; the comparison's wall time against its slowest tile.
2. Two users generating at once on the Generate tab: wall time of both against one alone.
3. Sandbox renderer: median milliseconds per image.
4. Head-of-line: 100 runs whose jobs never end are watched; how soon another visitor's run shows its first update,
   next to the same with the old limit of 16 runs per event.
A. Detection lag: from a job's `completed_at` (sandbox wall clock, ISO 8601 with ms) to the image bytes in hand at a
   gradio_client calling /generate, p50/p95, and GET /jobs/{id} per second per job (counted at the sandbox), for
   short jobs and for real-length jobs (4-90 s of Krea time, scaled by the sandbox's speed), next to two reference
   clients on the same sandbox at the same time: Krea's documented fixed 2 s poll loop and a fixed 0.5 s loop.
B. CPU per completed run of the app process: sandbox mode (sandbox inside the app) and the app alone (sandbox in
   its own process, `app.py --no-sandbox` with KREA_API_BASE and the same poll schedule).
C. Idle CPU: milliseconds of CPU per second of an idle app, next to a bare Gradio app.
D. 50 sessions generating at once against one alone: wall-time ratio, and how long each run waited between the
   client's submit and the sandbox's POST (a run that waited for a Gradio slot shows here).
E. Start-up to the first page (HTTP 200 on /) of app.py next to a bare Gradio app; median of 3.
F. Memory: resident memory of the app over 500 runs; then the size of Gradio's cache and our temp folders.

Sections 1-4 run the app in this process; A and D in scripts/bench_app.py (the app exactly as in sandbox mode, plus
a side port that reports the sandbox's jobs, their GET counts and when calls joined Gradio's queue); A, B, C, E, F
run `python app.py` itself. The children inherit the environment (minus any Krea token), so e.g.
`PLAYGROUND_WEBHOOKS=on python scripts/benchmark.py --only A` measures that mode; what a section sets itself
(ports, folders, sandbox speed and capacity) wins.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gradio_client import Client  # noqa: E402

import bench_support as bs  # noqa: E402
from playground.catalog import load_catalog  # noqa: E402
from playground.catalog.validation import example_params  # noqa: E402
from playground.settings import AppSettings, PollPolicy, SandboxSettings, Settings  # noqa: E402

FIVE = ["krea/krea-2/medium", "bfl/flux-1-dev", "google/nano-banana-pro", "bytedance/seedream-4",
        "openai/gpt-image-2"]
# Real-length jobs: the catalog's typical seconds x the sandbox's 0.75-1.25 jitter spans 4.5-90 s of Krea time.
REAL_MODELS = ["openai/gpt-image", "openai/gpt-image-2", "luma/uni-1", "bytedance/seedream-5-lite", "qwen/2512",
               "google/nano-banana-pro", "bytedance/seedream-4", "krea/krea-2/large", "google/imagen-4",
               "bfl/flux-1.1-pro", "krea/krea-2/medium", "ideogram/ideogram-2-turbo", "bfl/flux-1-dev",
               "google/imagen-4-fast"]
SMALL = (512, 512)  # Flux's smallest size: keeps the sandbox's PNG encoding from dominating bursts of runs


# ----------------------------------------------------------------------------------------------- results

@dataclass
class Row:
    figure: str
    value: str
    beside: str
    target: str = ""


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    loads: list[tuple[str, bs.LoadSampler]] = field(default_factory=list)

    def add(self, figure: str, value: str, beside: str, target: str = "") -> None:
        self.rows.append(Row(figure, value, beside, target))


@contextlib.contextmanager
def section(results: Results, name: str, title: str):
    """Print the title, sample the load while the body runs, print the load line after."""
    print(f"\n{name}. {title}", flush=True)
    with bs.LoadSampler() as sampler:
        yield sampler
    print(f"   {sampler.line()}", flush=True)
    results.loads.append((name, sampler))


def settings_for(speed: float, output_dir: Path) -> Settings:
    """The demo's own sandbox and poll settings (only the output folder and port differ)."""
    return Settings(use_sandbox=True, sandbox=SandboxSettings(speed=speed),
                    app=AppSettings(output_dir=output_dir, data_dir=output_dir / "data", port=bs.free_port()))


def client_for(url: str) -> Client:
    # download_files=False: like a browser, don't fetch every intermediate image into the measurement.
    return Client(url, verbose=False, download_files=False)


def clients_for(url: str, count: int) -> list[Client]:
    made: list[Client | None] = [None] * count

    def make(i: int) -> None:
        made[i] = client_for(url)

    threads = [threading.Thread(target=make, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [c for c in made if c is not None]


_local = threading.local()


def _http():
    if not hasattr(_local, "http"):
        _local.http = bs.http()
    return _local.http


@dataclass
class AppRun:
    t_submit: float = 0.0  # wall clock (time.time(): the sandbox's clock too)
    prompt: str = ""
    t_msg: float | None = None  # the final output message arrived at the client
    t_img: float | None = None  # ...and the image's bytes were fetched from the app
    job_id: str | None = None
    phase: str | None = None
    error: str | None = None


def app_run(client: Client, model: str, prompt: str, size: tuple[int, int] | None = None,
            timeout: float = 300.0) -> AppRun:
    """One /generate call; times when its result and then its image bytes are in hand."""
    run = AppRun(t_submit=time.time(), prompt=prompt)
    kwargs = {"model": model, "prompt": prompt}
    if size:
        kwargs.update(width=size[0], height=size[1])
    try:
        image, record = client.submit(api_name="/generate", **kwargs).result(timeout=timeout)
        run.t_msg = time.time()
        run.job_id, run.phase = record.get("job_id"), record.get("phase")
        url = image.get("url") if isinstance(image, dict) else None
        if url:
            answer = _http().get(url, timeout=30)
            answer.raise_for_status()
            run.t_img = time.time()
        elif image:
            run.t_img = run.t_msg  # already a local file
        if run.phase != "done":
            run.error = str((record.get("error") or {}).get("message") or run.phase)
    except Exception as exc:  # noqa: BLE001 - counted and shown, never ends the section
        run.error = f"{type(exc).__name__}: {exc}"[:200]
    return run


def rest_run(url: str, session_hash: str, model: str, prompt: str, size: tuple[int, int] | None = None,
             timeout: float = 300.0) -> AppRun:
    """One /generate call through Gradio's REST call API (POST /gradio_api/call/generate, then its SSE stream) with
    requests: a lighter client than gradio_client, so 50 of them in this process cost little of the machine."""
    run = AppRun(t_submit=time.time(), prompt=prompt)
    session = _http()
    width, height = size or (None, None)
    try:
        answer = session.post(f"{url}gradio_api/call/generate", timeout=30, json={
            "data": [model, prompt, width, height, None, None, None, None], "session_hash": session_hash})
        answer.raise_for_status()
        event_id = answer.json()["event_id"]
        final, event = None, None
        with session.get(f"{url}gradio_api/call/generate/{event_id}", stream=True, timeout=timeout) as stream:
            for line in stream.iter_lines(decode_unicode=True):
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    final = (event, line[5:].strip())
                    break
        run.t_msg = time.time()
        if final is None or final[0] != "complete":
            run.error = f"no result: {final}"[:200]
            return run
        image, record = json.loads(final[1])
        run.job_id, run.phase = record.get("job_id"), record.get("phase")
        if isinstance(image, dict) and image.get("url"):
            session.get(image["url"], timeout=30).raise_for_status()
            run.t_img = time.time()
        if run.phase != "done":
            run.error = str((record.get("error") or {}).get("message") or run.phase)
    except Exception as exc:  # noqa: BLE001
        run.error = f"{type(exc).__name__}: {exc}"[:200]
    return run


def drive(clients: list[Client], runs: int, model: str, size: tuple[int, int] | None, tag: str) -> list[AppRun]:
    """`runs` runs spread over the clients (sessions); each session runs its share one after another."""
    results: list[AppRun] = []
    lock = threading.Lock()

    def session(index: int, count: int) -> None:
        for n in range(count):
            run = app_run(clients[index], model, f"{tag} s{index} r{n}", size)
            with lock:
                results.append(run)

    shares = [runs // len(clients) + (1 if i < runs % len(clients) else 0) for i in range(len(clients))]
    threads = [threading.Thread(target=session, args=(i, shares[i])) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def close_all(clients: list[Client]) -> None:
    for c in clients:
        try:
            c.close()
        except Exception:  # noqa: BLE001
            pass


def errors_line(runs: list[AppRun]) -> str:
    failed = [r for r in runs if r.error]
    if not failed:
        return ""
    return f" ({len(failed)} of {len(runs)} failed, e.g. {failed[0].error})"


# ------------------------------------------------------------------------------------------ sections 1-4

def bench_compare(app, runs: int, results: Results) -> None:
    print(f"   {len(FIVE)} models, {runs} runs, sandbox speed {app.settings.sandbox.speed}")
    print("   wall = click to final table at the client; tiles = each model's own submit-to-saved-image time")
    print(f"   {'run':>3}  {'wall s':>7}  {'slowest tile s':>14}  {'sum of tiles s':>14}  "
          f"{'wall/slowest':>12}  {'sum/wall':>8}")
    ratios = []
    for run in range(1, runs + 1):
        client = client_for(app.url)
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
    results.add("1. Compare, 5 models: wall / slowest tile", f"{statistics.median(ratios):.2f}",
                f"one after another ~{len(FIVE)}x the average tile", "<= 1.15")


def bench_two_users(app, results: Results) -> None:
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
    close_all(clients)
    print(f"   one alone {alone:.2f} s; two at once: wall {wall:.2f} s (each {own[0]:.2f} s / {own[1]:.2f} s); "
          f"wall/alone = {wall / alone:.2f} (one after the other would be ~2; sandbox durations vary ±25%)")
    results.add("2. Two users at once: wall / one alone", f"{wall / alone:.2f}", "one after the other ~2")


def bench_renderer(results: Results) -> None:
    from playground.sandbox.renderer import render_image, render_preview

    print("   median of 15, ms")
    flux = None
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
        flux = flux if flux is not None else (statistics.median(times), statistics.median(preview_times))
        print(f"   {model:<22} {w}x{h}: {statistics.median(times):6.1f} ms   "
              f"preview {statistics.median(preview_times):5.1f} ms")
    results.add("3. Sandbox renderer, Flux 1024x1024", f"{flux[0]:.0f} ms", f"preview {flux[1]:.1f} ms",
                "well under 100 ms")


def bench_head_of_line(results: Results, holders: int = 100) -> None:
    import requests

    from playground.launcher import running_app
    from playground.sandbox import Fault

    print(f"   {holders} runs with never-ending jobs, then one more visitor's run")
    new = AppSettings()
    seen = {}
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
            client = client_for(app.url)
            start = time.monotonic()
            job = client.submit(model="bfl/flux-1-dev", prompt="the next visitor", api_name="/generate")
            first = None
            while time.monotonic() - start < 10 and first is None:
                if job.status().code.name in ("ITERATING", "FINISHED") or job.outputs():
                    first = time.monotonic() - start
                time.sleep(0.02)
            shown = f"{first:.2f} s" if first is not None else "none within 10 s"
            seen[limit] = shown
            print(f"   {limit:>3} runs per event, {threads:>3} queue slots: {held} jobs held; the next visitor's first "
                  f"update after {shown}")
            job.cancel()
            client.close()
        shutil.rmtree(out, ignore_errors=True)
    results.add(f"4. Head-of-line: first update with {holders} runs held", seen[new.concurrency_limit],
                f"old 16-slot setting: {seen[16]}", "< 1 s")


# ----------------------------------------------------------------------------------------- A. detection lag

@dataclass
class Mix:
    name: str
    speed: float
    min_job_seconds: float
    models: list[str]
    size: tuple[int, int] | None
    spacing: float  # seconds between two submits of one client


@dataclass
class Measured:
    lags: list[float] = field(default_factory=list)  # s, completed_at -> image bytes (app) / GET that saw it
    msg_lags: list[float] = field(default_factory=list)  # app only: completed_at -> final message
    detect: list[float] = field(default_factory=list)  # completed_at -> the sandbox served the GET that saw it
    deliver: list[float] = field(default_factory=list)  # app only: that GET -> image bytes at the client
    rates: list[float] = field(default_factory=list)  # GET /jobs/{id} per second of the job's life
    gets: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _lag_cell(m: Measured) -> str:
    return f"{bs.fmt(bs.pct(m.lags, 50) * 1000, '.0f')} / {bs.fmt(bs.pct(m.lags, 95) * 1000, '.0f')} ms"


def _rate_cell(m: Measured) -> str:
    return f"{bs.fmt(bs.median(m.rates), '.2f')} GET/s"


def bench_detection_lag(args, tmp: Path, results: Results) -> None:
    jobs = args.lag_jobs
    real_speed = args.real_speed
    catalog = load_catalog()
    mixes = [
        Mix("short", SandboxSettings.speed, SandboxSettings.min_job_seconds, ["bfl/flux-1-dev"], SMALL, 1.0),
        # Longest first, so the section lasts about the longest job plus the submit window.
        Mix("real length", real_speed, 0.1, [REAL_MODELS[i % len(REAL_MODELS)] for i in range(jobs)], None,
            max(0.25, 24.0 * real_speed / jobs)),
    ]
    short = mixes[0]
    print(f"   {jobs} jobs per mix per client; the four clients submit the same jobs at the same pace, side by side, "
          "to ONE sandbox: the one inside the sandbox-mode app, started afresh for each mix with that mix's speed "
          "(so the app's own idea of job lengths matches); the Krea-mode app (`app.py --no-sandbox`, "
          "KREA_API_BASE=that sandbox) expects Krea's typical times")
    print(f"   short: Flux {SMALL[0]}x{SMALL[1]}, sandbox speed {short.speed}, floor {short.min_job_seconds} s -> "
          f"jobs of {short.min_job_seconds * 0.75:.1f}-{short.min_job_seconds * 1.25:.1f} s (Krea's typical Flux "
          f"time is {catalog.get('bfl/flux-1-dev').expected_seconds:g} s), one submit per {short.spacing:g} s")
    print(f"   real length: {len(set(mixes[1].models))} models at their default size, Krea's typical 6-72 s x "
          f"0.75-1.25 = 4.5-90 s, scaled by sandbox speed {real_speed} -> {4.5 * real_speed:.1f}-"
          f"{90 * real_speed:.1f} s here (speed 1.0 is real time); longest first, one submit per "
          f"{mixes[1].spacing:g} s")
    print("   lag = job's completed_at (sandbox wall clock, ms) -> image bytes fetched by the gradio_client (app) or "
          "the GET that saw it (reference loops), same clock; GET/s = the sandbox's count of GET /jobs/{id} for "
          "the job / (completed_at - created_at)")
    for mix in mixes:
        slug = mix.name.replace(" ", "-")
        child = bs.start_instrumented(tmp / f"lag-{slug}", speed=mix.speed, min_job_seconds=mix.min_job_seconds,
                                      name=f"app-lag-{slug}")
        krea_mode = hooked = None
        pools: dict[str, list[Client]] = {}
        try:
            info = bs.Instrumented(child)
            krea_mode = bs.start_app(tmp / f"lag-krea-{slug}", sandbox=False, api_base=info.sandbox,
                                     token="bench-krea-mode", name=f"app-krea-mode-{slug}")
            hooked = bs.start_app(tmp / f"lag-hook-{slug}", sandbox=False, api_base=info.sandbox,
                                  token="bench-webhooks", name=f"app-webhooks-{slug}", webhooks=True)
            sandbox_poll = PollPolicy(**child.info["poll"])
            pools = {"sandbox": clients_for(child.url, max(1, math.ceil(jobs / 4))),
                     "krea": clients_for(krea_mode.url, max(1, math.ceil(jobs / 4))),
                     "hooked": clients_for(hooked.url, max(1, math.ceil(jobs / 4)))}
            kinds = [
                ("app, sandbox mode", _policy(sandbox_poll), _app_kind(pools["sandbox"])),
                ("app, Krea mode (--no-sandbox)", _policy(PollPolicy()), _app_kind(pools["krea"])),
                ("Krea docs loop, fixed 2 s", "sleep 2 s", _ref_kind(catalog, info.sandbox, 2.0, "bench-ref-2s")),
                ("fixed 0.5 s loop", "sleep 0.5 s", _ref_kind(catalog, info.sandbox, 0.5, "bench-ref-0.5s")),
                ("app, Krea mode + webhooks", "webhook; safety polls", _app_kind(pools["hooked"])),
            ]
            outcome = _run_mix(mix, jobs, kinds, info)
        finally:
            for pool in pools.values():
                close_all(pool)
            for app in (krea_mode, hooked):
                if app is not None:
                    app.stop()
            child.stop()
        print(f"\n   mix: {mix.name}")
        width = max(len(policy) for _l, policy, _f in kinds)
        print(f"   {'client':<31} {'poll':<{width}} {'jobs':>4}  {'lag p50':>8}  {'p95':>7}  {'max':>7}  "
              f"{'GET/s/job':>9}  {'GETs/job':>8}")
        for (label, policy, _fn), m in zip(kinds, outcome):
            print(f"   {label:<31} {policy:<{width}} {len(m.lags):>4}  {bs.pct(m.lags, 50) * 1000:>6.0f}ms  "
                  f"{bs.pct(m.lags, 95) * 1000:>5.0f}ms  {max(m.lags, default=math.nan) * 1000:>5.0f}ms  "
                  f"{bs.median(m.rates):>9.2f}  {bs.median(m.gets):>8.1f}"
                  + (f"  ({len(m.errors)} failed: {m.errors[0]})" if m.errors else ""))
        for (label, _p, _f), m in zip([*kinds[:2], kinds[4]], [*outcome[:2], outcome[4]]):
            print(f"   {label}: completed_at -> the app's GET that saw it p50 {bs.pct(m.detect, 50) * 1000:.0f}"
                  f" / p95 {bs.pct(m.detect, 95) * 1000:.0f} ms; that GET -> image bytes at the client p50 "
                  f"{bs.pct(m.deliver, 50) * 1000:.0f} / p95 {bs.pct(m.deliver, 95) * 1000:.0f} ms (final "
                  f"message without the image: p50 {bs.pct(m.msg_lags, 50) * 1000:.0f} ms)")
        app_m, krea_m, two, half, hook_m = outcome
        polls_before = [g - 1 for g in hook_m.gets]  # the one GET after the call is not "between"
        results.add(f"A. Lag p50 / p95 and GETs before completion, {mix.name} jobs (app, webhook mode)",
                    f"{_lag_cell(hook_m)}, {bs.median(polls_before):.0f} GETs (max {max(polls_before, default=0):.0f})",
                    f"polling app {_lag_cell(krea_m)}", "p50 <= 50 ms, no polls before completion")
        # The Krea-mode app expects Krea's typical times; the sandbox runs them `shorter` times faster here.
        shorter = statistics.median(
            e / max(mix.min_job_seconds, e * mix.speed)
            for e in (catalog.get(m).expected_seconds for m in mix.models))
        krea_note = f"; jobs {shorter:.1f}x shorter than it expects" if abs(shorter - 1) > 0.05 else ""
        print(f"   (the Krea-mode app expects Krea's typical job lengths: here the jobs are {shorter:.1f}x shorter)"
              if krea_note else "   (the Krea-mode app's expected job lengths match the jobs': speed 1.0)")
        results.add(f"A. Lag p50 / p95, {mix.name} jobs (app, sandbox mode)", _lag_cell(app_m),
                    f"2 s loop {_lag_cell(two)}; 0.5 s loop {_lag_cell(half)}", "<= 150 / <= 400 ms")
        results.add(f"A. GET/s per job, {mix.name} jobs (app, sandbox mode)", _rate_cell(app_m),
                    f"2 s loop {_rate_cell(two)}; 0.5 s loop {_rate_cell(half)}", "<= 1.5 GET/s")
        results.add(f"A. Lag p50 / p95 and GET/s, {mix.name} jobs (app, Krea mode{krea_note})",
                    f"{_lag_cell(krea_m)}, {_rate_cell(krea_m)}", "same reference loops as above",
                    "<= 150 / <= 400 ms at <= 1.5 GET/s")


def _app_kind(pool: list[Client]) -> Callable:
    def job(i, model, prompt, size):
        return app_run(pool[i % len(pool)], model, prompt, size)
    return job


def _ref_kind(catalog, base: str, interval: float, token: str) -> Callable:
    def job(i, model, prompt, size):
        body = example_params(catalog.get(model), prompt)  # the required fields the app fills in too
        if size:
            body.update(width=size[0], height=size[1])
        return bs.reference_poll(base, token, model, body, interval)
    return job


def _policy(p: PollPolicy) -> str:
    text = f"{p.initial_interval:g} s x{p.backoff:g} to {p.max_interval:g} s"
    if getattr(p, "dense_interval", None):  # the schedule that polls densely around the expected end
        text += f", dense {p.dense_interval:g} s"
    if getattr(p, "expected_scale", 1.0) != 1.0:
        text += f", expects x{p.expected_scale:g}"
    return text


def _run_mix(mix: Mix, jobs: int, kinds, info: bs.Instrumented) -> list[Measured]:
    """Every kind submits job i at i * spacing (kinds offset by a fraction of it); returns what each measured."""
    outputs: list[list] = [[None] * jobs for _ in kinds]
    threads = []
    schedule = []
    stamp = f"{time.time():.0f}"
    for k, (_label, _policy_text, fn) in enumerate(kinds):
        for i in range(jobs):
            at = i * mix.spacing + k * mix.spacing / len(kinds)
            schedule.append((at, k, i, fn))
    schedule.sort(key=lambda s: s[0])
    start = time.monotonic()

    def one(k, i, fn):
        model = mix.models[i % len(mix.models)]
        outputs[k][i] = fn(i, model, f"lag bench {mix.name} {stamp} kind {k} job {i}", mix.size)

    for at, k, i, fn in schedule:
        delay = start + at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        t = threading.Thread(target=one, args=(k, i, fn), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join(timeout=400)
    sandbox_jobs = info.jobs()
    measured = []
    for k in range(len(kinds)):
        m = Measured()
        for out in outputs[k]:
            if out is None:
                m.errors.append("no answer")
                continue
            if out.error or not out.job_id or out.job_id not in sandbox_jobs:
                m.errors.append(out.error or "no job id")
                continue
            job = sandbox_jobs[out.job_id]
            completed = job["ended_ms"] / 1000.0
            life = max(0.001, (job["ended_ms"] - job["created_ms"]) / 1000.0)
            if isinstance(out, AppRun):
                if out.t_img is None:
                    m.errors.append("no image")
                    continue
                m.lags.append(out.t_img - completed)
                m.msg_lags.append(out.t_msg - completed)
                if job.get("seen"):
                    m.detect.append(job["seen"] - completed)
                    m.deliver.append(out.t_img - job["seen"])
            else:
                if out.seen_at is None:
                    m.errors.append(out.error or "not seen")
                    continue
                m.lags.append(out.seen_at - (out.completed_at or completed))
            m.gets.append(job["gets"])
            m.rates.append(job["gets"] / life)
        measured.append(m)
    return measured


# ---------------------------------------------------------------------------------------- B. CPU per run

def bench_cpu_per_run(args, tmp: Path, results: Results) -> None:
    runs, sessions = args.cpu_runs, 4
    poll = AppSettings().sandbox_poll
    poll_env = {"KREA_POLL_INITIAL": str(poll.initial_interval), "KREA_POLL_BACKOFF": str(poll.backoff),
                "KREA_POLL_MAX": str(poll.max_interval)}
    if getattr(poll, "dense_interval", None):
        poll_env["KREA_POLL_DENSE"] = str(poll.dense_interval)
    print(f"   {runs} runs of Flux at its default size (1024x1024), {sessions} sessions, sandbox speed "
          f"{SandboxSettings.speed}; CPU = utime+stime of the process (/proc/PID/stat) over the runs / runs")
    print(f"   app alone: `python -m playground.sandbox` in its own process, `python app.py --no-sandbox` with "
          f"KREA_API_BASE and the sandbox-mode poll schedule ({_policy(poll)}) via KREA_POLL_* (it still expects "
          f"Krea's job lengths: no setting scales them outside sandbox mode)")
    figures = {}
    for mode in ("sandbox mode", "app alone"):
        sandbox = app = None
        try:
            if mode == "sandbox mode":
                app = bs.start_app(tmp / "cpu-sandbox", sandbox=True, env_extra={"SANDBOX_CONCURRENCY": "64"},
                                   name="app-cpu-sandbox")
            else:
                sandbox = bs.start_sandbox(tmp / "cpu-alone", "--concurrency", "64", name="sandbox-cpu")
                app = bs.start_app(tmp / "cpu-alone", sandbox=False, api_base=sandbox.url, token="bench-cpu",
                                   env_extra=poll_env, name="app-cpu-alone")
            clients = clients_for(app.url, sessions)
            drive(clients, sessions, "bfl/flux-1-dev", None, "warm-up")  # one run per session first
            idle0, t_idle = app.cpu(), time.monotonic()
            time.sleep(3)
            idle_rate = (app.cpu() - idle0) / (time.monotonic() - t_idle)
            cpu0 = app.cpu()
            sb0 = sandbox.cpu() if sandbox else 0.0
            start = time.monotonic()
            done = drive(clients, runs, "bfl/flux-1-dev", None, f"cpu {mode}")
            wall = time.monotonic() - start
            cpu = app.cpu() - cpu0
            sb_cpu = (sandbox.cpu() - sb0) if sandbox else None
            close_all(clients)
            ok = sum(1 for r in done if not r.error)
            per_run = cpu / max(ok, 1) * 1000
            idle_share = idle_rate * wall / max(ok, 1) * 1000
            figures[mode] = (per_run, sb_cpu / max(ok, 1) * 1000 if sb_cpu is not None else None)
            extra = f"; the sandbox process {figures[mode][1]:.0f} ms per run" if sb_cpu is not None else ""
            print(f"   {mode:<13} {ok} runs in {wall:.1f} s: app process {per_run:.0f} ms CPU per run (of which "
                  f"~{idle_share:.0f} ms is its idle rate over the same time){extra}{errors_line(done)}")
        finally:
            if app is not None:
                app.stop()
            if sandbox is not None:
                sandbox.stop()
    sandbox_ms = figures.get("sandbox mode", (math.nan, None))[0]
    alone_ms, sb_ms = figures.get("app alone", (math.nan, None))
    results.add("B. CPU per run, app process (sandbox mode)", f"{sandbox_ms:.0f} ms",
                f"app alone {alone_ms:.0f} ms (+ sandbox process {bs.fmt(sb_ms, '.0f')} ms)")


# ---------------------------------------------------------------------------------------------- C. idle CPU

def bench_idle(args, tmp: Path, results: Results) -> None:
    seconds = args.idle_seconds
    print(f"   three processes started side by side, first page loaded once, 3 s to settle, then CPU over "
          f"{seconds:g} s")
    children = []
    try:
        children.append(("app.py, sandbox mode", bs.start_app(tmp / "idle-a", sandbox=True, name="app-idle")))
        children.append(("app.py --no-sandbox", bs.start_app(tmp / "idle-b", sandbox=False,
                                                             api_base="http://127.0.0.1:9", name="app-idle-krea")))
        children.append(("bare Gradio app", bs.start_bare(tmp / "idle-c", name="bare-idle")))
        for _label, c in children:
            bs.http().get(c.url, timeout=10)
        time.sleep(3)
        before = {c.pid: c.cpu() for _l, c in children}
        start = time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - start
        rates = {label: (c.cpu() - before[c.pid]) / elapsed * 1000 for label, c in children}
        for label, rate in rates.items():
            print(f"   {label:<22} {rate:6.1f} ms of CPU per second idle")
        results.add("C. Idle CPU, app.py (sandbox mode)", f"{rates['app.py, sandbox mode']:.1f} ms/s",
                    f"bare Gradio {rates['bare Gradio app']:.1f} ms/s; --no-sandbox "
                    f"{rates['app.py --no-sandbox']:.1f} ms/s")
    finally:
        for _label, c in children:
            c.stop()


# -------------------------------------------------------------------------------------- D. 50 sessions at once

def bench_many_sessions(args, tmp: Path, results: Results) -> None:
    sessions = args.sessions
    child = bs.start_instrumented(tmp / "many", speed=SandboxSettings.speed,
                                  min_job_seconds=SandboxSettings.min_job_seconds, concurrency=sessions + 14)
    try:
        info = bs.Instrumented(child)
        print(f"   Flux {SMALL[0]}x{SMALL[1]}, sandbox speed {SandboxSettings.speed} (jobs "
              f"{SandboxSettings.min_job_seconds * 0.75:.1f}-{SandboxSettings.min_job_seconds * 1.25:.1f} s), "
              f"sandbox concurrency {sessions + 14} per token; {sessions} sessions (each its own session_hash, so its "
              f"own sandbox identity), one run each, through Gradio's REST call API with requests (lighter than "
              f"50 gradio_clients)")
        stamp = f"{time.time():.0f}"
        alone = [rest_run(child.url, f"bench-alone-{stamp}", "bfl/flux-1-dev", f"bench-alone {i}", SMALL)
                 for i in range(3)]
        barrier = threading.Barrier(sessions)
        together: list[AppRun | None] = [None] * sessions

        def user(i: int) -> None:
            _http()  # the connection pool exists before the start line
            barrier.wait()
            together[i] = rest_run(child.url, f"bench-s{i}-{stamp}", "bfl/flux-1-dev", f"bench-together {i}", SMALL)

        threads = [threading.Thread(target=user, args=(i,)) for i in range(sessions)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        jobs, calls = info.jobs(), info.calls()
        runs = [r for r in together if r is not None]

        def posted(r: AppRun) -> float | None:
            job = jobs.get(r.job_id or "")
            return job["created_ms"] / 1000.0 if job else None

        def life(r: AppRun) -> float | None:
            job = jobs.get(r.job_id or "")
            return (job["ended_ms"] - job["created_ms"]) / 1000.0 if job and job["ended_ms"] else None

        def steps(group: list[AppRun]) -> dict[str, list[float]]:
            """submit -> joined Gradio's queue -> handler began -> sandbox POST, per run (s)."""
            out: dict[str, list[float]] = {"submit->POST": [], "submit->joined": [], "joined->began": [],
                                           "began->POST": []}
            for r in group:
                call, post = calls.get(r.prompt, {}), posted(r)
                joined, began = call.get("joined"), call.get("began")
                if post:
                    out["submit->POST"].append(post - r.t_submit)
                if joined:
                    out["submit->joined"].append(joined - r.t_submit)
                if joined and began:
                    out["joined->began"].append(began - joined)
                if began and post:
                    out["began->POST"].append(post - began)
            return out

        alone_wall = bs.median([r.t_img - r.t_submit for r in alone if r.t_img])
        ends = [r.t_img for r in runs if r.t_img]
        wall = max(ends) - min(r.t_submit for r in runs) if ends else math.nan
        ratio = wall / alone_wall
        ideal = max(filter(None, map(life, runs)), default=math.nan) / bs.median(list(map(life, alone)))
        both, one = steps(runs), steps(alone)
        slot_wait = both["joined->began"]
        waited = sum(1 for d in slot_wait if d > max(one["joined->began"], default=0) + 0.1)
        print(f"   one alone: {alone_wall:.2f} s (median of 3); {sessions} at once: wall {wall:.2f} s (first submit "
              f"to last image), {len(ends)} images; ratio {ratio:.2f}{errors_line(runs)}")
        print(f"   the sandbox's own share: longest of the {sessions} jobs / the alone job = {ideal:.2f} (jitter ±25% "
              f"and the sandbox's 2 render workers; the app and the clients add the rest)")
        print(f"   {'step (server-side times; the clients share this machine)':<58} {'alone':>7}  "
              f"{sessions} at once: {'p50':>6} {'p95':>7} {'max':>7}")
        labels = {"submit->POST": "client submit -> sandbox POST",
                  "submit->joined": "  client submit -> call joined Gradio's queue",
                  "joined->began": "  joined -> handler began (in Gradio's queue)",
                  "began->POST": "  handler began -> sandbox POST (the app's own work)"}
        for key, label in labels.items():
            print(f"   {label:<58} {bs.median(one[key]) * 1000:5.0f}ms  {'':>{len(str(sessions)) + 11}}"
                  f"{bs.pct(both[key], 50) * 1000:5.0f}ms {bs.pct(both[key], 95) * 1000:5.0f}ms "
                  f"{max(both[key], default=math.nan) * 1000:5.0f}ms")
        print(f"   runs that waited in Gradio's queue before their handler began (0.1 s longer than alone): {waited}"
              f" of {len(runs)}")
        results.add(f"D. {sessions} sessions at once: wall / one alone", f"{ratio:.2f}",
                    f"the jobs themselves {ideal:.2f}")
        results.add(f"D. {sessions} at once: client submit -> sandbox POST, p50 / max",
                    f"{bs.pct(both['submit->POST'], 50) * 1000:.0f} / "
                    f"{max(both['submit->POST'], default=math.nan) * 1000:.0f} ms",
                    f"alone {bs.median(one['submit->POST']) * 1000:.0f} ms")
        results.add(f"D. {sessions} at once: wait in Gradio's queue (joined -> handler began), max",
                    f"{max(slot_wait, default=math.nan) * 1000:.0f} ms ({waited} runs waited)",
                    f"alone {bs.median(one['joined->began']) * 1000:.0f} ms")
    finally:
        child.stop()


# ---------------------------------------------------------------------------------------------- E. start-up

def bench_startup(args, tmp: Path, results: Results) -> None:
    rounds = args.startup_rounds
    print(f"   process start -> first HTTP 200 on /, one after another, {rounds} rounds (median)")
    app_times, bare_times = [], []
    for i in range(rounds):
        app = bs.start_app(tmp / f"start-app-{i}", sandbox=True, name="app-start")
        app_times.append(time.monotonic() - app.started)
        app.stop()
        bare = bs.start_bare(tmp / f"start-bare-{i}", name="bare-start")
        bare_times.append(time.monotonic() - bare.started)
        bare.stop()
        print(f"   round {i + 1}: app.py {app_times[-1]:.2f} s, bare Gradio {bare_times[-1]:.2f} s")
    a, b = statistics.median(app_times), statistics.median(bare_times)
    print(f"   median: app.py {a:.2f} s, bare Gradio {b:.2f} s, ratio {a / b:.2f}")
    results.add("E. Start-up to first page, app.py", f"{a:.2f} s", f"bare Gradio {b:.2f} s ({a / b:.2f}x)")


# ------------------------------------------------------------------------------------------------ F. memory

def bench_memory(args, tmp: Path, results: Results) -> None:
    total, sessions, warm = args.memory_runs, 10, 20
    base = tmp / "memory"
    app = bs.start_app(base, sandbox=True, name="app-memory",
                       env_extra={"SANDBOX_SPEED": "0.01", "SANDBOX_MIN_JOB_SECONDS": "0.3",
                                  "SANDBOX_CONCURRENCY": "64"})
    try:
        print(f"   {total} runs of Flux {SMALL[0]}x{SMALL[1]}, sandbox speed 0.01 (jobs ~0.2-0.4 s), {sessions} "
              f"sessions; resident memory (VmRSS) of the app process")
        bs.http().get(app.url, timeout=10)
        start_rss = app.rss()
        clients = clients_for(app.url, sessions)
        runs = drive(clients, warm, "bfl/flux-1-dev", SMALL, "memory warm-up")
        warm_rss = app.rss()
        print(f"   first page: {start_rss:.0f} MB; after {warm} warm-up runs: {warm_rss:.0f} MB")
        done = warm
        started = time.monotonic()
        step = max(1, total // 5)
        while done < total:
            batch = min(step, total - done)
            runs += drive(clients, batch, "bfl/flux-1-dev", SMALL, f"memory {done}")
            done += batch
            print(f"   after {done:>4} runs: {app.rss():6.0f} MB  ({time.monotonic() - started:.0f} s)", flush=True)
        close_all(clients)
        end_rss, peak = app.rss(), bs.proc_rss_mb(app.pid, "VmHWM")
        growth = end_rss - warm_rss
        per100 = growth / max(1, total - warm) * 100
        print(f"   growth after warm-up: {growth:+.0f} MB over {total - warm} runs ({per100:+.1f} MB per 100 runs); "
              f"peak {peak:.0f} MB{errors_line(runs)}")
        sizes = {
            "Gradio cache (GRADIO_TEMP_DIR)": bs.dir_size_mb(base / "gradio"),
            "previews (krea-playground-previews)": bs.dir_size_mb(base / "tmp" / "krea-playground-previews"),
            "sandbox images (krea-sandbox-*)": _sum_sizes(base / "tmp", "krea-sandbox-"),
            "other temp files": _other_temp(base / "tmp"),
            "saved PNGs (PLAYGROUND_OUTPUT_DIR)": bs.dir_size_mb(base / "outputs"),
            "run store (PLAYGROUND_DATA_DIR)": bs.dir_size_mb(base / "data"),
        }
        for label, (mb, files) in sizes.items():
            print(f"   {label:<38} {mb:8.1f} MB in {files} files")
        results.add(f"F. Memory growth over {total} runs (after {warm} warm-up)",
                    f"{growth:+.0f} MB ({per100:+.1f} MB/100 runs)", f"{warm_rss:.0f} MB after warm-up; "
                    f"{start_rss:.0f} MB at first page")
        gradio_mb, gradio_files = sizes["Gradio cache (GRADIO_TEMP_DIR)"]
        previews_mb = sizes["previews (krea-playground-previews)"][0] + sizes["other temp files"][0]
        sandbox_mb = sizes["sandbox images (krea-sandbox-*)"][0]
        results.add(f"F. Disk after {total} runs: Gradio cache / our temp files",
                    f"{gradio_mb:.0f} MB ({gradio_files} files) / {previews_mb:.1f} MB",
                    f"saved PNGs {sizes['saved PNGs (PLAYGROUND_OUTPUT_DIR)'][0]:.0f} MB; the sandbox's images "
                    f"{sandbox_mb:.0f} MB (kept for its last {SandboxSettings.keep_jobs} jobs, gone at exit)")
    finally:
        app.stop()


def _sum_sizes(folder: Path, prefix: str) -> tuple[float, int]:
    mb = files = 0
    if folder.exists():
        for sub in folder.iterdir():
            if sub.name.startswith(prefix):
                m, f = bs.dir_size_mb(sub)
                mb, files = mb + m, files + f
    return mb, files


def _other_temp(folder: Path) -> tuple[float, int]:
    mb = files = 0
    if folder.exists():
        for sub in folder.iterdir():
            if sub.name.startswith("krea-sandbox-") or sub.name == "krea-playground-previews":
                continue
            m, f = bs.dir_size_mb(sub) if sub.is_dir() else (sub.stat().st_size / 1e6, 1)
            mb, files = mb + m, files + f
    return mb, files


# ----------------------------------------------------------------------------------------------------- main

ORDER = ["1", "2", "3", "4", "A", "B", "C", "D", "E", "F"]
TITLES = {
    "1": "Compare fan-out (five models through the real app)",
    "2": "Two users generating at once (Generate, Flux)",
    "3": "Sandbox renderer",
    "4": "Head-of-line blocking",
    "A": "Detection lag: completed_at -> image at a gradio_client, and GET /jobs per second per job",
    "B": "CPU per completed run of the app process",
    "C": "Idle CPU of the app",
    "D": "Many sessions generating at once against one alone",
    "E": "Start-up to the first page",
    "F": "Memory and disk over many runs",
}


def summary(results: Results, background: str, wall: float, args) -> None:
    loads = [s for _n, s in results.loads]
    mean = statistics.fmean(s.mean for s in loads) if loads else math.nan
    peak = max((s.peak for s in loads), default=math.nan)
    busy = statistics.fmean(s.busy for s in loads) if loads else math.nan
    print("\n## Benchmark summary\n")
    print(f"Machine: {bs.machine()}. Before the run: {background}. While measuring: load average (1 min) mean "
          f"{mean:.2f}, max {peak:.2f}; machine CPU busy {busy * 100:.0f}% on average. Sections: "
          f"{', '.join(n for n, _s in results.loads)}{' (--quick)' if args.quick else ''}; total wall time "
          f"{wall / 60:.1f} min.\n")
    print("| figure | this app | beside it | target |")
    print("|---|---|---|---|")
    for r in results.rows:
        print(f"| {r.figure} | {r.value} | {r.beside} | {r.target} |")
    print()
    print("| section | load avg 1 min (mean / max) | CPU busy |")
    print("|---|---|---|")
    for name, s in results.loads:
        print(f"| {name} | {s.mean:.2f} / {s.peak:.2f} | {s.busy * 100:.0f}% |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a shorter version of every section")
    parser.add_argument("--only", metavar="SECTION", help=f"run only these sections, e.g. A or A,C ({','.join(ORDER)})")
    parser.add_argument("--runs", type=int, help="section 1: comparisons (default 3, quick 1)")
    parser.add_argument("--speed", type=float, default=SandboxSettings.speed,
                        help="sections 1-2: sandbox speed factor (default: the demo's)")
    parser.add_argument("--real-speed", type=float,
                        help="section A: sandbox speed of the real-length mix (default 1.0 = Krea's real times, "
                             "quick 0.25)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (logs of every child process)")
    args = parser.parse_args()
    quick = args.quick
    args.runs = args.runs or (1 if quick else 3)
    args.real_speed = args.real_speed or (0.25 if quick else 1.0)
    args.lag_jobs = 12 if quick else 24
    args.cpu_runs = 12 if quick else 40
    args.idle_seconds = 5.0 if quick else 10.0
    args.sessions = 50
    args.startup_rounds = 1 if quick else 3
    args.memory_runs = 100 if quick else 500
    wanted = ORDER if not args.only else [s.strip().upper() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in ORDER]
    if unknown:
        parser.error(f"unknown section(s) {unknown}; choose from {', '.join(ORDER)}")

    began = time.monotonic()
    background = bs.background_load()
    print(f"machine: {bs.machine()}")
    print(f"{background}")
    print(f"poll policy in sandbox mode: {AppSettings().sandbox_poll}; against Krea: {PollPolicy()}")
    results = Results()
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        if "1" in wanted or "2" in wanted:
            from playground.launcher import running_app

            with running_app(settings_for(args.speed, tmp / "s12")) as app:
                if "1" in wanted:
                    with section(results, "1", TITLES["1"]):
                        bench_compare(app, args.runs, results)
                if "2" in wanted:
                    with section(results, "2", TITLES["2"]):
                        bench_two_users(app, results)
        steps = {
            "3": lambda: bench_renderer(results),
            "4": lambda: bench_head_of_line(results),
            "A": lambda: bench_detection_lag(args, tmp, results),
            "B": lambda: bench_cpu_per_run(args, tmp, results),
            "C": lambda: bench_idle(args, tmp, results),
            "D": lambda: bench_many_sessions(args, tmp, results),
            "E": lambda: bench_startup(args, tmp, results),
            "F": lambda: bench_memory(args, tmp, results),
        }
        for name in ORDER[2:]:
            if name in wanted:
                with section(results, name, TITLES[name]):
                    try:
                        steps[name]()
                    except Exception:  # noqa: BLE001 - one broken section must not hide the others' figures
                        traceback.print_exc()
                        results.add(f"{name}. (section failed: see its output)", "n/a", "n/a")
    finally:
        if args.keep:
            print(f"\n(temp folder kept: {tmp})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    summary(results, background, time.monotonic() - began, args)


if __name__ == "__main__":
    main()
