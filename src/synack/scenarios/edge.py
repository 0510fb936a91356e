"""Scenarios at the edges: a SYN flood, blind reset attempts, keep-alives, TCP Fast Open.

Each builds a network with the user's options (``seed``, ``loss``, ``delay``, ``drop``),
hosts ``client`` (10.0.0.1) and ``server`` (10.0.0.2, port 80), and where the story needs
one an ``attacker`` (10.0.0.66) that puts forged packets on the wire with
:meth:`Network.inject <synack.link.sim.Network.inject>`. The notes are read back from the
trace, so they stay true under any seed, loss or drop; a socket call that fails in a way
the script did not plan for ends the script with a note instead of a traceback.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from .. import api
from ..api.errors import SimulationIdle
from ..link.sim import Network
from ..tcp.config import TcpConfig
from ..timeunits import NS_PER_MS, NS_PER_S, ms
from ..trace.events import AppCall, SegmentSent
from ..wire.ip import emit_packet
from ..wire.seq import Seq
from ..wire.tcp import ACK, RST, SYN, Mss, SackPermitted, TcpSegment, Timestamps, WindowScale
from . import ScenarioOptions, ScenarioResult, scenario

CLIENT, SERVER, ATTACKER = "client", "server", "attacker"
CLIENT_ADDR, SERVER_ADDR, ATTACKER_ADDR = "10.0.0.1", "10.0.0.2", "10.0.0.66"
PORT = 80
REQUEST = b"GET / HTTP/1.1\r\nHost: server\r\n\r\n"
REPLY = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"

#: spoofed sources of the flood: TEST-NET-2 (RFC 5737), which no host on the network owns
SPOOFED = "198.51.100."


# ------------------------------------------------------------------------------ helpers
def duration(ns: int, lang: str = "en") -> str:
    """``ns`` for a person: "20 ms", "1.02 s" ("1.02초" in Korean)."""
    if abs(ns) < NS_PER_S:
        return f"{ns / NS_PER_MS:.3f}".rstrip("0").rstrip(".") + " ms"
    return f"{ns / NS_PER_S:.3f}".rstrip("0").rstrip(".") + ("초" if lang == "ko" else " s")


class Attacker:
    """A machine that only forges: it puts crafted segments on the wire at chosen times,
    with whatever source address it likes, and ignores what reaches it. It has the link-side
    interface of a Host (``deliver``, ``take_packets``, ``next_deadline``, ``on_timeout``),
    so the simulator moves its packets like any other, through the attacker -> victim path.
    Each forgery is traced when it leaves: as a segment sent from the attacker's lifeline
    when its source address is named "attacker" (a spoofed address nobody owns), else as
    an application-style note on the attacker's lifeline (it claims another host's address)."""

    def __init__(self, name: str, addr: str, recorder) -> None:
        self.name = name
        self.addrs = [addr]
        self.recorder = recorder
        self.changed = False
        self._plan: list = []   # (time, n, src, dst, seg, what)
        self._tx: list = []
        self._n = 0

    def forge(self, at: int, src: str, dst: str, seg: TcpSegment, what: str = "") -> None:
        self._n += 1
        self._plan.append((at, self._n, src, dst, seg, what))
        self._plan.sort(key=lambda x: (x[0], x[1]))
        self.changed = True

    def deliver(self, packet: bytes, now: int) -> None:
        pass  # off-path, or its spoofed sources: nothing comes back to it

    def take_packets(self) -> list:
        tx, self._tx = self._tx, []
        return tx

    def next_deadline(self) -> int | None:
        return self._plan[0][0] if self._plan else None

    def on_timeout(self, now: int) -> None:
        self.changed = True
        rec = self.recorder
        while self._plan and self._plan[0][0] <= now:
            _, _, src, dst, seg, what = self._plan.pop(0)
            self._tx.append(emit_packet(src, dst, seg))
            if rec.on:
                if rec.names.get(src) == self.name:
                    rec.emit(SegmentSent(now, self.name, None, src, dst, seg, False, "forged"))
                else:
                    rec.emit(AppCall(now, self.name, None, "forge", what))



def _recv_upto(sock, n: int) -> bytes:
    """Read until ``n`` octets have arrived or the peer closed."""
    got = b""
    while len(got) < n:
        chunk = sock.recv(1024)
        if not chunk:
            break
        got += chunk
    return got

class _Run:
    """One run: the network with the user's options, the notes, the lanes."""

    def __init__(self, opts: ScenarioOptions, lanes: tuple, **server_kw) -> None:
        opts.validate()
        self.opts = opts
        self.lanes = lanes
        self.notes: list[str] = []
        self.net = net = Network(seed=opts.seed)
        net.default_path.delay = opts.delay
        net.default_path.loss = opts.loss
        net.add_host(CLIENT, [CLIENT_ADDR], config=TcpConfig(profile=opts.profile))
        net.add_host(SERVER, [SERVER_ADDR], **{"config": TcpConfig(profile=opts.profile), **server_kw})
        self.attacker: Attacker | None = None
        if ATTACKER in lanes:
            self.attacker = net.attach(Attacker(ATTACKER, ATTACKER_ADDR, net.recorder))
        self._count = 0
        self.dropped: list[int] = []
        if opts.drop:
            wanted = frozenset(opts.drop)

            def nth(pkt) -> bool:
                self._count += 1
                if self._count in wanted:
                    self.dropped.append(self._count)
                    return True
                return False

            net.drop_if(nth)

    @property
    def ko(self) -> bool:
        return self.opts.lang == "ko"

    def dur(self, ns: int) -> str:
        return duration(ns, "ko" if self.ko else "en")

    def note(self, en: str, ko: str) -> None:
        self.notes.append(ko if self.ko else en)

    @property
    def events(self) -> list:
        return self.net.recorder.events

    def of(self, kind: str, host: str | None = None, where: Callable | None = None) -> list:
        return [e for e in self.events if e.event == kind and (host is None or e.host == host)
                and (where is None or where(e))]

    def forge(self, seg: TcpSegment, src: str, dst: str, what: str, delay: int = 0, lane: bool = False) -> None:
        """The attacker forges ``seg`` from ``src`` to ``dst``, ``delay`` from now. ``lane``:
        ``src`` is a spoofed address nobody owns, drawn as the attacker's."""
        if lane:
            self.net.recorder.names[src] = ATTACKER
        if self.attacker is None:
            raise RuntimeError("forge() needs the attacker on the ladder: put it in the lanes")
        self.attacker.forge(self.net.now + delay, src, dst, seg, what)
        self.net.flush()

    def failed(self, exc: BaseException) -> None:
        call = next((e for e in reversed(self.events) if isinstance(e, AppCall) and e.error), None)
        what = f"{call.host}: {call.args}" if call is not None else "a socket call"
        self.note(f"{what} raised {type(exc).__name__} ({exc}) at {self.dur(self.net.now)}, "
                  f"so the scenario stopped there.",
                  f"{what} 호출이 {self.dur(self.net.now)}에 {type(exc).__name__}({exc}) 예외를 "
                  f"일으켜 시나리오가 여기서 멈췄습니다.")

    def result(self) -> ScenarioResult:
        for n in self.dropped:
            self.note(f"--drop {n}: segment {n} was dropped.", f"--drop {n}: {n}번째 세그먼트를 버렸습니다.")
        return ScenarioResult(self.net, self.lanes, self.notes)


