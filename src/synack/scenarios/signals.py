"""Signals beside the byte stream: Explicit Congestion Notification and urgent data.

``ecn``: the client asks for ECN in its SYN (ECE and CWR set, RFC 3168 §6.1.1), the server
agrees (ECE on its SYN,ACK), data then carries ECT(0) in its IP header, and a router on the
way marks some packets Congestion Experienced instead of dropping them. The receiver echoes
the mark with ECE on its ACKs until the sender answers with CWR, having halved its
congestion window once: congestion seen, nothing lost, nothing retransmitted.

``urgent``: the client sends data, then one octet with MSG_OOB; the segment carries the URG
flag and the urgent pointer (RFC 9293 §3.8.5). The server reads the normal data, and the
urgent octet apart with recv(1, MSG_OOB), as Linux does.
"""

from __future__ import annotations

from .. import api
from ..tcp.config import TcpConfig
from ..trace.events import CongestionChanged, SegmentSent
from ..wire.tcp import CWR, ECE, URG
from .basics import CLIENT, CLIENT_ADDR, SERVER, SERVER_ADDR, _Run, basic, duration, kdur

#: the discard service (RFC 863): bulk data nobody answers
PORT = 9
ECN_DATA = 60 * 1448


def _ecn_hosts() -> tuple:
    cfg = TcpConfig(ecn="on")
    return ((CLIENT, CLIENT_ADDR, {"config": cfg}), (SERVER, SERVER_ADDR, {"config": cfg}))


@basic(
    "ecn",
    "Explicit Congestion Notification: a router marks packets instead of dropping them; ECE and CWR answer",
    en="""
    Both ends negotiate ECN in the handshake: the client's SYN carries ECE and CWR (flags SEW:
    "I can do ECN"), and the server's SYN,ACK carries ECE (S.E). From then on the client's data
    packets are marked ECN-capable (ECT) in their IP header. When a router's queue fills, it
    may mark such a packet Congestion Experienced (CE) instead of dropping it. The receiving
    TCP sees the mark and sets ECE on every ACK it sends (flags .E) until the sender confirms.
    The sender reacts as to a loss, once per window: it halves its congestion window and sets
    CWR (Congestion Window Reduced, flags .W) on its next new segment, and the receiver stops
    echoing. Congestion was signalled and answered without a single segment lost or sent twice
    (RFC 3168).
    """,
    ko="""
    양쪽은 핸드셰이크에서 ECN을 협상합니다. 클라이언트의 SYN에는 ECE와 CWR이 켜져 있고(플래그
    SEW: "ECN을 쓸 수 있다"), 서버의 SYN,ACK에는 ECE가 켜져 있습니다(S.E). 그 뒤로 클라이언트의
    데이터 패킷은 IP 헤더에 ECN 가능(ECT) 표시를 답니다. 라우터의 큐가 차면 그런 패킷을 버리는
    대신 혼잡 경험(CE)으로 표시할 수 있습니다. 받는 쪽 TCP는 그 표시를 보고 송신자가 확인할 때까지
    보내는 모든 ACK에 ECE를 켭니다(플래그 .E). 송신자는 윈도우마다 한 번, 손실이 난 것처럼
    반응합니다. 혼잡 윈도우(cwnd)를 절반으로 줄이고 다음 새 세그먼트에 CWR(혼잡 윈도우 줄임,
    플래그 .W)을 켜면 수신자는 ECE를 멈춥니다. 세그먼트 하나 잃지 않고, 다시 보내지도 않고 혼잡을
    알리고 대응한 것입니다(RFC 3168).
    """,
    hosts=_ecn_hosts,
)
def ecn(r: _Run) -> None:
    r.net.path(CLIENT, SERVER).ecn_mark = 0.05
    server = api.create_server(r.net, SERVER, (SERVER_ADDR, PORT))
    client = api.create_connection(r.net, CLIENT, (SERVER_ADDR, PORT))
    conn, _ = server.accept()
    client.sendall(bytes(ECN_DATA))
    got = 0
    while got < ECN_DATA:
        chunk = conn.recv(65536)
        if not chunk:
            break
        got += len(chunk)
    client.close()
    while conn.recv(65536):
        pass
    conn.close()
    server.close()
    r.finish()
    sent = r.sent()
    syn = next((e for e in sent if e.host == CLIENT and e.seg.flags & 0x02), None)
    if syn is not None and syn.seg.flags & ECE and syn.seg.flags & CWR:
        r.note("The client's SYN asked for ECN (ECE and CWR set).", "클라이언트의 SYN이 ECN을 요청했습니다(ECE와 CWR).")
    ece = [e for e in sent if e.host == SERVER and e.seg.flags & ECE and not e.seg.flags & 0x02]
    cwr = [e for e in sent if e.host == CLIENT and e.seg.flags & CWR and not e.seg.flags & 0x02]
    cuts = [e for e in r.events if isinstance(e, CongestionChanged) and e.host == CLIENT and e.cause == "ecn"]
    rtx = sum(1 for e in sent if isinstance(e, SegmentSent) and e.retransmit)
    r.note(f"The path marked {r.net.ce_marked} packets CE; the server sent {len(ece)} ACKs with ECE; the client "
           f"cut its window {len(cuts)} times" + (f" (first at {duration(cuts[0].t)}, cwnd {cuts[0].cwnd} octets)"
                                                 if cuts else "")
           + f" and sent {len(cwr)} segments with CWR; {rtx} retransmissions.",
           f"경로가 패킷 {r.net.ce_marked}개를 CE로 표시했고, 서버는 ECE를 켠 ACK {len(ece)}개를 보냈으며, "
           f"클라이언트는 윈도우를 {len(cuts)}번 줄이고" + (f"(처음은 {kdur(cuts[0].t)}, cwnd {cuts[0].cwnd}바이트)"
                                                       if cuts else "")
           + f" CWR을 켠 세그먼트 {len(cwr)}개를 보냈습니다. 재전송은 {rtx}번입니다.")


