"""Flow control and loss recovery on the simulator, end to end: SACK recovery of several
losses in one window (RFC 6675, RFC 9937), a zero-window stall that ends when the reader
drains (RFC 9293 §3.8.6.1), window scaling filling a long fat path (RFC 7323 §2), PAWS
dropping an old duplicate (RFC 7323 §5), RACK-TLP repairing a tail loss before the RTO
(RFC 8985), and ECN halving the window without a loss (RFC 3168). Every scenario also runs
with ISNs near 2**32."""

from __future__ import annotations

from simhelp import (CLIENT, CLIENT_WRAP_ISN, ISNS, SERVER, SERVER_WRAP_ISN, app_receive,
                     open_connection, payload, sent, transfer, two_hosts)

from synack.link.sim import Network
from synack.tcp.config import TcpConfig
from synack.tcp.isn import FixedIsn
from synack.tcp.state import State
from synack.timeunits import ms, sec
from synack.trace.events import CongestionChanged, SegmentDropped, SegmentReceived, TimerFired
from synack.wire.ip import ecn_of, emit_packet, parse_packet
from synack.wire.tcp import CWR, ECE, Timestamps


def hosts(wrap: bool, seed: int = 1, client_cfg=None, server_cfg=None, **path):
    """Two hosts with their own configs; ``path`` sets both directions (delay 10 ms)."""
    net = Network(seed=seed)
    ck, sk = {}, {}
    if wrap:
        ck["isn"], sk["isn"] = FixedIsn(CLIENT_WRAP_ISN), FixedIsn(SERVER_WRAP_ISN)
    if client_cfg is not None:
        ck["config"] = client_cfg
    if server_cfg is not None:
        sk["config"] = server_cfg
    client = net.add_host(CLIENT, ["10.0.0.1"], **ck)
    server = net.add_host(SERVER, ["10.0.0.2"], **sk)
    path.setdefault("delay", ms(10))
    net.set_both(CLIENT, SERVER, **path)
    return net, client, server


def timers_fired(net, name, host=CLIENT):
    return [e for e in net.recorder.events if type(e) is TimerFired and e.name == name and e.host == host]


def data_segments_sent(net, host=CLIENT, retransmit=None):
    return [e for e in sent(net, host) if e.seg.payload and (retransmit is None or e.retransmit == retransmit)]


def drop_data(net, indexes):
    """Drop the client's data segments numbered ``indexes`` (1 = the first), once each."""
    seen = [0]

    def pick(p) -> bool:
        if p.src_host == CLIENT and p.seg is not None and p.seg.payload:
            seen[0] += 1
            return seen[0] in indexes
        return False

    return net.drop_if(pick)


# ----------------------------------------------------------------- SACK recovery

@ISNS
def test_sack_recovers_several_losses_in_one_window_without_a_timeout(wrap):
    net, client, server = two_hosts(1, wrap=wrap)
    c, s = open_connection(net, client, server)
    assert c.sack_ok and s.sack_ok and c.ts_ok
    fault = drop_data(net, {4, 7, 9})
    data = payload(60_000)
    _, got = transfer(net, c, s, data, b"", close=None)
    assert got == data and fault.hits == 3
    first = data_segments_sent(net, retransmit=False)
    lost = {first[i - 1].seg.seq for i in (4, 7, 9)}
    again = data_segments_sent(net, retransmit=True)
    assert {e.seg.seq for e in again} == lost and len(again) == 3   # each hole exactly once
    assert again[0].cause == "fast-retransmit"
    assert not timers_fired(net, "rto")
    # All three repaired within two round trips (20 ms each) of the first retransmission.
    assert again[-1].t - again[0].t <= ms(40)


# ----------------------------------------------------------------- zero window