def edge(name: str, summary: str, en: str, ko: str, lanes: tuple = (CLIENT, SERVER),
         **server_kw) -> Callable:
    """Register ``body(run)`` as scenario ``name`` (see :class:`_Run`)."""

    def register(body: Callable[[_Run], None]) -> Callable[[ScenarioOptions], ScenarioResult]:
        def run(opts: ScenarioOptions) -> ScenarioResult:
            r = _Run(opts, lanes, **server_kw)
            try:
                body(r)
            except (OSError, SimulationIdle) as e:
                r.failed(e)
            return r.result()

        run.__name__, run.__qualname__, run.__doc__ = body.__name__, body.__qualname__, body.__doc__
        scenario(name, summary, {"en": " ".join(en.split()), "ko": " ".join(ko.split())})(run)
        return run

    return register


def _exchange(r: _Run, client, conn) -> None:
    client.sendall(REQUEST)
    _recv_upto(conn, len(REQUEST))  # the request, read by the server application
    conn.sendall(REPLY)
    _recv_upto(client, len(REPLY))  # the reply, read by the client application


# ------------------------------------------------------------------------------ syn-flood
FLOOD_SYNS = 12
FLOOD_BACKLOG = 4


def _flood(r: _Run, n: int, spacing: int) -> None:
    """``n`` SYNs from spoofed addresses, ``spacing`` apart, with the options a Linux
    client sends (so the cookies have something to remember)."""
    rng = random.Random(r.opts.seed)
    for i in range(n):
        src = f"{SPOOFED}{i + 1}"
        seg = TcpSegment(rng.randrange(1024, 65536), PORT, Seq(rng.getrandbits(32)), Seq(0), SYN, 64240, b"",
                         (Mss(1460), SackPermitted(), Timestamps(rng.getrandbits(32), 0), WindowScale(7)))
        r.forge(seg, src, SERVER_ADDR, f"SYN from {src}", delay=i * spacing, lane=True)


