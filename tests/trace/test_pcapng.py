"""pcapng export and pcap/pcapng import: the file is what was sent, tools agree with the trace,
and captures read back into the same records as the trace.

Independent checkers: tshark (Debian's ``tshark``, in .ci/apt-packages) and dpkt's pcapng
reader. A real loopback capture with tcpdump (root only) checks the reader on what the
Linux kernel sends.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import time

import dpkt
import pytest
import trace_runs

from synack.tcp.state import TRANSITIONS
from synack.trace.jsonl import to_records
from synack.trace.ladder import render_ladder
from synack.trace.records import flags_bits
from synack.trace.pcapng import read_capture, write_pcapng
from synack.wire.ip import emit_packet
from synack.wire.tcp import TcpSegment
from synack.wire.seq import Seq

TSHARK = shutil.which("tshark")
TCPDUMP = shutil.which("tcpdump")
PI_ERROR = 0x00800000  # Wireshark's expert severity "error" (malformed packets are errors)


@pytest.fixture(scope="module")
def lossy(tmp_path_factory):
    net = trace_runs.lossy_session()
    path = tmp_path_factory.mktemp("pcap") / "lossy.pcapng"
    n = write_pcapng(net.recorder.events, path, net.recorder.names)
    return net, path, n


def _sends(net) -> list:
    return [e for e in net.recorder.events if e.event == "send"]


def _expected_records(net) -> list[dict]:
    recs = to_records(net.recorder.events, net.recorder.names)
    return [r for r in recs if r["event"] == "send" or (r["event"] == "drop" and r["host"] == r["src"])]


def test_one_packet_per_send_with_the_bytes_that_were_sent(lossy):
    net, path, n = lossy
    sends = _sends(net)
    assert n == len(sends)
    with open(path, "rb") as f:
        reader = dpkt.pcapng.Reader(f)
        assert reader.datalink() == 101  # LINKTYPE_RAW
        packets = list(reader)
    assert len(packets) == len(sends)
    for (ts, buf), ev in zip(packets, sends, strict=False):
        assert buf == emit_packet(ev.src, ev.dst, ev.seg)
        assert ts == pytest.approx(ev.t / 1e9, abs=1e-9)


def test_reading_back_gives_the_same_records(lossy):
    net, path, _ = lossy
    back = read_capture(path)  # host names from the file's Name Resolution Block
    want = _expected_records(net)
    key = lambda r: (r["t"], r["event"] == "drop", r["seq"], r["flags"])  # noqa: E731
    assert sorted(back, key=key) == sorted(want, key=key)
    assert [r for r in back if r["event"] == "send"] == [r for r in want if r["event"] == "send"]
    assert sum(r["event"] == "drop" for r in back) == 3
    renamed = read_capture(path, names={"10.0.0.1": "alice"})
    assert {r["src"] for r in renamed} == {"alice", "server"}


@pytest.mark.skipif(TSHARK is None, reason="tshark is not installed (Debian package tshark)")
def test_tshark_reads_it_cleanly_and_agrees_with_the_trace(lossy):
    assert TSHARK is not None  # the skipif above
    net, path, _ = lossy
    fields = ["frame.number", "tcp.flags.str", "tcp.seq_raw", "tcp.ack_raw", "tcp.len", "tcp.window_size_value",
              "tcp.checksum.status", "ip.checksum.status", "frame.comment", "_ws.malformed",
              "_ws.expert.severity"]
    cmd = [TSHARK, "-r", str(path), "-T", "json", "-o", "tcp.check_checksum:TRUE",
           "-o", "ip.check_checksum:TRUE"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    frames = [p["_source"]["layers"] for p in json.loads(out)]
    recs = [r for r in to_records(net.recorder.events, net.recorder.names) if r["event"] == "send"]
    assert len(frames) == len(recs)
    for layers, rec in zip(frames, recs, strict=False):
        n = layers["frame.number"][0]
        assert "_ws.malformed" not in layers, f"frame {n} malformed"
        assert max(int(s) for s in layers.get("_ws.expert.severity", ["0"])) < PI_ERROR, f"frame {n}"
        assert layers["tcp.checksum.status"] == ["1"] and layers["ip.checksum.status"] == ["1"]  # good
        # tshark spells flags as 12 positions, e.g. "·······A··S·" for SYN,ACK
        letters = layers["tcp.flags.str"][0]
        shown = {"F": "F" in letters[11], "S": "S" in letters[10], "R": "R" in letters[9],
                 "P": "P" in letters[8], ".": "A" in letters[7]}
        assert shown == {c: c in rec["flags"] for c in "FSRP."}, f"frame {n}: {letters} vs {rec['flags']}"
        assert int(layers["tcp.seq_raw"][0]) == rec["seq"]
        assert int(layers["tcp.ack_raw"][0]) == rec["ack"]
        assert int(layers["tcp.len"][0]) == rec["len"]
        assert int(layers["tcp.window_size_value"][0]) == rec["win"]
    comments = [layers.get("frame.comment", []) for layers in frames]
    assert comments[0] == ["client: CLOSED -> SYN-SENT (active OPEN; RFC 9293 §3.10.1)",
                           "lost: scripted (drop_nth(1))"]
    assert "retransmission: rto" in comments[1] and "RTO #1, rto=1.0s" in comments[1]
    third = comments[2]
    assert "server: LISTEN -> SYN-RECEIVED (SYN received; RFC 9293 §3.10.7.2)" in third
    assert "RTO #2, rto=2.0s" in third
    assert any("client: FIN-WAIT-2 -> TIME-WAIT" in c for cs in comments for c in cs)


def test_comments_name_state_changes_of_both_sides():
    net = trace_runs.refused()
    from synack.trace.pcapng import packet_comments

    recs = to_records(net.recorder.events, net.recorder.names)
    comments = packet_comments(recs)
    syn, rst = [comments[i] for i, r in enumerate(recs) if r["event"] == "send"]
    assert syn[0].startswith("client: CLOSED -> SYN-SENT (active OPEN")
    assert syn[-1].startswith("server discarded it: no-listener")
    assert "client: error: connection refused" in rst
    assert any(c.startswith("client: SYN-SENT -> CLOSED") for c in rst)


# ---- reading other captures -------------------------------------------------------------

def _segment_packets() -> list[tuple[float, bytes]]:
    seg = TcpSegment(40000, 80, Seq(1000), Seq(0), 0x002, 65535)
    ack = TcpSegment(80, 40000, Seq(5000), Seq(1001), 0x012, 65535)
    return [(1.5, emit_packet("10.0.0.1", "10.0.0.2", seg)), (1.500250, emit_packet("10.0.0.2", "10.0.0.1", ack))]


def _frame(linktype: int, ip: bytes, order: str) -> bytes:
    v6 = ip[0] >> 4 == 6
    et = b"\x86\xdd" if v6 else b"\x08\x00"
    if linktype == 1:  # Ethernet, with one VLAN tag for good measure
        return b"\x02" * 6 + b"\x04" * 6 + b"\x81\x00\x00\x05" + et + ip
    if linktype == 113:  # Linux cooked v1
        return b"\x00\x00\x03\x04\x00\x06" + b"\x00" * 8 + et + ip
    if linktype == 276:  # Linux cooked v2
        return et + b"\x00\x00" + b"\x00\x00\x00\x01" + b"\x03\x04\x00\x06" + b"\x00" * 8 + ip
    if linktype == 0:  # BSD loopback: the family in the capturing host's byte order
        return struct.pack(order + "I", 24 if v6 else 2) + ip
    return ip


def _classic_pcap(linktype: int, order: str, nanos: bool, extra: bytes = b"") -> bytes:
    magic = 0xA1B23C4D if nanos else 0xA1B2C3D4
    out = struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)
    for t, ip in _segment_packets():
        frame = _frame(linktype, ip, order)
        sec = int(t)
        frac = round((t - sec) * (1e9 if nanos else 1e6))
        out += struct.pack(order + "IIII", sec, frac, len(frame), len(frame)) + frame
    return out + extra


@pytest.mark.parametrize("linktype", [101, 1, 113, 276, 0, 228])
@pytest.mark.parametrize("order", ["<", ">"], ids=["little-endian", "big-endian"])
@pytest.mark.parametrize("nanos", [False, True], ids=["us", "ns"])
def test_classic_pcap_of_every_link_type_and_byte_order(tmp_path, linktype, order, nanos):
    path = tmp_path / "c.pcap"
    path.write_bytes(_classic_pcap(linktype, order, nanos))
    recs = read_capture(path, names={"10.0.0.1": "client"})
    assert [(r["event"], r["host"], r["dst"], r["flags"], r["seq"], r["ack"]) for r in recs] == [
        ("send", "client", "10.0.0.2", "S", 1000, 0), ("send", "10.0.0.2", "client", "S.", 5000, 1001)]
    assert recs[0]["t"] == 1.5 and recs[1]["t"] == pytest.approx(1.50025, abs=1e-9)
    assert "[S.] seq 0, ack 1" in render_ladder(recs, color=False)


def test_malformed_packets_become_drops_and_other_protocols_are_skipped(tmp_path):
    good = _segment_packets()[0][1]
    bad_offset = bytearray(good)
    bad_offset[20 + 12] = 0x20  # data offset 2 words: below the 5-word minimum
    truncated = good[:30]       # the TCP header cut short
    udp = bytearray(good)
    udp[9] = 17                 # protocol UDP (the header checksum is fixed below)
    udp[10:12] = b"\0\0"
    s = sum(struct.unpack("!10H", bytes(udp[:20])))
    s = (s & 0xFFFF) + (s >> 16)
    udp[10:12] = struct.pack("!H", ~s & 0xFFFF)
    arp = b"\xff" * 6 + b"\x02" * 6 + b"\x08\x06" + b"\x00" * 28
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for k, ip in enumerate([bytes(bad_offset), truncated, bytes(udp), good]):
        frame = _frame(1, ip, "<")
        out += struct.pack("<IIII", 10, k, len(frame), len(frame)) + frame
    out += struct.pack("<IIII", 10, 9, len(arp), len(arp)) + arp
    path = tmp_path / "m.pcap"
    path.write_bytes(out)
    recs = read_capture(path)
    assert [r["event"] for r in recs] == ["drop", "drop", "send"]
    assert recs[0]["reason"] == "bad-data-offset" and recs[0]["src"] == "10.0.0.1" and recs[0]["flags"] is None
    assert recs[1]["reason"] in ("bad-ip-length", "truncated-header")
    assert "dropped" in render_ladder(recs, color=False)


@pytest.mark.parametrize("data, message", [
    (b"", "too short"),
    (b"hello world, not a capture", "unknown magic"),
    (struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 147), "link type 147 is not supported"),
    (b"\x0a\x0d\x0d\x0a" + struct.pack("<I", 28) + b"\x4d\x3c\x2b\x1a" + b"\x00" * 12, "truncated"),
])
def test_broken_files_are_value_errors(tmp_path, data, message):
    path = tmp_path / "x.cap"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message):
        read_capture(path)


@pytest.mark.parametrize("kind", ["pcapng", "pcap"])
def test_a_truncated_capture_is_read_up_to_the_cut_with_a_warning(lossy, tmp_path, kind):
    _, path, _ = lossy
    whole = read_capture(path)
    src = path
    if kind == "pcap":  # the same packets as classic pcap (LINKTYPE_RAW, microseconds)
        src = tmp_path / "whole.pcap"
        data = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)
        for r in whole:
            if r["event"] == "send":
                pkt = _packet_of(r)
                data += struct.pack("<IIII", int(r["t"]), 0, len(pkt), len(pkt)) + pkt
        src.write_bytes(data)
    cut = tmp_path / f"cut.{kind}"
    cut.write_bytes(src.read_bytes()[:-7])
    said: list[str] = []
    recs = read_capture(cut, warn=said.append)
    sends = [r for r in whole if r["event"] == "send"]
    assert [r["seq"] for r in recs if r["event"] == "send"] == [r["seq"] for r in sends[:-1]]
    assert len(said) == 1 and "truncated" in said[0] and f"{len(sends) - 1} packets before the cut" in said[0]
    with pytest.warns(UserWarning, match="before the cut"):
        read_capture(cut)
    with pytest.raises(ValueError, match="truncated"):
        read_capture(cut, strict=True)


def _packet_of(r: dict) -> bytes:
    seg = TcpSegment(r["src_port"], r["dst_port"], Seq(r["seq"]), Seq(r["ack"]), flags_bits(r["flags"]), r["win"],
                     bytes(r["len"]))
    return emit_packet(r["src_addr"], r["dst_addr"], seg, 64)


# ---- a real capture ---------------------------------------------------------------------

@pytest.mark.skipif(TCPDUMP is None or os.geteuid() != 0, reason="needs tcpdump (Debian package) and root")
def test_a_tcpdump_capture_of_real_loopback_traffic_renders(tmp_path):
    assert TCPDUMP is not None  # the skipif above
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    port = srv.getsockname()[1]
    path = tmp_path / "real.pcap"
    dump = subprocess.Popen([TCPDUMP, "-i", "lo", "-n", "-U", "--immediate-mode", "-w", str(path),
                             f"tcp port {port}"], stderr=subprocess.PIPE)
    try:
        assert dump.stderr is not None  # stderr=PIPE
        assert b"listening on" in dump.stderr.readline()
        cli = socket.create_connection(("127.0.0.1", port))
        conn, _ = srv.accept()
        cli.sendall(b"hello")
        assert conn.recv(10) == b"hello"
        conn.sendall(b"world!")
        assert cli.recv(10) == b"world!"
        cli.shutdown(socket.SHUT_WR)
        assert conn.recv(10) == b""
        conn.close()
        cli.close()
        deadline = time.monotonic() + 5  # real-kernel test: wait for tcpdump to see the last ACK
        while time.monotonic() < deadline and (not path.exists() or path.stat().st_size < 24 + 10 * 70):
            time.sleep(0.05)
    finally:
        dump.send_signal(signal.SIGINT)
        dump.communicate(timeout=10)
        srv.close()
    recs = read_capture(path, names={f"127.0.0.1:{port}": "server"})
    flags = [r["flags"] for r in recs]
    assert flags[:3] == ["S", "S.", "."]
    assert "P." in flags and flags.count("F.") == 2
    assert all(r["event"] == "send" for r in recs)
    assert {r["dst"] for r in recs} == {"server", f"127.0.0.1:{recs[0]['src_port']}"}
    text = render_ladder(recs, color=False, transitions=TRANSITIONS)
    assert text.splitlines()[0].split()[-1] == "server"
    # states inferred from the wire: the client closed first, so it ends in TIME-WAIT
    assert text.splitlines()[1].split() == ["CLOSED", "│", "│", "LISTEN"]
    assert text.splitlines()[-1].split()[1] == "TIME-WAIT" and text.splitlines()[-1].split()[-1] == "CLOSED"
    assert "[S] seq 0, win" in text and "[S.] seq 0, ack 1" in text and "len 5" in text and "len 6" in text
