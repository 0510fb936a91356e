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

Offloads (:class:`LinkFeatures`)
    The link, not ``tcp/``, is where virtio-net offloads belong. With ``IFF_VNET_HDR`` every
    packet carries a 10-byte ``virtio_net_hdr``; the kernel may then hand us packets whose
    TCP checksum is only the pseudo-header sum (``NEEDS_CSUM``) and TSO super-segments of up
    to 64 KiB, and accepts the same from us. The Host only ever sees ordinary, complete IP
    packets no larger than its MTU:

    * receive: the link strips the header, completes a partial checksum
      (:func:`complete_checksum`) and, for a GSO packet, cuts it into ``gso_size`` segments
      (:func:`gso_split`) before the Host parses it;
    * send: the link may coalesce consecutive in-order segments of one flow into a GSO
      super-segment (``features.gso``); it writes every packet with a header saying "no
      offload" otherwise.

    ``vnet_hdr=True`` switches the header on; ``features`` says what is in use. The default
    is no header and no offload, which is what the conformance tests want: tcpdump on the
    device then shows wire-sized segments.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import ipaddress
import os
import shutil
import struct
import subprocess
import threading
from dataclasses import dataclass
from typing import Any, Callable, Optional

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

VIRTIO_NET_HDR_F_NEEDS_CSUM = 1
VIRTIO_NET_HDR_F_DATA_VALID = 2
VIRTIO_NET_HDR_GSO_NONE = 0
VIRTIO_NET_HDR_GSO_TCPV4 = 1
VIRTIO_NET_HDR_GSO_TCPV6 = 4

VNET_HDR = struct.Struct("<BBHHHH")  # flags, gso_type, hdr_len, gso_size, csum_start, csum_offset
VNET_HDR_LEN = VNET_HDR.size          # 10
_NO_OFFLOAD_HDR = VNET_HDR.pack(0, VIRTIO_NET_HDR_GSO_NONE, 0, 0, 0, 0)

_IFREQ = struct.Struct("16sH22x")
CLONE_NEWNET = 0x40000000
TUN_PATH = "/dev/net/tun"
#: packets read per wake-up at most, so that timers and the application get their turn
READ_BATCH = 64


class TunError(OSError):
    """Setting up the TUN device failed; the message says what to do about it."""

    def __str__(self) -> str:
        return self.strerror or super().__str__()


@dataclass
class LinkFeatures:
    """What a link does for the Host, so that ``tcp/`` never needs to know.

    ``mtu``: the largest IP packet the Host may send (its MSS follows from it).
    ``vnet_hdr``: packets carry a virtio-net header (IFF_VNET_HDR).
    ``rx_checksum``: the kernel may send partial checksums (TUN_F_CSUM); the link completes them.
    ``rx_gso``: the kernel may send TSO super-segments (TUN_F_TSO4/6); the link splits them.
    ``gso``: the link may merge our segments into GSO super-segments on write.
    """

    mtu: int = 1500
    vnet_hdr: bool = False
    rx_checksum: bool = False
    rx_gso: bool = False
    gso: bool = False

    def offload_flags(self) -> int:
        flags = 0
        if self.rx_checksum or self.rx_gso:
            flags |= TUN_F_CSUM  # TSO without CSUM is EINVAL
        if self.rx_gso:
            flags |= TUN_F_TSO4 | TUN_F_TSO6
        return flags


# --------------------------------------------------------------------- availability
def missing() -> Optional[str]:
    """Why a TUN device cannot be created here, in one line, or None if it can."""
    if os.geteuid() != 0:
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


def in_netns(netns: Optional[str], fn: Callable[[], Any]) -> Any:
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


def netns_socket(netns: Optional[str], family: int = 2, type: int = 1) -> Any:
    """A kernel ``socket.socket`` created inside network namespace ``netns``."""
    import socket

    return in_netns(netns, lambda: socket.socket(family, type))


# --------------------------------------------------------------------- iproute2
def ip(*args: str, netns: Optional[str] = None, check: bool = True) -> str:
    """Run ``ip [-n NETNS] ARGS...``; TunError with ip's own message on failure."""
    cmd = ["ip"] + (["-n", netns] if netns else []) + list(args)
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except FileNotFoundError:
        raise TunError(errno.ENOENT, "the `ip` command (iproute2) is not installed") from None
    if check and r.returncode != 0:
        raise TunError(errno.EIO, f"`{' '.join(cmd)}` failed: {r.stderr.strip() or r.stdout.strip()}")
    return r.stdout


