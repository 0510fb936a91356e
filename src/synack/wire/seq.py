"""Sequence numbers as a type: 32-bit values compared modulo 2**32 (RFC 9293 §3.4).

A :class:`Seq` is an ``int`` in ``0 .. 2**32-1``. Adding an int wraps; subtracting two
``Seq`` values gives the signed distance in ``-2**31 .. 2**31-1``. The ordinary ``<``
operators are disabled on purpose: compare only through the modular predicates
(``lt``, ``le``, ``gt``, ``ge``, ``in_window``) so that every rule stays correct across
wraparound (STYLE rule 6).
"""

from __future__ import annotations

MOD = 1 << 32
MASK = MOD - 1
HALF = 1 << 31

_int_new = int.__new__
_int_add = int.__add__
_int_sub = int.__sub__


class Seq(int):
    """A TCP sequence number (mod 2**32)."""

    __slots__ = ()

    def __new__(cls, value: int = 0) -> Seq:
        return _int_new(cls, value & MASK)

    # arithmetic -----------------------------------------------------------
    # (``+x`` is ``x`` as a plain int, taken in C: the operators of plain ints then run
    # without calling back into this class, and without the slower ``int.__sub__(a, b)``.)
    def __add__(self, n: int) -> Seq:
        return _int_new(Seq, (+self + n) & MASK if type(n) is int else _int_add(self, n) & MASK)

    __radd__ = __add__

    def __sub__(self, other: int) -> Seq | int:
        """``Seq - Seq`` is the signed distance; ``Seq - int`` is a ``Seq``."""
        if type(other) is Seq:
            d = (+self - +other) & MASK
            return d - MOD if d >= HALF else d
        return _int_new(Seq, (+self - other) & MASK if type(other) is int else _int_sub(self, other) & MASK)

    def dist(self, other: Seq) -> int:
        """Signed distance ``self - other`` in ``-2**31 .. 2**31-1``."""
        d = (+self - +other) & MASK
        return d - MOD if d >= HALF else d

    # modular predicates ---------------------------------------------------
    def lt(self, other: int) -> bool:
        """``self < other`` modulo 2**32."""
        return (+self - +other) & MASK >= HALF

    def le(self, other: int) -> bool:
        """``self <= other`` modulo 2**32."""
        d = (+self - +other) & MASK
        return d == 0 or d >= HALF

    def gt(self, other: int) -> bool:
        """``self > other`` modulo 2**32."""
        return (+other - +self) & MASK >= HALF

    def ge(self, other: int) -> bool:
        """``self >= other`` modulo 2**32."""
        return (+self - +other) & MASK <= HALF  # (0, or other - self taken mod 2**32 >= HALF)

    def in_window(self, start: int, size: int) -> bool:
        """``start <= self < start + size`` modulo 2**32 (``size`` in 0 .. 2**32)."""
        return (+self - +start) & MASK < size

    def max(self, other: Seq) -> Seq:
        """The later of two sequence numbers."""
        return other if self.lt(other) else self

    def min(self, other: Seq) -> Seq:
        """The earlier of two sequence numbers."""
        return self if self.lt(other) else other

    # plain ordering is a bug waiting to happen across wraparound -----------
    def _no_order(self, other: object) -> bool:
        raise TypeError("Seq values are compared with .lt/.le/.gt/.ge/.in_window, not < or >")

    __lt__ = __le__ = __gt__ = __ge__ = _no_order

    def __repr__(self) -> str:
        return f"Seq({int(self)})"

    def __reduce__(self):
        return (Seq, (int(self),))


def seq(value: int) -> Seq:
    """Build a :class:`Seq` from any int (taken mod 2**32)."""
    return Seq(value)


# Hot-path helpers: the same arithmetic as ``Seq.__add__`` and ``Seq - Seq``, on int's own
# slots, without the type dispatch of the operators. The TCP core uses these (never inline
# masks) where a segment's processing computes many distances.

def seq_add(a: int, n: int) -> Seq:
    """``a + n`` modulo 2**32, as a :class:`Seq` (``n`` may be negative)."""
    return _int_new(Seq, (+a + +n) & MASK)


def seq_dist(a: int, b: int) -> int:
    """The signed distance ``a - b`` modulo 2**32, in ``-2**31 .. 2**31-1``."""
    return ((+a - +b + HALF) & MASK) - HALF
