"""The blocking socket facade on the simulator: single-threaded client/server scripts,
blocking and timeouts in simulated time, the core's errors as Python's, tracing.

How each error compares with the real kernel is checked in test_kernel_parity.py.
"""

from __future__ import annotations

import errno
import socket as real_socket
import struct

import pytest
from api_helpers import connected_pair, make_net

from synack import api
from synack.tcp.config import TcpConfig
from synack.tcp.state import State
from synack.timeunits import ms, sec
from synack.trace.events import AppCall, SegmentSent
from synack.wire.tcp import FIN, RST, SYN


def sent(net, host=None, flag=None):
    """Segments sent (by ``host``), optionally only those carrying ``flag``."""
    return [e.seg for e in net.recorder.events if isinstance(e, SegmentSent)
            and (host is None or e.host == host) and (flag is None or e.seg.flags & flag)]


# ------------------------------------------------------------------------------ module
def test_constants_are_pythons():
    for name in ("AF_INET", "AF_INET6", "SOCK_STREAM", "SHUT_RD", "SHUT_WR", "SHUT_RDWR",
                 "SOL_SOCKET", "SO_LINGER", "SO_REUSEADDR", "IPPROTO_TCP", "TCP_NODELAY"):
        assert getattr(api, name) == getattr(real_socket, name), name
    assert api.timeout is real_socket.timeout and api.error is OSError
    assert issubclass(api.SimulationIdle, RuntimeError)


def test_construction_by_name_or_host_object(net):
    a = api.socket(net, "client")
    b = api.socket(net, net.hosts["server"], api.AF_INET6)
    assert a.host is net.hosts["client"] and b.host.name == "server"
    assert a.family == real_socket.AF_INET and b.family == real_socket.AF_INET6
    assert a.type == real_socket.SOCK_STREAM and a.proto == 0 and a.net is net
    with pytest.raises(ValueError, match="no host named 'nobody'"):
        api.socket(net, "nobody")
    other = make_net(seed=2)
    with pytest.raises(ValueError, match="not attached"):
        api.socket(net, other.hosts["client"])


def test_constructor_rejects_what_it_cannot_do(net):
    with pytest.raises(OSError) as e:
        api.socket(net, "client", real_socket.AF_UNIX)
    assert e.value.errno == errno.EAFNOSUPPORT
    with pytest.raises(OSError) as e:
        api.socket(net, "client", api.AF_INET, real_socket.SOCK_DGRAM)
    assert e.value.errno == errno.ESOCKTNOSUPPORT
    s = api.socket(net, "client", api.AF_INET, api.SOCK_STREAM | real_socket.SOCK_NONBLOCK)
    assert s.gettimeout() == 0.0 and s.type == real_socket.SOCK_STREAM


def test_fileno_is_stable_positive_and_minus_one_after_close(net):
    a, b = api.socket(net, "client"), api.socket(net, "client")
    fa = a.fileno()
    assert fa > 2 and b.fileno() > fa and a.fileno() == fa
    a.close()
    assert a.fileno() == -1 and b.fileno() != -1


def test_repr_shows_addresses_and_state(pair):
    cli, conn, srv = pair
    r = repr(cli)
    assert r.startswith("<synack.api.socket fd=") and "host='client'" in r
    assert "raddr=('10.0.0.2', 80)" in r and "state=ESTABLISHED" in r
    assert "state=LISTEN" in repr(srv)
    cli.close()
    assert repr(cli).startswith("<synack.api.socket [closed] fd=-1, family=2, type=1, proto=0")


def test_context_manager_closes(net):
    with api.socket(net, "client") as s:
        assert s.fileno() > 0
    assert s.fileno() == -1


