"""Scenarios of flow control and congestion control: slow start, fast retransmit, SACK
recovery, the zero window, delayed ACKs and Nagle.

Same shape as :mod:`synack.scenarios.basics` (whose :func:`~synack.scenarios.basics.basic`
registers them): ``client`` (10.0.0.1) and ``server`` (10.0.0.2, port 9) on a path with
the user's delay and loss, driven through the socket API. The notes are found in the trace
(segments, cwnd changes, timers), so they say what happened in this run, whatever the
seed, loss or stack version: ``sack-recovery`` says whether SACK was negotiated.
"""

from __future__ import annotations


from .. import api
from ..tcp.config import TcpConfig
from ..timeunits import ms
from ..trace.events import CongestionChanged, TimerFired
from ..wire.tcp import Sack, SackPermitted
from .basics import CLIENT, CLIENT_ADDR, SERVER, SERVER_ADDR, basic, duration, kdur

#: the discard service (RFC 863): what these scenarios send is bulk data nobody answers,
#: and on this port a capture tool shows it as such (on port 80 Wireshark would read it
#: as malformed HTTP)
PORT = 9

#: a byte pattern that is easy to check at the other end
_PATTERN = bytes(range(256))


def _payload(n: int) -> bytes:
    return (_PATTERN * (n // len(_PATTERN) + 1))[:n]


def _connected(r, client_opts: list | None = None):
    """Server listening on the discard port, client connected (with ``client_opts``, a list of
    (level, name, value) set before connect), server accepted: (server, client, conn)."""
    server = api.create_server(r.net, SERVER, (SERVER_ADDR, PORT))
    client = api.socket(r.net, CLIENT)
    for level, name, value in client_opts or ():
        client.setsockopt(level, name, value)
    client.connect((SERVER_ADDR, PORT))
    conn, _ = server.accept()
    return server, client, conn


def _read(conn, n: int) -> bytes:
    """recv() until ``n`` octets or the end of the stream."""
    got = bytearray()
    while len(got) < n:
        chunk = conn.recv(65536)
        if not chunk:
            break
        got += chunk
    return bytes(got)


def _close(r, server, client, conn) -> None:
    client.close()
    while conn.recv(65536):
        pass
    conn.close()
    server.close()
    r.finish()


def _data(r, host: str = CLIENT, retransmit: bool | None = None) -> list:
    """Data segments ``host`` sent (first transmissions, retransmissions, or both)."""
    return r.sent(host, lambda e: e.seg.payload and (retransmit is None or e.retransmit == retransmit))


def _cwnd(r, host: str = CLIENT) -> list:
    return [e for e in r.events if type(e) is CongestionChanged and e.host == host]


def _rounds(sends: list, gap: int) -> list[list]:
    """Segments grouped into flights: a new flight starts after a pause of ``gap`` or more."""
    rounds: list[list] = []
    last = None
    for e in sends:
        if last is None or e.t - last >= gap:
            rounds.append([])
        rounds[-1].append(e)
        last = e.t
    return rounds


def _cc_name(client) -> str:
    return client.getsockopt(api.IPPROTO_TCP, api.TCP_CONGESTION, 16).rstrip(b"\0").decode()


# ------------------------------------------------------------------------------ slow start
@basic(
    "slow-start",
    "slow start: the congestion window doubles every round trip until something stops it",
    en="""
    The client sends 200 KB as fast as TCP lets it. TCP does not know how fast the path is, so
    congestion control starts small: the congestion window (cwnd), the data it may have sent
    and not yet seen acknowledged, begins at ten segments (RFC 6928). Each ACK that
    acknowledges new data grows cwnd by the bytes it acknowledges, so every round trip the
    client sends about twice as many segments as in the one before: slow start is
    exponential. Watch the flights on the ladder: 10 segments, a round trip of silence, then
    20. Slow start ends at the first loss, when cwnd reaches ssthresh, or when the
    delay grows (HyStart++, RFC 9406, which CUBIC uses). Here the receiver's window of 64 KB
    soon becomes the limit instead: a flight arrives all at once, and the receiver answers it
    with one ACK (RFC 9293 §3.10.7.4) before its application reads it, so that ACK offers only
    the room left. Flow control (the receiver's window)
    and congestion control (cwnd) both bound what the sender may send, and the smaller wins.
    """,
    ko="""
    클라이언트가 200KB를 TCP가 허락하는 만큼 빠르게 보냅니다. TCP는 경로가 얼마나 빠른지 모르기
    때문에 혼잡 제어는 작게 시작합니다. 혼잡 윈도우(cwnd), 곧 보냈지만 아직 확인 응답을 받지 못한
    데이터의 한도는 10 세그먼트에서 시작합니다(RFC 6928). 새 데이터를 확인하는 ACK가 올 때마다
    cwnd는 확인된 바이트만큼 커지므로, 클라이언트는 왕복 시간(RTT)마다 직전보다 약 두 배의
    세그먼트를 보냅니다. 이것이 지수적으로 커지는 슬로우 스타트(slow start)입니다. 사다리 그림에서
    10개, 한 번의 왕복 동안 조용함, 그다음 두 배인 20개의 묶음을 볼 수 있습니다. 슬로우 스타트는 첫 손실이
    생기거나, cwnd가 슬로우 스타트 임계값(ssthresh)에 닿거나, 지연이 늘어날 때(CUBIC이 쓰는
    HyStart++, RFC 9406) 끝납니다. 여기서는 곧 수신자의 윈도우 64KB가 대신 한계가 됩니다.
    한꺼번에 도착한 묶음 전체에 수신자는 애플리케이션이 읽기 전에 ACK 하나로 답하므로(RFC 9293
    §3.10.7.4), 그 ACK는 남은 공간만큼의 윈도우만 알립니다.
    흐름 제어(수신 윈도우)와 혼잡 제어(cwnd)가 모두 송신량을 제한하고, 둘 중 작은 쪽이
    이깁니다.
    """,
)
def slow_start(r) -> None:
    server, client, conn = _connected(r)
    size = 200 * 1000
    smss = client.connection.cc.smss     # the MSS less the options every segment carries
    cc, iw = _cc_name(client), client.connection.config.initial_window * smss
    client.sendall(_payload(size))
    got = _read(conn, size)
    _close(r, server, client, conn)
    first = _data(r, retransmit=False)
    rtt = 2 * r.opts.delay
    rounds = _rounds(first, max(rtt // 2, ms(1)))
    if rounds:
        counts = ", ".join(str(len(x)) for x in rounds)
        r.note(f"The client sent its {len(first)} data segments in {len(rounds)} flights of {counts}, "
               f"one round trip apart; the server read {len(got)} bytes.",
               f"클라이언트는 데이터 세그먼트 {len(first)}개를 한 번의 왕복 간격으로 {len(rounds)}번에 "
               f"나누어 {counts}개씩 보냈고, 서버는 {len(got)}바이트를 읽었습니다.")
    cw = _cwnd(r)
    if cw:
        peak = max(e.cwnd for e in cw)
        wnd = max(e.snd_wnd for e in cw)
        r.note(f"cwnd ({cc}) grew from {iw} to {peak} bytes; the server's window was at most {wnd} bytes, "
               f"so at most {wnd // smss} full segments could be in flight.",
               f"cwnd({cc})는 {iw}바이트에서 {peak}바이트까지 커졌습니다. 서버의 윈도우는 최대 {wnd}바이트"
               f"였으므로 최대 크기 세그먼트는 {wnd // smss}개까지만 전송 중일 수 "
               f"있었습니다.")


# ------------------------------------------------------------------------------ fast retransmit
@basic(
    "fast-retransmit",
    "one segment is lost; three duplicate ACKs trigger fast retransmit, long before the timer",
    en="""
    The client sends 20 segments and the network loses the third. The server still receives
    the segments after it, but it can only acknowledge data up to the hole, so each of them
    makes it send the same acknowledgment number again at once: duplicate ACKs. One duplicate
    ACK may just mean reordering; the third one is taken as a loss (RFC 5681 §3.2): the client
    retransmits the missing segment at once (fast retransmit), one round trip after the loss,
    instead of waiting for its retransmission timer (at least 200 ms). It also reacts to the
    congestion that the loss signals: ssthresh drops (to 0.7 of the data in flight with CUBIC,
    to half with Reno) and fast recovery keeps data flowing while the hole is repaired. When
    the retransmission arrives, the server's ACK jumps over everything it had buffered.
    """,
    ko="""
    클라이언트가 세그먼트 20개를 보내고, 네트워크가 세 번째를 잃어버립니다. 서버는 그 뒤의
    세그먼트들을 받지만 빈 곳 앞까지만 확인 응답할 수 있으므로, 세그먼트가 올 때마다 같은 확인
    응답 번호를 곧바로 다시 보냅니다. 이것이 중복 ACK(duplicate ACK)입니다. 중복 ACK 하나는
    순서가 바뀐 것일 수도 있지만, 세 번째 중복 ACK는 손실로 봅니다(RFC 5681 §3.2). 클라이언트는
    재전송 타이머(최소 200ms)를 기다리지 않고, 손실 후 한 번의 왕복 만에 빠진 세그먼트를 곧바로
    다시 보냅니다. 이것이 빠른 재전송(fast retransmit)입니다. 손실은 혼잡의 신호이므로
    혼잡 제어도 반응합니다. ssthresh가 줄어들고(CUBIC은 전송 중인 데이터의 0.7, Reno는 절반),
    빠른 회복(fast recovery)이 빈 곳을 고치는 동안에도 데이터가 계속 흐르게 합니다. 재전송된
    세그먼트가 도착하면 서버의 ACK는 그동안 버퍼에 쌓아 둔 데이터를 모두 건너뛰어 확인합니다.
    """,
)
def fast_retransmit(r) -> None:
    server, client, conn = _connected(r)
    seen = [0]

    def third_data_segment(p) -> bool:
        if p.src_host == CLIENT and p.seg is not None and p.seg.payload:
            seen[0] += 1
            return seen[0] == 3
        return False

    r.net.drop_if(third_data_segment, count=1)
    size = 20 * client.connection.snd_mss
    cc = _cc_name(client)
    client.sendall(_payload(size))
    got = _read(conn, size)
    _close(r, server, client, conn)
    first = _data(r, retransmit=False)
    retx = _data(r, retransmit=True)
    dup = [e for e in r.sent(SERVER) if not e.seg.payload and not e.seg.flags & 0x03]
    if len(first) >= 3 and retx:
        lost = first[2]
        fr = retx[0]
        r.note(f"The third data segment (left at {duration(lost.t)}) was lost; the client sent it again at "
               f"{duration(fr.t)} ({fr.cause}), {duration(fr.t - lost.t)} later; the server read {len(got)} bytes.",
               f"세 번째 데이터 세그먼트({kdur(lost.t)}에 나감)가 손실되었고, 클라이언트는 "
               f"{kdur(fr.t - lost.t)} 뒤인 {kdur(fr.t)}에 다시 보냈습니다({fr.cause}). 서버는 "
               f"{len(got)}바이트를 읽었습니다.")
    acks = [e.seg.ack for e in dup]
    dups = max((acks.count(a) - 1 for a in set(acks)), default=0)
    rtos = [e for e in r.events if type(e) is TimerFired and e.host == CLIENT and e.name == "rto"]
    r.note(f"The server sent {dups} duplicate ACKs of the same number; the client's retransmission timer "
           f"fired {len(rtos)} times.",
           f"서버는 같은 번호의 중복 ACK를 {dups}번 보냈고, 클라이언트의 재전송 타이머는 {len(rtos)}번 "
           f"만료되었습니다.")
    events = [e for e in _cwnd(r) if e.cause == "fast-retransmit"]
    if events:
        e = events[0]
        r.note(f"At the fast retransmit, ssthresh became {e.ssthresh} bytes ({cc}) "
               f"with {e.flight_size} bytes in flight.",
               f"빠른 재전송 때 ssthresh는 {e.ssthresh}바이트가 되었습니다({cc}, "
               f"전송 중이던 데이터 {e.flight_size}바이트).")


# ------------------------------------------------------------------------------ SACK recovery
@basic(
    "sack-recovery",
    "three segments of one window are lost: SACK repairs them in one round trip (NewReno: one per RTT)",
    en="""
    The client sends 30 segments and the network loses the 3rd, 5th and 7th. Cumulative ACKs
    can only say "everything up to the first hole arrived": after the fast retransmit of the
    first lost segment, the next ACK reveals the second hole, and so on. That is NewReno's
    recovery (RFC 6582): one hole per round trip, each partial ACK answered by retransmitting
    the next missing segment, without waiting for the timer. With selective acknowledgments
    (SACK, RFC 2018), negotiated in the SYNs by the SACK-permitted option, each duplicate ACK
    also lists the blocks that did arrive beyond the hole, so the sender knows every hole at
    once and repairs them all in about one round trip (RFC 6675). The notes say which of the
    two happened in this run: SACK is used only when both ends offer it.
    """,
    ko="""
    클라이언트가 세그먼트 30개를 보내고, 네트워크가 3번째, 5번째, 7번째를 잃어버립니다. 누적
    확인 응답(cumulative ACK)은 "첫 번째 빈 곳 앞까지 모두 도착했다"고만 말할 수 있습니다. 첫 번째
    손실 세그먼트를 빠르게 재전송한 뒤, 다음 ACK가 두 번째 빈 곳을 드러내는 식입니다. 이것이
    NewReno의 회복 방식입니다(RFC 6582). 왕복 시간마다 빈 곳을 하나씩, 부분 ACK(partial ACK)가
    올 때마다 다음 빠진 세그먼트를 타이머를 기다리지 않고 재전송합니다. 선택적 확인 응답(SACK,
    RFC 2018)은 SYN의 SACK-permitted 옵션으로 협상하며, 중복 ACK마다 빈 곳 너머에 도착한 블록도
    알려 줍니다. 송신자는 모든 빈 곳을 한꺼번에 알고 한 번의 왕복 안에 모두 고칩니다(RFC 6675).
    이번 실행에서 둘 중 어느 쪽이 일어났는지는 아래 메모에 나옵니다. SACK는 양쪽이 모두 제안할
    때만 쓰입니다.
    """,
)
def sack_recovery(r) -> None:
    server, client, conn = _connected(r)
    seen = [0]
    lose = {3, 5, 7}

    def chosen(p) -> bool:
        if p.src_host == CLIENT and p.seg is not None and p.seg.payload:
            seen[0] += 1
            return seen[0] in lose
        return False

    r.net.drop_if(chosen, count=len(lose))
    size = 30 * client.connection.snd_mss
    client.sendall(_payload(size))
    got = _read(conn, size)
    _close(r, server, client, conn)
    syns = [e for e in r.events if e.event == "send" and e.seg.flags & 0x02]
    sack_ok = len(syns) >= 2 and all(any(isinstance(o, SackPermitted) for o in e.seg.options)
                                     for e in syns[:2])
    blocks = [e for e in r.sent(SERVER) if any(isinstance(o, Sack) for o in e.seg.options)]
    retx = _data(r, retransmit=True)
    rtos = [e for e in r.events if type(e) is TimerFired and e.host == CLIENT and e.name == "rto"]
    if sack_ok:
        r.note(f"SACK was negotiated: the server sent {len(blocks)} ACKs with SACK blocks.",
               f"SACK가 협상되었습니다. 서버는 SACK 블록을 담은 ACK를 {len(blocks)}번 보냈습니다.")
    else:
        r.note("SACK was not negotiated (this synack does not offer SACK-permitted), so the client "
               "recovered as NewReno does: one hole per round trip.",
               "SACK가 협상되지 않았으므로(이 synack은 SACK-permitted를 제안하지 않음) 클라이언트는 "
               "NewReno 방식으로, 왕복 시간마다 빈 곳을 하나씩 회복했습니다.")
    if retx:
        span = retx[-1].t - retx[0].t
        causes = ", ".join(sorted({str(e.cause) for e in retx}))
        if span == 0:
            when_en, when_ko = f"all at {duration(retx[0].t)}", f"모두 {kdur(retx[0].t)}에"
        else:
            when_en = f"between {duration(retx[0].t)} and {duration(retx[-1].t)} ({duration(span)})"
            when_ko = f"{kdur(retx[0].t)}부터 {kdur(retx[-1].t)}까지({kdur(span)})"
        r.note(f"{len(retx)} retransmissions ({causes}), {when_en}; the round trip is "
               f"{duration(2 * r.opts.delay)}; the retransmission timer fired {len(rtos)} times; the server "
               f"read {len(got)} bytes.",
               f"재전송 {len(retx)}번({causes})이 {when_ko} 있었습니다. 왕복 시간은 "
               f"{kdur(2 * r.opts.delay)}이고, 재전송 타이머는 {len(rtos)}번 만료되었으며, 서버는 "
               f"{len(got)}바이트를 읽었습니다.")


# ------------------------------------------------------------------------------ zero window
ZERO_WINDOW_BUF = 4 * 1460


@basic(
    "zero-window",
    "the receiver stops reading: its window closes, the sender probes, and resumes when it reads",
    en="""
    Flow control protects the receiver, not the network. The server's receive buffer here is
    small (5840 bytes) and its application does not read for two seconds. Every ACK carries
    the window: how many more bytes the server can take. As the buffer fills, the window
    shrinks, and when it is full the server advertises a window of zero; the client must stop
    sending even though it has data and its congestion window would allow it. A window
    update could be lost, so the client does not just wait: its persist timer sends a
    zero-window probe now and then (RFC 9293 §3.8.6.1), backing off exponentially, and the
    server answers each one with its current window. The connection stays open as long as the
    probes are answered. When the application reads, the window opens, the server sends a
    window update, and the transfer continues where it stopped.
    """,
    ko="""
    흐름 제어(flow control)는 네트워크가 아니라 수신자를 보호합니다. 여기서 서버의 수신 버퍼는
    작고(5840바이트) 서버 애플리케이션은 2초 동안 읽지 않습니다. 모든 ACK에는 윈도우, 곧 서버가
    더 받을 수 있는 바이트 수가 실려 있습니다. 버퍼가 차면서 윈도우가 줄어들고, 가득 차면 서버는
    0 윈도우(zero window)를 알립니다. 클라이언트는 보낼 데이터가 있고 혼잡 윈도우가 허락해도
    보내기를 멈춰야 합니다. 윈도우 갱신(window update)이 유실될 수도 있으므로 클라이언트는 그냥
    기다리지 않고, 지속 타이머(persist timer)로 가끔 0 윈도우 탐색(zero-window probe)을 보냅니다
    (RFC 9293 §3.8.6.1). 간격은 지수적으로 늘어나고, 서버는 탐색마다 현재 윈도우로 답합니다.
    탐색에 답이 오는 한 연결은 열려 있습니다. 애플리케이션이 읽으면 윈도우가 열리고, 서버가 윈도우
    갱신을 보내며, 전송은 멈춘 곳에서 이어집니다.
    """,
    hosts=lambda: ((CLIENT, CLIENT_ADDR), (SERVER, SERVER_ADDR, {"config": TcpConfig(rcv_buf=ZERO_WINDOW_BUF)})),
)
def zero_window(r) -> None:
    server, client, conn = _connected(r)
    size = 5 * ZERO_WINDOW_BUF
    client.sendall(_payload(size))
    api.sleep(r.net, 2.0)                 # the server's application does not read
    got = _read(conn, size)
    _close(r, server, client, conn)
    zero = [e for e in r.sent(SERVER) if e.seg.wnd == 0 and not e.seg.flags & 0x04]
    probes = [e for e in r.sent(CLIENT) if e.cause == "zero-window-probe"]
    if zero:
        r.note(f"The server first advertised a zero window at {duration(zero[0].t)}.",
               f"서버는 {kdur(zero[0].t)}에 처음으로 0 윈도우를 알렸습니다.")
    if probes:
        times = ", ".join(duration(e.t) for e in probes)
        r.note(f"The client sent {len(probes)} zero-window probes, at {times}: each wait longer than the last.",
               f"클라이언트는 0 윈도우 탐색을 {len(probes)}번 보냈습니다({times}). 간격은 점점 길어집니다.",)
    reopened = [e for e in r.sent(SERVER) if zero and e.t > zero[-1].t and e.seg.wnd > 0]
    if reopened:
        r.note(f"After the application read, the window update at {duration(reopened[0].t)} offered "
               f"{reopened[0].seg.wnd} bytes; the server read {len(got)} of {size} bytes in all.",
               f"애플리케이션이 읽은 뒤 {kdur(reopened[0].t)}의 윈도우 갱신이 {reopened[0].seg.wnd}바이트를 "
               f"알렸고, 서버는 모두 {size}바이트 중 {len(got)}바이트를 읽었습니다.")


# ------------------------------------------------------------------------------ delayed ACK
@basic(
    "delayed-ack",
    "delayed ACKs: a lone segment is acknowledged 40 ms later, a burst of full segments at once",
    en="""
    A receiver need not acknowledge every segment at once (RFC 9293 §3.8.6.3, RFC 5681 §4.2):
    it may wait, in the hope of sending the ACK together with data of its own or of covering
    two segments with one ACK. Linux acknowledges the first segments of a connection at once
    all the same (quick-ACK mode), so the server's application asks for delayed ACKs with
    TCP_QUICKACK = 0, before each part, since the delayed-ACK timer ends that mode when it
    fires. First the client sends a single small segment and the server's application sends
    nothing back: the ACK waits for the delayed-ACK timer (40 ms here, always under 500 ms).
    Then the client sends four full-sized segments, which arrive together: the server takes
    in all four, then acknowledges them at once with one ACK (RFC 9293 §3.10.7.4), because a
    delay must not hold back the ACK of two full segments. Last, the
    client sends a request and the server's application answers at once: the ACK travels in
    the reply itself (piggybacking), no separate ACK is needed.
    """,
    ko="""
    수신자는 모든 세그먼트에 곧바로 확인 응답할 필요가 없습니다(RFC 9293 §3.8.6.3, RFC 5681
    §4.2). 자기 데이터와 함께 ACK를 보내거나 ACK 하나로 세그먼트 두 개를 확인하려고 기다릴 수
    있습니다. 이것이 지연 ACK(delayed ACK)입니다. 그래도 리눅스는 연결의 첫 세그먼트들에는 곧바로
    확인 응답하므로(quick-ACK 모드), 서버 애플리케이션은 부분마다 TCP_QUICKACK = 0으로 지연 ACK를
    청합니다. 지연 ACK 타이머가 울리면 그 모드가 끝나기 때문입니다. 먼저 클라이언트가 작은 세그먼트 하나를 보내고
    서버 애플리케이션은 아무것도 돌려보내지 않습니다. ACK는 지연 ACK 타이머(여기서는 40ms,
    언제나 500ms 미만)를 기다립니다. 다음으로 클라이언트가 최대 크기 세그먼트 네 개를 보내면
    한꺼번에 도착하고, 서버는 네 개를 모두 받아들인 뒤 ACK 하나로 곧바로 확인합니다(RFC 9293
    §3.10.7.4). 최대 크기 세그먼트 두 개의 ACK는 미루면 안 되기 때문입니다.
    마지막으로 클라이언트가 요청을 보내고 서버 애플리케이션이 곧바로 응답하면, ACK는
    응답 세그먼트에 함께 실려 갑니다(piggybacking). 따로 ACK를 보낼 필요가 없습니다.
    """,
)
def delayed_ack(r) -> None:
    server, client, conn = _connected(r)
    mss = client.connection.cc.smss       # a full segment's payload (the MSS less options)
    # 1. one small segment, nothing to send back: the ACK waits for the timer.
    t0 = r.net.now
    conn.setsockopt(api.IPPROTO_TCP, api.TCP_QUICKACK, 0)  # no quick ACKs at the start (Linux)
    client.sendall(b"x" * 100)
    conn.recv(100)
    api.sleep(r.net, 0.2)
    # 2. four full segments, arriving together: one ACK for all four, at once.
    t1 = r.net.now
    conn.setsockopt(api.IPPROTO_TCP, api.TCP_QUICKACK, 0)  # (the timer ended ping-pong mode)
    client.setsockopt(api.IPPROTO_TCP, api.TCP_NODELAY, 1)
    client.sendall(_payload(4 * mss))
    _read(conn, 4 * mss)
    api.sleep(r.net, 0.2)
    # 3. a request answered at once: the ACK rides on the reply.
    t2 = r.net.now
    client.sendall(b"GET /\r\n")
    conn.recv(100)
    conn.sendall(b"200 OK\r\n")
    client.recv(100)
    api.sleep(r.net, 0.2)
    _close(r, server, client, conn)
    acks = [e for e in r.sent(SERVER) if not e.seg.payload and not e.seg.flags & 0x07]
    recv = [e for e in r.events if e.event == "recv" and e.host == SERVER and e.seg.payload]
    lone = [e for e in recv if t0 <= e.t < t1]
    first_ack = [e for e in acks if lone and e.t >= lone[0].t]
    if lone and first_ack:
        delay = first_ack[0].t - lone[0].t
        r.note(f"The lone 100-byte segment arrived at {duration(lone[0].t)}; its ACK left "
               f"{duration(delay)} later.",
               f"100바이트 세그먼트 하나가 {kdur(lone[0].t)}에 도착했고, 그 ACK는 {kdur(delay)} 뒤에 "
               f"나갔습니다.")
    full = [e for e in recv if t1 <= e.t < t2]
    at_once = [e for e in acks if t1 <= e.t < t2 and any(e.t == f.t for f in full)]
    if full:
        r.note(f"Of the {len(full)} full segments, {len(at_once)} ACKs left the moment a segment arrived.",
               f"최대 크기 세그먼트 {len(full)}개에 대해 ACK {len(at_once)}개가 세그먼트가 도착한 바로 그 "
               f"순간에 나갔습니다.")
    reply = [e for e in r.sent(SERVER) if e.t >= t2 and e.seg.payload]
    if reply:
        bare = [e for e in acks if t2 <= e.t <= reply[0].t]
        r.note(f"The reply at {duration(reply[0].t)} carried the ACK of the request "
               f"({'and no separate ACK was sent' if not bare else f'after {len(bare)} bare ACK'}).",
               f"{kdur(reply[0].t)}의 응답이 요청에 대한 ACK를 함께 실어 갔습니다"
               f"({'따로 보낸 ACK 없음' if not bare else f'그 전에 ACK만 {len(bare)}번'}).")


# ------------------------------------------------------------------------------ Nagle
@basic(
    "nagle",
    "Nagle's algorithm: ten small writes become few segments; TCP_NODELAY sends each at once",
    en="""
    The client writes ten pieces of 100 bytes, one after another, twice: first with Nagle's
    algorithm (the default), then on a second connection with TCP_NODELAY. Nagle's rule (RFC
    9293 §3.7.4): while data is in flight and unacknowledged, do not send a segment smaller
    than the maximum; collect the small writes and send them together when the ACK comes. So
    the first 100 bytes leave at once, the other 900 wait for its ACK and then leave in one
    segment: two segments instead of ten. The wait is one round trip here, because Linux
    acknowledges the first segments of a connection at once (quick-ACK mode); later in a
    connection the server delays its ACK (delayed ACK) and the two mechanisms together add
    up to 40 ms, which is why interactive programs turn Nagle off. With TCP_NODELAY every write becomes
    its own segment at once: ten small segments, more headers, no waiting.
    """,
    ko="""
    클라이언트가 100바이트짜리 조각 열 개를 연달아 씁니다. 두 번 합니다. 처음에는 네이글
    알고리즘(Nagle's algorithm, 기본값)을 켠 채로, 다음에는 두 번째 연결에서 TCP_NODELAY를 켜고
    씁니다. 네이글 규칙(RFC 9293 §3.7.4): 확인 응답을 받지 못한 데이터가 전송 중이면 최대 크기보다
    작은 세그먼트를 보내지 않고, 작은 쓰기들을 모았다가 ACK가 오면 한꺼번에 보냅니다. 그래서 첫
    100바이트는 곧바로 나가고, 나머지 900바이트는 그 ACK를 기다렸다가 세그먼트 하나로 나갑니다.
    열 개가 아니라 두 개입니다. 리눅스는 연결의 첫 세그먼트들에 곧바로 확인 응답하므로(quick-ACK
    모드) 여기서 기다림은 한 번의 왕복입니다. 연결 중간에는 서버가 ACK를 미루기(지연 ACK) 때문에
    두 메커니즘이 겹치면 최대 40ms가 더 걸리고, 그래서 대화형 프로그램은 네이글 알고리즘을
    끕니다. TCP_NODELAY를 켜면 쓰기마다 곧바로 세그먼트 하나가 됩니다. 작은 세그먼트 열 개,
    헤더는 더 많지만 기다림은 없습니다.
    """,
)
def nagle(r) -> None:
    results = []
    for nodelay in (False, True):
        server, client, conn = _connected(r, [(api.IPPROTO_TCP, api.TCP_NODELAY, 1)] if nodelay else None)
        start = r.net.now
        for i in range(10):
            client.send(bytes([0x30 + i]) * 100)
        got = _read(conn, 1000)
        done = r.net.now
        cid = client.connection.cid
        segs = [e for e in r.sent(CLIENT) if e.conn == cid and e.seg.payload]
        results.append((len(segs), done - start, len(got)))
        _close(r, server, client, conn)
    (n1, t1, g1), (n2, t2, g2) = results
    r.note(f"With Nagle: {n1} segments carried the {g1} bytes, all read {duration(t1)} after the first write.",
           f"네이글 알고리즘: 세그먼트 {n1}개가 {g1}바이트를 실어 갔고, 첫 쓰기 후 {kdur(t1)} 만에 모두 "
           f"읽혔습니다.")
    r.note(f"With TCP_NODELAY: {n2} segments, all read {duration(t2)} after the first write.",
           f"TCP_NODELAY: 세그먼트 {n2}개, 첫 쓰기 후 {kdur(t2)} 만에 모두 읽혔습니다.")


__all__ = ["delayed_ack", "fast_retransmit", "nagle", "sack_recovery", "slow_start", "zero_window"]
