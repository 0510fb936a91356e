"""The scenarios of the seeds: opening, closing, losing and resetting one connection.

Each scenario builds a :class:`~synack.link.sim.Network` with two hosts, ``client``
(10.0.0.1) and ``server`` (10.0.0.2, port 80), with the user's options on every path
(``loss``, ``delay``, ``drop``), and drives them through the socket API the way a
program would. The trace the network records is the scenario's result; the notes say
what actually happened in this run (found in the trace, so they stay true under any
seed, loss or drop).

A scenario never crashes on the user's options: a socket call that fails in a way the
script did not plan for (a connection that timed out under 90 % loss) ends the script,
and a note says which call failed and why.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from .. import api
from ..api.errors import SimulationIdle
from ..link.sim import Network
from ..tcp.config import TcpConfig
from ..tcp.state import State
from ..timeunits import NS_PER_MS, NS_PER_S, ms, sec
from ..trace.events import AppCall, SegmentSent
from ..trace.records import flags_text
from ..wire.ip import emit_packet
from ..wire.seq import MASK, Seq
from ..wire.tcp import ACK, FIN, RST, SYN, Mss, TcpSegment
from . import ScenarioOptions, ScenarioResult, scenario
import contextlib

CLIENT, SERVER = "client", "server"
CLIENT_ADDR, SERVER_ADDR = "10.0.0.1", "10.0.0.2"
PORT = 80

REQUEST = b"GET / HTTP/1.1\r\nHost: server\r\n\r\n"
REPLY = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"

# ------------------------------------------------------------------------------ helpers
class DropNth:
    """``--drop N``: drops the Nth segment any host puts on the network, for each N in
    ``wanted``. ``sent`` counts the segments seen so far; ``dropped`` lists
    ``(n, LinkPacket)`` for each segment dropped."""

    def __init__(self, wanted: list[int]) -> None:
        self.wanted = frozenset(wanted)
        self.sent = 0
        self.dropped: list[tuple[int, Any]] = []

    def __call__(self, pkt) -> bool:
        self.sent += 1
        if self.sent in self.wanted:
            self.dropped.append((self.sent, pkt))
            return True
        return False


def network(opts: ScenarioOptions, hosts: tuple = ((CLIENT, CLIENT_ADDR), (SERVER, SERVER_ADDR))
            ) -> tuple[Network, DropNth | None]:
    """A network seeded with ``opts.seed`` whose every path has ``opts.delay`` and
    ``opts.loss``, with ``hosts`` attached ((name, address) pairs, or (name, address,
    keyword arguments of the Host such as ``isn``)), and ``opts.drop``
    installed (the returned :class:`DropNth`, or None without ``opts.drop``). The drop
    rule is the network's first scripted fault, so it sees every segment sent: install
    the scenario's own faults after this. ValueError names an option out of range."""
    opts.validate()
    net = Network(seed=opts.seed)
    net.default_path.delay = opts.delay
    net.default_path.loss = opts.loss
    for name, addr, *kw in hosts:
        net.add_host(name, [addr], **{"config": TcpConfig(profile=opts.profile), **(kw[0] if kw else {})})
    drops = None
    if opts.drop:
        drops = DropNth(opts.drop)
        net.drop_if(drops)
    return net, drops


def kdur(ns: int) -> str:
    """:func:`duration` in Korean."""
    return duration(ns, "ko")


def letters(seg: TcpSegment) -> str:
    """tcpdump's flag letters of ``seg`` (``S``, ``S.``, ``F.``, ``R.``, ``P.``)."""
    return flags_text(seg.flags) or "none"


def duration(ns: int, lang: str = "en") -> str:
    """``ns`` for a person: "20 ms", "1.02 s", "180 s" (in Korean "1.02초", "180초")."""
    if abs(ns) < NS_PER_S:
        return f"{ns / NS_PER_MS:.3f}".rstrip("0").rstrip(".") + " ms"
    return f"{ns / NS_PER_S:.3f}".rstrip("0").rstrip(".") + ("초" if lang == "ko" else " s")


class _Run:
    """One run of a scenario: its network, its options and the notes it collects."""

    def __init__(self, opts: ScenarioOptions, hosts: tuple | None = None, absolute: bool = False) -> None:
        self.opts = opts
        self.net, self.drops = network(opts) if hosts is None else network(opts, hosts)
        self.notes: list[str] = []
        self.absolute = absolute
        #: the lifelines, left to right
        self.hosts: tuple[str, ...] = (CLIENT, SERVER)
        #: hint for the ladder: write each segment's ports
        self.ports = False

    @property
    def ko(self) -> bool:
        return self.opts.lang == "ko"

    def note(self, en: str, ko: str) -> None:
        self.notes.append(ko if self.ko else en)

    @property
    def events(self) -> list:
        return self.net.recorder.events

    def sent(self, host: str | None = None, where: Callable | None = None) -> list:
        """Segments sent (by ``host``), optionally those ``where(event)`` selects."""
        return [e for e in self.events if isinstance(e, SegmentSent)
                and (host is None or e.host == host) and (where is None or where(e))]

    def finish(self) -> None:
        """Let everything still in flight and every timer (TIME-WAIT included) run out."""
        api.sleep(self.net, 0)
        self.net.run(max_time=sec(3600))

    def result(self) -> ScenarioResult:
        self._drop_notes()
        return ScenarioResult(self.net, self.hosts, self.notes, absolute=self.absolute, ports=self.ports)

    def _drop_notes(self) -> None:
        """What ``--drop N`` did: which segment it dropped, or that there was none."""
        d = self.drops
        if d is None:
            return
        for n, pkt in d.dropped:
            what = f"{pkt.src_host} -> {pkt.dst_host}, [{letters(pkt.seg)}]" if pkt.seg else pkt.src_host
            self.note(f"--drop {n}: segment {n} ({what}) was dropped.",
                      f"--drop {n}: {n}번째 세그먼트({what})를 버렸습니다.")
        for n in sorted(d.wanted):
            if n > d.sent:
                self.note(f"--drop {n}: only {d.sent} segments were sent, so none was dropped.",
                          f"--drop {n}: 세그먼트가 모두 {d.sent}개만 전송되어 버려진 것이 없습니다.")

    def failed(self, exc: BaseException) -> None:
        """A socket call the script did not expect to fail did: say which, and stop."""
        call = next((e for e in reversed(self.events) if isinstance(e, AppCall) and e.error), None)
        what = f"{call.host}: {call.args}" if call is not None else "a socket call"
        if isinstance(exc, SimulationIdle):
            self.note(f"{what} could never return (nothing left in flight), so the scenario stopped there.",
                      f"{what} 호출은 끝날 수 없어서(더 이상 오가는 세그먼트가 없음) 시나리오가 여기서 멈췄습니다.")
        else:
            self.note(f"{what} raised {type(exc).__name__} ({exc}) at {duration(self.net.now)}, "
                      f"so the scenario stopped there.",
                      f"{what} 호출이 {kdur(self.net.now)}에 {type(exc).__name__}({exc}) 예외를 "
                      f"일으켜 시나리오가 여기서 멈췄습니다.")


