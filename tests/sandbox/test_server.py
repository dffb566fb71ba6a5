"""The sandbox over real HTTP on loopback: every route, every error status, faults, webhooks, files."""

from __future__ import annotations

import io
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from PIL import Image

from playground.sandbox import Fault

from .conftest import FLUX, FLUX_BODY, Api

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
JOB_KEYS = {"job_id", "status", "type", "created_at", "completed_at", "result"}
K2 = "krea/krea-2/medium"
K2_BODY = {"prompt": "a lighthouse at dusk", "aspect_ratio": "16:9", "resolution": "1K"}
NO_PREVIEWS = "google/imagen-4-fast"
IMAGEN_BODY = {"prompt": "a red bicycle", "width": 640, "height": 512}


def statuses(seen: list[dict]) -> list[str]:
    return [job["status"] for job in seen]


# ------------------------------------------------------------------------------------------------ submit


def test_submit_answers_200_with_the_pending_job(api):
    response = api.submit()
    assert response.status_code == 200
    job = response.json()
    assert set(job) == JOB_KEYS
    assert job["status"] == "queued" and job["type"] == "flux"
    assert job["completed_at"] is None and job["result"] is None
    assert ISO_MS.match(job["created_at"])
    assert re.fullmatch(r"[0-9a-f-]{36}", job["job_id"])


def test_every_catalog_model_accepts_its_example_body(api):
    from playground.catalog import example_params, load_catalog

    for model in load_catalog().models:
        response = api.submit(model.id, example_params(model, "a small test"))
        assert response.status_code == 200, (model.id, response.text)


def test_missing_or_malformed_token_is_401(api, sandbox):
    anonymous = Api(sandbox.base_url, token=None)
    for response in (
        anonymous.submit(),
        anonymous.get("/jobs"),
        anonymous.get("/jobs/x"),
        anonymous.delete("/jobs/x"),
        anonymous.get("/jobs", headers={"Authorization": "Basic abc"}),
        anonymous.get("/jobs", headers={"Authorization": "Bearer "}),
    ):
        assert response.status_code == 401
        assert "Authorization" in response.json()["error"]


def test_required_token_refuses_a_wrong_token(make_sandbox):
    server = make_sandbox(required_token="right-one")
    assert Api(server.base_url, "wrong").submit().status_code == 401
    assert Api(server.base_url, "wrong").submit().json() == {"error": "Invalid API token."}
    assert Api(server.base_url, "right-one").submit().status_code == 200


def test_unknown_key_is_400_naming_the_key(api):
    response = api.submit(body={**FLUX_BODY, "num_images": 2})
    assert response.status_code == 400
    assert "num_images" in response.json()["error"]


def test_out_of_range_value_is_400_naming_the_field(api):
    response = api.submit(body={**FLUX_BODY, "steps": 500})
    assert response.status_code == 400
    assert "steps" in response.json()["error"]
    missing = api.submit(body={"width": 1024})
    assert missing.status_code == 400 and "prompt" in missing.json()["error"]


def test_non_json_or_non_object_body_is_400(api):
    raw = api.request("POST", f"/generate/image/{FLUX}", data="prompt=hi", headers={"Content-Type": "text/plain"})
    assert raw.status_code == 400 and "JSON" in raw.json()["error"]
    assert api.submit(body=["a", "list"]).status_code == 400
    assert api.request("POST", f"/generate/image/{FLUX}").status_code == 400


def test_invalid_body_status_is_configurable(make_sandbox):
    api = Api(make_sandbox(invalid_body_status=422).base_url)
    assert api.submit(body={**FLUX_BODY, "nope": 1}).status_code == 422


def test_unknown_model_is_404(api):
    response = api.submit("bfl/flux-9000", {"prompt": "x"})
    assert response.status_code == 404
    assert "bfl/flux-9000" in response.json()["error"]


def test_retired_model_is_410_with_the_deprecation_body(api):
    response = api.submit("bytedance/seedream-3", {"prompt": "x"})
    assert response.status_code == 410
    body = response.json()
    assert body["error"] == "model_unavailable"
    assert body["reason"] == "deprecated"
    assert body["sunset_date"] == "2026-05-13"
    assert body["replacement"] == "bytedance/seedream-5-lite"
    assert body["migration_url"].startswith("https://")
    assert "seedream-3" in body["message"]


