"""Time inside synack is integer nanoseconds. These helpers build values."""

from __future__ import annotations

NS_PER_US = 1_000
NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000


def us(x: float) -> int:
    """Microseconds to nanoseconds."""
    return int(round(x * NS_PER_US))


def ms(x: float) -> int:
    """Milliseconds to nanoseconds."""
    return int(round(x * NS_PER_MS))


def sec(x: float) -> int:
    """Seconds to nanoseconds."""
    return int(round(x * NS_PER_S))


def to_seconds(ns: int) -> float:
    """Nanoseconds to float seconds (for display and JSON)."""
    return ns / NS_PER_S
