"""The documented API surface: only /generate, /compare, /models and /runs, and the README's example runs as
written."""

import re
from pathlib import Path


README = Path(__file__).resolve().parents[2] / "README.md"


def test_view_api_lists_only_the_documented_endpoints(client):
    endpoints = client.view_api(return_format="dict", print_info=False)
    assert sorted(endpoints["named_endpoints"]) == ["/compare", "/generate", "/models", "/runs"]
    assert endpoints["unnamed_endpoints"] == {}
    for name in ("/generate", "/compare"):  # an image (or images) and a record (or records): two typed outputs
        assert len(endpoints["named_endpoints"][name]["returns"]) == 2, endpoints["named_endpoints"][name]


def test_runs_lists_stored_runs_with_their_exact_requests_and_filters(client):
    _image, record = client.predict(model="bfl/flux-1-dev", prompt="a scripted heron qz9", seed=31,
                                    api_name="/generate")
    found = client.predict(search="heron qz9", api_name="/runs")
    assert [r["run_id"] for r in found] == [record["run_id"]]
    assert found[0]["request"]["body"] == record["request"]["body"] and found[0]["phase"] == "done"
    assert found[0]["has_image"] and found[0]["seed"] == 31
    assert client.predict(search="heron qz9", status="failed", api_name="/runs") == []
    assert client.predict(search="heron qz9", model="openai/gpt-image-2", api_name="/runs") == []


def test_runs_refuses_an_unknown_status_naming_it(client):
    import pytest
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="status must be"):
        client.predict(status="finished", api_name="/runs")


def test_models_lists_every_text_model_with_its_parameters(client):
    models = client.predict(api_name="/models")
    flux = next(m for m in models if m["id"] == "bfl/flux-1-dev")
    width = next(p for p in flux["params"] if p["name"] == "width")
    assert width["minimum"] == 512 and width["maximum"] == 2368
    assert not any(m["needs_image"] for m in models)


def test_the_readme_gradio_client_example_runs_as_written(app, monkeypatch, tmp_path):
    text = README.read_text(encoding="utf-8")
    example = re.search(r"## Script it.*?```python\n(.*?)```", text, re.S).group(1)
    code = example.replace("http://127.0.0.1:7860/", app.url)
    assert code != example, "the README example should use the default local URL"
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, "README example", "exec"), namespace)  # noqa: S102 - our own README
    assert namespace["record"]["phase"] == "done"
    assert Path(namespace["image"]).exists()
    assert [r["phase"] for r in namespace["records"]] == ["done", "done"]
