"""The acceptance test of the run store: kill the app mid-job, start it again, and the job is followed to its image.

Three real processes: a standalone sandbox (it holds the job, so it outlives the app), the app as `python app.py
--no-sandbox` pointed at it with an operator token, and this test, which submits through the documented API
(gradio_client, /generate) and reads the run store's SQLite file read-only.
"""

from __future__ import annotations

import os
import re
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import requests
from gradio_client import Client
from PIL import Image

from playground.settings import PROJECT_ROOT
from playground.store import DB_NAME, RunFilter, RunStore
from tests.support import free_port

TOKEN = "restart-test-token"
PROMPT = "a lighthouse keeps its light through the night"
JOB_SECONDS = "8"  # the sandbox's shortest job (x 0.75-1.25 jitter): long enough to kill the app mid-job


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(PROJECT_ROOT), env.get("PYTHONPATH"))))
    env["GRADIO_ANALYTICS_ENABLED"] = "False"
    env.update(extra)
    return env


def _start_sandbox(port: int, log: Path) -> subprocess.Popen:
    with log.open("w") as stderr:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "playground.sandbox", "--port", str(port), "--speed", "0.01",
             "--min-job-seconds", JOB_SECONDS],
            cwd=PROJECT_ROOT, env=_env(), stdout=subprocess.PIPE, stderr=stderr, text=True)


def _sandbox_url(process: subprocess.Popen, deadline: float, log: Path) -> str:
    while True:
        assert process.poll() is None, f"the sandbox exited: {log.read_text()}"
        assert time.monotonic() < deadline, f"the sandbox printed no URL: {log.read_text()}"
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            found = re.search(r"running at (http://127\.0\.0\.1:\d+)", process.stdout.readline())
            if found:
                return found.group(1)


def _start_app(port: int, sandbox_url: str, data: Path, out: Path, log: Path) -> subprocess.Popen:
    env = _env(KREA_API_BASE=sandbox_url, KREA_API_TOKEN=TOKEN, PLAYGROUND_DATA_DIR=str(data),
               PLAYGROUND_OUTPUT_DIR=str(out), KREA_POLL_INITIAL="0.3", KREA_POLL_MAX="1")
    with log.open("w") as output:
        return subprocess.Popen([sys.executable, "app.py", "--no-sandbox", "--port", str(port)],
                                cwd=PROJECT_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)


def _wait_for_app(process: subprocess.Popen, url: str, deadline: float, log: Path) -> None:
    while True:
        assert process.poll() is None, f"the app exited:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"the app did not answer on {url}:\n{log.read_text()}"
        try:
            if requests.get(url + "config", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)


def _row(db: Path) -> dict | None:
    """The one run in the store, read without writing (the app owns the file)."""
    if not db.exists():
        return None
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2)
    connection.row_factory = sqlite3.Row
    try:
        rows = connection.execute("SELECT * FROM runs").fetchall()
    except sqlite3.OperationalError:  # the app is still creating it
        return None
    finally:
        connection.close()
    assert len(rows) <= 1, [dict(r) for r in rows]
    return dict(rows[0]) if rows else None


def _poll_row(db: Path, until, deadline: float, what: str, logs: list[Path]) -> dict:
    while True:
        row = _row(db)
        if row is not None and until(row):
            return row
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: last row {row}\n" + "\n".join(p.read_text()[-3000:] for p in logs))
        time.sleep(0.1)


def _stop(process: subprocess.Popen | None, sig: int = signal.SIGTERM) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_a_job_outlives_a_killed_app_and_the_restarted_app_follows_it_to_its_image(tmp_path):
    data, out = tmp_path / "data", tmp_path / "outputs"
    logs = [tmp_path / "sandbox.log", tmp_path / "app-1.log", tmp_path / "app-2.log"]
    db = data / DB_NAME
    sandbox = first = second = client = None
    try:
        # The sandbox and the first app start side by side (the app only needs the sandbox's address).
        sandbox_port, app_port = free_port(), free_port()
        sandbox = _start_sandbox(sandbox_port, logs[0])
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        first = _start_app(app_port, sandbox_url, data, out, logs[1])
        assert _sandbox_url(sandbox, time.monotonic() + 20, logs[0]) == sandbox_url
        app_url = f"http://127.0.0.1:{app_port}/"
        _wait_for_app(first, app_url, time.monotonic() + 30, logs[1])

        client = Client(app_url, verbose=False, download_files=False)
        client.submit(model="bfl/flux-1-dev", prompt=PROMPT, width=512, height=512, seed=77, api_name="/generate")
        row = _poll_row(db, lambda r: r["job_id"], time.monotonic() + 10, "no job id in the store", logs)
        job_id, run_id = row["job_id"], row["run_id"]
        assert row["token_source"] == "env" and row["api_base"] == sandbox_url

        first.send_signal(signal.SIGKILL)  # no clean-up of any kind: the process is gone mid-job
        first.wait(timeout=10)
        client.close()
        client = None
        sandbox_job = requests.get(f"{sandbox_url}/jobs/{job_id}", headers={"Authorization": f"Bearer {TOKEN}"},
                                   timeout=5).json()
        assert sandbox_job["status"] not in ("completed", "failed", "cancelled"), sandbox_job
        killed = _row(db)
        assert killed["phase"] == "following" and killed["image_path"] is None

        second_port = free_port()
        second = _start_app(second_port, sandbox_url, data, out, logs[2])
        done = _poll_row(db, lambda r: r["phase"] in ("done", "failed", "cancelled"), time.monotonic() + 40,
                         "the restarted app did not finish the run", logs)
        assert done["phase"] == "done", done
        assert (done["run_id"], done["job_id"]) == (run_id, job_id)  # the same run, the same job
        image = Path(done["image_path"])
        assert image.is_file() and image.resolve().is_relative_to(out.resolve())
        png = Image.open(image)
        assert png.size == (512, 512)
        assert png.text["prompt"] == PROMPT and png.text["job_id"] == job_id and png.text["seed"] == "77"
        assert png.text["model"] == "bfl/flux-1-dev" and '"prompt"' in png.text["params"]

        listed = requests.get(f"{sandbox_url}/jobs", params={"limit": 10},
                              headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).json()["items"]
        assert [j["job_id"] for j in listed] == [job_id]  # followed again, never submitted again

        store = RunStore(data)
        try:
            (stored,) = store.query(RunFilter())
            assert stored.run_id == run_id and stored.record.phase == "done"
            assert stored.record.image_path == str(image) and stored.record.cost_usd is not None
        finally:
            store.close()
    finally:
        if client is not None:
            client.close()
        for process in (first, second):
            _stop(process, signal.SIGKILL)
        _stop(sandbox)  # last: it holds the job
        if sandbox is not None and sandbox.stdout is not None:
            sandbox.stdout.close()
