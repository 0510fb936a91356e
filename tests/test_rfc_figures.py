"""RFC 9293 Figures 6 to 13, replayed on the simulator and compared with the figures' text.

Each test builds the figure's scenario from real calls on two hosts, A (left) and B (right),
with the figure's ISNs injected (``FixedIsn``), and compares what ``rfc_ladder`` draws from
the trace with the figure's lines in the RFC's own ``<SEQ=100><CTL=SYN>`` notation
(whitespace does not matter). Each figure's expected lines are written once, as in the RFC,
and every test runs twice: with the figure's ISNs, and with every ISN shifted by ``WRAP`` so
that A's ISS 100 becomes 2**32-1 and the sequence numbers wrap inside the figure; the
expectation is then the same text with every SEQ and ACK shifted mod 2**32.

What the ladder cannot draw, and how the expected lines differ from the figures:

- The figures' parenthesised comments ("(Close)", "(??)", "(Abort!!)", "(2 MSL)",
  "(duplicate)") are not drawn; where a comment stands for a state, the state is written.
  The RFC line each expected line stands for is given in the comment beside it.
- A state line always shows both states (the figures sometimes leave one side blank).
- A segment's departure and arrival are drawn in the order they happen. Where the figures
  compress crossing segments (Figure 13) or draw a reply before the arrival that caused it
  (Figure 7, lines 4 and 5), the expected lines follow the events; the comments say so.
- Old duplicates, crashes and delayed segments are built honestly: a crafted packet put on
  the wire with ``Network.inject``, a fresh host with no memory (``Network.reboot``), a
  segment held in the network (``Network.hold_if``) until the figure lets it arrive.
"""

from __future__ import annotations

import re

import pytest

from synack.link.sim import Network
from synack.tcp.config import TcpConfig
from synack.tcp.errors import ConnectionReset
from synack.tcp.isn import FixedIsn
from synack.tcp.state import State
from synack.timeunits import ms, sec
from synack.trace.events import StateChanged
from synack.trace.rfc import normalize, rfc_ladder
from synack.wire.ip import emit_packet
from synack.wire.seq import MOD, Seq
from synack.wire.tcp import SYN, TcpSegment

A_ADDR, B_ADDR = "10.0.0.1", "10.0.0.2"
A_PORT, B_PORT = 5000, 80

#: Added to every ISN in the wrapped run: A's ISS 100 becomes 2**32-1, the last sequence
#: number, so A's first octet after its SYN (or its FIN at 100 in Figures 12 and 13) wraps to 0.
WRAP = MOD - 101

ISNS = pytest.mark.parametrize("offset", [pytest.param(0, id="figure-isns"),
                                          pytest.param(WRAP, id="isns-near-2**32")])

_NUMBER = re.compile(r"<(SEQ|ACK)=(\d+)>")


def shifted(n: int, offset: int) -> int:
    """A figure's sequence number in this run."""
    return (n + offset) % MOD


def figure(lines: list[str], offset: int) -> list[str]:
    """The figure's lines, whitespace-normalised, with every SEQ and ACK shifted by
    ``offset`` mod 2**32."""
    return [normalize(_NUMBER.sub(lambda m: f"<{m[1]}={shifted(int(m[2]), offset)}>", line))
            for line in lines]


def config() -> TcpConfig:
    """The rfc profile (the figures are RFC 9293's), without delayed ACKs: every ACK the
    figures show leaves at once."""
    return TcpConfig(profile="rfc", delayed_ack=None)


def network(a_isn, b_isn, offset: int) -> Network:
    """Hosts A and B, 10 ms apart, whose ISNs are the figure's (shifted by ``offset``)."""
    net = Network(seed=9293)
    net.default_path.delay = ms(10)
    for name, addr, isn in (("A", A_ADDR, a_isn), ("B", B_ADDR, b_isn)):
        values = shifted(isn, offset) if isinstance(isn, int) else [shifted(v, offset) for v in isn]
        net.add_host(name, [addr], isn=FixedIsn(values), config=config())
    return net


def established(net: Network):
    """A connects to B's listener; returns (A's connection, B's connection, B's listener)
    once both are ESTABLISHED and the network is quiet."""
    a, b = net.host("A"), net.host("B")
    lst = b.listen(B_PORT, net.now)
    ca = a.connect(B_ADDR, B_PORT, net.now, local_port=A_PORT)
    assert net.run_until(lambda: lst.accept_queue, sec(1))
    cb = lst.accept()
    net.run_for(ms(100))
    assert ca.state is State.ESTABLISHED and cb.state is State.ESTABLISHED
    return ca, cb, lst


