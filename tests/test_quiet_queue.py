"""The quiet queue (playground/quiet_queue.py): a real small Gradio app on loopback, driven by gradio_client.

No timing is asserted beyond generous hang-guards: the figures are scripts/idle_cpu.py's job.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gradio as gr
import pytest
from gradio_client import Client

from playground import quiet_queue as qq
from playground.launcher import free_port

GUARD_S = 60  # a hang-guard, not a speed target



def run_on_own_loop(coroutine) -> None:
    """asyncio.run in a thread of its own: in the full suite, Playwright's sync API keeps an event loop running
    in the main thread (its browser fixture lives for the whole session), where asyncio.run refuses to start."""
    failure: list[BaseException] = []

    def main() -> None:
        try:
            asyncio.run(coroutine)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            failure.append(exc)

    thread = threading.Thread(target=main)
    thread.start()
    thread.join(GUARD_S * 4)
    assert not thread.is_alive(), "the scenario did not finish"
    if failure:
        raise failure[0]

def build() -> gr.Blocks:
    def count(n, tag):
        for i in range(int(n)):
            time.sleep(0.02)
            yield f"{tag}:{i + 1}/{int(n)}"

    async def acount(n, tag):
        for i in range(int(n)):
            await asyncio.sleep(0.02)
            yield f"{tag}:{i + 1}/{int(n)}"

    def one_at_a_time(tag):
        time.sleep(0.1)
        return f"done {tag}"

    def echo(text):
        return text.upper()

    def with_progress(n, progress=gr.Progress()):
        for _ in progress.tqdm(range(int(n))):
            time.sleep(0.02)
        return f"progressed {int(n)}"

    with gr.Blocks() as demo:
        n, tag, out = gr.Number(value=3), gr.Textbox(), gr.Textbox()
        gr.Button("count").click(count, [n, tag], out, api_name="count", concurrency_limit=None)
        gr.Button("acount").click(acount, [n, tag], out, api_name="acount", concurrency_limit=None)
        gr.Button("single").click(one_at_a_time, tag, out, api_name="single", concurrency_limit=1)
        gr.Button("echo").click(echo, tag, out, api_name="echo")
        gr.Button("progress").click(with_progress, n, out, api_name="progress", concurrency_limit=None)
    return demo


def launch(demo: gr.Blocks) -> str:
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def app():
    demo = build()
    status = qq.quiet_queue(demo, env={})
    assert status, status.reason
    url = launch(demo)
    try:
        yield demo, url
    finally:
        demo.close()


def test_the_override_is_in_force_on_the_running_queue(app):
    demo, url = app
    Client(url, verbose=False).predict("warm", api_name="/echo")  # the queue has started by now
    queue = demo._queue
    assert queue.start_processing.__func__ is qq._start_processing
    assert queue.start_progress_updates.__func__ is qq._start_progress_updates
    assert isinstance(queue.active_jobs, qq._Slots)
    assert qq.quiet_queue(demo, env={}) is getattr(demo, qq._MARK)  # a second call changes nothing


def test_concurrent_jobs_and_generators_all_complete(app):
    _demo, url = app
    clients = [Client(url, verbose=False) for _ in range(3)]
    jobs = []
    for c, client in enumerate(clients):
        for k in range(3):
            jobs.append((client.submit(4 + k, f"s{c}{k}", api_name="/count"), [f"s{c}{k}:{i}/{4 + k}"
                                                                           for i in range(1, 5 + k)]))
            jobs.append((client.submit(3, f"a{c}{k}", api_name="/acount"), [f"a{c}{k}:{i}/3" for i in range(1, 4)]))
        jobs.append((client.submit(f"one{c}", api_name="/single"), [f"done one{c}"]))
        jobs.append((client.submit(f"x{c}", api_name="/echo"), [f"X{c}"]))
        jobs.append((client.submit(5, api_name="/progress"), ["progressed 5"]))
    for job, expected in jobs:
        assert job.result(timeout=GUARD_S) == expected[-1]
        assert job.outputs() == expected  # every update of a generator arrived, in order


def test_a_job_entering_an_idle_queue_is_picked_up(app):
    _demo, url = app
    client = Client(url, verbose=False)
    for round_ in range(3):
        time.sleep(2 * qq.IDLE_TIMEOUT_S + 0.2)  # the loops are asleep on their events by now
        assert client.submit(2, f"idle{round_}", api_name="/count").result(timeout=GUARD_S) == f"idle{round_}:2/2"
        assert client.predict(f"e{round_}", api_name="/echo") == f"E{round_}"


def test_jobs_held_by_a_concurrency_limit_start_as_slots_free(app):
    _demo, url = app
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(
            lambda i: Client(url, verbose=False).submit(f"q{i}", api_name="/single").result(timeout=GUARD_S),
            range(6)))
    assert results == [f"done q{i}" for i in range(6)]


def test_a_freed_or_taken_slot_wakes_the_right_loop():
    async def scenario():
        waker = qq._Waker()
        waker.bind()
        slots = qq._Slots([None, None], waker)
        slots[0] = ["event"]
        assert waker.busy.is_set() and not waker.work.is_set()
        waker.busy.clear()
        slots[0] = None
        assert waker.work.is_set() and not waker.busy.is_set()
        waker.work.clear()
        # from another thread (Blocks.close() runs outside the loop): delivered through the loop
        threading.Thread(target=waker.set, args=("work",)).start()
        await asyncio.wait_for(waker.work.wait(), GUARD_S)
        # nothing sets it: the wait still ends after its timeout
        waker.work.clear()
        await asyncio.wait_for(waker.wait("work", timeout=0.05), GUARD_S)

    run_on_own_loop(scenario())


def test_push_and_close_wake_the_loops():
    queue = build()._queue
    qq._quieten(queue)
    waker = getattr(queue, qq._MARK)

    async def scenario():
        waker.bind()
        refused = await queue.push(body=type("Body", (), {"fn_index": None})(), request=None, username=None)
        assert refused[0] is False  # Gradio's own push ran (and refused a body without a function)
        assert waker.work.is_set()
        waker.work.clear()
        queue.close()
        assert queue.stopped and waker.work.is_set() and waker.busy.is_set()

    run_on_own_loop(scenario())


def test_close_and_launch_again_still_serves():
    demo = build()
    assert qq.quiet_queue(demo, env={})
    for round_ in range(2):
        url = launch(demo)
        try:
            client = Client(url, verbose=False)
            assert client.submit(3, f"r{round_}", api_name="/acount").result(timeout=GUARD_S) == f"r{round_}:3/3"
            assert isinstance(demo._queue.active_jobs, qq._Slots)
        finally:
            demo.close()


def test_inactive_when_the_gradio_version_is_not_the_checked_one(caplog):
    demo = build()
    with caplog.at_level(logging.INFO, logger=qq.__name__):
        status = qq.quiet_queue(demo, expected_version="0.0.0", env={})
        again = qq.quiet_queue(demo, expected_version="0.0.0", env={})
    assert not status and not again
    assert "0.0.0" in status.reason and gr.__version__ in status.reason
    assert "run_startup_events" not in vars(demo)  # nothing was patched
    assert sum("quiet queue not applied" in r.getMessage() for r in caplog.records) == 1  # logged once
    url = launch(demo)  # and the app runs as Gradio made it
    try:
        assert Client(url, verbose=False).predict("plain", api_name="/echo") == "PLAIN"
        assert "start_processing" not in vars(demo._queue)
    finally:
        demo.close()


def test_inactive_when_switched_off_or_already_launched():
    demo = build()
    off = qq.quiet_queue(demo, env={qq.ENV_SWITCH: "0"})
    assert not off and qq.ENV_SWITCH in off.reason
    assert "run_startup_events" not in vars(demo)
    url = launch(demo)
    try:
        Client(url, verbose=False).predict("x", api_name="/echo")
        late = qq.quiet_queue(demo, env={})
        assert not late and "before demo.launch()" in late.reason
    finally:
        demo.close()


def test_inactive_when_the_copied_code_changed(monkeypatch):
    monkeypatch.setitem(qq.FINGERPRINTS, "start_processing", "0" * 16)
    status = qq.quiet_queue(build(), env={})
    assert not status and "start_processing" in status.reason


def test_the_pinned_version_is_the_one_in_requirements():
    pins = (Path(__file__).resolve().parents[1] / "requirements.txt").read_text()
    pinned = re.search(r"^gradio==(\S+)", pins, re.MULTILINE).group(1)
    assert qq.PINNED_GRADIO == pinned, (
        "gradio was bumped: re-read gradio/queueing.py (Queue.start, start_processing, start_progress_updates, "
        "the slot release in process_events), update playground/quiet_queue.py's copies, PINNED_GRADIO and "
        "FINGERPRINTS, then run tests/test_quiet_queue.py and scripts/idle_cpu.py")
    assert qq.check_gradio() is None
