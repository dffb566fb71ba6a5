"""`python -m playground.sandbox`: a catalog built from a newer spec (--openapi) is the one the sandbox serves."""

from __future__ import annotations

import copy
import json

import pytest
import requests

from playground.sandbox.__main__ import main
from playground.settings import OPENAPI_SNAPSHOT_PATH

from .conftest import standalone_sandbox


def newer_spec(tmp_path) -> str:
    spec = json.loads(OPENAPI_SNAPSHOT_PATH.read_text(encoding="utf-8"))
    spec["paths"]["/generate/image/acme/brand-new"] = copy.deepcopy(spec["paths"]["/generate/image/bfl/flux-1-dev"])
    spec["paths"]["/generate/image/acme/brand-new"]["post"]["summary"] = "Brand New"
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return str(path)


def test_openapi_flag_serves_the_models_of_that_spec(tmp_path):
    session = requests.Session()
    session.trust_env = False
    headers = {"Authorization": "Bearer t"}
    body = {"prompt": "a new model", "width": 512, "height": 512}
    with standalone_sandbox("--openapi", newer_spec(tmp_path)) as base:
        created = session.post(f"{base}/generate/image/acme/brand-new", json=body, headers=headers, timeout=10)
        assert created.status_code == 200, created.text
        refused = session.post(f"{base}/generate/image/acme/brand-new", json={**body, "steps": 10_000},
                               headers=headers, timeout=10)
        assert refused.status_code == 400 and "steps" in refused.json()["error"]  # validated by that spec


def test_an_unreadable_spec_stops_before_listening(tmp_path, capsys):
    assert main(["--port", "0", "--openapi", str(tmp_path / "missing.json")]) == 2
    assert "cannot build the catalog" in capsys.readouterr().err


def test_faults_flag_switches_the_control_route_on():
    session = requests.Session()
    session.trust_env = False
    fault = {"kind": "submit_status", "status": 503, "count": 1}
    with standalone_sandbox(env={"SANDBOX_FAULTS": ""}) as base:
        assert session.post(f"{base}/_sandbox/faults", json=fault, timeout=10).status_code == 404
    for args, env in ((("--faults",), {"SANDBOX_FAULTS": ""}), ((), {"SANDBOX_FAULTS": "1"})):
        with standalone_sandbox(*args, env=env) as base:
            assert session.post(f"{base}/_sandbox/faults", json=fault, timeout=10).status_code == 200, args
            refused = session.post(f"{base}/generate/image/bfl/flux-1-dev", json={"prompt": "x"},
                                   headers={"Authorization": "Bearer t"}, timeout=10)
            assert refused.status_code == 503


def test_cancel_flags_set_what_delete_may_cancel_and_how_it_refuses(tmp_path):
    from playground.sandbox.__main__ import build_parser, engine_options

    parse = build_parser().parse_args
    assert engine_options(parse([])) == {}
    assert engine_options(parse(["--cancellable", "all"]))["cancellable"] == {
        "backlogged", "queued", "scheduled", "processing", "sampling", "intermediate-complete"}
    assert engine_options(parse(["--cancellable", "queued, sampling", "--cancel-refused-status", "409"])) == {
        "cancellable": {"queued", "sampling"}, "cancel_refused_status": 409}
    for wrong in (["--cancellable", "completed"], ["--cancellable", ""], ["--cancel-refused-status", "418"]):
        with pytest.raises(SystemExit):
            parse(wrong)

    session = requests.Session()
    session.trust_env = False
    headers = {"Authorization": "Bearer t"}
    body = {"prompt": "a slow one", "width": 512, "height": 512}
    args = ("--concurrency", "1", "--min-job-seconds", "30", "--cancellable", "queued",
            "--cancel-refused-status", "409")
    with standalone_sandbox(*args) as base:
        running, waiting = (session.post(f"{base}/generate/image/bfl/flux-1-dev", json=body, headers=headers,
                                         timeout=10).json() for _ in range(2))
        refused = session.delete(f"{base}/jobs/{waiting['job_id']}", headers=headers, timeout=10)
        assert refused.status_code == 409 and "it is backlogged" in refused.json()["error"]
        cancelled = session.delete(f"{base}/jobs/{running['job_id']}", headers=headers, timeout=10)
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
