"""Every model, also tomorrow's: the catalog read from the API's live GET /openapi.json, derived as the build
derives the bundled one, with the bundled catalog (and a note saying why) whenever that fails.

Real HTTP throughout: a scripted server on loopback (http.server) and the real sandbox; no mocked ``requests``.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from playground.catalog import CatalogRefresh, catalog_from_spec, check_params, load_catalog, refresh_catalog
from playground.catalog import live
from playground.krea import KreaClient
from playground.krea.errors import AnswerTooLarge, BadAnswer, ModelRetired
from playground.settings import ClientSettings, RetryPolicy, SandboxSettings

TOKEN = "sk-live/Canary+Token=0123456789abcdef"
FAST_RETRY = RetryPolicy(total=2, backoff_factor=0.01, backoff_max=0.05, backoff_jitter=0.0, retry_after_cap=10.0)
FAST_SANDBOX = SandboxSettings(speed=0.002, min_job_seconds=0.05)
FLUX_PATH = "/generate/image/bfl/flux-1-dev"
NEW_PATH = "/generate/image/acme/brand-new"
MB = 1024 * 1024

Route = Callable[[BaseHTTPRequestHandler], None]


class SpecServer:
    """A loopback server answering each path with a scripted route; records what each request carried."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[tuple[str, str | None]] = []  # (path, Authorization header)
        self.closing = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                server.seen.append((self.path, self.headers.get("Authorization")))
                route = server.routes.get(self.path.split("?")[0], answer(404, {"error": "Not found"}))
                try:
                    route(self)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.http.block_on_close = False
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"

    def serve(self, route: Route) -> None:
        self.routes["/openapi.json"] = route


def answer(status: int, body: dict | list | str | bytes, content_type: str = "application/json",
           headers: dict[str, str] | None = None) -> Route:
    data = (body if isinstance(body, bytes) else body.encode() if isinstance(body, str)
            else json.dumps(body).encode())

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
    return route


