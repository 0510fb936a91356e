"""What a connection hears besides segments and the RFC 9293 user calls: socket options
and ICMP errors.

:class:`Control` is the part of :class:`~synack.tcp.connection.Connection` that applies
keep-alive settings (RFC 9293 §3.8.4, :mod:`~synack.tcp.keepalive`), TCP_NODELAY (§3.7.4),
the congestion control algorithm by name (:mod:`~synack.tcp.cc`), the segment size a link
allows (TSO), and ICMP errors the host matched to the connection (RFC 9293 §3.9.2.2).
"""

from __future__ import annotations

from dataclasses import replace

from . import cc as cc_registry
from . import keepalive as _keepalive
from ..wire.seq import seq_dist
from .cc.reno import INITIAL_SSTHRESH
from .errors import ConnectionRefused, TcpError, Unreachable
from .output import Output
from .sack import LOST, RETRANS, SACKED
from .state import State
from .timers import Timer

__all__ = ["Control", "LINUX_STATES", "TCPI_OPT_TIMESTAMPS", "TCPI_OPT_SACK", "TCPI_OPT_WSCALE", "TCPI_OPT_ECN"]

#: Linux's TCP state numbers (include/net/tcp_states.h), as tcpi_state gives them
LINUX_STATES = {
    State.ESTABLISHED: 1, State.SYN_SENT: 2, State.SYN_RECEIVED: 3, State.FIN_WAIT_1: 4,
    State.FIN_WAIT_2: 5, State.TIME_WAIT: 6, State.CLOSED: 7, State.CLOSE_WAIT: 8, State.LAST_ACK: 9,
    State.LISTEN: 10, State.CLOSING: 11,
}
#: tcpi_options bits (linux/tcp.h)
TCPI_OPT_TIMESTAMPS, TCPI_OPT_SACK, TCPI_OPT_WSCALE, TCPI_OPT_ECN = 1, 2, 4, 8
#: tcpi_ca_state (Linux's enum tcp_ca_state)
_CA_STATES = {"open": 0, "disorder": 1, "cwr": 2, "recovery": 3, "loss": 4}
_US = 1000


