"""ICMP errors passed to TCP (RFC 9293 §3.9.2.2, MUST-54..56, SHLD-25/26): parsed by
wire/icmp.py, matched to the connection through the quoted header by stack/icmp.py, and
acted on by the connection: hard errors end an opening connection, soft ones are kept for
the user, Fragmentation Needed / Packet Too Big shrink the segments, Source Quench is
ignored. The simulator answers too-big packets when asked (PathParams.icmp_too_big), and a
host can answer closed ports with ICMP like a firewall's REJECT (Host.reject_with).
"""

from __future__ import annotations

import errno
import socket as real_socket

import dpkt
import pytest

from synack import api
from synack.link.sim import Network
from synack.tcp.config import TcpConfig
from synack.tcp.state import State
from synack.timeunits import ms, sec
from synack.trace.events import IcmpEvent, SegmentDropped
from synack.wire.errors import MalformedPacket
from synack.wire.icmp import (DEST_UNREACH, FRAG_NEEDED, HOST_UNREACH, PORT_UNREACH, SOURCE_QUENCH,
                              V6_DEST_UNREACH, V6_PACKET_TOO_BIG, V6_PORT_UNREACH, emit_icmp,
                              emit_icmp_error, parse_icmp, parse_icmp_packet)
from synack.wire.ip import emit_ip, emit_packet
from synack.wire.seq import Seq
from synack.wire.tcp import SYN, TcpSegment

SYN_SEG = TcpSegment(40000, 80, Seq(123456), Seq(0), SYN, 65535)


# ------------------------------------------------------------------------------ wire
def test_an_icmpv4_error_matches_dpkt_byte_for_byte():
    orig = emit_packet("10.0.0.1", "10.0.0.2", SYN_SEG)
    ours = emit_icmp_error("10.0.0.2", orig, DEST_UNREACH, PORT_UNREACH)
    theirs = dpkt.icmp.ICMP(type=3, code=3, data=dpkt.icmp.ICMP.Unreach(data=orig))
    assert ours[20:] == bytes(theirs)
    ip = dpkt.ip.IP(ours)
    assert (ip.src, ip.dst, ip.p) == (real_socket.inet_aton("10.0.0.2"), real_socket.inet_aton("10.0.0.1"), 1)


def test_an_icmpv6_error_matches_dpkt_byte_for_byte():
    orig = emit_packet("fd00::1", "fd00::2", SYN_SEG)
    ours = emit_icmp_error("fd00::2", orig, V6_PACKET_TOO_BIG, 0, 1280)
    icmp6 = dpkt.icmp6.ICMP6(type=2, code=0, data=(1280).to_bytes(4, "big") + orig)
    ip6 = dpkt.ip6.IP6(src=real_socket.inet_pton(real_socket.AF_INET6, "fd00::2"),
                       dst=real_socket.inet_pton(real_socket.AF_INET6, "fd00::1"),
                       nxt=58, hlim=64, plen=len(bytes(icmp6)), data=icmp6)
    ip6.data.sum = 0
    assert ours == bytes(ip6)


@pytest.mark.parametrize("src, dst, typ, code, info, mtu", [
    ("10.0.0.2", "10.0.0.1", DEST_UNREACH, FRAG_NEEDED, 1000, 1000),
    ("10.0.0.2", "10.0.0.1", DEST_UNREACH, HOST_UNREACH, 0, None),
    ("fd00::2", "fd00::1", V6_PACKET_TOO_BIG, 0, 1300, 1300),
    ("fd00::2", "fd00::1", V6_DEST_UNREACH, V6_PORT_UNREACH, 0, None),
])
def test_errors_round_trip_and_name_the_quoted_segment(src, dst, typ, code, info, mtu):
    orig = emit_packet(dst, src, SYN_SEG)
    hdr, msg = parse_icmp_packet(emit_icmp_error(src, orig, typ, code, info))
    assert (hdr.src, hdr.dst, msg.type, msg.code, msg.mtu) == (src, dst, typ, code, mtu)
    o = msg.orig
    assert o is not None
    assert (o.src, o.dst, o.proto, o.src_port, o.dst_port, o.seq) == (dst, src, 6, 40000, 80, Seq(123456))


@pytest.mark.parametrize("mangle, reason", [
    (lambda m: m[:5], "truncated-icmp"),
    (lambda m: m[:2] + bytes([m[2] ^ 1]) + m[3:], "bad-icmp-checksum"),
    (lambda m: m[:8 + 20 + 4], "bad-icmp-checksum"),        # cut: the checksum no longer fits
])
def test_malformed_messages_raise_malformed_packet(mangle, reason):
    orig = emit_packet("10.0.0.1", "10.0.0.2", SYN_SEG)
    msg = emit_icmp_error("10.0.0.2", orig, DEST_UNREACH, PORT_UNREACH)[20:]
    with pytest.raises(MalformedPacket) as e:
        parse_icmp(mangle(msg), "10.0.0.2", "10.0.0.1", 4)
    assert e.value.reason == reason


