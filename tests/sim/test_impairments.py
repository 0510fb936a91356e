"""One scripted fault at a time, and what TCP does about it on the wire.

Each test drops a chosen packet (``drop_nth``, ``drop_if``) on a clean 10 ms path and
checks the recovery the RFCs prescribe in the trace: which segment is sent again, why
(``cause``), and when (simulated time). Every scenario runs with RFC 6528 ISNs and with
ISNs near 2**32.
"""

from __future__ import annotations

import time

import pytest
from simhelp import (ACK, CLIENT, FIN, ISNS, PORT, RST, SERVER, SYN,
                     app_abort, app_close, app_receive, app_send, assert_closed_cleanly, drops, has,
                     is_syn, open_connection, payload, run_until_closed, sent, states,
                     time_wait_deadlines, transfer, two_hosts)

from synack.tcp.config import TcpConfig
from synack.tcp.errors import ConnectionAborted, ConnectionRefused, ConnectionReset, ConnectionTimeout
from synack.tcp.state import State
from synack.trace.events import ConnectionError_, TimerFired
from synack.timeunits import ms, sec

DELAY = ms(10)  # the one-way delay two_hosts() sets


def retransmissions(net, host):
    return [e for e in sent(net, host) if e.retransmit]


def idle_connection(wrap, seed=1):
    """An established pair that has exchanged a request and a reply (2 000 octets each
    way, so near-2**32 ISNs wrap) and has nothing left in flight."""
    net, client, server = two_hosts(seed, wrap=wrap)
    c, s = open_connection(net, client, server)
    transfer(net, c, s, payload(2000, 1), payload(2000, 2), close=None)
    assert net.run_until(lambda: c.all_acked and s.all_acked, sec(1))
    net.run_for(ms(100))  # delayed ACKs out of the way
    return net, client, server, c, s


# ---- lost data: RFC 5681 §3.2 fast retransmit, RFC 6298 (5.4) retransmission timeout -------

@ISNS
def test_lost_data_segment_is_fast_retransmitted_after_three_duplicate_acks(wrap):
    net, client, server = two_hosts(1, wrap=wrap)
    c, s = open_connection(net, client, server)
    # Client -> server so far: 1 the SYN, 2 the ACK of the SYN,ACK. Data starts at 3.
    fault = net.drop_nth(CLIENT, SERVER, 4)  # the second data segment
    data = payload(20_000)  # more than the initial window of 10 segments

    _, got = transfer(net, c, s, data, b"", close=None)

    assert got == data
    assert fault.hits == 1
    (lost,) = drops(net, "scripted")
    assert lost.seg is not None
    # (full-sized segments carry Eff.snd.MSS: SendMSS less the timestamps option, RFC 7323)
    assert lost.seg.seq == c.iss + 1 + c.eff_snd_mss and len(lost.seg.payload) == c.eff_snd_mss
    (again,) = retransmissions(net, CLIENT)
    assert again.seg is not None
    assert (again.seg.seq, again.seg.payload, again.cause) == (lost.seg.seq, lost.seg.payload,
                                                               "fast-retransmit")
    assert again.t - lost.t < ms(200)  # well before any RTO could fire
    assert c.retransmits == 1


@ISNS
def test_lost_last_segment_is_retransmitted_when_the_rto_expires(wrap):
    net, client, server = two_hosts(1, wrap=wrap)
    client.config.rack = False  # (else a tail loss probe goes out in the RTO's place, RFC 8985 §7.2)
    c, s = open_connection(net, client, server)
    # Data segments 1460 + 1460 + 80 are client packets 3, 4, 5; nothing follows the last
    # to produce duplicate ACKs, so only the timer can recover it.
    fault = net.drop_nth(CLIENT, SERVER, 5)
    data = payload(3000)

    _, got = transfer(net, c, s, data, b"", close=None)

    assert got == data
    assert fault.hits == 1
    (lost,) = drops(net, "scripted")
    assert lost.seg is not None
    assert len(lost.seg.payload) == 3000 - 2 * c.eff_snd_mss
    (again,) = retransmissions(net, CLIENT)
    assert again.seg is not None
    assert (again.seg.seq, again.seg.payload, again.cause) == (lost.seg.seq, lost.seg.payload, "rto")
    fired = [e for e in net.recorder.events if type(e) is TimerFired and e.host == CLIENT and e.name == "rto"]
    assert [e.t for e in fired] == [again.t]
    assert again.t - lost.t >= ms(200)  # RFC 6298 (2.4): RTO >= min_rto (200 ms, as Linux)


