"""Opening a connection: SYN options and their negotiation, LISTEN and SYN-SENT processing.

:class:`Handshake` is the part of :class:`~synack.tcp.connection.Connection` that opens
it: the active OPEN (RFC 9293 §3.10.1), SEGMENT ARRIVES in LISTEN (§3.10.7.2) and in
SYN-SENT (§3.10.7.3), the ACK of our SYN in SYN-RECEIVED (§3.10.7.4 fifth check), the
options a SYN carries and what both ends agree on: the MSS (§3.7.1), window scaling and
timestamps (RFC 7323), SACK (RFC 2018), ECN (RFC 3168) and Fast Open (RFC 7413). It writes
only the connection's own negotiated flags; SND.* and RCV.* are set through the sender's
and the receiver's methods.
"""

from __future__ import annotations


from ..wire.seq import MASK, Seq, seq_add, seq_dist
from ..wire.tcp import (ACK, CWR, ECE, FIN, RST, SYN, FastOpen, Mss, Nop, SackPermitted, TcpSegment,
                        Timestamps, WindowScale)
from . import fastopen as _fastopen
from . import timestamps as _ts
from .errors import ConnectionRefused, TcpError
from .fastopen import ClientFastOpen, CookieCache, ServerFastOpen
from .isn import ts_offset_of
from .output import Output
from .state import State
from .timers import Timer

__all__ = ["Handshake", "DEFAULT_SND_MSS_V4", "DEFAULT_SND_MSS_V6", "MIN_SND_MSS"]

DEFAULT_SND_MSS_V4 = 536  # RFC 9293 §3.7.1 MUST-15
DEFAULT_SND_MSS_V6 = 1220
#: The smallest send MSS a peer's option can ask for (Linux's net.ipv4.tcp_min_snd_mss,
#: since CVE-2019-11479): a peer announcing less gets segments of this size.
MIN_SND_MSS = 48

_NOP = Nop()
_SACK_PERM = SackPermitted()
_tuple_new = tuple.__new__
_EMPTY = b""
#: Linux's TCP_TIMEOUT_MIN (2 jiffies at HZ=250): the quick SYN retry after an unacceptable ACK
_SYN_QUICK_RETRY = 8_000_000
_WSCALE = tuple(WindowScale(s) for s in range(_ts.MAX_SHIFT + 1))  # shift -> its option
# (module constants: an Enum member read through its class costs a lookup each time)
_CLOSED, _LISTEN, _SYN_SENT, _SYN_RECEIVED = State.CLOSED, State.LISTEN, State.SYN_SENT, State.SYN_RECEIVED
_ESTABLISHED = State.ESTABLISHED
_RTO = Timer.RTO


