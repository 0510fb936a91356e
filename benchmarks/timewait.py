"""TIME-WAIT at scale on the simulator: a churn of connections through one narrow client port
range, and the memory each TIME-WAIT entry costs.

``churn``
    ``--connections`` (10,000) connections, one after another, from a client whose
    ephemeral ports are ``--ports`` (100) wide, to one server 1 ms away. Each connection
    sends 4 octets, the server echoes them and closes first, so the server keeps every
    4-tuple in TIME-WAIT for 60 s (2*MSL) and the client comes back from each port while
    the server still holds it. RFC 6191 (and RFC 9293 §3.6.1 MAY-2) lets the new SYN end
    the TIME-WAIT, so each connect should take one round trip (2 ms); a SYN that bounces
    off TIME-WAIT costs at least a SYN retransmission (1 s). Reported: connects that took
    more than one round trip, the slowest connect, the simulated and the wall time.
``memory``
    ``--records`` (2,000) server-side TIME-WAIT entries, made one after another and kept
    (each from a client port of its own, so no 4-tuple is reused), measured with tracemalloc once the
    application has let go of its connection objects: everything the server host holds
    per entry (the record, its place in the table and in the deadline heap).

Both run on this checkout and on a pinned earlier revision (``--before``, default 88e5009,
the last commit before TIME-WAIT became a small record and RFC 6191 was followed; ``none``
skips it), each in a fresh process, taken with ``git archive``. A table goes to the terminal,
JSON to benchmarks/results/timewait.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
BEFORE = "88e5009"
SERVER, CLIENT, PORT = "10.0.0.2", "10.0.0.1", 80


# ------------------------------------------------------------------ the workloads (run in a child)
def _session(net, client, lst, ms, sec, closed, port: int = 0) -> int:
    """One connection (from ``port``, or an ephemeral port when 0): connect, 4 octets each
    way, the server closes first; the connect time in simulated ns (or -1 when it did not
    connect within 10 s)."""
    start = net.now
    c = client.connect(SERVER, PORT, net.now, local_port=port)
    if not net.run_until(lambda: c.state.name != "SYN_SENT", sec(10)):
        return -1
    took = net.now - start
    if not net.run_until(lambda: lst.accept_queue, sec(1)):
        return -1
    s = lst.accept()
    c.send(b"ping", net.now)
    net.run_until(lambda: s.readable, sec(1))
    s.send(s.receive(100, net.now), net.now)
    s.close(net.now)
    net.run_until(lambda: c.fin_received, sec(1))
    c.receive(100, net.now)
    c.close(net.now)
    net.run_until(lambda: c.state is closed, sec(2))
    return took


def _network():
    from synack.link.sim import Network
    from synack.timeunits import ms

    net = Network(seed=1, trace=False)
    client = net.add_host("client", [CLIENT])
    server = net.add_host("server", [SERVER])
    net.set_both("client", "server", delay=ms(1))
    lst = server.listen(PORT, 0, backlog=1024)
    return net, client, server, lst


def churn(connections: int, ports: int) -> dict:
    from synack.tcp.state import State
    from synack.timeunits import ms, sec

    net, client, server, lst = _network()
    client.ephemeral_ports = (40000, 40000 + ports - 1)
    wall = time.perf_counter()
    took = [_session(net, client, lst, ms, sec, State.CLOSED) for _ in range(connections)]
    wall = time.perf_counter() - wall
    rtt = ms(2)
    ok = [t for t in took if t >= 0]
    return {
        "connections": connections, "ports": ports, "failed": len(took) - len(ok),
        "extra_round_trips": sum(1 for t in ok if t > rtt),
        "connect_worst_s": max(ok) / 1e9 if ok else None,
        "connect_mean_ms": sum(ok) / len(ok) / 1e6 if ok else None,
        "simulated_s": net.now / 1e9, "wall_s": wall,
        "server_time_wait": sum(1 for x in server.conns.values() if x.state is State.TIME_WAIT),
    }


def memory(records: int) -> dict:
    import gc
    import tracemalloc

    from synack.tcp.state import State
    from synack.timeunits import ms, sec

    net, client, server, lst = _network()
    # Each session from a port of its own, in order: an ephemeral port drawn at random would
    # now and then land on a 4-tuple still in TIME-WAIT, reopen it (RFC 6191) and leave two
    # sessions to one record, so the measure would no longer be per record.
    _session(net, client, lst, ms, sec, State.CLOSED, 9999)  # (warm up: caches, first allocations)
    net.run_for(sec(5))
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for i in range(records):
        _session(net, client, lst, ms, sec, State.CLOSED, 10000 + i)
    net.run_for(sec(5))  # the last segments and timers of the last connections are gone
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    kept = sum(1 for x in server.conns.values() if x.state is State.TIME_WAIT) - 1
    grown = sum(d.size_diff for d in after.compare_to(before, "filename"))
    return {"records": kept, "bytes_per_record": grown / kept if kept > 0 else None,
            "kind": sorted({type(x).__name__ for x in server.conns.values()})}


_CHILD = """
import json, runpy, sys
sys.path.insert(0, {src!r})
m = runpy.run_path({script!r})
print("RESULT " + json.dumps({{"churn": m["churn"]({connections}, {ports}), "memory": m["memory"]({records})}}))
"""


def run_child(src: Path, args: argparse.Namespace) -> dict:
    code = _CHILD.format(src=str(src), script=str(Path(__file__).resolve()), connections=args.connections,
                         ports=args.ports, records=args.records)
    env = dict(os.environ, PYTHONPATH=str(src), PYTHONHASHSEED="0")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=7200)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"the benchmark failed on {src}: {out.stderr.strip().splitlines()[-1:] or out.returncode}")


def _fmt(x, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def main(argv: list[str] | None = None) -> int:
    import pinned  # the parent only: children run this file without benchmarks/ on sys.path
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connections", type=int, default=10_000, help="connections in the churn (default 10,000)")
    ap.add_argument("--ports", type=int, default=100, help="width of the client's port range (default 100)")
    ap.add_argument("--records", type=int, default=2_000, help="TIME-WAIT entries measured (default 2,000)")
    ap.add_argument("--before", default=BEFORE, metavar="REV", help=f"earlier revision (default {BEFORE}; none)")
    args = ap.parse_args(argv)
    for name in ("connections", "ports", "records"):
        if getattr(args, name) < 1:
            ap.error(f"--{name} must be at least 1")
    if args.ports > 20_000:
        ap.error("--ports must be at most 20,000")
    revs: dict[str, dict] = {"now": run_child(ROOT / "src", args)}
    if args.before != "none":
        with tempfile.TemporaryDirectory() as tmp:
            src = pinned.checkout(args.before, Path(tmp))
            if src is None:
                print(f"note: no figures for {args.before}: git archive failed", file=sys.stderr)
            else:
                revs[args.before] = run_child(src / "src", args)
    rows = [
        ("connects taking more than one round trip", "churn", "extra_round_trips", ","),
        ("connects that failed (10 s)", "churn", "failed", ","),
        ("slowest connect, s", "churn", "connect_worst_s", ".3f"),
        ("mean connect, ms", "churn", "connect_mean_ms", ".2f"),
        ("simulated time, s", "churn", "simulated_s", ".1f"),
        ("wall time, s", "churn", "wall_s", ".1f"),
        ("server entries in TIME-WAIT at the end", "churn", "server_time_wait", ","),
        ("memory per TIME-WAIT entry, octets", "memory", "bytes_per_record", ",.0f"),
    ]
    names = list(revs)
    print(f"{args.connections:,} connections through {args.ports} client ports; "
          f"{args.records:,} TIME-WAIT entries measured")
    print(f"{'measure':42} " + " ".join(f"{n:>12}" for n in names))
    for label, part, key, spec in rows:
        print(f"{label:42} " + " ".join(f"{_fmt(revs[n][part][key], spec):>12}" for n in names))
    meta = {"python": sys.version.split()[0], "machine": platform.machine(),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "connections": args.connections, "ports": args.ports,
            "records": args.records, "before": args.before}
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "timewait.json"
    out.write_text(json.dumps({"meta": meta, "revisions": revs}, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
