"""Errors the TCP core reports to its user (RFC 9293 §3.10 error strings).

``api/`` maps these onto Python's own ``OSError`` subclasses exactly as the kernel socket
would: refused -> ConnectionRefusedError, reset -> ConnectionResetError, closing ->
BrokenPipeError, timeout -> TimeoutError.
"""

from __future__ import annotations


class TcpError(Exception):
    """Base class of every error the TCP core reports. ``code`` is a short stable token."""

    code = "error"
    #: Data the peer's RST carried, if any: RFC 9293 §3.5.3 SHLD-2 allows an RST to carry
    #: diagnostic text, and the receiver keeps it here (set on the instance).
    diagnostic: bytes = b""


class ConnectionDoesNotExist(TcpError):
    """RFC 9293 §3.10: "error: connection does not exist"."""

    code = "does-not-exist"


class ConnectionExists(TcpError):
    """RFC 9293 §3.10.1: "error: connection already exists"."""

    code = "exists"


class ConnectionRefused(TcpError):
    """The peer answered our SYN with a reset (RFC 9293 §3.10.7.3)."""

    code = "refused"


class ConnectionReset(TcpError):
    """The peer reset a synchronized connection (RFC 9293 §3.10.7.4)."""

    code = "reset"


class ConnectionClosing(TcpError):
    """RFC 9293 §3.10.2: "error: connection closing" (SEND after CLOSE)."""

    code = "closing"


class ConnectionAborted(TcpError):
    """The local user aborted the connection (RFC 9293 §3.10.5)."""

    code = "aborted"


class ConnectionTimeout(TcpError):
    """Retransmissions reached R2 (RFC 9293 §3.8.3 MUST-20) or the user timeout expired."""

    code = "timeout"


class Unreachable(TcpError):
    """An ICMP error ended the connection or explains why it timed out (RFC 9293
    §3.9.2.2). ``reason`` is one of :data:`UNREACHABLE_REASONS` (net-unreachable,
    host-unreachable, protocol-unreachable, admin-prohibited, ...); the socket API maps it
    to the errno Linux reports (ENETUNREACH, EHOSTUNREACH, ENOPROTOOPT, EACCES, ...)."""

    code = "unreachable"

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


#: The reasons an :class:`Unreachable` may carry.
UNREACHABLE_REASONS = frozenset({
    "net-unreachable", "host-unreachable", "protocol-unreachable", "port-unreachable",
    "frag-needed", "source-route-failed", "net-unknown", "host-unknown", "host-isolated",
    "net-prohibited", "host-prohibited", "packet-filtered", "precedence", "ttl-exceeded",
    "parameter-problem", "admin-prohibited", "beyond-scope", "address-unreachable",
    "policy-failed", "reject-route",
})


class InsufficientResources(TcpError):
    """RFC 9293 §3.10.2: "error: insufficient resources" (send buffer full)."""

    code = "insufficient-resources"


class IllegalTransition(RuntimeError):
    """A state change that RFC 9293 does not allow (not in ``state.TRANSITIONS``) was
    attempted. This is a bug in synack, never the peer's or the user's doing: the core
    raises it instead of entering the state."""

    def __init__(self, old: object, new: object, cause: str) -> None:
        super().__init__(f"illegal state change {old} -> {new} ({cause}): not in RFC 9293's transitions")
        self.old = old
        self.new = new
        self.cause = cause