def basic(name: str, summary: str, en: str, ko: str, hosts: Callable[[], tuple] | None = None,
          absolute: bool = False) -> Callable:
    """Register ``body(run)`` as scenario ``name``: the registered function builds the
    :class:`_Run`, calls ``body``, turns an unplanned socket failure into a note, and
    returns the result. ``hosts()`` gives the hosts for :func:`network` (fresh for each
    run: ISN generators have state); ``absolute`` is the result's hint for views."""

    def register(body: Callable[[_Run], None]) -> Callable[[ScenarioOptions], ScenarioResult]:
        def run(opts: ScenarioOptions) -> ScenarioResult:
            r = _Run(opts, hosts() if hosts is not None else None, absolute)
            try:
                body(r)
            except (OSError, SimulationIdle) as e:
                r.failed(e)
            return r.result()

        # The registered function belongs to the module that wrote the body (flow.py's
        # scenarios use this decorator too): name, docstring and module are the body's.
        run.__name__, run.__qualname__ = body.__name__, body.__qualname__
        run.__doc__, run.__module__ = body.__doc__, body.__module__
        scenario(name, summary, {"en": " ".join(en.split()), "ko": " ".join(ko.split())})(run)
        return run

    return register


def _connected(r: _Run) -> tuple:
    """Server listening on port 80, client connected, server accepted: (server, client, conn)."""
    server = api.create_server(r.net, SERVER, (SERVER_ADDR, PORT))
    client = api.create_connection(r.net, CLIENT, (SERVER_ADDR, PORT))
    conn, _ = server.accept()
    return server, client, conn


def _when_state(r: _Run, host: str, state: str) -> list[int]:
    return [e.t for e in r.events if e.event == "state" and e.host == host and e.new == state]


# ------------------------------------------------------------------------------ story
@basic(
    "story",
    "the whole life of a connection: 3-way handshake, request, reply, 4-way close, TIME-WAIT",
    en="""
    Read the ladder from the top. The client sends SYN with its initial sequence number (shown
    as 0: numbers are relative, as tcpdump prints them) and enters SYN-SENT. The server answers
    SYN,ACK (flags S.) with its own sequence number and the acknowledgment number 1: "I got
    your SYN, number 0; the next number I expect is 1". The server is now in SYN-RECEIVED.
    The client's ACK completes the 3-way handshake: both sides are ESTABLISHED. The client
    sends its request (flags P.: data, pushed) and the server's TCP acknowledges it at once:
    Linux acknowledges the first segments of a connection without delay (quick-ACK mode).
    The server's reply carries the answer, and the client acknowledges it at once too. Then
    the 4-way handshake: the client calls close() and sends FIN (FIN-WAIT-1); the server
    enters CLOSE-WAIT and ACKs the FIN 40 ms later (Linux waits, in case the application
    closes at once and its FIN can carry the ACK; this one takes 100 ms), and the client goes
    to FIN-WAIT-2. The server's application sees the end of the stream and calls close()
    too, so the server sends its own FIN (LAST-ACK). The client ACKs that FIN and waits in
    TIME-WAIT for 2*MSL (60 s) before it forgets the connection, in case that last ACK was
    lost and the FIN comes again; the server is CLOSED as soon as the ACK arrives.
    """,
    ko="""
    사다리 그림은 위에서 아래로 읽습니다. 클라이언트가 초기 시퀀스 번호(ISN)를 담은 SYN을 보내고
    SYN-SENT(SYN_SENT) 상태가 됩니다. 번호는 tcpdump처럼 상대값으로 보여 주므로 0으로 표시됩니다.
    서버는 자기 시퀀스 번호와 확인 응답 번호 1을 담은 SYN,ACK(플래그 S.)로 답하고
    SYN-RECEIVED(SYN_RECEIVED) 상태가 됩니다. 확인 응답 번호 1은 "0번인 SYN을 받았으니 다음엔
    1번을 기다린다"는 뜻입니다. 클라이언트가 ACK를 보내면 3-way handshake가 끝나고 양쪽 모두
    ESTABLISHED 상태가 됩니다. 클라이언트가 요청을 보내면(플래그 P.: 데이터와 PSH) 서버의 TCP는
    곧바로 ACK를 보냅니다. 리눅스는 연결의 첫 세그먼트들에 지체 없이 확인 응답합니다(quick-ACK
    모드). 서버의 응답 세그먼트가 응답 데이터를 싣고 오고, 클라이언트도 곧바로 ACK를 보냅니다.
    이어서 4-way handshake입니다. 클라이언트가 close()를 호출해 FIN을 보내고
    FIN-WAIT-1(FIN_WAIT_1) 상태가 됩니다. 서버는 CLOSE-WAIT(CLOSE_WAIT) 상태가 되고 40ms 뒤에 그
    FIN에 ACK를 보냅니다. 리눅스는 애플리케이션이 곧바로 닫아 그 FIN이 ACK를 함께 실어 갈 수 있도록
    기다리는데, 이 애플리케이션은 100ms가 걸립니다. 클라이언트는 FIN-WAIT-2로 넘어갑니다. 서버
    애플리케이션은 스트림의 끝을 읽고 close()를 호출해 자기 FIN을 보내며 LAST-ACK(LAST_ACK) 상태가
    됩니다. 클라이언트는 그 FIN에 ACK를 보내고 TIME-WAIT(TIME_WAIT) 상태에서 2*MSL(60초) 동안
    기다립니다. 마지막 ACK가 유실되어 FIN이 다시 오면 답하기 위해서입니다. 서버는 ACK를 받자마자
    CLOSED 상태가 됩니다.
    """,
)
def story(r: _Run) -> None:
    server, client, conn = _connected(r)
    client.sendall(REQUEST)
    request = conn.recv(1024)
    conn.sendall(REPLY)
    reply = b""
    while len(reply) < len(REPLY):
        chunk = client.recv(1024)
        if not chunk:
            break
        reply += chunk
    client.close()                      # FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT
    while conn.recv(1024):              # b"": the client's FIN (CLOSE-WAIT)
        pass
    api.sleep(r.net, 0.1)               # the application's own work, longer than the delayed ACK
    conn.close()                        # LAST-ACK, then CLOSED
    server.close()
    r.finish()                          # TIME-WAIT runs out: 2*MSL of simulated time
    est = _when_state(r, CLIENT, "ESTABLISHED")
    if est:
        r.note(f"The client was ESTABLISHED after {duration(est[0])}; it sent {len(request)} bytes "
               f"and received {len(reply)}.",
               f"클라이언트는 {kdur(est[0])} 만에 ESTABLISHED 상태가 되었고, {len(request)}바이트를 "
               f"보내고 {len(reply)}바이트를 받았습니다.")
    _note_time_wait(r)


def _note_time_wait(r: _Run) -> None:
    tw = _when_state(r, CLIENT, "TIME-WAIT")
    closed = _when_state(r, CLIENT, "CLOSED")
    if tw and closed and closed[-1] > tw[0]:
        r.note(f"TIME-WAIT began at {duration(tw[0])} and ended at {duration(closed[-1])}, "
               f"{duration(closed[-1] - tw[-1])} after it last (re)started; the simulator's clock jumped "
               f"over the wait, so it took no wall time.",
               f"TIME-WAIT는 {kdur(tw[0])}에 시작해 {kdur(closed[-1])}에 끝났습니다(마지막으로 다시 "
               f"시작한 때부터 {kdur(closed[-1] - tw[-1])}). 시뮬레이터의 시계가 그 시간을 건너뛰므로 "
               f"실제로 기다린 시간은 없습니다.")


