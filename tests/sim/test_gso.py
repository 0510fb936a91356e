"""Segmentation offload on the simulator: a path with ``gso=True`` takes super-segments
from the sending host and cuts them into wire segments (``synack.link.gso``), as Linux's
GSO or a NIC's TSO does; a path without it carries a super-segment whole, as a TUN device
hands the kernel's TSO segments to synack. Both directions of the offload run here
without root: the sender sizing super-segments and repairing one lost wire segment of
one, and the receiver taking 64 KB at a time.

Every transfer checks what a user would notice: the octets arrive intact and in order,
what crossed the wire, which segments were sent again, how many ACKs came back, and how
the congestion window grew. Each runs with RFC 6528 ISNs and with ISNs near 2**32.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from typing import Any

import pytest

from simhelp import (CLIENT, ISNS, SERVER, V6, open_connection, payload, sent, transfer, two_hosts)

from synack.stack.packet import Packet
from synack.tcp.config import TcpConfig
from synack.timeunits import ms
from synack.trace.events import CongestionChanged, SegmentReceived, TimerFired
from synack.wire.seq import Seq
from synack.wire.tcp import ACK, CWR, FIN, PSH, SYN, TcpSegment

MSS = 1448          # Eff.snd.MSS beside timestamps on a 1500-octet path
BUF = 1 << 20       # both hosts' buffers: the windows never limit the senders here
LOSSY: dict[str, Any] = dict(jitter=ms(1), loss=0.05, reorder=0.05, duplicate=0.02, corrupt=0.02)


def gso_hosts(wrap: bool, gso: bool = True, seed: int = 1, addrs=None, **path):
    """Two hosts 1 ms apart whose paths do (or do not) cut super-segments."""
    extra = {"addrs": addrs} if addrs else {}
    net, client, server = two_hosts(seed, wrap=wrap, delay=path.pop("delay", ms(1)), gso=gso, **extra, **path)
    for h in (client, server):
        h.config = TcpConfig(rcv_buf=BUF, snd_buf=BUF)
    return net, client, server


def data_sent(net, host=CLIENT):
    return [e for e in sent(net, host) if e.seg.payload]


def data_received(net, host=SERVER):
    return [e for e in net.recorder.events if type(e) is SegmentReceived and e.host == host and e.seg.payload]


def acks_of_new_data(net, host=SERVER):
    """The ACKs ``host`` sent that acknowledged data it had not acknowledged before."""
    out, last = [], None
    for e in sent(net, host):
        if not e.seg.payload and not e.seg.flags & (SYN | FIN) and e.seg.ack != last:
            out.append(e)
        last = e.seg.ack
    return out


def cwnds(net, host=CLIENT):
    return [e.cwnd for e in net.recorder.events if type(e) is CongestionChanged and e.host == host]


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------ the link's cutting

def test_a_super_segment_is_cut_as_gso_cuts_it():
    from synack.link.gso import split_packet

    seg = TcpSegment(1, 2, Seq(2**32 - 1000), Seq(7), PSH | FIN | CWR | ACK, 500, bytes(range(250)) * 14, ())
    pieces = split_packet(Packet("10.0.0.1", "10.0.0.2", seg, 2, 64, 1000))
    assert [len(p.seg.payload) for p in pieces] == [1000, 1000, 1000, 500]
    assert [int(p.seg.seq) for p in pieces] == [2**32 - 1000, 0, 1000, 2000]   # wraps past 2**32
    # CWR on the first wire segment only, PSH and FIN on the last only
    assert [p.seg.flags for p in pieces] == [CWR | ACK, ACK, ACK, PSH | FIN | ACK]
    assert b"".join(p.seg.payload for p in pieces) == seg.payload
    assert all(p.gso_size == 0 and p.ecn == 2 and p.seg.ack == 7 for p in pieces)
    assert split_packet(Packet("10.0.0.1", "10.0.0.2", seg)) == [Packet("10.0.0.1", "10.0.0.2", seg)]


# ------------------------------------------------------------------ sending super-segments

@ISNS
def test_a_transfer_over_a_gso_path_arrives_intact_in_super_segments_cut_to_wire_size(wrap):
    up = payload(1_000_000, 1)
    results = {}
    for gso in (False, True):
        net, client, server = gso_hosts(wrap, gso)
        c, s = open_connection(net, client, server)
        _, got = transfer(net, c, s, up, b"", close="after-ack")
        assert digest(got) == digest(up)
        results[gso] = net
    plain, offload = results[False], results[True]
    # Without the offload every segment is one MSS; with it the stack sends fewer, larger
    # segments, always whole wire segments but for the last one of the data.
    assert max(len(e.seg.payload) for e in data_sent(plain)) == MSS
    sizes = [len(e.seg.payload) for e in data_sent(offload)]
    assert max(sizes) >= 10 * MSS
    assert len(sizes) < len(data_sent(plain)) / 3
    assert all(n % MSS == 0 for n in sizes[:-1])
    # On the wire both are the same: wire-sized packets, as many as without the offload,
    # and the receiver acknowledges every second one (RFC 9293 §3.8.6.3) in both cases.
    wire = [len(e.seg.payload) for e in data_received(offload)]
    assert max(wire) == MSS and len(wire) == len(data_received(plain))
    assert len(acks_of_new_data(offload)) == len(acks_of_new_data(plain))
    assert max(cwnds(offload)) == max(cwnds(plain))


@ISNS
def test_a_transfer_over_a_lossy_gso_path_arrives_intact(wrap):
    up, down = payload(300_000, 1), payload(200_000, 2)
    net, client, server = gso_hosts(wrap, seed=3, **LOSSY)
    c, s = open_connection(net, client, server)
    got_by_client, got_by_server = transfer(net, c, s, up, down, close="after-send")
    assert digest(got_by_server) == digest(up) and digest(got_by_client) == digest(down)
    assert net.dropped.get("link-loss", 0) > 0 and c.retransmits > 0 and s.retransmits > 0
    assert max(len(e.seg.payload) for e in data_sent(net)) > MSS
    smss = c.eff_snd_mss
    assert all(w >= smss for w in cwnds(net))  # RFC 5681 §3.1: never below one SMSS


def test_a_transfer_over_a_gso_path_over_ipv6_arrives_intact():
    up = payload(200_000, 5)
    net, client, server = gso_hosts(False, addrs=V6)
    c, s = open_connection(net, client, server)
    _, got = transfer(net, c, s, up, b"", close="after-ack")
    assert got == up
    mss6 = c.eff_snd_mss
    assert max(len(e.seg.payload) for e in data_sent(net)) > mss6
    assert max(len(e.seg.payload) for e in data_received(net)) == mss6


@ISNS
def test_one_wire_segment_lost_inside_a_super_segment_is_the_only_one_sent_again(wrap):
    net, client, server = gso_hosts(wrap)
    c, s = open_connection(net, client, server)
    lost_seq = c.iss + 1 + 3 * MSS   # the fourth wire segment of the first flight
    lost = net.drop_if(lambda p: p.src_host == CLIENT and p.seg is not None and p.seg.payload
                       and p.seg.seq == lost_seq, count=1)
    up = payload(200_000, 3)
    _, got = transfer(net, c, s, up, b"", close="after-ack")
    assert got == up and lost.hits == 1
    first = data_sent(net)[0]
    assert len(first.seg.payload) == 10 * MSS            # the initial window left as one segment
    again = [e for e in data_sent(net) if e.retransmit]
    assert [(int(e.seg.seq), len(e.seg.payload)) for e in again] == [(int(lost_seq), MSS)]
    assert again[0].cause in ("fast-retransmit", "sack-recovery")   # SACK and RACK, not a timeout
    assert not [e for e in net.recorder.events if type(e) is TimerFired and e.host == CLIENT and e.name == "rto"]


def test_a_loss_probe_resends_only_the_last_wire_segment_of_a_super_segment():
    net, client, server = gso_hosts(False)
    c, s = open_connection(net, client, server)
    end = c.iss + 1 + 8 * MSS
    # The whole flight's last two wire segments are lost: nothing after them brings
    # an ACK, so the tail loss probe (RFC 8985 §7.3) must resend the last one.
    net.drop_if(lambda p: p.src_host == CLIENT and p.seg is not None and p.seg.payload
                and (p.seg.seq == end - 2 * MSS or p.seg.seq == end - MSS), count=2)
    _, got = transfer(net, c, s, payload(8 * MSS, 4), b"", close=None)
    assert len(got) == 8 * MSS
    again = [e for e in data_sent(net) if e.retransmit]
    assert again[0].cause == "tlp" and (int(again[0].seg.seq), len(again[0].seg.payload)) == (int(end - MSS), MSS)
    assert all(len(e.seg.payload) == MSS for e in again)


# ------------------------------------------------------------------ receiving super-segments

@ISNS
def test_super_segments_arrive_whole_and_each_is_acknowledged_at_once(wrap):
    # A path without GSO carries the sender's super-segments whole, as a TUN device hands
    # synack the kernel's TSO segments: the receiver takes up to 64 KB at a time.
    net, client, server = gso_hosts(wrap, gso=False)
    client.max_segment_bytes = 65000
    c, s = open_connection(net, client, server)
    up = payload(1_000_000, 6)
    _, got = transfer(net, c, s, up, b"", close="after-ack")
    assert digest(got) == digest(up)
    arrived = data_received(net)
    assert max(len(e.seg.payload) for e in arrived) > 40 * MSS
    # Delayed ACK counts full-sized segments, and each super-segment holds at least two:
    # every one is answered at once, none waits for the delayed-ACK timer.
    assert len(acks_of_new_data(net)) <= len(arrived) + 1
    assert not [e for e in net.recorder.events if type(e) is TimerFired and e.host == SERVER
                and e.name == "delayed-ack"]
    # Each ACK acknowledges many segments at once (stretch ACKs): slow start still
    # doubles the window each round trip instead of adding one segment per ACK: the
    # 690 segments of a megabyte take the window from 10 past 300 segments (10 + 20 +
    # ... + 320), where one segment per ACK would leave it under 50.
    assert max(cwnds(net)) >= 300 * c.cc.smss
    # No queue builds on this path, and RTT samples come from the newest segment an ACK
    # covers: HyStart++ sees no RTT rise and never ends slow start (ssthresh stays unset).
    ssthresh = {e.ssthresh for e in net.recorder.events if type(e) is CongestionChanged and e.host == CLIENT}
    assert ssthresh == {c.cc.ssthresh} and c.cc.ssthresh > 10 * len(up)


def test_stretch_acks_grow_the_window_like_acks_of_every_second_segment():
    def max_cwnd_after(stretch: bool) -> int:
        net, client, server = gso_hosts(False, gso=not stretch)
        if stretch:
            client.max_segment_bytes = 65000
        c, s = open_connection(net, client, server)
        transfer(net, c, s, payload(400_000, 7), b"", close=None)
        return max(cwnds(net))

    per_two, per_super = max_cwnd_after(False), max_cwnd_after(True)
    # The same data acknowledged once per super-segment (about a tenth of the ACKs)
    # grows the window about as much (RFC 3465 byte counting, stretch ACKs counted).
    assert per_super >= per_two * 0.75, (per_super, per_two)


@ISNS
def test_a_lost_super_segment_is_repaired_in_wire_segments(wrap):
    net, client, server = gso_hosts(wrap, gso=False)
    client.max_segment_bytes = 65000
    c, s = open_connection(net, client, server)
    seen = [0]

    def second_super(p) -> bool:
        if p.src_host == CLIENT and p.seg is not None and len(p.seg.payload) > MSS:
            seen[0] += 1
            return seen[0] == 2
        return False

    net.drop_if(second_super, count=1)
    up = payload(600_000, 8)
    _, got = transfer(net, c, s, up, b"", close="after-ack")
    assert digest(got) == digest(up)
    again = [e for e in data_sent(net) if e.retransmit]
    assert again and all(len(e.seg.payload) % MSS == 0 or e is again[-1] for e in again)


def test_the_same_seed_gives_the_same_trace_with_gso():
    def trace():
        net, client, server = gso_hosts(False, seed=9, **LOSSY)
        c, s = open_connection(net, client, server)
        transfer(net, c, s, payload(100_000, 9), payload(50_000, 10), close="after-send")
        return [repr(e) for e in net.recorder.events]

    assert trace() == trace()


def test_super_segments_hold_about_a_millisecond_of_data_at_the_current_rate():
    # TSO autosizing (as Linux's tcp_tso_autosize): a super-segment holds about 1 ms of data
    # at the current rate (cwnd / SRTT, doubled in slow start), plus 64 KB >> (min RTT in
    # us >> 9) on a short path, at least two wire segments. The handshake gives the first
    # RTT sample.
    def sizes(delay: int) -> list[int]:
        net, client, server = gso_hosts(False, delay=delay)
        c, s = open_connection(net, client, server)
        transfer(net, c, s, payload(300_000, 11), b"", close=None)
        return [len(e.seg.payload) // MSS for e in data_sent(net)]

    short, long = sizes(ms(1)), sizes(ms(50))
    # 2 ms RTT: a millisecond at the initial rate is more than the initial window, which
    # leaves as one super-segment; then each ACK's worth of window leaves at once.
    assert short[0] == 10 and max(short[1:]) >= 4
    # 100 ms RTT: a millisecond of data is less than two segments: the initial window
    # leaves as five super-segments of two, not one burst of ten.
    assert long[:5] == [2] * 5
    # They grow with the rate (cwnd / SRTT) round by round, and stay small: at most four.
    # (The receiver ACKs each round's burst once, as it arrives at one instant.)
    assert max(long) <= 4 and long.count(2) > 0.5 * len(long) and long[:-1] == sorted(long[:-1])


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_the_capture_of_a_gso_run_is_clean_for_tshark(tmp_path):
    from synack.trace.pcapng import write_pcapng

    net, client, server = gso_hosts(False, **LOSSY)
    c, s = open_connection(net, client, server)
    transfer(net, c, s, payload(200_000, 12), b"", close="after-ack")
    path = tmp_path / "gso.pcapng"
    count = write_pcapng(net.recorder.events, path, net.recorder.names)
    r = subprocess.run(["tshark", "-n", "-r", str(path), "-o", "tcp.check_checksum:TRUE", "-o",
                        "ip.check_checksum:TRUE", "-d", "tcp.port==1-65535,data", "-T", "fields", "-e", "frame.len",
                        "-e", "_ws.expert.severity", "-e", "_ws.malformed"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    assert len(rows) == count
    assert max(int(size) for size, *_ in rows) > 4 * MSS         # the stack's super-segments, whole
    assert not any(mal for _, _, mal in rows)
    # (bad checksums and malformed packets are errors, 8388608; retransmissions are notes)
    assert not any(sev and max(int(x) for x in sev.split(",")) >= 8388608 for _, sev, _ in rows)
