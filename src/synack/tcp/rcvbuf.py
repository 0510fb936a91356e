"""The receive buffer: in-order octets waiting for RECEIVE, kept as the chunks that arrived.

A segment's text is appended as it is (no copy), and RECEIVE takes octets from the front:
a read that ends on a chunk boundary of a whole chunk returns that chunk itself, any other
read joins the pieces it spans once. Appending and taking cost the same whatever the
buffer holds, so a 64 KB super-segment from a TSO link costs one append however much
is buffered before it (a ``bytearray`` copied each arrival on growth and moved its
contents on each read).
"""

from __future__ import annotations

from collections import deque

__all__ = ["ReceiveBuffer"]

_EMPTY = b""


class ReceiveBuffer:
    """Octets in order, as a queue of chunks (see the module docstring)."""

    __slots__ = ("_chunks", "_head", "_len")

    def __init__(self) -> None:
        #: the chunks, oldest first; the first one is read from ``_head`` on
        self._chunks: deque = deque()
        self._head = 0
        self._len = 0

    def __len__(self) -> int:
        return self._len

    def __bool__(self) -> bool:
        return self._len != 0

    def __repr__(self) -> str:
        return f"<ReceiveBuffer {self._len} octets in {len(self._chunks)} chunks>"

    def append(self, data: bytes) -> None:
        """Add ``data`` (bytes, or a read-only view of bytes that never change) at the end."""
        n = len(data)
        if n:
            self._chunks.append(data)
            self._len += n

    def __getitem__(self, i: int) -> int:
        """The octet ``i`` places from the front (0 <= i < len)."""
        if not 0 <= i < self._len:
            raise IndexError("receive buffer index out of range")
        i += self._head
        for c in self._chunks:
            if i < len(c):
                return c[i]
            i -= len(c)
        raise IndexError("receive buffer index out of range")  # pragma: no cover (len is exact)

    def take(self, n: int) -> bytes:
        """Remove and return up to ``n`` octets from the front."""
        if n <= 0 or not self._len:
            return _EMPTY
        chunks = self._chunks
        head = self._head
        first = chunks[0]
        avail = len(first) - head
        if n < avail:
            # Inside the first chunk.
            self._head = head + n
            self._len -= n
            return bytes(first[head:head + n])
        if n == avail:
            chunks.popleft()
            self._head = 0
            self._len -= n
            return first if not head and type(first) is bytes else bytes(first[head:])
        # Across chunks: one join.
        if n > self._len:
            n = self._len
        parts = [memoryview(first)[head:]]
        chunks.popleft()
        left = n - avail
        while left:
            c = chunks[0]
            k = len(c)
            if k <= left:
                parts.append(c)
                chunks.popleft()
                left -= k
            else:
                parts.append(memoryview(c)[:left])
                self._head = left
                break
        else:
            self._head = 0
        self._len -= n
        return _EMPTY.join(parts)

    def clear(self) -> None:
        """Forget everything."""
        self._chunks.clear()
        self._head = 0
        self._len = 0
