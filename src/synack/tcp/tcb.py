"""The sequence variables of the Transmission Control Block (RFC 9293 §3.3.1).

RFC 9293 §3.3.1 lists the variables a TCB keeps for each direction (its Figures 3 and 4).
Here they are two small base classes, each owned by one side of the connection:
:class:`SendSequence` by :class:`~synack.tcp.sender.Sender` and :class:`ReceiveSequence` by
:class:`~synack.tcp.receiver.Receiver`. Nothing else writes them; everyone else reads them
through the owner or asks it to act.

Every sequence number is a :class:`~synack.wire.seq.Seq` and is compared only modulo 2**32
(STYLE rule 6). The owners convert to absolute stream offsets at this edge for their
buffers, reassembly queue and SACK scoreboard.
"""

from __future__ import annotations

from ..wire.seq import Seq

__all__ = ["SendSequence", "ReceiveSequence"]

_ZERO = Seq(0)


class SendSequence:
    """Send sequence variables (RFC 9293 §3.3.1, Figure 3).

    ::

                   1         2          3          4
              ----------|----------|----------|----------
                     SND.UNA    SND.NXT    SND.UNA
                                          +SND.WND
    """

    __slots__ = ("snd_una", "snd_nxt", "snd_wnd", "snd_up", "snd_wl1", "snd_wl2", "iss", "max_snd_wnd")

    #: ``snd_una``: SND.UNA, the oldest unacknowledged sequence number
    snd_una: Seq
    #: ``snd_nxt``: SND.NXT, the next sequence number to be sent (the highest ever sent + 1)
    snd_nxt: Seq
    #: ``snd_wnd``: SND.WND, the send window the peer offers, in octets (scaled, RFC 7323 §2.3)
    snd_wnd: int
    #: ``snd_up``: SND.UP, the send urgent pointer (the octet after the urgent data, MUST-62)
    snd_up: Seq
    #: ``snd_wl1``: SND.WL1, the segment sequence number of the last window update
    snd_wl1: Seq
    #: ``snd_wl2``: SND.WL2, the segment acknowledgment number of the last window update
    snd_wl2: Seq
    #: ``iss``: ISS, the initial send sequence number
    iss: Seq
    #: ``max_snd_wnd``: MAX.SND.WND, the largest window the peer ever offered (RFC 5961 §5)
    max_snd_wnd: int

    def __init__(self) -> None:
        self.snd_una = self.snd_nxt = self.snd_up = self.snd_wl1 = self.snd_wl2 = self.iss = _ZERO
        self.snd_wnd = self.max_snd_wnd = 0


class ReceiveSequence:
    """Receive sequence variables (RFC 9293 §3.3.1, Figure 4).

    ::

                       1          2          3
                   ----------|----------|----------
                          RCV.NXT    RCV.NXT
                                    +RCV.WND

    RCV.WND is what is left of the window last advertised: ``rcv_adv - rcv_nxt``, never below
    zero (the right edge ``rcv_adv`` never moves left, RFC 9293 §3.8.6.2.2 SHLD-14).
    """

    __slots__ = ("rcv_nxt", "rcv_up", "irs", "rcv_adv")

    #: ``rcv_nxt``: RCV.NXT, the next sequence number expected
    rcv_nxt: Seq
    #: ``rcv_up``: RCV.UP, the receive urgent pointer (valid once an urgent pointer arrived)
    rcv_up: Seq
    #: ``irs``: IRS, the initial receive sequence number
    irs: Seq
    #: ``rcv_adv``: RCV.NXT + RCV.WND as last advertised: the right edge promised to the peer
    rcv_adv: Seq

    def __init__(self) -> None:
        self.rcv_nxt = self.rcv_up = self.irs = self.rcv_adv = _ZERO

    @property
    def rcv_wnd(self) -> int:
        """RCV.WND: what is left of the window last advertised."""
        w = self.rcv_adv.dist(self.rcv_nxt)
        return w if w > 0 else 0