def test_balance_runs_out_into_402_and_failed_jobs_are_free(make_sandbox):
    server = make_sandbox(balance_usd=0.01)  # Flux costs $0.007
    api = Api(server.base_url)
    server.set_fault(Fault(kind="job_fails", count=1))
    failed, _ = api.follow(api.job()["job_id"])
    assert failed["status"] == "failed"
    assert server.engine.balance_usd == pytest.approx(0.01)
    for _ in range(2):  # 0.01 -> 0.003 -> -0.004: in-flight jobs finish, new ones are refused
        api.follow(api.job()["job_id"])
    assert server.engine.balance_usd == pytest.approx(-0.004)
    response = api.submit()
    assert response.status_code == 402
    assert response.json()["error"].startswith("You have run out of credits")


def test_full_concurrency_and_backlog_is_429_with_retry_after(make_sandbox):
    server = make_sandbox(concurrency_limit=2, backlog_limit=1, min_job_seconds=30)
    api = Api(server.base_url)
    assert [api.job()["status"] for _ in range(3)] == ["queued", "queued", "backlogged"]
    response = api.submit()
    assert response.status_code == 429
    assert response.json() == {"error": "You have reached the maximum number of concurrent jobs"}
    assert int(response.headers["Retry-After"]) >= 1
    assert Api(server.base_url, "another-key").submit().status_code == 200  # limits are per token


def test_backlogged_job_runs_when_a_slot_frees(make_sandbox):
    server = make_sandbox(concurrency_limit=1, backlog_limit=4, min_job_seconds=0.3)
    api = Api(server.base_url)
    first, second = api.job(), api.job()
    assert (first["status"], second["status"]) == ("queued", "backlogged")
    done, seen = api.follow(second["job_id"])
    assert done["status"] == "completed"
    assert statuses(seen)[0] == "backlogged" and len(seen) >= 3
    finished = api.get(f"/jobs/{first['job_id']}").json()
    assert finished["status"] == "completed"
    waited = next(j for j in server.engine.jobs if j.job_id == second["job_id"])
    assert waited.started * 1000 >= next(j.ended_ms for j in server.engine.jobs if j.job_id == first["job_id"]) - 1


def test_bad_webhook_url_is_400_naming_the_header(api):
    for url in ("https://example.com/hook", "not a url", "ftp://127.0.0.1/x"):
        response = api.submit(headers={"X-Webhook-URL": url})
        assert response.status_code == 400, url
        assert "X-Webhook-URL" in response.json()["error"]


# -------------------------------------------------------------------------------------------- job life


def test_status_progresses_with_previews_then_the_final_png(make_sandbox):
    api = Api(make_sandbox(min_job_seconds=1.2).base_url)  # long enough to see every step, even on a busy CPU
    job, seen = api.follow(api.job(FLUX, FLUX_BODY)["job_id"])
    order = ["queued", "scheduled", "processing", "sampling", "intermediate-complete", "completed"]
    observed = list(dict.fromkeys(statuses(seen)))
    assert observed == [s for s in order if s in observed]
    assert observed[0] == "queued" and observed[-1] == "completed"
    assert "intermediate-complete" in observed  # Flux has previews in the catalog
    previews = [j["result"]["urls"][0] for j in seen if j["status"] == "intermediate-complete"]
    final = job["result"]["urls"][0]
    assert previews and final not in previews
    for url in previews:
        image = api.session.get(url)
        assert image.headers["content-type"] == "image/jpeg"
        assert max(Image.open(io.BytesIO(image.content)).size) <= 384
    assert ISO_MS.match(job["completed_at"]) and job["completed_at"] >= job["created_at"]
    assert set(job) == JOB_KEYS
    png = api.session.get(final)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(png.content))
    assert image.size == (1024, 576)
    assert image.text.get("sandbox") == "true"
    assert final == f"{api.base}/files/{job['job_id']}/image.png"