def _connect_time(opts: ScenarioOptions, syncookies: int) -> int | None:
    """How long the client's connect() takes under the same flood with ``syncookies``
    (a quiet second run for the notes; None if it failed)."""
    r = _Run(ScenarioOptions(seed=opts.seed, loss=opts.loss, delay=opts.delay, lang=opts.lang, profile=opts.profile),
             (CLIENT, SERVER, ATTACKER), syncookies=syncookies)
    r.net.recorder.on = False
    srv = api.create_server(r.net, SERVER, (SERVER_ADDR, PORT), backlog=FLOOD_BACKLOG)
    _flood(r, FLOOD_SYNS, ms(1))
    api.sleep(r.net, FLOOD_SYNS * 0.001 + 0.002)
    start = r.net.now
    try:
        api.create_connection(r.net, CLIENT, (SERVER_ADDR, PORT))
    except OSError:
        return None
    finally:
        srv.close()
    return r.net.now - start


@edge(
    "syn-flood",
    "an attacker floods the server with SYNs from spoofed addresses; SYN cookies let real clients in",
    en="""
    The attacker sends SYNs whose source addresses belong to nobody (198.51.100.x), so the
    server's SYN,ACKs go nowhere and no ACK ever comes back: each SYN would hold a half-open
    connection in the server's SYN queue for about a minute (five SYN,ACK retransmissions).
    Here the listen backlog is 4, so the SYN queue is full after four forged SYNs. Without a
    defence, every later SYN, the real client's included, would be dropped until entries time
    out. With SYN cookies (RFC 4987 §3.6, on by default as in Linux) the server switches mode
    when the queue overflows: it answers each SYN with a SYN,ACK whose sequence number is a
    keyed hash of the connection (and encodes the client's MSS, window scale, SACK and
    timestamps) and keeps nothing. The real client's ACK carries that number plus one; the
    server checks it and rebuilds the connection as if the SYN had been queued. The forged
    SYNs cost the server no memory beyond the full queue.
    """,
    ko="""
    공격자는 아무도 쓰지 않는 주소(198.51.100.x)를 출발지로 위조한 SYN을 보냅니다. 서버의 SYN,ACK는
    갈 곳이 없고 ACK는 돌아오지 않으므로, SYN 하나마다 반쯤 열린 연결이 서버의 SYN 큐를 1분 가까이
    차지합니다(SYN,ACK 재전송 다섯 번). 여기서는 listen backlog가 4라서 위조된 SYN 네 개로 SYN 큐가 가득
    찹니다. 방어가 없다면 그 뒤의 SYN은 진짜 클라이언트의 것까지 모두 버려집니다. SYN 쿠키(RFC 4987
    §3.6, Linux처럼 기본으로 켜져 있음)를 쓰면 큐가 넘칠 때 서버가 방식을 바꿉니다. SYN마다 연결 정보의
    키 해시를 시퀀스 번호로 삼은 SYN,ACK로 답하고(클라이언트의 MSS, 윈도 스케일, SACK, 타임스탬프도
    그 안에 담습니다) 아무것도 저장하지 않습니다. 진짜 클라이언트의 ACK는 그 번호에 1을 더해 돌려주고,
    서버는 그것을 확인해 SYN을 큐에 넣었던 것처럼 연결을 다시 만듭니다.
    """,
    lanes=(ATTACKER, SERVER, CLIENT),
)
def syn_flood(r: _Run) -> None:
    net = r.net
    server = api.create_server(net, SERVER, (SERVER_ADDR, PORT), backlog=FLOOD_BACKLOG)
    _flood(r, FLOOD_SYNS, ms(1))
    api.sleep(net, 0.005)                  # the flood is under way
    start = net.now
    client = api.create_connection(net, CLIENT, (SERVER_ADDR, PORT))
    took = net.now - start
    conn, _ = server.accept()
    _exchange(r, client, conn)
    client.close()
    while conn.recv(1024):
        pass
    conn.close()
    api.sleep(net, 0.1)
    lst = server._listeners[0]
    st = lst.stats
    queued = [e for e in r.of("listen-queue", SERVER) if e.cause == "syn"]
    on = r.of("syncookies", SERVER, lambda e: e.on)
    r.note(f"{FLOOD_SYNS} forged SYNs arrived; {len(queued)} filled the SYN queue "
           f"({FLOOD_BACKLOG} places), the others got SYN cookies ({st.cookies_sent} cookies sent in all)"
           + (f"; the server switched to cookies at {r.dur(on[0].t)}." if on else "."),
           f"위조된 SYN {FLOOD_SYNS}개가 도착했고, {len(queued)}개가 SYN 큐({FLOOD_BACKLOG}자리)를 채웠으며 "
           f"나머지는 SYN 쿠키를 받았습니다(쿠키는 모두 {st.cookies_sent}개)"
           + (f". 서버는 {r.dur(on[0].t)}에 쿠키 방식으로 바뀌었습니다." if on else "."))
    r.note(f"The real client connected in {r.dur(took)} (one round trip) through a cookie "
           f"({st.cookies_accepted} valid cookie ACK), and its request and reply went through.",
           f"진짜 클라이언트는 쿠키를 통해 {r.dur(took)}(왕복 한 번) 만에 연결되었고"
           f"(유효한 쿠키 ACK {st.cookies_accepted}개), 요청과 응답도 오갔습니다.")
    without = _connect_time(r.opts, 0)
    if without is None:
        r.note("Without SYN cookies (syncookies=0) the same client's connect() failed.",
               "SYN 쿠키가 없으면(syncookies=0) 같은 클라이언트의 connect()는 실패했습니다.")
    else:
        r.note(f"Without SYN cookies (syncookies=0) the same client's connect() took {r.dur(without)}: "
               f"its SYNs were dropped until a half-open entry timed out.",
               f"SYN 쿠키가 없으면(syncookies=0) 같은 클라이언트의 connect()는 {r.dur(without)} 걸렸습니다. "
               f"반쯤 열린 연결 하나가 시간 초과로 빠질 때까지 SYN이 버려졌기 때문입니다.")


