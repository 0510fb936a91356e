"""Congestion control algorithms, chosen per connection by name (like Linux TCP_CONGESTION)."""

from __future__ import annotations

from .reno import NewReno, Reno

ALGORITHMS: dict[str, type] = {"reno": Reno, "newreno": NewReno}


def register(cls: type) -> type:
    """Make an algorithm available by its ``name`` attribute."""
    ALGORITHMS[cls.name] = cls
    return cls


def create(name: str, smss: int, initial_window: int):
    """Instantiate the algorithm called ``name``."""
    try:
        cls = ALGORITHMS[name]
    except KeyError:
        known = ", ".join(sorted(ALGORITHMS))
        raise ValueError(f"unknown congestion control {name!r} (known: {known})") from None
    return cls(smss, initial_window)