def test_models_without_previews_never_show_intermediate_complete(api):
    job, seen = api.follow(api.job(NO_PREVIEWS, IMAGEN_BODY)["job_id"])
    assert job["status"] == "completed"
    assert "intermediate-complete" not in statuses(seen)
    assert all(j["result"] is None for j in seen[:-1])
    image = Image.open(io.BytesIO(api.session.get(job["result"]["urls"][0]).content))
    assert image.size == (640, 512)


def test_ratio_model_renders_its_output_size(api):
    from playground.catalog import load_catalog, output_size

    job, _ = api.follow(api.job(K2, K2_BODY)["job_id"])
    image = Image.open(io.BytesIO(api.session.get(job["result"]["urls"][0]).content))
    assert image.size == output_size(load_catalog().get(K2), K2_BODY)


def test_cancel_only_queued_or_processing_jobs(make_sandbox):
    # "Jobs can only be canceled while they have a status of queued or processing" [C LIFE]; any other DELETE
    # gets the one refusal the spec documents for it: 404 {"error"}, the job left as it was.
    api = Api(make_sandbox(concurrency_limit=1, min_job_seconds=30).base_url)
    running, waiting = api.job(), api.job()
    assert (running["status"], waiting["status"]) == ("queued", "backlogged")
    refused = api.delete(f"/jobs/{waiting['job_id']}")
    assert refused.status_code == 404
    assert refused.json() == {"error": f"Job '{waiting['job_id']}' cannot be cancelled: it is backlogged. "
                                       "Only queued or processing jobs can be cancelled."}
    assert api.get(f"/jobs/{waiting['job_id']}").json()["status"] == "backlogged"
    response = api.delete(f"/jobs/{running['job_id']}")
    assert response.status_code == 200
    cancelled = response.json()
    assert cancelled["status"] == "cancelled" and cancelled["result"] is None
    assert ISO_MS.match(cancelled["completed_at"])
    assert api.get(f"/jobs/{running['job_id']}").json() == cancelled
    again = api.delete(f"/jobs/{running['job_id']}")  # terminal: refused too, unchanged
    assert again.status_code == 404 and "it is cancelled" in again.json()["error"]
    assert api.get(f"/jobs/{running['job_id']}").json() == cancelled
    assert api.get(f"/jobs/{waiting['job_id']}").json()["status"] == "queued"  # it took the freed slot


def test_a_completed_job_is_not_cancelled(api):
    job, _ = api.follow(api.job()["job_id"])
    refused = api.delete(f"/jobs/{job['job_id']}")
    assert refused.status_code == 404 and "it is completed" in refused.json()["error"]
    assert api.get(f"/jobs/{job['job_id']}").json() == job


def test_the_cancel_refusal_status_and_the_cancellable_statuses_are_configurable():
    from playground.catalog import load_catalog
    from playground.sandbox import JobEngine, SandboxServer
    from playground.settings import replace

    from .conftest import FAST

    settings = replace(FAST, concurrency_limit=1, min_job_seconds=30)
    engine = JobEngine(settings, load_catalog(), cancel_refused_status=409)
    with SandboxServer(settings, engine=engine) as server:
        api = Api(server.base_url)
        api.job()
        waiting = api.job()
        assert api.delete(f"/jobs/{waiting['job_id']}").status_code == 409
    wide = JobEngine(settings, load_catalog(), cancellable={"backlogged", "queued", "processing"})
    with SandboxServer(settings, engine=wide) as server:
        api = Api(server.base_url)
        api.job()
        waiting = api.job()
        assert api.delete(f"/jobs/{waiting['job_id']}").json()["status"] == "cancelled"


def test_unknown_and_foreign_jobs_are_404(api, sandbox):
    job = api.job()
    stranger = Api(sandbox.base_url, "someone-else")
    for response in (
        api.get("/jobs/00000000-0000-0000-0000-000000000000"),
        api.delete("/jobs/nope"),
        stranger.get(f"/jobs/{job['job_id']}"),
        stranger.delete(f"/jobs/{job['job_id']}"),
    ):
        assert response.status_code == 404
        assert "not found" in response.json()["error"]
    assert stranger.get("/jobs").json() == {"items": [], "next_cursor": None}


