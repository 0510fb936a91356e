"""synack against the Linux kernel over a TUN device, beside kernel-to-kernel over veth.

Run as root (``make bench`` runs it when it is): every figure is measured in network
namespaces this script creates and deletes, in one run, side by side:

- bulk throughput kernel -> stack and stack -> kernel (50 MB, one connection);
- connect-send-close cycles per second: the kernel's client against the stack's server
  (the same client program as the kernel-to-kernel figure), and the stack's client
  against the kernel's server;
- a burst: 1,000 kernel clients connect at once to the stack's echo server and each
  echoes 100 KB to 1 MB; how many finish intact, how many are reset;

for synack with TUN offloads on (virtio-net header, TSO/GSO both ways; synack's sender
emits TSO super-segments), the same without synack's TSO (one MSS per segment, runs
merged into GSO writes by the link), synack with offloads off (one wire-sized packet
per read and write), the kernel over a veth pair, and PyTCP (pmd-pytcp 0.3.8, in a venv
of its own), where it installs and runs.

synack runs on asyncio streams in this process, one thread; the kernel's side runs in a
child Python process inside the namespace, so the two do not share a GIL. A table goes to
the terminal and JSON to benchmarks/results/kernel.json. ``--profile DIR`` profiles the
synack side of each figure and prints the top entries.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import platform
import pstats
import secrets
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"

# The kernel's side: a tiny program run with `ip netns exec NS python -c PEER MODE ...`.
PEER = textwrap.dedent("""
    import asyncio, hashlib, random, socket, sys, time
    mode = sys.argv[1]
    def listener(port):
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port)); s.listen(4096); print("ready", flush=True); return s
    if mode == "sink":                       # read one connection to EOF
        s = listener(int(sys.argv[2])); c, _ = s.accept(); n = 0; t = time.perf_counter()
        while True:
            b = c.recv(1 << 20)
            if not b: break
            n += len(b)
        dt = time.perf_counter() - t; c.close(); print(n, dt, flush=True)
    elif mode == "source":                   # connect and send N bytes
        c = socket.socket(); c.connect((sys.argv[2], int(sys.argv[3]))); n = int(sys.argv[4])
        buf = b"x" * (1 << 20); t = time.perf_counter(); left = n
        while left > 0:
            left -= c.send(buf[:min(left, len(buf))])
        c.shutdown(socket.SHUT_WR); c.recv(1); print(n, time.perf_counter() - t, flush=True); c.close()
    elif mode == "cycles-server":            # read each connection to EOF, then close
        s = listener(int(sys.argv[2]))
        while True:
            c, _ = s.accept()
            while c.recv(65536): pass
            c.close()
    elif mode == "cycles-client":            # connect, send, half-close, wait for the close
        host, port, secs = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
        end = time.perf_counter() + secs; n = 0; t = time.perf_counter()
        while time.perf_counter() < end:
            c = socket.socket()
            c.connect((host, port)); c.sendall(b"x" * 100); c.shutdown(socket.SHUT_WR)
            c.recv(1); c.close(); n += 1
        print(n, time.perf_counter() - t, flush=True)
    elif mode == "burst":                    # N clients at once, each echoing lo..hi octets
        host, port, n, lo, hi, limit = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), \\
            int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
        rng = random.Random(1)
        sizes = [rng.randint(lo, hi) for _ in range(n)]
        block = random.Random(2).randbytes(hi)
        res = {"intact": 0, "reset": 0, "refused": 0, "timeout": 0, "corrupt": 0, "other": 0}
        async def one(i):
            size = sizes[i]
            data = block[i % 997:] + block[:i % 997]
            data = data[:size]
            try:
                r, w = await asyncio.open_connection(host, port)
                async def send():
                    for k in range(0, size, 65536):
                        w.write(data[k:k + 65536]); await w.drain()
                    w.write_eof()
                t = asyncio.ensure_future(send())
                got = hashlib.sha256()
                m = 0
                while True:
                    b = await r.read(1 << 18)
                    if not b: break
                    got.update(b); m += len(b)
                await t; w.close()
                res["intact" if got.digest() == hashlib.sha256(data).digest() and m == size else "corrupt"] += 1
            except ConnectionResetError: res["reset"] += 1
            except ConnectionRefusedError: res["refused"] += 1
            except (asyncio.TimeoutError, TimeoutError): res["timeout"] += 1
            except OSError: res["other"] += 1
        async def main():
            t = time.perf_counter()
            tasks = [asyncio.ensure_future(asyncio.wait_for(one(i), limit)) for i in range(n)]
            for f in tasks:
                try: await f
                except (asyncio.TimeoutError, TimeoutError): res["timeout"] += 1
            res["seconds"] = time.perf_counter() - t; res["octets"] = sum(sizes)
            print(" ".join(f"{k}={v}" for k, v in res.items()), flush=True)
        asyncio.run(main())
