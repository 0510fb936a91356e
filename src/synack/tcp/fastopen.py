"""TCP Fast Open (RFC 7413): data in the SYN, delivered before the handshake completes.

A client asks a server for a cookie with an empty Fast Open option in its SYN (RFC 7413
§4.1.3); a server that allows Fast Open answers with a cookie in the SYN,ACK, a MAC of the
client's IP address under the server's secret (§4.1.2). On a later connection the client
sends the cookie *and* its first data in the SYN (§4.2.1). If the cookie is valid, the
server delivers the data to the application at once and acknowledges it in the SYN,ACK,
saving one round trip (§4.2.2); otherwise it acknowledges only the SYN and the client sends
the data again after the handshake, as ordinary TCP would (§4.2.1 fallback). If the
SYN carrying data is lost, the retransmitted SYN carries none (§4.1.3.1 and Linux), and
the client remembers the loss for a while so that later connections skip Fast Open.

This module holds the pieces: the server's cookie key (:class:`FastOpenKey`), the client's
cookie cache (:class:`CookieCache`, keyed by server address as Linux does), and the small
per-connection records (:class:`ClientFastOpen`, :class:`ServerFastOpen`) that a
:class:`~synack.tcp.connection.Connection` keeps (``conn.fastopen``), allocated only for
connections that use Fast Open. The functions decide and trace; the connection's handshake
(:mod:`synack.tcp.handshake`) applies what they return to its own sequence variables.

Sans-IO: the key's secret is injected, ``now`` is an argument.
"""

from __future__ import annotations

import hashlib
import ipaddress

from ..timeunits import sec
from ..trace.events import FastOpenEvent, Tracer
from ..wire.seq import Seq
from ..wire.tcp import FastOpen, TcpSegment

#: Cookie length: RFC 7413 §4.1.1 allows 4..16 octets; Linux sends 8.
COOKIE_LEN = 8
#: How long a client avoids Fast Open to a server after its SYN data was lost (Linux
#: backs off for tens of minutes after repeated losses; one hour here).
SYN_LOSS_HOLDOFF = sec(3600)


class FastOpenKey:
    """A server's Fast Open secret: cookies are a keyed MAC of the client's address."""

    __slots__ = ("_hash",)

    def __init__(self, secret: bytes) -> None:
        if not isinstance(secret, (bytes, bytearray)) or not 16 <= len(secret) <= 64:
            raise ValueError("secret must be 16..64 bytes")
        self._hash = hashlib.blake2b(key=bytes(secret), digest_size=COOKIE_LEN)

    def __repr__(self) -> str:
        return "FastOpenKey(secret=<hidden>)"

    def cookie(self, client_addr: str) -> bytes:
        """The cookie for ``client_addr`` (RFC 7413 §4.1.2: bound to the source IP)."""
        h = self._hash.copy()
        h.update(ipaddress.ip_address(client_addr).packed)
        return h.digest()

    def valid(self, client_addr: str, cookie: bytes) -> bool:
        """Whether ``cookie`` is the one this key issues to ``client_addr``."""
        return len(cookie) == COOKIE_LEN and cookie == self.cookie(client_addr)


class CacheEntry:
    """What a client remembers about one server (Linux's ``tcp_fastopen_cache``)."""

    __slots__ = ("cookie", "mss", "syn_loss_at")

    def __init__(self, cookie: bytes = b"", mss: int | None = None) -> None:
        self.cookie = cookie
        self.mss = mss
        self.syn_loss_at: int | None = None

    def __repr__(self) -> str:
        return f"CacheEntry(cookie={self.cookie.hex()!r}, mss={self.mss}, syn_loss_at={self.syn_loss_at})"


class CookieCache:
    """A client's Fast Open cookies by server address, at most ``limit`` of them."""

    __slots__ = ("entries", "limit")

    def __init__(self, limit: int = 1024) -> None:
        self.entries: dict[str, CacheEntry] = {}
        self.limit = limit

    def get(self, addr: str) -> CacheEntry | None:
        return self.entries.get(addr)

    def entry(self, addr: str) -> CacheEntry:
        e = self.entries.get(addr)
        if e is None:
            if len(self.entries) >= self.limit:
                self.entries.pop(next(iter(self.entries)))  # oldest first
            e = self.entries[addr] = CacheEntry()
        return e

    def cookie(self, addr: str) -> bytes:
        """The cookie stored for ``addr`` (b"" when none)."""
        e = self.entries.get(addr)
        return e.cookie if e is not None else b""

    def __len__(self) -> int:
        return len(self.entries)