@ISNS
def test_retransmission_of_a_short_segment_stays_below_snd_nxt(wrap):
    net, client, server = two_hosts(1, wrap=wrap)
    c, s = open_connection(net, client, server)
    net.drop_nth(CLIENT, SERVER, 3)  # the first data segment: 720 octets
    first, second = payload(720, 1), payload(500, 2)
    app_send(net, c, first)
    app_send(net, c, second)  # Nagle holds these 500 octets while the 720 are unacknowledged
    got = b""

    def delivered_and_acknowledged():
        nonlocal got
        if s.readable:
            got += app_receive(net, s)
        return (len(got) >= 1220 and c.all_acked) or c.state is State.CLOSED

    assert net.run_until(delivered_and_acknowledged, sec(10)), (
        f"client {c.status()}, {len(drops(net, 'ack-of-unsent'))} ACKs dropped as ack-of-unsent")

    assert got == first + second
    assert drops(net, "ack-of-unsent") == []
    # RFC 9293 §3.10.7.4: the receiver never acknowledges beyond what the sender sent.
    assert all(e.seg.ack.le(c.snd_nxt) for e in sent(net, SERVER) if e.conn == s.cid)


# ---- the three-way handshake (RFC 9293 §3.5, §3.8.3; RFC 6298 (2.1), (5.5)) ---------------

@ISNS
def test_every_syn_lost_backs_off_exponentially_then_times_out_at_r2(wrap):
    net, client, server = two_hosts(1, wrap=wrap)
    server.listen(PORT, net.now)
    syns = net.drop_if(lambda pkt: is_syn(pkt.seg))
    wall = time.perf_counter()

    # (the rfc profile: Linux's linear SYN timeouts are tests/tcp/test_retransmission.py's)
    c = client.connect(server.addrs[0], PORT, net.now, config=TcpConfig(profile="rfc"))
    assert net.run_until(lambda: c.state is State.CLOSED, sec(600))

    wall = time.perf_counter() - wall
    out = sent(net, CLIENT)
    # Initial RTO 1 s, doubled after each expiry: 1, 2, 4, ... s between SYNs.
    assert [e.t for e in out] == [sec(t) for t in (0, 1, 3, 7, 15, 31, 63, 127)]
    assert all(is_syn(e.seg) and e.seg.seq == c.iss for e in out)
    assert [(e.retransmit, e.cause) for e in out] == [(False, None)] + [(True, "rto")] * 7
    assert syns.hits == 8
    # The next expiry would be 255 s; R2 for a SYN (180 s, MUST-23) ends the attempt first.
    assert isinstance(c.error, ConnectionTimeout)
    (err,) = [e for e in net.recorder.events if type(e) is ConnectionError_]
    assert (err.host, err.t, err.error) == (CLIENT, sec(180), "timeout")
    assert states(net, c, CLIENT) == [(0, "SYN-SENT"), (sec(180), "CLOSED")]
    assert wall < 1.0, f"180 s of simulated time took {wall:.2f} s of wall time"


