"""When Krea publishes a newer /openapi.json, the app can be started on it (python app.py --openapi PATH)."""

import copy
import json

from app import parse_args
from playground.backend import start_backend, stop_backend
from playground.catalog import load_catalog
from playground.krea import KreaClient
from playground.settings import OPENAPI_SNAPSHOT_PATH, PollPolicy, SandboxSettings, Settings, replace


def test_a_model_added_to_a_newer_spec_is_offered_validated_and_served(tmp_path):
    spec = json.loads(OPENAPI_SNAPSHOT_PATH.read_text())
    spec["paths"]["/generate/image/acme/brand-new"] = copy.deepcopy(spec["paths"]["/generate/image/bfl/flux-1-dev"])
    spec["paths"]["/generate/image/acme/brand-new"]["post"]["summary"] = "Brand New"
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(spec))
    assert parse_args(["--openapi", str(path)]).openapi == str(path)

    catalog = load_catalog(openapi=str(path))
    model = catalog.get("acme/brand-new")
    assert model.param("steps").maximum == 100

    settings = Settings(sandbox=SandboxSettings(speed=0.001, min_job_seconds=0.05))
    backend = start_backend(settings, catalog)
    try:
        fast = replace(backend.client_settings, poll=PollPolicy(initial_interval=0.02, max_interval=0.1, deadline=20))
        with KreaClient("any", fast) as client:
            job = client.submit_job(model.id, {"prompt": "a new model", "width": 512, "height": 512})
            final = list(client.poll_job(job.job_id))[-1]
        assert final.status == "completed" and final.urls
    finally:
        stop_backend(backend)