def addresses(addr: str, peer_addr: Optional[str] = None) -> tuple[str, str, int]:
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
    ``start(loop, receive)``, ``send(packets)``, ``close()``.
    """

    def __init__(self, fd: int, name: str, features: LinkFeatures, netns: Optional[str] = None) -> None:
        self.fd = fd
        self.name = name
        self.features = features
        self.netns = netns
        self.rx_packets = self.tx_packets = self.tx_errors = self.rx_dropped = 0
        self._loop: Any = None
        self._receive: Optional[Callable[[list], None]] = None
        self._hdr = VNET_HDR_LEN if features.vnet_hdr else 0
        self._bufsize = self._hdr + 65535 + 64

    # ---- creation
    @classmethod
    def open(cls, name: str = "synack%d", *, netns: Optional[str] = None,
             features: Optional[LinkFeatures] = None) -> "TunLink":
        """Create (or attach to) TUN device ``name`` — ``%d`` lets the kernel number it —
        in namespace ``netns``, non-blocking. The interface is not configured yet."""
        why = missing()
        if why is not None:
            raise TunError(errno.EPERM, why)
        features = features or LinkFeatures()
        if len(name.encode()) > 15:
            raise ValueError(f"--tun: interface name {name!r} is longer than 15 bytes")
        flags = IFF_TUN | IFF_NO_PI | (IFF_VNET_HDR if features.vnet_hdr else 0)

        def make() -> tuple[int, str]:
            fd = os.open(TUN_PATH, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
            try:
                res = fcntl.ioctl(fd, TUNSETIFF, _IFREQ.pack(name.encode(), flags))
                if features.vnet_hdr:
                    fcntl.ioctl(fd, TUNSETOFFLOAD, features.offload_flags())
            except OSError as e:
                os.close(fd)
                raise TunError(e.errno, f"TUNSETIFF {name}: {os.strerror(e.errno or 0)}") from None
            return fd, res[:16].rstrip(b"\0").decode()

        fd, real = in_netns(netns, make)
        return cls(fd, real, features, netns)

    @classmethod
    def create(cls, addr: str, *, name: str = "synack%d", peer_addr: Optional[str] = None,
               netns: Optional[str] = None, mtu: int = 1500,
               features: Optional[LinkFeatures] = None) -> tuple["TunLink", str, str]:
        """Open the device and configure it: the kernel side gets the peer address of
        ``addr``'s prefix, the MTU is set, the link is up. Returns (link, own, peer)."""
        own, peer, plen = addresses(addr, peer_addr)
        features = features or LinkFeatures(mtu=mtu)
        features.mtu = mtu
        link = cls.open(name, netns=netns, features=features)
        try:
            link.configure(peer, plen, mtu)
        except BaseException:
            link.close()
            raise
        return link, own, peer

    def configure(self, peer: str, prefixlen: int, mtu: int = 1500) -> None:
        """Give the kernel side ``peer/prefixlen``, set the MTU, bring the link up (iproute2).
        IPv6 address autoconfiguration is turned off so no router solicitations appear."""
        n, ns = self.name, self.netns
        ip("link", "set", "dev", n, "addrgenmode", "none", netns=ns, check=False)
        ip("addr", "replace", f"{peer}/{prefixlen}", "dev", n, netns=ns)  # idempotent on a reused device
        ip("link", "set", "dev", n, "mtu", str(mtu), "up", netns=ns)
        if ns is not None:
            ip("link", "set", "dev", "lo", "up", netns=ns, check=False)

    # ---- link interface
    def start(self, loop: Any, receive: Callable[[list], None]) -> None:
        """Deliver arriving packets, in batches, to ``receive`` from ``loop``."""
        self._loop = loop
        self._receive = receive
        loop.add_reader(self.fd, self._readable)

    def _readable(self) -> None:
        read = os.read
        fd, size, hdr = self.fd, self._bufsize, self._hdr
        batch = []
        for _ in range(READ_BATCH):
            try:
                pkt = read(fd, size)
            except BlockingIOError:
                break
            except OSError:
                break  # the device went away; close() follows
            if hdr:
                batch.extend(self._from_vnet(pkt))
            else:
                batch.append(pkt)
        if batch:
            self.rx_packets += len(batch)
            self._receive(batch)  # type: ignore[misc]

    def send(self, packets: list) -> None:
        """Write IP packets to the kernel, one ``write()`` each (tun has no sendmmsg)."""
        write = os.write
        fd = self.fd
        hdr = self._hdr
        for pkt in packets:
            try:
                if hdr:
                    os.writev(fd, (_NO_OFFLOAD_HDR, pkt))
                else:
                    write(fd, pkt)
            except OSError:
                self.tx_errors += 1  # dropped, as a full device queue would drop it
        self.tx_packets += len(packets)

    def close(self) -> None:
        if self.fd < 0:
            return
        if self._loop is not None:
            try:
                self._loop.remove_reader(self.fd)
            except Exception:
                pass
        os.close(self.fd)
        self.fd = -1

    def __repr__(self) -> str:
        where = f" netns={self.netns}" if self.netns else ""
        return f"<TunLink {self.name}{where} fd={self.fd}>"

    # ---- virtio-net header (receive side)
    def _from_vnet(self, raw: bytes) -> list:
        """Strip the virtio-net header; complete a partial checksum; split a GSO packet."""
        if len(raw) <= VNET_HDR_LEN:
            self.rx_dropped += 1
            return []
        flags, gso_type, _, gso_size, cstart, coff = VNET_HDR.unpack_from(raw, 0)
        pkt = raw[VNET_HDR_LEN:]
        gso = gso_type & 0x7F
        if gso in (VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_GSO_TCPV6) and gso_size:
            return gso_split(pkt, gso_size)
        if flags & VIRTIO_NET_HDR_F_NEEDS_CSUM:
            return [complete_checksum(pkt, cstart, coff)]
        return [pkt]


