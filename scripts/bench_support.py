"""Helpers of scripts/benchmark.py: processes, /proc readings, load sampling, percentiles, reference pollers.

Nothing here imports gradio: the benchmark starts the app in child processes (``app.py``, ``bench_app.py``) so
that what is measured there (CPU, memory, lag) is the app's own, not the benchmark's clients'.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = Path(__file__).resolve().parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
TERMINAL = ("completed", "failed", "cancelled")


# ------------------------------------------------------------------------------------------------ numbers

def pct(values, q: float) -> float:
    """The q-th percentile (0..100), linear between the closest ranks; nan when empty."""
    data = sorted(v for v in values if v is not None)
    if not data:
        return math.nan
    if len(data) == 1:
        return data[0]
    pos = (len(data) - 1) * q / 100.0
    low = math.floor(pos)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (pos - low)


def median(values) -> float:
    data = [v for v in values if v is not None]
    return statistics.median(data) if data else math.nan


def fmt(value: float | None, spec: str = ".2f", unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:{spec}}{unit}"


def parse_iso(text: str | None) -> float | None:
    """Krea's ``2025-01-15T10:30:00.000Z`` as seconds since the epoch (the sandbox uses the wall clock)."""
    from playground.krea.jobs import parse_timestamp  # the app's own parser (the project root is on sys.path)

    moment = parse_timestamp(text)
    return moment.timestamp() if moment is not None else None


# ------------------------------------------------------------------------------------------- the machine

def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {model}, Python {sys.version.split()[0]}"


def loadavg() -> tuple[float, float, float]:
    one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    return float(one), float(five), float(fifteen)


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])
    return total - idle, total


class LoadSampler:
    """Samples the 1-minute load average every second while a section runs, and the machine's CPU busy share."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="bench-load")
        self._cpu0 = _cpu_times()
        self._cpu1: tuple[int, int] | None = None
        self.started = time.monotonic()
        self.wall = 0.0

    def _run(self) -> None:
        while True:
            self.samples.append(loadavg()[0])
            if self._stop.wait(1.0):
                return

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(2)
        self._cpu1 = _cpu_times()
        self.wall = time.monotonic() - self.started

    @property
    def busy(self) -> float:
        end = self._cpu1 or _cpu_times()
        busy, total = end[0] - self._cpu0[0], end[1] - self._cpu0[1]
        return busy / total if total else math.nan

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples) if self.samples else loadavg()[0]

    @property
    def peak(self) -> float:
        return max(self.samples) if self.samples else loadavg()[0]

    def line(self) -> str:
        first = self.samples[0] if self.samples else math.nan
        return (f"load average (1 min) while measuring: mean {self.mean:.2f}, max {self.peak:.2f} (at start "
                f"{first:.2f}); machine CPU busy {self.busy * 100:.0f}% of {os.cpu_count()} cores over "
                f"{self.wall:.0f} s")


def background_load(seconds: float = 2.0) -> str:
    """What the machine is doing before we start (other engineers' processes)."""
    with LoadSampler() as sampler:
        time.sleep(seconds)
    one, five, fifteen = loadavg()
    return (f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min), CPU busy "
            f"{sampler.busy * 100:.0f}% over {seconds:.0f} s before the benchmark started")


# --------------------------------------------------------------------------------------------- processes

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads, plus children it waited for)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2:].split()
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return (utime + stime + cutime + cstime) / CLK_TCK


