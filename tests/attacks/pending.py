"""Attacks whose fix is still to come in ``tcp/``, in one place.

Each test that checks such a fix is marked ``@pending("NAME")``: a strict xfail that
fails only by an assertion about what synack does, so it turns into a failure ("XPASS
strict") the moment the fix lands, and the mark must then be removed. ``grep -rn
'pending("' tests/attacks`` lists them.
"""

from __future__ import annotations

import pytest

#: fix -> what synack should do once it lands
FIXES = {
    "mss-floor": "a peer's MSS of 0 or 1 is raised to a floor (Linux's tcp_min_snd_mss is 48), "
                 "so synack never cuts its data into 1-octet segments (CVE-2019-11479 class)",
    "must-63": "RFC 9293 §3.9.2.3 MUST-63 and MUST-57: a SYN from a broadcast, multicast, unspecified or "
               "loopback source, or from synack's own address (LAND), is ignored: no SYN,ACK, no SYN-RECEIVED",
    "oow-ack-rate-limit": "segments outside the window (old data, an ACK beyond SND.NXT or far below "
                          "SND.UNA) are answered with an ACK at most once per 500 ms per connection, "
                          "as Linux's tcp_invalid_ratelimit",
    "ooo-bound": "bounded work per segment: the out-of-order queue holds a bounded number of segments "
                 "(at most 512 one-octet segments at the default 64 KiB receive buffer) and drops the "
                 "newest beyond it, counted and traced",
}


def pending(fix: str) -> pytest.MarkDecorator:
    """Strict xfail until ``fix`` lands in tcp/ (see FIXES)."""
    return pytest.mark.xfail(strict=True, raises=AssertionError, reason=f"pending fix in tcp/: {fix}: {FIXES[fix]}")
