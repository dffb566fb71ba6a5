import pytest
from gradio_client import Client

from tests.support import fast_settings, running_app


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The real app on loopback, on a real sandbox: jobs of ~1 s so every status is seen."""
    with running_app(fast_settings(tmp_path_factory.mktemp("outputs"))) as running:
        yield running


@pytest.fixture(autouse=True)
def no_faults(app):
    app.backend.sandbox.clear_faults()
    yield
    app.backend.sandbox.clear_faults()


@pytest.fixture
def client(app):
    """A fresh script session (its own session_hash, so its own sandbox identity)."""
    c = Client(app.url, verbose=False)
    yield c
    c.close()