# ------------------------------------------------------------------------------ blind-reset
@edge(
    "blind-reset",
    "an off-path attacker guesses sequence numbers to reset a connection, and fails (RFC 5961)",
    en="""
    The attacker knows both addresses and ports of the connection but cannot see its
    segments, so it guesses sequence numbers: it forges RSTs "from" the client. An RST outside
    the server's receive window is dropped silently. An RST inside the window but not exactly
    at RCV.NXT used to be enough to kill a connection; since RFC 5961 (RFC 9293 §3.10.7.4) it
    only draws a "challenge ACK" to the real client, which the attacker never sees; a real
    client that had lost the connection would answer it with an RST at exactly RCV.NXT. A
    forged SYN draws a challenge ACK too, and so does data whose ACK value is too old (RFC 5961
    §5). Challenge ACKs are rate-limited (RFC 5961 §7), one per 500 ms per connection as
    Linux does and a few a second per host, so that the attacker cannot use them as an
    amplifier. The connection survives and carries on.
    """,
    ko="""
    공격자는 연결의 양쪽 주소와 포트를 알지만 세그먼트는 볼 수 없어서 시퀀스 번호를 추측합니다.
    클라이언트가 보낸 것처럼 RST를 위조합니다. 서버의 수신 윈도 밖에 있는 RST는 조용히 버려집니다. 윈도
    안에 있지만 RCV.NXT와 정확히 같지 않은 RST는 예전에는 연결을 끊기에 충분했지만, RFC 5961(RFC 9293
    §3.10.7.4) 이후로는 진짜 클라이언트에게 "챌린지 ACK"를 보낼 뿐이고 공격자는 그것을 볼 수 없습니다.
    정말로 연결을 잃은 클라이언트라면 정확히 RCV.NXT에 맞춘 RST로 답할 것입니다. 위조된 SYN과 ACK 값이
    너무 오래된 데이터(RFC 5961 §5)도 챌린지 ACK를 받습니다. 챌린지 ACK는 속도가 제한되어(RFC 5961
    §7) 리눅스처럼 연결마다 500ms에 하나, 호스트 전체로 초당 몇 개까지만 나가므로 공격자가 증폭기로 쓸
    수 없습니다. 연결은 살아남아 계속 쓰입니다.
    """,
    lanes=(CLIENT, SERVER, ATTACKER),
    challenge_ack_limit=5,
)
def blind_reset(r: _Run) -> None:
    net = r.net
    server = api.create_server(net, SERVER, (SERVER_ADDR, PORT))
    client = api.create_connection(net, CLIENT, (SERVER_ADDR, PORT))
    conn, _ = server.accept()
    _exchange(r, client, conn)
    tcb = conn.connection
    cport = client.getsockname()[1]
    rng = random.Random(r.opts.seed)
    # With RFC 7323 timestamps on, a segment without them is dropped before any other check
    # (and PAWS drops one that looks older): this attacker copies a plausible TSval, which
    # a blind one would guess right half of the time.
    ts = (Timestamps((getattr(tcb, "ts_recent", 0) + 5000) & 0xFFFFFFFF, 0),) if getattr(tcb, "ts_ok", False) else ()
    t = 0

    def forge(seg: TcpSegment, what: str) -> None:
        nonlocal t
        r.forge(seg, CLIENT_ADDR, SERVER_ADDR, what, delay=t)
        t += ms(1)

    # Blind guesses across the sequence space: almost all land outside the window.
    for _ in range(4):
        guess = Seq(rng.getrandbits(32))
        forge(TcpSegment(cport, PORT, guess, Seq(0), RST, 0), f"RST seq={int(guess)} (a blind guess)")
    # A SYN with any sequence number, and data with a stale ACK value (RFC 5961 §4, §5).
    syn_seq = Seq(rng.getrandbits(32))
    forge(TcpSegment(cport, PORT, syn_seq, Seq(0), SYN, 65535, b"", (Mss(1460),) + ts), f"SYN seq={int(syn_seq)}")
    old_ack = tcb.snd_una - 300000
    forge(TcpSegment(cport, PORT, tcb.rcv_nxt, old_ack, ACK, 65535, b"evil", ts),
          f"data at RCV.NXT with ACK={int(old_ack)} (too old)")
    # A luckier attacker lands inside the window, but not exactly on RCV.NXT.
    for i in range(5):
        guess = tcb.rcv_nxt + 1000 + 7919 * i
        forge(TcpSegment(cport, PORT, guess, Seq(0), RST, 0), f"RST seq={int(guess)} (inside the window)")
    api.sleep(net, t / NS_PER_S + 0.1)
    # The connection is still there: one more round.
    _exchange(r, client, conn)
    client.close()
    conn.close()
    server.close()
    api.sleep(net, 0.1)
    drops = r.of("drop", SERVER)
    outside = [d for d in drops if d.reason == "out-of-window" and d.seg is not None and d.seg.flags & RST]
    challenged = [d for d in drops if d.reason in ("rst-not-exact", "syn-in-synchronized", "ack-too-old")]
    limited = [d for d in drops if d.reason == "challenge-ack-limit"]
    resets = r.of("error", SERVER) + r.of("error", CLIENT)
    r.note(f"{len(outside)} forged RSTs fell outside the window and were dropped silently; "
           f"{len(challenged)} forged segments drew a challenge ACK to the real client, and "
           f"{len(limited)} more were dropped without one, over this server's limits (one challenge ACK per "
           f"500 ms per connection, 5 a second in all).",
           f"위조된 RST {len(outside)}개는 윈도 밖이라 조용히 버려졌고, 위조된 세그먼트 {len(challenged)}개는 "
           f"진짜 클라이언트에게 챌린지 ACK를 보내게 했으며, {len(limited)}개는 이 서버의 제한(연결마다 500ms에 "
           f"하나, 전체로 초당 5개)을 넘어 챌린지 ACK 없이 버려졌습니다.")
    if not resets and not conn.connection.error:
        r.note("No forged segment reset the connection or added data to it: the second request "
               "and reply went through.",
               "위조된 세그먼트는 연결을 끊지도, 데이터를 끼워 넣지도 못했습니다. 두 번째 요청과 응답도 "
               "잘 오갔습니다.")


