"""The eleven connection states of RFC 9293 §3.3.2 and the transitions Figure 5 allows."""

from __future__ import annotations

import enum


class State(enum.Enum):
    """A connection state, printed as RFC 9293 spells it ("SYN-SENT")."""

    CLOSED = "CLOSED"
    LISTEN = "LISTEN"
    SYN_SENT = "SYN-SENT"
    SYN_RECEIVED = "SYN-RECEIVED"
    ESTABLISHED = "ESTABLISHED"
    FIN_WAIT_1 = "FIN-WAIT-1"
    FIN_WAIT_2 = "FIN-WAIT-2"
    CLOSE_WAIT = "CLOSE-WAIT"
    CLOSING = "CLOSING"
    LAST_ACK = "LAST-ACK"
    TIME_WAIT = "TIME-WAIT"

    def __str__(self) -> str:
        return self.value

    # Members are singletons compared by identity: hash them the same way, in C (the
    # state is looked up in a set on every segment).
    __hash__ = object.__hash__

    @property
    def synchronized(self) -> bool:
        """ESTABLISHED and every state after it (RFC 9293 §3.5)."""
        return self in SYNCHRONIZED


S = State
#: States in which data and FIN may be (re)transmitted once the SYN is acknowledged.
SENDING = frozenset({S.ESTABLISHED, S.CLOSE_WAIT, S.FIN_WAIT_1, S.CLOSING, S.LAST_ACK})
SYNCHRONIZED = frozenset(
    {S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT, S.CLOSING, S.LAST_ACK, S.TIME_WAIT}
)

#: Every transition RFC 9293 Figure 5 and §3.10 permit (ABORT and RST lead to CLOSED from
#: anywhere; a passive SYN-RECEIVED returns to LISTEN on RST or SYN).
TRANSITIONS: frozenset[tuple[State, State]] = frozenset(
    {
        (S.CLOSED, S.LISTEN), (S.CLOSED, S.SYN_SENT),
        (S.LISTEN, S.SYN_RECEIVED), (S.LISTEN, S.SYN_SENT), (S.LISTEN, S.CLOSED),
        (S.SYN_SENT, S.SYN_RECEIVED), (S.SYN_SENT, S.ESTABLISHED), (S.SYN_SENT, S.CLOSED),
        (S.SYN_RECEIVED, S.ESTABLISHED), (S.SYN_RECEIVED, S.FIN_WAIT_1), (S.SYN_RECEIVED, S.LISTEN),
        (S.SYN_RECEIVED, S.CLOSE_WAIT), (S.SYN_RECEIVED, S.CLOSED),
        (S.ESTABLISHED, S.FIN_WAIT_1), (S.ESTABLISHED, S.CLOSE_WAIT), (S.ESTABLISHED, S.CLOSED),
        (S.FIN_WAIT_1, S.FIN_WAIT_2), (S.FIN_WAIT_1, S.CLOSING), (S.FIN_WAIT_1, S.TIME_WAIT),
        (S.FIN_WAIT_1, S.CLOSED),
        (S.FIN_WAIT_2, S.TIME_WAIT), (S.FIN_WAIT_2, S.CLOSED),
        (S.CLOSE_WAIT, S.LAST_ACK), (S.CLOSE_WAIT, S.CLOSED),
        (S.CLOSING, S.TIME_WAIT), (S.CLOSING, S.CLOSED),
        (S.LAST_ACK, S.CLOSED),
        (S.TIME_WAIT, S.CLOSED),
    }
)