def drawn(events, **kw) -> list[str]:
    """The ladder of A and B, whitespace-normalised; PSH is left out as in the figures."""
    return [normalize(line) for line in rfc_ladder(events, "A", "B", omit={"PSH"}, **kw)]


def check(events, expected: list[str], offset: int, **kw) -> None:
    got = drawn(events, **kw)
    want = figure(expected, offset)
    assert got == want, "\n" + "\n".join(rfc_ladder(events, "A", "B", omit={"PSH"}, **kw))


def states(events, host: str) -> list[tuple[int, str]]:
    return [(e.t, e.new) for e in events if isinstance(e, StateChanged) and e.host == host]


# --------------------------------------------------------------------------- Figure 6

FIGURE_6 = [
    "CLOSED                                                LISTEN",        # 1.
    "SYN-SENT    --> <SEQ=100><CTL=SYN>                --> SYN-RECEIVED",  # 2.
    "ESTABLISHED <-- <SEQ=300><ACK=101><CTL=SYN,ACK>   <-- SYN-RECEIVED",  # 3.
    "ESTABLISHED --> <SEQ=101><ACK=301><CTL=ACK>       --> ESTABLISHED",   # 4.
    "ESTABLISHED --> <SEQ=101><ACK=301><CTL=ACK><DATA> --> ESTABLISHED",   # 5.
    # After the figure: B acknowledges the ten octets of line 5.
    "ESTABLISHED <-- <SEQ=301><ACK=111><CTL=ACK>       <-- ESTABLISHED",
]


@ISNS
def test_figure_6_basic_three_way_handshake(offset):
    net = network(100, 300, offset)
    a, b = net.host("A"), net.host("B")
    lst = b.listen(B_PORT, net.now)
    ca = a.connect(B_ADDR, B_PORT, net.now, local_port=A_PORT)
    assert net.run_until(lambda: lst.accept_queue, sec(1))
    cb = lst.accept()
    ca.send(b"0123456789", net.now)
    a.call(ca, net.now)
    assert net.run_until(lambda: cb.readable == 10 and ca.all_acked, sec(1))

    check(net.recorder.events, FIGURE_6, offset)
    assert ca.state is State.ESTABLISHED and cb.state is State.ESTABLISHED
    assert cb.receive(100, net.now) == b"0123456789"
    assert (ca.iss, cb.iss) == (shifted(100, offset), shifted(300, offset))


# --------------------------------------------------------------------------- Figure 7

FIGURE_7 = [
    "CLOSED                                           CLOSED",            # 1.
    "SYN-SENT     --> <SEQ=100><CTL=SYN>              ...",               # 2.
    "SYN-RECEIVED <-- <SEQ=300><CTL=SYN>              <-- SYN-SENT",      # 3.
    # Line 5 before line 4: A answers B's SYN the moment it arrives (line 3), while its own
    # SYN is still on its way to B; the figure draws the answer after line 4.
    "SYN-RECEIVED --> <SEQ=100><ACK=301><CTL=SYN,ACK> ...",               # 5.
    "             ... <SEQ=100><CTL=SYN>              --> SYN-RECEIVED",  # 4.
    "ESTABLISHED  <-- <SEQ=300><ACK=101><CTL=SYN,ACK> <-- SYN-RECEIVED",  # 6.
    "             ... <SEQ=100><ACK=301><CTL=SYN,ACK> --> ESTABLISHED",   # 7.
]

@ISNS
def test_figure_7_simultaneous_open(offset):
    net = network(100, 300, offset)
    a, b = net.host("A"), net.host("B")
    # B's SYN overtakes A's: 30 ms from A to B, 10 ms back, and B opens 5 ms after A.
    net.set_path("A", "B", delay=ms(30))
    net.set_path("B", "A", delay=ms(10))
    ca = a.connect(B_ADDR, B_PORT, net.now, local_port=A_PORT)
    net.run_for(ms(5))
    cb = b.connect(A_ADDR, A_PORT, net.now, local_port=B_PORT)
    net.run_for(ms(200))  # well before the first retransmission (1 s)

    check(net.recorder.events, FIGURE_7, offset)
    assert ca.state is State.ESTABLISHED and cb.state is State.ESTABLISHED
    # Each side went CLOSED, SYN-SENT, SYN-RECEIVED, ESTABLISHED.
    for host in ("A", "B"):
        assert [s for _, s in states(net.recorder.events, host)] == [
            "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED"]


