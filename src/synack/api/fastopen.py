"""TCP Fast Open from a socket, as Linux's ``sendto(data, MSG_FASTOPEN, address)`` does it
(RFC 7413): the SYN carries the cookie cached for the server and, with one, the start of
the data; without one it asks for a cookie and the data follows the handshake."""

from __future__ import annotations

import errno
from typing import Any

from ..tcp import fastopen as _fastopen


def fastopen_connect(sock: Any, view: memoryview, addr: str, port: int, dontwait: bool) -> int:
    """Connect ``sock`` with Fast Open and send ``view``: a blocking socket returns once
    connected and the data queued; a non-blocking one returns the octets that rode in the
    SYN, or raises BlockingIOError(EINPROGRESS) when none did."""
    nonblocking = dontwait or sock._timeout == 0.0
    host = sock._host
    cfg = sock._tcp_config(host) or host.config
    entry = host.fastopen_cache.get(addr)
    if nonblocking:
        # Only what fits in the SYN is taken now (Linux tcp_send_syn_data).
        room = (entry.mss if entry is not None and entry.mss else 536) if entry and entry.cookie else 0
        data = view[:room].tobytes()
    else:
        data = view[:cfg.snd_buf].tobytes()
    saved, sock._timeout = sock._timeout, (0.0 if nonblocking else sock._timeout)
    try:
        sock._connect(addr, port, fastopen=data)
    except BlockingIOError as e:
        if e.errno == errno.EINPROGRESS and data and sock._conn is not None and _fastopen.syn_data(sock._conn):
            return len(data)
        raise
    finally:
        sock._timeout = saved
    if len(data) < len(view):
        return len(data) + sock._send_loop(view[len(data):], "sendto()", not nonblocking, nonblocking)
    return len(data)
