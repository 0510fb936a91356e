"""synack benchmarks: `make bench` prints a table and writes JSON to benchmarks/results/.

Simulator figures (both ends in one process, tracing off):
- handshake-plus-close cycles per wall-second,
- bulk-transfer data segments per wall-second,
- memory per idle ESTABLISHED connection with 10,000 open (tracemalloc).
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import time
import tracemalloc
from pathlib import Path

from synack.link.sim import Network
from synack.tcp.config import TcpConfig
from synack.timeunits import ms, sec

RESULTS = Path(__file__).resolve().parent / "results"


def _pair(seed: int = 1, delay: int = ms(1), config: TcpConfig | None = None):
    net = Network(seed=seed, trace=False)
    net.default_path.delay = delay
    kw = {"config": config} if config else {}
    c = net.add_host("client", ["10.0.0.1"], **kw)
    s = net.add_host("server", ["10.0.0.2"], **kw)
    return net, c, s


def bench_cycles(n: int) -> dict:
    """Sequential connect -> accept -> close (both sides) -> all CLOSED, n times."""
    net, c, s = _pair()
    lst = s.listen(80, net.now, backlog=1024)
    t0 = time.perf_counter()
    for _ in range(n):
        conn = c.connect("10.0.0.2", 80, net.now)
        net.run_until(lambda: bool(lst.accept_queue))
        sc = lst.accept()
        conn.close(net.now)
        c.call(conn, net.now)
        net.run_until(lambda: sc.at_eof)
        sc.close(net.now)
        s.call(sc, net.now)
        net.run_until(lambda: sc.state.value == "CLOSED")
    wall = time.perf_counter() - t0
    net.run()  # let the TIME-WAITs expire
    return {"cycles": n, "wall_s": wall, "cycles_per_s": n / wall}


def bench_bulk(nbytes: int) -> dict:
    """One-way bulk transfer; counts data segments sent (retransmissions included)."""
    net, c, s = _pair(config=TcpConfig(delayed_ack=ms(40)))
    lst = s.listen(80, net.now)
    conn = c.connect("10.0.0.2", 80, net.now)
    net.run_until(lambda: bool(lst.accept_queue))
    sc = lst.accept()
    chunk = bytes(range(256)) * 256  # 64 KiB
    sent = received = 0
    t0 = time.perf_counter()
    while received < nbytes:
        if sent < nbytes and conn.send_space:
            sent += conn.send(chunk[: min(len(chunk), nbytes - sent)], net.now)
            c.call(conn, net.now)
        got = sc.receive(1 << 20, net.now)
        if got:
            received += len(got)
            s.call(sc, net.now)
        else:
            net.step()
    wall = time.perf_counter() - t0
    segs = conn.segs_out
    return {"bytes": nbytes, "wall_s": wall, "data_segments": segs, "segments_per_s": segs / wall,
            "goodput_mbit_s": nbytes * 8 / wall / 1e6, "sim_s": net.now / 1e9}


def bench_memory(n: int) -> dict:
    """Memory of n idle ESTABLISHED connection pairs, per connection endpoint."""
    net, c, s = _pair()
    lst = s.listen(80, net.now, backlog=n + 1)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.take_snapshot()
    clients, servers = [], []
    for i in range(n):
        clients.append(c.connect("10.0.0.2", 80, net.now))
        if i % 256 == 255:
            net.run_for(ms(10))
    net.run_for(sec(1))  # let delayed ACKs fire: the connections are idle
    while (sc := lst.accept()) is not None:
        servers.append(sc)
    gc.collect()
    snap = tracemalloc.take_snapshot()
    tracemalloc.stop()
    total = sum(st.size_diff for st in snap.compare_to(base, "filename"))
    est = sum(1 for x in clients + servers if x.state.value == "ESTABLISHED")
    return {"connections": n, "endpoints_established": est, "bytes_total": total,
            "bytes_per_endpoint": total / max(est, 1), "bytes_per_pair": total / max(est // 2, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller runs (a smoke test of the benchmark)")
    args = ap.parse_args(argv)
    q = args.quick
    results = {
        "cycles": bench_cycles(200 if q else 5000),
        "bulk": bench_bulk((2 if q else 50) * 1_000_000),
        "memory": bench_memory(1000 if q else 10_000),
    }
    meta = {"python": sys.version.split()[0], "machine": platform.machine(), "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
    rows = [
        ("handshake+close cycles / wall-s", f"{results['cycles']['cycles_per_s']:,.0f}", ">= 5,000"),
        ("bulk data segments / wall-s", f"{results['bulk']['segments_per_s']:,.0f}", ">= 50,000"),
        ("bulk goodput (Mbit/s, wall)", f"{results['bulk']['goodput_mbit_s']:,.1f}", ""),
        ("memory / idle established endpoint (B)", f"{results['memory']['bytes_per_endpoint']:,.0f}", "< 4,096"),
    ]
    try:
        from rich.console import Console
        from rich.table import Table
        t = Table(title="synack benchmarks (simulator, one process)")
        for col in ("measure", "result", "aim"):
            t.add_column(col)
        for r in rows:
            t.add_row(*r)
        Console().print(t)
    except ImportError:
        w = max(len(r[0]) for r in rows)
        print("synack benchmarks (simulator, one process)")
        for r in rows:
            print(f"  {r[0]:<{w}}  {r[1]:>12}  {r[2]}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("sim-quick.json" if q else "sim.json")
    out.write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
