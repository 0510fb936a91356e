"""Keep-alives (RFC 9293 §3.8.4, MUST-24..29), in the core and through the socket API."""

from __future__ import annotations

import errno
import socket as real_socket

import pytest
from harness import Tcb, established, established_passive, ms, sec  # noqa: F401

from synack import api
from synack.link.sim import Network
from synack.tcp.config import TcpConfig
from synack.tcp.errors import ConnectionTimeout
from synack.trace.events import TimerArmed

IDLE, INTVL, CNT = sec(10), sec(2), 3


def keepalive_on(t: Tcb, idle=IDLE, interval=INTVL, count=CNT) -> Tcb:
    t.conn.set_keepalive(True, t.now, idle=idle, interval=interval, count=count)
    return t


def test_keepalives_are_off_by_default_and_idle_is_two_hours():
    """MUST-25 (off by default) and MUST-28 (interval no less than two hours)."""
    cfg = TcpConfig()
    assert cfg.keepalive is False and cfg.keepalive_idle == sec(7200)
    assert (cfg.keepalive_interval, cfg.keepalive_count) == (sec(75), 9)   # Linux's defaults
    t = established()
    t.advance(sec(3 * 3600))
    t.expect_silence()
    t.expect_state("ESTABLISHED")


def test_idle_connection_is_probed_at_snd_una_minus_1_without_data(isns):
    """MUST-26: only when nothing was received for the interval; the probe carries no data
    and the sequence number SND.UNA-1, which the peer must answer (Linux's probe)."""
    t = keepalive_on(established(isns))
    t.advance(IDLE - 1)
    t.expect_silence()
    t.advance(1)
    t.expect_sent(".", seq=t.iss, ack=t.irs + 1, len=0, cause="keepalive", at=IDLE)
    t.expect_silence()


def test_an_answered_probe_restarts_the_idle_time(isns):
    t = keepalive_on(established(isns))
    t.advance(IDLE)
    t.expect_sent(".", seq=t.iss, cause="keepalive")
    t.advance(ms(20))
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 1)               # the peer's answer
    t.advance(INTVL * 3)
    t.expect_silence()                                             # no unanswered-probe cadence
    t.advance(IDLE - INTVL * 3)
    t.expect_sent(".", seq=t.iss, cause="keepalive", at=IDLE + ms(20) + IDLE)


def test_data_received_postpones_the_probe(isns):
    t = keepalive_on(established(isns))
    t.advance(sec(6))
    t.peer_sends("P.", seq=t.irs + 1, ack=t.iss + 1, data=b"news")
    t.expect_sent(".", ack=t.irs + 5)
    t.advance(sec(9))
    t.expect_silence()                                             # 15 s in, 9 s idle
    t.advance(sec(1))
    t.expect_sent(".", seq=t.iss, ack=t.irs + 5, cause="keepalive", at=sec(16))


def test_unanswered_probes_end_the_connection_after_count_not_one(isns):
    """MUST-29: one unanswered probe is not a dead peer; after ``count`` of them, an
    interval apart, the connection ends with an RST and ConnectionTimeout (as Linux)."""
    t = keepalive_on(established(isns))
    t.advance(IDLE + CNT * INTVL - 1)
    for k in range(CNT):
        t.expect_sent(".", seq=t.iss, cause="keepalive", at=IDLE + k * INTVL)
    t.expect_state("ESTABLISHED")
    t.advance(1)
    t.expect_sent("R.", seq=t.iss + 1, at=IDLE + CNT * INTVL)  # (Linux's RST,ACK: rst_ack)
    t.expect_state("CLOSED")
    assert isinstance(t.conn.error, ConnectionTimeout) and "keep-alive" in str(t.conn.error)
    assert t.conn.next_deadline() is None


def test_no_probe_while_data_is_outstanding(isns):
    """MUST-26: with sent data unacknowledged the retransmission timer watches the peer."""
    t = keepalive_on(established(isns), idle=sec(2))
    t.send(b"waiting")
    t.expect_sent("P.", data=b"waiting")
    t.advance(sec(6))
    sent = t.drain()
    assert sent and all(c == "rto" for _, _, c in sent)


def test_keepalive_is_switched_per_connection(isns):
    """MUST-24: on and off for one connection; off cancels the timer."""
    t = keepalive_on(established(isns))
    t.advance(sec(5))
    t.conn.set_keepalive(False, t.now)
    t.advance(sec(100))
    t.expect_silence()
    other = established(isns)
    assert other.conn.config.keepalive is False          # the other connection is untouched