def test_a_quote_too_short_for_ports_is_malformed():
    orig = emit_packet("10.0.0.1", "10.0.0.2", SYN_SEG)[:24]     # IP header + 4 octets
    pkt = emit_icmp("10.0.0.2", "10.0.0.1", DEST_UNREACH, PORT_UNREACH, 0, orig)
    with pytest.raises(MalformedPacket) as e:
        parse_icmp_packet(pkt)
    assert e.value.reason == "truncated-icmp"


def test_echo_is_parsed_without_a_quote():
    hdr, msg = parse_icmp_packet(emit_icmp("10.0.0.1", "10.0.0.2", 8, 0, 0x12340001, b"ping"))
    assert (msg.type, msg.orig, msg.body) == (8, None, b"ping")


# ------------------------------------------------------------------------------ the host
def nets(v6: bool = False, **server_kw):
    net = Network(seed=1)
    a = ("fd00::1", "fd00::2") if v6 else ("10.0.0.1", "10.0.0.2")
    client = net.add_host("client", [a[0]])
    server = net.add_host("server", [a[1]], **server_kw)
    net.set_both("client", "server", delay=ms(10))
    return net, client, server, a


def icmp_events(net, host=None) -> list:
    return [e for e in net.recorder.events if isinstance(e, IcmpEvent) and (host is None or e.host == host)]


def forge_error(net, conn, typ, code, info=0, seq=None, src=None):
    """An ICMP error about ``conn``'s segment with sequence number ``seq`` (SND.UNA)."""
    seg = TcpSegment(conn.local_port, conn.remote_port, conn.snd_una if seq is None else seq, Seq(0), SYN, 0)
    orig = emit_packet(conn.local_addr, conn.remote_addr, seg)
    net.inject("server", emit_icmp_error(src or conn.remote_addr, orig, typ, code, info))


@pytest.mark.parametrize("v6", [False, True], ids=["ipv4", "ipv6"])
def test_port_unreachable_refuses_a_connect(v6):
    """A REJECT with port unreachable ends SYN-SENT as Linux does: ECONNREFUSED."""
    net, client, server, a = nets(v6, reject_with="icmp-port-unreachable")
    sock = api.socket(net, "client", api.AF_INET6 if v6 else api.AF_INET)
    with pytest.raises(ConnectionRefusedError):
        sock.connect((a[1], 81))
    assert net.now == ms(20)                                  # one round trip, no retries
    kinds = [(e.host, e.kind, e.action) for e in icmp_events(net)]
    assert kinds == [("server", "port-unreachable", "sent"), ("client", "port-unreachable", "hard")]


@pytest.mark.parametrize("how, code", [("icmp-admin-prohibited", errno.EHOSTUNREACH),
                                       ("icmp-proto-unreachable", errno.ENOPROTOOPT)])
def test_other_hard_errors_end_a_connect_with_linuxs_errno(how, code):
    net, client, server, a = nets(reject_with=how)
    with pytest.raises(OSError) as e:
        api.create_connection(net, "client", (a[1], 81))
    assert e.value.errno == code


def test_soft_errors_never_abort_but_explain_the_timeout():
    """MUST-56: host unreachable does not end SYN-SENT; the SYN goes on being retried, and
    when R2 is reached the error reported is the ICMP one (SHLD-25; Linux reports
    EHOSTUNREACH instead of ETIMEDOUT). The rfc profile: Linux's ends SYN-SENT at once (below)."""
    net, client, server, a = nets(reject_with="icmp-host-unreachable",
                                  config=TcpConfig(profile="rfc", r2_syn=sec(10)))
    client.config = TcpConfig(profile="rfc", r2_syn=sec(10))
    sock = api.socket(net, "client")
    with pytest.raises(OSError) as e:
        sock.connect((a[1], 81))
    assert e.value.errno == errno.EHOSTUNREACH and net.now >= sec(10)
    acts = [e.action for e in icmp_events(net, "client")]
    assert len(acts) >= 4 and set(acts) == {"soft"}


