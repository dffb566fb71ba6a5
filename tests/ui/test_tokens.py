"""A hosted app without an operator token: each visitor brings a token that only their own session uses.

Krea's API is stood in for by a second sandbox that accepts one token only, reached as "krea" (not sandbox mode).
"""

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from playground.sandbox import SandboxServer
from playground.settings import AppSettings, ClientSettings, PollPolicy, SandboxSettings, Settings
from tests.support import free_port, running_app

SECRET = "user-secret-token-123"


@pytest.fixture(scope="module")
def hosted(tmp_path_factory):
    with SandboxServer(SandboxSettings(speed=0.01, min_job_seconds=0.3, required_token=SECRET)) as krea:
        client = ClientSettings(base_url=krea.base_url, download_host_suffixes=(),
                                poll=PollPolicy(initial_interval=0.05, max_interval=0.2, deadline=30))
        settings = Settings(token=None, use_sandbox=False, client=client,
                            app=AppSettings(output_dir=tmp_path_factory.mktemp("out"),
                                            data_dir=tmp_path_factory.mktemp("data"), port=free_port()))
        with running_app(settings) as app:
            yield app, krea


def generate(client) -> str:
    """The run's phase, or the refusal's message."""
    try:
        return client.predict(model="bfl/flux-1-dev", prompt="a cat", api_name="/generate")[1]["phase"]
    except AppError as refused:
        return str(refused)


def test_without_a_token_the_page_says_to_paste_one_and_sends_nothing(hosted):
    app, krea = hosted
    client = Client(app.url, verbose=False)
    assert "Paste yours" in generate(client)
    assert krea.engine.jobs == []


def test_a_refused_token_is_reported_and_not_kept(hosted):
    app, _ = hosted
    client = Client(app.url, verbose=False)
    box, message = client.predict("wrong-token", api_name="/use_token")
    assert box == "" and "refused" in message
    assert "Paste yours" in generate(client)


def test_a_token_is_used_by_its_own_session_only_and_never_echoed(hosted):
    app, krea = hosted
    alice, bob = Client(app.url, verbose=False), Client(app.url, verbose=False)
    box, message = alice.predict(SECRET, api_name="/use_token")
    assert box == "" and SECRET not in message and "your token" in message
    assert generate(alice) == "done"
    assert "Paste yours" in generate(bob)  # Bob's session never sees Alice's token
    assert len(krea.engine.jobs) == 1
    alice.predict(api_name="/forget_token")
    assert "Paste yours" in generate(alice)


def test_the_token_endpoint_is_not_public(hosted):
    app, _ = hosted
    client = Client(app.url, verbose=False)
    public = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert "/use_token" not in public and "/forget_token" not in public
