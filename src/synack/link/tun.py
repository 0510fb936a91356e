"""A Linux TUN device as a synack link: the kernel on one side, a synack Host on the other.

``/dev/net/tun`` is opened with ``IFF_TUN | IFF_NO_PI``: every ``read()`` returns one IP
packet the kernel routed to the device, every ``write()`` injects one IP packet into the
kernel's stack as if it had arrived on that interface. The interface is configured with
iproute2 (``ip addr``, ``ip link``): the kernel side of the device gets an address (the
*peer* address) and a route to the prefix, and synack's Host owns another address of the
same prefix, so the kernel reaches synack through the device.

Network namespaces
    ``TunLink.open(..., netns="NAME")`` creates the device inside the network namespace
    ``NAME`` (made with ``ip netns add NAME``) without moving the calling process there: the
    ``open()`` and ``TUNSETIFF`` run in a short-lived thread that entered the namespace with
    ``setns(2)`` (through ctypes: ``os.setns`` needs Python 3.12). A tun device belongs to
    the namespace current when it was opened, and its file descriptor keeps working from
    any thread afterwards. :func:`netns_socket` makes kernel sockets inside a namespace the
    same way, for tests and benchmarks.

Offloads (:class:`LinkFeatures`), on by default
    ``offload="on"`` (the default) opens the device with ``IFF_VNET_HDR`` and asks for
    ``TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)``; where the kernel
    refuses a flag the link asks for less (down to no header at all) and says so in one
    log line (``features.note``). Every packet then carries a 10-byte virtio-net header
    (``synack.link.vnet``):

    * receive: the kernel hands over TSO super-segments of up to 64 KB and TCP checksums it
      never computed (``NEEDS_CSUM``); the link gives each super-segment to the Host as one
      segment and tells it the checksum needs no verification;
    * send: a packet larger than the MTU, and a run of consecutive segments of one flow
      from one flush, go out as one GSO write that the kernel splits into wire segments.

    ``offload="off"`` opens the device without the header: the kernel sends and receives
    wire-sized, fully checksummed packets only, and tcpdump on the device shows what a
    wire would carry.

Batches
    Each wake-up reads up to :data:`READ_BATCH` packets into one buffer that lives as long
    as the device, and the driver answers the whole batch with one flush. A tun device has
    no sendmmsg or recvmmsg: it is one packet per syscall, which is why merging segments
    into GSO writes pays. ``IFF_MULTI_QUEUE`` is not used: it spreads a device's packets
    over several file descriptors for several readers, and synack's Host is one Python
    thread, so more queues would only add syscalls.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import ipaddress
import logging
import os
import shutil
import struct
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .vnet import (
    F_DATA_VALID,
    F_NEEDS_CSUM,
    GSO_NONE,
    GSO_TCPV4,
    GSO_TCPV6,
    VNET_HDR,
    VNET_HDR_LEN,
    complete_checksum,
    gso_split,
    plan_writes,
)

__all__ = ["TunLink", "TunError", "LinkFeatures", "missing", "addresses", "in_netns", "netns_socket",
           "netns_path", "ip", "check_offload", "complete_checksum", "gso_split", "VNET_HDR", "VNET_HDR_LEN"]

# --------------------------------------------------------------------- kernel interface
# <linux/if_tun.h>: _IOW('T', nr, int) = 0x40045400 | nr, _IOR = 0x80045400 | nr
TUNSETIFF = 0x400454CA
TUNSETPERSIST = 0x400454CB
TUNGETFEATURES = 0x800454CF
TUNSETOFFLOAD = 0x400454D0
TUNSETVNETHDRSZ = 0x400454D8

IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000

TUN_F_CSUM = 0x01
TUN_F_TSO4 = 0x02
TUN_F_TSO6 = 0x04
TUN_F_TSO_ECN = 0x08

# the header itself lives in vnet.py; these names stay importable from here
VIRTIO_NET_HDR_F_NEEDS_CSUM = F_NEEDS_CSUM
VIRTIO_NET_HDR_F_DATA_VALID = F_DATA_VALID
VIRTIO_NET_HDR_GSO_NONE = GSO_NONE
VIRTIO_NET_HDR_GSO_TCPV4 = GSO_TCPV4
VIRTIO_NET_HDR_GSO_TCPV6 = GSO_TCPV6

_IFREQ = struct.Struct("16sH22x")
CLONE_NEWNET = 0x40000000
TUN_PATH = "/dev/net/tun"
#: packets read per wake-up at most, so that timers and the application get their turn
#: (the driver delivers at most 16 of each flow at once, link/fair.py: reading more is
#: what lets a connection's segment past a flood that has filled the device's queue)
READ_BATCH = 256
#: octets read per wake-up at most (super-segments are 64 KB): the batch is answered (its
#: ACKs written) before the next is read, so the kernel keeps sending while synack works
READ_BYTES = 256 * 1024
#: the device's transmit queue (kernel -> synack), in packets. Linux gives a tun 500; a
#: burst of a thousand connecting clients, each with a SYN and then a window of data,
#: overflows that while synack is busy, and every drop costs a retransmission timeout.
TX_QUEUE_LEN = 10000
#: what each offload flag is called in messages
_OFFLOAD_NAMES = ((TUN_F_CSUM, "csum"), (TUN_F_TSO4, "tso4"), (TUN_F_TSO6, "tso6"), (TUN_F_TSO_ECN, "tso-ecn"))
#: TUNSETOFFLOAD flag sets to try, most first: TSO needs CSUM (EINVAL otherwise)
_OFFLOAD_TRIES = (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6,
                  TUN_F_CSUM, 0)

log = logging.getLogger(__name__)


class TunError(OSError):
    """Setting up the TUN device failed; the message says what to do about it."""

    def __str__(self) -> str:
        return self.strerror or super().__str__()


@dataclass
class LinkFeatures:
    """What a link does for the Host, so that ``tcp/`` never needs to know.

    ``mtu``: the largest IP packet the wire carries (the Host's MSS follows from it).
    ``vnet_hdr``: packets carry a virtio-net header (IFF_VNET_HDR).
    ``rx_checksum``: the kernel may send partial checksums (TUN_F_CSUM); the link vouches for them.
    ``rx_gso``: the kernel may send TSO super-segments (TUN_F_TSO4/6); the Host takes them whole.
    ``tso_ecn``: super-segments may carry CWR (TUN_F_TSO_ECN).
    ``gso``: the link accepts IP packets larger than ``mtu`` (up to ``gso_max_size``) from the
    Host and has the kernel split them, and merges runs of one flow's segments into such writes.
    ``note``: why the link has fewer offloads than it asked for (None when it got them all).
    """

    mtu: int = 1500
    vnet_hdr: bool = False
    rx_checksum: bool = False
    rx_gso: bool = False
    tso_ecn: bool = False
    gso: bool = False
    note: str | None = None

    @property
    def gso_max_size(self) -> int:
        """The largest IP packet the Host may hand this link."""
        return 65535 if self.gso else self.mtu

    def offload_flags(self) -> int:
        flags = 0
        if self.rx_checksum or self.rx_gso:
            flags |= TUN_F_CSUM  # TSO without CSUM is EINVAL
        if self.rx_gso:
            flags |= TUN_F_TSO4 | TUN_F_TSO6
            if self.tso_ecn:
                flags |= TUN_F_TSO_ECN
        return flags

    def describe(self) -> str:
        """``offloads on (csum, tso4, tso6, tso-ecn; gso out)`` or ``offloads off``."""
        if not self.vnet_hdr:
            return "offloads off"
        got = [name for bit, name in _OFFLOAD_NAMES if self.offload_flags() & bit]
        if self.gso:
            got.append("gso out")
        return f"offloads on ({', '.join(got)})"

    @classmethod
    def from_offload_flags(cls, mtu: int, flags: int, note: str | None = None) -> LinkFeatures:
        return cls(mtu=mtu, vnet_hdr=True, rx_checksum=bool(flags & TUN_F_CSUM),
                   rx_gso=bool(flags & (TUN_F_TSO4 | TUN_F_TSO6)), tso_ecn=bool(flags & TUN_F_TSO_ECN),
                   gso=True, note=note)


def check_offload(value: str) -> bool:
    """``--offload on|off`` as a bool; ValueError naming the option otherwise."""
    v = str(value).strip().lower()
    if v in ("on", "yes", "true", "1"):
        return True
    if v in ("off", "no", "false", "0"):
        return False
    raise ValueError(f"--offload: {value!r} is not on or off")


# --------------------------------------------------------------------- availability
def _net_admin() -> bool:
    """Does this process hold CAP_NET_ADMIN (bit 12 of its effective set)? Root in a
    container, or under setpriv, may not; where /proc cannot say, root is taken to."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> 12 & 1)
    except (OSError, ValueError, IndexError):
        pass
    return os.geteuid() == 0


def missing() -> str | None:
    """Why a TUN device cannot be created here, in one line, or None if it can."""
    if not _net_admin():
        return "creating a TUN device needs root (CAP_NET_ADMIN)"
    if not os.path.exists(TUN_PATH):
        return f"{TUN_PATH} does not exist (no TUN support in this kernel or container)"
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not installed"
    return None


# --------------------------------------------------------------------- namespaces
_libc: Any = None


def _setns(path: str) -> None:
    """Move the calling *thread* into the network namespace at ``path`` (setns(2))."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, f"setns({path}): {os.strerror(e)}")
    finally:
        os.close(fd)


def netns_path(name: str) -> str:
    """Where ``ip netns add NAME`` keeps namespace ``name``; TunError if it does not exist."""
    if not name or "/" in name or name in (".", ".."):
        raise TunError(errno.EINVAL, f"--netns: {name!r} is not a namespace name")
    path = f"/var/run/netns/{name}"
    if not os.path.exists(path):
        raise TunError(errno.ENOENT, f"network namespace {name!r} does not exist "
                                     f"(create it with: ip netns add {name})")
    return path


def in_netns(netns: str | None, fn: Callable[[], Any]) -> Any:
    """``fn()`` run by a thread inside network namespace ``netns`` (None: right here).

    Whatever ``fn`` creates there (a tun device, a socket) stays in that namespace and is
    usable from every thread afterwards; the calling thread itself never moves.
    """
    if netns is None:
        return fn()
    path = netns_path(netns)
    box: dict = {}

    def run() -> None:
        try:
            _setns(path)
            box["value"] = fn()
        except BaseException as e:  # handed back to the caller
            box["error"] = e

    t = threading.Thread(target=run, name=f"netns-{netns}")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def netns_socket(netns: str | None, family: int = 2, type: int = 1) -> Any:
    """A kernel ``socket.socket`` created inside network namespace ``netns``."""
    import socket

    return in_netns(netns, lambda: socket.socket(family, type))


# --------------------------------------------------------------------- iproute2
def ip(*args: str, netns: str | None = None, check: bool = True) -> str:
    """Run ``ip [-n NETNS] ARGS...``; TunError with ip's own message on failure."""
    cmd = ["ip"] + (["-n", netns] if netns else []) + list(args)
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except FileNotFoundError:
        raise TunError(errno.ENOENT, "the `ip` command (iproute2) is not installed") from None
    if check and r.returncode != 0:
        raise TunError(errno.EIO, f"`{' '.join(cmd)}` failed: {r.stderr.strip() or r.stdout.strip()}")
    return r.stdout


def addresses(addr: str, peer_addr: str | None = None) -> tuple[str, str, int]:
    """``"10.99.0.2/24"`` -> (synack's address, the kernel's address, prefix length).

    The kernel side gets the first host address of the prefix (the next one if synack
    took the first), unless ``peer_addr`` names it. ValueError names the bad argument.
    """
    try:
        iface = ipaddress.ip_interface(addr)
    except ValueError:
        raise ValueError(f"--addr: {addr!r} is not ADDRESS/PREFIX (for example 10.99.0.2/24)") from None
    if "/" not in addr:
        raise ValueError(f"--addr: {addr!r} needs a prefix length (for example {addr}/24)")
    net = iface.network
    own = iface.ip
    if net.num_addresses < 4 and net.prefixlen not in (31, 127):
        raise ValueError(f"--addr: the prefix of {addr} is too small for two hosts")
    peer: Any
    if peer_addr is not None:
        try:
            peer = ipaddress.ip_address(peer_addr)
        except ValueError:
            raise ValueError(f"--peer-addr: {peer_addr!r} is not an IP address") from None
        if peer.version != own.version:
            raise ValueError(f"--peer-addr: {peer} is not in the address family of {own}")
    else:
        hosts = net.hosts()
        peer = next(hosts)
        if peer == own:
            peer = next(hosts)
    if peer == own:
        raise ValueError(f"--peer-addr: {peer} is synack's own address")
    return str(own), str(peer), net.prefixlen


# --------------------------------------------------------------------- the link
class TunLink:
    """One TUN device: an fd that reads and writes IP packets, and its interface name.

    Link interface used by :class:`synack.link.driver.Driver`: ``features``,
    ``start(loop, receive)``, ``send(packets)``, ``close()``. ``receive(batch, checksum_ok)``
    gets each batch of packets read in one wake-up; ``checksum_ok`` lists, per packet,
    whether the kernel vouched for its TCP checksum (``NEEDS_CSUM`` or ``DATA_VALID``).
    """

    def __init__(self, fd: int, name: str, features: LinkFeatures, netns: str | None = None) -> None:
        self.fd = fd
        self.name = name
        self.features = features
        self.netns = netns
        #: packets read, super-segments among them, packets dropped as unreadable
        self.rx_packets = self.rx_super = self.rx_dropped = 0
        #: packets handed to send(), write() calls made, packets merged into GSO writes, errors
        self.tx_packets = self.tx_writes = self.tx_merged = self.tx_errors = 0
        #: when a list: one (src, dst, src port, dst port, seq, position, run length, octets,
        #: gso_size) per packet merged into a GSO write, for captures (synack.link.capture)
        self.merge_log: list | None = None
        #: octets read per wake-up at most (see READ_BYTES)
        self.read_bytes = READ_BYTES
        self._loop: Any = None
        self._receive: Callable[..., None] | None = None
        self._hdr = VNET_HDR_LEN if features.vnet_hdr else 0
        # One read buffer for the device's lifetime: each packet is copied out of it once,
        # into the bytes object the Host parses.
        self._buf = bytearray(65535 + 64)
        self._view = memoryview(self._buf)
        self._hbuf = bytearray(VNET_HDR_LEN)
        self._iov = [self._hbuf, self._buf] if self._hdr else [self._buf]

    # ---- creation
    @classmethod
    def open(cls, name: str = "synack%d", *, netns: str | None = None,
             features: LinkFeatures | None = None, offload: bool = True, mtu: int = 1500) -> TunLink:
        """Create (or attach to) TUN device ``name`` — ``%d`` lets the kernel number it —
        in namespace ``netns``, non-blocking. The interface is not configured yet.

        ``offload`` (the default) asks for the virtio-net header and every offload, and
        settles for what the kernel grants (``features.note`` says what it refused);
        ``features`` instead demands exactly those features (TunError if refused)."""
        why = missing()
        if why is not None:
            raise TunError(errno.EPERM, why)
        if len(name.encode()) > 15:
            raise ValueError(f"--tun: interface name {name!r} is longer than 15 bytes")

        def make() -> tuple[int, str, LinkFeatures]:
            fd = os.open(TUN_PATH, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
            try:
                return (fd, *_setup(fd, name, features, offload, mtu))
            except OSError as e:
                os.close(fd)
                if isinstance(e, TunError):
                    raise
                raise TunError(e.errno, f"TUNSETIFF {name}: {os.strerror(e.errno or 0)}") from None

        fd, real, feats = in_netns(netns, make)
        if feats.note:
            log.warning("synack: %s: %s", real, feats.note)
        return cls(fd, real, feats, netns)

    @classmethod
    def create(cls, addr: str, *, name: str = "synack%d", peer_addr: str | None = None,
               netns: str | None = None, mtu: int = 1500, features: LinkFeatures | None = None,
               offload: bool = True, txqueuelen: int = TX_QUEUE_LEN) -> tuple[TunLink, str, str]:
        """Open the device and configure it: the kernel side gets the peer address of
        ``addr``'s prefix, the MTU and transmit queue are set, the link is up. Returns
        (link, own, peer)."""
        own, peer, plen = addresses(addr, peer_addr)
        if features is not None:
            features.mtu = mtu
        link = cls.open(name, netns=netns, features=features, offload=offload, mtu=mtu)
        try:
            link.configure(peer, plen, mtu, txqueuelen)
        except BaseException:
            link.close()
            raise
        return link, own, peer

    def configure(self, peer: str, prefixlen: int, mtu: int = 1500, txqueuelen: int = TX_QUEUE_LEN) -> None:
        """Give the kernel side ``peer/prefixlen``, set the MTU and the transmit queue,
        bring the link up (iproute2). IPv6 address autoconfiguration is off (no router
        solicitations) and the kernel's IPv6 address skips duplicate address detection,
        which would hold it back for a second on a link where nobody else can be."""
        n, ns = self.name, self.netns
        ip("link", "set", "dev", n, "addrgenmode", "none", netns=ns, check=False)
        nodad = ("nodad",) if ":" in peer else ()
        ip("addr", "replace", f"{peer}/{prefixlen}", "dev", n, *nodad, netns=ns)  # idempotent on a reused device
        ip("link", "set", "dev", n, "mtu", str(mtu), "txqueuelen", str(txqueuelen), "up", netns=ns)
        if ns is not None:
            ip("link", "set", "dev", "lo", "up", netns=ns, check=False)

    # ---- link interface
    def start(self, loop: Any, receive: Callable[..., None]) -> None:
        """Deliver arriving packets, in batches, to ``receive`` from ``loop``."""
        self._loop = loop
        self._receive = receive
        loop.add_reader(self.fd, self._readable)

    def _readable(self) -> None:
        readv = os.readv
        fd, iov, view, hdr = self.fd, self._iov, self._view, self._hdr
        batch: list = []
        if not hdr:
            for _ in range(READ_BATCH):
                try:
                    n = readv(fd, iov)
                except BlockingIOError:
                    break
                except OSError:
                    break  # the device went away; close() follows
                batch.append(bytes(view[:n]))
            if batch:
                self.rx_packets += len(batch)
                self._receive(batch, False)  # type: ignore[misc]
            return
        hbuf = self._hbuf
        vouched: list = []
        budget = self.read_bytes
        for _ in range(READ_BATCH):
            try:
                n = readv(fd, iov) - VNET_HDR_LEN
            except BlockingIOError:
                break
            except OSError:
                break
            if n <= 0:
                self.rx_dropped += 1
                continue
            # NEEDS_CSUM: the kernel's own packet, its checksum never computed (a TSO
            # super-segment always is one); DATA_VALID: verified on the way in.
            vouched.append(bool(hbuf[0] & (F_NEEDS_CSUM | F_DATA_VALID)))
            if hbuf[1] & 0x7F:
                self.rx_super += 1
            batch.append(bytes(view[:n]))
            budget -= n
            if budget <= 0:
                break
        if batch:
            self.rx_packets += len(batch)
            self._receive(batch, vouched)  # type: ignore[misc]

    def send(self, packets: list) -> None:
        """Write IP packets to the kernel (tun has no sendmmsg: one write per packet, or
        per GSO super-segment with offloads)."""
        fd = self.fd
        errors = 0
        if not self._hdr:
            write = os.write
            for pkt in packets:
                try:
                    write(fd, pkt)
                except OSError:
                    errors += 1  # dropped, as a full device queue would drop it
            writes = len(packets)
        else:
            f = self.features
            mlog: list | None = [] if self.merge_log is not None else None
            vecs = plan_writes(packets, f.mtu, f.tso_ecn, f.gso, mlog)
            writev = os.writev
            for v in vecs:
                try:
                    writev(fd, v)
                except OSError:
                    errors += 1
            writes = len(vecs)
            if writes != len(packets):
                self.tx_merged += len(packets) - writes
            if mlog:
                self._log_merges(packets, mlog)
        self.tx_packets += len(packets)
        self.tx_writes += writes
        self.tx_errors += errors

    def _log_merges(self, packets: list, mlog: list) -> None:
        from ..wire.ip import parse_packet

        out = self.merge_log
        for first, count, total, gso_size in mlog:
            for k in range(count):
                hdr, seg = parse_packet(packets[first + k], verify=False)
                out.append((hdr.src, hdr.dst, seg.src_port, seg.dst_port, int(seg.seq), k, count,  # type: ignore[union-attr]
                            total, gso_size))

    def close(self) -> None:
        if self.fd < 0:
            return
        if self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(self.fd)
        os.close(self.fd)
        self.fd = -1

    def stats(self) -> dict:
        return {"rx_packets": self.rx_packets, "rx_super": self.rx_super, "rx_dropped": self.rx_dropped,
                "tx_packets": self.tx_packets, "tx_writes": self.tx_writes, "tx_merged": self.tx_merged,
                "tx_errors": self.tx_errors}

    def __repr__(self) -> str:
        where = f" netns={self.netns}" if self.netns else ""
        return f"<TunLink {self.name}{where} fd={self.fd} {self.features.describe()}>"


def _setup(fd: int, name: str, features: LinkFeatures | None, offload: bool, mtu: int
           ) -> tuple[str, LinkFeatures]:
    """TUNSETIFF and the offload negotiation on a fresh ``/dev/net/tun`` fd."""
    if features is not None:  # exactly what the caller asked for
        flags = IFF_TUN | IFF_NO_PI | (IFF_VNET_HDR if features.vnet_hdr else 0)
        res = fcntl.ioctl(fd, TUNSETIFF, _IFREQ.pack(name.encode(), flags))
        if features.vnet_hdr:
            _vnet_size(fd)
        fcntl.ioctl(fd, TUNSETOFFLOAD, features.offload_flags())
        return res[:16].rstrip(b"\0").decode(), features
    note = None
    vnet = offload
    if vnet:
        try:
            supported = struct.unpack("I", fcntl.ioctl(fd, TUNGETFEATURES, struct.pack("I", 0)))[0]
        except OSError:
            supported = 0
        if not supported & IFF_VNET_HDR:
            vnet = False
            note = "this kernel's TUN has no IFF_VNET_HDR: offloads off, one packet per write"
    flags = IFF_TUN | IFF_NO_PI | (IFF_VNET_HDR if vnet else 0)
    res = fcntl.ioctl(fd, TUNSETIFF, _IFREQ.pack(name.encode(), flags))
    real = res[:16].rstrip(b"\0").decode()
    if not vnet:
        with contextlib.suppress(OSError):  # a reused device may keep an earlier owner's offloads
            fcntl.ioctl(fd, TUNSETOFFLOAD, 0)
        return real, LinkFeatures(mtu=mtu, note=note)
    _vnet_size(fd)
    refused: OSError | None = None
    for want in _OFFLOAD_TRIES:
        try:
            fcntl.ioctl(fd, TUNSETOFFLOAD, want)
        except OSError as e:
            refused = refused or e
            continue
        if want != _OFFLOAD_TRIES[0]:
            lost = ", ".join(n for bit, n in _OFFLOAD_NAMES if _OFFLOAD_TRIES[0] & bit and not want & bit)
            why = os.strerror(refused.errno or 0) if refused is not None else "refused"
            note = f"the kernel refused TUNSETOFFLOAD {lost} ({why}); running without"
        return real, LinkFeatures.from_offload_flags(mtu, want, note)
    raise TunError(errno.EINVAL, f"TUNSETOFFLOAD on {real} failed")  # even 0: not reached on Linux


def _vnet_size(fd: int) -> None:
    """The header is the 10-byte ``virtio_net_hdr`` (a reused device may say otherwise)."""
    with contextlib.suppress(OSError):
        fcntl.ioctl(fd, TUNSETVNETHDRSZ, struct.pack("i", VNET_HDR_LEN))