# ------------------------------------------------------------------------------ handshake
@basic(
    "handshake",
    "the 3-way handshake: SYN, SYN,ACK, ACK",
    en="""
    The client calls connect(): its TCP picks an initial sequence number and sends SYN (flags
    S), with options such as MSS (the largest segment it accepts), and enters SYN-SENT. The
    server, in LISTEN, answers with SYN,ACK (S.): its own SYN with its own initial sequence number, and an ACK whose
    acknowledgment number is the client's number plus one (the SYN counts as one byte). The
    server is now SYN-RECEIVED. The client's ACK acknowledges the server's SYN the same way;
    the client is ESTABLISHED when it sends it, one round trip after connect(), and the server
    when it arrives, half a round trip later, which is when accept() returns. Three segments:
    each side has sent its sequence number and heard it acknowledged.
    """,
    ko="""
    클라이언트가 connect()를 호출하면 TCP가 초기 시퀀스 번호(ISN)를 정해 SYN(플래그 S)을 보내고
    SYN-SENT(SYN_SENT) 상태가 됩니다. SYN에는 MSS(받을 수 있는 가장 큰 세그먼트 크기) 같은 옵션도
    실려 있습니다. LISTEN 상태의 서버는
    SYN,ACK(S.)로 답합니다. 자기 ISN을 담은 SYN과, 클라이언트의 시퀀스 번호에 1을 더한 확인 응답
    번호를 담은 ACK입니다(SYN은 1바이트로 칩니다). 서버는 이제 SYN-RECEIVED(SYN_RECEIVED)
    상태입니다. 클라이언트는 같은 방식으로 서버의 SYN에 ACK를 보내면서 ESTABLISHED 상태가
    되고(connect()를 호출하고 한 번의 왕복 시간 뒤), 서버는 그 ACK가 도착했을 때 ESTABLISHED 상태가 되며
    accept()가 돌아옵니다. 세 개의 세그먼트로 양쪽이 모두 자기 시퀀스 번호를 알리고 확인 응답을
    받았습니다. 이것이 3-way handshake입니다.
    """,
)
def handshake(r: _Run) -> None:
    _connected(r)
    r.net.run(max_time=sec(600))
    c, s = _when_state(r, CLIENT, "ESTABLISHED"), _when_state(r, SERVER, "ESTABLISHED")
    if c and s:
        r.note(f"The client was ESTABLISHED at {duration(c[0])}, the server at {duration(s[0])}.",
               f"클라이언트는 {kdur(c[0])}에, 서버는 {kdur(s[0])}에 ESTABLISHED 상태가 되었습니다.")


# ------------------------------------------------------------------------------ close
@basic(
    "close",
    "the 4-way close: FIN, ACK, FIN, ACK, then TIME-WAIT",
    en="""
    After the handshake, the client calls close(). Its FIN (flags F.: FIN with ACK) says "I
    have nothing more to send"; the client enters FIN-WAIT-1. The server's TCP acknowledges
    the FIN and enters CLOSE-WAIT: it may still send, and its application reads the end of the
    stream (recv() returns b""). Linux sends that ACK 40 ms later, in case the application
    closes at once and its FIN can carry it; this one takes 100 ms. When the client gets the
    ACK it is in FIN-WAIT-2, waiting for the server's FIN. The server's application calls
    close(): FIN, LAST-ACK. The
    client acknowledges it and enters TIME-WAIT; the server is CLOSED when that ACK arrives.
    Four segments, because each direction is closed on its own. The client stays in TIME-WAIT
    for 2*MSL (60 s here) and only then is CLOSED.
    """,
    ko="""
    3-way handshake 뒤에 클라이언트가 close()를 호출합니다. FIN(플래그 F.: FIN과 ACK)은 "더 보낼
    데이터가 없다"는 뜻이고, 클라이언트는 FIN-WAIT-1(FIN_WAIT_1) 상태가 됩니다. 서버의 TCP는 그
    FIN에 ACK를 보내고 CLOSE-WAIT(CLOSE_WAIT) 상태가 됩니다. 이 상태에서도 서버는 데이터를 보낼 수
    있고, 서버 애플리케이션은 스트림의 끝을 읽습니다(recv()가 b""를 돌려줌). 리눅스는 애플리케이션이
    곧바로 닫아 그 FIN이 ACK를 함께 실어 갈 수 있도록 ACK를 40ms 뒤에 보냅니다. 이 애플리케이션은
    100ms가 걸립니다. 그 ACK를 받은
    클라이언트는 FIN-WAIT-2(FIN_WAIT_2) 상태에서 서버의 FIN을 기다립니다. 서버 애플리케이션이
    close()를 호출하면 FIN을 보내고 LAST-ACK(LAST_ACK) 상태가 됩니다. 클라이언트는 그 FIN에 ACK를
    보내고 TIME-WAIT(TIME_WAIT) 상태가 되며, 서버는 ACK를 받으면 CLOSED 상태가 됩니다. 양방향을
    각각 닫기 때문에 세그먼트가 네 개, 곧 4-way handshake입니다. 클라이언트는 2*MSL(여기서는 60초)
    동안 TIME-WAIT에 머문 뒤에야 CLOSED 상태가 됩니다.
    """,
)
def close(r: _Run) -> None:
    server, client, conn = _connected(r)
    client.close()
    while conn.recv(1024):
        pass
    api.sleep(r.net, 0.1)               # the application's own work, longer than the delayed ACK
    conn.close()
    server.close()
    r.finish()
    _note_time_wait(r)


# ------------------------------------------------------------------------------ half-close
@basic(
    "half-close",
    "shutdown(SHUT_WR): the client's FIN closes one direction, the server keeps sending",
    en="""
    The client sends its request and then calls shutdown(SHUT_WR): a FIN that closes only the
    client-to-server direction. This is the half-close. The server acknowledges the FIN and is
    in CLOSE-WAIT; the client is in FIN-WAIT-2, and although it can no longer send data it still
    receives. The server goes on sending its reply in several segments, and the client, still
    receiving, acknowledges them (its ACKs carry no data, and a delayed ACK may cover several
    segments). Only when the
    server has sent everything does it call close() and send its own FIN; the client answers
    with the last ACK and enters TIME-WAIT. The acknowledgment number in the client's FIN says
    "I have processed everything up to here": it closes its side but keeps its ears open.
    """,
    ko="""
    클라이언트가 요청을 보낸 다음 shutdown(SHUT_WR)을 호출합니다. 이때 나가는 FIN은
    클라이언트에서 서버로 가는 방향만 닫습니다. 이것이 반 닫기(Half-Close)입니다. 서버는 FIN에
    ACK를 보내고 CLOSE-WAIT(CLOSE_WAIT) 상태가 되며, 클라이언트는 FIN-WAIT-2(FIN_WAIT_2) 상태가
    됩니다. 클라이언트는 더 이상 데이터를 보낼 수 없지만 받을 수는 있습니다. 서버는 응답을 여러
    세그먼트에 나누어 계속 보내고, 클라이언트는 받은 데이터에 ACK로 답합니다(ACK에는 데이터가 없고,
    지연된 ACK 하나가 여러 세그먼트를 한꺼번에 확인하기도 합니다). 서버는 보낼 것을 다
    보낸 뒤에야 close()를 호출해 자기 FIN을 보내고, 클라이언트는 마지막 ACK를 보낸 뒤
    TIME-WAIT(TIME_WAIT) 상태가 됩니다. 클라이언트 FIN에 담긴 확인 응답 번호는 "여기까지 처리했으니
    더 보낼 것이 있으면 보내라", 곧 연결은 닫지만 귀는 열어 둔다는 뜻입니다.
    """,
)
def half_close(r: _Run) -> None:
    server, client, conn = _connected(r)
    client.sendall(REQUEST)
    client.shutdown(api.SHUT_WR)       # FIN: the client's direction is closed
    received = b""
    while True:                         # the server reads the request, then the end of it
        chunk = conn.recv(1024)
        if not chunk:
            break
        received += chunk
    conn.setsockopt(api.IPPROTO_TCP, api.TCP_NODELAY, 1)   # each part in its own segment
    parts = [b"HTTP/1.1 200 OK\r\n", b"Content-Length: 17\r\n\r\n", b"hello, ", b"half-close"]
    answer = b""
    for part in parts:                  # still allowed in CLOSE-WAIT
        conn.sendall(part)
        answer += client.recv(1024)     # still allowed in FIN-WAIT-2
    conn.close()
    while True:
        chunk = client.recv(1024)
        if not chunk:
            break
        answer += chunk
    client.close()
    server.close()
    r.finish()
    fw2 = _when_state(r, CLIENT, "FIN-WAIT-2")
    tw = _when_state(r, CLIENT, "TIME-WAIT")
    if fw2 and tw:
        during = [e for e in r.sent(SERVER) if e.seg.payload and fw2[0] <= e.t <= tw[0]]
        r.note(f"While the client was in FIN-WAIT-2 the server sent {len(during)} data segments "
               f"({sum(len(e.seg.payload) for e in during)} bytes); the client received {len(answer)} "
               f"bytes after its FIN.",
               f"클라이언트가 FIN-WAIT-2 상태인 동안 서버는 데이터 세그먼트 {len(during)}개"
               f"({sum(len(e.seg.payload) for e in during)}바이트)를 보냈고, 클라이언트는 자기 FIN 뒤에 "
               f"{len(answer)}바이트를 받았습니다.")