def test_linux_any_icmp_error_ends_a_connection_attempt_at_once():
    """The linux profile (tcp_v4_err): host unreachable, a soft error, still ends SYN-SENT at
    once with EHOSTUNREACH; RFC 9293 §3.9.2.2 MUST-56 would keep retrying."""
    net, client, server, a = nets(reject_with="icmp-host-unreachable")
    client.config = TcpConfig(profile="linux")
    sock = api.socket(net, "client")
    with pytest.raises(OSError) as e:
        sock.connect((a[1], 81))
    assert e.value.errno == errno.EHOSTUNREACH and net.now < sec(1)
    assert [e.action for e in icmp_events(net, "client")] == ["hard"]


def test_an_established_connection_keeps_going_through_hard_errors_unless_configured():
    """Linux (RFC 5927 §4.1) treats hard errors in synchronized states as soft; with
    icmp_abort_synchronized the connection follows SHLD-26 and aborts."""
    for abort in (False, True):
        net, client, server, a = nets(config=TcpConfig(icmp_abort_synchronized=abort))
        lst = server.listen(80, net.now)
        conn = client.connect(a[1], 80, net.now, config=TcpConfig(icmp_abort_synchronized=abort))
        assert net.run_until(lambda lst=lst: lst.accept_queue, sec(1))
        forge_error(net, conn, DEST_UNREACH, PORT_UNREACH)
        net.run_for(ms(5))
        if abort:
            assert conn.state is State.CLOSED and conn.error.code == "refused"
        else:
            assert conn.state is State.ESTABLISHED and conn.soft_error.startswith("ICMPv4 port-unreachable")


def test_source_quench_is_silently_discarded():
    """MUST-55."""
    net, client, server, a = nets()
    lst = server.listen(80, net.now)
    conn = client.connect(a[1], 80, net.now)
    assert net.run_until(lambda: lst.accept_queue, sec(1))
    before = (conn.cc.cwnd, conn.snd_mss, conn.soft_error)
    forge_error(net, conn, SOURCE_QUENCH, 0)
    net.run_for(ms(5))
    assert (conn.cc.cwnd, conn.snd_mss, conn.soft_error) == before
    assert [(e.kind, e.action) for e in icmp_events(net, "client")] == [("source-quench", "ignored")]


def test_an_error_quoting_a_sequence_number_outside_the_window_is_ignored():
    """RFC 5927 §4.1: a forger must also guess SND.UNA..SND.NXT."""
    net, client, server, a = nets()
    net.hosts["client"]  # noqa: B018
    conn = client.connect("10.0.0.99", 80, net.now)          # nobody answers: SYN-SENT
    forge_error(net, conn, DEST_UNREACH, PORT_UNREACH, seq=conn.iss + 1000, src="10.0.0.2")
    net.run_for(ms(5))
    assert conn.state is State.SYN_SENT
    ev = icmp_events(net, "client")[-1]
    assert ev.action == "ignored" and "outside SND.UNA..SND.NXT" in ev.detail


def test_errors_about_no_connection_or_not_tcp_are_ignored_and_other_protocols_dropped():
    net, client, server, a = nets()
    udp = emit_ip("10.0.0.1", "10.0.0.2", 17, b"\x00\x35\x00\x35\x00\x08\x00\x00")
    net.inject("client", udp)
    stray = emit_packet("10.0.0.2", "10.0.0.1", SYN_SEG)
    net.inject("server", emit_icmp_error("10.0.0.1", stray, DEST_UNREACH, PORT_UNREACH))
    net.inject("server", emit_icmp_error("10.0.0.1", emit_ip("10.0.0.2", "10.0.0.1", 17, bytes(8)),
                                         DEST_UNREACH, PORT_UNREACH))
    net.inject("server", emit_icmp_error("10.0.0.1", stray, DEST_UNREACH, PORT_UNREACH)[:30])
    net.run_for(ms(5))
    drops = [e.reason for e in net.recorder.events if isinstance(e, SegmentDropped)]
    assert drops == ["not-tcp", "bad-ip-length"]
    details = [e.detail for e in icmp_events(net, "server")]
    assert details == ["no connection matches the quoted segment", "about IP protocol 17, not a TCP segment"]


