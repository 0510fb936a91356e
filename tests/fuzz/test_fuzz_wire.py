"""A mutation fuzzer for the parsers and for a host's input path, run for a fixed time
budget (``SYNACK_FUZZ_SECONDS``, 2 s per target by default; CI keeps the default, a long
run is ``SYNACK_FUZZ_SECONDS=600 pytest tests/fuzz``).

Inputs start from valid packets of every kind synack reads (TCP over IPv4 and IPv6 with
options and data, IPv6 extension headers, ICMP and ICMPv6 errors, echo, UDP) and are
mutated: bits flipped, octets overwritten, inserted, deleted, cut, chunks spliced from
other seeds; half the time the TCP checksum is fixed up afterwards so that the deeper
checks (data offset, options, flags) are reached. The properties:

* the parsers raise MalformedPacket and nothing else;
* what parses is canonical: emitting it again and parsing gives the same value;
* ``Host.deliver`` never raises, whatever arrives, with a listener and live connections.

The generator is seeded, so a failure names the seed and iteration that reproduce it.
"""

from __future__ import annotations

import os
import random
import time

from synack.link.sim import Network
from synack.wire.checksum import address_info, internet_checksum, pseudo_header_sum
from synack.wire.errors import MalformedPacket
from synack.wire.icmp import (DEST_UNREACH, PORT_UNREACH, V6_PACKET_TOO_BIG, emit_icmp, emit_icmp_error,
                              parse_icmp_packet)
from synack.wire.ip import emit_ip, emit_packet, parse_ip, parse_packet
from synack.wire.ipv6 import emit_ipv6
from synack.wire.seq import Seq
from synack.wire.tcp import (ACK, FIN, PSH, SYN, URG, Eol, FastOpen, Mss, Nop, Sack, SackPermitted,
                             TcpSegment, Timestamps, UnknownOption, WindowScale, emit_tcp)
import contextlib

BUDGET = float(os.environ.get("SYNACK_FUZZ_SECONDS", "2"))
A4, B4, A6, B6 = "10.0.0.1", "10.0.0.2", "fd00::1", "fd00::2"


def seeds() -> list[bytes]:
    segs = [
        TcpSegment(40000, 80, Seq(1), Seq(0), SYN, 65535, b"",
                   (Mss(1460), SackPermitted(), Timestamps(7, 0), Nop(), WindowScale(7))),
        TcpSegment(80, 40000, Seq(2**32 - 1), Seq(2), SYN | ACK, 65535, b"", (Mss(1220), FastOpen(b"12345678"))),
        TcpSegment(40000, 80, Seq(2), Seq(5), ACK | PSH, 501, b"hello, world" * 20,
                   (Nop(), Nop(), Timestamps(9, 8))),
        TcpSegment(40000, 80, Seq(2), Seq(5), ACK, 501, b"",
                   (Nop(), Nop(), Sack(((Seq(10), Seq(20)), (Seq(30), Seq(40)))))),
        TcpSegment(40000, 80, Seq(3), Seq(5), ACK | FIN | URG, 0, b"x", (UnknownOption(99, b"ab"), Eol()), 1),
    ]
    out = []
    for s in segs:
        out.append(emit_packet(A4, B4, s))
        out.append(emit_packet(A6, B6, s))
    out.append(emit_ipv6(A6, B6, 6, emit_tcp(segs[2], A6, B6), ext_headers=((0, bytes(6)), (60, bytes(14)))))
    tcp = emit_packet(A4, B4, segs[0])
    tcp6 = emit_packet(A6, B6, segs[0])
    out.append(emit_icmp_error(B4, tcp, DEST_UNREACH, PORT_UNREACH))
    out.append(emit_icmp_error(B6, tcp6, V6_PACKET_TOO_BIG, 0, 1280))
    out.append(emit_icmp(A4, B4, 8, 0, 1, b"ping"))
    out.append(emit_ip(A4, B4, 17, b"\x00\x35\x00\x35\x00\x0c\x00\x00data"))
    return out


def fix_checksum(src: str, dst: str, proto: int, body: bytearray) -> None:
    """Make ``body``'s TCP (6), ICMP (1) or ICMPv6 (58) checksum right again, in place."""
    at = {6: 16, 1: 2, 58: 2}.get(proto)
    if at is None or len(body) < at + 2:
        return
    body[at:at + 2] = b"\0\0"
    v4 = address_info(src)[2] == 4
    initial = 0 if proto == 1 else pseudo_header_sum(address_info(src)[0], address_info(dst)[0], proto, len(body))
    body[at:at + 2] = internet_checksum(bytes(body), initial).to_bytes(2, "big")
    assert v4 or proto != 1


