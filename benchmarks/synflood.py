"""SYN-flood resilience on the simulator: `make bench` runs it after benchmarks/run.py.

An attacker sends N SYNs per second from random spoofed addresses (198.18.0.0/15) at one
listener (listen backlog 128, so a SYN queue of 128, SYN,ACK retransmitted 5 times: Linux's
defaults) while legitimate clients connect, one every 200 ms, each giving up after 3 s (a
user's connect timeout). For each flood rate, with SYN cookies on (net.ipv4.tcp_syncookies
= 1) and off (0), it reports the share of legitimate connections that complete and their
connect latency (one-way delay 10 ms: a bare handshake takes 20 ms), and how fast the
server handles the flood (SYNs per wall-second). Separately, the memory the server holds
under a flood (tracemalloc), cookies on and off.

Prints a table and writes benchmarks/results/synflood.json (synflood-quick.json with
--quick).
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

from synack.link.sim import Network
from synack.tcp.state import State
from synack.timeunits import ms, sec
from synack.trace.events import Recorder
from synack.wire.ip import emit_packet
from synack.wire.seq import Seq
from synack.wire.tcp import SYN, Mss, SackPermitted, TcpSegment, Timestamps, WindowScale

RESULTS = Path(__file__).resolve().parent / "results"
SERVER = "10.0.0.2"
PORT = 80
DELAY = ms(10)
CONNECT_TIMEOUT = sec(3)


class Flooder:
    """A host that only sends spoofed SYNs, ``rate`` a second in 1 ms batches, until ``end``
    (the link side of a Host, so the simulator moves its packets through its path)."""

    def __init__(self, name: str, addr: str, rate: int, end: int, seed: int) -> None:
        self.name, self.addrs, self.changed = name, [addr], True
        self.rate, self.end = rate, end
        self.rng = random.Random(seed)
        self.sent = 0
        self._next = 0
        self._tx: list = []
        self._opts = (Mss(1460), SackPermitted(), Timestamps(0, 0), WindowScale(7))

    def deliver(self, packet: bytes, now: int) -> None:
        pass

    def take_packets(self) -> list:
        tx, self._tx = self._tx, []
        return tx

    def next_deadline(self):
        return self._next if self._next < self.end else None

    def on_timeout(self, now: int) -> None:
        self.changed = True
        rng = self.rng
        while self._next <= now and self._next < self.end:
            tick = self._next // ms(1)
            due = (tick + 1) * self.rate // 1000 - tick * self.rate // 1000   # exact rate over 1 s
            for _ in range(due):
                a = rng.getrandbits(17)
                src = f"198.{18 + (a >> 16)}.{(a >> 8) & 0xFF}.{a & 0xFF or 1}"
                seg = TcpSegment(rng.randrange(1024, 65536), PORT, Seq(rng.getrandbits(32)), Seq(0), SYN, 64240,
                                 b"", self._opts)
                self._tx.append(emit_packet(src, SERVER, seg))
            self.sent += due
            self._next += ms(1)


def run_flood(rate: int, cookies: int, duration: int, clients_every: int = ms(200), seed: int = 1) -> dict:
    net = Network(seed=seed, trace=False)
    net.default_path.delay = DELAY
    client_rec = Recorder(on=True)                         # only the client's events are kept
    client = net.add_host("client", ["10.0.0.1"], recorder=client_rec)
    server = net.add_host("server", [SERVER], syncookies=cookies)
    lst = server.listen(PORT, net.now, backlog=128)
    flood = net.attach(Flooder("attacker", "10.0.0.66", rate, duration, seed))
    starts = list(range(sec(1), duration - CONNECT_TIMEOUT + 1, clients_every))
    conns = []
    t0 = time.perf_counter()
    for start in starts:
        net.run_until(lambda: False, start - net.now)
        conns.append((start, client.connect(SERVER, PORT, net.now)))
        while lst.accept_queue:
            lst.accept()
    net.run_until(lambda: False, duration + CONNECT_TIMEOUT - net.now)
    wall = time.perf_counter() - t0
    established = {}
    for ev in client_rec.events:
        if ev.event == "state" and ev.new == "ESTABLISHED":
            established.setdefault(ev.conn, ev.t)
    lat = []
    for start, conn in conns:
        t = established.get(conn.cid)
        if t is not None and t - start <= CONNECT_TIMEOUT:
            lat.append((t - start) / 1e6)
        if conn.state is not State.CLOSED:
            conn.abort(net.now)
    lat.sort()
    st = lst.stats
    return {
        "rate_syn_per_s": rate, "syncookies": cookies, "duration_s": duration / 1e9,
        "spoofed_syns": flood.sent, "legit_attempts": len(conns), "legit_completed": len(lat),
        "completed_share": len(lat) / max(len(conns), 1),
        "latency_ms_median": statistics.median(lat) if lat else None,
        "latency_ms_p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else None,
        "latency_ms_max": lat[-1] if lat else None,
        "syn_queue_at_end": len(lst.pending), "cookies_sent": st.cookies_sent,
        "cookies_accepted": st.cookies_accepted, "syns_dropped": st.syn_dropped,
        "wall_s": wall, "syns_per_wall_s": flood.sent / wall if wall else None,
    }


def run_memory(rate: int, cookies: int, duration: int, seed: int = 2) -> dict:
    """Memory the server holds after ``duration`` of flood (tracemalloc, server objects)."""
    net = Network(seed=seed, trace=False)
    net.default_path.delay = DELAY
    server = net.add_host("server", [SERVER], syncookies=cookies)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    lst = server.listen(PORT, net.now, backlog=128)
    net.attach(Flooder("attacker", "10.0.0.66", rate, duration, seed))
    net.run_until(lambda: False, duration)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    keep = ("synack/stack", "synack/tcp")
    filt = [tracemalloc.Filter(True, f"*{k}*") for k in keep]
    held = sum(s.size_diff for s in after.filter_traces(filt).compare_to(before.filter_traces(filt), "filename"))
    return {"rate_syn_per_s": rate, "syncookies": cookies, "duration_s": duration / 1e9,
            "syn_queue": len(lst.pending), "server_connections": len(server.conns),
            "bytes_held": held, "bytes_per_half_open": held / max(len(lst.pending), 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller runs (a smoke test of the benchmark)")
    ap.add_argument("--rates", type=lambda s: [int(x) for x in s.split(",")], default=None,
                    help="comma-separated flood rates in SYN/s (default 10,100,1000,10000)")
    ap.add_argument("--duration", type=float, default=None, help="flood length in simulated seconds (default 10)")
    args = ap.parse_args(argv)
    q = args.quick
    rates = args.rates or ([100, 2000] if q else [10, 100, 1000, 10000])
    duration = sec(args.duration if args.duration else (5 if q else 10))
    if duration <= sec(1) + CONNECT_TIMEOUT:
        ap.error("--duration must be more than 4 s (clients start at 1 s and wait 3 s)")
    floods = [run_flood(r, c, duration) for r in rates for c in (1, 0)]
    mem_rate, mem_dur = (2000, sec(2)) if q else (10000, sec(5))
    memory = [run_memory(mem_rate, c, mem_dur) for c in (1, 0)]
    meta = {"python": sys.version.split()[0], "machine": platform.machine(),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "one_way_delay_ms": DELAY / 1e6,
            "backlog": 128, "connect_timeout_s": CONNECT_TIMEOUT / 1e9}

    def f(x, fmt="{:,.0f}"):
        return "-" if x is None else fmt.format(x)

    head = ("SYN/s", "cookies", "legit done", "median ms", "p99 ms", "SYN queue", "cookies sent", "SYNs/wall-s")
    rows = [(f"{r['rate_syn_per_s']:,}", "on" if r["syncookies"] else "off",
             f"{r['legit_completed']}/{r['legit_attempts']} ({r['completed_share']:.0%})",
             f(r["latency_ms_median"], "{:.1f}"), f(r["latency_ms_p99"], "{:.1f}"), str(r["syn_queue_at_end"]),
             f"{r['cookies_sent']:,}", f(r["syns_per_wall_s"])) for r in floods]
    mrows = [(f"{m['rate_syn_per_s']:,} SYN/s for {m['duration_s']:g} s", "on" if m["syncookies"] else "off",
              str(m["syn_queue"]), f"{m['bytes_held'] / 1024:,.0f} KiB", f"{m['bytes_per_half_open']:,.0f} B")
             for m in memory]
    try:
        from rich.console import Console
        from rich.table import Table
        con = Console(width=max(Console().width, 110))
        t = Table(title="SYN flood against one listener (simulator; backlog 128, 10 ms one way)")
        for col in head:
            t.add_column(col, justify="right")
        for r in rows:
            t.add_row(*r)
        con.print(t)
        m = Table(title="memory the server holds under the flood")
        for col in ("flood", "cookies", "SYN queue", "held", "per half-open"):
            m.add_column(col, justify="right")
        for r in mrows:
            m.add_row(*r)
        con.print(m)
    except ImportError:
        print("  ".join(head))
        for r in rows + mrows:
            print("  ".join(r))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("synflood-quick.json" if q else "synflood.json")
    out.write_text(json.dumps({"meta": meta, "floods": floods, "memory": memory}, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