@ISNS
def test_lost_handshake_ack_is_recovered_by_the_syn_ack_retransmission(wrap):
    net, client, server = two_hosts(1, wrap=wrap)
    fault = net.drop_nth(CLIENT, SERVER, 2)  # 1 is the SYN, 2 the ACK of the SYN,ACK
    lst = server.listen(PORT, net.now)
    c = client.connect(server.addrs[0], PORT, net.now)

    assert net.run_until(lambda: bool(lst.accept_queue), sec(10))

    s = lst.accept()
    assert s is not None
    assert fault.hits == 1 and fault.n == 2
    synacks = [e for e in sent(net, SERVER) if has(e.seg, SYN)]
    assert [(e.retransmit, e.cause) for e in synacks] == [(False, None), (True, "rto")]
    assert synacks[1].t - synacks[0].t == sec(1)  # the initial RTO
    # The client is ESTABLISHED one RTT after its SYN; it answers the duplicate SYN,ACK
    # (out of window now) with an ACK, and that one completes the server's side.
    assert states(net, c, CLIENT) == [(0, "SYN-SENT"), (2 * DELAY, "ESTABLISHED")]
    assert states(net, s, SERVER) == [(DELAY, "SYN-RECEIVED"),
                                      (synacks[1].t + 2 * DELAY, "ESTABLISHED")]
    up, down = payload(5000, 1), payload(5000, 2)
    got_by_client, got_by_server = transfer(net, c, s, up, down)
    assert (got_by_client, got_by_server) == (down, up)
    run_until_closed(net, c, s)
    assert_closed_cleanly(net, c, s)


@ISNS
def test_lost_handshake_ack_is_recovered_by_the_first_data_segment(wrap):
    net, client, server = two_hosts(1, wrap=wrap)
    net.drop_nth(CLIENT, SERVER, 2)
    lst = server.listen(PORT, net.now)
    c = client.connect(server.addrs[0], PORT, net.now)
    assert net.run_until(lambda: c.state is State.ESTABLISHED, sec(1))
    request = payload(1200)

    app_send(net, c, request)  # carries ACK: it completes the handshake (RFC 9293 §3.10.7.4)
    assert net.run_until(lambda: bool(lst.accept_queue), ms(500))  # before the SYN,ACK's RTO

    s = lst.accept()
    assert s is not None
    assert net.run_until(lambda: s.readable >= len(request), ms(100))
    assert app_receive(net, s) == request
    assert retransmissions(net, SERVER) == [] and retransmissions(net, CLIENT) == []


# ---- resets (RFC 9293 §3.10.7.1, §3.10.7.3, §3.10.5, §3.10.7.4) -----------------------------

@ISNS
def test_connect_to_a_port_without_listener_is_refused_by_rst(wrap):
    net, client, server = two_hosts(1, wrap=wrap)
    c = client.connect(server.addrs[0], PORT + 1, net.now)

    assert net.run_until(lambda: c.state is State.CLOSED, sec(5))

    assert isinstance(c.error, ConnectionRefused)
    (nobody,) = drops(net, "no-listener")
    assert nobody.host == SERVER and is_syn(nobody.seg)
    # <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> for a segment without ACK.
    (rst,) = sent(net, SERVER)
    assert (rst.seg.flags, rst.seg.seq, rst.seg.ack) == (RST | ACK, 0, c.iss + 1)
    assert states(net, c, CLIENT) == [(0, "SYN-SENT"), (2 * DELAY, "CLOSED")]
    assert c.retransmits == 0


@ISNS
def test_abort_sends_rst_and_the_peer_reports_connection_reset(wrap):
    net, client, server, c, s = idle_connection(wrap)
    snd_nxt = c.snd_nxt

    app_abort(net, c)

    assert c.state is State.CLOSED and isinstance(c.error, ConnectionAborted)
    rst = sent(net, CLIENT)[-1]
    # <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK>: the linux profile's ABORT (RFC 9293 §3.10.5 has no ACK)
    assert (rst.seg.flags, rst.seg.seq) == (RST | ACK, snd_nxt)
    assert net.run_until(lambda: s.state is State.CLOSED, sec(1))
    assert isinstance(s.error, ConnectionReset)
    assert states(net, s, SERVER)[-1] == (rst.t + DELAY, "CLOSED")
    with pytest.raises(ConnectionReset):
        s.receive(1, net.now)
    net.run()
    assert [e for e in sent(net) if has(e.seg, RST)] == [rst]  # nobody answers a reset