def test_list_pages_newest_first_without_gaps_or_repeats(api):
    created = [api.job()["job_id"] for _ in range(7)]
    pages, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.get("/jobs", params=params).json()
        pages.append([j["job_id"] for j in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert cursor == page["items"][-1]["created_at"]
    assert [len(p) for p in pages] == [3, 3, 1]
    flat = [job_id for page in pages for job_id in page]
    assert flat == list(reversed(created))
    stamps = [j["created_at"] for j in api.get("/jobs").json()["items"]]
    assert len(set(stamps)) == 7  # unique per token even when submitted within one millisecond


def test_list_filters_by_status_and_validates_its_query(make_sandbox):
    api = Api(make_sandbox(min_job_seconds=30).base_url)
    jobs = [api.job()["job_id"] for _ in range(3)]
    api.delete(f"/jobs/{jobs[1]}")
    cancelled = api.get("/jobs", params={"status": "cancelled"}).json()["items"]
    assert [j["job_id"] for j in cancelled] == [jobs[1]]
    assert len(api.get("/jobs", params={"types": "flux,externalImage"}).json()["items"]) == 3  # all Flux
    for params in ({"status": "done"}, {"limit": 0}, {"limit": 1001}, {"limit": "x"}, {"cursor": "yesterday"}):
        response = api.get("/jobs", params=params)
        assert response.status_code == 400, params
        assert next(iter(params)) in response.json()["error"]
    assert api.get("/jobs", params={"cursor": "2000-01-01T00:00:00Z"}).json()["items"] == []


def test_jobs_carry_krea_type_and_the_list_filters_by_types(make_sandbox):
    api = Api(make_sandbox(min_job_seconds=30).base_url)
    flux = api.job(FLUX)["job_id"]
    k2 = api.job(K2, K2_BODY)["job_id"]
    imagen = api.job(NO_PREVIEWS, IMAGEN_BODY)["job_id"]
    assert [api.get(f"/jobs/{j}").json()["type"] for j in (flux, k2, imagen)] == ["flux", "k2", "externalImage"]

    def listed(types: str | None, **more) -> list[str]:
        params = {**({"types": types} if types is not None else {}), **more}
        response = api.get("/jobs", params=params)
        assert response.status_code == 200, response.text
        return [j["job_id"] for j in response.json()["items"]]

    assert listed("flux") == [flux]
    assert listed("externalImage") == [imagen]
    assert listed("flux, k2") == [k2, flux]  # newest first; spaces around the commas are fine
    assert listed("k1,loraTraining") == []  # types this account never ran: nothing, not an error
    assert listed("") == listed(",") == listed(None) == [imagen, k2, flux]  # no type named: no filter
    page = api.get("/jobs", params={"types": "flux,k2", "limit": 1}).json()  # pages within the filter
    assert [j["job_id"] for j in page["items"]] == [k2]
    assert listed("flux,k2", cursor=page["next_cursor"]) == [flux]
    api.delete(f"/jobs/{k2}")
    assert listed("k2,externalImage", status="cancelled") == [k2]  # with status: both filters apply


# ------------------------------------------------------------------------------------------------ webhooks


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict, dict]]] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append((dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    handler = type("Receiver", (_Receiver,), {"received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler.received
    server.shutdown()
    server.server_close()


def test_webhook_posts_the_terminal_job_once(api, receiver):
    url, received = receiver
    job = api.job(headers={"X-Webhook-URL": url})
    done, _ = api.follow(job["job_id"])
    deadline = time.monotonic() + 5
    while not received and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    assert len(received) == 1
    headers, body = received[0]
    assert body == done
    assert body["status"] == "completed"
    assert not any(name.lower() == "authorization" for name in headers)


def test_webhook_on_cancel(make_sandbox, receiver):
    url, received = receiver
    api = Api(make_sandbox(min_job_seconds=30).base_url)
    job = api.job(headers={"X-Webhook-URL": url})
    api.delete(f"/jobs/{job['job_id']}")
    deadline = time.monotonic() + 5
    while not received and time.monotonic() < deadline:
        time.sleep(0.01)
    assert received[0][1]["status"] == "cancelled"


# -------------------------------------------------------------------------------------------------- faults


@pytest.fixture
def faults_api(make_sandbox) -> Api:
    """A sandbox with the fault-control route switched on (SANDBOX_FAULTS=1 / --faults)."""
    return Api(make_sandbox(faults_enabled=True).base_url)


def test_fault_route_is_off_by_default_and_looks_like_any_unknown_route(api):
    for method in ("GET", "POST", "DELETE"):
        response = api.session.request(method, api.base + "/_sandbox/faults",
                                       json={"kind": "submit_status", "status": 503}, timeout=10)
        assert response.status_code == 404, method
        message = response.json()["error"]
        assert message.startswith(f"The sandbox does not implement {method} /_sandbox/faults")
        assert message.count("faults") == 1  # the request's own path only: the list of routes does not name it
    unknown = api.session.get(api.base + "/_sandbox/nothing", timeout=10).json()["error"]
    assert unknown.replace("/_sandbox/nothing", "/_sandbox/faults") == api.session.get(
        api.base + "/_sandbox/faults", timeout=10).json()["error"]
    assert "faults" not in api.session.get(api.base + "/_sandbox/health", timeout=10).json()
    assert api.submit().status_code == 200  # nothing was injected


def test_fault_route_is_switched_on_by_the_env_var():
    from playground.settings import load_settings

    assert load_settings({}).sandbox.faults_enabled is False
    assert load_settings({"SANDBOX_FAULTS": "1"}).sandbox.faults_enabled is True
    assert load_settings({"SANDBOX_FAULTS": "0"}).sandbox.faults_enabled is False


def test_submit_status_fault_through_the_control_route(faults_api):
    api = faults_api
    fault = {"kind": "submit_status", "status": 503, "retry_after": 2, "count": 1}
    response = api.session.post(api.base + "/_sandbox/faults", json=fault)
    assert response.status_code == 200
    assert response.json()["faults"][0]["kind"] == "submit_status"
    refused = api.submit()
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "2"
    assert "error" in refused.json()
    assert api.submit().status_code == 200  # count 1: it cleared itself
    assert api.session.get(api.base + "/_sandbox/faults").json() == {"faults": []}


def test_submit_status_fault_only_hits_its_model(api, sandbox):
    sandbox.set_fault(Fault(kind="submit_status", model=NO_PREVIEWS, status=429, retry_after=7))
    assert api.submit().status_code == 200
    refused = api.submit(NO_PREVIEWS, IMAGEN_BODY)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "7"


def test_job_fails_fault(api, sandbox):
    sandbox.set_fault(Fault(kind="job_fails", reason="NSFW content detected", code="nsfw"))
    job, _ = api.follow(api.job()["job_id"])
    assert job["status"] == "failed"
    assert job["result"] == {"error": "NSFW content detected"}
    assert job["error"] == {"code": "nsfw", "message": "NSFW content detected"}
    assert job["completed_at"] is not None


def test_silent_and_shadow_fail_faults(api, sandbox):
    sandbox.set_fault({"kind": "silent_fail", "count": 1})
    silent, _ = api.follow(api.job()["job_id"])
    assert silent["status"] == "failed" and silent["result"] == {} and "error" not in silent
    sandbox.set_fault({"kind": "shadow_fail", "count": 1})
    shadow, _ = api.follow(api.job()["job_id"])
    assert shadow["status"] == "completed" and shadow["result"] == {}
    normal, _ = api.follow(api.job()["job_id"])
    assert normal["result"]["urls"]


def test_get_status_fault_answers_503_for_count_calls(api, sandbox):
    job = api.job()
    sandbox.set_fault(Fault(kind="get_status", count=2, retry_after=1))
    first, second = api.get(f"/jobs/{job['job_id']}"), api.get(f"/jobs/{job['job_id']}")
    assert (first.status_code, second.status_code) == (503, 503)
    assert first.headers["Retry-After"] == "1"
    assert api.get(f"/jobs/{job['job_id']}").status_code == 200


def test_slow_and_hang_faults(make_sandbox):
    server = make_sandbox(min_job_seconds=0.1)
    api = Api(server.base_url)
    server.set_fault(Fault(kind="slow", factor=40, count=1))
    slow = api.job()
    normal = api.job()
    durations = {j.job_id: j.duration for j in server.engine.jobs}
    assert durations[slow["job_id"]] > 20 * durations[normal["job_id"]] / 1.25 * 0.75
    server.set_fault(Fault(kind="hang", count=1))
    hung = api.job()
    api.follow(normal["job_id"])
    time.sleep(0.3)  # well past its normal duration
    assert api.get(f"/jobs/{hung['job_id']}").json()["status"] == "processing"
    assert api.delete(f"/jobs/{hung['job_id']}").json()["status"] == "cancelled"


def test_fault_routes_validate_list_and_clear(faults_api):
    api = faults_api
    assert "faults" in api.session.get(api.base + "/_sandbox/health").json()
    assert "/_sandbox/faults" in api.session.get(api.base + "/nowhere").json()["error"]  # listed when on
    post = lambda body: api.session.post(api.base + "/_sandbox/faults", json=body)
    assert post({"kind": "explode"}).status_code == 400
    assert "colour" in post({"kind": "slow", "colour": "red"}).json()["error"]
    assert post({"kind": "submit_status"}).status_code == 400  # needs a status
    assert post({"kind": "job_fails", "model": "no/such-model"}).status_code == 400
    added = post([{"kind": "slow", "factor": 2}, {"kind": "get_status", "model": FLUX}]).json()
    assert [f["kind"] for f in added["faults"]] == ["slow", "get_status"]
    assert added["faults"][1]["status"] == 503
    fault_id = added["faults"][0]["id"]
    assert [f["kind"] for f in api.session.delete(api.base + f"/_sandbox/faults?id={fault_id}").json()["faults"]] == [
        "get_status"
    ]
    assert api.session.delete(api.base + "/_sandbox/faults").json() == {"faults": []}


# ------------------------------------------------------------------------------------ other routes, errors


def test_health_and_openapi(api):
    health = api.session.get(api.base + "/_sandbox/health").json()
    assert health["status"] == "ok" and health["sandbox"] is True
    spec = api.session.get(api.base + "/openapi.json").json()
    assert "/generate/image/bfl/flux-1-dev" in spec["paths"]
    assert "/jobs/{id}" in spec["paths"]
    k2 = spec["paths"]["/generate/image/krea/krea-2/medium"]["post"]
    schema = k2["requestBody"]["content"]["application/json"]["schema"]
    assert "aspect_ratio" in schema["properties"] and schema["additionalProperties"] is False
    assert spec["servers"][0]["url"] == api.base


def snapshot_operations() -> list[tuple[str, str]]:
    from playground.settings import OPENAPI_SNAPSHOT_PATH

    spec = json.loads(OPENAPI_SNAPSHOT_PATH.read_text(encoding="utf-8"))
    return [(method, path) for path, item in spec["paths"].items() for method in item
            if method in ("get", "post", "put", "patch", "delete")]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "abc123", path)


def test_the_served_spec_advertises_only_what_the_sandbox_implements(api):
    from playground.catalog import load_catalog

    spec = api.session.get(api.base + "/openapi.json").json()  # no token needed, as at Krea
    served = {(method, path) for path, item in spec["paths"].items() for method in item}
    catalog_paths = {m.path for m in load_catalog().models}
    assert {path for method, path in served if path.startswith("/generate/")} == catalog_paths
    assert all(method == "post" for method, path in served if path.startswith("/generate/"))
    assert {op for op in served if not op[1].startswith("/generate/")} == {
        ("get", "/jobs"), ("get", "/jobs/{id}"), ("delete", "/jobs/{id}"), ("post", "/assets"), ("get", "/assets"),
        ("get", "/assets/{id}"), ("delete", "/assets/{id}"), ("get", "/styles"), ("get", "/styles/{id}")}
    assert not any(p.startswith(("/generate/video/", "/generate/enhance/", "/node-apps", "/styles/train"))
                   or "/share/" in p for p in spec["paths"])
    assert [t["name"] for t in spec["tags"]] == ["General", "Assets", "Styles", "Image"]
    removed = [op for op in snapshot_operations() if op not in served]
    assert len(removed) > 40  # video, enhance, node apps, style training, editing and sharing
    for method, path in served - {op for op in served if op[1].startswith("/generate/")}:
        response = api.request(method.upper(), concrete(path), files={"file": ("a.txt", b"x")}
                               if (method, path) == ("post", "/assets") else None)
        assert "does not implement" not in response.text, (method, path)


def test_unimplemented_krea_operations_answer_401_before_404(sandbox):
    from playground.catalog import load_catalog

    served = {m.path for m in load_catalog().models}
    anonymous, wrong_scheme = Api(sandbox.base_url, token=None), Api(sandbox.base_url, token=None)
    authorised = Api(sandbox.base_url, token="some-token")
    for method, path in snapshot_operations():
        if path in served or not any(path.startswith(p) for p in ("/generate/", "/node-apps", "/styles/")):
            continue
        if (method, path) == ("get", "/styles/{id}"):
            continue
        url = concrete(path)
        assert anonymous.request(method.upper(), url).status_code == 401, (method, path)
        assert wrong_scheme.request(method.upper(), url, headers={"Authorization": "Basic abc"}).status_code == 401
        answer = authorised.request(method.upper(), url)
        assert answer.status_code == 404, (method, path)
        assert answer.json()["error"].startswith(f"The sandbox does not implement {method.upper()} {url}")
    # A wrong method on a Krea path is checked for a token too; a path that is no Krea path is a plain 404.
    assert anonymous.request("GET", f"/generate/image/{FLUX}").status_code == 401
    assert anonymous.request("PUT", "/jobs/abc").status_code == 401
    for path in ("/v1/jobs", "/docs", "/nowhere"):
        assert anonymous.get(path).status_code == 404, path


def test_a_required_token_guards_unimplemented_operations_too(make_sandbox):
    server = make_sandbox(required_token="the-token")
    wrong, right = Api(server.base_url, token="not-it"), Api(server.base_url, token="the-token")
    for method, path in (("POST", "/styles/train"), ("POST", "/generate/video/google/veo-3"),
                         ("GET", "/node-apps/abc"), ("POST", "/generate/enhance/topaz/standard-enhance")):
        assert wrong.request(method, path).status_code == 401, path
        assert right.request(method, path).status_code == 404, path


def test_files_route(api):
    assert api.session.get(api.base + "/files/nope/image.png").status_code == 404
    job = api.job()
    early = api.session.get(f"{api.base}/files/{job['job_id']}/image.png")  # not published before completed
    assert early.status_code == 404 and "error" in early.json()
    api.follow(job["job_id"])
    assert api.session.get(f"{api.base}/files/{job['job_id']}/../image.png").status_code == 404
    assert api.session.get(f"{api.base}/files/{job['job_id']}/secret.txt").status_code == 404


def test_unimplemented_routes_answer_json_404_and_405(api):
    for method, path in (("GET", "/v1/jobs"), ("PUT", "/styles"), ("GET", "/docs"), ("GET", "/redoc"), ("GET", "/jobs/")):
        response = api.request(method, path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/json"
        assert response.json()["error"].startswith(f"The sandbox does not implement {method} {path}")
    wrong = api.request("PUT", "/jobs/abc")
    assert wrong.status_code == 405
    assert "PUT" in wrong.json()["error"]
    assert api.request("GET", f"/generate/image/{FLUX}").status_code == 405


def test_the_listening_socket_says_tcp_so_answers_are_not_held_back_by_nagle(sandbox):
    # asyncio sets TCP_NODELAY only on accepted sockets whose proto is IPPROTO_TCP; with proto 0 every answer on
    # a kept-alive connection waited ~40 ms for the client's delayed ACK (44 ms per poll instead of 1).
    assert sandbox._socket.proto == socket.IPPROTO_TCP  # accepted connections inherit it