# ------------------------------------------------------------------------------ simultaneous open
@basic(
    "simultaneous-open",
    "both sides send SYN at the same time; four segments open one connection",
    en="""
    Neither side listens: both call connect() at the same instant, each to the other's port,
    so both send SYN and both are in SYN-SENT. The two SYNs cross in the network. When a SYN
    arrives at a host that is itself in SYN-SENT, the host goes to SYN-RECEIVED and answers
    SYN,ACK: it repeats its own SYN and acknowledges the other's. When each SYN,ACK arrives, its
    ACK covers that host's SYN, and both become ESTABLISHED. One connection, not two: TCP
    names a connection by its two ends (address and port), and both SYNs name the same pair
    (RFC 9293 Figure 7).
    """,
    ko="""
    어느 쪽도 LISTEN하지 않습니다. 양쪽이 같은 순간에 서로의 포트로 connect()를 호출하므로 둘 다
    SYN을 보내고 SYN-SENT(SYN_SENT) 상태가 됩니다. 두 SYN은 네트워크에서 엇갈립니다. 자기도
    SYN-SENT 상태인 호스트에 SYN이 도착하면 그 호스트는 SYN-RECEIVED(SYN_RECEIVED) 상태가 되고,
    자기 SYN을 다시 보내면서 상대의 SYN에 확인 응답하는 SYN,ACK로 답합니다. 각 SYN,ACK가 도착하면
    그 ACK가 받는 쪽의 SYN을 확인해 주므로 양쪽 모두 ESTABLISHED 상태가 됩니다. 연결은 두 개가
    아니라 하나입니다. TCP는 연결을 양 끝(주소와 포트)으로 구별하는데, 두 SYN이 같은 한 쌍을
    가리키기 때문입니다(RFC 9293 Figure 7, 동시 열기).
    """,
)
def simultaneous_open(r: _Run) -> None:
    a = api.socket(r.net, CLIENT)
    b = api.socket(r.net, SERVER)
    a.bind((CLIENT_ADDR, 5000))
    b.bind((SERVER_ADDR, PORT))
    for s in (a, b):
        s.setblocking(False)
    a.connect_ex((SERVER_ADDR, PORT))   # EINPROGRESS: the SYN is on its way
    b.connect_ex((CLIENT_ADDR, 5000))   # the same instant, the other way
    for s, peer in ((a, (SERVER_ADDR, PORT)), (b, (CLIENT_ADDR, 5000))):
        s.setblocking(True)
        s.connect(peer)                 # waits for the connection to open
    r.net.run(max_time=sec(600))
    for host, ko_host in ((CLIENT, "클라이언트"), (SERVER, "서버")):
        path = " -> ".join(["CLOSED"] + [e.new for e in r.events if e.event == "state" and e.host == host])
        est = _when_state(r, host, "ESTABLISHED")
        if est:
            r.note(f"The {host} went {path} and was ESTABLISHED at {duration(est[0])}.",
                   f"{ko_host}는 {path} 순서로 상태가 바뀌어 {kdur(est[0])}에 ESTABLISHED 상태가 되었습니다.")


# ------------------------------------------------------------------------------ simultaneous close
@basic(
    "simultaneous-close",
    "both sides close at the same time: FIN-WAIT-1, CLOSING, TIME-WAIT on both",
    en="""
    Both applications call close() at the same instant, so both send FIN and both enter
    FIN-WAIT-1. The FINs cross. A host in FIN-WAIT-1 that receives a FIN before the ACK of its
    own FIN goes to CLOSING and acknowledges the FIN it got. When the ACK of its own FIN then
    arrives, it enters TIME-WAIT. Here both sides take that path, so both end in TIME-WAIT and
    both wait 2*MSL before CLOSED, instead of one side only as in the usual 4-way close.
    """,
    ko="""
    양쪽 애플리케이션이 같은 순간에 close()를 호출하므로 둘 다 FIN을 보내고 FIN-WAIT-1(FIN_WAIT_1)
    상태가 됩니다. 두 FIN은 엇갈립니다. FIN-WAIT-1 상태에서 자기 FIN에 대한 ACK보다 상대의 FIN을
    먼저 받은 호스트는 CLOSING 상태가 되고, 받은 FIN에 ACK로 답합니다. 그다음 자기 FIN에 대한 ACK가
    도착하면 TIME-WAIT(TIME_WAIT) 상태가 됩니다. 여기서는 양쪽이 모두 이 길을 가므로, 보통의 4-way
    handshake처럼 한쪽만이 아니라 양쪽 모두 TIME-WAIT 상태에서 2*MSL을 기다린 뒤 CLOSED 상태가
    됩니다. 이것이 동시 종료(Simultaneous Close)입니다.
    """,
)
def simultaneous_close(r: _Run) -> None:
    server, client, conn = _connected(r)
    client.close()
    conn.close()                        # the same instant: the FINs cross
    server.close()
    r.finish()
    for host, ko_host in ((CLIENT, "클라이언트"), (SERVER, "서버")):
        tw, closed = _when_state(r, host, "TIME-WAIT"), _when_state(r, host, "CLOSED")
        if tw and closed:
            r.note(f"The {host} was in TIME-WAIT from {duration(tw[0])} to {duration(closed[-1])}.",
                   f"{ko_host}는 {kdur(tw[0])}부터 {kdur(closed[-1])}까지 TIME-WAIT 상태였습니다.")


