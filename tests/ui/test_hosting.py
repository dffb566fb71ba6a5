"""Hosting switches on the real app: a login for the whole page and API, and a cap on uploads."""

from __future__ import annotations

import dataclasses

import pytest
import requests
from gradio_client import Client

from playground.settings import load_settings, parse_auth
from tests.support import fast_settings, running_app


@pytest.fixture(scope="module")
def private_app(tmp_path_factory):
    settings = fast_settings(tmp_path_factory.mktemp("private-out"))
    settings = dataclasses.replace(settings, app=dataclasses.replace(settings.app, auth=(("alice", "pw-1"),),
                                                                     max_upload_mb=1))
    with running_app(settings) as app:
        yield app


def test_with_a_login_nothing_is_served_without_it(private_app):
    assert requests.get(f"{private_app.url}config", timeout=10).status_code == 401
    with pytest.raises(Exception):
        Client(private_app.url, verbose=False)
    client = Client(private_app.url, auth=("alice", "pw-1"), verbose=False)
    try:
        assert any(m["id"] == "bfl/flux-1-dev" for m in client.predict(api_name="/models"))
    finally:
        client.close()


def test_a_wrong_password_is_refused(private_app):
    answer = requests.post(f"{private_app.url}login", data={"username": "alice", "password": "nope"}, timeout=10)
    assert answer.status_code in (400, 401)


def test_uploads_over_the_cap_are_refused_before_they_are_kept(private_app):
    session = requests.Session()
    assert session.post(f"{private_app.url}login", data={"username": "alice", "password": "pw-1"},
                        timeout=10).ok
    big = session.post(f"{private_app.url}gradio_api/upload",
                       files={"files": ("big.png", b"\0" * (2 * 1024 * 1024), "image/png")}, timeout=30)
    assert big.status_code == 413, big.text[:200]
    small = session.post(f"{private_app.url}gradio_api/upload",
                         files={"files": ("small.png", b"\0" * 1024, "image/png")}, timeout=30)
    assert small.ok, small.text[:200]


def test_logins_are_read_as_user_password_pairs_and_a_missing_password_is_refused():
    assert parse_auth("alice:pw1, bob:p:w2") == (("alice", "pw1"), ("bob", "p:w2"))
    assert parse_auth("") == ()
    with pytest.raises(ValueError, match="user:password"):
        parse_auth("alice")
    settings = load_settings({"PLAYGROUND_AUTH": "carol:secret", "PLAYGROUND_MAX_UPLOAD_MB": "5"})
    assert settings.app.auth == (("carol", "secret",),) and settings.app.max_upload_mb == 5
    assert "secret" not in repr(settings)


OWNER = "owner-token-for-tests-0042"


@pytest.fixture(scope="module")
def owner_krea():
    from playground.sandbox import SandboxServer
    from playground.settings import SandboxSettings

    with SandboxServer(SandboxSettings(speed=0.01, min_job_seconds=0.3, required_token=OWNER)) as krea:
        yield krea


def hosted_krea_app(krea, tmp_path_factory, **app_changes):
    from playground.settings import AppSettings, ClientSettings, PollPolicy, Settings
    from tests.support import free_port

    client = ClientSettings(base_url=krea.base_url, download_host_suffixes=(),
                            poll=PollPolicy(initial_interval=0.05, max_interval=0.2, deadline=30))
    app = AppSettings(output_dir=tmp_path_factory.mktemp("o"), data_dir=tmp_path_factory.mktemp("d"),
                      port=free_port(), hosted=True, **app_changes)
    return running_app(Settings(token=OWNER, use_sandbox=False, client=client, app=app))


