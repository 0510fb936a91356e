"""TCP_INFO, TCP_MAXSEG and MSG_PEEK on synack's socket, as code written against Linux reads
them (the struct tcp_info layout is checked with the drill's decoder, which also reads the
kernel's)."""

from __future__ import annotations

import errno
import socket as real_socket

import pytest
from api_helpers import connected_pair, make_net

from synack import api
from synack.drill.tcpinfo import decode
from synack.tcp.config import TcpConfig
from synack.timeunits import ms, sec
from synack.wire.tcp import SYN, WindowScale
from synack.trace.events import SegmentSent


def test_tcp_info_has_linuxs_layout_and_describes_the_connection(net):
    cli, conn, srv = connected_pair(net)
    raw = cli.getsockopt(api.IPPROTO_TCP, api.TCP_INFO, 256)
    assert len(raw) == 248                                     # sizeof(struct tcp_info), Linux 6.x
    info = decode(raw)
    assert info["tcpi_state"] == 1                             # TCP_ESTABLISHED
    assert info["tcpi_options"] == 1 | 2 | 4                   # timestamps, SACK, window scaling
    assert (info["tcpi_snd_wscale"], info["tcpi_rcv_wscale"]) == (10, 10)
    assert info["tcpi_snd_mss"] == 1448 and info["tcpi_rcv_mss"] == 1460   # 1460 less TSopt
    assert info["tcpi_rtt"] == 10_000                          # 10 ms (5 ms each way), in us
    assert info["tcpi_snd_cwnd"] == 10 and info["tcpi_snd_ssthresh"] == 0x7FFFFFFF  # IW10, infinite
    assert info["tcpi_unacked"] == 0 and info["tcpi_total_retrans"] == 0
    assert info["tcpi_ato"] == 0 and info["tcpi_rto"] >= 200_000  # no data yet: no ATO (Linux)
    net.set_path("client", "server", loss=1.0)                 # nothing arrives from now on
    cli.setsockopt(api.IPPROTO_TCP, api.TCP_NODELAY, 1)
    cli.sendall(b"x" * 3000)
    net.run_for(sec(1))                                        # a loss probe and an RTO later
    info = decode(cli.getsockopt(api.IPPROTO_TCP, api.TCP_INFO, 256))
    assert info["tcpi_unacked"] == 3 and info["tcpi_bytes_retrans"] > 0    # some of it sent again,
    assert info["tcpi_bytes_sent"] == 3000 + info["tcpi_bytes_retrans"]   # counted in bytes_sent too
    assert info["tcpi_bytes_acked"] == 0 and info["tcpi_notsent_bytes"] == 0
    assert info["tcpi_total_retrans"] >= 1 and info["tcpi_rto"] > 200_000  # backed off
    # Without a buflen, Python reads the first int, as on a real socket.
    assert cli.getsockopt(api.IPPROTO_TCP, api.TCP_INFO) & 0xFF == 1
    # A listener reads as TCP_LISTEN; TCP_INFO is read-only.
    assert decode(srv.getsockopt(api.IPPROTO_TCP, api.TCP_INFO, 256))["tcpi_state"] == 10
    with pytest.raises(OSError) as e:
        cli.setsockopt(api.IPPROTO_TCP, api.TCP_INFO, 1)
    assert e.value.errno == errno.ENOPROTOOPT