@pytest.fixture
def server() -> Iterator[SpecServer]:
    spec_server = SpecServer()
    threading.Thread(target=spec_server.http.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    yield spec_server
    spec_server.closing.set()
    spec_server.http.shutdown()
    spec_server.http.server_close()


def client_for(base_url: str, token: str | None = TOKEN, **changes) -> KreaClient:
    settings = ClientSettings(base_url=base_url, connect_timeout=1.0, read_timeout=5.0, retry=FAST_RETRY,
                              download_host_suffixes=(), **changes)
    return KreaClient(token, settings)


def refresh_from(server: SpecServer, route: Route, deadline: float = live.DEFAULT_DEADLINE_S,
                 **changes) -> CatalogRefresh:
    server.serve(route)
    with client_for(server.url, **changes) as client:
        return refresh_catalog(client, load_catalog(), deadline=deadline)


@pytest.fixture
def bundled():
    return load_catalog()


@pytest.fixture
def newer_spec(spec) -> dict:
    """The bundled snapshot plus a model it lacks, with a parameter no known model has."""
    newer = copy.deepcopy(spec)
    operation = copy.deepcopy(newer["paths"][FLUX_PATH])
    operation["post"]["summary"] = "Brand New"
    operation["post"]["description"] = "A model from tomorrow."  # no compute-unit table: nothing to price it by
    body = operation["post"]["requestBody"]["content"]["application/json"]["schema"]
    body.setdefault("properties", {})["sharpness"] = {"type": "integer", "minimum": 0, "maximum": 10, "default": 3}
    newer["paths"][NEW_PATH] = operation
    return newer


def assert_bundled(refresh: CatalogRefresh, bundled, *fragments: str) -> None:
    assert refresh.source == "bundled" and not refresh.is_live
    assert refresh.catalog is bundled
    assert refresh.added == () and refresh.removed == ()
    assert refresh.note.startswith("Krea's model list could not be read (")
    assert refresh.note.endswith("showing the bundled list of 2026-05.")
    for fragment in fragments:
        assert fragment in refresh.note and fragment in refresh.reason
    for secret in (TOKEN, "Canary"):
        assert secret not in refresh.note and secret not in (refresh.reason or "")


# --- the live list ------------------------------------------------------------------------------------------------

def test_the_sandbox_spec_gives_the_bundled_models(bundled):
    from playground.sandbox import SandboxServer

    with SandboxServer(FAST_SANDBOX) as sandbox, client_for(sandbox.base_url) as client:
        refresh = refresh_catalog(client, bundled)
    assert refresh.source == "live" and refresh.is_live
    assert refresh.added == () and refresh.removed == ()
    assert refresh.catalog.ids == bundled.ids  # the same models in the same display order
    assert refresh.note == "Models from Krea's live API (the same models as our list of 2026-05)."
    assert refresh.fetched_at.endswith("+00:00") and refresh.reason is None
    assert refresh.catalog.source.startswith("127.0.0.1/openapi.json (")
    for model in bundled.models:  # the same facts: prices, params, sizing (only provenance notes may differ)
        live_model = refresh.catalog.get(model.id)
        assert (live_model.price, live_model.params, live_model.sizing, live_model.needs_image) == \
               (model.price, model.params, model.sizing, model.needs_image), model.id
    assert refresh.catalog.retired.keys() == bundled.retired.keys()


def test_a_model_added_to_the_live_spec_is_offered_with_its_params(server, newer_spec, bundled):
    refresh = refresh_from(server, answer(200, newer_spec))
    assert refresh.source == "live"
    assert refresh.added == ("acme/brand-new",) and refresh.removed == ()
    assert refresh.note == "Models from Krea's live API (1 new since 2026-05: Brand New)."

    new = refresh.catalog.get("acme/brand-new")
    assert new.name == "Brand New" and new.provider == "Acme" and new.path == NEW_PATH
    sharpness = new.param("sharpness")
    assert (sharpness.type, sharpness.minimum, sharpness.maximum, sharpness.default) == ("integer", 0, 10, 3)
    assert new.param("seed").maximum == 2**32 - 1  # the overrides' rules by name apply to new models too
    assert new.price.usd is None and new.price.label() == "price unknown"  # honest: unpriced, not guessed
    check_params(new, {"prompt": "tomorrow", "width": 512, "height": 512, "sharpness": 7})
    with pytest.raises(Exception, match="sharpness"):
        check_params(new, {"prompt": "tomorrow", "sharpness": 11})

    flux = refresh.catalog.get("bfl/flux-1-dev")  # a known model keeps the overrides' facts
    assert flux.price == bundled.get("bfl/flux-1-dev").price and flux.price.usd is not None
    assert [m.id for m in refresh.catalog.models if m.id != "acme/brand-new"] == list(bundled.ids)
    assert server.seen == [("/openapi.json", f"Bearer {TOKEN}")]  # the API session: the token, to the API host


def test_a_model_missing_from_the_live_spec_is_withdrawn_but_not_forgotten(server, spec, bundled):
    older = copy.deepcopy(spec)
    del older["paths"]["/generate/image/google/imagen-3"]
    refresh = refresh_from(server, answer(200, older))
    assert refresh.source == "live"
    assert refresh.added == () and refresh.removed == ("google/imagen-3",)
    assert refresh.note == ("Models from Krea's live API (1 no longer listed, so no longer offered: "
                            f"{bundled.get('google/imagen-3').name}).")

    catalog = refresh.catalog
    assert "google/imagen-3" not in catalog and catalog.find("google/imagen-3") is None  # never offered, never run
    gone = catalog.retired["google/imagen-3"]
    assert gone.reason == live.UNLISTED and gone.name == bundled.get("google/imagen-3").name
    assert gone.sunset_date == refresh.fetched_at[:10] and gone.replacement is None
    assert "bytedance/seedream-3" in catalog.retired  # the known sunset models stay
    assert len(catalog) == len(bundled) - 1

    # What every retired model gets: the sandbox on this catalog answers 410, as Krea does.
    from playground.sandbox import SandboxServer

    with SandboxServer(FAST_SANDBOX, catalog=catalog) as sandbox, client_for(sandbox.base_url) as client:
        with pytest.raises(ModelRetired):
            client.submit_job("google/imagen-3", {"prompt": "x"})


def test_a_spec_lacking_most_known_models_is_distrusted(server, spec, bundled):
    partial = copy.deepcopy(spec)
    partial["paths"] = {FLUX_PATH: spec["paths"][FLUX_PATH]}
    refresh = refresh_from(server, answer(200, partial))
    gone = len(bundled) - 4  # Flux and the Krea 2 family (the overrides' extra models) remain
    assert_bundled(refresh, bundled, f"it lacks {gone} of the {len(bundled)} known models")


def test_many_new_models_are_counted_and_a_few_named(spec, bundled):
    newer = copy.deepcopy(spec)
    for i in range(6):
        operation = copy.deepcopy(spec["paths"][FLUX_PATH])
        operation["post"]["summary"] = f"Next {i}"
        newer["paths"][f"/generate/image/acme/next-{i}"] = operation
    refresh = catalog_from_spec(newer, bundled, fetched_at="2026-07-01T00:00:00+00:00")
    assert refresh.added == tuple(f"acme/next-{i}" for i in range(6))
    assert refresh.note == ("Models from Krea's live API (6 new since 2026-05: Next 0, Next 1, Next 2, Next 3 "
                            "and 2 more).")


# --- the bundled list, and why --------------------------------------------------------------------------------

ECHO = {"error": f"invalid token {TOKEN}"}  # a server that echoes the token: it must not reach the note


@pytest.mark.parametrize("route, fragment", [
    (answer(500, ECHO), "127.0.0.1 answered HTTP 500"),
    (answer(503, "<html>down</html>", "text/html"), "127.0.0.1 answered HTTP 503"),
    (answer(401, ECHO), "127.0.0.1 refused the API token (HTTP 401)"),
    (answer(404, {"error": "Not found"}), "127.0.0.1 answered HTTP 404"),
    (answer(302, "", headers={"Location": "http://127.0.0.1:9/openapi.json"}), "127.0.0.1 answered HTTP 302"),
    (answer(200, "<html>a login page</html>", "text/html"), "the answer was not an OpenAPI document in JSON"),
    (answer(200, [1, 2, 3]), "the answer was not an OpenAPI document in JSON"),
    (answer(200, {"openapi": "3.1.0", "info": {"title": TOKEN}}), "the answer was not an OpenAPI document in JSON"),
    (answer(200, {"openapi": "3.1.0", "paths": {}}), "it lists no image models"),
    (answer(200, {"openapi": "3.1.0", "paths": {"/jobs/{id}": {"get": {}}}}), "it lists no image models"),
], ids=["500", "503-html", "401", "404", "redirect", "not-json", "json-list", "no-paths", "empty-paths",
        "no-image-paths"])
def test_an_unusable_answer_falls_back_to_the_bundled_list(server, bundled, route, fragment):
    assert_bundled(refresh_from(server, route), bundled, fragment)


def test_a_spec_whose_models_are_all_sunset_lists_none(server, bundled):
    sunset = {"openapi": "3.1.0", "paths": {"/generate/image/bytedance/seedream-3": {"post": {"summary": "Old"}}}}
    assert_bundled(refresh_from(server, answer(200, sunset)), bundled, "it lists no image models")


def test_a_server_that_never_answers_is_given_up_on_at_the_deadline(server, bundled):
    server.serve(lambda handler: server.closing.wait(30))
    started = time.monotonic()
    refresh = refresh_from(server, server.routes["/openapi.json"], deadline=0.5)
    assert time.monotonic() - started < 3.0
    assert_bundled(refresh, bundled, "127.0.0.1 gave no answer within 0.5 s")


def test_a_long_retry_after_cannot_hold_the_refresh_past_its_deadline(server, bundled):
    # urllib3 sleeps out a Retry-After (here 5 s, under the 10 s cap) between retries: no socket to cut then.
    started = time.monotonic()
    refresh = refresh_from(server, answer(503, "busy", "text/plain", {"Retry-After": "5"}), deadline=0.5)
    assert time.monotonic() - started < 3.0
    assert_bundled(refresh, bundled, "127.0.0.1 gave no answer within 0.5 s")


def test_an_unreachable_api_falls_back(bundled):
    probe = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = probe.server_address[1]
    probe.server_close()  # nothing listens there now
    with client_for(f"http://127.0.0.1:{port}") as client:
        refresh = refresh_catalog(client, bundled, deadline=2.0)
    assert_bundled(refresh, bundled, "127.0.0.1 could not be reached")


def test_a_spec_the_derivation_chokes_on_falls_back(spec, bundled, monkeypatch):
    class Client:
        base_url = "https://api.krea.ai"

        def get_openapi(self, *, timeout=None, stop=None) -> dict:
            return spec

    def broken(*args, **kwargs):
        raise RuntimeError(f"bad schema near {TOKEN}")

    monkeypatch.setattr(live, "derive_catalog", broken)
    refresh = refresh_catalog(Client(), bundled)
    assert_bundled(refresh, bundled, "its spec could not be turned into a model list (RuntimeError)")


def test_any_client_error_falls_back_without_its_text(bundled):
    class Client:
        base_url = "https://user:pw@api.krea.ai/"

        def get_openapi(self, *, timeout=None, stop=None) -> dict:
            raise OSError(f"{TOKEN} leaked into a message")

    refresh = refresh_catalog(Client(), bundled)
    assert_bundled(refresh, bundled, "(OSError)")
    assert "pw" not in refresh.note and "user" not in refresh.note


# --- the client call ------------------------------------------------------------------------------------------

def test_the_spec_is_read_under_its_own_cap_not_the_job_answers_one(server, spec):
    big = {**spec, "x-padding": "x" * (5 * MB)}  # far above the 1 MB a job answer may take here
    server.serve(answer(200, big))
    with client_for(server.url, max_answer_bytes=1 * MB) as client:
        assert client.get_openapi()["x-padding"] == big["x-padding"]
        with pytest.raises(AnswerTooLarge):
            client.get_openapi(max_bytes=2 * MB)


def test_get_openapi_sends_no_token_when_it_has_none_and_scrubs_an_echo(server, spec):
    echoing = {**spec, "info": {**spec.get("info", {}), "description": f"called with {TOKEN}"}}
    server.serve(answer(200, echoing))
    with client_for(server.url, token=None) as anonymous:
        anonymous.get_openapi()
    with client_for(server.url) as client:
        got = client.get_openapi()
    assert server.seen == [("/openapi.json", None), ("/openapi.json", f"Bearer {TOKEN}")]
    assert TOKEN not in json.dumps(got) and got["info"]["description"] == "called with ***"


def test_get_openapi_refuses_what_is_not_a_spec(server):
    server.serve(answer(200, {"openapi": "3.1.0"}))
    with client_for(server.url) as client, pytest.raises(BadAnswer, match="not an OpenAPI document"):
        client.get_openapi()


def test_a_failed_refresh_keeps_the_live_list_in_use(server, newer_spec, bundled):
    first = refresh_from(server, answer(200, newer_spec))
    server.serve(answer(500, ECHO))
    with client_for(server.url) as client:
        again = refresh_catalog(client, bundled, last=first)
        bundled_before = refresh_catalog(client, bundled)
        bundled_again = refresh_catalog(client, bundled, last=bundled_before)
    assert again.is_live and again.catalog is first.catalog and again.added == ("acme/brand-new",)
    assert again.fetched_at == first.fetched_at  # when the list shown was read
    assert again.reason == "127.0.0.1 answered HTTP 500"
    assert again.note.startswith("Krea's model list could not be read again (127.0.0.1 answered HTTP 500); still "
                                 "showing the one read at ")
    assert f"{first.fetched_at[11:16]} UTC." in again.note and TOKEN not in again.note
    assert_bundled(bundled_again, bundled, "127.0.0.1 answered HTTP 500")  # a bundled list in use: nothing kept