def mutate_bytes(rng: random.Random, data: bytes, pool: list[bytes]) -> bytearray:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        if op == 0 and b:
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1 and b:
            b[rng.randrange(len(b))] = rng.choice((0, 1, 2, 3, 4, 5, 8, 10, 34, 0x7F, 0x80, 0xFE, 0xFF))
        elif op == 2:
            b[rng.randrange(len(b) + 1):0] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 3 and b:
            i = rng.randrange(len(b))
            del b[i:i + rng.randint(1, 8)]
        elif op == 4 and b:
            del b[rng.randrange(len(b)):]
        elif op == 5:
            other = rng.choice(pool)
            i = rng.randrange(len(other) + 1)
            j = rng.randrange(len(b) + 1)
            b[j:j + rng.randint(0, 16)] = other[i:i + rng.randint(1, 40)]
        elif len(b) > 13:
            b[12] = rng.randrange(5, 16) << 4  # a plausible TCP data offset
    return b


def mutate(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    """Half the time the whole packet is mangled; otherwise only the IP payload, which is
    framed again in a good IP header, its checksum fixed most of the time."""
    if rng.random() < 0.5:
        return bytes(mutate_bytes(rng, data, pool))
    try:
        hdr, payload = parse_ip(data)
    except MalformedPacket:
        return bytes(mutate_bytes(rng, data, pool))
    body = mutate_bytes(rng, payload, pool)
    if rng.random() < 0.8:
        fix_checksum(hdr.src, hdr.dst, hdr.proto, body)
    try:
        return emit_ip(hdr.src, hdr.dst, hdr.proto, bytes(body))
    except ValueError:
        return bytes(body)


def run_budget(target, name: str, seed: int) -> int:
    rng = random.Random(seed)
    pool = seeds()
    end = time.monotonic() + BUDGET
    n = 0
    while time.monotonic() < end:
        for _ in range(50):
            data = mutate(rng, rng.choice(pool), pool)
            try:
                target(data)
            except Exception as e:  # noqa: BLE001 - the point is to name any escape
                raise AssertionError(f"{name}: seed {seed}, iteration {n}: {type(e).__name__}: {e}\n"
                                     f"input: {data.hex()}") from e
            n += 1
    return n


def _parsers(data: bytes) -> None:
    for parse in (parse_packet, parse_ip, parse_icmp_packet):
        with contextlib.suppress(MalformedPacket):
            parse(data)
    try:
        hdr, seg = parse_packet(data)
    except MalformedPacket:
        return
    again = parse_packet(emit_packet(hdr.src, hdr.dst, seg, hdr.ttl))[1]
    assert repr(again) == repr(seg), f"not canonical: {seg!r} -> {again!r}"


def test_parsers_raise_only_malformed_packet_and_parse_canonically():
    assert run_budget(_parsers, "parsers", 1) > 0


def test_a_host_survives_whatever_arrives():
    net = Network(seed=2)
    client = net.add_host("client", [A4, A6])
    server = net.add_host("server", [B4, B6])
    net.recorder.on = True
    lst = server.listen(40000, 0)
    client.listen(80, 0)
    c4 = client.connect(B4, 40000, net.now)
    c6 = client.connect(B6, 40000, net.now)
    net.run_for(ms_(50))
    assert lst.accept_queue

    def deliver(data: bytes) -> None:
        for host in (client, server):
            host.deliver(data, net.now)
            host.on_timeout(net.now)
            host.take_packets()
        if len(net.recorder.events) > 100_000:
            net.recorder.events.clear()

    n = run_budget(deliver, "host", 3)
    assert n > 0 and c4.state is not None and c6.state is not None


def ms_(x: float) -> int:
    return int(x * 1_000_000)


def test_the_mutants_reach_the_deep_checks():
    """The fuzzer does not only test the checksum check: many mutants get past it and
    are rejected (or accepted) by the TCP header, option and ICMP parsers."""
    rng = random.Random(4)
    pool = seeds()
    reasons: dict = {}
    for _ in range(3000):
        data = mutate(rng, rng.choice(pool), pool)
        for parse in (parse_packet, parse_icmp_packet):
            try:
                parse(data)
                reasons["ok"] = reasons.get("ok", 0) + 1
            except MalformedPacket as e:
                reasons[e.reason] = reasons.get(e.reason, 0) + 1
    deep = sum(reasons.get(r, 0) for r in ("ok", "bad-option-length", "bad-data-offset", "truncated-header",
                                           "syn-and-fin", "truncated-icmp", "bad-icmp-quote"))
    assert deep > 600, reasons
