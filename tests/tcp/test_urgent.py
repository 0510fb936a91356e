"""The edges of the byte stream: urgent data (RFC 9293 §3.8.5, MUST-30..33, MUST-62), an RST
that carries text (SHLD-2), and a CLOSE that loses data (SHLD-3).

The socket-API tests run each scenario on real loopback sockets (the Linux kernel) and on
the simulator and require the same transcript, so MSG_OOB behaves as Linux's does. Those
are real-kernel tests: short real-time waits are allowed on the kernel side.
"""

from __future__ import annotations

import socket as real_socket
import sys
import time

import pytest
from harness import close_wait, established, fin_wait_2  # noqa: F401

from synack import api
from synack.link.sim import Network
from synack.tcp.errors import ConnectionRefused
from synack.wire.tcp import URG


# ------------------------------------------------------------------------------ sending
def test_urgent_send_marks_segments_with_urg_and_the_pointer_after_the_data(isns):
    """MUST-30, MUST-62: URG, and the urgent pointer names the octet following the urgent
    data, on every segment that starts before SND.UP."""
    t = established(isns, nodelay=True)
    t.send(b"normal")
    t.expect_sent("P.", data=b"normal", urg=0)
    t.conn.send(b"URGENT", t.now, urgent=True)
    seg = t.expect_sent("UP.", data=b"URGENT")
    assert seg.urg_ptr == 6                                      # seq + 6 = SND.UP
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 13)             # urgent data acknowledged
    t.send(b"after")
    t.expect_sent("P.", data=b"after", urg=0)                    # urgent mode is over


def test_urgent_data_of_any_length_keeps_urg_until_the_pointer_is_passed(isns):
    """MUST-31: urgent data longer than one segment; every segment before SND.UP carries
    URG, the pointer saturating at 65535 when SND.UP lies further (Linux does the same)."""
    t = established(isns, nodelay=True, snd_buf=1 << 20)
    big = bytes(100_000)
    t.conn.send(big, t.now, urgent=True)
    segs = [s for _, s, _ in t.drain()]
    assert segs and all(s.flags & URG for s in segs)
    for s in segs:
        left = t.iss + 1 + len(big) - s.seq
        assert s.urg_ptr == min(left, 0xFFFF)


# ------------------------------------------------------------------------------ receiving
def test_the_user_learns_where_urgent_data_ends_and_how_much_remains(isns):
    """MUST-32/33: RCV.UP as a stream offset (urgent_mark) and the octets still to read."""
    t = established(isns)
    assert t.conn.urgent_mark is None and t.conn.urgent_remaining == 0
    t.peer_sends("P.", seq=t.irs + 1, ack=t.iss + 1, data=b"0123456789")
    t.peer_sends("UP.", seq=t.irs + 11, ack=t.iss + 1, data=b"abcdef", urg=4)
    assert t.conn.urgent_mark == 14 and t.conn.urgent_remaining == 14
    assert t.receive(12) == b"0123456789ab"
    assert t.conn.urgent_remaining == 2 and t.conn.urgent_octet() == ord("d")
    t.peer_sends("UP.", seq=t.irs + 17, ack=t.iss + 1, data=b"gh", urg=1)   # the pointer advances
    assert t.conn.urgent_mark == 17
    assert t.receive() == b"cdefgh" and t.conn.urgent_remaining == 0
    assert t.status()["urgent"] == 0


def test_a_pointer_that_moves_back_is_ignored_and_a_zero_pointer_means_none(isns):
    """RCV.UP = max(RCV.UP, SEG.UP); an URG with pointer 0 names no urgent data."""
    t = established(isns)
    t.peer_sends("UP.", seq=t.irs + 1, ack=t.iss + 1, data=b"abcd", urg=0)
    assert t.conn.urgent_mark is None
    t.peer_sends("UP.", seq=t.irs + 5, ack=t.iss + 1, data=b"efgh", urg=3)
    t.peer_sends("UP.", seq=t.irs + 9, ack=t.iss + 1, data=b"ij", urg=0xFFFF)
    t.peer_sends("UP.", seq=t.irs + 11, ack=t.iss + 1, data=b"kl", urg=1)   # behind: ignored
    assert t.conn.urgent_mark == 10 + 0xFFFF - 2


