"""The retry rules live in urllib3 ``Retry`` objects mounted on the sessions; check them as configured."""

import pytest
import requests
from urllib3.exceptions import MaxRetryError, ProtocolError, ReadTimeoutError
from urllib3.response import HTTPResponse

from playground.krea import KreaClient
from playground.krea.transport import (
    BearerAuth,
    CappedRetry,
    NoAuth,
    WatchedAdapter,
    origin,
    read_retry,
    submit_retry,
)
from playground.settings import ClientSettings, RetryPolicy
from tests.krea.conftest import TOKEN

POLICY = RetryPolicy(total=3, backoff_factor=0.5, backoff_max=8.0, backoff_jitter=0.25, retry_after_cap=60.0)


def mounted_retry(session: requests.Session, url: str = "https://api.krea.ai/jobs") -> CappedRetry:
    retry = session.get_adapter(url).max_retries
    assert isinstance(retry, CappedRetry)
    return retry


def fake_response(status: int, retry_after: str | None = None) -> HTTPResponse:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return HTTPResponse(body=b"", headers=headers, status=status)


@pytest.fixture
def client():
    with KreaClient(TOKEN, ClientSettings(retry=POLICY)) as c:
        yield c


class TestReadSession:
    def test_configuration(self, client):
        retry = mounted_retry(client._api)
        assert retry.total == 3 and retry.connect == 3 and retry.read == 3 and retry.status == 3
        assert retry.status_forcelist == {408, 500, 502, 503, 504}
        assert retry.allowed_methods >= {"GET", "DELETE"} and "POST" not in retry.allowed_methods
        assert (retry.backoff_factor, retry.backoff_max, retry.backoff_jitter) == (0.5, 8.0, 0.25)
        assert retry.respect_retry_after_header and not retry.raise_on_status
        assert retry.retry_after_max == 60.0

    @pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
    def test_retries_transient_statuses(self, client, status):
        assert mounted_retry(client._api).is_retry("GET", status)
        assert mounted_retry(client._api).is_retry("DELETE", status)

    def test_never_sleeps_on_a_429(self, client):
        # A Retry-After waited out inside requests could not be stopped: the caller waits instead.
        assert not mounted_retry(client._api).is_retry("GET", 429, has_retry_after=True)

    @pytest.mark.parametrize("status", [400, 401, 402, 404, 410, 422])
    def test_never_retries_client_errors(self, client, status):
        assert not mounted_retry(client._api).is_retry("GET", status, has_retry_after=True)

    def test_retries_read_errors(self, client):
        retry = mounted_retry(client._api).increment("GET", "/jobs/x", error=ReadTimeoutError(None, "/", "slow"))
        assert retry.read == 2

    def test_both_schemes_mounted(self, client):
        assert mounted_retry(client._api, "http://127.0.0.1:1/jobs") is mounted_retry(client._api)


class TestSubmitSession:
    def test_configuration(self, client):
        retry = mounted_retry(client._submit, "https://api.krea.ai/generate/image/bfl/flux-1-dev")
        assert "POST" in retry.allowed_methods
        assert not retry.status_forcelist and retry.status == 0
        assert retry.read == 0 and retry.other == 0 and retry.connect == 3

    @pytest.mark.parametrize("status", [408, 413, 429, 500, 502, 503, 504])
    def test_retries_no_status(self, client, status):
        # 5xx: the job may exist (a resend could bill twice). 429: the caller waits, where Stop can end it.
        retry = mounted_retry(client._submit)
        assert not retry.is_retry("POST", status)
        assert not retry.is_retry("POST", status, has_retry_after=True)  # urllib3 alone would retry 503+RA

    def test_retries_connect_errors(self, client):
        from urllib3.exceptions import NewConnectionError

        retry = mounted_retry(client._submit).increment("POST", "/generate/image/x",
                                                        error=NewConnectionError(None, "refused"))
        assert retry.connect == 2

    @pytest.mark.parametrize("error", [ReadTimeoutError(None, "/", "slow"), ProtocolError("aborted")])
    def test_does_not_retry_read_errors(self, client, error):
        with pytest.raises(MaxRetryError):
            mounted_retry(client._submit).increment("POST", "/generate/image/x", error=error)


class TestRetryAfterCap:
    def test_hint_under_the_cap_is_waited(self):
        retry = read_retry(POLICY)
        assert retry.get_retry_after(fake_response(503, "2.5")) == 2.5
        assert retry.increment("GET", "/", response=fake_response(503, "2.5")).status == 2

    def test_hint_above_the_cap_ends_retrying(self):
        with pytest.raises(MaxRetryError):
            read_retry(POLICY).increment("GET", "/", response=fake_response(503, "61"))

    def test_submit_ignores_hints(self):
        assert submit_retry(POLICY).get_retry_after(fake_response(503, "5")) is None

    def test_garbage_hint_is_ignored_not_raised(self):
        retry = read_retry(POLICY)
        assert retry.get_retry_after(fake_response(503, "soon")) is None
        assert retry.increment("GET", "/", response=fake_response(503, "soon")).status == 2

    def test_parse_is_not_clamped(self):
        assert read_retry(POLICY).parse_retry_after("600") == 600.0


class TestDownloadSession:
    def test_never_carries_a_token(self, client):
        assert "Authorization" not in client._download.headers
        assert isinstance(client._download.auth, NoAuth)

    def test_urllib3_never_retries_a_download(self, client):
        # Its backoff sleeps could be neither stopped nor bounded: the client retries within the deadline.
        adapter = client._download.get_adapter("https://gen.krea.ai/x.png")
        assert isinstance(adapter, WatchedAdapter) and adapter.max_retries.total == 0


class TestAuth:
    def test_bearer_only_for_the_api_origin(self):
        auth = BearerAuth(TOKEN, "https://api.krea.ai")
        ok = auth(requests.Request("GET", "https://api.krea.ai/jobs").prepare())
        assert ok.headers["Authorization"] == f"Bearer {TOKEN}"
        for url in ("https://gen.krea.ai/a.png", "http://api.krea.ai/jobs", "https://api.krea.ai:8443/jobs",
                    "https://api.krea.ai.evil.com/jobs"):
            prepared = requests.Request("GET", url, headers={"Authorization": "x"}).prepare()
            assert "Authorization" not in auth(prepared).headers

    def test_reprs_hide_the_token(self, client):
        assert TOKEN not in repr(BearerAuth(TOKEN, "https://api.krea.ai"))
        assert TOKEN not in repr(client) and TOKEN not in str(client)
        assert TOKEN not in repr(vars(client))

    def test_session_headers(self, client):
        for session in (client._api, client._submit, client._download):
            assert session.headers["User-Agent"] == ClientSettings().user_agent

    def test_origin_defaults_ports(self):
        assert origin("https://API.krea.ai/x") == ("https", "api.krea.ai", 443)
        assert origin("http://127.0.0.1:8787") == ("http", "127.0.0.1", 8787)