""")

SYNACK, KERNEL = "10.99.0.2", "10.99.0.1"


def sh(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


class Ns:
    def __init__(self, tag: str) -> None:
        self.name = f"synack-bench-{tag}-{secrets.token_hex(3)}"
        sh("ip", "netns", "add", self.name)
        sh("ip", "-n", self.name, "link", "set", "lo", "up")

    def peer(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(["ip", "netns", "exec", self.name, sys.executable, "-c", PEER, *args],
                                stdout=subprocess.PIPE, text=True)

    def delete(self) -> None:
        for pid in sh("ip", "netns", "pids", self.name).split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), 9)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


def _result(p: subprocess.Popen) -> tuple[int, float]:
    out, _ = p.communicate(timeout=600)
    n, dt = out.split()[-2:]
    return int(n), float(dt)


async def _line(p: subprocess.Popen) -> str:
    return await asyncio.get_running_loop().run_in_executor(None, p.stdout.readline)  # type: ignore[union-attr]


class Profiler:
    """cProfile around the synack side of each figure, when asked (``--profile DIR``)."""

    def __init__(self, where: str | None) -> None:
        self.dir = Path(where) if where else None
        self.top: dict[str, list[str]] = {}
        #: CPU seconds of this process per wall second of each figure (1.0: one core busy)
        self.busy: dict[str, float] = {}
        if self.dir:
            self.dir.mkdir(parents=True, exist_ok=True)

    def __call__(self, name: str, profile: bool = True) -> Any:
        """A context that measures CPU use as ``name`` and, if ``profile``, profiles it."""
        prof = self
        on = bool(self.dir) and profile

        class _Ctx:
            def __enter__(self) -> None:
                self.cpu, self.wall = time.process_time(), time.perf_counter()
                if on:
                    import cProfile

                    self.p = cProfile.Profile()
                    self.p.enable()

            def __exit__(self, *exc: Any) -> None:
                wall = time.perf_counter() - self.wall
                prof.busy[name] = (time.process_time() - self.cpu) / wall if wall > 0 else 0.0
                if on:
                    self.p.disable()
                    path = prof.dir / f"{name}.prof"  # type: ignore[operator]
                    self.p.dump_stats(str(path))
                    out = io.StringIO()
                    pstats.Stats(str(path), stream=out).sort_stats("tottime").print_stats(12)
                    rows = [r for r in out.getvalue().splitlines() if r.strip()[:1].isdigit()]
                    prof.top[name] = rows[:12]

        return _Ctx()


# ------------------------------------------------------------------------ synack
def _host(addr: str, rcv_buf: int) -> Any:
    """A Host as ``synack listen`` makes it: Linux-like listen queues, a receive buffer
    that lets the kernel keep a window of super-segments in flight."""
    from synack.link.driver import real_host
    from synack.tcp.config import TcpConfig

    return real_host(addr, config=TcpConfig(rcv_buf=rcv_buf, snd_buf=max(rcv_buf, 1 << 20)),
                     max_syn_backlog=4096)


async def _rx(ns: Ns, stack: Any, size: int, port: int) -> float:
    """kernel -> synack: the kernel's source sends ``size`` octets; Mbit/s at synack's sink."""
    from synack.api import streams

    done = asyncio.get_running_loop().create_future()

    async def sink(reader: Any, writer: Any) -> None:
        t = time.perf_counter()
        n = 0
        while True:
            b = await reader.read(1 << 20)
            if not b:
                break
            n += len(b)
        dt = time.perf_counter() - t
        writer.close()
        done.set_result((n, dt))

    server = await streams.start_server(sink, None, port, stack=stack)
    src = ns.peer("source", SYNACK, str(port), str(size))
    n, dt = await done
    _result(src)
    server.close()
    assert n == size, (n, size)
    return n * 8 / dt / 1e6


async def _tx(ns: Ns, stack: Any, size: int, port: int) -> float:
    """synack -> kernel: synack sends ``size`` octets to the kernel's sink; Mbit/s."""
    from synack.api import streams

    snk = ns.peer("sink", str(port))
    await _line(snk)
    reader, writer = await streams.open_connection(KERNEL, port, stack=stack, timeout=5)
    chunk = b"x" * (1 << 20)
    t = time.perf_counter()
    left = size
    while left > 0:
        writer.write(chunk[:min(left, len(chunk))])
        left -= len(chunk)
        await writer.drain()
    writer.write_eof()
    await reader.read()           # the sink closes after EOF
    dt = time.perf_counter() - t
    n, _ = _result(snk)
    assert n == size, (n, size)
    writer.close()
    return size * 8 / dt / 1e6