# ---- closing (RFC 9293 §3.6, §3.10.4, §3.10.7.4, §3.10.8) ----------------------------------

@ISNS
def test_lost_fin_is_retransmitted(wrap):
    net, client, server, c, s = idle_connection(wrap)
    fault = net.drop_if(lambda pkt: pkt.src_host == CLIENT and has(pkt.seg, FIN), count=1)

    app_close(net, c)
    assert net.run_until(lambda: s.at_eof, sec(10))
    app_close(net, s)
    run_until_closed(net, c, s)

    assert fault.hits == 1
    first, again = [e for e in sent(net, CLIENT) if has(e.seg, FIN)]
    assert first.seg.seq == again.seg.seq and not first.retransmit
    # (a lone FIN: the tail loss probe goes out at the RTO's time, in its place, RFC 8985 §7.2)
    assert (again.retransmit, again.cause) == (True, "tlp")
    assert again.t - first.t >= ms(200)
    assert_closed_cleanly(net, c, s)


@ISNS
def test_active_closer_stays_in_time_wait_for_2msl_then_closes(wrap):
    net, client, server, c, s = idle_connection(wrap)

    app_close(net, c)
    assert net.run_until(lambda: s.at_eof, sec(1))
    app_close(net, s)
    run_until_closed(net, c, s)

    client_history = states(net, c, CLIENT)
    assert [st for _, st in client_history] == ["SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2",
                                               "TIME-WAIT", "CLOSED"]
    assert [st for _, st in states(net, s, SERVER)] == ["SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT",
                                                         "LAST-ACK", "CLOSED"]
    (time_wait_at, _), (closed_at, _) = client_history[-2:]
    assert closed_at - time_wait_at == sec(60)  # 2*MSL, MSL = 30 s
    assert time_wait_deadlines(net, c, CLIENT) == [closed_at]
    assert states(net, s, SERVER)[-1][0] == time_wait_at + DELAY  # the final ACK's one-way trip
    assert_closed_cleanly(net, c, s)


@ISNS
def test_time_wait_acks_a_retransmitted_fin_and_restarts_2msl(wrap):
    net, client, server, c, s = idle_connection(wrap)
    app_close(net, c)
    assert net.run_until(lambda: s.at_eof, sec(1))
    # The client's final ACK, the first segment it sends from TIME-WAIT, is lost.
    fault = net.drop_if(lambda pkt: pkt.src_host == CLIENT and c.state is State.TIME_WAIT, count=1)

    app_close(net, s)
    run_until_closed(net, c, s)

    assert fault.hits == 1
    fin, fin_again = [e for e in sent(net, SERVER) if has(e.seg, FIN)]
    # (a lone FIN: the tail loss probe goes out at the RTO's time, in its place, RFC 8985 §7.2)
    assert (fin_again.seg.seq, fin_again.retransmit, fin_again.cause) == (fin.seg.seq, True, "tlp")
    time_wait_at = [t for t, st in states(net, c, CLIENT) if st == "TIME-WAIT"][0]
    assert time_wait_at == fin.t + DELAY
    arrived = fin_again.t + DELAY
    (refin,) = drops(net, "retransmitted-fin")
    assert (refin.host, refin.t) == (CLIENT, arrived)
    acks = [e for e in sent(net, CLIENT) if e.t >= time_wait_at]
    assert [(e.t, e.seg.flags, e.seg.ack) for e in acks] == [(time_wait_at, ACK, fin.seg.seq + 1),
                                                             (arrived, ACK, fin.seg.seq + 1)]
    # The 2*MSL timer restarted when the FIN came again.
    assert time_wait_deadlines(net, c, CLIENT) == [time_wait_at + sec(60), arrived + sec(60)]
    assert states(net, c, CLIENT)[-1] == (arrived + sec(60), "CLOSED")
    assert states(net, s, SERVER)[-1] == (arrived + DELAY, "CLOSED")
    assert_closed_cleanly(net, c, s)
