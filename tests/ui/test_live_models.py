"""Against Krea, the app offers the models of the live GET /openapi.json (those added since the bundled snapshot
too), and says so on the page; when the list cannot be read it keeps the bundled one and says why."""

from __future__ import annotations

import copy
import json
import threading

import requests
from gradio_client import Client

from playground.settings import AppSettings, ClientSettings, OPENAPI_SNAPSHOT_PATH, RetryPolicy, Settings
from tests.catalog.test_live_catalog import FLUX_PATH, NEW_PATH, SpecServer, answer
from tests.support import free_port, running_app


def krea_app(server: SpecServer, tmp_path):
    client = ClientSettings(base_url=server.url, connect_timeout=1.0, read_timeout=3.0,
                            retry=RetryPolicy(total=1, backoff_factor=0.01, backoff_max=0.05, backoff_jitter=0.0))
    app = AppSettings(output_dir=tmp_path / "out", data_dir=tmp_path / "data", port=free_port(), hosted=False)
    return running_app(Settings(token="sk-test-live-models", use_sandbox=False, client=client, app=app))


def serving(route):
    server = SpecServer()
    server.serve(route)
    threading.Thread(target=server.http.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    return server


def stop(server: SpecServer) -> None:
    server.http.shutdown()
    server.http.server_close()


def test_a_model_added_at_krea_since_the_snapshot_is_offered(tmp_path):
    spec = json.loads(OPENAPI_SNAPSHOT_PATH.read_text())
    newer = copy.deepcopy(spec)
    operation = copy.deepcopy(newer["paths"][FLUX_PATH])
    operation["post"]["summary"] = "Brand New"
    newer["paths"][NEW_PATH] = operation
    server = serving(answer(200, newer))
    try:
        with krea_app(server, tmp_path) as app:
            client = Client(app.url, verbose=False)
            try:
                ids = [m["id"] for m in client.predict(api_name="/models")]
            finally:
                client.close()
            assert "acme/brand-new" in ids and "bfl/flux-1-dev" in ids
            page = requests.get(f"{app.url}config", timeout=10).text
            assert "1 new since 2026-05: Brand New" in page
            assert ("/openapi.json", "Bearer sk-test-live-models") in server.seen  # read with the API's token
    finally:
        stop(server)


def test_an_unreadable_model_list_keeps_the_bundled_one_and_says_why(tmp_path):
    server = serving(answer(500, {"error": "down"}))
    try:
        with krea_app(server, tmp_path) as app:
            page = requests.get(f"{app.url}config", timeout=10).text
            assert "could not be read" in page and "HTTP 500" in page and "bundled list" in page
            assert "sk-test-live-models" not in page
    finally:
        stop(server)