async def _cycles_server(ns: Ns, stack: Any, seconds: float, port: int) -> float:
    """The kernel's client (connect, send 100 octets, half-close, wait for the close)
    against synack's server (read to EOF, close): cycles per second."""
    from synack.api import streams

    async def drain_close(reader: Any, writer: Any) -> None:
        while await reader.read(65536):
            pass
        writer.close()

    server = await streams.start_server(drain_close, None, port, stack=stack, backlog=4096)
    cli = ns.peer("cycles-client", SYNACK, str(port), str(seconds))
    out = await _line(cli)
    n, dt = out.split()
    server.close()
    return int(n) / float(dt)


async def _cycles_client(ns: Ns, stack: Any, seconds: float, port: int) -> float:
    """synack's client against the kernel's server: cycles per second."""
    from synack.api import streams

    cyc = ns.peer("cycles-server", str(port))
    await _line(cyc)
    payload = b"x" * 100
    count = 0
    t = time.perf_counter()
    end = t + seconds
    while time.perf_counter() < end:
        reader, writer = await streams.open_connection(KERNEL, port, stack=stack, timeout=5)
        writer.write(payload)
        writer.write_eof()
        await reader.read()
        writer.close()
        count += 1
    cyc.kill()
    return count / (time.perf_counter() - t)


