"""Saving a real run (``synack listen|connect|get --pcap --jsonl --html``): the peer is drawn
as a host of its own, and the capture shows wire-sized segments with a comment wherever
the TUN link split or merged a super-segment. These tests need no root: the trace is
built by hand, or the CLI runs over UDP."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from synack.link.capture import run_events, wire_events
from synack.trace.events import SegmentDropped, SegmentReceived, SegmentSent
from synack.trace.pcapng import read_capture, write_pcapng
from synack.wire.seq import Seq
from synack.wire.tcp import ACK, FIN, PSH, SYN, Mss, Nop, TcpSegment, Timestamps

US, KERNEL = "10.99.0.2", "10.99.0.1"
OPTS = (Nop(), Nop(), Timestamps(7, 8))


def data_seg(seq: int, n: int, flags: int = ACK | PSH, sport: int = 40000, dport: int = 80) -> TcpSegment:
    return TcpSegment(sport, dport, Seq(seq), Seq(1), flags, 502, bytes(range(256)) * (n // 256) + bytes(n % 256),
                      OPTS)


def trace() -> list:
    """synack received a 20,000-octet TSO super-segment ending in FIN, dropped one
    segment, and sent three segments the link merged into one write."""
    big = data_seg(1000, 20000, ACK | PSH | FIN)
    late = data_seg(500, 100)
    sent = [data_seg(77 + i * 1448, 1448, ACK, 80, 40000) for i in range(3)]
    conn = (US, 80, KERNEL, 40000)
    return [SegmentReceived(10, "synack", conn, KERNEL, US, big),
            SegmentDropped(11, "synack", conn, KERNEL, US, late, "out-of-window"),
            *[SegmentSent(12, "synack", conn, US, KERNEL, s) for s in sent]]


def test_the_peer_sends_what_synack_received_or_dropped():
    events = run_events(trace(), "kernel")
    kinds = [(type(e).__name__, e.host) for e in events]
    assert kinds[:4] == [("SegmentSent", "kernel"), ("SegmentReceived", "synack"),
                         ("SegmentSent", "kernel"), ("SegmentDropped", "synack")]
    assert events[0].seg == events[1].seg and events[0].t == events[1].t
    assert events[0].conn == (KERNEL, 40000, US, 80)


def test_the_wire_view_cuts_super_segments_and_notes_merges():
    merges = [(US, KERNEL, 80, 40000, 77 + i * 1448, i, 3, 3 * 1448, 1448) for i in range(3)]
    events = wire_events(trace(), "kernel", 1500, merges)
    pieces = [e for e in events if type(e) is SegmentSent and e.host == "kernel"][:-1]
    assert [len(p.seg.payload) for p in pieces] == [1448] * 13 + [20000 - 13 * 1448]
    assert b"".join(p.seg.payload for p in pieces) == trace()[0].seg.payload
    assert [int(p.seg.seq) for p in pieces] == [1000 + k * 1448 for k in range(14)]
    assert [p.seg.flags for p in pieces] == [ACK] * 13 + [ACK | PSH | FIN]
    assert pieces[0].cause == ("tso: wire segment 1 of 14; kernel wrote these 20000 octets to the TUN "
                               "as one super-segment")
    ours = [e for e in events if type(e) is SegmentSent and e.host == "synack"]
    assert [e.cause for e in ours] == [
        f"gso: segment {k} of 3 that the link wrote to the TUN as one 4344-octet super-segment" for k in (1, 2, 3)]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_the_capture_of_a_run_is_wire_sized_and_clean_for_tshark(tmp_path):
    merges = [(US, KERNEL, 80, 40000, 77 + i * 1448, i, 3, 3 * 1448, 1448) for i in range(3)]
    path = tmp_path / "run.pcapng"
    n = write_pcapng(wire_events(trace(), "kernel", 1500, merges), path,
                     names={US: "synack", KERNEL: "kernel"})
    assert n == 14 + 1 + 3
    r = subprocess.run(["tshark", "-n", "-r", str(path), "-o", "tcp.check_checksum:TRUE", "-o",
                        "ip.check_checksum:TRUE", "-d", "tcp.port==1-65535,data", "-T", "fields", "-e", "frame.len",
                        "-e", "_ws.expert.severity", "-e", "_ws.malformed", "-e", "frame.comment"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    assert len(rows) == 18
    assert all(int(size) <= 1500 for size, *_ in rows)
    assert not any(mal for _, _, mal, _ in rows)
    assert not any(sev and max(int(x) for x in sev.split(",")) >= 8388608 for _, sev, _, _ in rows)
    comments = [c for *_, c in rows]
    assert sum("tso: wire segment" in c for c in comments) == 14
    assert sum("gso: segment" in c for c in comments) == 3
    # and synack reads its own capture back
    assert len([r for r in read_capture(path) if r["event"] == "send"]) == 18


def free_udp_ports(n: int) -> list[int]:
    import socket

    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def test_listen_and_connect_save_pcap_jsonl_and_html(tmp_path):
    cli = [sys.executable, "-m", "synack.cli"]
    p1, p2 = free_udp_ports(2)
    err = tmp_path / "listen.err"
    f = {k: tmp_path / f"listen.{k}" for k in ("pcapng", "jsonl", "html")}
    with open(err, "wb") as errf:
        proc = subprocess.Popen(cli + ["listen", "7", "--app", "echo", "--count", "1", "--quiet", "--udp", str(p1),
                                       "--peer", f"127.0.0.1:{p2}", "--pcap", str(f["pcapng"]), "--jsonl",
                                       str(f["jsonl"]), "--html", str(f["html"])],
                                stdout=subprocess.DEVNULL, stderr=errf)
    try:
        end = time.monotonic() + 15
        while b"listening on" not in err.read_bytes():
            assert proc.poll() is None and time.monotonic() < end, err.read_text()
            time.sleep(0.02)
        data = os.urandom(20_000)
        cpcap = tmp_path / "connect.pcapng"
        r = subprocess.run(cli + ["connect", "10.99.0.2", "7", "--quiet", "--udp", str(p2), "--peer",
                                  f"127.0.0.1:{p1}", "--pcap", str(cpcap)], input=data, capture_output=True,
                           timeout=30)
        assert r.returncode == 0, r.stderr
        assert r.stdout == data
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    said = err.read_text().splitlines()[-1]
    assert said.startswith("synack: saved ") and "records to" in said and "packets to" in said
    records = [json.loads(line) for line in f["jsonl"].read_text().splitlines()]
    assert {r["host"] for r in records if r["event"] == "send"} == {"synack", "peer"}
    assert f["html"].read_text().startswith("<!doctype html>") or "<html" in f["html"].read_text()[:200]
    for path, us in ((f["pcapng"], "10.99.0.2"), (cpcap, "10.99.0.1")):   # each end saw both directions
        sends = [r for r in read_capture(path) if r["event"] == "send"]
        assert {r["src_addr"] for r in sends} == {"10.99.0.1", "10.99.0.2"}
        assert {r["host"] for r in sends if r["src_addr"] != us} == {"peer"}
        data_octets: set[int] = set()               # the data, every octet (a retransmission on a busy
        for rec in sends:                           # machine sends some twice)
            if rec["src_addr"] == "10.99.0.1" and rec["len"]:
                data_octets.update(range(rec["seq"], rec["seq"] + rec["len"]))
        assert len(data_octets) == len(data)


def test_the_wire_view_cuts_synacks_own_super_segments_at_the_peers_mss():
    conn = (US, 80, KERNEL, 40000)
    syn = TcpSegment(40000, 80, Seq(0), Seq(0), SYN, 502, b"", (Mss(1000),))
    big = data_seg(77, 10 * 988, ACK | PSH, 80, 40000)
    events = wire_events([SegmentReceived(1, "synack", conn, KERNEL, US, syn),
                          SegmentSent(2, "synack", conn, US, KERNEL, big, False, None)], "kernel", 1500)
    ours = [e for e in events if type(e) is SegmentSent and e.host == "synack"]
    # the kernel cut it at the MSS the peer announced, less the timestamps option
    assert [len(e.seg.payload) for e in ours] == [988] * 10
    assert b"".join(e.seg.payload for e in ours) == big.payload
    assert [e.seg.flags for e in ours] == [ACK] * 9 + [ACK | PSH]
    assert ours[0].cause == ("tso: wire segment 1 of 10; synack wrote these 9880 octets to the TUN "
                             "as one super-segment")