# --------------------------------------------------------------------------- Figure 8

FIGURE_8 = [
    "CLOSED                                               LISTEN",        # 1.
    "SYN-SENT    --> <SEQ=100><CTL=SYN>               ...",               # 2.
    "            ... <SEQ=90><CTL=SYN>                --> SYN-RECEIVED",  # 3. (duplicate)
    "SYN-SENT    <-- <SEQ=300><ACK=91><CTL=SYN,ACK>   <-- SYN-RECEIVED",  # 4.
    "SYN-SENT    --> <SEQ=91><CTL=RST>                --> LISTEN",        # 5.
    "            ... <SEQ=100><CTL=SYN>               --> SYN-RECEIVED",  # 6.
    "ESTABLISHED <-- <SEQ=400><ACK=101><CTL=SYN,ACK>  <-- SYN-RECEIVED",  # 7.
    "ESTABLISHED --> <SEQ=101><ACK=401><CTL=ACK>      --> ESTABLISHED",   # 8.
]


@ISNS
def test_figure_8_recovery_from_old_duplicate_syn(offset):
    net = network(100, [300, 400], offset)
    a, b = net.host("A"), net.host("B")
    lst = b.listen(B_PORT, net.now)
    # A's SYN stays in the network until B is back in LISTEN.
    held = net.hold_if(lambda p: p.src_host == "A" and p.seg is not None and p.seg.flags & SYN, count=1)
    ca = a.connect(B_ADDR, B_PORT, net.now, local_port=A_PORT)
    # An old duplicate SYN of an earlier connection between the same ports.
    old = TcpSegment(A_PORT, B_PORT, Seq(shifted(90, offset)), Seq(0), SYN, 65535)
    net.inject("A", emit_packet(A_ADDR, B_ADDR, old), delay=ms(10))
    assert net.run_until(lambda: lst.pending, sec(1))          # line 3
    assert net.run_until(lambda: not lst.pending, sec(1))      # line 5: back to LISTEN
    assert held.release() == 1                                 # line 6
    assert net.run_until(lambda: lst.accept_queue and ca.state is State.ESTABLISHED, sec(1))
    net.run_for(ms(100))

    check(net.recorder.events, FIGURE_8, offset)
    cb = lst.accept()
    assert ca.state is State.ESTABLISHED and cb.state is State.ESTABLISHED
    assert cb.iss == shifted(400, offset) and cb.irs == shifted(100, offset)
    assert ca.error is None and ca.retransmits == 0  # recovered without a timeout
    assert lst.accept() is None


# --------------------------------------------------------------------------- Figure 9

FIGURE_9 = [
    # Before the figure: A and B are synchronized; B will "send 300, receive 100".
    "ESTABLISHED                                       ESTABLISHED",
    "CLOSED                                            ESTABLISHED",       # 1.-2. (REBOOT)
    "SYN-SENT --> <SEQ=400><CTL=SYN>               --> ESTABLISHED",       # 3. (??)
    # B answers with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>: the figure's SYN lies outside
    # the window; here it lies inside and B sends the same segment as an RFC 5961 §4
    # challenge ACK. A's ISS is 400, so ACK=100 acknowledges nothing A sent.
    "SYN-SENT <-- <SEQ=300><ACK=100><CTL=ACK>      <-- ESTABLISHED",       # 4. (!!)
    # Line 5 (Abort!!) and line 6 (SYN-SENT CLOSED) in one: B is CLOSED once the RST is in.
    "SYN-SENT --> <SEQ=100><CTL=RST>               --> CLOSED",            # 5.-6.
    "SYN-SENT --> <SEQ=400><CTL=SYN>               --> SYN-RECEIVED",      # 7.
    # After the figure, "reduced to the basic three-way handshake of Figure 6":
    "ESTABLISHED <-- <SEQ=700><ACK=401><CTL=SYN,ACK> <-- SYN-RECEIVED",
    "ESTABLISHED --> <SEQ=401><ACK=701><CTL=ACK>     --> ESTABLISHED",
]


