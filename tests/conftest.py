"""Shared fixtures: one Azurite for the whole run (each test uses its own table)."""

import secrets

import pytest

from tests.support.azurite import Azurite


@pytest.fixture(scope="session")
def azurite(tmp_path_factory):
    service = Azurite(tmp_path_factory.mktemp("azurite"))
    service.start()
    yield service
    service.stop()


@pytest.fixture
def table_name() -> str:
    return "t" + secrets.token_hex(8)
