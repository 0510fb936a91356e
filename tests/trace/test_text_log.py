"""The plain-text event log (synack.trace.text) that the example in
synack/examples/demo.py prints: tcpdump-style relative numbers, host names, state changes
as RFC 9293 spells them."""

from __future__ import annotations

import re

from synack.examples import demo
from synack.trace.text import format_events

#: TSvals depend on the connection's clock offset (RFC 7323 §5.4): shown as N here; an
#: echo of 0 (in a SYN) stays 0.
_TS = re.compile(r"TS val \d+ ecr (?:[1-9]\d*)")
_TS_SYN = re.compile(r"TS val \d+ ecr 0")


def test_demo_shows_handshake_exchange_close_and_time_wait(capsys):
    demo.main()
    out = capsys.readouterr().out
    lines = [ln.split(None, 2)[2] if len(ln.split(None, 2)) > 2 else ln for ln in out.splitlines()]
    lines = [_TS_SYN.sub("TS val N ecr 0", _TS.sub("TS val N ecr N", ln)) for ln in lines]
    expected_in_order = [
        "client    CLOSED -> SYN-SENT  (active OPEN)",
        # Linux's SYN options, order and values (RFC 2018 SACK-permitted, RFC 7323 TS and wscale;
        # the window in whole segments, scaled by 2**10 after the SYNs)
        "client -> server   Flags [S], seq 0, win 64240, "
        "options [mss 1460,sackOK,TS val N ecr 0,nop,wscale 10], length 0",
        "server    LISTEN -> SYN-RECEIVED  (SYN received)",
        "server -> client   Flags [S.], seq 0, ack 1, win 65160, "
        "options [mss 1460,sackOK,TS val N ecr N,nop,wscale 10], length 0",
        "client    SYN-SENT -> ESTABLISHED  (SYN,ACK received)",
        "client -> server   Flags [.], seq 1, ack 1, win 63, options [nop,nop,TS val N ecr N], length 0",
        "server    SYN-RECEIVED -> ESTABLISHED  (ACK of SYN)",
        "client -> server   Flags [P.], seq 1:33, ack 1, win 63, options [nop,nop,TS val N ecr N], length 32",
        "server -> client   Flags [P.], seq 1:44, ack 33, win 64, options [nop,nop,TS val N ecr N], length 43",
        "client    ESTABLISHED -> FIN-WAIT-1  (CLOSE)",
        "client -> server   Flags [F.], seq 33, ack 44, win 63, options [nop,nop,TS val N ecr N], length 0",
        "server    ESTABLISHED -> CLOSE-WAIT  (FIN received)",
        "server    CLOSE-WAIT -> LAST-ACK  (CLOSE)",
        "client    FIN-WAIT-2 -> TIME-WAIT  (FIN received)",
        "server    LAST-ACK -> CLOSED  (ACK of FIN)",
        "client    TIME-WAIT -> CLOSED  (2*MSL elapsed)",
    ]
    pos = 0
    for want in expected_in_order:
        while pos < len(lines) and lines[pos].strip() != want:
            pos += 1
        assert pos < len(lines), f"missing or out of order: {want!r}\n{out}"
    assert "60070.000 ms    client    TIME-WAIT -> CLOSED" in out
    assert "simulated time: 60.070 s" in out


def test_absolute_numbers_show_the_isn():
    net = demo.run(seed=3)
    rel = format_events(net.recorder.events)
    absolute = format_events(net.recorder.events, absolute=True)
    syn_rel = next(ln for ln in rel if "Flags [S]," in ln)
    syn_abs = next(ln for ln in absolute if "Flags [S]," in ln)
    assert "seq 0," in syn_rel
    client_conn = next(e for e in net.recorder.events if e.event == "send" and e.host == "client").seg
    assert f"seq {int(client_conn.seq)}," in syn_abs