@basic(
    "urgent",
    "urgent data: send(b'!', MSG_OOB) sets URG and the urgent pointer; the server reads it apart",
    en="""
    TCP has one way to say "read this first": urgent data (RFC 9293 §3.8.5). The client sends
    ordinary data, then one octet with the MSG_OOB flag. Its segment carries the URG flag and
    the urgent pointer, which points at the end of the urgent data (here, the octet just sent;
    the label shows it as "urg"). The octet still travels in order in the byte stream: TCP has
    no second channel. What changes is how the receiver hands it over. Like Linux, synack
    takes the last urgent octet out of the stream, and the application reads it apart with
    recv(1, MSG_OOB); the normal data around it reads as usual. Telnet's interrupt and FTP's
    abort used this; RFC 6093 advises new applications not to.
    """,
    ko="""
    TCP에는 "이것부터 읽어라"라고 말하는 방법이 하나 있습니다. 긴급 데이터(urgent data, RFC 9293
    §3.8.5)입니다. 클라이언트는 보통 데이터를 보낸 뒤 MSG_OOB 플래그와 함께 1바이트를 보냅니다.
    그 세그먼트에는 URG 플래그와 긴급 포인터가 실리며, 긴급 포인터는 긴급 데이터의 끝(여기서는 방금
    보낸 바이트)을 가리킵니다. 레이블에서는 "urg"로 보입니다. 그 바이트도 바이트 스트림 안에서
    순서대로 전달됩니다. TCP에는 두 번째 통로가 없습니다. 달라지는 것은 수신자가 넘겨주는
    방식입니다. synack은 Linux처럼 마지막 긴급 바이트를 스트림에서 빼내고, 애플리케이션은 그것을
    recv(1, MSG_OOB)로 따로 읽습니다. 나머지 데이터는 평소처럼 읽힙니다. 텔넷의 인터럽트와 FTP의
    중단이 이것을 썼고, RFC 6093은 새 애플리케이션에는 쓰지 말라고 권합니다.
    """,
)
def urgent(r: _Run) -> None:
    server = api.create_server(r.net, SERVER, (SERVER_ADDR, PORT))
    client = api.create_connection(r.net, CLIENT, (SERVER_ADDR, PORT))
    conn, _ = server.accept()
    client.sendall(b"ordinary data")
    api.sleep(r.net, 0.05)
    client.send(b"!", api.MSG_OOB)
    api.sleep(r.net, 0.05)
    normal = conn.recv(100)
    oob = conn.recv(1, api.MSG_OOB)
    client.close()
    while conn.recv(100):
        pass
    conn.close()
    server.close()
    r.finish()
    urg = next((e for e in r.sent(CLIENT) if e.seg.flags & URG), None)
    if urg is not None:
        r.note(f"The urgent segment left at {duration(urg.t)} with URG and urgent pointer {urg.seg.urg_ptr}.",
               f"긴급 세그먼트는 {kdur(urg.t)}에 URG와 긴급 포인터 {urg.seg.urg_ptr}를 싣고 나갔습니다.")
    r.note(f"The server read {normal!r} as normal data and {oob!r} with recv(1, MSG_OOB).",
           f"서버는 일반 데이터로 {normal!r}를, recv(1, MSG_OOB)로 {oob!r}를 읽었습니다.")
