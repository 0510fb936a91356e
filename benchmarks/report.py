"""The HTML report of a long transfer: how big the page is and how fast a browser opens it.

A 10 MB transfer on the simulator (10 ms each way, 0.1 % loss, so there are retransmissions
to show), its HTML report, and headless Chromium opening the page from a file:// URL: the
time from navigation to the report's first complete drawing (the ``synack-drawn``
performance mark its script sets), to the load event, and to drawing after a zoom-out.
Prints a table and writes ``benchmarks/results/report.json``.

    .venv/bin/python benchmarks/report.py            # 10 MB
    .venv/bin/python benchmarks/report.py --mb 1     # quicker
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

from synack import api
from synack.link.sim import Network
from synack.timeunits import ms
from synack.trace.html import write_html

RESULTS = Path(__file__).resolve().parent / "results"
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "trace"))


def transfer(n: int) -> Network:
    net = Network(seed=1)
    net.add_host("client", ["10.0.0.1"])
    net.add_host("server", ["10.0.0.2"])
    net.default_path.delay = ms(10)
    net.default_path.loss = 0.001
    srv = api.create_server(net, "server", ("", 5001))
    cli = api.create_connection(net, "client", ("server", 5001))
    conn, _ = srv.accept()
    cli.setblocking(False)
    conn.setblocking(False)
    chunk = b"x" * 65536
    sent = got = 0
    while got < n:
        if sent < n:
            with contextlib.suppress(BlockingIOError):
                sent += cli.send(chunk[:n - sent])
        try:
            got += len(conn.recv(1 << 20))
        except BlockingIOError:
            api.sleep(net, 0.001)
    cli.close()
    conn.close()
    srv.close()
    net.run()
    return net


def browser_times(path: Path, runs: int = 3) -> dict:
    from cdp import CHROMIUM, chromium

    if CHROMIUM is None:
        return {"skipped": "chromium is not installed"}
    drawn, loaded, zoomed = [], [], []
    with chromium() as b:
        for _ in range(runs):
            b.open(path.as_uri())
            drawn.append(b.js("performance.getEntriesByName('synack-drawn')[0].startTime"))
            loaded.append(b.js("performance.getEntriesByType('navigation')[0].loadEventEnd"))
            t = b.js("(() => { const t0 = performance.now(); window.synackReport.zoom(0.01); "
                     "return performance.now() - t0; })()")
            zoomed.append(t)
        problems = b.problems()
    return {"first_drawing_ms": min(drawn), "load_event_ms": min(loaded), "zoom_out_redraw_ms": min(zoomed),
            "runs": runs, "problems": problems}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mb", type=float, default=10.0, help="megabytes to transfer (default 10)")
    args = p.parse_args()
    n = int(args.mb * 1_000_000)
    t0 = time.perf_counter()
    net = transfer(n)
    t_sim = time.perf_counter() - t0
    events = net.recorder.events
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.html"
        t0 = time.perf_counter()
        write_html(events, path, title=f"{args.mb:g} MB transfer", names=net.recorder.names)
        t_html = time.perf_counter() - t0
        size = path.stat().st_size
        browser = browser_times(path)
    sends = sum(1 for e in events if e.event == "send")
    results = {"bytes_transferred": n, "events": len(events), "segments_sent": sends, "page_bytes": size,
               "page_bytes_per_segment": size / sends, "simulate_s": t_sim, "write_html_s": t_html,
               "browser": browser}
    rows = [("transfer", f"{n / 1e6:g} MB, {sends:,} segments, {len(events):,} events", ""),
            ("report size", f"{size / 1e6:.2f} MB ({size / sends:.0f} B a segment)", "< 5 MB"),
            ("write_html", f"{t_html:.2f} s", "")]
    if "skipped" in browser:
        rows.append(("Chromium", browser["skipped"], "< 3 s"))
    else:
        rows += [("Chromium: first drawing", f"{browser['first_drawing_ms'] / 1000:.2f} s", "< 3 s"),
                 ("Chromium: load event", f"{browser['load_event_ms'] / 1000:.2f} s", "< 3 s"),
                 ("Chromium: redraw after zoom-out", f"{browser['zoom_out_redraw_ms']:.0f} ms", "")]
    w = max(len(r[0]) for r in rows)
    for name, value, target in rows:
        print(f"{name:<{w}}  {value:<44} {target}")
    RESULTS.mkdir(exist_ok=True)
    meta = {"python": platform.python_version(), "machine": platform.machine(), "when": time.strftime("%Y-%m-%d")}
    (RESULTS / "report.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