# ------------------------------------------------------------------------------ lost SYN
@basic(
    "lost-syn",
    "every SYN is lost: retransmissions 1, 2, 4, 8 ... s apart until connect() times out",
    en="""
    The network loses every SYN the client sends. The client's TCP does not know whether its SYN
    or the answer was lost; it only sees that nothing came back. So its retransmission timer
    (RTO) fires and it sends the same SYN again (same sequence number), and every time it
    doubles the timeout: 1 s, 2 s, 4 s, 8 s ... (exponential backoff), so that a congested
    network is not flooded. A SYN is retried for at least three minutes (RFC 9293 §3.8.3: R2
    for a SYN). Then the connection gives up: it goes back to CLOSED and connect() raises
    TimeoutError (ETIMEDOUT). The idle gaps between retries are folded in the ladder; the
    simulator's clock jumps over them. (This is the RFC's schedule: Linux keeps its first four
    retries 1 s apart and gives up after 131 s, as the linux profile does elsewhere.)
    """,
    ko="""
    네트워크가 클라이언트의 SYN을 모두 잃어버립니다. 클라이언트의 TCP는 SYN이 유실됐는지 답이
    유실됐는지 알 수 없고, 아무 응답도 오지 않는다는 것만 압니다. 그래서 재전송 타이머(RTO)가
    만료될 때마다 같은 SYN(같은 시퀀스 번호)을 다시 보내고, 그때마다 타임아웃을 두 배로 늘립니다.
    1초, 2초, 4초, 8초 ... (지수 백오프) 이렇게 해서 혼잡한 네트워크를 더 붐비게 하지 않습니다.
    SYN은 적어도 3분 동안 다시 시도합니다(RFC 9293 §3.8.3: SYN의 R2). 그 뒤 연결 시도를 포기하고
    CLOSED 상태로 돌아가며, connect()는 TimeoutError(ETIMEDOUT)를 일으킵니다. 재시도 사이의 빈
    시간은 사다리 그림에서 접혀 있고, 시뮬레이터의 시계는 그 시간을 건너뜁니다. (이것은 RFC의
    일정입니다. Linux는 처음 네 번의 재시도를 1초 간격으로 보내고 131초 뒤에 포기합니다.)
    """,
)
def lost_syn(r: _Run) -> None:
    cfg = r.net.hosts[CLIENT].config
    cfg.syn_linear_timeouts, cfg.syn_retries = 0, None  # the RFC's backoff (RFC 6298 (5.5), MUST-23)
    r.net.drop_if(lambda p: p.src_host == CLIENT and p.seg is not None
                  and p.seg.flags & (SYN | ACK) == SYN)
    server = api.create_server(r.net, SERVER, (SERVER_ADDR, PORT))
    client = api.socket(r.net, CLIENT)
    try:
        client.connect((SERVER_ADDR, PORT))
    except TimeoutError as e:
        syns = r.sent(CLIENT, lambda e: e.seg.flags & SYN)
        start = syns[0].t if syns else 0
        retx = [duration(e.t - start) for e in syns if e.retransmit]
        kretx = [kdur(e.t - start) for e in syns if e.retransmit]
        r.note(f"The SYN was retransmitted {len(retx)} times (at {', '.join(retx)}); the connection "
               f"gave up after {duration(r.net.now - start)} and connect() raised "
               f"{type(e).__name__}: {e}.",
               f"SYN을 {len(retx)}번 재전송했고({', '.join(kretx)}), {kdur(r.net.now - start)} 뒤에 "
               f"연결 시도를 포기했습니다. connect()는 {type(e).__name__}: {e} 예외를 일으켰습니다.")
    else:
        r.note("The connection opened after all: some SYN got through.",
               "결국 연결이 열렸습니다. 어떤 SYN은 전달되었습니다.")
    server.close()


# ------------------------------------------------------------------------------ lost data
@basic(
    "lost-data",
    "the request is lost; the retransmission timer sends it again",
    en="""
    The connection opens and the client sends its request, but the network loses that segment
    (the arrow ends in a cross). The server saw nothing, so it acknowledges nothing. The client
    keeps every byte it sent until it is acknowledged, and its retransmission timer (RTO),
    armed when the data left, fires: the timeout comes from the round-trip time measured during
    the handshake, but, as on Linux, never less than 200 ms. The client sends the same bytes
    again, with the same sequence numbers, marked as a retransmission. This time the server gets them and its
    reply acknowledges them. The application saw none of this: sendall() had returned at once,
    and recv() simply waited longer.
    """,
    ko="""
    연결이 열리고 클라이언트가 요청을 보내지만 네트워크가 그 세그먼트를 잃어버립니다(화살표가
    X로 끝남). 서버는 아무것도 받지 못했으므로 확인 응답도 보내지 않습니다. 클라이언트는 보낸
    바이트를 확인 응답을 받을 때까지 간직하고, 데이터를 보낼 때 켠 재전송 타이머(RTO)가 만료되면
    같은 바이트를 같은 시퀀스 번호로 다시 보냅니다(재전송으로 표시됨). 타임아웃은 handshake 때 잰
    왕복 시간(RTT)에서 나오지만, 리눅스처럼 200 ms보다 짧지는 않습니다. 이번에는 서버가 데이터를 받고, 서버의
    응답이 그 데이터에 대한 ACK를 함께 싣고 옵니다. 애플리케이션은 이 과정을 보지 못합니다.
    sendall()은 곧바로 돌아왔고 recv()가 조금 더 오래 기다렸을 뿐입니다.
    """,
)
def lost_data(r: _Run) -> None:
    # The story is the retransmission timer's: no tail loss probe in its place (RFC 8985 §7.2).
    r.net.hosts[CLIENT].config.rack = False
    server, client, conn = _connected(r)
    r.net.drop_if(lambda p: p.src_host == CLIENT and p.seg is not None and bool(p.seg.payload), count=1)
    client.sendall(REQUEST)
    request = conn.recv(1024)
    conn.sendall(REPLY)
    client.recv(1024)
    r.net.run(max_time=sec(600))
    data = r.sent(CLIENT, lambda e: e.seg.payload)
    retx = [e for e in data if e.retransmit]
    if data and retx:
        r.note(f"The request ({len(request)} bytes) left at {duration(data[0].t)} and was sent again at "
               f"{duration(retx[0].t)} ({retx[0].cause}), {duration(retx[0].t - data[0].t)} later.",
               f"요청({len(request)}바이트)은 {kdur(data[0].t)}에 나갔고, {kdur(retx[0].t - data[0].t)} "
               f"뒤인 {kdur(retx[0].t)}에 다시 보냈습니다({retx[0].cause}).")


# ------------------------------------------------------------------------------ lost FIN
@basic(
    "lost-fin",
    "the client's FIN is lost; it is retransmitted like data",
    en="""
    The client calls close() and sends FIN, but the FIN is lost. The client is in FIN-WAIT-1 and
    stays there: the server, still ESTABLISHED, knows nothing. A FIN takes one sequence number,
    just like a byte of data, so it is protected the same way: the retransmission timer fires
    and the client sends the FIN again. The server then acknowledges it (CLOSE-WAIT), the client
    moves to FIN-WAIT-2, and the close goes on as usual: the server's FIN, the last ACK, and
    TIME-WAIT on the client.
    """,
    ko="""
    클라이언트가 close()를 호출해 FIN을 보내지만 그 FIN이 유실됩니다. 클라이언트는
    FIN-WAIT-1(FIN_WAIT_1) 상태에 머물고, 아직 ESTABLISHED 상태인 서버는 아무것도 모릅니다. FIN도
    데이터 1바이트처럼 시퀀스 번호 하나를 차지하므로 똑같이 보호됩니다. 재전송 타이머가 만료되면
    클라이언트는 FIN을 다시 보냅니다. 그제야 서버가 ACK를 보내며 CLOSE-WAIT(CLOSE_WAIT) 상태가
    되고, 클라이언트는 FIN-WAIT-2로 넘어가며, 이후는 평소처럼 진행됩니다. 서버의 FIN, 마지막 ACK,
    그리고 클라이언트의 TIME-WAIT(TIME_WAIT).
    """,
)
def lost_fin(r: _Run) -> None:
    server, client, conn = _connected(r)
    r.net.drop_if(lambda p: p.src_host == CLIENT and p.seg is not None and bool(p.seg.flags & FIN), count=1)
    client.close()
    while conn.recv(1024):
        pass
    conn.close()
    server.close()
    r.finish()
    fins = r.sent(CLIENT, lambda e: e.seg.flags & FIN)
    retx = [e for e in fins if e.retransmit]
    if fins and retx:
        r.note(f"The FIN left at {duration(fins[0].t)} and again at {duration(retx[0].t)} "
               f"({retx[0].cause}, {duration(retx[0].t - fins[0].t)} later).",
               f"FIN은 {kdur(fins[0].t)}에 나갔고 {kdur(retx[0].t - fins[0].t)} 뒤인 "
               f"{kdur(retx[0].t)}에 다시 나갔습니다({retx[0].cause}).")