@ISNS
def test_zero_window_stall_recovers_when_the_reader_drains(wrap):
    small = TcpConfig(rcv_buf=4000)
    net, client, server = hosts(wrap, server_cfg=small)
    lst = server.listen(80, net.now)
    c = client.connect("10.0.0.2", 80, net.now)
    net.run_until(lambda: lst.accept_queue, sec(5))
    s = lst.accept()
    data = payload(40_000, 3)
    off = 0
    got = bytearray()
    reader_wakes = net.now + sec(3)              # the application reads nothing for 3 s
    while len(got) < len(data):
        if off < len(data) and c.send_space:
            off += c.send(data[off:off + c.send_space], net.now)
            client.call(c, net.now)
        if net.now >= reader_wakes and s.readable:
            got += app_receive(net, s)
        if len(got) == len(data):
            break
        assert net.run_until(lambda off=off: (net.now >= reader_wakes and s.readable) or
                             (off < len(data) and c.send_space), sec(600))
    assert bytes(got) == data
    zero = [e for e in sent(net, SERVER) if e.seg.wnd == 0]
    probes = [e for e in sent(net, CLIENT) if e.cause == "zero-window-probe"]
    assert zero and len(probes) >= 3
    assert c.state is State.ESTABLISHED and c.error is None


# ----------------------------------------------------------------- window scaling

RATE = 50e6      # 50 Mbit/s, 100 ms round trip: a bandwidth-delay product of 625 kB
DELAY = ms(50)


def steady_goodput(net, size):
    """Goodput (bit/s) while the receiver got the data from 40 % to 90 % of ``size``: past
    slow start, before the tail."""
    total = 0
    marks = {}
    for e in net.recorder.events:
        if type(e) is SegmentReceived and e.host == SERVER and e.seg.payload:
            total += len(e.seg.payload)
            for q in (40, 90):
                if q not in marks and total >= size * q // 100:
                    marks[q] = (e.t, total)
    (t1, b1), (t2, b2) = marks[40], marks[90]
    return (b2 - b1) * 8 / ((t2 - t1) / 1e9)


@ISNS
def test_window_scaling_lets_a_1mb_window_fill_a_long_fat_path(wrap):
    cfg = TcpConfig(rcv_buf=1 << 20, snd_buf=1 << 21)
    net, client, server = hosts(wrap, client_cfg=cfg, server_cfg=cfg, delay=DELAY,
                                bandwidth_bps=RATE, queue_packets=2000)
    c, s = open_connection(net, client, server)
    assert (c.snd_wscale, s.rcv_wscale) == (5, 5)
    size = 8_000_000
    _, got = transfer(net, c, s, payload(size), b"", close=None)
    assert len(got) == size
    flights = [e.flight_size for e in net.recorder.events
               if type(e) is CongestionChanged and e.host == CLIENT]
    assert max(flights) > 625_000                 # more than 64 KB in flight: the BDP
    assert steady_goodput(net, size) >= 0.9 * RATE


def test_without_window_scaling_the_same_path_runs_at_64k_per_round_trip():
    cfg = TcpConfig(rcv_buf=65535, snd_buf=1 << 21, window_scale=False)
    net, client, server = hosts(False, client_cfg=cfg, server_cfg=cfg, delay=DELAY,
                                bandwidth_bps=RATE, queue_packets=2000)
    c, s = open_connection(net, client, server)
    size = 1_000_000
    transfer(net, c, s, payload(size), b"", close=None)
    assert steady_goodput(net, size) <= 1.1 * 65535 * 8 / 0.1


# ----------------------------------------------------------------- PAWS

def paws_run(wrap: bool, timestamps: bool) -> tuple:
    """Send 20 kB, holding back a copy of one data segment (the client resends it); then
    put the held copy on the wire again with its sequence number moved to where the next
    data will go, as after the sequence space wrapped; then send 20 kB more. Returns (what
    the server received, what the client sent, drops by reason)."""
    cfg = TcpConfig(timestamps=timestamps)
    net, client, server = hosts(wrap, client_cfg=cfg, server_cfg=cfg)
    c, s = open_connection(net, client, server)
    seen = [0]

    def third(p) -> bool:
        if p.src_host == CLIENT and p.seg is not None and p.seg.payload:
            seen[0] += 1
            return seen[0] == 3
        return False

    hold = net.hold_if(third, count=1)
    one, two = payload(20_000, 1), payload(20_000, 2)
    _, got1 = transfer(net, c, s, one, b"", close=None)
    old = hold.packets[0][2]
    hold.remove()
    hdr, seg = parse_packet(old)
    wrapped = emit_packet(hdr.src, hdr.dst, seg._replace(seq=s.rcv_nxt))
    net.inject(CLIENT, wrapped, delay=ms(1))
    net.run_for(ms(5))
    _, got2 = transfer(net, c, s, two, b"", close=None)
    reasons = [e.reason for e in net.recorder.events if type(e) is SegmentDropped and e.host == SERVER]
    return got1 + got2 + s.receive(1 << 20, net.now), one + two, reasons, seg


