"""Errors the TCP core reports to its user (RFC 9293 §3.10 error strings).

``api/`` maps these onto Python's own ``OSError`` subclasses exactly as the kernel socket
would: refused -> ConnectionRefusedError, reset -> ConnectionResetError, closing ->
BrokenPipeError, timeout -> TimeoutError.
"""

from __future__ import annotations


class TcpError(Exception):
    """Base class of every error the TCP core reports. ``code`` is a short stable token."""

    code = "error"


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


class InsufficientResources(TcpError):
    """RFC 9293 §3.10.2: "error: insufficient resources" (send buffer full)."""

    code = "insufficient-resources"