# ------------------------------------------------------------------------------ scripts
def test_single_threaded_client_and_server_exchange_data_both_ways_and_close(net):
    server = api.socket(net, "server")
    server.bind(("10.0.0.2", 8080))
    server.listen()
    client = api.socket(net, "client")
    client.connect(("10.0.0.2", 8080))      # blocks: the host's listener completes it
    assert net.now == ms(10)                   # one round trip at 5 ms each way
    conn, addr = server.accept()               # already established: returns at once
    assert addr == client.getsockname() and conn.getpeername() == addr
    assert conn.getsockname() == ("10.0.0.2", 8080)
    client.sendall(b"GET / HTTP/1.0\r\n\r\n")
    assert conn.recv(1024) == b"GET / HTTP/1.0\r\n\r\n"
    conn.sendall(b"HTTP/1.0 200 OK\r\n\r\nhello")
    conn.close()
    reply = b""
    while chunk := client.recv(7):
        reply += chunk
    assert reply == b"HTTP/1.0 200 OK\r\n\r\nhello"
    client.close()
    server.close()
    net.run()
    assert not net.hosts["client"].conns and not net.hosts["server"].conns
    assert len(sent(net, flag=RST)) == 0 and len(sent(net, flag=FIN)) == 2


def test_connection_lives_on_in_the_host_after_close(pair, net):
    cli, conn, srv = pair
    core = cli.connection
    cli.close()
    assert core.state is State.FIN_WAIT_1 and cli.connection is core
    assert conn.recv(10) == b""
    conn.close()
    api.sleep(net, 0.1)
    assert core.state is State.TIME_WAIT        # lives on without its socket
    api.sleep(net, 61)
    assert core.state is State.CLOSED


def test_sendall_larger_than_the_send_buffer_loops_until_accepted():
    net = make_net(config=TcpConfig(snd_buf=4096))
    cli, conn, srv = connected_pair(net)
    data = bytes(range(256)) * 200             # 51200 octets: 12 send buffers
    start = net.now
    cli.sendall(data)
    assert net.now > start                      # it had to wait for ACKs to free the buffer
    got = b""
    while len(got) < len(data):
        got += conn.recv(65536)
    assert got == data


def test_blocking_send_waits_until_the_send_buffer_took_everything():
    net = make_net(config=TcpConfig(snd_buf=4096))
    cli, conn, srv = connected_pair(net)
    assert cli.send(b"x" * 10000) == 10000      # blocking: waits for room, as the kernel does
    assert net.now > ms(10)


def test_send_with_timeout_returns_a_partial_count():
    net = make_net(config=TcpConfig(snd_buf=4096))
    cli, conn, srv = connected_pair(net)
    cli.settimeout(5)
    n = cli.send(b"y" * 10000)
    assert n == 4096
    cli.setblocking(False)
    with pytest.raises(BlockingIOError):
        cli.send(b"z")
    with pytest.raises(BlockingIOError):
        cli.sendall(b"z")
    cli.setblocking(True)
    with pytest.raises(BlockingIOError):
        cli.send(b"z", real_socket.MSG_DONTWAIT)


def test_half_close_the_other_side_keeps_sending_then_closes(pair, net):
    cli, conn, srv = pair
    cli.sendall(b"request")
    cli.shutdown(api.SHUT_WR)                       # FIN: no more from the client
    assert cli.connection.state is State.FIN_WAIT_1
    assert conn.recv(100) == b"request"
    assert conn.recv(100) == b""                   # end of the client's stream
    assert conn.connection.state is State.CLOSE_WAIT
    for i in range(5):                              # the server keeps sending
        conn.sendall(b"part%d;" % i)
    conn.close()
    got = b""
    while chunk := cli.recv(4):
        got += chunk
    assert got == b"part0;part1;part2;part3;part4;"
    with pytest.raises(BrokenPipeError):
        cli.send(b"late")
    assert cli.connection.state is State.TIME_WAIT
    cli.close()


def test_abortive_close_with_so_linger_resets_the_peer(pair, net):
    cli, conn, srv = pair
    cli.setsockopt(api.SOL_SOCKET, api.SO_LINGER, struct.pack("ii", 1, 0))
    cli.sendall(b"unacked maybe")
    cli.close()
    assert cli.connection.state is State.CLOSED
    rsts = sent(net, "client", RST)
    assert len(rsts) == 1 and not sent(net, "client", FIN)
    got = b""
    with pytest.raises(ConnectionResetError) as e:
        while True:
            got += conn.recv(100)
    assert e.value.errno == errno.ECONNRESET and e.value.strerror == "Connection reset by peer"
    assert conn.recv(100) == b""                   # reported once, then end of stream