# ------------------------------------------------------------------------------ keepalive
@edge(
    "keepalive",
    "keep-alive probes on an idle connection: answered, then unanswered until the peer is given up",
    en="""
    Keep-alives are off by default (RFC 9293 §3.8.4 MUST-25); the client turns them on with
    SO_KEEPALIVE and sets TCP_KEEPIDLE to 10 s, TCP_KEEPINTVL to 2 s and TCP_KEEPCNT to 3 (the
    defaults are two hours, 75 s and 9). After 10 s with nothing received, the client sends a
    probe: an ACK carrying the sequence number SND.UNA-1 and no data, which lies just below
    the server's window, so the server must answer with an ACK. Each answer restarts the idle
    time. Then the server vanishes from the network (a cable cut: nothing it sends arrives).
    Probes go unanswered; one missing answer proves nothing (MUST-29), but after three, two
    seconds apart, the client gives up: it sends an RST and its recv() raises TimeoutError.
    """,
    ko="""
    keep-alive는 기본으로 꺼져 있습니다(RFC 9293 §3.8.4 MUST-25). 클라이언트는 SO_KEEPALIVE로 켜고
    TCP_KEEPIDLE을 10초, TCP_KEEPINTVL을 2초, TCP_KEEPCNT를 3으로 정합니다(기본값은 2시간, 75초,
    9). 아무것도 받지 못한 채 10초가 지나면 클라이언트는 프로브를 보냅니다. 데이터 없이 시퀀스 번호
    SND.UNA-1을 담은 ACK라서 서버 윈도 바로 아래에 있으므로, 서버는 ACK로 답해야 합니다. 답이 올
    때마다 유휴 시간은 다시 시작됩니다. 그러다 서버가 네트워크에서 사라집니다(케이블이 끊겨 서버가 보내는
    것은 아무것도 도착하지 않음). 프로브에 답이 없습니다. 답 하나가 없다고 죽었다고 할 수는 없지만
    (MUST-29), 2초 간격으로 세 번 답이 없으면 클라이언트는 포기합니다. RST를 보내고, recv()는
    TimeoutError를 일으킵니다.
    """,
)
def keepalive(r: _Run) -> None:
    net = r.net
    server = api.create_server(net, SERVER, (SERVER_ADDR, PORT))
    client = api.create_connection(net, CLIENT, (SERVER_ADDR, PORT))
    conn, _ = server.accept()
    client.setsockopt(api.SOL_SOCKET, api.SO_KEEPALIVE, 1)
    client.setsockopt(api.IPPROTO_TCP, api.TCP_KEEPIDLE, 10)
    client.setsockopt(api.IPPROTO_TCP, api.TCP_KEEPINTVL, 2)
    client.setsockopt(api.IPPROTO_TCP, api.TCP_KEEPCNT, 3)
    _exchange(r, client, conn)
    api.sleep(net, 25)                     # idle: two probes, both answered
    cut = net.now
    net.drop_if(lambda pkt: pkt.src_host == SERVER)  # the server vanishes
    try:
        client.recv(100)
    except TimeoutError as e:
        r.note(f"recv() raised TimeoutError ({e}) {r.dur(net.now - cut)} after the server vanished.",
               f"서버가 사라지고 {r.dur(net.now - cut)} 뒤 recv()가 TimeoutError({e})를 일으켰습니다.")
    probes = r.of("send", CLIENT, lambda e: e.cause == "keepalive")
    answered = [p for p in probes if p.t < cut]
    r.note(f"The client sent {len(probes)} keep-alive probes: {len(answered)} while the server "
           f"was there (each answered by an ACK), {len(probes) - len(answered)} after it vanished.",
           f"클라이언트는 keep-alive 프로브를 {len(probes)}개 보냈습니다. 서버가 있을 때 {len(answered)}개"
           f"(모두 ACK로 답을 받음), 사라진 뒤 {len(probes) - len(answered)}개입니다.")
    conn.close()
    server.close()


