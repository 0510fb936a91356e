"""Fixtures for the real-kernel tests. Each test gets its own network namespace with a TUN
device: Linux's TCP at 10.99.0.1 (fd00:99::1) on one side, synack at 10.99.0.2 (fd00:99::2) on
the other, and a capture of the device that must show no malformed packet and no checksum
error when the test ends."""

from __future__ import annotations

import secrets
import socket
import subprocess

import pytest
from kernel_helpers import (KERNEL_ADDR, KERNEL_ADDR6, PREFIX, PREFIX6, Capture, ImpairedLink, Impairment, Netns,
                            skip_or_fail_without_kernel)

from synack.api.realtime import Stack
from synack.link.driver import real_host
from synack.link.tun import TunLink


#: the beds a test can ask for: (synack's address/prefix, the kernel's address, offloads)
BEDS = {
    "offload": (PREFIX, KERNEL_ADDR, True),
    "no-offload": (PREFIX, KERNEL_ADDR, False),
    "ipv6": (PREFIX6, KERNEL_ADDR6, True),
}


class Bed:
    """What a kernel test works with."""

    def __init__(self, ns: Netns, stack: Stack, dev: str, capture: Capture, kind: str) -> None:
        self.ns = ns
        self.stack = stack
        self.dev = dev
        self.capture = capture
        self.kind = kind
        prefix, self.kernel_addr, self.offload = BEDS[kind]
        self.synack_addr = prefix.split("/")[0]
        self.v6 = ":" in self.kernel_addr
        self.family = socket.AF_INET6 if self.v6 else socket.AF_INET
        #: set by tests that impair the kernel's side with netem corrupt: only synack's
        #: own packets must then be well formed
        self.only_check_synack = False

    def socket(self) -> socket.socket:
        """A kernel TCP socket of the bed's address family, inside the namespace."""
        return self.ns.socket(self.family)

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


def _bed(netns, tmp_path, kind: str, snaplen: int = 0):
    dev = f"sk{secrets.token_hex(3)}"
    prefix, _, offload = BEDS[kind]
    tun, own, _ = TunLink.create(prefix, name=dev, netns=netns.name, offload=offload)
    assert tun.features.vnet_hdr is offload, tun.features
    stack = Stack(real_host(own), ImpairedLink(tun))
    capture = None
    try:
        capture = Capture(netns, dev, str(tmp_path / f"{dev}.pcap"), snaplen)
        bed = Bed(netns, stack, dev, capture, kind)
        yield bed
    finally:
        stack.close()
        if capture is not None:
            capture.stop()
    bad = capture.bad(only_from=bed.synack_addr if bed.only_check_synack else None)
    assert not bad, "the capture shows malformed packets or checksum errors:\n" + "\n".join(bad[:20])


@pytest.fixture(params=["offload", "no-offload"])
def bed(netns, tmp_path, request):
    """Namespace + TUN + synack Stack (blocking API) + full capture; with the TUN offloads
    on (super-segments both ways) and off (wire-sized packets). ``ipv6`` (by indirect
    parametrisation) is the same over IPv6, offloads on."""
    yield from _bed(netns, tmp_path, request.param)


@pytest.fixture(params=["offload", "no-offload"])
def bulk_bed(netns, tmp_path, request):
    """The same, capturing headers only (for the 50 MB transfers)."""
    yield from _bed(netns, tmp_path, request.param, snaplen=128)
