"""SYN cookies as values (RFC 4987 §3.6, tcp/cookies.py): what a cookie carries, what it
refuses, and how long it lives. The listener that uses them is tested in
tests/stack/test_syn_flood.py."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synack.tcp.cookies import MSS_TABLE, PERIOD, CookieOptions, SynCookies, mss_index
from synack.timeunits import sec
from synack.wire.seq import Seq

SECRET = bytes(range(32))
CID = ("10.0.0.2", 80, "10.0.0.1", 40000)
IRS = Seq(123456789)


@pytest.fixture
def sc() -> SynCookies:
    return SynCookies(SECRET)


OPTIONS = [
    CookieOptions(1460),
    CookieOptions(1460, 7, True, True),
    CookieOptions(1460, 7, True, False),
    CookieOptions(536, None, False, True),
    CookieOptions(1440, 14, False, False),
    CookieOptions(1220, 0, True, True),
]


@pytest.mark.parametrize("opts", OPTIONS, ids=str)
def test_a_cookie_returns_what_the_client_offered(sc, opts):
    """MSS, window scale, SACK-permitted and timestamps all survive the round trip, with
    and without timestamps (where the option bits travel in TSval)."""
    now = sec(1000)
    iss = sc.make(CID, IRS, opts, now)
    tsecr = sc.tsval(987654321, opts) if opts.timestamps else None
    assert sc.check(CID, IRS, iss, now + sec(3), tsecr) == opts


def test_tsval_keeps_the_option_bits_low_and_never_runs_ahead(sc):
    """Linux's encoding (cookie_init_timestamp): low 6 bits, not above the real TSval."""
    opts = CookieOptions(1460, 9, True, True)
    for real in (0, 63, 64, 1000, 2**32 - 1):
        ts = sc.tsval(real, opts)
        assert ts & 0x3F == 9 | 0x10
        assert (real - ts) % 2**32 < 64   # at most 63 ticks behind, modulo 2**32


@pytest.mark.parametrize("what", ["local port", "remote addr", "irs", "iss bit", "tsecr bit"])
def test_a_changed_field_fails_the_check(sc, what):
    opts = CookieOptions(1460, 7, True, True)
    now = sec(50)
    iss = sc.make(CID, IRS, opts, now)
    tsecr = sc.tsval(5000, opts)
    cid, irs = CID, IRS
    if what == "local port":
        cid = (CID[0], 81, CID[2], CID[3])
    elif what == "remote addr":
        cid = (CID[0], CID[1], "10.0.0.9", CID[3])
    elif what == "irs":
        irs = IRS + 1
    elif what == "iss bit":
        iss = Seq(iss ^ 1)
    else:
        tsecr ^= 0x10  # claim SACK was not offered: the MAC covers the option bits
    assert sc.check(cid, irs, iss, now, tsecr) is None


def test_without_timestamps_an_ack_that_claims_them_fails(sc):
    opts = CookieOptions(1460, 7, True, False)
    iss = sc.make(CID, IRS, opts, sec(5))
    assert sc.check(CID, IRS, iss, sec(5), tsecr=7 | 0x10) is None


def test_a_different_secret_refuses_the_cookie(sc):
    opts = CookieOptions(1460)
    iss = sc.make(CID, IRS, opts, 0)
    assert SynCookies(bytes(32)).check(CID, IRS, iss, 0) is None


def test_a_cookie_lives_one_period_more_then_expires(sc):
    """RFC 4987 §3.6: the counter t limits replay; here, valid in its own 64 s period and
    the next."""
    opts = CookieOptions(1460)
    made = PERIOD * 10 + sec(63)
    iss = sc.make(CID, IRS, opts, made)
    assert sc.check(CID, IRS, iss, made + sec(1)) == opts          # next period
    assert sc.check(CID, IRS, iss, PERIOD * 11 + PERIOD - 1) == opts
    assert sc.check(CID, IRS, iss, PERIOD * 12) is None             # two periods on
    assert sc.check(CID, IRS, iss, PERIOD * 9) is None              # from the past


def test_the_mss_rounds_down_to_the_table():
    assert MSS_TABLE[mss_index(1460)] == 1460
    assert MSS_TABLE[mss_index(1459)] == 1440
    assert MSS_TABLE[mss_index(9000)] == 8960
    assert MSS_TABLE[mss_index(50)] == 88
    assert list(MSS_TABLE) == sorted(MSS_TABLE) and len(MSS_TABLE) == 8


def test_the_secret_is_checked_and_hidden():
    with pytest.raises(ValueError, match="secret must be 16..64 bytes"):
        SynCookies(b"short")
    with pytest.raises(TypeError):
        SynCookies("not bytes")  # type: ignore[arg-type]
    assert "secret=<hidden>" in repr(SynCookies(SECRET))


@settings(max_examples=300, deadline=None)
@given(cookie=st.integers(0, 2**32 - 1), irs=st.integers(0, 2**32 - 1),
       tsecr=st.one_of(st.none(), st.integers(0, 2**32 - 1)))
def test_random_acks_are_almost_never_valid_cookies(cookie, irs, tsecr):
    """A forger without the secret: a random ACK passes with probability about 2**-20 *
    2/16; 300 tries find none (and check never raises)."""
    assert SynCookies(SECRET).check(CID, Seq(irs), Seq(cookie), sec(100), tsecr) is None


def test_forgery_rate_is_about_what_the_layout_promises(sc):
    """Counting: of 200,000 guesses of the ISS (with the right period bits), how many pass?
    The MAC has 20 bits without timestamps: expect about 0.2."""
    now = sec(10)
    t = (now // PERIOD) & 0xF
    hits = sum(1 for g in range(200_000)
               if sc.check(CID, IRS, Seq((t << 28) | (g * 2654435761 % (1 << 28))), now) is not None)
    assert hits <= 3
