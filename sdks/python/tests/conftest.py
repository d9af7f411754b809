from __future__ import annotations

import re
from typing import Iterator

import pytest
from stand_in import StandIn

from herald_sdk import AsyncHerald, Herald

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
API_KEY = "hk_test_0123456789abcdef"


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    server = StandIn().start()
    yield server
    server.stop()


def fast_client(stand_in: StandIn, **settings) -> Herald:
    """A client of the stand-in whose retries wait milliseconds."""
    options = dict(initial_retry_delay=0.01, max_retry_delay=0.02, timeout=5.0)
    options.update(settings)
    return Herald(API_KEY, base_url=stand_in.url, **options)


def fast_async_client(stand_in: StandIn, **settings) -> AsyncHerald:
    options = dict(initial_retry_delay=0.01, max_retry_delay=0.02, timeout=5.0)
    options.update(settings)
    return AsyncHerald(API_KEY, base_url=stand_in.url, **options)


@pytest.fixture
def client(stand_in: StandIn) -> Iterator[Herald]:
    with fast_client(stand_in) as c:
        yield c
