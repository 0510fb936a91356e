"""The seeds' last topics and the signals beside the stream: ``web`` (DNS over TCP, then
HTTP/1.1), ``ports`` (one listening port, connections told apart by 4-tuples), ``ecn`` and
``urgent``; and every demo's capture reads cleanly in tshark (no dissector misreads bulk
data sent to a well-known port)."""

from __future__ import annotations

import shutil
import struct
import subprocess

import dns.message
import h11
import pytest
from scenario_helpers import events, run, sent

from synack.trace.pcapng import write_pcapng
from synack.wire.tcp import CWR, ECE, SYN, URG

TSHARK = shutil.which("tshark")


def _stream(res, src: str, dport: int) -> bytes:
    """The octets ``src`` sent to port ``dport``, in sequence order, each once."""
    got: dict[int, bytes] = {}
    for e in sent(res, src):
        if e.seg.dst_port == dport and e.seg.payload:
            got[int(e.seg.seq)] = bytes(e.seg.payload)
    return b"".join(got[k] for k in sorted(got))


@pytest.fixture(scope="module")
def web():
    return run("web")


def test_web_resolves_the_name_over_tcp_then_fetches_the_page(web):
    assert web.hosts == ("resolver", "client", "server")
    # the query on the wire is a DNS message after its two-octet length (RFC 1035 §4.2.2)
    query = _stream(web, "client", 53)
    (n,) = struct.unpack("!H", query[:2])
    q = dns.message.from_wire(query[2:2 + n])
    assert str(q.question[0].name) == "www.example.test." and q.question[0].rdtype == 1
    answer = _stream(web, "resolver", 42068) or b"".join(
        bytes(e.seg.payload) for e in sent(web, "resolver") if e.seg.payload)
    a = dns.message.from_wire(answer[2:])
    assert a.answer[0][0].address == "10.0.0.2"
    # then HTTP/1.1 to the address it got, read back with h11
    request = _stream(web, "client", 80)
    server = h11.Connection(h11.SERVER)
    server.receive_data(request)
    req = server.next_event()
    assert isinstance(req, h11.Request) and req.method == b"GET" and (b"host", b"www.example.test") in req.headers
    reply = b"".join(bytes(e.seg.payload) for e in sent(web, "server") if e.seg.payload)
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
    client.receive_data(reply)
    resp = client.next_event()
    assert isinstance(resp, h11.Response) and resp.status_code == 200
    # two connections, one after the other, each with its own handshake
    syns = [e for e in sent(web, "client") if e.seg.flags & SYN]
    assert [e.seg.dst_port for e in syns] == [53, 80]
    assert any("answered 10.0.0.2" in n for n in web.notes) and any("200" in n for n in web.notes)


def test_ports_tells_connections_apart_by_their_4_tuple():
    res = run("ports")
    tuples = {(e.host, e.seg.src_port, e.seg.dst_port) for e in sent(res) if e.host != "server"}
    assert {d for _, _, d in tuples} == {7}
    alice_ports = {s for h, s, _ in tuples if h == "alice"}
    assert len(alice_ports) == 2 and all(p >= 1024 for p in alice_ports)   # ephemeral, two of them
    conns = {e.conn for e in events(res, "state", "server") if e.conn}
    assert len(conns) == 3
    assert sum("ephemeral" in n for n in res.notes) == 3 and "one listening, 3 connected" in res.notes[-1]
    assert res.ports


def test_ecn_is_negotiated_marked_echoed_and_answered_without_loss():
    res = run("ecn")
    syn = next(e for e in sent(res, "client") if e.seg.flags & SYN)
    assert syn.seg.flags & ECE and syn.seg.flags & CWR
    synack = next(e for e in sent(res, "server") if e.seg.flags & SYN)
    assert synack.seg.flags & ECE
    assert res.net.ce_marked > 0
    assert any(e.seg.flags & ECE for e in sent(res, "server") if not e.seg.flags & SYN)
    assert any(e.seg.flags & CWR for e in sent(res, "client") if not e.seg.flags & SYN)
    assert any(e.cause == "ecn" for e in events(res, "cwnd", "client"))
    assert not any(e.retransmit for e in sent(res))


def test_urgent_data_sets_urg_and_is_read_apart():
    res = run("urgent")
    urg = [e for e in sent(res, "client") if e.seg.flags & URG]
    assert len(urg) == 1 and urg[0].seg.payload == b"!" and urg[0].seg.urg_ptr == 1
    assert "b'ordinary data' as normal data and b'!' with recv(1, MSG_OOB)" in res.notes[-1]


@pytest.mark.parametrize("name", ["web", "ports", "ecn", "urgent"])
def test_new_scenarios_speak_korean_too(name):
    res = run(name, lang="ko")
    assert res.notes and all(any("\uac00" <= ch <= "\ud7a3" for ch in n) for n in res.notes)


@pytest.mark.skipif(TSHARK is None, reason="needs tshark (Debian package tshark)")
@pytest.mark.parametrize("name", ["web", "story", "slow-start", "sack-recovery", "urgent"])
def test_tshark_reads_every_demo_capture_without_complaint(tmp_path, name):
    """On port 80 the bulk data of slow-start and sack-recovery made tshark report "HTTP:
    Illegal characters found in header name"; now no dissector misreads a demo."""
    res = run(name)
    path = tmp_path / f"{name}.pcapng"
    write_pcapng(res.net.recorder.events, path, res.net.recorder.names)
    tshark = str(TSHARK)
    expert = subprocess.run([tshark, "-r", str(path), "-q", "-z", "expert,warn"], capture_output=True, text=True,
                            timeout=60)
    assert expert.returncode == 0, expert.stderr
    assert "Malformed" not in expert.stdout and "Illegal characters" not in expert.stdout
    assert "Protocol " not in expert.stdout.split("Summary", 1)[-1], expert.stdout  # no protocol warning
    if name == "web":
        protos = subprocess.run([tshark, "-r", str(path), "-T", "fields", "-e", "frame.protocols"],
                                capture_output=True, text=True, timeout=60).stdout.split()
        assert any(p.endswith(":dns") for p in protos) and any(p.endswith(":http") for p in protos)
