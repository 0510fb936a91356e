"""The seeds' last two topics: the web path, and sockets vs ports vs connections.

``web``: what happens after you type a URL. The client asks a resolver for the server's
address with DNS over TCP (RFC 7766; messages built and parsed by dnspython, each framed by
a two-octet length as RFC 1035 §4.2.2 says), then opens a second connection to that address
and fetches the page over HTTP/1.1 (RFC 9112, spoken by h11 on both ends). Both connections
are on one ladder: resolver, client, server.

``ports``: one listening socket on port 7 (echo, RFC 862), three connections to it from two
hosts. Every connection has the same server port; what tells them apart is the 4-tuple
(client address, client port, server address, server port), and the client ports are
ephemeral ones the clients' stacks picked.
"""

from __future__ import annotations

import struct

from .. import api
from .basics import _Run, basic, duration, kdur

RESOLVER, CLIENT, SERVER = "resolver", "client", "server"
RESOLVER_ADDR, CLIENT_ADDR, SERVER_ADDR = "10.0.0.53", "10.0.0.1", "10.0.0.2"
NAME = "www.example.test"
PAGE = (b"<!doctype html>\n<html><head><title>synack</title></head>\n"
        b"<body><h1>Hello from synack</h1><p>It came over TCP.</p></body></html>\n")


def _web_hosts() -> tuple:
    return ((CLIENT, CLIENT_ADDR), (RESOLVER, RESOLVER_ADDR), (SERVER, SERVER_ADDR))


def _recv_exactly(sock, n: int) -> bytes:
    got = bytearray()
    while len(got) < n:
        chunk = sock.recv(n - len(got))
        if not chunk:
            raise ConnectionResetError(f"the stream ended after {len(got)} of {n} octets")
        got += chunk
    return bytes(got)


def _dns_over_tcp(r: _Run) -> tuple[str, int, int]:
    """One A query and its answer over TCP; returns (address, message size, when answered)."""
    import dns.message
    import dns.rdatatype
    import dns.rrset

    listener = api.create_server(r.net, RESOLVER, (RESOLVER_ADDR, 53))
    client = api.create_connection(r.net, CLIENT, (RESOLVER_ADDR, 53))
    conn, _ = listener.accept()
    query = dns.message.make_query(NAME, "A", id=0x5ac)
    wire = query.to_wire()
    client.sendall(struct.pack("!H", len(wire)) + wire)         # RFC 1035 §4.2.2: length, message
    (n,) = struct.unpack("!H", _recv_exactly(conn, 2))
    asked = dns.message.from_wire(_recv_exactly(conn, n))
    answer = dns.message.make_response(asked)
    answer.answer.append(dns.rrset.from_text(NAME + ".", 300, "IN", "A", SERVER_ADDR))
    out = answer.to_wire()
    conn.sendall(struct.pack("!H", len(out)) + out)
    (m,) = struct.unpack("!H", _recv_exactly(client, 2))
    reply = dns.message.from_wire(_recv_exactly(client, m))
    when = r.net.now
    addr = next(rd.address for rrset in reply.answer for rd in rrset if rd.rdtype == dns.rdatatype.A)
    client.close()
    conn.recv(1)                                                 # the client's FIN
    conn.close()
    listener.close()
    return addr, len(wire), when


