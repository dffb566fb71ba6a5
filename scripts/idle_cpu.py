"""Idle CPU and first-update latency of the app, with and without the quiet queue (figures only, never pass/fail).

    python scripts/idle_cpu.py [--seconds 10] [--settle 3] [--runs 5] [--wakeups] [--no-sandbox]

For each mode (PLAYGROUND_QUIET_QUEUE=0, then =1) it starts the app as `python app.py --sandbox --port P` would,
in a child process that runs app.main() with quiet_queue(demo) applied to the demo it builds (what the one-line
wiring in build_demo does; a no-op if that wiring is in; with =0 it stays off), waits until it answers and has
settled, then:

1. idle CPU: user+system CPU of the child from /proc/<pid>/stat over --seconds, in ms per second, and per thread
   (/proc/<pid>/task/*/stat, named by the child's threading names);
2. first update: --runs runs of /generate through Gradio's queue routes (POST /gradio_api/queue/join, then the
   SSE stream /gradio_api/queue/data), each after a second of idleness: submit -> "process_starts" (the queue
   picked the job up), submit -> first "process_generating" (the run's first update), submit -> completed;
3. with --wakeups: how often each asyncio task and callback ran per second while idle, per thread (the child counts
   asyncio Handle runs; this costs CPU itself, so it is a separate pass after the CPU figure);
4. with --no-sandbox: idle CPU of the app in Krea mode without a token (no sandbox server or ticker in the process).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT_ENV = "PLAYGROUND_IDLE_SNAPSHOT"  # child: file to write its thread names (and wake-up counts) to
COUNT_ENV = "PLAYGROUND_IDLE_COUNT_WAKEUPS"


# --- the child: the app, as app.py runs it ----------------------------------------------------------------------

def child(port: int, sandbox: bool = True) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    counts: Counter = Counter()
    if os.environ.get(COUNT_ENV) == "1":
        count_wakeups(counts)
    snapshot = os.environ.get(SNAPSHOT_ENV)
    if snapshot:
        def write_snapshot(_signum, _frame) -> None:
            names = {str(t.native_id): t.name for t in threading.enumerate()}
            data = {"time": time.monotonic(), "threads": names, "wakeups": [[*k, v] for k, v in counts.items()]}
            Path(snapshot).write_text(json.dumps(data))
        signal.signal(signal.SIGUSR1, write_snapshot)

    import playground.ui.app as ui
    from playground.quiet_queue import quiet_queue

    build_demo = ui.build_demo

    def build_quiet_demo(*args, **kwargs):  # the wiring; a no-op when build_demo already applies it
        demo, service = build_demo(*args, **kwargs)
        quiet_queue(demo)
        return demo, service

    ui.build_demo = build_quiet_demo
    import app

    app.main(["--sandbox" if sandbox else "--no-sandbox", "--host", "127.0.0.1", "--port", str(port)])


def count_wakeups(counts: Counter) -> None:
    """Count every asyncio callback run, by thread and by what ran (a task's coroutine, or the callback)."""
    import asyncio.events

    run = asyncio.events.Handle._run

    def counted(handle) -> None:
        callback = handle._callback
        owner = getattr(callback, "__self__", None)
        if isinstance(owner, asyncio.Task):
            coro = owner.get_coro()
            what = "task " + getattr(coro, "__qualname__", repr(coro))
        else:
            what = getattr(callback, "__qualname__", repr(callback))
        counts[(threading.current_thread().name, what)] += 1
        return run(handle)

    asyncio.events.Handle._run = counted


# --- the parent: measure ------------------------------------------------------------------------------------------

def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_ticks(path: str) -> int:
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15 of proc(5))


def thread_ticks(pid: int) -> dict[str, int]:
    ticks = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            ticks[tid] = cpu_ticks(f"/proc/{pid}/task/{tid}/stat")
        except OSError:
            pass
    return ticks


class App:
    def __init__(self, quiet: bool, count: bool = False, sandbox: bool = True) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.tmp = Path(tempfile.mkdtemp(prefix="idle-cpu-"))
        self.snapshot = self.tmp / "snapshot.json"
        env = dict(os.environ, PLAYGROUND_QUIET_QUEUE="1" if quiet else "0", GRADIO_ANALYTICS_ENABLED="False",
                   PLAYGROUND_OUTPUT_DIR=str(self.tmp / "out"), PLAYGROUND_DATA_DIR=str(self.tmp / "data"))
        env[SNAPSHOT_ENV] = str(self.snapshot)
        env[COUNT_ENV] = "1" if count else "0"
        env.pop("KREA_API_TOKEN", None)
        env.pop("KREA_API_KEY", None)
        self.log = open(self.tmp / "app.log", "wb")
        command = [sys.executable, __file__, "--child", str(self.port)] + ([] if sandbox else ["--no-sandbox"])
        self.proc = subprocess.Popen(command, cwd=ROOT, env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}config", timeout=2) as response:
                    self.config = json.load(response)
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the app did not start; see {self.tmp / 'app.log'}")
                time.sleep(0.1)

    def snap(self) -> dict:
        self.snapshot.unlink(missing_ok=True)
        os.kill(self.proc.pid, signal.SIGUSR1)
        for _ in range(200):
            if self.snapshot.exists():
                try:
                    return json.loads(self.snapshot.read_text())
                except ValueError:
                    pass
            time.sleep(0.01)
        return {"threads": {}, "wakeups": []}

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def measure_idle(app: App, seconds: float) -> tuple[float, list[tuple[str, float]]]:
    hz = os.sysconf("SC_CLK_TCK")
    pid = app.proc.pid
    threads_before, total_before, start = thread_ticks(pid), cpu_ticks(f"/proc/{pid}/stat"), time.monotonic()
    time.sleep(seconds)
    threads_after, total_after, wall = thread_ticks(pid), cpu_ticks(f"/proc/{pid}/stat"), time.monotonic() - start
    names = app.snap()["threads"]
    per_thread = []
    for tid, ticks in threads_after.items():
        spent = ticks - threads_before.get(tid, 0)
        if spent:
            per_thread.append((names.get(tid, f"tid {tid}"), spent * 1000 / hz / wall))
    return (total_after - total_before) * 1000 / hz / wall, sorted(per_thread, key=lambda x: -x[1])