def test_keepalive_in_the_config_starts_when_the_connection_is_established(isns):
    t = established_passive(isns, config=TcpConfig(delayed_ack=None, keepalive=True, keepalive_idle=IDLE))
    t.advance(IDLE)
    t.expect_sent(".", seq=t.iss, cause="keepalive")
    armed = [e for e in t.recorder.events if isinstance(e, TimerArmed) and e.name == "keepalive"]
    assert armed and armed[0].deadline == IDLE


@pytest.mark.parametrize("kw, word", [(dict(count=0), "keepalive_count"), (dict(idle=0), "keepalive_idle"),
                                      (dict(interval=-1), "keepalive_interval")])
def test_bad_values_are_refused_by_name(kw, word):
    t = established()
    with pytest.raises(ValueError, match=word):
        t.conn.set_keepalive(True, t.now, **kw)


# ------------------------------------------------------------------------------ socket API
def pair():
    net = Network(seed=1)
    net.add_host("client", ["10.0.0.1"])
    net.add_host("server", ["10.0.0.2"])
    net.default_path.delay = ms(10)
    srv = api.create_server(net, "server", ("", 80))
    cli = api.create_connection(net, "client", ("server", 80))
    conn, _ = srv.accept()
    return net, srv, cli, conn


def test_socket_defaults_match_the_kernel():
    """getsockopt before any setsockopt: what a real Linux socket reports."""
    real = real_socket.socket()
    net, srv, cli, conn = pair()
    try:
        for level, opt in ((api.SOL_SOCKET, api.SO_KEEPALIVE), (api.IPPROTO_TCP, api.TCP_KEEPIDLE),
                           (api.IPPROTO_TCP, api.TCP_KEEPINTVL), (api.IPPROTO_TCP, api.TCP_KEEPCNT)):
            assert cli.getsockopt(level, opt) == real.getsockopt(level, opt)
            cli.setsockopt(level, opt, 1)
            real.setsockopt(level, opt, 1)
            assert cli.getsockopt(level, opt) == real.getsockopt(level, opt) == 1
        for opt, bad in ((api.TCP_KEEPIDLE, 0), (api.TCP_KEEPIDLE, 32768), (api.TCP_KEEPINTVL, 0),
                         (api.TCP_KEEPCNT, 128)):
            with pytest.raises(OSError) as ours:
                cli.setsockopt(api.IPPROTO_TCP, opt, bad)
            with pytest.raises(OSError) as theirs:
                real.setsockopt(api.IPPROTO_TCP, opt, bad)
            assert ours.value.errno == theirs.value.errno == errno.EINVAL
    finally:
        real.close()


def test_a_vanished_peer_makes_recv_raise_timeout_error():
    net, srv, cli, conn = pair()
    cli.setsockopt(api.SOL_SOCKET, api.SO_KEEPALIVE, 1)
    cli.setsockopt(api.IPPROTO_TCP, api.TCP_KEEPIDLE, 10)
    cli.setsockopt(api.IPPROTO_TCP, api.TCP_KEEPINTVL, 2)
    cli.setsockopt(api.IPPROTO_TCP, api.TCP_KEEPCNT, 3)
    api.sleep(net, 25)                          # answered probes keep it alive
    assert cli.connection.state.value == "ESTABLISHED"
    net.drop_if(lambda p: p.src_host == "server")
    start = net.now
    with pytest.raises(TimeoutError) as e:
        cli.recv(10)
    assert e.value.errno == errno.ETIMEDOUT
    # the last answer came back around 20.05 s; idle 10 s, then 3 probes 2 s apart, then give up
    assert sec(10) <= net.now - start <= sec(12)


def test_a_listening_sockets_keepalive_passes_to_accepted_connections():
    net = Network(seed=1)
    net.add_host("client", ["10.0.0.1"])
    net.add_host("server", ["10.0.0.2"])
    srv = api.create_server(net, "server", ("", 80))
    srv.setsockopt(api.SOL_SOCKET, api.SO_KEEPALIVE, 1)
    srv.setsockopt(api.IPPROTO_TCP, api.TCP_KEEPIDLE, 30)
    cli = api.create_connection(net, "client", ("server", 80))
    conn, _ = srv.accept()
    assert conn.getsockopt(api.SOL_SOCKET, api.SO_KEEPALIVE) == 1
    assert conn.getsockopt(api.IPPROTO_TCP, api.TCP_KEEPIDLE) == 30
    assert conn.connection.config.keepalive_idle == sec(30)
    api.sleep(net, 31)
    probes = [e for e in net.recorder.events if e.event == "send" and e.cause == "keepalive"]
    assert [p.host for p in probes] == ["server"]
    assert cli.connection.state.value == "ESTABLISHED"