@ISNS
def test_figure_9_half_open_connection_discovery(offset):
    net = network(99, [299, 700], offset)
    ca, cb, lst = established(net)
    assert (cb.snd_nxt, cb.rcv_nxt) == (shifted(300, offset), shifted(100, offset))
    mark = len(net.recorder.events)
    # A crashes and comes back with no memory; its user opens the connection again.
    a = net.reboot("A", isn=FixedIsn(shifted(400, offset)), config=config())
    ca2 = a.connect(B_ADDR, B_PORT, net.now, local_port=A_PORT)
    assert net.run_until(lambda: cb.state is State.CLOSED, sec(1))
    assert ca2.state is State.SYN_SENT
    # A keeps trying: its retransmission timer sends the SYN again (line 7).
    assert net.run_until(lambda: lst.accept_queue and ca2.state is State.ESTABLISHED, sec(5))
    net.run_for(ms(100))

    check(net.recorder.events[mark:], FIGURE_9, offset)
    # B's user learns that the connection was reset.
    assert isinstance(cb.error, ConnectionReset)
    with pytest.raises(ConnectionReset):
        cb.receive(100, net.now)
    assert ca2.retransmits == 1
    assert lst.accept().state is State.ESTABLISHED


# --------------------------------------------------------------------------- Figure 10

FIGURE_10 = [
    # Before the figure: A and B are synchronized; B will "send 300, receive 100".
    "ESTABLISHED                                            ESTABLISHED",
    "CLOSED                                                 ESTABLISHED",  # 1. (REBOOT)
    # The figure writes <DATA=10> before <CTL=ACK>; the notation has one field order.
    "CLOSED <-- <SEQ=300><ACK=100><CTL=ACK><DATA=10>    <-- ESTABLISHED",  # 2. (??)
    "CLOSED --> <SEQ=100><CTL=RST>                      --> CLOSED",       # 3. (ABORT!!)
]


@ISNS
def test_figure_10_active_side_causes_half_open_discovery(offset):
    net = network(99, 299, offset)
    ca, cb, lst = established(net)
    mark = len(net.recorder.events)
    net.reboot("A", config=config())
    assert cb.send(b"0123456789", net.now) == 10
    net.host("B").call(cb, net.now)
    assert net.run_until(lambda: cb.state is State.CLOSED, sec(1))
    net.run_for(ms(100))

    check(net.recorder.events[mark:], FIGURE_10, offset, data_len=True)
    assert isinstance(cb.error, ConnectionReset)
    with pytest.raises(ConnectionReset):
        cb.send(b"more", net.now)
    assert net.host("A").conns == {} and net.host("B").conns == {}


# --------------------------------------------------------------------------- Figure 11

Z, X = 100, 300  # the figure's <SEQ=Z> (the old duplicate) and <SEQ=X> (B's ISS)

FIGURE_11 = [
    "LISTEN                                          LISTEN",         # 1.
    f"       ... <SEQ={Z}><CTL=SYN>                --> SYN-RECEIVED",  # 2.
    f"LISTEN <-- <SEQ={X}><ACK={Z + 1}><CTL=SYN,ACK> <-- SYN-RECEIVED",  # 3. (??)
    f"LISTEN --> <SEQ={Z + 1}><CTL=RST>            --> LISTEN",        # 4. (return to LISTEN!)
    "LISTEN                                          LISTEN",         # 5.
]


@ISNS
def test_figure_11_old_duplicate_syn_resets_two_passive_sockets(offset):
    net = network(999, X, offset)
    a, b = net.host("A"), net.host("B")
    lst_a = a.listen(A_PORT, net.now)
    lst_b = b.listen(B_PORT, net.now)
    old = TcpSegment(A_PORT, B_PORT, Seq(shifted(Z, offset)), Seq(0), SYN, 65535)
    net.inject("A", emit_packet(A_ADDR, B_ADDR, old), delay=ms(10))
    net.run_for(sec(1))

    # A's listener leaves no state event to tell that it is in LISTEN.
    check(net.recorder.events, FIGURE_11, offset, initial=("LISTEN", None), final=True)
    assert lst_a.queued == 0 and lst_b.queued == 0
    assert a.conns == {} and b.conns == {}
    assert lst_a.accept() is None and lst_b.accept() is None
    assert not lst_a.closed and not lst_b.closed