def test_so_linger_accepts_a_tuple(pair, net):
    cli, conn, srv = pair
    cli.setsockopt(api.SOL_SOCKET, api.SO_LINGER, (1, 0))
    assert cli.getsockopt(api.SOL_SOCKET, api.SO_LINGER, 8) == struct.pack("ii", 1, 0)
    conn.close()                                    # the accepted side: a normal FIN
    cli.close()
    assert sent(net, "client", RST)


def test_so_linger_with_a_time_waits_for_the_fin_to_be_acknowledged(pair, net):
    cli, conn, srv = pair
    cli.setsockopt(api.SOL_SOCKET, api.SO_LINGER, (1, 5))
    start = net.now
    cli.close()
    # one round trip for the FIN and its ACK, which the peer delays by 40 ms (Linux delays
    # the ACK of a FIN, in case its application closes at once and its FIN carries it)
    assert net.now == start + ms(10) + ms(40)
    assert cli.connection.state is State.FIN_WAIT_2


def test_close_with_unread_data_sends_rst(pair, net):
    cli, conn, srv = pair
    cli.sendall(b"never read")
    api.sleep(net, 0.1)
    conn.close()
    assert sent(net, "server", RST) and not sent(net, "server", FIN)
    with pytest.raises(ConnectionResetError):
        cli.recv(10)


def test_closing_a_listener_resets_connections_not_yet_accepted(net):
    srv = api.create_server(net, "server", ("", 80))
    cli = api.create_connection(net, "client", ("10.0.0.2", 80))
    srv.close()
    assert not net.hosts["server"].listeners
    with pytest.raises(ConnectionResetError):
        cli.recv(10)
    again = api.socket(net, "client")
    with pytest.raises(ConnectionRefusedError):
        again.connect(("10.0.0.2", 80))


# ------------------------------------------------------------------------------ connect
def test_connect_to_a_port_with_no_listener_is_refused(net):
    s = api.socket(net, "client")
    with pytest.raises(ConnectionRefusedError) as e:
        s.connect(("10.0.0.2", 9))
    assert e.value.args == (errno.ECONNREFUSED, "Connection refused")
    assert s.connect_ex(("10.0.0.2", 9)) == errno.ECONNREFUSED
    assert s.connection is None


def test_connect_gives_up_at_r2_with_etimedout():
    net = make_net(config=TcpConfig(r2_syn=sec(5)))
    net.drop_if(lambda p: p.seg is not None and p.seg.flags & SYN)
    s = api.socket(net, "client")
    with pytest.raises(TimeoutError) as e:
        s.connect(("10.0.0.2", 80))
    assert e.value.errno == errno.ETIMEDOUT and e.value.strerror == "Connection timed out"
    assert net.now == sec(5)
    assert len(sent(net, "client", SYN)) > 1        # retransmitted before giving up


def test_connect_with_the_default_profile_times_out_as_linux_after_131_s(net):
    net.drop_if(lambda p: p.seg is not None and p.seg.flags & SYN)
    s = api.socket(net, "client")
    assert s.connect_ex(("10.0.0.2", 80)) == errno.ETIMEDOUT
    # the linux profile: 10 SYN retransmissions (tcp_syn_retries 6 + tcp_syn_linear_timeouts 4);
    # the rfc profile retries for R2 = 3 minutes (RFC 9293 §3.8.3 MUST-23)
    assert net.now == sec(131)


def test_connect_with_a_socket_timeout(net):
    net.drop_if(lambda p: p.seg is not None and p.seg.flags & SYN)
    s = api.socket(net, "client")
    s.settimeout(2.5)
    with pytest.raises(TimeoutError) as e:
        s.connect(("10.0.0.2", 80))
    assert e.value.args == ("timed out",) and e.value.errno is None
    assert net.now == ms(2500)
    with pytest.raises(OSError) as busy:              # still in progress
        s.connect(("10.0.0.2", 80))
    assert busy.value.errno == errno.EALREADY
    t = api.socket(net, "client")
    t.settimeout(1)
    assert t.connect_ex(("10.0.0.2", 80)) == errno.EWOULDBLOCK   # as CPython reports it


