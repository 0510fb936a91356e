"""The receive buffer keeps arriving chunks as they are and reads them in order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from synack.tcp.rcvbuf import ReceiveBuffer


def test_a_whole_chunk_is_returned_without_a_copy():
    buf = ReceiveBuffer()
    chunk = bytes(range(256)) * 256
    buf.append(chunk)
    buf.append(b"tail")
    assert buf.take(len(chunk)) is chunk
    assert len(buf) == 4 and buf


def test_reads_across_chunks_and_inside_one():
    buf = ReceiveBuffer()
    for part in (b"abc", b"", b"defg", b"h"):
        buf.append(part)
    assert len(buf) == 8
    assert buf.take(2) == b"ab"
    assert buf[0] == ord("c") and buf[5] == ord("h")
    assert buf.take(4) == b"cdef"
    assert buf.take(100) == b"gh"
    assert not buf and buf.take(1) == b""


def test_clear_forgets_everything():
    buf = ReceiveBuffer()
    buf.append(b"abc")
    buf.take(1)
    buf.clear()
    assert len(buf) == 0
    buf.append(b"xy")
    assert buf.take(5) == b"xy"


@given(st.lists(st.binary(max_size=40), max_size=20), st.lists(st.integers(0, 60), max_size=30))
def test_the_octets_come_out_as_they_went_in(chunks, reads):
    buf = ReceiveBuffer()
    for c in chunks:
        buf.append(c)
    stream = b"".join(chunks)
    got = b""
    for n in reads:
        if got and len(got) < len(stream):
            assert buf[0] == stream[len(got)]
        got += buf.take(n)
        assert len(buf) == len(stream) - len(got)
    got += buf.take(len(stream))
    assert got == stream