def _http_get(r: _Run, addr: str) -> tuple[int, int, int]:
    """GET / over HTTP/1.1 with h11 on both ends; returns (status, body size, when complete)."""
    import h11

    listener = api.create_server(r.net, SERVER, (SERVER_ADDR, 80))
    client = api.create_connection(r.net, CLIENT, (addr, 80))
    conn, _ = listener.accept()
    browser = h11.Connection(h11.CLIENT)
    web = h11.Connection(h11.SERVER)
    request = browser.send(h11.Request(method="GET", target="/", headers=[
        ("Host", NAME), ("User-Agent", "synack"), ("Accept", "text/html"), ("Connection", "close")]))
    client.sendall(request + (browser.send(h11.EndOfMessage()) or b""))
    while True:                                                  # the server reads the request
        ev = web.next_event()
        if ev is h11.NEED_DATA:
            web.receive_data(conn.recv(4096))
        elif isinstance(ev, h11.EndOfMessage):
            break
    conn.sendall(web.send(h11.Response(status_code=200, headers=[
        ("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(PAGE))),
        ("Connection", "close")])) + web.send(h11.Data(data=PAGE)) + web.send(h11.EndOfMessage()))
    status, body = 0, b""
    while True:                                                  # the browser reads the response
        ev = browser.next_event()
        if ev is h11.NEED_DATA:
            browser.receive_data(client.recv(4096))
        elif isinstance(ev, h11.Response):
            status = ev.status_code
        elif isinstance(ev, h11.Data):
            body += ev.data
        elif isinstance(ev, h11.EndOfMessage):
            break
    when = r.net.now
    conn.close()                                                 # Connection: close: the server closes first
    while client.recv(4096):
        pass
    client.close()
    listener.close()
    return status, len(body), when


@basic(
    "web",
    "typing a URL: DNS over TCP finds the address, then HTTP/1.1 over a second connection fetches the page",
    en="""
    What happens when you type http://www.example.test/ into a browser. A name is not an
    address, so first the client asks a DNS resolver for the A record of www.example.test.
    DNS usually travels in UDP datagrams, but it also runs over TCP (RFC 7766; always for
    large answers and zone transfers), and that is what this ladder shows: a 3-way handshake
    to port 53, the query as one message preceded by its two-octet length, the answer the
    same way, and a 4-way close. Now the client knows the address, 10.0.0.2. IP carries
    every segment to that address; TCP opens a second connection, to port 80, with its own
    3-way handshake and its own sequence numbers, and HTTP/1.1 runs inside it: the request
    (GET / with a Host header) and the response (200 OK, headers, the page), each ACKed.
    The server closes first (Connection: close), so it is the server that waits in TIME-WAIT.
    Two connections, one after the other, each told apart by its ports.
    """,
    ko="""
    브라우저에 http://www.example.test/ 를 입력하면 일어나는 일입니다. 이름은 주소가 아니므로
    클라이언트는 먼저 DNS 리졸버에게 www.example.test의 A 레코드를 묻습니다. DNS는 보통 UDP
    데이터그램으로 오가지만 TCP로도 동작하며(RFC 7766, 응답이 크거나 존 전송일 때는 항상 TCP),
    이 사다리 그림이 그 경우입니다. 53번 포트로 3-way handshake를 하고, 질의를 2바이트 길이와 함께
    한 메시지로 보내고, 응답도 같은 방식으로 받은 뒤 4-way handshake로 연결을 닫습니다. 이제
    클라이언트는 주소 10.0.0.2를 압니다. IP가 모든 세그먼트를 그 주소로 실어 나르고, TCP는
    80번 포트로 두 번째 연결을 엽니다. 이 연결도 자기만의 3-way handshake와 시퀀스 번호를
    가지며, 그 안에서 HTTP/1.1이 동작합니다. 요청(Host 헤더가 있는 GET /)과 응답(200 OK, 헤더,
    페이지)이 오가고 각각 ACK를 받습니다. 서버가 먼저 닫으므로(Connection: close) TIME-WAIT에서
    기다리는 쪽은 서버입니다. 두 연결이 차례로 열리고, 각 연결은 포트로 구별됩니다.
    """,
    hosts=_web_hosts,
)
def web(r: _Run) -> None:
    addr, qlen, answered = _dns_over_tcp(r)
    r.note(f"DNS over TCP: the query for {NAME} (A) was {qlen} octets; the resolver answered {addr} at "
           f"{duration(answered)}.",
           f"TCP 위의 DNS: {NAME}(A)에 대한 질의는 {qlen}바이트였고, 리졸버는 {kdur(answered)}에 "
           f"{addr}라고 답했습니다.")
    status, size, done = _http_get(r, addr)
    r.note(f"HTTP/1.1: GET / was answered {status} with a {size}-octet page at {duration(done)}, "
           f"{duration(done - answered)} after the address was known.",
           f"HTTP/1.1: GET / 요청에 {kdur(done)}에 {status} 응답과 {size}바이트 페이지가 왔습니다. "
           f"주소를 안 뒤 {kdur(done - answered)} 걸렸습니다.")
    r.finish()
    r.hosts = (RESOLVER, CLIENT, SERVER)
    r.ports = True


# ------------------------------------------------------------------------------ ports
ALICE, BOB = "alice", "bob"
ALICE_ADDR, BOB_ADDR = "10.0.0.1", "10.0.0.3"
ECHO = 7


def _ports_hosts() -> tuple:
    return ((ALICE, ALICE_ADDR), (SERVER, SERVER_ADDR), (BOB, BOB_ADDR))


@basic(
    "ports",
    "one listening port, three connections: each one is told apart by its 4-tuple, with ephemeral client ports",
    en="""
    A port is not a connection. The server has one listening socket, on port 7 (echo); alice
    opens two connections to it and bob one. Every segment to the server carries destination
    port 7, so the port alone cannot say which connection a segment belongs to. TCP names a
    connection by its 4-tuple: source address, source port, destination address, destination
    port (RFC 9293 §3.1). Each client's stack picks an ephemeral port for each connection it
    opens (Linux takes them from 32768-60999), so alice's two connections differ in her port,
    and bob's differs in his address. accept() returns a new socket for each connection; the
    listening socket stays in LISTEN and takes the next SYN. Sockets are what programs hold,
    ports are numbers in the TCP header, connections (sessions) are 4-tuples with their own
    sequence numbers and states, as the state columns and the notes show.
    """,
    ko="""
    포트는 연결이 아닙니다. 서버에는 7번 포트(echo)에서 LISTEN하는 소켓이 하나 있고, alice는
    그 포트로 연결을 두 개, bob은 하나 엽니다. 서버로 가는 모든 세그먼트의 목적지 포트는 7이므로
    포트만으로는 세그먼트가 어느 연결의 것인지 알 수 없습니다. TCP는 연결을 4-튜플(출발지 주소,
    출발지 포트, 목적지 주소, 목적지 포트)로 구별합니다(RFC 9293 §3.1). 클라이언트의 스택은
    연결을 열 때마다 임시 포트(ephemeral port)를 고르므로(Linux는 32768-60999에서 고릅니다)
    alice의 두 연결은 alice 쪽 포트가 다르고, bob의 연결은 주소가 다릅니다. accept()는 연결마다
    새 소켓을 돌려주고, LISTEN 소켓은 그대로 LISTEN 상태로 남아 다음 SYN을 받습니다. 소켓은
    프로그램이 쥐는 것, 포트는 TCP 헤더의 숫자, 연결(세션)은 자기만의 시퀀스 번호와 상태를 가진
    4-튜플입니다. 상태 열과 아래 설명이 그것을 보여 줍니다.
    """,
    hosts=_ports_hosts,
)
def ports(r: _Run) -> None:
    listener = api.create_server(r.net, SERVER, (SERVER_ADDR, ECHO), backlog=8)
    clients = [(ALICE, 1), (ALICE, 2), (BOB, 1)]
    socks = []
    for host, n in clients:
        s = api.create_connection(r.net, host, (SERVER_ADDR, ECHO))
        socks.append((host, n, s))
    accepted = [listener.accept() for _ in clients]
    for host, n, s in socks:
        s.sendall(f"hello from {host} #{n}\n".encode())
    for conn, _ in accepted:
        line = conn.recv(100)
        conn.sendall(line)                                        # echo (RFC 862)
    for _, _, s in socks:
        s.recv(100)
    for host, n, s in socks:
        la, lp = s.getsockname()[:2]
        ra, rp = s.getpeername()[:2]
        r.note(f"{host} #{n}: ({la}, {lp}, {ra}, {rp}): client port {lp} is ephemeral, server port {rp} "
               "is the listener's.",
               f"{host} #{n}: ({la}, {lp}, {ra}, {rp}): 클라이언트 포트 {lp}는 임시 포트이고, 서버 포트 "
               f"{rp}는 LISTEN 소켓의 포트입니다.")
    r.note(f"The server held {len(accepted) + 1} sockets on port {ECHO}: one listening, {len(accepted)} "
           "connected, one for each 4-tuple.",
           f"서버는 {ECHO}번 포트에 소켓 {len(accepted) + 1}개를 가졌습니다: LISTEN 소켓 하나와, 4-튜플마다 "
           f"하나씩 연결된 소켓 {len(accepted)}개.")
    for _, _, s in socks:
        s.close()
    for conn, _ in accepted:
        while conn.recv(100):
            pass
        conn.close()
    listener.close()
    r.finish()
    r.hosts = (ALICE, SERVER, BOB)
    r.ports = True
