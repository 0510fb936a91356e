"""The module-level helpers of Python's socket module, on synack: ``create_connection``,
``create_server``, ``sleep`` (time passing for a program while its stack keeps working)
and ``has_dualstack_ipv6``."""

from __future__ import annotations

from typing import Any

from ..timeunits import sec
from . import addresses
from .blocking import socket
from .constants import AF_INET, SO_REUSEADDR, SOL_SOCKET
from .runtime import runtime_of


def create_connection(net: Any, host: Any, address: tuple, timeout: float | None = None,
                      source_address: tuple | None = None, *, all_errors: bool = False) -> socket:
    """Connect to ``address`` = (host, port), where host may be an address or the name of
    a host in ``net``; try each of its addresses, as ``socket.create_connection`` does."""
    name, port = address
    candidates = addresses.resolve_all(runtime_of(net), name)
    errors: list[Exception] = []
    for family, addr in candidates:
        sock = socket(net, host, family)
        try:
            if timeout is not None:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect((addr, port))
            return sock
        except OSError as e:
            errors.append(e)
            sock.close()
    if not errors:
        raise OSError("getaddrinfo returns an empty list")
    if all_errors:
        raise ExceptionGroup("create_connection failed", errors)
    raise errors[0]


def create_server(net: Any, host: Any, address: tuple, *, family: int = AF_INET,
                  backlog: int | None = None, reuse_port: bool = False,
                  dualstack_ipv6: bool = False) -> socket:
    """A listening socket bound to ``address``, with SO_REUSEADDR set (as
    ``socket.create_server`` does on POSIX)."""
    if reuse_port:
        raise ValueError("SO_REUSEPORT not supported on this platform")
    if dualstack_ipv6:
        raise ValueError("dualstack_ipv6 not supported on this platform")
    sock = socket(net, host, family)
    try:
        sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as err:
            raise OSError(err.errno, f"{err.strerror} (while attempting to bind on address "
                                     f"{address!r})") from None
        if backlog is None:
            sock.listen()
        else:
            sock.listen(backlog)
        return sock
    except BaseException:
        sock.close()
        raise


def sleep(net: Any, seconds: float) -> None:
    """Let ``seconds`` of simulated time pass, as ``time.sleep`` would for a real program
    while the kernel keeps working (the same as ``net.run_for``, in seconds)."""
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    rt = runtime_of(net)
    with rt.lock:
        rt.wait_until(lambda: False, rt.now + sec(seconds))


def has_dualstack_ipv6() -> bool:
    """False: an AF_INET6 socket here never accepts IPv4 (as with IPV6_V6ONLY)."""
    return False