@pytest.mark.parametrize("v6", [False, True], ids=["ipv4", "ipv6"])
def test_path_mtu_discovery_shrinks_segments_and_the_transfer_completes(v6):
    """RFC 1191 / RFC 8201: a 1000-octet link answers bigger packets with Fragmentation
    Needed / Packet Too Big; the sender lowers its MSS to fit and sends everything again
    (IPv6's path is 1280, its minimum link MTU: RFC 8201 §4)."""
    mtu = 1280 if v6 else 1000
    net, client, server, a = nets(v6)
    srv = api.create_server(net, "server", ("", 80), family=api.AF_INET6 if v6 else api.AF_INET)
    cli = api.create_connection(net, "client", (a[1], 80))
    conn, _ = srv.accept()
    net.set_path("client", "server", mtu=mtu, icmp_too_big=True)
    data = bytes(range(256)) * 300
    cli.sendall(data)
    got = b""
    while len(got) < len(data):
        got += conn.recv(1 << 16)
    assert got == data and net.now < sec(1)
    assert cli.connection.snd_mss == mtu - (60 if v6 else 40)
    assert ("frag-needed", "pmtu") in [(e.kind, e.action) for e in icmp_events(net, "client")]


def test_without_icmp_a_too_small_path_is_a_black_hole():
    """The same path that drops silently: no byte of a full-sized segment gets through."""
    net, client, server, a = nets()
    srv = api.create_server(net, "server", ("", 80))
    cli = api.create_connection(net, "client", (a[1], 80))
    conn, _ = srv.accept()
    net.set_path("client", "server", mtu=1000)
    cli.sendall(bytes(20_000))
    conn.settimeout(5)
    with pytest.raises(TimeoutError):
        conn.recv(1)
    assert not icmp_events(net)


def test_a_forged_tiny_mtu_cannot_shrink_segments_below_linuxs_floor():
    """IPv4: an MTU below 552 counts as 552 (Linux's min_pmtu), so segments keep 512 octets."""
    net, client, server, a = nets()
    lst = server.listen(80, net.now)
    conn = client.connect(a[1], 80, net.now)
    assert net.run_until(lambda: lst.accept_queue, sec(1))
    forge_error(net, conn, DEST_UNREACH, FRAG_NEEDED, 68)
    net.run_for(ms(5))
    assert conn.snd_mss == 512


def test_a_packet_too_big_below_the_ipv6_minimum_mtu_is_ignored():
    """RFC 8201 §4: an ICMPv6 Packet Too Big below 1280 does not lower the path MTU."""
    net, client, server, a = nets(True)
    lst = server.listen(80, net.now)
    conn = client.connect(a[1], 80, net.now)
    assert net.run_until(lambda: lst.accept_queue, sec(1))
    before = conn.snd_mss
    forge_error(net, conn, V6_PACKET_TOO_BIG, 0, 1000)
    net.run_for(ms(5))
    assert conn.snd_mss == before == 1440
    assert [(e.kind, e.action) for e in icmp_events(net, "client")] == [("frag-needed", "ignored")]


def test_reject_with_is_checked():
    with pytest.raises(ValueError, match="reject_with"):
        Network(seed=1).add_host("h", ["10.0.0.5"], reject_with="icmp-nonsense")


# ------------------------------------------------------------------------------ real kernel
def test_icmp_from_the_linux_kernel_through_tun():
    """The Host-level handling serves the TUN link too: in a network namespace the test
    creates, Linux forwards synack's SYNs toward a "prohibit" route (ICMP administratively
    prohibited: a hard error, the connect fails at once) and an "unreachable" route (ICMP
    host unreachable: soft, so synack retries until R2 and then reports EHOSTUNREACH)."""
    import sys
    import time
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kernel"))
    from kernel_helpers import Netns, skip_or_fail_without_kernel

    from synack.api.realtime import Stack
    from synack.trace.events import Recorder

    skip_or_fail_without_kernel()
    ns = Netns()
    try:
        rec = Recorder()
        st = Stack.tun("10.99.0.2/24", name="skicmp%d", netns=ns.name, recorder=rec,
                       config=TcpConfig(profile="rfc", r2_syn=sec(2)))
        try:
            ns.sysctl("net.ipv4.ip_forward", "1")
            ns.run("ip", "route", "add", "prohibit", "10.99.2.0/24")
            ns.run("ip", "route", "add", "unreachable", "10.99.3.0/24")
            results = []
            for target in ("10.99.2.5", "10.99.3.5"):
                s = st.socket()
                s.settimeout(10)
                t0 = time.monotonic()
                with pytest.raises(OSError) as e:
                    s.connect((target, 80))
                results.append((e.value.errno, time.monotonic() - t0))
                s.close()
        finally:
            st.close()
    finally:
        ns.delete()
    (hard, t_hard), (soft, t_soft) = results
    assert hard == errno.EHOSTUNREACH and t_hard < 1.0
    assert soft == errno.EHOSTUNREACH and t_soft >= 1.9
    kinds = {(e.kind, e.action) for e in rec.events if isinstance(e, IcmpEvent)}
    assert ("packet-filtered", "hard") in kinds and ("host-unreachable", "soft") in kinds
