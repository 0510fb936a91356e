"""Socket addresses: checked and worded as CPython's ``getsockaddrarg()`` does, resolved
inside the simulated network instead of through DNS.

A host part may be an IPv4/IPv6 literal, ``""`` (the wildcard address), or the name of a
host in the network (``"server"`` resolves to that host's first address of the family).
"""

from __future__ import annotations

import ipaddress
import operator
import socket as _socket
from typing import Any

AF_INET = _socket.AF_INET
AF_INET6 = _socket.AF_INET6

#: the wildcard (INADDR_ANY / in6addr_any) of each family
WILDCARD: dict[int, str] = {AF_INET: "0.0.0.0", AF_INET6: "::"}
_WILDCARDS = frozenset(WILDCARD.values())


def is_wildcard(addr: str | None) -> bool:
    return addr is None or addr in _WILDCARDS


def overlap(a: str | None, b: str | None) -> bool:
    """Whether two local addresses can receive the same segment: equal, or one is a
    wildcard of the other's family (``None`` is a host-level wildcard of both families)."""
    if a is None or b is None:
        return True
    if (":" in a) != (":" in b):
        return False
    return a == b or a in _WILDCARDS or b in _WILDCARDS


def _hostname(obj: Any) -> str:
    """CPython's ``idna_converter``: str, bytes or bytearray."""
    if isinstance(obj, str):
        return obj
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj).decode("ascii")
    raise TypeError(f"str, bytes or bytearray expected, not {type(obj).__name__}")


def _gaierror(code: int, msg: str) -> _socket.gaierror:
    return _socket.gaierror(code, msg)


def resolve(net: Any, name: str, family: int) -> str:
    """The address string for host part ``name`` in ``family`` (``setipaddr()``)."""
    if name == "":
        return WILDCARD[family]
    if name == "<broadcast>":
        if family != AF_INET:
            raise _gaierror(_socket.EAI_ADDRFAMILY, "Address family for hostname not supported")
        return "255.255.255.255"
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        ip = None
    if ip is not None:
        if (ip.version == 6) != (family == AF_INET6):
            raise _gaierror(_socket.EAI_ADDRFAMILY, "Address family for hostname not supported")
        return str(ip)
    host = net.hosts.get(name) if net is not None else None
    if host is None:
        raise _gaierror(_socket.EAI_NONAME, "Name or service not known")
    for a in host.addrs:
        if (":" in a) == (family == AF_INET6):
            return a
    raise _gaierror(_socket.EAI_NODATA, "No address associated with hostname")


def resolve_all(net: Any, name: Any) -> list[tuple[int, str]]:
    """Every (family, address) a host part names, IPv4 first (``getaddrinfo()``)."""
    name = _hostname(name)
    if name == "":
        return [(AF_INET, WILDCARD[AF_INET])]
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        ip = None
    if ip is not None:
        return [(AF_INET6 if ip.version == 6 else AF_INET, str(ip))]
    host = net.hosts.get(name)
    if host is None:
        raise _gaierror(_socket.EAI_NONAME, "Name or service not known")
    v4: list[tuple[int, str]] = [(AF_INET, a) for a in host.addrs if ":" not in a]
    v6: list[tuple[int, str]] = [(AF_INET6, a) for a in host.addrs if ":" in a]
    return v4 + v6


def parse(net: Any, family: int, address: Any, caller: str) -> tuple[str, int]:
    """Check ``address`` for ``family`` as CPython does and resolve it: ``(addr, port)``.

    Raises TypeError, OverflowError or ``socket.gaierror`` with CPython's exact wording;
    ``caller`` is the method name CPython puts in front of some messages ("bind").
    """
    fam = "AF_INET6" if family == AF_INET6 else "AF_INET"
    if not isinstance(address, tuple):
        raise TypeError(f"{caller}(): {fam} address must be tuple, not {type(address).__name__}")
    if family == AF_INET6:
        if not 2 <= len(address) <= 4:
            raise TypeError("AF_INET6 address must be a tuple (host, port[, flowinfo[, scopeid]])")
    elif len(address) != 2:
        raise TypeError("AF_INET address must be a pair (host, port)")
    name = _hostname(address[0])
    port = operator.index(address[1])
    flowinfo = operator.index(address[2]) if len(address) > 2 else 0
    if len(address) > 3:
        operator.index(address[3])
    addr = resolve(net, name, family)
    if not 0 <= port <= 0xFFFF:
        raise OverflowError(f"{caller}(): port must be 0-65535.")
    if family == AF_INET6 and flowinfo > 0xFFFFF:
        raise OverflowError(f"{caller}(): flowinfo must be 0-1048575.")
    return addr, port


def sockaddr(family: int, addr: str, port: int) -> tuple:
    """The address tuple Python returns: (host, port), or (host, port, flowinfo, scope_id)."""
    if family == AF_INET6:
        return (addr, port, 0, 0)
    return (addr, port)