def test_nonblocking_connect_completes_later(net):
    srv = api.create_server(net, "server", ("", 80))
    s = api.socket(net, "client")
    s.setblocking(False)
    with pytest.raises(BlockingIOError) as e:
        s.connect(("10.0.0.2", 80))
    assert e.value.errno == errno.EINPROGRESS
    with pytest.raises(OSError) as unconnected:
        s.getpeername()
    assert unconnected.value.errno == errno.ENOTCONN
    assert s.connect_ex(("10.0.0.2", 80)) == errno.EALREADY
    with pytest.raises(BlockingIOError):
        s.recv(1)
    with pytest.raises(BlockingIOError):
        s.send(b"x")                                  # SYN-SENT: not yet
    api.sleep(net, 0.05)
    assert s.connect_ex(("10.0.0.2", 80)) == 0       # completion reported once
    assert s.connect_ex(("10.0.0.2", 80)) == errno.EISCONN
    assert s.getpeername() == ("10.0.0.2", 80)
    assert s.getsockopt(api.SOL_SOCKET, api.SO_ERROR) == 0
    srv.close()


def test_a_blocking_connect_waits_for_one_in_progress(net):
    api.create_server(net, "server", ("", 80))
    s = api.socket(net, "client")
    s.setblocking(False)
    s.connect_ex(("10.0.0.2", 80))
    s.setblocking(True)
    s.connect(("10.0.0.2", 80))
    assert s.getpeername() == ("10.0.0.2", 80)


def test_connect_on_a_connected_socket_is_eisconn(pair):
    cli, conn, srv = pair
    with pytest.raises(OSError) as e:
        cli.connect(("10.0.0.2", 80))
    assert e.value.errno == errno.EISCONN
    assert cli.connect_ex(("10.0.0.2", 80)) == errno.EISCONN


def test_connect_resolves_host_names_of_the_network(net):
    api.create_server(net, "server", ("server", 80))
    s = api.create_connection(net, "client", ("server", 80))
    assert s.getpeername() == ("10.0.0.2", 80)
    with pytest.raises(real_socket.gaierror) as e:
        api.socket(net, "client").connect(("nowhere", 80))
    assert e.value.errno == real_socket.EAI_NONAME
    with pytest.raises(real_socket.gaierror) as e:
        api.socket(net, "client", api.AF_INET6).connect(("server", 80))
    assert e.value.errno == real_socket.EAI_NODATA


def test_connect_from_a_bound_address_and_port(net):
    api.create_server(net, "server", ("", 80))
    s = api.socket(net, "client")
    s.bind(("10.0.0.1", 5555))
    s.connect(("10.0.0.2", 80))
    assert s.getsockname() == ("10.0.0.1", 5555)
    assert s.connection.cid == ("10.0.0.1", 5555, "10.0.0.2", 80)


def test_connect_to_the_wildcard_connects_to_the_host_itself(net):
    srv = api.create_server(net, "client", ("", 7))
    s = api.socket(net, "client")
    s.connect(("", 7))
    conn, addr = srv.accept()
    s.sendall(b"self")
    assert conn.recv(10) == b"self" and addr == s.getsockname()


def test_shutdown_while_connecting_abandons_the_open(net):
    net.drop_if(lambda p: p.seg is not None and p.seg.flags & SYN)
    s = api.socket(net, "client")
    s.setblocking(False)
    s.connect_ex(("10.0.0.2", 80))
    s.shutdown(api.SHUT_RDWR)
    assert not net.hosts["client"].conns
    with pytest.raises(OSError) as e:
        s.getpeername()
    assert e.value.errno == errno.ENOTCONN


# ------------------------------------------------------------------------------ bind / listen / accept
def test_bind_checks_addresses_and_ports(net):
    s = api.socket(net, "client")
    with pytest.raises(OSError) as e:
        s.bind(("10.0.0.2", 80))                      # the server's address, not ours
    assert e.value.args == (errno.EADDRNOTAVAIL, "Cannot assign requested address")
    with pytest.raises(OverflowError, match=r"^bind\(\): port must be 0-65535\.$"):
        s.bind(("10.0.0.1", 65536))
    s.bind(("10.0.0.1", 0))
    lo, hi = net.hosts["client"].ephemeral_ports
    assert lo <= s.getsockname()[1] <= hi
    with pytest.raises(OSError) as e:
        s.bind(("10.0.0.1", 0))
    assert e.value.errno == errno.EINVAL
    t = api.socket(net, "client")
    with pytest.raises(OSError) as e:
        t.bind(s.getsockname())
    assert e.value.errno == errno.EADDRINUSE