def complete_checksum(pkt: bytes, start: int, offset: int) -> bytes:
    """A packet whose checksum field at ``start + offset`` holds the pseudo-header sum
    (CHECKSUM_PARTIAL) with the final Internet checksum computed from ``start`` on."""
    if start + offset + 2 > len(pkt):
        return pkt
    b = bytearray(pkt)
    total = int.from_bytes(b[start:], "little") << 8  # congruent to the big-endian word sum
    r = total % 0xFFFF
    csum = 0xFFFF - (r if r or not total else 0xFFFF)
    struct.pack_into("!H", b, start + offset, csum)
    return bytes(b)


def gso_split(pkt: bytes, mss: int) -> list:
    """Cut an IPv4/IPv6 TCP super-segment into segments of ``mss`` payload octets, each
    with correct lengths, sequence numbers, checksums (PSH/FIN only on the last)."""
    v = pkt[0] >> 4
    if v == 4:
        ihl = (pkt[0] & 0x0F) * 4
    elif v == 6:
        ihl = 40
    else:
        return [pkt]
    thl = (pkt[ihl + 12] >> 4) * 4
    hl = ihl + thl
    payload = memoryview(pkt)[hl:]
    if len(payload) <= mss:
        return [_finish(bytearray(pkt), v, ihl)]
    seq = int.from_bytes(pkt[ihl + 4:ihl + 8], "big")
    out = []
    n = len(payload)
    for off in range(0, n, mss):
        chunk = payload[off:off + mss]
        b = bytearray(pkt[:hl])
        b += chunk
        struct.pack_into("!I", b, ihl + 4, (seq + off) & 0xFFFFFFFF)
        if off + mss < n:
            b[ihl + 13] &= ~0x09 & 0xFF  # PSH and FIN only on the last segment
        out.append(_finish(b, v, ihl))
    return out


def _finish(b: bytearray, v: int, ihl: int) -> bytes:
    """Fix the IP length (and IPv4 header checksum) and compute the TCP checksum."""
    total = len(b)
    if v == 4:
        struct.pack_into("!H", b, 2, total)
        struct.pack_into("!H", b, 10, 0)
        s = int.from_bytes(b[:ihl], "little") << 8
        r = s % 0xFFFF
        struct.pack_into("!H", b, 10, 0xFFFF - (r if r else 0xFFFF))
        pseudo = b[12:20] + struct.pack("!BBH", 0, 6, total - ihl)
    else:
        struct.pack_into("!H", b, 4, total - 40)
        pseudo = b[8:40] + struct.pack("!IxxxB", total - 40, 6)
    struct.pack_into("!H", b, ihl + 16, 0)
    s = (int.from_bytes(pseudo, "little") << 8) + (int.from_bytes(b[ihl:], "little") << 8)
    r = s % 0xFFFF
    c = 0xFFFF - (r if r or not s else 0xFFFF)
    struct.pack_into("!H", b, ihl + 16, c)
    return bytes(b)
