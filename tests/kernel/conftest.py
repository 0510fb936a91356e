"""Fixtures for the real-kernel tests. Each test gets its own network namespace with a TUN
device: Linux's TCP at 10.99.0.1 on one side, synack at 10.99.0.2 on the other, and a
capture of the device that must show no malformed packet when the test ends."""

from __future__ import annotations

import secrets
import subprocess

import pytest
from kernel_helpers import PREFIX, Capture, ImpairedLink, Impairment, Netns, skip_or_fail_without_kernel

from synack.api.realtime import Stack
from synack.link.driver import real_host
from synack.link.tun import TunLink


class Bed:
    """What a kernel test works with."""

    def __init__(self, ns: Netns, stack: Stack, dev: str, capture: Capture) -> None:
        self.ns = ns
        self.stack = stack
        self.dev = dev
        self.capture = capture
        #: set by tests that impair the kernel's side with netem corrupt: only synack's
        #: own packets must then be well formed
        self.only_check_synack = False

    def netem(self, spec: str) -> str:
        """Impair the path as ``tc qdisc add dev TUN root netem SPEC`` does. Where this
        kernel has no netem (CONFIG_NET_SCH_NETEM unset), synack's side of the device
        applies the same loss, delay, reordering, duplication and corruption to both
        directions instead. Returns "netem" or "synack-side"."""
        r = self.ns.run("tc", "qdisc", "add", "dev", self.dev, "root", "netem", *spec.split(), check=False)
        if r.returncode == 0:
            self.only_check_synack = True  # netem corrupts the kernel's packets on purpose
            return "netem"
        if "unknown" not in r.stderr:
            raise subprocess.CalledProcessError(r.returncode, r.args, r.stdout, r.stderr)
        w = spec.split()
        pct = lambda k: float(w[w.index(k) + 1].rstrip("%")) / 100  # noqa: E731
        delay = float(w[w.index("delay") + 1].rstrip("ms")) / 1000
        self.stack.link.impairment = Impairment(pct("loss"), delay, pct("reorder"), pct("duplicate"),
                                                pct("corrupt"), seed=len(self.dev))
        return "synack-side"


@pytest.fixture
def netns():
    skip_or_fail_without_kernel()
    ns = Netns()
    try:
        yield ns
    finally:
        ns.delete()


def _bed(netns, tmp_path, snaplen: int = 0):
    dev = f"sk{secrets.token_hex(3)}"
    tun, own, _ = TunLink.create(PREFIX, name=dev, netns=netns.name)
    stack = Stack(real_host(own), ImpairedLink(tun))
    capture = None
    try:
        capture = Capture(netns, dev, str(tmp_path / f"{dev}.pcap"), snaplen)
        bed = Bed(netns, stack, dev, capture)
        yield bed
    finally:
        stack.close()
        if capture is not None:
            capture.stop()
    bad = capture.bad(only_from="10.99.0.2" if bed.only_check_synack else None)
    assert not bad, "the capture shows malformed packets or checksum errors:\n" + "\n".join(bad[:20])


@pytest.fixture
def bed(netns, tmp_path):
    """Namespace + TUN + synack Stack (blocking API) + full capture."""
    yield from _bed(netns, tmp_path)


@pytest.fixture
def bulk_bed(netns, tmp_path):
    """The same, capturing headers only (for the 50 MB transfers)."""
    yield from _bed(netns, tmp_path, snaplen=96)