class ClientFastOpen:
    """A client connection's Fast Open state (RFC 7413 §4.2.1)."""

    __slots__ = ("cache", "addr", "cookie", "syn_data")

    #: (a server's record says whether its client's cookie was good; a client's never is)
    accepted = False

    def __init__(self, cache: CookieCache, addr: str, cookie: bytes) -> None:
        self.cache = cache
        self.addr = addr
        #: the cookie sent in the SYN (b"": a cookie request)
        self.cookie = cookie
        #: octets of data the SYN carried (0 for a cookie request or after a SYN timeout)
        self.syn_data = 0

    def syn_option(self) -> FastOpen:
        return FastOpen(self.cookie)


class ServerFastOpen:
    """A server connection's Fast Open state (RFC 7413 §4.2.2)."""

    __slots__ = ("accepted", "cookie")

    def __init__(self, accepted: bool, cookie: bytes = b"") -> None:
        #: the client's cookie was valid: data in the SYN is delivered and the connection
        #: is ready for accept() while still in SYN-RECEIVED
        self.accepted = accepted
        #: a cookie to send in the SYN,ACK (b"": none)
        self.cookie = cookie


def client_syn_payload(state: ClientFastOpen, buffered: bytes | bytearray, mss: int, now: int) -> bytes:
    """The data a client's first SYN carries: up to one MSS of ``buffered`` when it has a
    cookie and no recent SYN loss to this server, else nothing (a cookie request)."""
    if not state.cookie or not buffered:
        return b""
    e = state.cache.get(state.addr)
    if e is not None and e.syn_loss_at is not None and now - e.syn_loss_at < SYN_LOSS_HOLDOFF:
        return b""
    payload = bytes(buffered[:mss])
    state.syn_data = len(payload)
    return payload


def client_synack(state: ClientFastOpen, seg: TcpSegment, iss: Seq, tr: Tracer, cid: tuple,
                  now: int) -> Seq | None:
    """A SYN,ACK answers our Fast Open SYN: store the cookie it carries. If it does not
    acknowledge the data our SYN carried, returns where SND.NXT goes back to, so that the
    data is sent again after the handshake (RFC 7413 §4.2.1); else None."""
    opt = seg.option(FastOpen)
    rewind = None
    if isinstance(opt, FastOpen) and opt.cookie:
        e = state.cache.entry(state.addr)
        e.cookie = opt.cookie
        e.mss = seg.mss
        if tr.on:
            tr.emit(FastOpenEvent(now, tr.host, cid, "cookie-stored", opt.cookie.hex()))
    if state.syn_data:
        acked = seg.ack - (iss + 1)
        if acked < state.syn_data:
            # The server ignored the SYN data (no or a bad cookie): "rewind" SND.NXT so
            # the data leaves again, as new data, once the connection is established.
            rewind = Seq(iss + 1 + max(acked, 0))
            if tr.on:
                tr.emit(FastOpenEvent(now, tr.host, cid, "cookie-refused",
                                      f"SYN,ACK acknowledged {max(acked, 0)} of {state.syn_data} octets of SYN data"))
        state.syn_data = 0
    return rewind


def client_syn_timeout(state: ClientFastOpen, tr: Tracer, cid: tuple, now: int) -> bool:
    """The SYN timed out: the retransmission carries no data (the data is sent after the
    handshake), and the server is remembered as one that lost SYN data. Returns True when
    SND.NXT must go back to ISS + 1."""
    if not state.syn_data:
        return False
    state.syn_data = 0
    state.cache.entry(state.addr).syn_loss_at = now
    if tr.on:
        tr.emit(FastOpenEvent(now, tr.host, cid, "fallback", "SYN data lost: SYN sent again without data"))
    return True


def prepare_client(cache: CookieCache, addr: str) -> ClientFastOpen:
    """The state of a Fast Open client connection to ``addr``: its SYN will carry the
    cookie cached for the server (or ask for one) (RFC 7413 §4.2.1)."""
    return ClientFastOpen(cache, addr, cache.cookie(addr))


def trace_client(state: ClientFastOpen, queued: int, tr: Tracer, cid: tuple, now: int) -> None:
    """Trace what a Fast Open client's SYN is about to do: send data, or ask for a cookie."""
    if tr.on:
        if state.cookie:
            tr.emit(FastOpenEvent(now, tr.host, cid, "data-in-syn",
                                  f"cookie {state.cookie.hex()}, {queued} octets queued"))
        else:
            tr.emit(FastOpenEvent(now, tr.host, cid, "cookie-requested", "no cookie cached for this server"))


def server_may_send(conn) -> bool:
    """Whether ``conn`` is a Fast Open server connection that may send although its
    SYN is not acknowledged yet (RFC 7413 §4.2.2)."""
    tfo = conn.fastopen if conn is not None else None
    return tfo is not None and tfo.accepted


def syn_data(conn) -> int:
    """Octets of data the SYN of client ``conn`` carries (0 once the SYN is answered)."""
    tfo = conn.fastopen
    return tfo.syn_data if isinstance(tfo, ClientFastOpen) else 0