class Control(Output):
    """Socket options and ICMP errors of a connection (see the module docstring)."""

    __slots__ = ()

    def path_confirmed(self) -> None:
        """Data got through: forget a soft ICMP error (as Linux does)."""
        self.icmp_error = None

    def set_keepalive(self, on: bool, now: int, *, idle: int | None = None,
                      interval: int | None = None, count: int | None = None) -> None:
        """Turn keep-alives on or off for this connection (RFC 9293 §3.8.4 MUST-24), with
        TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT values in ns and probes (MUST-27).
        ValueError names a value out of range."""
        self.config = _keepalive.configured(self.config, on, idle, interval, count)  # (validated copy)
        if on:
            if self.state in _keepalive.PROBED:
                self._keepalive_state(now).start(now)
        else:
            self.timers.cancel(Timer.KEEPALIVE, now)
        self._settle(now)

    def _keepalive_state(self, now: int) -> _keepalive.KeepAlive:
        ka = self._ka
        if ka is None:
            ka = self._ka = _keepalive.KeepAlive(self, now)
        return ka

    def set_congestion_control(self, name: str) -> None:
        """Switch the congestion control algorithm by name, keeping cwnd and ssthresh (what
        Linux's TCP_CONGESTION does on a live connection). ValueError if ``name`` is unknown."""
        snd = self.snd
        if name != snd.cc.name:
            snd.cc = cc_registry.switch(snd.cc, name)
        if self.config.congestion != name:
            self.config = replace(self.config, congestion=name)  # the host's config is shared

    def set_nodelay(self, on: bool, now: int) -> None:
        """TCP_NODELAY (RFC 9293 §3.7.4 MUST-17): ``on`` turns Nagle's algorithm off, and
        sends at once what it was holding, as Linux does; ``False`` turns it back on."""
        on = bool(on)
        if self.config.nodelay != on:
            self.config = replace(self.config, nodelay=on)  # the host's config is shared
        if on and self.state is not State.CLOSED:
            self._now = now
            self._output(now)
            self._settle(now)

    def set_quickack(self, on: bool, now: int) -> None:
        """TCP_QUICKACK (Linux): ``False`` enters ping-pong mode, so the ACKs of arriving data
        wait for the delayed-ACK timer or for data to carry them; ``True`` leaves it and sends
        at once an ACK that is owed. Neither refills the quick-ACK budget (``quick_acks``),
        and the delayed-ACK timer ends ping-pong mode when it fires, as in Linux."""
        self.rcv.set_quickack(bool(on))
        if on and self.state.synchronized and self.rcv.ack_now:
            self._now = now
            self._output(now)
            self._settle(now)

    @property
    def quickack(self) -> bool:
        """TCP_QUICKACK as Linux reports it: True unless in ping-pong mode."""
        return not self.rcv.pingpong

    def set_ip_fields(self, *, tos: int | None = None, ttl: int | None | bool = False) -> None:
        """IP_TOS / IPV6_TCLASS (``tos``: the DS field of the segments from now on; the ECN
        bits stay the stack's, RFC 9293 §3.9.1.9 MUST-48) and IP_TTL / IPV6_UNICAST_HOPS
        (``ttl``; None: the host's, MUST-49). ValueError names a value out of range."""
        changes: dict = {}
        if tos is not None:
            changes["tos"] = tos
        if ttl is not False:
            changes["ttl"] = ttl
        cfg = replace(self.config, **changes)  # the host's config is shared
        cfg.validate()
        self.config = cfg

    def set_snd_buf(self, size: int) -> None:
        """SO_SNDBUF for this connection: SEND holds at most ``size`` octets, unsent and
        unacknowledged (data already held stays). ValueError names a size out of range."""
        cfg = replace(self.config, snd_buf=size)  # the host's config is shared
        cfg.validate()
        self.config = cfg

    def set_user_timeout(self, user_timeout: int | None) -> None:
        """TCP_USER_TIMEOUT (ns; None: R2 alone) for this connection (RFC 9293 §3.8.3
        MUST-21). ValueError names a value out of range."""
        cfg = replace(self.config, user_timeout=user_timeout)  # the host's config is shared
        cfg.validate()
        self.config = cfg

    def peek(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` octets of what RECEIVE would return, left in place (the
        socket's MSG_PEEK): the window does not move."""
        return self.rcv.buf.peek(max_bytes)

    def tcp_info(self, now: int) -> dict[str, int]:
        """The connection as Linux's ``struct tcp_info`` describes it (getsockopt
        TCP_INFO), by field name without the ``tcpi_`` prefix: times in microseconds
        (``last_*`` in milliseconds), counts of segments where Linux counts segments, the
        congestion window and ssthresh in segments of Eff.snd.MSS."""
        snd, rcv = self.snd, self.rcv
        rtt = snd.rtt
        mss = snd.eff_mss() if self.state is not State.LISTEN else 0
        flight = seq_dist(snd.snd_nxt, snd.snd_una)
        lr = snd.lr
        sacked = lost = retrans = 0
        if lr is not None and lr.sb.segs:
            segs = lr.sb.segs
            unacked = len(segs)
            for r in segs:
                f = r.flags
                sacked += f & SACKED != 0
                lost += f & LOST != 0
                retrans += f & RETRANS != 0
        else:
            unacked = -(-flight // mss) if flight and mss else 0
        opts = 0
        if self.ts_ok:
            opts |= TCPI_OPT_TIMESTAMPS
        if self.sack_ok:
            opts |= TCPI_OPT_SACK
        if self.ws_ok:
            opts |= TCPI_OPT_WSCALE
        if self.ecn_ok:
            opts |= TCPI_OPT_ECN
        cc = snd.cc
        unit = mss or 1
        ss = cc.ssthresh
        ka = self._ka
        sent = seq_dist(snd.snd_nxt, snd.iss)
        got = seq_dist(rcv.rcv_nxt, rcv.irs) if self.state not in (State.LISTEN, State.SYN_SENT) else 0
        return {
            "state": LINUX_STATES[self.state], "ca_state": _CA_STATES.get(snd.ca_state, 0),
            "retransmits": snd.retries, "probes": (ka.probes if ka is not None else 0) or snd.persist_backoff,
            "backoff": rtt.backoff, "options": opts,
            "snd_wscale": self.snd_wscale if self.ws_ok else 0, "rcv_wscale": self.rcv_wscale if self.ws_ok else 0,
            "rto": rtt.timeout // _US,
            "ato": (rcv.ato if self.config.quick_acks else self.config.delayed_ack or 0) // _US,  # 0 before data
            "snd_mss": mss, "rcv_mss": rcv.rcv_mss, "unacked": unacked, "sacked": sacked, "lost": lost,
            "retrans": retrans, "pmtu": self.mss_limit + (60 if self.ipv6 else 40),
            "rcv_ssthresh": rcv.rcv_wnd, "rtt": (rtt.srtt or 0) // _US, "rttvar": (rtt.rttvar or 0) // _US,
            "snd_ssthresh": ss // unit if ss < INITIAL_SSTHRESH else 0x7FFFFFFF,  # (TCP_INFINITE_SSTHRESH)
            "snd_cwnd": cc.cwnd // unit, "advmss": rcv.rcv_mss, "reordering": 3,
            "rcv_space": self.config.rcv_buf, "total_retrans": snd.retransmits,
            "bytes_acked": max(seq_dist(snd.snd_una, snd.iss) - 1, 0), "bytes_received": max(got - 1, 0),
            "segs_out": self.segs_out, "segs_in": self.segs_in, "notsent_bytes": snd.unsent,
            "min_rtt": (rtt.srtt or 0) // _US, "bytes_sent": max(sent - 1, 0) + snd.bytes_retrans,
            "bytes_retrans": snd.bytes_retrans,
            "snd_wnd": snd.snd_wnd, "rcv_wnd": rcv.rcv_wnd,
        }

    def set_max_segment_bytes(self, n: int | None) -> None:
        """The most data one segment may carry, for a link that splits large segments (TSO):
        up to 64 KiB; None (the default) is one Eff.snd.MSS. Nagle and SWS avoidance still
        count full-sized segments in MSS. ValueError names a value out of range."""
        self.snd.set_max_segment_bytes(n)

    def icmp_received(self, reason: str, hard: bool, now: int, mtu: int | None = None,
                      detail: str = "") -> str:
        """An ICMP error about this connection (RFC 9293 §3.9.2.2 MUST-54), already matched
        to it and checked by the host. ``reason`` names it (see tcp.errors.Unreachable);
        ``hard`` is true for the errors that may end a connection (Destination Unreachable
        codes 2-4 and their kin, SHLD-26); ``mtu`` comes with "frag-needed".

        Returns what was done: "pmtu" (the segment size shrank and the data is sent again
        in smaller pieces, RFC 1191 / RFC 8201), "hard" (the connection ended with the
        error), "soft" (kept for the user, MUST-56: never abort on a soft error; SHLD-25),
        or "ignored". The host traces the error first and then takes what the connection
        queued (``owner.updated``), so the ICMP error precedes its consequences."""
        st = self.state
        if st is State.CLOSED or st is State.LISTEN or st is State.TIME_WAIT:
            return "ignored"
        if reason == "frag-needed" and mtu:
            if self.ipv6 and mtu < 1280:
                # RFC 8201 §4: the path MTU never goes below IPv6's minimum link MTU; such a
                # Packet Too Big is forged or broken (Linux ignores it for TCP).
                return "ignored"
            if not self.ipv6 and mtu < 552:
                mtu = 552  # Linux's floor (net.ipv4.route.min_pmtu)
            mss = mtu - (60 if self.ipv6 else 40)  # RFC 9293 §3.7.1: MTU - fixed headers
            if mss < 88:
                mss = 88  # (a forged tiny MTU must not shrink segments to nothing)
            if mss >= self.snd.snd_mss:
                return "ignored"
            self.mss_limit = mss
            self.snd.path_mtu(mss, now)
            return "pmtu"
        err: TcpError = Unreachable(reason, detail or reason)
        if st is State.SYN_SENT and self.config.icmp_abort_syn_sent:
            hard = True  # Linux's tcp_v4_err / tcp_v6_err: any ICMP error ends a connection attempt
        if hard and (st is State.SYN_SENT or st is State.SYN_RECEIVED or self.config.icmp_abort_synchronized):
            if reason == "port-unreachable":
                # Linux reports ECONNREFUSED, as for an RST in SYN-SENT.
                err = ConnectionRefused(f"connection refused ({detail or reason})")
            if st is State.SYN_RECEIVED and self.passive:
                self._abandon_passive(now, f"ICMP {reason}", err)
            else:
                self._fail(err, now, f"ICMP {reason}", "RFC 9293 §3.9.2.2 SHLD-26")
            return "hard"
        self._advise(detail or reason)
        self.icmp_error = err  # type: ignore[assignment]
        return "soft"
