"""How the TUN link negotiates its offloads, against a scripted kernel (no root): it asks
for everything, settles for what the kernel grants, and says in its note what it lost.
The ioctls are answered by a fake that refuses what a given kernel would refuse."""

from __future__ import annotations

import errno
import struct

import pytest

from synack.link import tun


class FakeKernel:
    """Answers TUNGETFEATURES, TUNSETIFF, TUNSETVNETHDRSZ and TUNSETOFFLOAD like a kernel
    that knows ``features`` and accepts the offload flag sets in ``accepts``."""

    def __init__(self, features: int, accepts: set) -> None:
        self.features, self.accepts = features, accepts
        self.offloads: list = []
        self.iff = None

    def ioctl(self, fd, request, arg=0):
        if request == tun.TUNGETFEATURES:
            return struct.pack("I", self.features)
        if request == tun.TUNSETIFF:
            name, flags = struct.unpack_from("16sH", arg)
            self.iff = flags
            return struct.pack("16sH22x", b"sk0", flags)
        if request == tun.TUNSETVNETHDRSZ:
            return arg
        if request == tun.TUNSETOFFLOAD:
            self.offloads.append(arg)
            if arg not in self.accepts:
                raise OSError(errno.EINVAL, "Invalid argument")
            return 0
        raise AssertionError(f"unexpected ioctl {request:#x}")


ALL = tun.TUN_F_CSUM | tun.TUN_F_TSO4 | tun.TUN_F_TSO6 | tun.TUN_F_TSO_ECN


@pytest.fixture
def kernel(monkeypatch):
    def make(features: int = 0x7173, accepts: set | None = None) -> FakeKernel:
        k = FakeKernel(features, accepts if accepts is not None else {ALL, 0})
        monkeypatch.setattr(tun.fcntl, "ioctl", k.ioctl)
        return k
    return make


def test_everything_granted(kernel):
    k = kernel()
    name, f = tun._setup(-1, "sk%d", None, True, 1500)
    assert name == "sk0" and k.iff == tun.IFF_TUN | tun.IFF_NO_PI | tun.IFF_VNET_HDR
    assert k.offloads == [ALL]
    assert f.describe() == "offloads on (csum, tso4, tso6, tso-ecn, gso out)" and f.note is None


def test_a_kernel_without_tso_ecn_gets_the_rest(kernel):
    k = kernel(accepts={tun.TUN_F_CSUM | tun.TUN_F_TSO4 | tun.TUN_F_TSO6, 0})
    _, f = tun._setup(-1, "sk%d", None, True, 1500)
    assert k.offloads == [ALL, ALL & ~tun.TUN_F_TSO_ECN]
    assert (f.rx_gso, f.tso_ecn, f.gso) == (True, False, True)
    assert f.note == "the kernel refused TUNSETOFFLOAD tso-ecn (Invalid argument); running without"


def test_a_kernel_with_checksums_only(kernel):
    kernel(accepts={tun.TUN_F_CSUM, 0})
    _, f = tun._setup(-1, "sk%d", None, True, 1500)
    assert f.describe() == "offloads on (csum, gso out)"
    assert f.note == "the kernel refused TUNSETOFFLOAD tso4, tso6, tso-ecn (Invalid argument); running without"


def test_a_kernel_without_the_virtio_header_runs_without_offloads(kernel):
    k = kernel(features=0x7173 & ~tun.IFF_VNET_HDR)
    _, f = tun._setup(-1, "sk%d", None, True, 1500)
    assert k.iff == tun.IFF_TUN | tun.IFF_NO_PI
    assert k.offloads == [0]           # a reused device loses an earlier owner's offloads
    assert f.describe() == "offloads off"
    assert f.note == "this kernel's TUN has no IFF_VNET_HDR: offloads off, one packet per write"


def test_offload_off_asks_for_nothing(kernel):
    k = kernel()
    _, f = tun._setup(-1, "sk%d", None, False, 1500)
    assert k.iff == tun.IFF_TUN | tun.IFF_NO_PI and k.offloads == [0]
    assert f.describe() == "offloads off" and f.note is None


@pytest.mark.parametrize("text, on", [("on", True), ("ON", True), ("off", False), ("0", False)])
def test_the_switch(text, on):
    assert tun.check_offload(text) is on


def test_a_bad_switch_names_the_option():
    with pytest.raises(ValueError, match="--offload: 'sometimes' is not on or off"):
        tun.check_offload("sometimes")
