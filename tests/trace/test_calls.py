"""Labels speak TCP, not Python: application calls as people write them."""

from __future__ import annotations

import pytest

from synack.trace.calls import call_text, housekeeping

NAMES = {"10.0.0.2": "server"}


def app(call: str, args: str, result=None, error=None, conn="x") -> dict:
    return {"event": "app", "call": call, "args": args, "result": result, "error": error, "conn": conn}


@pytest.mark.parametrize("rec, text", [
    (app("setsockopt", "setsockopt(6, 1, 1)"), "setsockopt(IPPROTO_TCP, TCP_NODELAY, 1)"),
    (app("setsockopt", "setsockopt(1, 13, 8)"), "setsockopt(SOL_SOCKET, SO_LINGER, 8)"),
    (app("setsockopt", "setsockopt(6, 23, 16)"), "setsockopt(IPPROTO_TCP, TCP_FASTOPEN, 16)"),
    (app("sendto", "sendto(32, <MsgFlag.MSG_FASTOPEN: 536870912>, ('10.0.0.2', 80))", error="BlockingIOError"),
     "sendto(32, MSG_FASTOPEN, server:80) → BlockingIOError"),
    (app("send", "send(1, 1)", 1), "send(1, MSG_OOB) = 1"),
    (app("recv", "recv(1, 1)", 1), "recv(1, MSG_OOB) = 1"),
    (app("connect", "connect(('fd00:99::2', 8081, 0, 0))"), "connect([fd00:99::2]:8081)"),
    (app("accept", "accept()", ["fd00:99::1", 42068]), "accept() = [fd00:99::1]:42068"),
    (app("shutdown", "shutdown(1)"), "shutdown(SHUT_WR)"),
    (app("connect_ex", "connect_ex(('10.0.0.2', 80))", 115), "connect_ex(server:80) = EINPROGRESS"),
    (app("recv", "recv(1024)", 18), "recv(1024) = 18"),
])
def test_calls_read_as_socket_programmers_write_them(rec, text):
    assert call_text(rec, NAMES) == text


def test_a_listener_call_is_told_apart_from_a_connection_call():
    assert call_text(app("listen", "listen()", conn=None), NAMES, "10.0.0.2:80") == "listen() on :80"
    assert call_text(app("close", "close()", conn=None), NAMES, "[fd00::2]:8081") == "close() of listener :8081"
    assert call_text(app("close", "close()"), NAMES) == "close()"


def test_set_up_calls_are_housekeeping():
    assert housekeeping(app("bind", "bind(('', 80))"))
    assert housekeeping(app("setsockopt", "setsockopt(1, 2, 1)"))          # SO_REUSEADDR
    assert not housekeeping(app("setsockopt", "setsockopt(6, 1, 1)"))      # TCP_NODELAY says something