# ------------------------------------------------------------------------------ TIME-WAIT
@basic(
    "time-wait",
    "the last ACK is lost: the server's FIN comes again and TIME-WAIT answers it",
    en="""
    This is why TIME-WAIT exists. The close starts as usual, but the client's last ACK, the one
    that acknowledges the server's FIN, is lost. The server, in LAST-ACK, never hears that its FIN
    arrived, so its retransmission timer fires and it sends the FIN again. Had the client
    forgotten the connection, that FIN would find nothing and draw a RST, and the server would
    see an error instead of a clean close. But the client is in TIME-WAIT, which remembers the
    connection: it acknowledges the FIN again and restarts its 2*MSL timer. The server is CLOSED
    when this ACK arrives, and the client is CLOSED 2*MSL after the retransmitted FIN.
    """,
    ko="""
    TIME-WAIT(TIME_WAIT) 상태가 왜 필요한지 보여 줍니다. 종료는 평소처럼 시작되지만, 서버의 FIN에
    확인 응답하는 클라이언트의 마지막 ACK가 유실됩니다. LAST-ACK(LAST_ACK) 상태의 서버는 자기
    FIN이 도착했는지 알 수 없으므로 재전송 타이머가 만료되면 FIN을 다시 보냅니다. 클라이언트가
    연결을 이미 잊었다면 이 FIN은 받을 곳이 없어 RST를 돌려받았을 것이고, 서버는 깔끔한 종료
    대신 오류를 보게 됩니다. 하지만 클라이언트는 연결을 기억하는 TIME-WAIT 상태에 있으므로 그
    FIN에 다시 ACK를 보내고 2*MSL 타이머를 처음부터 다시 시작합니다. 서버는 이 ACK를 받고 CLOSED
    상태가 되고, 클라이언트는 재전송된 FIN을 받은 때로부터 2*MSL 뒤에 CLOSED 상태가 됩니다.
    """,
)
def time_wait(r: _Run) -> None:
    server, client, conn = _connected(r)
    mine = client.connection

    def last_ack(p) -> bool:
        seg = p.seg
        return (p.src_host == CLIENT and seg is not None and mine.state is State.TIME_WAIT
                and seg.flags == ACK and not seg.payload)

    r.net.drop_if(last_ack, count=1)
    client.close()
    while conn.recv(1024):
        pass
    conn.close()
    server.close()
    r.finish()
    fins = r.sent(SERVER, lambda e: e.seg.flags & FIN)
    retx = [e for e in fins if e.retransmit]
    tw = _when_state(r, CLIENT, "TIME-WAIT")
    closed = _when_state(r, CLIENT, "CLOSED")
    if retx and tw and closed:
        again = [e for e in r.events if e.event == "recv" and e.host == CLIENT and e.seg.flags & FIN]
        r.note(f"The server sent its FIN again at {duration(retx[0].t)}; it reached the client in "
               f"TIME-WAIT at {duration(again[-1].t)}, which acknowledged it and restarted the 2*MSL "
               f"timer: CLOSED at {duration(closed[-1])}, {duration(closed[-1] - again[-1].t)} later.",
               f"서버는 {kdur(retx[0].t)}에 FIN을 다시 보냈습니다. 이 FIN은 {kdur(again[-1].t)}에 "
               f"TIME-WAIT 상태의 클라이언트에 도착했고, 클라이언트는 ACK로 답하고 2*MSL 타이머를 다시 "
               f"시작했습니다. 그로부터 {kdur(closed[-1] - again[-1].t)} 뒤인 {kdur(closed[-1])}에 "
               f"CLOSED 상태가 되었습니다.")


# ------------------------------------------------------------------------------ refused
@basic(
    "refused",
    "connect() to a port nobody listens on: RST,ACK and ConnectionRefusedError",
    en="""
    The server host is up, but nothing listens on port 80. The client's SYN arrives, finds no
    connection and no listener, and the server's TCP answers with a reset: RST,ACK (flags R.),
    whose acknowledgment number covers the SYN so that the client can tell the reset is meant
    for it. The client, in SYN-SENT, accepts the reset, goes back to CLOSED, and connect()
    raises ConnectionRefusedError (ECONNREFUSED), within one round trip: there is no
    retransmission, because the answer was "no", not silence.
    """,
    ko="""
    서버 호스트는 켜져 있지만 80번 포트에서 LISTEN하는 소켓이 없습니다. 클라이언트의 SYN이
    도착해도 맞는 연결도 리스너도 없으므로 서버의 TCP는 RST,ACK(플래그 R.)로 연결을 거절합니다.
    확인 응답 번호가 그 SYN을 가리키므로 클라이언트는 이 RST가 자기에게 온 것임을 알 수 있습니다.
    SYN-SENT(SYN_SENT) 상태의 클라이언트는 RST를 받아들이고 CLOSED 상태로 돌아가며, connect()는
    한 번의 왕복 시간 안에 ConnectionRefusedError(ECONNREFUSED)를 일으킵니다. 응답이 없었던 것이
    아니라 "거절"이라는 응답이 왔으므로 재전송은 없습니다.
    """,
)
def refused(r: _Run) -> None:
    client = api.socket(r.net, CLIENT)
    try:
        client.connect((SERVER_ADDR, PORT))
    except ConnectionRefusedError as e:
        rst = r.sent(SERVER, lambda e: e.seg.flags & RST)
        r.note(f"The server answered with a reset at {duration(rst[0].t) if rst else '?'}; connect() raised "
               f"{type(e).__name__}: {e} at {duration(r.net.now)}.",
               f"서버는 {kdur(rst[0].t) if rst else '?'}에 RST로 답했고, connect()는 "
               f"{kdur(r.net.now)}에 {type(e).__name__}: {e} 예외를 일으켰습니다.")
    else:
        r.note("The connection opened, which it should not have.",
               "연결이 열렸습니다. 그래서는 안 되는데도 말입니다.")
    r.net.run(max_time=sec(600))