def proc_rss_mb(pid: int, key: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024.0
    return math.nan


def dir_size_mb(path: Path) -> tuple[float, int]:
    """(MB, files) under path; (0, 0) if it does not exist."""
    total = count = 0
    if path.exists():
        for root, _dirs, files in os.walk(path):
            for name in files:
                with contextlib.suppress(OSError):
                    total += (Path(root) / name).stat().st_size
                    count += 1
    return total / 1e6, count


def http() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # loopback only: never through a proxy from the environment
    return session


def base_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The environment of a child: no token, no analytics, our own temp folders (so they can be measured)."""
    env = {k: v for k, v in os.environ.items() if k not in ("KREA_API_TOKEN", "KREA_API_KEY", "KREA_API_BASE")}
    for name in ("gradio", "tmp", "data", "outputs"):
        (tmp / name).mkdir(parents=True, exist_ok=True)
    env.update(
        GRADIO_ANALYTICS_ENABLED="False", GRADIO_RUN_HISTORY="False", NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost", PYTHONPATH=os.pathsep.join(filter(None, (str(PROJECT_ROOT),
                                                                               os.environ.get("PYTHONPATH")))),
        GRADIO_TEMP_DIR=str(tmp / "gradio"), TMPDIR=str(tmp / "tmp"),
        PLAYGROUND_DATA_DIR=str(tmp / "data"), PLAYGROUND_OUTPUT_DIR=str(tmp / "outputs"),
    )
    env.update(extra)
    return env


@dataclass
class Child:
    """A process the benchmark started (and stops): the app, a bare Gradio app, a sandbox, the instrumented app."""

    name: str
    process: subprocess.Popen
    log: Path
    tmp: Path
    url: str = ""
    started: float = field(default_factory=time.monotonic)
    info: dict = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu(self) -> float:
        return proc_cpu(self.pid)

    def rss(self) -> float:
        return proc_rss_mb(self.pid)

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> None:
        """SIGINT first (app.py and the sandbox clean up their temp folders), then SIGKILL."""
        if self.process.poll() is not None:
            return
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(sig)
            try:
                self.process.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue


def spawn(name: str, args: list[str], tmp: Path, env: dict[str, str]) -> Child:
    tmp.mkdir(parents=True, exist_ok=True)
    log = tmp / f"{name}.log"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, *args], cwd=PROJECT_ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return Child(name, process, log, tmp)


def wait_http(child: Child, url: str, timeout: float = 90.0, interval: float = 0.05) -> float:
    """Seconds from the child's start until GET url answers 200 (the first page)."""
    session = http()
    deadline = time.monotonic() + timeout
    while True:
        if not child.alive():
            raise RuntimeError(f"{child.name} exited during start-up:\n{child.tail()}")
        try:
            if session.get(url, timeout=2).status_code == 200:
                return time.monotonic() - child.started
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            child.stop()
            raise RuntimeError(f"{child.name} did not answer 200 on {url} within {timeout:g} s:\n{child.tail()}")
        time.sleep(interval)


def start_app(tmp: Path, *, sandbox: bool = True, api_base: str | None = None, token: str | None = None,
              env_extra: dict[str, str] | None = None, name: str = "app", webhooks: bool = False) -> Child:
    """``python app.py`` exactly as a user runs it, on a free port; waits for the first page. ``webhooks``:
    webhook mode, with the app's loopback address as its public one (what a Space's address is to Krea)."""
    port = free_port()
    extra = dict(env_extra or {})
    if webhooks:
        extra.update(PLAYGROUND_WEBHOOKS="on", PLAYGROUND_PUBLIC_URL=f"http://127.0.0.1:{port}")
    if api_base:
        extra["KREA_API_BASE"] = api_base
    if token:
        extra["KREA_API_TOKEN"] = token
    args = ["app.py", "--sandbox" if sandbox else "--no-sandbox", "--port", str(port)]
    child = spawn(name, args, tmp, base_env(tmp, **extra))
    child.url = f"http://127.0.0.1:{port}/"
    wait_http(child, child.url)
    return child


def start_bare(tmp: Path, name: str = "bare") -> Child:
    port = free_port()
    child = spawn(name, [str(SCRIPTS / "bench_bare_app.py"), "--port", str(port)], tmp, base_env(tmp))
    child.url = f"http://127.0.0.1:{port}/"
    wait_http(child, child.url)
    return child


def start_sandbox(tmp: Path, *args: str, name: str = "sandbox") -> Child:
    """``python -m playground.sandbox`` (the standalone sandbox) on a free port."""
    port = free_port()
    child = spawn(name, ["-m", "playground.sandbox", "--port", str(port), *args], tmp, base_env(tmp))
    child.url = f"http://127.0.0.1:{port}"
    wait_http(child, child.url + "/_sandbox/health")
    return child


def start_instrumented(tmp: Path, *, speed: float, min_job_seconds: float, concurrency: int = 128,
                       name: str = "instrumented") -> Child:
    """``scripts/bench_app.py``: the app in sandbox mode (launcher.running_app, the demo's settings) plus a side
    port that reports the sandbox's jobs (created/completed times) and how many GET /jobs/{id} each received."""
    ready = tmp / f"{name}.ready.json"
    ready.unlink(missing_ok=True)
    args = [str(SCRIPTS / "bench_app.py"), "--ready-file", str(ready), "--port", str(free_port()),
            "--speed", str(speed), "--min-job-seconds", str(min_job_seconds), "--concurrency", str(concurrency)]
    child = spawn(name, args, tmp, base_env(tmp))
    deadline = time.monotonic() + 90
    while not ready.exists():
        if not child.alive():
            raise RuntimeError(f"{name} exited during start-up:\n{child.tail()}")
        if time.monotonic() > deadline:
            child.stop()
            raise RuntimeError(f"{name} did not start within 90 s:\n{child.tail()}")
        time.sleep(0.05)
    child.info = json.loads(ready.read_text())
    child.url = child.info["app"]
    return child


class Instrumented:
    """Reads the instrumented app's side port."""

    def __init__(self, child: Child) -> None:
        self.child = child
        self.base = child.info["info"]
        self.sandbox = child.info["sandbox"]
        self.http = http()

    def jobs(self) -> dict[str, dict]:
        return {j["job_id"]: j for j in self.http.get(self.base + "/jobs", timeout=10).json()}

    def calls(self) -> dict[str, dict]:
        return self.http.get(self.base + "/calls", timeout=10).json()


# ------------------------------------------------------------------------------------ the reference pollers

@dataclass
class RefResult:
    job_id: str | None = None
    status: str | None = None
    seen_at: float | None = None  # wall clock when the GET that saw the terminal status answered
    completed_at: float | None = None
    gets: int = 0  # counted by the client too (the sandbox's own count is what the report uses)
    error: str | None = None


def reference_poll(base: str, token: str, model_id: str, body: dict, interval: float,
                   deadline: float = 300.0) -> RefResult:
    """Krea's documented loop with a fixed sleep: POST, then GET /jobs/{id}, sleep `interval`, until terminal."""
    result = RefResult()
    session = http()
    headers = {"Authorization": f"Bearer {token}"}
    try:
        answer = session.post(f"{base}/generate/image/{model_id}", json=body, headers=headers, timeout=30)
        answer.raise_for_status()
        result.job_id = answer.json()["job_id"]
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            job = session.get(f"{base}/jobs/{result.job_id}", headers=headers, timeout=30).json()
            result.gets += 1
            if job.get("status") in TERMINAL:
                result.seen_at = time.time()
                result.status = job["status"]
                result.completed_at = parse_iso(job.get("completed_at"))
                return result
            time.sleep(interval)
        result.error = "no terminal status before the deadline"
    except Exception as exc:  # noqa: BLE001 - reported, not raised: one broken job must not end the section
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        session.close()
    return result