def fn_index(config: dict, api_name: str) -> int:
    for position, dependency in enumerate(config["dependencies"]):
        if dependency.get("api_name") == api_name:
            return dependency.get("id", position)
    raise SystemExit(f"no endpoint /{api_name}")


def first_updates(app: App, runs: int) -> list[tuple[float, float, float]]:
    """One warm-up run, then ``runs`` timed ones from the same session (like one open page: Gradio builds a new
    session's state inside its first push, ~20 ms for this UI, which would otherwise dominate the figure)."""
    index = fn_index(app.config, "generate")
    session = uuid.uuid4().hex
    times = []
    for run in range(runs + 1):
        time.sleep(1.0)  # idle again: Gradio's loop polls, the quiet one sleeps on its event
        body = {"data": ["bfl/flux-1-dev", f"idle run {run}", None, None, None, None, None, None],
                "fn_index": index, "session_hash": session, "event_data": None, "trigger_id": None}
        request = urllib.request.Request(f"{app.url}gradio_api/queue/join", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        start = time.perf_counter()
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
        starts = first = None
        with urllib.request.urlopen(f"{app.url}gradio_api/queue/data?session_hash={session}", timeout=60) as stream:
            for line in stream:
                if not line.startswith(b"data:"):
                    continue
                message = json.loads(line[5:]).get("msg")
                now = time.perf_counter() - start
                if message == "process_starts" and starts is None:
                    starts = now
                elif message == "process_generating" and first is None:
                    first = now
                elif message == "process_completed":
                    if run:
                        times.append((starts or float("nan"), first or float("nan"), now))
                    break
    return times


def wakeups(app: App, seconds: float) -> list[tuple[float, str, str]]:
    before = {(t, w): n for t, w, n in app.snap()["wakeups"]}
    time.sleep(seconds)
    after = app.snap()
    rates = []
    for thread, what, n in after["wakeups"]:
        rate = (n - before.get((thread, what), 0)) / seconds
        if rate >= 0.2:
            rates.append((rate, thread, what))
    return sorted(rates, reverse=True)


def main() -> None:
    if len(sys.argv) >= 3 and sys.argv[1] == "--child":
        child(int(sys.argv[2]), sandbox="--no-sandbox" not in sys.argv[3:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="idle window (default 10 s)")
    parser.add_argument("--settle", type=float, default=3.0, help="wait after start-up before measuring")
    parser.add_argument("--runs", type=int, default=5, help="runs for the first-update latency")
    parser.add_argument("--wakeups", action="store_true", help="also count asyncio wake-ups per second (slower)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="also measure idle CPU without the sandbox (Krea mode with no token: no runs)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; idle window {args.seconds:g} s after {args.settle:g} s of settling")
    summary = {}
    for quiet in (False, True):
        label = f"PLAYGROUND_QUIET_QUEUE={int(quiet)}"
        app = App(quiet)
        try:
            time.sleep(args.settle)
            total, per_thread = measure_idle(app, args.seconds)
            print(f"\n{label}: idle CPU {total:.1f} ms per second")
            for name, ms in per_thread:
                print(f"   {ms:6.1f} ms/s  {name}")
            times = first_updates(app, args.runs)
            starts, first, done = (statistics.median(t[i] for t in times) * 1000 for i in range(3))
            print(f"   /generate after 1 s idle, median of {len(times)}: picked up {starts:.1f} ms, "
                  f"first update {first:.1f} ms, completed {done:.0f} ms")
            print("   each run (picked up / first update ms): "
                  + ", ".join(f"{s * 1000:.1f}/{f * 1000:.1f}" for s, f, _ in times))
            summary[quiet] = (total, starts, first)
        finally:
            app.close()
        if args.wakeups:
            app = App(quiet, count=True)
            try:
                time.sleep(args.settle)
                print(f"   asyncio wake-ups per second while idle ({label}, counting on):")
                for rate, thread, what in wakeups(app, args.seconds):
                    print(f"   {rate:8.1f}/s  [{thread}] {what}")
            finally:
                app.close()
    if args.no_sandbox:
        idle = {}
        for quiet in (False, True):
            app = App(quiet, sandbox=False)
            try:
                time.sleep(args.settle)
                idle[quiet], per_thread = measure_idle(app, args.seconds)
                print(f"\nno sandbox, PLAYGROUND_QUIET_QUEUE={int(quiet)}: idle CPU {idle[quiet]:.1f} ms per second")
                for name, ms in per_thread:
                    print(f"   {ms:6.1f} ms/s  {name}")
            finally:
                app.close()
    off, on = summary[False], summary[True]
    print(f"\nidle CPU: {off[0]:.1f} -> {on[0]:.1f} ms/s; picked up: {off[1]:.1f} -> {on[1]:.1f} ms; "
          f"first update: {off[2]:.1f} -> {on[2]:.1f} ms (medians)")


if __name__ == "__main__":
    main()
