"""Fixtures of the attack suite: one arena (namespace, TUN device, synack's echo server,
capture, sniffer) per test module, and a fresh bystander connection per test that must
echo before the attack and after it."""

from __future__ import annotations

import pytest
from attack_helpers import Arena, Bystander, skip_or_fail_without_arena


@pytest.fixture(scope="module")
def arena(tmp_path_factory):
    skip_or_fail_without_arena()
    a = Arena(str(tmp_path_factory.mktemp("arena")))
    try:
        yield a
    except BaseException:
        a.close()
        raise
    a.check_and_close()


@pytest.fixture
def bystander(arena):
    """A kernel connection to synack's echo server, checked before and after the test."""
    b = Bystander(arena)
    b.echo()
    yield b
    try:
        b.stop()
        b.echo()  # still working once the attack is over
    finally:
        b.close()
