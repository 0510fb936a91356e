"""Attacks whose fix is still to come in ``tcp/``, in one place.

Each test that checks such a fix is marked ``@pending("NAME")``: a strict xfail that
fails only by an assertion about what synack does, so it turns into a failure ("XPASS
strict") the moment the fix lands, and the mark must then be removed. ``grep -rn
'pending("' tests/attacks`` lists them.
"""

from __future__ import annotations

import pytest

#: fix -> what synack should do once it lands (none today: the bounded out-of-order queue,
#: the MSS floor, MUST-63 and the out-of-window ACK rate limit landed and their tests pass)
FIXES: dict[str, str] = {}


def pending(fix: str) -> pytest.MarkDecorator:
    """Strict xfail until ``fix`` lands in tcp/ (see FIXES)."""
    return pytest.mark.xfail(strict=True, raises=AssertionError, reason=f"pending fix in tcp/: {fix}: {FIXES[fix]}")
