"""Fixtures of the local stand-ins' tests."""
from __future__ import annotations

import pytest

from pixelate.local import moto_server


@pytest.fixture(scope="module")
def moto():
    """A moto server of the module's own (its tests share its queues and buckets)."""
    server = moto_server.start()
    yield server
    server.stop()
