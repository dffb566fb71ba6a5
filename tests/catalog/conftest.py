from __future__ import annotations

import json

import pytest

from playground.catalog import Catalog, load_catalog
from playground.settings import OPENAPI_SNAPSHOT_PATH


@pytest.fixture(scope="session")
def spec() -> dict:
    return json.loads(OPENAPI_SNAPSHOT_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()