# --------------------------------------------------------------------------- Figure 12

FIGURE_12 = [
    "ESTABLISHED                                          ESTABLISHED",  # 1.
    "FIN-WAIT-1  --> <SEQ=100><ACK=300><CTL=FIN,ACK>  --> CLOSE-WAIT",   # 2. (Close)
    "FIN-WAIT-2  <-- <SEQ=300><ACK=101><CTL=ACK>      <-- CLOSE-WAIT",   # 3.
    "TIME-WAIT   <-- <SEQ=300><ACK=101><CTL=FIN,ACK>  <-- LAST-ACK",     # 4. (Close)
    "TIME-WAIT   --> <SEQ=101><ACK=301><CTL=ACK>      --> CLOSED",       # 5.
    "CLOSED                                               CLOSED",       # 6. (2 MSL)
]


@ISNS
def test_figure_12_normal_close(offset):
    net = network(99, 299, offset)
    a, b = net.host("A"), net.host("B")
    ca, cb, lst = established(net)
    mark = len(net.recorder.events)
    ca.close(net.now)
    a.call(ca, net.now)
    assert net.run_until(lambda: ca.state is State.FIN_WAIT_2, sec(1))
    assert cb.state is State.CLOSE_WAIT and cb.at_eof  # B's user is told A has closed
    cb.close(net.now)
    b.call(cb, net.now)
    assert net.run_until(lambda: cb.state is State.CLOSED, sec(1))
    assert ca.state is State.TIME_WAIT
    msl = ca.config.msl
    assert net.run_until(lambda: ca.state is State.CLOSED, 2 * msl + sec(1))

    events = net.recorder.events[mark:]
    check(events, FIGURE_12, offset)
    a_states = dict((s, t) for t, s in states(events, "A"))
    assert a_states["CLOSED"] - a_states["TIME-WAIT"] == 2 * msl  # 6. (2 MSL)
    assert ca.error is None and cb.error is None
    assert a.conns == {} and b.conns == {}


# --------------------------------------------------------------------------- Figure 13

FIGURE_13 = [
    "ESTABLISHED                                          ESTABLISHED",  # 1.
    # 2. (Close) on both sides at the same instant: the FINs cross.
    "FIN-WAIT-1  --> <SEQ=100><ACK=300><CTL=FIN,ACK>  ...",
    "            ... <SEQ=300><ACK=100><CTL=FIN,ACK>  <-- FIN-WAIT-1",
    "            ... <SEQ=100><ACK=300><CTL=FIN,ACK>  --> CLOSING",
    # 3. Each acknowledges the other's FIN as it arrives; the ACKs cross too.
    "            ... <SEQ=301><ACK=101><CTL=ACK>      <-- CLOSING",
    "CLOSING     <-- <SEQ=300><ACK=100><CTL=FIN,ACK>  ...",
    "CLOSING     --> <SEQ=101><ACK=301><CTL=ACK>      ...",
    # 4. TIME-WAIT on both sides ...
    "TIME-WAIT   <-- <SEQ=301><ACK=101><CTL=ACK>      ...",
    "            ... <SEQ=101><ACK=301><CTL=ACK>      --> TIME-WAIT",
    # ... and (2 MSL) later CLOSED on both.
    "CLOSED                                               CLOSED",
]


@ISNS
def test_figure_13_simultaneous_close(offset):
    net = network(99, 299, offset)
    a, b = net.host("A"), net.host("B")
    ca, cb, lst = established(net)
    mark = len(net.recorder.events)
    ca.close(net.now)
    a.call(ca, net.now)
    cb.close(net.now)
    b.call(cb, net.now)
    assert net.run_until(lambda: ca.state is State.TIME_WAIT and cb.state is State.TIME_WAIT, sec(1))
    msl = ca.config.msl
    assert net.run_until(lambda: ca.state is State.CLOSED and cb.state is State.CLOSED,
                         2 * msl + sec(1))

    events = net.recorder.events[mark:]
    check(events, FIGURE_13, offset)
    for host in ("A", "B"):
        path = states(events, host)
        assert [s for _, s in path] == ["FIN-WAIT-1", "CLOSING", "TIME-WAIT", "CLOSED"]
        assert path[3][0] - path[2][0] == 2 * msl
    assert ca.at_eof and cb.at_eof
    assert ca.error is None and cb.error is None