def test_tcp_maxseg_sets_the_mss_offered_and_caps_the_segments_sent(net):
    """RFC 9293 §3.7.1 MUST-16: the send MSS is the smaller of the peer's MSS and the local
    limit (here TCP_MAXSEG), less the options every segment carries."""
    srv = api.create_server(net, "server", ("", 80))
    cli = api.socket(net, "client")
    assert cli.getsockopt(api.IPPROTO_TCP, api.TCP_MAXSEG) == 536        # Linux's TCP_MSS_DEFAULT
    cli.setsockopt(api.IPPROTO_TCP, api.TCP_MAXSEG, 1000)
    assert cli.getsockopt(api.IPPROTO_TCP, api.TCP_MAXSEG) == 1000
    cli.connect(("10.0.0.2", 80))
    conn, _ = srv.accept()
    syn = [e for e in net.recorder.events if isinstance(e, SegmentSent) and e.seg.flags == SYN][0]
    assert syn.seg.mss == 1000
    assert cli.getsockopt(api.IPPROTO_TCP, api.TCP_MAXSEG) == 988        # less TSopt, as Linux's mss_cache
    cli.sendall(b"y" * 5000)
    got = b""
    while len(got) < 5000:
        got += conn.recv(10_000)
    sizes = {len(e.seg.payload) for e in net.recorder.events
             if isinstance(e, SegmentSent) and e.host == "client" and e.seg.payload}
    assert max(sizes) == 988
    for bad in (1, 87, 32768, -1):
        with pytest.raises(OSError) as err:
            cli.setsockopt(api.IPPROTO_TCP, api.TCP_MAXSEG, bad)
        assert err.value.errno == errno.EINVAL


def test_so_rcvbuf_is_doubled_and_sets_the_window_scale_the_syn_offers(net):
    """Linux: SO_RCVBUF is capped at rmem_max, doubled, reported doubled; set before
    connect() half of it is the window's space, which fixes the scale (RFC 7323 §2.2)."""
    srv = api.create_server(net, "server", ("", 80))
    cli = api.socket(net, "client")
    assert cli.getsockopt(api.SOL_SOCKET, api.SO_RCVBUF) == 131072      # tcp_rmem[1]
    cli.setsockopt(api.SOL_SOCKET, api.SO_RCVBUF, 1)
    assert cli.getsockopt(api.SOL_SOCKET, api.SO_RCVBUF) == 2304        # SOCK_MIN_RCVBUF
    cli.setsockopt(api.SOL_SOCKET, api.SO_RCVBUF, 1 << 30)
    assert cli.getsockopt(api.SOL_SOCKET, api.SO_RCVBUF) == 2 * 212992  # rmem_max, doubled
    cli.setsockopt(api.SOL_SOCKET, api.SO_RCVBUF, 65536)
    assert cli.getsockopt(api.SOL_SOCKET, api.SO_RCVBUF) == 131072
    cli.connect(("10.0.0.2", 80))
    srv.accept()
    syn = [e for e in net.recorder.events if isinstance(e, SegmentSent) and e.seg.flags == SYN][0]
    ws = syn.seg.option(WindowScale)
    assert ws is not None and ws.shift == 1                            # 65536 needs a shift of 1 (not 10)


def test_tcp_user_timeout_times_the_connection_out_with_etimedout(net):
    """RFC 9293 §3.8.3 MUST-21 (RFC 5482): the application's R2. Counted from the first
    retransmission, the RTO cut to fire at its end."""
    cli, conn, _ = connected_pair(net)
    cli.setsockopt(api.IPPROTO_TCP, api.TCP_USER_TIMEOUT, 1000)
    assert cli.getsockopt(api.IPPROTO_TCP, api.TCP_USER_TIMEOUT) == 1000
    with pytest.raises(OSError) as err:
        cli.setsockopt(api.IPPROTO_TCP, api.TCP_USER_TIMEOUT, -1)
    assert err.value.errno == errno.EINVAL
    net.set_path("client", "server", loss=1.0)               # nothing arrives from now on
    start = net.now
    cli.sendall(b"x" * 10)
    with pytest.raises(OSError) as err:
        cli.recv(100)
    assert err.value.errno == errno.ETIMEDOUT
    # a loss probe at 200 ms, the first RTO retransmission at 400 ms, then 1 s of user
    # timeout (the RTO, backed off to 800 ms and more, cut to end there): not 15 min of R2
    assert net.now - start == ms(1400)


def test_msg_peek_returns_data_and_leaves_it_to_be_read(net):
    cli, conn, _ = connected_pair(net)
    cli.sendall(b"hello world")
    assert conn.recv(5, api.MSG_PEEK) == b"hello"
    assert conn.recv(100, api.MSG_PEEK) == b"hello world"
    assert conn.recv(100) == b"hello world"
    conn.setblocking(False)
    with pytest.raises(BlockingIOError):
        conn.recv(100, api.MSG_PEEK)