async def synack_figures(size: int, seconds: float, offload: bool, rcv_buf: int, burst: int,
                         prof: Profiler, repeat: int, max_segment_bytes: int | None = None,
                         tso: bool = True) -> dict:
    """Every figure for synack with offloads on or off, each the best of ``repeat`` runs
    (the machine is shared: the best run is the one least disturbed); all runs are kept.
    ``tso=False``: offloads on, but synack's sender keeps to one MSS per segment (the link
    still merges runs of them into GSO writes), for comparison."""
    from synack.api import streams
    from synack.link.tun import TunLink

    tag = ("on" if tso else "notso") if offload else "off"
    ns = Ns(f"tun{tag}")
    link, own, _ = TunLink.create(f"{SYNACK}/24", name=f"skb{tag}", netns=ns.name, offload=offload)
    host = _host(own, rcv_buf)
    stack = streams.Stack(host, link)   # (the Host learns the link's features: TSO where it has GSO)
    if max_segment_bytes and link.features.gso:
        host.max_segment_bytes = max_segment_bytes  # the sender emits super-segments; the kernel splits them
    if not tso:
        host.gso_max_size = 0
        host.max_segment_bytes = None
    res: dict = {"offload": offload, "tso": bool(host.gso_max_size or host.max_segment_bytes),
                 "features": link.features.describe(), "runs": {},
                 "max_segment_bytes": host.max_segment_bytes, "gso_max_size": host.gso_max_size}
    port = 5000
    measures = [("kernel_to_synack_mbit_s", "rx", lambda p: _rx(ns, stack, size, p)),
                ("synack_to_kernel_mbit_s", "tx", lambda p: _tx(ns, stack, size, p)),
                ("kernel_client_synack_server_cycles_per_s", "cycles-server",
                 lambda p: _cycles_server(ns, stack, seconds, p)),
                ("synack_client_cycles_per_s", "cycles-client", lambda p: _cycles_client(ns, stack, seconds, p))]
    try:
        await stack.start()
        for key, name, measure in measures:
            runs = []
            for i in range(repeat):
                port += 1
                with prof(f"{name}-offload-{tag}" + (f"-{i + 1}" if i else ""), profile=i == 0):
                    runs.append(await measure(port))
            res["runs"][key] = runs
            res[key] = max(runs)
        if burst:
            res["burst"] = await _burst(ns, stack, burst, prof, tag)
        res["link"] = link.stats()
    finally:
        stack.close()
        ns.delete()
    return res


async def _burst(ns: Ns, stack: Any, clients: int, prof: Profiler, tag: str) -> dict:
    """``clients`` kernel clients at once against synack's echo server (backlog 4096)."""
    from synack.api import streams
    from synack.apps import APPS

    server = await streams.start_server(APPS["echo"], None, 7, stack=stack, backlog=4096)
    p = ns.peer("burst", SYNACK, "7", str(clients), "100000", "1000000", "300")
    lst = stack.host.listeners.get((None, 7))
    with prof(f"burst-offload-{tag}"):
        out = await _line(p)
    res = {k: float(v) if "." in v else int(v) for k, v in (kv.split("=") for kv in out.split())}
    res["clients"] = clients
    if lst is not None:
        res["listener"] = lst.stats.as_dict()   # SYN cookies sent, accepted, rejected; overflows
    server.close()
    return res


# ------------------------------------------------------------------------ kernel over veth
def kernel_figures(size: int, seconds: float) -> dict:
    a, b = Ns("a"), Ns("b")
    res: dict = {}
    try:
        va, vb = f"va{secrets.token_hex(2)}", f"vb{secrets.token_hex(2)}"
        sh("ip", "link", "add", va, "netns", a.name, "type", "veth", "peer", "name", vb, "netns", b.name)
        sh("ip", "-n", a.name, "addr", "add", f"{SYNACK}/24", "dev", va)
        sh("ip", "-n", b.name, "addr", "add", f"{KERNEL}/24", "dev", vb)
        sh("ip", "-n", a.name, "link", "set", va, "up")
        sh("ip", "-n", b.name, "link", "set", vb, "up")
        snk = b.peer("sink", "6001")
        snk.stdout.readline()  # type: ignore[union-attr]
        src = a.peer("source", KERNEL, "6001", str(size))
        n, dt = _result(snk)
        _result(src)
        res["kernel_to_kernel_mbit_s"] = n * 8 / dt / 1e6
        cyc = b.peer("cycles-server", "6002")
        cyc.stdout.readline()  # type: ignore[union-attr]
        cli = a.peer("cycles-client", KERNEL, "6002", str(seconds))
        n, dt = _result(cli)
        cyc.kill()
        res["kernel_cycles_per_s"] = n / dt
    finally:
        a.delete()
        b.delete()
    return res


