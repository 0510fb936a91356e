"""One direction of a simulated path and what it does to packets: :class:`PathParams`
(delay, jitter, loss, reordering, duplication, corruption, bandwidth and queue, MTU, ECN
marking, segmentation offload), used by :mod:`synack.link.sim`."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from ..timeunits import ms

__all__ = ["PathParams"]


@dataclass(slots=True)
class PathParams:
    """Impairments of one direction of a path. Times in ns, probabilities in [0, 1]."""

    #: one-way propagation delay
    delay: int = ms(1)
    #: extra delay drawn uniformly from 0..jitter (inclusive); can reorder packets
    jitter: int = 0
    #: probability that a packet is lost on the link
    loss: float = 0.0
    #: probability that a packet is held back by ``reorder_delay``, so later ones overtake it
    reorder: float = 0.0
    #: extra delay of a reordered packet; ``None`` means "same as ``delay``"
    reorder_delay: int | None = None
    #: probability that a packet arrives twice
    duplicate: float = 0.0
    #: probability that 1..3 bits of the IP payload are flipped (the TCP checksum catches it)
    corrupt: float = 0.0
    #: link rate; ``None`` is infinitely fast (no serialisation delay, no queue)
    bandwidth_bps: float | None = None
    #: transmit-queue capacity in packets (waiting or in transmission) when bandwidth is set;
    #: ``None`` is unbounded
    queue_packets: int | None = 100
    #: packets longer than this many bytes are dropped ("too-big"); ``None`` is no limit
    mtu: int | None = None
    #: answer each packet dropped as too big with an ICMP Fragmentation Needed (IPv4,
    #: RFC 1191) or Packet Too Big (IPv6, RFC 8201) carrying ``mtu``, from the far end of the
    #: path, as a router would; False: a silent drop (a PMTU black hole)
    icmp_too_big: bool = False
    #: probability that an ECN-capable (ECT) packet is marked Congestion Experienced instead
    #: of being dropped, as an ECN router's queue management does (RFC 3168 §5); packets
    #: that are not ECT pass unmarked (combine with ``loss`` to drop those)
    ecn_mark: float = 0.0
    #: the sending host's link does segmentation offload (GSO/TSO) on this path: the host
    #: sends super-segments of up to 64 KB (``Host.gso_for``), and each is cut into its
    #: wire segments (``synack.link.gso``) before anything else happens to it, so scripted
    #: drops, loss and the queue count wire packets
    gso: bool = False
    #: kept by ``__setattr__``: whether anything beyond ``delay`` (and ``gso``) is set, that
    #: is whether a packet takes the path's slow lane (``Network._impaired``)
    _impaired: bool = field(default=False, init=False, repr=False, compare=False)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        try:
            impaired = bool(self.loss or self.bandwidth_bps or self.jitter or self.reorder or self.duplicate
                            or self.corrupt or self.mtu or self.ecn_mark)
        except AttributeError:  # (being made: not every field is set yet)
            return
        object.__setattr__(self, "_impaired", impaired)

    def validate(self) -> None:
        """Raise ``ValueError`` if a field is out of range."""
        for name in ("loss", "reorder", "duplicate", "corrupt", "ecn_mark"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {p!r}")
        for name in ("delay", "jitter"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 ns, got {getattr(self, name)!r}")
        if self.reorder_delay is not None and self.reorder_delay < 0:
            raise ValueError(f"reorder_delay must be >= 0 ns, got {self.reorder_delay!r}")
        if self.bandwidth_bps is not None and self.bandwidth_bps <= 0:
            raise ValueError(f"bandwidth_bps must be > 0 or None, got {self.bandwidth_bps!r}")
        if self.queue_packets is not None and self.queue_packets < 1:
            raise ValueError(f"queue_packets must be >= 1 or None, got {self.queue_packets!r}")
        if self.mtu is not None and self.mtu < 1:
            raise ValueError(f"mtu must be >= 1 or None, got {self.mtu!r}")


_PATH_FIELDS = frozenset(f.name for f in fields(PathParams) if not f.name.startswith("_"))
