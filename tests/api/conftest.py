"""Fixtures for the socket facade tests (helpers live in api_helpers.py)."""

from __future__ import annotations

import pytest
from api_helpers import connected_pair, make_net

from synack.link.sim import Network


@pytest.fixture
def net() -> Network:
    return make_net()


@pytest.fixture
def pair(net):
    return connected_pair(net)