def test_bind_conflicts_with_a_listener_made_directly_on_the_host(net):
    net.hosts["server"].listen(25, net.now)
    s = api.socket(net, "server")
    s.setsockopt(api.SOL_SOCKET, api.SO_REUSEADDR, 1)
    with pytest.raises(OSError) as e:
        s.bind(("", 25))
    assert e.value.errno == errno.EADDRINUSE


def test_listen_without_bind_picks_a_port(net):
    s = api.socket(net, "server")
    s.listen()
    addr, port = s.getsockname()
    assert addr == "0.0.0.0" and port >= 32768
    c = api.create_connection(net, "client", ("10.0.0.2", port))
    assert s.accept()[1] == c.getsockname()


def test_listen_twice_changes_the_backlog_and_the_backlog_bounds_the_queue(net):
    srv = api.socket(net, "server")
    srv.bind(("", 80))
    srv.listen(1)
    srv.listen(2)
    assert [lst.backlog for lst in srv._listeners] == [2]
    clients = []
    for _ in range(3):
        c = api.socket(net, "client")
        c.settimeout(0.5)
        clients.append((c, c.connect_ex(("10.0.0.2", 80))))
    assert [r for _, r in clients] == [0, 0, errno.EWOULDBLOCK]   # third SYN dropped


def test_listen_on_a_connected_socket_is_einval(pair):
    cli, conn, srv = pair
    for s in (cli, conn):
        with pytest.raises(OSError) as e:
            s.listen()
        assert e.value.errno == errno.EINVAL


def test_accept_waits_times_out_or_does_not_block(net):
    srv = api.create_server(net, "server", ("", 80))
    srv.settimeout(0.25)
    with pytest.raises(TimeoutError):
        srv.accept()
    assert net.now == ms(250)
    srv.setblocking(False)
    with pytest.raises(BlockingIOError) as e:
        srv.accept()
    assert e.value.errno == errno.EAGAIN
    c = api.socket(net, "client")
    c.setblocking(False)
    c.connect_ex(("10.0.0.2", 80))
    srv.setblocking(True)
    conn, addr = srv.accept()                          # advances until the handshake is done
    assert conn.gettimeout() is None                   # accepted sockets block, as in Python
    assert addr == c.getsockname()


def test_accept_on_a_socket_that_is_not_listening_is_einval(net, pair):
    with pytest.raises(OSError) as e:
        api.socket(net, "server").accept()
    assert e.value.errno == errno.EINVAL
    with pytest.raises(OSError) as e:
        pair[1].accept()
    assert e.value.errno == errno.EINVAL


def test_accepted_sockets_inherit_options(net):
    srv = api.create_server(net, "server", ("", 80))
    srv.setsockopt(api.IPPROTO_TCP, api.TCP_NODELAY, 1)
    srv.setsockopt(api.SOL_SOCKET, api.SO_LINGER, (1, 0))
    api.create_connection(net, "client", ("10.0.0.2", 80))
    conn, _ = srv.accept()
    assert conn.getsockopt(api.IPPROTO_TCP, api.TCP_NODELAY) == 1
    assert conn.connection.config.nodelay is True
    assert conn.getsockopt(api.SOL_SOCKET, api.SO_REUSEADDR) == 1
    assert conn.getsockopt(api.SOL_SOCKET, api.SO_LINGER) == 1
    assert net.hosts["server"].config.nodelay is False


def test_create_server_and_create_connection(net):
    srv = api.create_server(net, "server", ("10.0.0.2", 443), backlog=5)
    assert srv.getsockopt(api.SOL_SOCKET, api.SO_REUSEADDR) == 1
    assert srv._backlog == 5
    with pytest.raises(ValueError):
        api.create_server(net, "server", ("", 1), reuse_port=True)
    c = api.create_connection(net, "client", ("server", 443), timeout=3,
                              source_address=("10.0.0.1", 4000))
    assert c.gettimeout() == 3.0 and c.getsockname() == ("10.0.0.1", 4000)
    with pytest.raises(ConnectionRefusedError):
        api.create_connection(net, "client", ("10.0.0.2", 1))
    with pytest.raises(ExceptionGroup):
        api.create_connection(net, "client", ("10.0.0.2", 1), all_errors=True)