def test_hosted_the_owner_token_is_not_given_to_visitors_unless_switched_on(owner_krea, tmp_path_factory):
    from gradio_client.exceptions import AppError

    with hosted_krea_app(owner_krea, tmp_path_factory) as app:
        client = Client(app.url, verbose=False)
        with pytest.raises(AppError, match="Paste yours"):
            client.predict(model="bfl/flux-1-dev", prompt="not on the owner", api_name="/generate")
        page = requests.get(app.url, timeout=10).text + requests.get(f"{app.url}config", timeout=10).text
        assert "Paste your own Krea API token" in page and OWNER not in page
        client.close()
    assert not [j for j in owner_krea.engine.jobs if j.prompt == "not on the owner"]


def test_with_the_owner_token_shared_a_daily_spend_cap_stops_visitors_and_the_page_says_so(owner_krea,
                                                                                            tmp_path_factory):
    from gradio_client.exceptions import AppError

    from playground.catalog import load_catalog

    price = load_catalog().get("bfl/flux-1-dev").price.usd
    with hosted_krea_app(owner_krea, tmp_path_factory, share_owner_token=True, spend_cap_usd=price * 1.5) as app:
        assert "$0.01 a day for everyone together" in requests.get(f"{app.url}config", timeout=10).text
        client = Client(app.url, verbose=False)
        try:
            _, record = client.predict(model="bfl/flux-1-dev", prompt="on the owner", api_name="/generate")
            assert record["phase"] == "done" and record["cost_usd"] == price
            with pytest.raises(AppError, match="shared budget"):  # a second one would pass the cap
                client.predict(model="bfl/flux-1-dev", prompt="over the cap", api_name="/generate")
        finally:
            client.close()
    assert not [j for j in owner_krea.engine.jobs if j.prompt == "over the cap"]


@pytest.fixture(scope="module")
def hosted_app(tmp_path_factory):
    settings = fast_settings(tmp_path_factory.mktemp("hosted-out"))
    settings = dataclasses.replace(settings, app=dataclasses.replace(settings.app, hosted=True))
    with running_app(settings) as app:
        yield app


def test_an_image_is_served_only_under_an_address_given_to_its_own_session(hosted_app):
    """Gradio serves files by path and knows no session in a file request (an <img> carries none), so an
    image's address is its capability: the run's file is never served by its own path, and the copy Gradio
    serves sits under a keyed 256-bit hash; only the session that owns the run is ever told that address."""
    import re
    from pathlib import Path

    owner = Client(hosted_app.url, verbose=False, download_files=False)
    other = Client(hosted_app.url, verbose=False, download_files=False)
    try:
        image, record = owner.predict(model="bfl/flux-1-dev", prompt="mine alone", api_name="/generate")
        assert record["phase"] == "done"
        served = image["url"]
        match = re.search(r"/gradio_api/file=(.*)/([0-9a-f]{64})/([^/]+\.png)$", served)
        assert match, served
        [saved] = Path(hosted_app.settings.app.output_dir).rglob(match.group(3))  # the run's own file
        assert re.search(r"[0-9a-f]{16,}", saved.name)  # random: not derivable from time, model and seed
        assert requests.get(served, timeout=10).ok  # the address the owner was given works

        # Known paths of the saved file, the run store and the outputs folder are refused to anyone.
        for path in (saved, hosted_app.settings.app.data_dir / "runs.sqlite3", saved.parent):
            answer = requests.get(f"{hosted_app.url}gradio_api/file={path}", timeout=10)
            assert answer.status_code == 403, (path, answer.status_code)

        images, _ = owner.predict(prompt="ours alone", models=["bfl/flux-1-dev", "krea/krea-2/medium"],
                                  api_name="/compare")
        for tile in images:  # Compare's images, too, are handed out only as cache addresses
            assert re.search(r"/gradio_api/file=.*/[0-9a-f]{64}/[^/]+\.png$", tile["url"]), tile["url"]

        # The other session is never told the address: its history and /runs do not name the run.
        theirs = other.predict(api_name="/runs")
        assert record["run_id"] not in str(theirs) and saved.name not in str(theirs)
    finally:
        owner.close()
        other.close()