def test_established_urg_is_processed_when_the_receive_window_is_zero(isns):
    """RFC 9293 §3.4 MUST-66: with RCV.WND = 0 the text of a segment is refused, but its URG
    field is processed: the user learns that urgent data is coming (MUST-32), and the ACK
    still says RCV.NXT with a zero window."""
    t = established(isns, rcv_buf=1000)
    t.peer_sends("P.", seq=t.irs + 1, ack=t.iss + 1, data=bytes(1000))
    ack = t.expect_sent(".", ack=t.irs + 1001)
    assert ack.wnd == 0
    t.peer_sends("UP.", seq=t.irs + 1001, ack=t.iss + 1, data=b"!", urg=1)
    t.expect_sent(".", ack=t.irs + 1001, wnd=0)
    assert t.conn.readable == 1000
    assert t.conn.urgent_mark == 1001 and t.conn.urgent_remaining == 1001


# ------------------------------------------------------------------------------ RST text, SHLD-3
def test_an_rst_may_carry_diagnostic_text(isns):
    """SHLD-2 (RFC 9293 §3.5.3): the RST is accepted with its data, which is kept as the
    error's diagnostic and never delivered as stream data."""
    t = established(isns)
    t.peer_sends("R", seq=t.irs + 1, data=b"server shutting down")
    t.expect_state("CLOSED")
    assert t.conn.error is not None
    assert t.conn.error.code == "reset" and t.conn.error.diagnostic == b"server shutting down"


def test_an_rst_refusing_our_syn_may_carry_text_too():
    from harness import syn_sent
    t = syn_sent()
    t.peer_sends("R.", seq=0, ack=t.iss + 1, data=b"no such service")
    assert isinstance(t.conn.error, ConnectionRefused) and t.conn.error.diagnostic == b"no such service"


def test_close_with_unread_data_sends_rst_instead_of_fin(isns):
    """SHLD-3 (RFC 9293 §3.6.1): a CLOSE that ends reading while data is unread."""
    t = established(isns)
    t.peer_sends("P.", seq=t.irs + 1, ack=t.iss + 1, data=b"unread")
    t.expect_sent(".")
    t.conn.close(t.now, keep_receiving=False)
    t.expect_sent("R.", seq=t.iss + 1, ack=t.irs + 7)  # (Linux's RST,ACK: rst_ack)
    t.expect_state("CLOSED")
    assert t.conn.error is None                                    # the user asked for it


def test_data_after_a_close_that_ended_reading_is_answered_with_rst(isns):
    """SHLD-3: "or if new data is received after CLOSE is called": <SEQ=SEG.ACK><CTL=RST>."""
    t = established(isns)
    t.conn.close(t.now, keep_receiving=False)
    t.expect_sent("F.", seq=t.iss + 1)
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 2)
    t.expect_state("FIN-WAIT-2")
    t.peer_sends("P.", seq=t.irs + 1, ack=t.iss + 2, data=b"too late")
    t.expect_sent("R", seq=t.iss + 2)
    t.expect_state("CLOSED")


def test_the_plain_close_still_half_closes(isns):
    """RFC 9293 §3.10.4: CLOSE keeps receiving (shutdown(SHUT_WR)); only the half-duplex
    close of §3.6.1 resets."""
    t = fin_wait_2(isns)
    t.peer_sends("P.", seq=t.irs + 1, ack=t.iss + 2, data=b"still welcome")
    t.expect_sent(".")
    assert t.receive() == b"still welcome"


def test_close_in_close_wait_with_unread_data_resets(isns):
    t = close_wait(isns)
    t.conn.close(t.now, keep_receiving=False)  # nothing unread: a FIN
    t.expect_sent("F.")
    t2 = established(isns)
    t2.peer_sends("FP.", seq=t2.irs + 1, ack=t2.iss + 1, data=b"bye")
    t2.expect_sent(".")
    t2.conn.close(t2.now, keep_receiving=False)
    t2.expect_sent("R.")


# ------------------------------------------------------------------------------ MSG_OOB parity
pytestmark_linux = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                      reason="MSG_OOB is compared with Linux's own behaviour")


class RealSide:
    def __init__(self) -> None:
        self.opened: list = []
        self.MSG_OOB, self.MSG_DONTWAIT, self.SO_OOBINLINE = (real_socket.MSG_OOB, real_socket.MSG_DONTWAIT,
                                                              real_socket.SO_OOBINLINE)
        self.SOL_SOCKET = real_socket.SOL_SOCKET

    def pair(self):
        lst = real_socket.create_server(("127.0.0.1", 0))
        c = real_socket.create_connection(lst.getsockname())
        s, _ = lst.accept()
        lst.close()
        c.setsockopt(real_socket.IPPROTO_TCP, real_socket.TCP_NODELAY, 1)
        self.opened += [c, s]
        return c, s

    def settle(self) -> None:
        time.sleep(0.05)

    def close(self) -> None:
        for s in self.opened:
            s.close()


