"""Initial sequence numbers: the RFC 6528 generator and a fixed one for tests.

RFC 9293 §3.4.1 SHLD-1 (RFC 6528): ``ISN = M + F(localip, localport, remoteip, remoteport,
secretkey)`` where

- M is a 4-microsecond clock (RFC 9293 §3.4.1 MUST-8): ``now // 4000`` with ``now`` in ns;
- F is a keyed hash that cannot be computed from outside the host (RFC 9293 §3.4.1 MUST-9):
  the first 4 bytes (big-endian) of BLAKE2b keyed with the secret, over the 4-tuple encoded as
  ``len(addr) || addr || port`` for the local then the remote endpoint, where ``addr`` is the
  packed IPv4 (4 bytes) or IPv6 (16 bytes) address and ``port`` 2 bytes big-endian. Packing
  normalizes spellings, so ``"fd00::1"`` and ``"fd00:0::1"`` give the same ISN.

The sum is taken mod 2**32. The secret is injected (STYLE rule 1): the stack derives it from
its seed, so the same seed gives the same ISNs.

Every generator is a callable ``(local_addr, local_port, remote_addr, remote_port, now) ->
Seq``; :class:`FixedIsn` has the same signature and returns injected values, so tests can
reproduce the RFC figures' numbers (``<SEQ=100><CTL=SYN>``) or start near 2**32.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from synack.wire.checksum import address_info
from synack.wire.seq import MASK, Seq

from .timestamps import ts_offset

_int_new = int.__new__
_from_bytes = int.from_bytes  # (int.from_bytes(...) is looked up on int each time, unspecialised)

#: Nanoseconds per tick of the ISN clock M (RFC 9293 §3.4.1 MUST-8: 4 microseconds).
ISN_TICK_NS = 4_000

SECRET_MIN = 16
SECRET_MAX = 64  # BLAKE2b's longest key


_PACKED: dict[str, bytes] = {}  # address text -> length-prefixed packed form


def _endpoint(addr: str, port: int) -> bytes:
    if not 0 <= port <= 0xFFFF:
        raise ValueError(f"port must be in 0..65535, got {port}")
    prefix = _PACKED.get(addr)
    if prefix is None:
        packed = address_info(addr)[0]  # (a flood from spoofed IPv4 sources: no ipaddress object)
        prefix = bytes((len(packed),)) + packed
        if len(_PACKED) >= 4096:
            _PACKED.clear()
        _PACKED[addr] = prefix
    return prefix + port.to_bytes(2, "big")


def _four_tuple(local_addr: str, local_port: int, remote_addr: str, remote_port: int) -> bytes:
    """The hashed form of a 4-tuple: both endpoints, length-prefixed address then port."""
    a = _PACKED.get(local_addr)
    b = _PACKED.get(remote_addr)
    if a is None or b is None or not (0 <= local_port <= 0xFFFF and 0 <= remote_port <= 0xFFFF):
        return _endpoint(local_addr, local_port) + _endpoint(remote_addr, remote_port)
    return a + local_port.to_bytes(2, "big") + b + remote_port.to_bytes(2, "big")


class IsnGenerator:
    """RFC 6528 ISN generator: ``(M + F(4-tuple, secret)) mod 2**32`` (RFC 9293 §3.4.1 SHLD-1)."""

    __slots__ = ("_hash", "_ts_hash", "_last")

    def __init__(self, secret: bytes) -> None:
        if not isinstance(secret, (bytes, bytearray)):
            raise TypeError(f"secret must be bytes, got {type(secret).__name__}")
        if not SECRET_MIN <= len(secret) <= SECRET_MAX:
            raise ValueError(
                f"secret must be {SECRET_MIN}..{SECRET_MAX} bytes long, got {len(secret)}"
            )
        # The keyed state is built once and copied per call; the secret is not kept elsewhere.
        self._hash = hashlib.blake2b(key=bytes(secret), digest_size=4)
        self._ts_hash = self._hash.copy()
        self._ts_hash.update(b"tsval")  # (what ts_offset hashes first)
        #: the last 4-tuple hashed and its bytes: a connection asks for its TSval offset
        #: right after its ISN
        self._last: tuple = (None, None, None, None, b"")

    def __call__(
        self, local_addr: str, local_port: int, remote_addr: str, remote_port: int, now: int
    ) -> Seq:
        """The ISN for this 4-tuple at time ``now`` (int ns)."""
        h = self._hash.copy()
        data = _four_tuple(local_addr, local_port, remote_addr, remote_port)
        self._last = (local_addr, local_port, remote_addr, remote_port, data)
        h.update(data)
        f = _from_bytes(h.digest(), "big")  # RFC 9293 §3.4.1 MUST-9: keyed F()
        m = now // ISN_TICK_NS  # RFC 9293 §3.4.1 MUST-8: the 4 µs clock
        return _int_new(Seq, (m + f) & MASK)  # (Seq(), without its __new__ call: the value is in range)

    def ts_offset(self, local_addr: str, local_port: int, remote_addr: str, remote_port: int) -> int:
        """The TSval offset of this 4-tuple (RFC 7323 §7.1): the same keyed hash without
        the clock, so that every incarnation of a 4-tuple counts on from the same offset and
        a new SYN's TSval is newer than the last one its TIME-WAIT saw (RFC 6191)."""
        h = self._ts_hash.copy()  # (b"tsval" taken already)
        last = self._last
        if local_port == last[1] and remote_port == last[3] and local_addr == last[0] and remote_addr == last[2]:
            h.update(last[4])
        else:
            h.update(_four_tuple(local_addr, local_port, remote_addr, remote_port))
        return _from_bytes(h.digest(), "big")

    def __repr__(self) -> str:
        return "IsnGenerator(secret=<hidden>)"


