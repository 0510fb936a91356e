"""SYN cookies under a flood cost no TCB per SYN (stack/listener.py): the first SYN of each
kind of offer has its SYN,ACK built by the connection code, and later SYNs with the same
offer get that SYN,ACK with their own ports, cookie, ACK and timestamps. What goes on the
wire must be exactly what the connection code would have sent for each of them, and the
cookies must still open connections."""

from __future__ import annotations

from synack.stack.host import Host
from synack.tcp.state import State
from synack.timeunits import ms
from synack.wire.ip import emit_packet, parse_packet
from synack.wire.seq import Seq
from synack.wire.tcp import ACK, CWR, ECE, SYN, Mss, Nop, SackPermitted, TcpSegment, Timestamps, WindowScale

SERVER, PORT = "10.0.0.2", 80

OFFERS = {
    "linux": (Mss(1460), SackPermitted(), Timestamps(1000, 0), Nop(), WindowScale(7)),
    "no-timestamps": (Mss(1460), Nop(), Nop(), SackPermitted(), Nop(), WindowScale(7)),
    "no-sack": (Mss(1400), Nop(), Nop(), Timestamps(1000, 0), Nop(), WindowScale(2)),
    "mss-only": (Mss(536),),
    "mss-0": (Mss(0), SackPermitted(), Timestamps(1000, 0)),
    "nothing": (),
}


class _NoTemplates(dict):
    """A template cache that keeps nothing: every SYN,ACK comes from the connection code."""

    def __setitem__(self, key, value) -> None:
        pass


def server(templates: bool) -> Host:
    h = Host("server", [SERVER], seed=7, syncookies=2)
    lst = h.listen(PORT, 0, backlog=16)
    if not templates:
        lst._cookie_templates = _NoTemplates()
    return h


def syn(i: int, options: tuple, flags: int = SYN) -> bytes:
    opts = tuple(Timestamps(5000 + 37 * i, 0) if type(o) is Timestamps else o for o in options)
    seg = TcpSegment(30000 + i, PORT, Seq(0x9E3779B1 * i & 0xFFFFFFFF), Seq(0), flags, 64240, b"", opts)
    return emit_packet(f"198.18.{i // 200}.{i % 200 + 1}", SERVER, seg)


def answers(h: Host, packets: list[tuple[int, bytes]]) -> list[TcpSegment]:
    out = []
    for now, p in packets:
        h.deliver(p, now)
        for q in h.take_outgoing():
            raw = q if isinstance(q, bytes) else q.raw
            out.append(parse_packet(raw)[1])
    return out


def test_cookie_syn_acks_are_what_the_connection_code_builds_for_each_syn():
    packets = []
    i = 0
    for options in OFFERS.values():
        for flags in (SYN, SYN | ECE | CWR):
            for _ in range(3):  # the first builds the template, the others use it
                i += 1
                packets.append((ms(3) * i + 12345, syn(i, options, flags)))
    fast, slow = answers(server(True), packets), answers(server(False), packets)
    assert len(fast) == len(packets) and all(s.flags & (SYN | ACK) == SYN | ACK for s in fast)
    assert fast == slow
    assert len({s.seq for s in fast}) == len(fast)  # every SYN its own cookie


def test_template_syn_acks_are_the_bytes_the_connection_code_would_put_on_the_wire():
    packets = [(ms(3) * i + 777, syn(i, OFFERS[name])) for i, name in enumerate(["linux"] * 3 + ["mss-only"] * 3, 1)]

    def raw(h: Host) -> list[bytes]:
        out = []
        for now, p in packets:
            h.deliver(p, now)
            out += [q if isinstance(q, bytes) else q.raw for q in h.take_outgoing()]
        return out

    assert raw(server(True)) == raw(server(False))


def test_a_cookie_from_a_template_opens_the_connection():
    h = server(True)
    answers(h, [(ms(1), syn(1, OFFERS["linux"]))])  # (builds the template)
    (synack,) = answers(h, [(ms(2), syn(2, OFFERS["linux"]))])
    tsval = next(o.tsval for o in synack.options if type(o) is Timestamps)
    ack = TcpSegment(30002, PORT, Seq(synack.ack), Seq((synack.seq + 1) & 0xFFFFFFFF), ACK, 502, b"",
                     (Nop(), Nop(), Timestamps(5000 + 37 * 2 + 3, tsval)))
    h.deliver(emit_packet("198.18.0.3", SERVER, ack), ms(3))
    (lst,) = h.listeners.values()
    (conn,) = lst.accept_queue
    assert conn.state is State.ESTABLISHED and conn.remote_port == 30002
    assert conn.sack_ok and conn.ts_ok and conn.snd_wscale == 7 and conn.snd_mss == 1460