# ------------------------------------------------------------------------------ abort
@basic(
    "abort",
    "close() with SO_LINGER 0: a RST instead of a FIN, ConnectionResetError on the other side",
    en="""
    After the handshake and a request, the client sets SO_LINGER to on with a time of 0 and
    calls close(). That does not close the connection politely with a FIN: it aborts it. The
    client's TCP sends RST (flags R, with the current sequence number so that the server
    accepts it), throws away everything it had, and is CLOSED at once: no FIN-WAIT, no
    TIME-WAIT. The server accepts the reset in ESTABLISHED and deletes its connection too, and
    the next call its application makes, here recv(), raises ConnectionResetError
    (ECONNRESET). Nothing is acknowledged: a RST is never answered.
    """,
    ko="""
    3-way handshake와 요청 뒤에 클라이언트는 SO_LINGER를 켜고 시간을 0으로 정한 뒤 close()를
    호출합니다. 이것은 FIN으로 정중하게 닫는 것이 아니라 연결을 강제로 끊는 것입니다. 클라이언트의
    TCP는 RST(플래그 R, 서버가 받아들이도록 현재 시퀀스 번호를 담음)를 보내고 가진 것을 모두
    버린 뒤 곧바로 CLOSED 상태가 됩니다. FIN-WAIT도 TIME-WAIT도 없습니다. ESTABLISHED 상태의
    서버는 RST를 받아들이고 자기 연결도 지우며, 서버 애플리케이션의 다음 호출(여기서는 recv())은
    ConnectionResetError(ECONNRESET)를 일으킵니다. RST에는 아무도 확인 응답하지 않습니다.
    """,
)
def abort(r: _Run) -> None:
    server, client, conn = _connected(r)
    client.sendall(REQUEST)
    conn.recv(1024)
    api.sleep(r.net, 0.05)              # (the server's ACK of the request arrives first)
    client.setsockopt(api.SOL_SOCKET, api.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()                      # RST: abort
    try:
        conn.recv(1024)
    except ConnectionResetError as e:
        r.note(f"The server's recv() raised {type(e).__name__}: {e} at {duration(r.net.now)}.",
               f"서버의 recv()는 {kdur(r.net.now)}에 {type(e).__name__}: {e} 예외를 일으켰습니다.")
    else:
        r.note("The server's recv() returned without an error: the reset did not arrive.",
               "서버의 recv()가 오류 없이 돌아왔습니다. RST가 도착하지 않았습니다.")
    conn.close()
    server.close()
    r.net.run(max_time=sec(600))


# ------------------------------------------------------------------------------ half-open
class FigureIsn:
    """ISNs as an RFC figure gives them: ``values`` in order, then 100 more than the last
    for every further connection (a run with loss may open more than the figure does).
    The signature of ``synack.tcp.isn`` generators."""

    def __init__(self, *values: int) -> None:
        self.values = list(values)
        self.calls = 0

    def __call__(self, local_addr: str, local_port: int, remote_addr: str, remote_port: int, now: int) -> Seq:
        k = self.calls
        self.calls += 1
        v = self.values[k] if k < len(self.values) else self.values[-1] + 100 * (k - len(self.values) + 1)
        return Seq(v & MASK)


@basic(
    "half-open",
    "the client crashes and forgets its connections; RSTs clean up (RFC 9293 Figures 9 and 10)",
    en="""
    The client opens two connections to the server, from ports 5000 and 5001, with the
    sequence numbers of RFC 9293 Figures 9 and 10 (so the ladder shows raw numbers: the client
    will send 100 next, the server 300). Then the client crashes: it reboots and has lost every
    connection it had (its states fall to CLOSED). The server does not know; both of its
    connections are still ESTABLISHED: they are half-open. First (Figure 10) the server sends
    data on the connection from port 5001 (seq 300, ack 100). The rebooted client has no
    connection for that segment, so it answers with a reset whose sequence number is the
    segment's acknowledgment number (RST, seq 100), and the server's recv() raises
    ConnectionResetError. Then (Figure 9) the client's application starts again and connects
    from port 5000, the port of the other forgotten connection: SYN, seq 400. The SYN reaches
    the server's old connection, still ESTABLISHED, which does not answer SYN,ACK: it answers
    with a plain ACK of the numbers it expects (seq 300, ack 100: the challenge ACK of RFC 5961,
    which also protects against forged SYNs). That ACK acknowledges nothing
    the client sent, so the client, in SYN-SENT, answers with a reset (seq 100), and the server
    deletes its old connection. One second later the client's retransmitted SYN reaches the
    listener and a new 3-way handshake opens a fresh connection.
    """,
    ko="""
    클라이언트가 5000번과 5001번 포트에서 서버로 연결을 두 개 엽니다. 시퀀스 번호는 RFC 9293
    Figure 9, 10과 같게 맞추었습니다(그래서 사다리 그림에 번호를 상대값이 아닌 원래 값으로
    보여 줍니다. 클라이언트가 다음에 보낼 번호는 100, 서버는 300입니다). 그런 다음 클라이언트가
    비정상 종료(crash)합니다. 재부팅한 클라이언트는 가지고 있던 연결 정보(TCB)를 모두
    잃어버렸습니다(상태가 CLOSED로 떨어짐). 서버는 이를 모르고 두 연결 모두 아직 ESTABLISHED
    상태입니다. 한쪽만 열려 있는 반열림(half-open) 연결입니다. 먼저(Figure 10) 서버가 5001번 포트
    쪽 연결로 데이터를 보냅니다(시퀀스 번호 300, 확인 응답 번호 100). 재부팅한 클라이언트에는 그
    세그먼트에 맞는 연결이 없으므로, 받은 확인 응답 번호를 시퀀스 번호로 삼은 RST(시퀀스 번호
    100)로 답하고, 서버의 recv()는 ConnectionResetError를 일으킵니다. 다음으로(Figure 9)
    클라이언트 애플리케이션이 다시 시작해, 잊힌 다른 연결의 포트인 5000번에서 connect()를
    호출합니다(SYN, 시퀀스 번호 400). 그 SYN은 아직 ESTABLISHED 상태인 서버의 옛 연결에
    도착하고, 옛 연결은 SYN,ACK가 아니라 자기가 기대하는 번호를 담은 ACK(시퀀스 번호 300, 확인
    응답 번호 100)로 답합니다. 위조된 SYN도 막아 주는 RFC 5961의 challenge ACK입니다.
    그 ACK는 클라이언트가 보낸 어떤 것도 확인하지 않으므로
    SYN-SENT(SYN_SENT) 상태의 클라이언트는 RST(시퀀스 번호 100)로 답하고, 서버는 옛 연결을
    지웁니다. 1초 뒤 클라이언트가 재전송한 SYN이 리스너에 도착하고, 새 3-way handshake로 새
    연결이 열립니다.
    """,
    hosts=lambda: ((CLIENT, CLIENT_ADDR, {"isn": FigureIsn(99, 99)}),
                   (SERVER, SERVER_ADDR, {"isn": FigureIsn(299, 299, 700)})),
    absolute=True,
)
def half_open(r: _Run) -> None:
    server = api.create_server(r.net, SERVER, (SERVER_ADDR, PORT))
    conns = []
    for port in (5000, 5001):
        c = api.socket(r.net, CLIENT)
        c.bind((CLIENT_ADDR, port))
        c.connect((SERVER_ADDR, PORT))
        conns.append(server.accept()[0])
    old_5000, old_5001 = conns
    api.sleep(r.net, 1)
    crash = r.net.now
    # RFC 9293 §3.5.1: a crash with loss of memory; the client comes back with ISN 400.
    r.net.reboot(CLIENT, isn=FigureIsn(400))
    r.net.hosts[CLIENT].config.syn_quick_retry = False  # (the figure's RTO; Linux resends in 8 ms)
    # Figure 10: the server writes to a connection whose other end is gone.
    old_5001.sendall(b"are you there?")
    try:
        old_5001.recv(1024)
    except ConnectionResetError as e:
        r.note(f"Figure 10: the client crashed at {duration(crash)}; the server's data on the "
               f"connection from port 5001 drew a reset, and its recv() raised {type(e).__name__} at "
               f"{duration(r.net.now)}.",
               f"Figure 10: 클라이언트는 {kdur(crash)}에 비정상 종료했습니다. 5001번 포트 쪽 연결로 "
               f"서버가 보낸 데이터는 RST를 돌려받았고, 서버의 recv()는 {kdur(r.net.now)}에 "
               f"{type(e).__name__} 예외를 일으켰습니다.")
    # Figure 9: the client comes back and opens a connection from the same port again.
    again = api.socket(r.net, CLIENT)
    again.bind((CLIENT_ADDR, 5000))
    started = r.net.now
    again.connect((SERVER_ADDR, PORT))
    opened = r.net.now
    with contextlib.suppress(ConnectionResetError):
        old_5000.recv(1024)
    server.accept()
    r.net.run(max_time=sec(600))
    acks = r.sent(SERVER, lambda e: e.t >= started and e.seg.flags == ACK)
    rsts = r.sent(CLIENT, lambda e: e.t >= started and e.seg.flags & RST)
    syns = r.sent(CLIENT, lambda e: e.t >= started and e.seg.flags & SYN)
    if acks and rsts:
        r.note(f"Figure 9: the old connection answered the new SYN with an ACK at {duration(acks[0].t)}, "
               f"the client reset it at {duration(rsts[0].t)}, and the new connect() from port 5000 "
               f"returned after {duration(opened - started)} and {len(syns)} SYNs.",
               f"Figure 9: 옛 연결은 새 SYN에 {kdur(acks[0].t)}에 ACK로 답했고, 클라이언트는 "
               f"{kdur(rsts[0].t)}에 RST로 그 연결을 끊었습니다. 5000번 포트에서 새로 호출한 connect()는 "
               f"SYN {len(syns)}번 만에, {kdur(opened - started)} 뒤에 돌아왔습니다.")


# ------------------------------------------------------------------------------ two-way
#: the old duplicate's sequence number, and the client's and the server's ISNs (RFC 9293 Figure 8)
OLD_SYN_SEQ, CLIENT_ISS, SERVER_ISS_OLD, SERVER_ISS = 90, 100, 300, 400


@basic(
    "two-way",
    "why two segments are not enough: an old duplicate SYN is refused (RFC 9293 Figure 8)",
    en="""
    Why three segments, not two? Suppose a handshake were only SYN and ACK, and the server were
    ESTABLISHED as soon as it answered a SYN. Here the client connects with SYN, seq 100, but an
    old duplicate SYN (seq 90), left over from an earlier connection between the same ports
    and long delayed in the network, reaches the server first (the numbers are those of RFC 9293
    Figure 8, shown raw). The server answers it with SYN,ACK, ack 91. With a 2-way handshake it
    would now be ESTABLISHED on a connection nobody asked for, expecting the wrong sequence
    numbers. With the 3-way handshake the server is only SYN-RECEIVED, waiting for the client's
    ACK. The client, in SYN-SENT, sees ack 91 where its own SYN needs ack 101, so it answers with
    a reset (RST, seq 91). The server accepts the reset and goes back to LISTEN. When the client's
    real SYN arrives, the ordinary handshake completes. The third segment is how the client says
    "yes, that SYN was mine".
    """,
    ko="""
    왜 세그먼트가 두 개가 아니라 세 개일까요? handshake가 SYN과 ACK 둘뿐이어서(2-way handshake)
    서버가 SYN에 답하자마자 ESTABLISHED 상태가 된다고 해 봅시다. 여기서 클라이언트는 시퀀스 번호
    100인 SYN으로 연결을 요청하지만, 같은 포트끼리 맺었던 예전 연결의 SYN(시퀀스 번호 90)이
    네트워크에서 오래 지연되다가 먼저 서버에 도착합니다(번호는 RFC 9293 Figure 8과 같고, 상대값이
    아닌 원래 값으로 보여 줍니다). 서버는 그 SYN에 확인 응답 번호 91을 담은 SYN,ACK로 답합니다.
    2-way handshake라면 서버는 이제 아무도 요청하지 않은 연결에서 엉뚱한 시퀀스 번호를 기다리며
    ESTABLISHED 상태가 되어 버립니다. 3-way handshake에서는 서버가 SYN-RECEIVED(SYN_RECEIVED)
    상태로 클라이언트의 ACK를 기다릴 뿐입니다. SYN-SENT(SYN_SENT) 상태의 클라이언트는 자기 SYN에
    대해서라면 101이어야 할 확인 응답 번호가 91인 것을 보고 RST(시퀀스 번호 91)로 답합니다. 서버는
    RST를 받아들이고 LISTEN 상태로 돌아갑니다. 클라이언트의 진짜 SYN이 도착하면 평소의 3-way
    handshake가 끝까지 진행됩니다. 세 번째 세그먼트는 클라이언트가 "그래, 그 SYN은 내 것이
    맞다"고 말하는 방법입니다.
    """,
    hosts=lambda: ((CLIENT, CLIENT_ADDR, {"isn": FigureIsn(CLIENT_ISS)}),
                   (SERVER, SERVER_ADDR, {"isn": FigureIsn(SERVER_ISS_OLD, SERVER_ISS)})),
    absolute=True,
)
def two_way(r: _Run) -> None:
    net = r.net
    net.hosts[CLIENT].config.syn_quick_retry = False  # (the figure's RTO; Linux resends in 8 ms)
    server = api.create_server(net, SERVER, (SERVER_ADDR, PORT))
    server_host = net.host(SERVER)
    client = api.socket(net, CLIENT)
    client.bind((CLIENT_ADDR, 5000))
    client.setblocking(False)
    # The client's SYN stays in the network until the old duplicate has been dealt with.
    held = net.hold_if(lambda p: p.src_host == CLIENT and p.seg is not None
                       and p.seg.flags & (SYN | ACK) == SYN, count=1)
    client.connect_ex((SERVER_ADDR, PORT))          # EINPROGRESS: SYN-SENT
    # An old duplicate SYN of an earlier connection between the same ports.
    old = TcpSegment(5000, PORT, Seq(OLD_SYN_SEQ), Seq(0), SYN, 65535, options=(Mss(1460),))
    net.inject(CLIENT, emit_packet(CLIENT_ADDR, SERVER_ADDR, old), delay=max(r.opts.delay, ms(1)))
    net.run_until(lambda: bool(server_host.conns), sec(10))         # SYN-RECEIVED for the old SYN
    net.run_until(lambda: not server_host.conns, sec(200))          # the RST: back to LISTEN
    held.release()
    client.setblocking(True)
    client.connect((SERVER_ADDR, PORT))
    server.accept()
    net.run(max_time=sec(600))
    rst = r.sent(CLIENT, lambda e: e.seg.flags & RST and int(e.seg.seq) == OLD_SYN_SEQ + 1)
    est = _when_state(r, CLIENT, "ESTABLISHED")
    if rst and est:
        r.note(f"The client refused the SYN,ACK that answered the old SYN with a RST at "
               f"{duration(rst[0].t)}; its own connection was ESTABLISHED at {duration(est[0])}.",
               f"클라이언트는 옛 SYN에 대한 SYN,ACK를 {kdur(rst[0].t)}에 RST로 거절했고, 자기 연결은 "
               f"{kdur(est[0])}에 ESTABLISHED 상태가 되었습니다.")