# ------------------------------------------------------------------------------ send / recv
def test_recv_and_send_on_an_unconnected_socket(net):
    s = api.socket(net, "client")
    with pytest.raises(OSError) as e:
        s.recv(1)
    assert e.value.errno == errno.ENOTCONN
    with pytest.raises(BrokenPipeError):              # what Linux says, not ENOTCONN
        s.send(b"x")
    with pytest.raises(OSError) as e:
        s.getpeername()
    assert e.value.errno == errno.ENOTCONN


def test_recv_waits_in_simulated_time(pair, net):
    cli, conn, srv = pair
    conn.settimeout(1.5)
    start = net.now
    with pytest.raises(TimeoutError) as e:
        conn.recv(10)
    assert e.value.args == ("timed out",) and net.now == start + ms(1500)
    conn.setblocking(False)
    with pytest.raises(BlockingIOError) as again:
        conn.recv(10)
    assert again.value.args == (errno.EAGAIN, "Resource temporarily unavailable")
    with pytest.raises(BlockingIOError):
        pair[0].recv(10, real_socket.MSG_DONTWAIT)
    cli.send(b"data")                                    # in flight for 5 ms
    conn.settimeout(None)
    assert conn.recv(2) == b"da" and conn.recv(10) == b"ta"
    assert conn.recv(0) == b""


def test_recv_into(pair):
    cli, conn, srv = pair
    cli.sendall(b"0123456789")
    buf = bytearray(16)
    assert conn.recv_into(buf, 4) == 4 and buf[:4] == b"0123"
    view = memoryview(buf)[4:]
    assert conn.recv_into(view) == 6 and buf[:10] == b"0123456789"
    with pytest.raises(TypeError, match="read-write bytes-like object, not bytes"):
        conn.recv_into(b"xx")


def test_recv_at_eof_returns_empty_bytes(pair):
    cli, conn, srv = pair
    cli.close()
    assert conn.recv(10) == b"" and conn.recv(10) == b""


def test_send_after_reset_is_reset_then_broken_pipe(pair, net):
    cli, conn, srv = pair
    cli.setsockopt(api.SOL_SOCKET, api.SO_LINGER, (1, 0))
    cli.close()
    api.sleep(net, 0.1)
    with pytest.raises(ConnectionResetError):
        conn.send(b"x")
    with pytest.raises(BrokenPipeError) as e:
        conn.send(b"x")
    assert e.value.args == (errno.EPIPE, "Broken pipe")


def test_reset_during_a_blocking_recv(pair, net):
    cli, conn, srv = pair
    cli.setsockopt(api.SOL_SOCKET, api.SO_LINGER, (1, 0))
    cli.close()                                         # the RST is in flight
    with pytest.raises(ConnectionResetError):
        conn.recv(10)                                    # blocks until it arrives


def test_send_after_shutdown_wr_is_broken_pipe(pair):
    cli, conn, srv = pair
    cli.shutdown(api.SHUT_WR)
    with pytest.raises(BrokenPipeError):
        cli.send(b"x")
    with pytest.raises(BrokenPipeError):
        cli.sendall(b"x")


def test_connection_timeout_after_r2_while_established():
    net = make_net(config=TcpConfig(r2=sec(3)))
    cli, conn, srv = connected_pair(net)
    net.drop_if(lambda p: True)                         # the path goes dark
    cli.sendall(b"lost")
    with pytest.raises(TimeoutError) as e:
        cli.recv(10)
    assert e.value.errno == errno.ETIMEDOUT
    assert cli.recv(10) == b""
    with pytest.raises(BrokenPipeError):
        cli.send(b"x")


def test_shutdown_errors_and_read_side(pair, net):
    cli, conn, srv = pair
    with pytest.raises(OSError) as e:
        cli.shutdown(3)
    assert e.value.errno == errno.EINVAL
    conn.shutdown(api.SHUT_RD)
    assert conn.recv(10) == b""                         # no waiting once shut
    with pytest.raises(OSError) as e:
        api.socket(net, "client").shutdown(api.SHUT_RDWR)
    assert e.value.errno == errno.ENOTCONN