# ------------------------------------------------------------------------ PyTCP
# PyTCP (pmd-pytcp on PyPI) runs as a daemon that owns a TUN device; applications reach it
# through its client library over an AF_UNIX socket. This script is run by PyTCP's own
# venv's Python: it measures the same figures from the client's side.
PYTCP_CLIENT = textwrap.dedent("""
    import asyncio, sys, time
    from pmd_pytcp.client.client_stack import connect
    sock_path, size, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    async def main():
        st = await connect(socket_path=sock_path)
        # kernel -> pytcp: we listen, the kernel's source connects (started by the parent)
        ls = await st.socket(); await ls.bind(("0.0.0.0", 7001)); await ls.listen()
        print("ready", flush=True)
        c, _ = await ls.accept(); n = 0; t = time.perf_counter()
        while True:
            b = await c.recv(1 << 16)
            if not b: break
            n += len(b)
        dt = time.perf_counter() - t; await c.close(); await ls.close()
        print("rx", n, dt, flush=True)
        sys.stdin.readline()                       # the parent started the kernel's sink
        s = await st.socket(); await s.connect(("10.99.0.1", 7002))
        buf = b"x" * 65536; left = size; t = time.perf_counter()
        while left > 0:
            left -= await s.send(buf[:min(left, len(buf))])
        await s.shutdown(1)
        while await s.recv(100): pass
        dt = time.perf_counter() - t; await s.close()
        print("tx", size, dt, flush=True)
        sys.stdin.readline()                       # the cycles server is up
        n = 0; t = time.perf_counter(); end = t + seconds
        while time.perf_counter() < end:
            s = await st.socket(); await s.connect(("10.99.0.1", 7003))
            await s.send(b"x" * 100); await s.shutdown(1)
            while await s.recv(100): pass
            await s.close(); n += 1
        print("cycles", n, time.perf_counter() - t, flush=True)
    asyncio.run(main())
""")


def pytcp_python() -> str | None:
    """The Python of a venv with pmd-pytcp (PYTCP_PYTHON, or benchmarks/.pytcp-venv made
    on first use with `pip install pmd-pytcp==0.3.8`); None if it cannot be had."""
    env = os.environ.get("PYTCP_PYTHON")
    if env:
        return env
    venv = Path(__file__).resolve().parent / ".pytcp-venv"
    py = venv / "bin" / "python"
    if not py.exists():
        r = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True)
        if r.returncode == 0:
            r = subprocess.run([str(py), "-m", "pip", "install", "-q", "pmd-pytcp==0.3.8"], capture_output=True)
        if r.returncode != 0:
            return None
    return str(py)


