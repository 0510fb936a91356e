"""Fixtures of the one-endpoint tests (helpers live in harness.py)."""

from __future__ import annotations

import pytest
from harness import ISN_PAIRS


@pytest.fixture(params=ISN_PAIRS)
def isns(request):
    """(ISS, IRS): once as in the RFC figures, once near 2**32."""
    return request.param