@ISNS
def test_paws_drops_an_old_duplicate(wrap):
    got, sent_data, reasons, seg = paws_run(wrap, True)
    assert any(type(o) is Timestamps for o in seg.options)
    assert "paws" in reasons
    assert got == sent_data


def test_without_timestamps_the_old_duplicate_corrupts_the_stream():
    """What PAWS is for: the same old segment, accepted as new data."""
    got, sent_data, reasons, _ = paws_run(False, False)
    assert "paws" not in reasons
    assert got != sent_data and len(got) == len(sent_data)


# ----------------------------------------------------------------- RACK-TLP

@ISNS
def test_tail_loss_is_repaired_by_the_loss_probe_before_the_rto(wrap):
    net, client, server = two_hosts(1, wrap=wrap)
    c, s = open_connection(net, client, server)
    transfer(net, c, s, payload(3000, 1), b"", close=None)      # an RTT sample first
    t0 = net.now
    mss = c.eff_snd_mss
    fault = drop_data(net, {8, 9, 10})                           # the tail of a 10-segment flight
    data = payload(10 * mss, 2)
    _, got = transfer(net, c, s, data, b"", close=None)
    assert got == data and fault.hits == 3
    causes = [e.cause for e in data_segments_sent(net, retransmit=True) if e.t >= t0]
    assert causes[0] == "tlp" and "fast-retransmit" in causes
    assert not timers_fired(net, "rto")
    assert net.now - t0 < c.rtt.timeout                          # done before an RTO could fire


# ----------------------------------------------------------------- ECN

@ISNS
def test_ecn_marks_halve_the_window_without_a_loss(wrap):
    ecn = TcpConfig(ecn="on", congestion="newreno")
    net, client, server = hosts(wrap, client_cfg=ecn)            # the server: passive ECN
    net.set_path(CLIENT, SERVER, ecn_mark=0.02)
    codepoints = []

    def watch(p) -> bool:
        if p.src_host == CLIENT and p.seg is not None and p.hdr is not None:
            codepoints.append((bool(p.seg.payload), ecn_of(p.hdr)))
        return False

    net.drop_if(watch)
    c, s = open_connection(net, client, server)
    assert c.ecn_ok and s.ecn_ok
    data = payload(1_000_000)
    _, got = transfer(net, c, s, data, b"", close=None)
    assert got == data
    assert net.ce_marked > 0 and net.dropped.get("link-loss", 0) == 0
    assert c.retransmits == 0                                    # congestion, but no loss
    before: CongestionChanged | None = None
    halvings: list[tuple[CongestionChanged | None, CongestionChanged]] = []
    for e in net.recorder.events:
        if type(e) is CongestionChanged and e.host == CLIENT:
            if e.cause == "ecn":
                halvings.append((before, e))
            before = e
    assert halvings
    for prev, ev in halvings:
        assert prev is not None  # a halving follows some earlier cwnd
        assert ev.ssthresh == max(ev.flight_size // 2, 2 * c.eff_snd_mss)  # RFC 5681 (4)
        assert ev.cwnd <= prev.cwnd // 2 + c.eff_snd_mss
    assert any(e.seg.flags & ECE for e in sent(net, SERVER))
    assert any(e.seg.flags & CWR for e in sent(net, CLIENT))
    assert {cp for has_data, cp in codepoints if has_data} >= {2}  # ECT(0) (or CE) on data
    assert {cp for has_data, cp in codepoints if not has_data} == {0}  # never on pure ACKs