class IsnExhausted(RuntimeError):
    """A :class:`FixedIsn` built from a sequence was asked for more ISNs than it was given."""


class FixedIsn:
    """Injected ISNs with the generator's signature, for tests and RFC figure replays.

    ``FixedIsn(100)`` returns ``Seq(100)`` on every call. ``FixedIsn([100, 200])`` returns
    ``Seq(100)``, then ``Seq(200)``, then raises :class:`IsnExhausted`. The arguments of each
    call are ignored.
    """

    __slots__ = ("_value", "_values", "_next")

    def __init__(self, values: int | Iterable[int]) -> None:
        if isinstance(values, int):
            self._value: Seq | None = Seq(self._check(values))
            self._values: tuple[Seq, ...] = ()
        else:
            self._value = None
            self._values = tuple(Seq(self._check(v)) for v in values)
            if not self._values:
                raise ValueError("FixedIsn needs at least one value")
        self._next = 0

    @staticmethod
    def _check(v: int) -> int:
        if not isinstance(v, int) or not 0 <= v <= MASK:
            raise ValueError(f"an ISN must be an int in 0..2**32-1, got {v!r}")
        return v

    @property
    def remaining(self) -> int | None:
        """How many injected values are left (``None`` for a repeated single value)."""
        if self._value is not None:
            return None
        return len(self._values) - self._next

    def __call__(
        self, local_addr: str, local_port: int, remote_addr: str, remote_port: int, now: int
    ) -> Seq:
        """The next injected ISN."""
        if self._value is not None:
            return self._value
        i = self._next
        if i >= len(self._values):
            raise IsnExhausted(
                f"FixedIsn was given {len(self._values)} ISNs and all have been used "
                f"(asked again for {local_addr}:{local_port} -> {remote_addr}:{remote_port})"
            )
        self._next = i + 1
        return self._values[i]

    def __repr__(self) -> str:
        if self._value is not None:
            return f"FixedIsn({int(self._value)})"
        return f"FixedIsn({[int(v) for v in self._values]!r}, next={self._next})"


class GivenIss:
    """An ISN source whose next ISS is ``iss``, given by the caller, with the TSval offsets of
    ``base`` (the host's generator): a connection that ends a TIME-WAIT starts above the
    old one (RFC 1122 §4.2.2.13, ``TimeWait.new_iss``), and a SYN-queue record becomes the
    connection it answered for, with the ISS its SYN,ACK carried (stack/synqueue.py)."""

    __slots__ = ("iss", "base")

    def __init__(self, iss: Seq, base: Any) -> None:
        self.iss = iss
        self.base = base

    def __call__(self, local_addr: str, local_port: int, remote_addr: str, remote_port: int, now: int) -> Seq:
        return self.iss

    def ts_offset(self, local_addr: str, local_port: int, remote_addr: str, remote_port: int) -> int:
        return ts_offset_of(self.base, self.iss, (local_addr, local_port, remote_addr, remote_port))


def ts_offset_of(source: Any, iss: int, key: tuple) -> int:
    """The TSval offset a connection with 4-tuple ``key`` and ISS ``iss`` uses: the ISN
    source's per-4-tuple offset (:meth:`IsnGenerator.ts_offset`) when it has one, else one
    derived from the ISS (tcp/timestamps.py)."""
    per_tuple = getattr(source, "ts_offset", None)
    if per_tuple is None:
        return ts_offset(int(iss))
    return int(per_tuple(*key))