def test_shutdown_rdwr(pair):
    cli, conn, srv = pair
    cli.shutdown(api.SHUT_RDWR)
    assert cli.recv(1) == b""
    with pytest.raises(BrokenPipeError):
        cli.send(b"x")
    assert conn.recv(1) == b""
    assert cli.getpeername() == ("10.0.0.2", 80)        # still connected (FIN-WAIT)


# ------------------------------------------------------------------------------ SimulationIdle
def test_recv_that_can_never_return_raises_simulation_idle(pair):
    cli, conn, srv = pair
    with pytest.raises(api.SimulationIdle, match=r"recv\(\) on <synack.api.socket .*host='server'.*"
                                                  r"would block forever"):
        conn.recv(10)


def test_accept_with_no_client_raises_simulation_idle(net):
    srv = api.create_server(net, "server", ("", 80))
    with pytest.raises(api.SimulationIdle, match=r"accept\(\)"):
        srv.accept()


def test_sendall_to_a_peer_that_never_reads_is_reported_not_spun_forever(pair, net):
    cli, conn, srv = pair
    cli.stall_limit = 600
    with pytest.raises(api.SimulationIdle, match=r"sendall\(\).*600 s of simulated time"):
        cli.sendall(b"x" * 1_000_000)                    # more than both buffers hold


# ------------------------------------------------------------------------------ options
def test_tcp_nodelay_sets_the_connection_config_only(pair, net):
    cli, conn, srv = pair
    shared = net.hosts["client"].config
    assert cli.connection.config is shared
    cli.setsockopt(api.IPPROTO_TCP, api.TCP_NODELAY, True)
    assert cli.getsockopt(api.IPPROTO_TCP, api.TCP_NODELAY) == 1
    assert cli.connection.config.nodelay is True and shared.nodelay is False


@pytest.mark.parametrize("nodelay", [0, 1])
def test_tcp_nodelay_turns_nagle_off(net, nodelay):
    srv = api.create_server(net, "server", ("", 80))
    cli = api.socket(net, "client")
    cli.setsockopt(api.IPPROTO_TCP, api.TCP_NODELAY, nodelay)
    cli.connect(("10.0.0.2", 80))
    srv.accept()
    before = len(sent(net, "client"))
    cli.send(b"a")
    cli.send(b"b")                                      # Nagle holds this one back
    data = [s for s in sent(net, "client")[before:] if s.payload]
    assert len(data) == (2 if nodelay else 1)


def test_getsockopt_so_error_reports_and_clears(pair, net):
    cli, conn, srv = pair
    cli.setsockopt(api.SOL_SOCKET, api.SO_LINGER, (1, 0))
    cli.close()
    api.sleep(net, 0.1)
    assert conn.getsockopt(api.SOL_SOCKET, api.SO_ERROR) == errno.ECONNRESET
    assert conn.getsockopt(api.SOL_SOCKET, api.SO_ERROR) == 0
    assert conn.recv(1) == b""


# ------------------------------------------------------------------------------ IPv6
def test_ipv6_end_to_end():
    net = make_net(client=("fd00::1",), server=("fd00::2",))
    srv = api.create_server(net, "server", ("::", 80), family=api.AF_INET6)
    assert srv.getsockname() == ("::", 80, 0, 0)
    cli = api.socket(net, "client", api.AF_INET6)
    cli.connect(("fd00::2", 80))
    conn, addr = srv.accept()
    assert addr == cli.getsockname() and addr[0] == "fd00::1" and len(addr) == 4
    assert cli.getpeername() == ("fd00::2", 80, 0, 0)
    cli.sendall(b"six")
    assert conn.recv(10) == b"six"
    conn.sendall(b"ok")
    conn.close()
    assert cli.recv(10) == b"ok" and cli.recv(10) == b""
    cli.close()
    with pytest.raises(real_socket.gaierror):
        api.socket(net, "client", api.AF_INET6).connect(("10.0.0.2", 80))
    with pytest.raises(TypeError, match=r"AF_INET6 address must be a tuple"):
        api.socket(net, "client", api.AF_INET6).connect(("fd00::2",))
    with pytest.raises(OverflowError, match=r"flowinfo must be 0-1048575"):
        api.socket(net, "client", api.AF_INET6).bind(("::", 0, 1 << 21))


