"""The TUN link's virtio-net offloads against the real kernel.

- The offloads are negotiated at start (on by default) and can be switched off.
- Outbound super-segments, built by hand: a TCP segment longer than the MSS goes out as
  one GSO write (one packet on the device), and a run of full-sized segments handed over
  together is merged into one; the kernel's socket reads every octet and acknowledges it.
- Inbound super-segments from the kernel's TSO, with a hole cut inside one: synack SACKs
  the data beyond the hole and the kernel fills it.
- synack's own super-segments (TSO, on by default with the offloads), with a hole cut
  inside one: the kernel SACKs past it and synack sends that one wire segment again.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import select
import socket

import pytest
from kernel_helpers import KERNEL_ADDR, KERNEL_ADDR6, PREFIX, PREFIX6, Capture, in_thread, recv_all

from synack.api.realtime import Stack
from synack.link.driver import real_host
from synack.link.tun import TunLink
from synack.link.vnet import VNET_HDR, VNET_HDR_LEN, gso_split
from synack.stack.packet import SuperSegment
from synack.trace.events import Recorder, SegmentReceived, SegmentSent
from synack.wire.ip import emit_packet, parse_packet
from synack.wire.seq import Seq
from synack.wire.tcp import ACK, FIN, PSH, SYN, Mss, Sack, TcpSegment, WindowScale

FAMILIES = [pytest.param((PREFIX, KERNEL_ADDR), id="ipv4"), pytest.param((PREFIX6, KERNEL_ADDR6), id="ipv6")]


def test_offloads_are_on_by_default_and_off_on_request(netns):
    on, _, _ = TunLink.create(PREFIX, name=f"sk{secrets.token_hex(3)}", netns=netns.name)
    off, _, _ = TunLink.create("10.98.0.2/24", name=f"sk{secrets.token_hex(3)}", netns=netns.name, offload=False)
    try:
        f = on.features
        assert (f.vnet_hdr, f.rx_checksum, f.rx_gso, f.tso_ecn, f.gso, f.note) == (True, True, True, True, True, None)
        assert f.describe() == "offloads on (csum, tso4, tso6, tso-ecn, gso out)"
        assert f.gso_max_size == 65535
        g = off.features
        assert (g.vnet_hdr, g.rx_gso, g.gso) == (False, False, False)
        assert g.describe() == "offloads off" and g.gso_max_size == 1500
        # the device's transmit queue is sized for bursts of connections
        assert "qlen 10000" in netns.run("ip", "link", "show", on.name).stdout
    finally:
        on.close()
        off.close()


class HandPeer:
    """synack's side of a TUN device worked by hand: packets are built, written and read
    one at a time, so a test controls exactly what the link writes."""

    def __init__(self, link: TunLink, own: str, kernel: str) -> None:
        self.link, self.own, self.kernel = link, own, kernel
        self.port = 30000 + secrets.randbelow(20000)

    def read(self, timeout: float = 5.0) -> TcpSegment:
        """The next TCP segment the kernel sends to our port (anything else is skipped)."""
        while True:
            r, _, _ = select.select([self.link.fd], [], [], timeout)
            assert r, "the kernel sent nothing"
            raw = os.read(self.link.fd, 65536 + VNET_HDR_LEN)
            hdr = VNET_HDR.unpack_from(raw, 0)
            try:
                _, seg = parse_packet(raw[VNET_HDR_LEN:], verify=not hdr[0] & 1)
            except Exception:
                continue  # not TCP (an MLD report, say)
            if seg.dst_port == self.port:
                return seg

    def send(self, *segs: TcpSegment) -> None:
        self.link.send([emit_packet(self.own, self.kernel, s) for s in segs])

    def segment(self, off: int, payload: bytes, flags: int = ACK) -> TcpSegment:
        return TcpSegment(self.port, self.kport, Seq((self.iss + 1 + off) & 0xFFFFFFFF), self.rcv, flags, 502, payload)

    def connect(self, kport: int) -> None:
        self.kport = kport
        self.iss = secrets.randbits(32)
        self.send(TcpSegment(self.port, kport, Seq(self.iss), Seq(0), SYN, 65535, b"", (Mss(1460), WindowScale(7))))
        synack = self.read()
        assert synack.flags == SYN | ACK
        self.rcv = Seq((int(synack.seq) + 1) & 0xFFFFFFFF)
        self.send(self.segment(0, b""))


@pytest.mark.parametrize("family", FAMILIES)
def test_hand_built_super_segments_reach_the_kernel_as_one_write_each(netns, tmp_path, family):
    prefix, kernel = family
    dev = f"sk{secrets.token_hex(3)}"
    link, own, _ = TunLink.create(prefix, name=dev, netns=netns.name)
    cap = Capture(netns, dev, str(tmp_path / "gso.pcap"))
    try:
        srv = netns.socket(socket.AF_INET6 if ":" in kernel else socket.AF_INET)
        srv.bind((kernel, 0))
        srv.listen()
        srv.settimeout(5)
        peer = HandPeer(link, own, kernel)
        peer.connect(srv.getsockname()[1])
        k, _ = srv.accept()
        k.settimeout(5)
        mss = 1460 if ":" not in kernel else 1440
        data = os.urandom(40000 + 16 * mss)
        # one segment of 40,000 octets: a GSO write the kernel cuts at the MSS
        writes = link.tx_writes
        peer.send(peer.segment(0, data[:40000], ACK | PSH))
        assert link.tx_writes == writes + 1
        # sixteen full-sized segments handed over together: merged into one write
        peer.send(*[peer.segment(40000 + i * mss, data[40000 + i * mss:40000 + (i + 1) * mss], ACK)
                    for i in range(16)])
        assert link.tx_writes == writes + 2 and link.tx_merged == 15
        got = b""
        while len(got) < len(data):
            got += k.recv(1 << 20)
        assert got == data
        acked = 0
        while acked < len(data):
            acked = (int(peer.read().ack) - peer.iss - 1) & 0xFFFFFFFF
        assert acked == len(data)
        k.close()
        srv.close()
        # on the device, each write is one packet: 40,000 octets, then 16 MSS
        ip = "ipv6" if ":" in kernel else "ip"
        size = "ipv6.plen" if ":" in kernel else "ip.len"
        sizes = [int(x) for x in cap.packets(f"{ip}.src == {own} && tcp.len > 0", (size,))]
        hdr = 20 if ":" in kernel else 40
        assert sizes[:2] == [40000 + hdr, 16 * mss + hdr]
    finally:
        link.close()
        cap.stop()
    assert cap.bad() == []


class HoleLink:
    """Passes packets through, but cuts a hole of one wire segment inside the first
    super-segment from the kernel that holds at least four: what arrives is the part
    before the hole and the part after it, each still one segment larger than the MSS."""

    def __init__(self, inner: TunLink, mss: int) -> None:
        self.inner, self.features, self.mss = inner, inner.features, mss
        self.cut: tuple | None = None     # (seq of the hole, its end, end of the super-segment)

    def start(self, loop, receive) -> None:
        self._receive = receive
        self.inner.start(loop, self._rx)

    def _rx(self, batch: list, checksum_ok=False) -> None:
        if self.cut is None:
            for i, pkt in enumerate(batch):
                hdr, seg = parse_packet(pkt, verify=False)
                if len(seg.payload) >= 4 * self.mss:
                    a, b = self.mss, 2 * self.mss
                    last = FIN | PSH
                    head = seg._replace(payload=seg.payload[:a], flags=seg.flags & ~last)
                    tail = seg._replace(seq=seg.seq + b, payload=seg.payload[b:])
                    self.cut = (int(seg.seq + a), int(seg.seq + b), int(seg.seq + len(seg.payload)))
                    pieces = [emit_packet(hdr.src, hdr.dst, head), emit_packet(hdr.src, hdr.dst, tail)]
                    oks = list(checksum_ok) if isinstance(checksum_ok, list) else [checksum_ok] * len(batch)
                    batch = batch[:i] + pieces + batch[i + 1:]
                    checksum_ok = oks[:i] + [True, True] + oks[i + 1:]
                    break
        self._receive(batch, checksum_ok)

    def send(self, packets: list) -> None:
        self.inner.send(packets)

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("family", FAMILIES)
def test_synack_sacks_a_hole_inside_a_kernel_super_segment(netns, tmp_path, family):
    prefix, kernel = family
    dev = f"sk{secrets.token_hex(3)}"
    link, own, _ = TunLink.create(prefix, name=dev, netns=netns.name)
    rec = Recorder(on=True)
    v6 = ":" in kernel
    hole = HoleLink(link, 1440 - 12 if v6 else 1460 - 12)
    stack = Stack(real_host(own, recorder=rec), hole)
    cap = Capture(netns, dev, str(tmp_path / "hole.pcap"), snaplen=160)
    try:
        srv = stack.create_server(("", 5001), family=socket.AF_INET6 if v6 else socket.AF_INET)
        srv.settimeout(10)
        k = netns.socket(socket.AF_INET6 if v6 else socket.AF_INET)
        k.settimeout(10)
        fut = in_thread(k.connect, (own, 5001))
        s, _ = srv.accept()
        s.settimeout(10)
        fut.result(10)
        data = os.urandom(1 << 20)
        sender = in_thread(lambda: (k.sendall(data), k.shutdown(socket.SHUT_WR)))
        got = recv_all(s)
        sender.result(10)
        assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
        s.close()
        k.close()
    finally:
        stack.close()
        cap.stop()
    assert hole.cut is not None, "the kernel sent no super-segment of four MSS or more"
    start, end, right = hole.cut
    # synack answered the data beyond the hole with a duplicate ACK naming the hole's start
    # and a SACK block for everything after it, up to the end of the super-segment
    sacks = [e.seg for e in rec.events if type(e) is SegmentSent and e.seg.option(Sack) is not None]

    def covers(g: TcpSegment) -> bool:
        opt = g.option(Sack)
        assert isinstance(opt, Sack)
        left, r = (int(x) for x in opt.blocks[0])
        return int(g.ack) == start and left == end and (r - right) & 0xFFFFFFFF < 0x80000000

    assert any(covers(g) for g in sacks), [(int(g.ack), g.option(Sack)) for g in sacks[:5]]
    # the kernel sent the hole again, and only the hole
    again = [e.seg for e in rec.events if type(e) is SegmentReceived and int(e.seg.seq) == start]
    assert again and len(again[0].payload) == end - start
    assert cap.bad() == []


class TxHoleLink:
    """Passes packets through, but the first super-segment synack sends that holds at
    least four wire segments goes out cut as GSO cuts it, without its second wire segment."""

    def __init__(self, inner: TunLink) -> None:
        self.inner, self.features = inner, inner.features
        self.cut: tuple | None = None     # (seq of the hole, its length, the super-segment's length)
        self.supers = 0

    def start(self, loop, receive) -> None:
        self.inner.start(loop, receive)

    def send(self, packets: list) -> None:
        out = []
        for p in packets:
            if type(p) is SuperSegment:
                self.supers += 1
                pieces = gso_split(p, p.gso_size)
                if self.cut is None and len(pieces) >= 4:
                    _, hole = parse_packet(pieces[1])
                    _, whole = parse_packet(p, verify=False)
                    self.cut = (int(hole.seq), len(hole.payload), len(whole.payload))
                    out.extend(pieces[:1] + pieces[2:])   # wire-sized, checksums complete
                    continue
            out.append(p)
        self.inner.send(out)

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("family", FAMILIES)
def test_a_hole_in_a_synack_super_segment_is_repaired_by_sending_that_wire_segment_again(netns, tmp_path, family):
    prefix, kernel = family
    dev = f"sk{secrets.token_hex(3)}"
    link, own, _ = TunLink.create(prefix, name=dev, netns=netns.name)
    rec = Recorder(on=True)
    v6 = ":" in kernel
    hole = TxHoleLink(link)
    stack = Stack(real_host(own, recorder=rec), hole)
    cap = Capture(netns, dev, str(tmp_path / "txhole.pcap"), snaplen=160)
    try:
        srv = netns.socket(socket.AF_INET6 if v6 else socket.AF_INET)
        srv.bind((kernel, 0))
        srv.listen()
        srv.settimeout(10)
        c = stack.create_connection((kernel, srv.getsockname()[1]), timeout=10)
        k, _ = srv.accept()
        k.settimeout(10)
        data = os.urandom(1 << 20)
        reader = in_thread(recv_all, k)
        c.sendall(data)
        c.close()
        got = reader.result(20)
        assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
        k.close()
        srv.close()
    finally:
        stack.close()
        cap.stop()
    assert hole.cut is not None, "synack sent no super-segment of four wire segments or more"
    start, length, whole = hole.cut
    sent = [e for e in rec.events if type(e) is SegmentSent and e.seg.payload]
    mss = max(len(e.seg.payload) for e in sent if not e.retransmit and len(e.seg.payload) <= 1500)
    assert whole >= 4 * mss and length == mss and hole.supers >= 2
    # what synack sent again: that one wire segment, before anything else, and no timeout
    again = [e for e in sent if e.retransmit]
    assert again and (int(again[0].seg.seq), len(again[0].seg.payload)) == (start, length), \
        [(int(e.seg.seq), len(e.seg.payload), e.cause) for e in again[:5]]
    assert again[0].cause in ("fast-retransmit", "sack-recovery", "tlp")
    # the kernel told of the hole with SACK blocks beyond it
    sacked = [e.seg for e in rec.events if type(e) is SegmentReceived and e.seg.option(Sack) is not None
              and int(e.seg.ack) == start]
    assert sacked
    assert cap.bad() == []