class SimSide:
    def __init__(self) -> None:
        self.net = Network(seed=1)
        self.net.add_host("client", ["10.0.0.1"])
        self.net.add_host("server", ["10.0.0.2"])
        self.MSG_OOB, self.MSG_DONTWAIT, self.SO_OOBINLINE = api.MSG_OOB, api.MSG_DONTWAIT, api.SO_OOBINLINE
        self.SOL_SOCKET = api.SOL_SOCKET
        self.srv = api.create_server(self.net, "server", ("", 80))

    def pair(self):
        c = api.create_connection(self.net, "client", ("10.0.0.2", 80))
        c.setsockopt(api.IPPROTO_TCP, api.TCP_NODELAY, 1)
        s, _ = self.srv.accept()
        return c, s

    def settle(self) -> None:
        api.sleep(self.net, 0.05)

    def close(self) -> None:
        pass


def outcome(f):
    try:
        return ("ok", f())
    except OSError as e:
        return (type(e).__name__, e.errno)


def both(scenario):
    real, sim = RealSide(), SimSide()
    try:
        a = scenario(real)
        b = scenario(sim)
    finally:
        real.close()
    assert b == a
    return a


@pytestmark_linux
def test_oob_byte_is_read_alone_and_the_stream_stops_at_the_mark():
    def scenario(w):
        c, s = w.pair()
        out = [outcome(lambda: s.recv(1, w.MSG_OOB))]            # none yet: EINVAL
        c.send(b"abc")
        c.send(b"XYZ", w.MSG_OOB)
        c.send(b"def")
        w.settle()
        out.append(outcome(lambda: s.recv(100)))                 # stops before the mark
        out.append(outcome(lambda: s.recv(1, w.MSG_OOB)))        # the last urgent octet
        out.append(outcome(lambda: s.recv(1, w.MSG_OOB)))        # read already: EINVAL
        out.append(outcome(lambda: s.recv(100)))                 # Z is not in the stream
        out.append(outcome(lambda: s.recv(100, w.MSG_DONTWAIT)))
        return out

    t = both(scenario)
    assert t[1] == ("ok", b"abcXY") and t[2] == ("ok", b"Z")


@pytestmark_linux
def test_oob_read_first_then_the_stream_around_it():
    def scenario(w):
        c, s = w.pair()
        c.send(b"12")
        c.send(b"34", w.MSG_OOB)
        c.send(b"56")
        w.settle()
        return [outcome(lambda: s.recv(10, w.MSG_OOB)), outcome(lambda: s.recv(100)),
                outcome(lambda: s.recv(100, w.MSG_DONTWAIT))]

    assert both(scenario) == [("ok", b"4"), ("ok", b"123"), ("ok", b"56")]


@pytestmark_linux
def test_oobinline_keeps_the_octet_in_the_stream():
    def scenario(w):
        c, s = w.pair()
        s.setsockopt(w.SOL_SOCKET, w.SO_OOBINLINE, 1)
        c.send(b"ab")
        c.send(b"cd", w.MSG_OOB)
        c.send(b"ef")
        w.settle()
        return [outcome(lambda: s.recv(10, w.MSG_OOB)), outcome(lambda: s.recv(100)),
                outcome(lambda: s.recv(100, w.MSG_DONTWAIT))]

    assert both(scenario) == [("OSError", 22), ("ok", b"abc"), ("ok", b"def")]


@pytestmark_linux
def test_an_empty_urgent_send_returns_zero():
    def scenario(w):
        c, s = w.pair()
        return [outcome(lambda: c.send(b"", w.MSG_OOB))]

    assert both(scenario) == [("ok", 0)]


def test_sockatmark_and_urgent_remaining_on_the_socket():
    w = SimSide()
    c, s = w.pair()
    c.send(b"abc")
    c.send(b"XYZ", api.MSG_OOB)
    w.settle()
    assert s.urgent_remaining == 6 and not s.sockatmark()
    assert s.recv(100) == b"abcXY"
    assert s.sockatmark() and s.urgent_remaining == 1
    assert s.recv(1, api.MSG_OOB) == b"Z"