def test_ipv6_refused_and_dual_family_hosts_keep_families_apart():
    net = make_net(client=("10.0.0.1", "fd00::1"), server=("10.0.0.2", "fd00::2"))
    v4 = api.create_server(net, "server", ("", 80))
    with pytest.raises(ConnectionRefusedError):      # an AF_INET listener takes no IPv6
        api.create_connection(net, "client", ("fd00::2", 80))
    v6 = api.create_server(net, "server", ("", 80), family=api.AF_INET6)
    c6 = api.create_connection(net, "client", ("fd00::2", 80))
    c4 = api.create_connection(net, "client", ("10.0.0.2", 80))
    assert v6.accept()[1][0] == "fd00::1" and v4.accept()[1][0] == "10.0.0.1"
    assert c6.family == api.AF_INET6 and c4.family == api.AF_INET
    both = api.create_connection(net, "client", ("server", 80))  # IPv4 first
    assert both.family == api.AF_INET


# ------------------------------------------------------------------------------ tracing
def test_every_call_is_traced_as_an_app_call(net):
    srv = api.create_server(net, "server", ("", 80))
    cli = api.create_connection(net, "client", ("10.0.0.2", 80))
    conn, peer = srv.accept()
    cli.sendall(b"x" * 100)
    conn.recv(1000)
    cli.close()
    with pytest.raises(OSError):
        cli.send(b"y")
    calls = [e for e in net.recorder.events if isinstance(e, AppCall)]
    byname = {(e.host, e.call): e for e in calls}
    cid = cli.connection.cid
    assert byname[("client", "connect")].args == "connect(('10.0.0.2', 80))"
    assert byname[("client", "connect")].conn == cid
    assert byname[("server", "accept")].result == peer == cid[:2]
    assert byname[("server", "accept")].conn == conn.connection.cid
    s = byname[("client", "sendall")]
    assert (s.args, s.result, s.error, s.conn) == ("sendall(100)", None, None, cid)
    r = byname[("server", "recv")]
    assert (r.args, r.result) == ("recv(1000)", 100)
    bad = [e for e in calls if e.call == "send"][-1]
    assert bad.error == "OSError" and bad.args == "send(1)"
    assert [e.call for e in calls if e.host == "server"][:3] == ["setsockopt", "bind", "listen"]


def test_no_tracing_when_the_recorder_is_off():
    from synack.link.sim import Network
    net = Network(seed=1, trace=False)
    net.add_host("client", ["10.0.0.1"])
    net.add_host("server", ["10.0.0.2"])
    cli, conn, srv = connected_pair(net)
    cli.sendall(b"x")
    assert conn.recv(1) == b"x" and net.recorder.events == []


def test_same_seed_same_calls_same_trace():
    def run():
        net = make_net(seed=11)
        cli, conn, srv = connected_pair(net)
        cli.sendall(b"abc" * 1000)
        got = b""
        while len(got) < 3000:
            got += conn.recv(500)
        cli.close()
        conn.close()
        api.sleep(net, 1)
        return [(type(e).__name__, e.t, e.host, getattr(e, "args", None)) for e in net.recorder.events]

    assert run() == run()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_data_arrives_intact_through_a_lossy_reordering_path(seed):
    net = make_net(seed=seed)
    net.set_both("client", "server", delay=ms(10), loss=0.05, reorder=0.05, duplicate=0.02)
    cli, conn, srv = connected_pair(net)
    data = bytes((i * 7 + seed) % 251 for i in range(100_000))
    cli.sendall(data)
    cli.shutdown(api.SHUT_WR)
    got = bytearray()
    while chunk := conn.recv(65536):
        got += chunk
    assert bytes(got) == data
    conn.sendall(got[:20_000])
    conn.close()
    back = bytearray()
    while chunk := cli.recv(65536):
        back += chunk
    assert bytes(back) == data[:20_000]
    cli.close()
    api.sleep(net, 120)
    assert not net.hosts["client"].conns and not net.hosts["server"].conns