# ------------------------------------------------------------------------------ fast-open
@edge(
    "fast-open",
    "TCP Fast Open: the first connection gets a cookie, the second sends its request in the SYN",
    en="""
    The server allows Fast Open on its listening socket (TCP_FASTOPEN). The client's first
    sendto(request, MSG_FASTOPEN) has no cookie for this server yet, so its SYN carries an
    empty Fast Open option, a cookie request (RFC 7413 §4.1); the server answers with a
    cookie in its SYN,ACK (a MAC of the client's address) and the request follows the
    handshake as usual: the reply arrives two round trips after the start. The second
    connection's SYN carries the cookie and the request itself. The server checks the cookie,
    hands the request to its application at once, while still in SYN-RECEIVED, and the reply
    leaves right behind the SYN,ACK: one round trip instead of two.
    """,
    ko="""
    서버는 listen 소켓에서 Fast Open을 허용합니다(TCP_FASTOPEN). 클라이언트의 첫 번째
    sendto(요청, MSG_FASTOPEN)에는 이 서버의 쿠키가 아직 없으므로, SYN에 빈 Fast Open 옵션, 즉 쿠키
    요청을 싣습니다(RFC 7413 §4.1). 서버는 SYN,ACK에 쿠키(클라이언트 주소의 MAC)를 담아 답하고, 요청은
    평소처럼 핸드셰이크 뒤에 갑니다. 응답은 시작하고 왕복 두 번 뒤에 도착합니다. 두 번째 연결의 SYN에는
    쿠키와 요청 자체가 실립니다. 서버는 쿠키를 확인하고 아직 SYN-RECEIVED 상태인데도 요청을 곧바로
    애플리케이션에 넘기며, 응답은 SYN,ACK 바로 뒤에 나갑니다. 왕복 두 번이 아니라 한 번입니다.
    """,
)
def fast_open(r: _Run) -> None:
    net = r.net
    server = api.socket(net, SERVER)
    server.setsockopt(api.SOL_SOCKET, api.SO_REUSEADDR, 1)
    server.bind((SERVER_ADDR, PORT))
    server.setsockopt(api.IPPROTO_TCP, api.TCP_FASTOPEN, 16)
    server.listen()
    took = []
    for _ in range(2):
        client = api.socket(net, CLIENT)
        client.setblocking(False)          # sendto returns at once; the SYN is on its way
        start = net.now
        try:
            client.sendto(REQUEST, api.MSG_FASTOPEN, (SERVER_ADDR, PORT))
            sent = True
        except BlockingIOError:
            sent = False                   # no cookie yet: the request waits for the handshake
        client.setblocking(True)
        if not sent:
            client.connect((SERVER_ADDR, PORT))
            client.sendall(REQUEST)
        conn, _ = server.accept()
        _recv_upto(conn, len(REQUEST))  # the request, read by the server application
        conn.sendall(REPLY)
        _recv_upto(client, len(REPLY))  # the reply, read by the client application
        took.append(net.now - start)
        client.close()
        conn.close()
        api.sleep(net, 0.5)
    server.close()
    issued = r.of("fastopen", SERVER, lambda e: e.action == "cookie-issued")
    accepted = r.of("fastopen", SERVER, lambda e: e.action == "data-accepted")
    r.note(f"First connection: {len(issued)} cookie issued; request to reply took {r.dur(took[0])}.",
           f"첫 번째 연결: 쿠키 {len(issued)}개 발급, 요청에서 응답까지 {r.dur(took[0])}.")
    r.note(f"Second connection: the request rode in the SYN ({len(accepted)} accepted with a valid "
           f"cookie); request to reply took {r.dur(took[1])}, {r.dur(took[0] - took[1])} saved.",
           f"두 번째 연결: 요청이 SYN에 실려 갔고(유효한 쿠키로 {len(accepted)}개 수락), 요청에서 응답까지 "
           f"{r.dur(took[1])}, {r.dur(took[0] - took[1])}을 아꼈습니다.")