def test_the_constants_are_linuxs():
    assert (api.TCP_MAXSEG, api.MSG_PEEK) == (real_socket.TCP_MAXSEG, real_socket.MSG_PEEK)
    assert api.TCP_INFO == 11
    assert TcpConfig().profile == "linux"


def watch(net) -> list:
    """(TOS or Traffic Class octet, TTL or Hop Limit, segment) of every packet on the wire."""
    seen: list = []

    def look(p) -> bool:
        h = p.hdr
        seen.append((getattr(h, "tos", None) if hasattr(h, "tos") else h.traffic_class,
                     getattr(h, "ttl", None) if hasattr(h, "ttl") else h.hop_limit, p.seg))
        return False

    net.drop_if(look)
    return seen


def test_ip_tos_sets_the_ds_field_and_ecn_stays_the_stacks():
    """RFC 9293 §3.9.1.9 MUST-48, SHLD-21, SHLD-22: the application sets the DS field during
    the connection and it reaches IP unchanged; the ECN bits stay TCP's (RFC 3168)."""
    net = make_net()
    for name in ("client", "server"):
        net.host(name).config = TcpConfig(ecn="on")
    cli, conn, _ = connected_pair(net)
    seen = watch(net)
    cli.setsockopt(api.IPPROTO_IP, api.IP_TOS, 0xB8 | 3)        # EF, and ECN bits it may not set
    assert cli.getsockopt(api.IPPROTO_IP, api.IP_TOS) == 0xBB   # read back as set, as Linux does
    cli.sendall(b"data")
    assert conn.recv(10) == b"data"
    data = [(tos, seg) for tos, _, seg in seen if seg.payload]
    assert [tos for tos, _ in data] == [0xB8 | 2]               # DSCP 46, ECT(0): the stack's ECN
    net.run_for(sec(1))                                         # the server's delayed ACK
    acks = [tos for tos, _, seg in seen if not seg.payload]
    assert acks and set(acks) == {0}                            # the server's socket has its own


def test_ipv6_tclass_and_unicast_hops_set_the_ipv6_header():
    """RFC 9293 §3.9.1.9 MUST-48 and §3.9.2 MUST-49 over IPv6."""
    net = make_net(client=("fd00::1",), server=("fd00::2",))
    cli, conn, _ = connected_pair(net, family=api.AF_INET6, server_addr="fd00::2")
    seen = watch(net)
    assert cli.getsockopt(api.IPPROTO_IPV6, api.IPV6_UNICAST_HOPS) == 64
    cli.setsockopt(api.IPPROTO_IPV6, api.IPV6_TCLASS, 0x28)
    cli.setsockopt(api.IPPROTO_IPV6, api.IPV6_UNICAST_HOPS, 7)
    cli.sendall(b"six")
    assert conn.recv(10) == b"six"
    assert [(tc, hops) for tc, hops, seg in seen if seg.payload] == [(0x28, 7)]
    for bad in (256, -2):
        with pytest.raises(OSError) as e:
            cli.setsockopt(api.IPPROTO_IPV6, api.IPV6_TCLASS, bad)
        assert e.value.errno == errno.EINVAL


def test_ip_ttl_is_per_socket_and_inherited_from_a_listener():
    """RFC 9293 §3.9.2 MUST-49: the TTL is configurable, per connection."""
    net = make_net()
    srv = api.create_server(net, "server", ("", 80))
    srv.setsockopt(api.IPPROTO_IP, api.IP_TTL, 9)
    seen = watch(net)
    cli = api.create_connection(net, "client", ("10.0.0.2", 80))
    conn, _ = srv.accept()
    assert conn.getsockopt(api.IPPROTO_IP, api.IP_TTL) == 9
    conn.sendall(b"hi")
    assert cli.recv(10) == b"hi"
    assert {ttl for _, ttl, seg in seen if seg.src_port == 80} == {9}     # the SYN,ACK too
    assert {ttl for _, ttl, seg in seen if seg.dst_port == 80} == {64}
    for bad in (0, 256, -2):
        with pytest.raises(OSError) as e:
            cli.setsockopt(api.IPPROTO_IP, api.IP_TTL, bad)
        assert e.value.errno == errno.EINVAL