class Handshake(Output):
    """The opening procedures of a connection (see the module docstring)."""

    __slots__ = ()

    # ------------------------------------------------------------------ our SYN
    def _new_iss(self, now: int) -> Seq:
        if self.isn is None:
            raise ValueError("Connection needs an isn source to open")
        iss = self.isn(self.local_addr, self.local_port, self.remote_addr, self.remote_port, now)
        return iss if type(iss) is Seq else Seq(iss)

    def _active_open(self, now: int) -> None:
        """The active OPEN (RFC 9293 §3.10.1): <SEQ=ISS><CTL=SYN>, SYN-SENT."""
        self._now = now
        snd = self.snd
        snd.start(self._new_iss(now), now)
        self.passive = False
        payload = _EMPTY
        tfo = self._tfo
        if isinstance(tfo, ClientFastOpen):
            # RFC 7413 §4.2.1: with a cookie, up to one MSS of the queued data rides in the SYN.
            entry = tfo.cache.get(tfo.addr)
            payload = _fastopen.client_syn_payload(tfo, snd.buf, (entry.mss if entry else None) or snd.snd_mss, now)
            snd.rewind(snd.iss + 1 + len(payload))
        self._emit(self._segment(snd.iss, None, SYN, payload, options=self._syn_options()), now)
        # (with SYN data, the RTT is timed from the SYN alone: its ACK may cover only the SYN)
        snd.time_segment(seq_add(snd.iss, 1), now)
        self._set_state(_SYN_SENT, now, "active OPEN", "RFC 9293 §3.10.1")
        snd.arm_rto(now)

    def _resend_syn(self, now: int, cause: str) -> None:
        """Our SYN (SYN-SENT) or SYN,ACK (SYN-RECEIVED) again: the retransmission timer expired."""
        snd = self.snd
        if self.state is _SYN_SENT:
            tfo = self._tfo
            if isinstance(tfo, ClientFastOpen):
                self._fastopen_syn_timeout(tfo, now)  # RFC 7413: again, without data
            self._emit(self._segment(snd.iss, None, SYN, options=self._syn_options()), now, cause)
        else:
            self._emit(self._segment(snd.iss, self.rcv.rcv_nxt, SYN | ACK, options=self._syn_options()), now, cause)

    def _syn_options(self) -> tuple:
        """The options of our SYN or SYN,ACK, in Linux's order (MSS, sackOK, TS, nop, wscale,
        Fast Open): RFC 9293 §3.7.1 MUST-14 / SHLD-5, announce our MSS in every SYN; then a
        SYN offers what the config enables, and a SYN,ACK answers only what the peer's SYN
        offered (RFC 7323 §2.2, §3.2; RFC 2018 §2)."""
        cfg = self.config
        st = self.state
        if st is _CLOSED or st is _LISTEN or st is _SYN_SENT:
            sack, ts, ws, ecr = cfg.sack, cfg.timestamps, cfg.window_scale, 0
            shift = cfg.window_shift() if ws else 0
        else:
            # (a SYN,ACK: window scaling is in use only if the peer's SYN offered it, and then
            # _negotiate took our shift from the config already)
            sack, ts, ws, ecr = self.sack_ok, self.ts_ok, self.ws_ok, self.rcv.ts_recent
            shift = self.rcv_wscale
        mss = _tuple_new(Mss, (self.rcv.rcv_mss,))
        if ts:
            # This connection's TSval offset: per 4-tuple from the host's RFC 6528 generator
            # (the same for every incarnation, RFC 6191), else a mixing of the ISS.
            off = self.ts_off = ts_offset_of(self.isn, self.snd.iss, self.cid)
            tso = _tuple_new(Timestamps, ((self._now // _ts.TS_TICK + off) & MASK, ecr))
            opts: tuple = (mss, _SACK_PERM, tso) if sack else (mss, _NOP, _NOP, tso)
        elif sack:
            opts = (mss, _NOP, _NOP, _SACK_PERM)
        else:
            opts = (mss,)
        if ws:
            opts += (_NOP, _WSCALE[shift])
        tfo = self._tfo
        if tfo is not None and (tfo.cookie or not self.passive):
            # RFC 7413 §4.1.1: a client's cookie (empty: a request), a server's new cookie.
            opts += (FastOpen(tfo.cookie),)
            if len(tfo.cookie) & 3 == 0:
                # A 2 + 4k octet option ends half a word short: Linux pads it with two NOPs
                # (tcp_options_write), where a bare list would end in zero octets (EOL).
                opts += (_NOP, _NOP)
        return opts

    def _syn_ecn_bits(self, flags: int) -> int:
        """RFC 3168 §6.1.1: an ECN-setup SYN carries ECE and CWR, an ECN-setup SYN,ACK ECE
        alone. A retransmitted SYN goes without them (§6.1.1.1: the peer or a middlebox
        may be dropping ECN-setup SYNs)."""
        if flags & ACK:
            return ECE if self.ecn_ok else 0
        if self.config.ecn == "on" and not self.snd.retransmits:
            return ECE | CWR
        return 0

    # ------------------------------------------------------------------ the peer's SYN
    def _negotiate(self, seg: TcpSegment, now: int) -> None:
        """What the peer's SYN (or SYN,ACK) says about the options: RFC 7323 §2.2 window
        scaling and §3.2 timestamps, RFC 2018 §2 SACK, RFC 3168 §6.1.1 ECN. Each is in use
        only if both ends asked for it; a SYN,ACK can only accept what our SYN offered."""
        cfg = self.config
        ws = None
        ts: Timestamps | None = None
        sack = False
        for o in seg.options:
            t = type(o)
            if t is WindowScale:
                ws = o.shift
            elif t is Timestamps:
                ts = o
            elif t is SackPermitted:
                sack = True
        self.ws_ok = cfg.window_scale and ws is not None
        if ws is not None and self.ws_ok:
            # RFC 7323 §2.3: a shift above 14 "MUST use 14 instead".
            self.snd_wscale = ws if ws <= _ts.MAX_SHIFT else _ts.MAX_SHIFT
            self.rcv_wscale = cfg.window_shift()
        else:
            self.snd_wscale = self.rcv_wscale = 0
        self.sack_ok = cfg.sack and sack
        self.ts_ok = cfg.timestamps and ts is not None
        if ts is not None and self.ts_ok:
            self.rcv.take_timestamp(ts.tsval, now)  # RFC 7323 §4.3: TS.Recent from the SYN
        f = seg.flags
        if f & ACK:
            self.ecn_ok = cfg.ecn == "on" and f & (ECE | CWR) == ECE
        else:
            self.ecn_ok = cfg.ecn != "off" and f & (ECE | CWR) == ECE | CWR

    def _take_peer_mss(self, seg: TcpSegment) -> None:
        """RFC 9293 §3.7.1 MUST-15/16: the send MSS is the peer's MSS option, or 536/1220
        without one, capped by our own path limit.

        An MSS of 0 counts as no option, and anything below :data:`MIN_SND_MSS` is raised
        to it, as Linux does: a peer must not make us cut 3 KB into 3,000 one-octet
        segments (the CVE-2019-11479 class of resource exhaustion)."""
        peer = None
        for o in seg.options:
            if type(o) is Mss:  # (seg.mss, without its calls)
                peer = o.value
                break
        if not peer:
            peer = DEFAULT_SND_MSS_V6 if self.ipv6 else DEFAULT_SND_MSS_V4
        elif peer < MIN_SND_MSS:
            peer = MIN_SND_MSS
        self.snd.take_peer_mss(peer)

    def _listen_state(self, seg: TcpSegment, now: int) -> None:
        """RFC 9293 §3.10.7.2."""
        f = seg.flags
        if f & RST:  # first: an incoming RST is ignored
            self._drop(seg, now, "rst-in-listen")
            return
        if f & ACK:  # second: any ACK is bad in LISTEN -> <SEQ=SEG.ACK><CTL=RST>
            self._drop(seg, now, "ack-in-listen")
            self._send_rst(seg.ack, now)
            return
        if not f & SYN:  # fourth: anything else is dropped
            self._drop(seg, now, "no-syn-in-listen")
            return
        # third: SYN. Data carried in the SYN is not acknowledged here: the peer sends it
        # again once the connection is synchronized (Fast Open is a separate mechanism).
        rcv, snd = self.rcv, self.snd
        rcv.start(seg.seq)
        self._negotiate(seg, now)  # RFC 7323, RFC 2018, RFC 3168: what the SYN offers
        self._take_peer_mss(seg)
        snd.start(self._new_iss(now), now)
        snd.take_syn_window(seg.wnd, seg.seq)
        self._set_state(_SYN_RECEIVED, now, "SYN received", "RFC 9293 §3.10.7.2")
        tfo = self._tfo
        if seg.payload and tfo is not None and tfo.accepted:
            # RFC 7413 §4.2.2: the host found a valid Fast Open cookie, so the SYN's data
            # is delivered now and acknowledged by the SYN,ACK.
            rcv.ack_now = True
            rcv.deliver(seg.payload, now)
        self._emit(self._segment(snd.iss, rcv.rcv_nxt, SYN | ACK, options=self._syn_options()), now)
        snd.time_segment(snd.snd_nxt, now)
        snd.arm_rto(now)

    def _syn_sent_state(self, seg: TcpSegment, now: int) -> None:
        """RFC 9293 §3.10.7.3."""
        f = seg.flags
        snd, rcv = self.snd, self.rcv
        ack_ok = False
        if f & ACK:
            # first: SEG.ACK =< ISS or SEG.ACK > SND.NXT is unacceptable.
            acked = seq_dist(seg.ack, snd.iss)
            if acked <= 0 or seg.ack.gt(snd.snd_nxt):
                self._drop(seg, now, "bad-ack", "SYN-SENT: unacceptable acknowledgment")
                if not f & RST:
                    self._send_rst(seg.ack, now)
                if self.config.syn_quick_retry and not snd.retransmits:
                    # Linux: the SYN goes again TCP_TIMEOUT_MIN (8 ms) later, not an RTO later.
                    self.timers.arm(_RTO, now + _SYN_QUICK_RETRY, now)
                return
            # SND.UNA is ISS in SYN-SENT, so ISS < SEG.ACK =< SND.NXT is SND.UNA < SEG.ACK =< SND.NXT.
            ack_ok = True
        if f & RST:
            # second: an acceptable RST means "connection refused"; others are dropped.
            if ack_ok:
                err = ConnectionRefused("connection refused")
                err.diagnostic = bytes(seg.payload)  # RFC 9293 §3.5.3 SHLD-2: RST text
                self._fail(err, now, "RST received", "RFC 9293 §3.10.7.3")
            else:
                self._drop(seg, now, "rst-without-ack", "SYN-SENT: RST without an acceptable ACK")
            return
        if not f & SYN:
            self._drop(seg, now, "no-syn", "SYN-SENT: neither SYN nor RST")
            return
        # fourth: SYN.
        rcv.start(seg.seq)
        self._negotiate(seg, now)  # RFC 7323, RFC 2018, RFC 3168: what the SYN,ACK accepts
        self._take_peer_mss(seg)
        tfo = self._tfo
        if ack_ok and isinstance(tfo, ClientFastOpen):
            self._fastopen_synack(tfo, seg, now)  # RFC 7413: keep the cookie; SYN data acked?
        if ack_ok:
            # Our SYN is acknowledged (SND.UNA > ISS): ESTABLISHED, <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
            snd.new_ack(seg.ack, now, None, acked)  # (SND.UNA is ISS in SYN-SENT)
            snd.take_window(seg.wnd, seg.seq, seg.ack)
            self._set_state(_ESTABLISHED, now, "SYN,ACK received", "RFC 9293 §3.10.7.3")
            rcv.ack_now = True
            # Data or a FIN in the SYN,ACK continue at the sixth step (RFC 9293 §3.10.7.3).
            if seg.payload or f & FIN:
                rcv.text_and_fin(seg._replace(seq=seg.seq + 1, flags=f & ~SYN), now)
            self._output(now)
        else:
            # Simultaneous open (RFC 9293 §3.5 MUST-10): SYN-RECEIVED, send SYN,ACK.
            snd.take_window(seg.wnd, seg.seq, None)
            self._set_state(_SYN_RECEIVED, now, "SYN received (simultaneous open)", "RFC 9293 §3.10.7.3")
            self._emit(self._segment(snd.iss, rcv.rcv_nxt, SYN | ACK, options=self._syn_options()), now)
            snd.forget_timing()  # the SYN was sent twice: no clean sample (Karn)

    def _trim_simultaneous_syn(self, seg: TcpSegment) -> TcpSegment:
        """RFC 9293 §3.5 Figure 7 line 6 (MUST-10): in a simultaneous open the peer's SYN,ACK
        repeats its SYN at IRS = RCV.NXT-1 and must take us to ESTABLISHED. Trim the SYN,
        which lies before the window (§3.10.7.4 first check: "trimming off any portions that
        lie outside the window (including SYN and FIN)"), and process the rest, which now
        begins at RCV.NXT. (Its window, a SYN's, is not scaled: shift it down so that the
        ACK processing's scaling restores it.)"""
        return seg._replace(seq=self.rcv.rcv_nxt, flags=seg.flags & ~SYN, wnd=seg.wnd >> self.snd_wscale)

    def _syn_received_ack(self, seg: TcpSegment, now: int) -> bool:
        """The fifth check in SYN-RECEIVED (RFC 9293 §3.10.7.4): an ACK of our SYN makes the
        connection ESTABLISHED; any other ACK draws <SEQ=SEG.ACK><CTL=RST>. False: stop."""
        snd = self.snd
        if snd.snd_una.lt(seg.ack) and seg.ack.le(snd.snd_nxt):
            # RFC 7323 §2.3: SND.WND = SEG.WND << Snd.Wind.Shift (no SYN here).
            snd.take_window(seg.wnd << self.snd_wscale, seg.seq, seg.ack)
            self._set_state(_ESTABLISHED, now, "ACK of SYN", "RFC 9293 §3.10.7.4")
            return True
        self._drop(seg, now, "bad-ack", "SYN-RECEIVED: unacceptable ACK")
        self._send_rst(seg.ack, now)
        return False

    def _abandon_passive(self, now: int, cause: str, err: TcpError) -> None:
        """Give up a passive SYN-RECEIVED connection: back to LISTEN (RFC 9293 §3.10.7.4),
        or, for a Fast Open connection the user may already hold, fail with ``err``."""
        tfo = self._tfo
        if tfo is not None and tfo.accepted:
            self._fail(err, now, cause, "RFC 7413 §4.2.2")
        else:
            self._return_to_listen(now, cause)

    def _return_to_listen(self, now: int, cause: str) -> None:
        """MUST-11: a passive SYN-RECEIVED goes back to LISTEN, its queues flushed."""
        self.timers.cancel_all(now)
        self.snd.reset_for_listen()
        self.soft_error = None
        self._set_state(_LISTEN, now, cause, "RFC 9293 §3.10.7.4")

    # ------------------------------------------------------------------ SYN cookies, Fast Open
    def forget_syn_ack(self, now: int) -> None:
        """A connection rebuilt from a SYN cookie (RFC 4987 §3.6): its SYN,ACK was sent,
        statelessly, long ago, so it is neither queued, retransmitted nor timed."""
        self.out.clear()
        self.timers.cancel(_RTO, now)
        self.snd.forget_timing()

    def use_fastopen(self, state: ClientFastOpen | ServerFastOpen) -> None:
        """Make this a Fast Open connection (RFC 7413): a client's state before its active
        OPEN, a server's (with the cookie check's outcome) before the SYN is processed."""
        self._tfo = state

    def fastopen_client(self, cache: CookieCache, data: bytes, now: int) -> int:
        """Make this connection (CLOSED, about to OPEN actively) a Fast Open client: its SYN
        carries the cookie cached for the server, or asks for one, and, with a cookie, the
        first part of ``data`` (RFC 7413 §4.2.1). ``data`` is queued as if SENT; returns
        how many octets the send buffer took."""
        state = _fastopen.prepare_client(cache, self.remote_addr)
        self._tfo = state
        n = self.snd.queue(data, False)
        _fastopen.trace_client(state, n, self.tr, self.cid, now)
        return n

    def _fastopen_synack(self, tfo: ClientFastOpen, seg: TcpSegment, now: int) -> None:
        nxt = _fastopen.client_synack(tfo, seg, self.snd.iss, self.tr, self.cid, now)
        if nxt is not None:
            self.snd.rewind(nxt)

    def _fastopen_syn_timeout(self, tfo: ClientFastOpen, now: int) -> None:
        if _fastopen.client_syn_timeout(tfo, self.tr, self.cid, now):
            self.snd.rewind(self.snd.iss + 1)