def pytcp_figures(size: int, seconds: float) -> dict:
    py = pytcp_python()
    if py is None:
        return {"error": "pmd-pytcp could not be installed into benchmarks/.pytcp-venv"}
    ns = Ns("pytcp")
    dev = "tun7"
    sock = f"/tmp/synack-bench-pytcp-{secrets.token_hex(3)}.sock"
    res: dict = {"size": size}
    daemon = client = None
    try:
        sh("ip", "-n", ns.name, "tuntap", "add", "dev", dev, "mode", "tun")
        sh("ip", "-n", ns.name, "addr", "add", f"{KERNEL}/24", "dev", dev)
        sh("ip", "-n", ns.name, "link", "set", dev, "up")
        daemon = subprocess.Popen(["ip", "netns", "exec", ns.name, py, "-m", "pmd_pytcp.daemon", "--interface", dev,
                                   "--ip4-address", f"{SYNACK}/24", "--no-ip6", "--ipc-socket", sock],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.monotonic() + 20
        while not os.path.exists(sock):
            if time.monotonic() > end or daemon.poll() is not None:
                return {"error": "the PyTCP daemon did not start"}
            time.sleep(0.1)
        time.sleep(0.5)
        client = subprocess.Popen([py, "-c", PYTCP_CLIENT, sock, str(size), str(seconds)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert client.stdout is not None and client.stdin is not None
        assert client.stdout.readline().strip() == "ready"
        src = ns.peer("source", SYNACK, "7001", str(size))
        _, n, dt = client.stdout.readline().split()
        _result(src)
        res["kernel_to_pytcp_mbit_s"] = int(n) * 8 / float(dt) / 1e6
        snk = ns.peer("sink", "7002")
        snk.stdout.readline()  # type: ignore[union-attr]
        client.stdin.write("go\n")
        client.stdin.flush()
        _, n, dt = client.stdout.readline().split()
        _result(snk)
        res["pytcp_to_kernel_mbit_s"] = int(n) * 8 / float(dt) / 1e6
        cyc = ns.peer("cycles-server", "7003")
        cyc.stdout.readline()  # type: ignore[union-attr]
        client.stdin.write("go\n")
        client.stdin.flush()
        _, n, dt = client.stdout.readline().split()
        cyc.kill()
        res["pytcp_client_cycles_per_s"] = int(n) / float(dt)
    except Exception as e:  # report, do not hide the other figures
        res["error"] = f"{type(e).__name__}: {e}"
    finally:
        for p in (client, daemon):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
        ns.delete()
        if os.path.exists(sock):
            os.unlink(sock)
    return res


# ------------------------------------------------------------------------ the table
def _fmt(v: Any, width: int = 10) -> str:
    return f"{v:{width},.0f}" if isinstance(v, (int, float)) else f"{'n/a':>{width}}"


def table(on: dict, off: dict, ker: dict, pyt: dict, notso: dict | None = None) -> list[tuple]:
    """(measure, synack offloads on, on without TSO, off, kernel over veth, PyTCP, aim) rows."""
    nt = notso or {}
    keys = [("bulk kernel -> stack, Mbit/s", "kernel_to_synack_mbit_s", "kernel_to_kernel_mbit_s",
             "kernel_to_pytcp_mbit_s", ">= 2,000"),
            ("bulk stack -> kernel, Mbit/s", "synack_to_kernel_mbit_s", "kernel_to_kernel_mbit_s",
             "pytcp_to_kernel_mbit_s", ">= 3,000"),
            ("cycles/s, kernel client -> stack", "kernel_client_synack_server_cycles_per_s", "kernel_cycles_per_s",
             None, ">= 4,000, 80% k"),
            ("cycles/s, stack client -> kernel", "synack_client_cycles_per_s", "kernel_cycles_per_s",
             "pytcp_client_cycles_per_s", "")]
    return [(name, on.get(k), nt.get(k), off.get(k), ker.get(kk), pyt.get(pk) if pk else None, aim)
            for name, k, kk, pk, aim in keys]


def load() -> list[float]:
    """The 1, 5 and 15 minute load averages (the machine is shared)."""
    return [round(x, 2) for x in os.getloadavg()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=50_000_000, help="bytes per bulk transfer (default 50 MB)")
    ap.add_argument("--seconds", type=float, default=3.0, help="length of each cycles run")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each synack figure; the best is reported")
    ap.add_argument("--rcv-buf", type=int, default=4 << 20,
                    help="synack's receive buffer (default 4 MiB, window scaling on)")
    ap.add_argument("--burst", type=int, default=1000, metavar="N",
                    help="kernel clients in the burst (default 1000; 0 skips it)")
    ap.add_argument("--burst-offload-off", action="store_true",
                    help="also run the burst with offloads off (slow)")
    ap.add_argument("--profile", metavar="DIR", help="cProfile the synack side of each figure into DIR")
    ap.add_argument("--pytcp-size", type=int, default=5_000_000,
                    help="bytes per PyTCP bulk transfer (default 5 MB: it runs at tens of Mbit/s)")
    ap.add_argument("--no-pytcp", action="store_true", help="skip the PyTCP figures")
    ap.add_argument("--only", choices=["on", "off"], help="measure synack with offloads on or off only")
    ap.add_argument("--no-tso-compare", action="store_true",
                    help="skip synack with offloads on but its sender's TSO off (one MSS per segment)")
    ap.add_argument("--max-segment-bytes", type=int, default=None, metavar="N",
                    help="with offloads: let synack's sender emit segments of up to N octets of data "
                         "(Host.max_segment_bytes, for example 65000); the kernel splits them")
    args = ap.parse_args()
    from synack.link.tun import missing

    why = missing()
    if why is not None:
        print(f"kernel benchmark skipped: {why}")
        return 0
    prof = Profiler(args.profile)
    on = off = notso = {}
    load_before = load()
    if args.only != "off":
        on = asyncio.run(synack_figures(args.size, args.seconds, True, args.rcv_buf, args.burst, prof, args.repeat,
                                        args.max_segment_bytes))
        if not args.no_tso_compare:
            notso = asyncio.run(synack_figures(args.size, args.seconds, True, args.rcv_buf, 0, prof, args.repeat,
                                               tso=False))
    if args.only != "on":
        off = asyncio.run(synack_figures(args.size, args.seconds, False, args.rcv_buf,
                                         args.burst if args.burst_offload_off else 0, prof, args.repeat))
    ker = kernel_figures(args.size, args.seconds)
    pyt = pytcp_figures(args.pytcp_size, args.seconds) if not args.no_pytcp else {"error": "skipped (--no-pytcp)"}
    load_after = load()
    rows = table(on, off, ker, pyt, notso)
    print(f"{'measure':34} {'synack on':>10} {'no TSO':>10} {'synack off':>10} {'kernel':>10} {'PyTCP':>10}  aim")
    for name, a, t, b, k, p, aim in rows:
        print(f"{name:34} {_fmt(a)} {_fmt(t)} {_fmt(b)} {_fmt(k)} {_fmt(p)}  {aim}")
    print(f"best of {args.repeat} runs per synack figure; load average (1, 5, 15 min) before {load_before}, "
          f"after {load_after}, on {os.cpu_count()} CPUs")
    if isinstance(on.get("kernel_client_synack_server_cycles_per_s"), float) and ker.get("kernel_cycles_per_s"):
        print(f"synack server cycles / kernel server cycles, same client: "
              f"{on['kernel_client_synack_server_cycles_per_s'] / ker['kernel_cycles_per_s']:.0%} (aim >= 80%)")
    for label, r in (("offloads on", on), ("offloads off", off)):
        b = r.get("burst")
        if b:
            print(f"burst, {label}: {b['clients']} clients echoing 100 KB-1 MB: {b['intact']} intact, "
                  f"{b['reset']} reset, {b['refused']} refused, {b['timeout']} timed out, {b['corrupt']} corrupt, "
                  f"{b['other']} other errors, in {b['seconds']:.1f} s")
    if on:
        print(f"synack links: offloads on {on.get('features')}, TSO {'on' if on.get('tso') else 'off'}: "
              f"{on.get('link')}")
    if notso:
        print(f"              offloads on, TSO off: {notso.get('link')}")
    if off:
        print(f"              offloads off: {off.get('link')}")
    if "error" in pyt:
        print(f"PyTCP: {pyt['error']}")
    else:
        print(f"PyTCP: pmd-pytcp 0.3.8 daemon on its own TUN, driven through its client library "
              f"(bulk figures over {args.pytcp_size / 1e6:g} MB)")
    if prof.busy:
        print("synack's CPU use (CPU s per wall s): " + ", ".join(f"{k} {v:.2f}" for k, v in prof.busy.items()))
    for name, top in prof.top.items():
        print(f"\nprofile {name} (top entries by own time):")
        for entry in top:
            print("  " + entry)
    RESULTS.mkdir(exist_ok=True)
    out = {
        "python": platform.python_version(), "kernel": platform.release(), "size": args.size,
        "rcv_buf": args.rcv_buf, "repeat": args.repeat, "load_before": load_before, "load_after": load_after,
        "cpus": os.cpu_count(), "synack_offload_on": on, "synack_offload_on_tso_off": notso,
        "synack_offload_off": off, "kernel_veth": ker, "pytcp": pyt,
        "table": [dict(zip(("measure", "synack_on", "synack_on_tso_off", "synack_off", "kernel", "pytcp", "aim"), r,
                           strict=True)) for r in rows],
        "profile_top": prof.top, "synack_cpu_per_wall_s": prof.busy,
    }
    (RESULTS / "kernel.json").write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
