"""synack against the Linux kernel over a TUN device, beside kernel-to-kernel over veth.

Run as root (``make bench`` runs it when it is): each figure is measured in network
namespaces this script creates and deletes.

- bulk throughput kernel -> synack and synack -> kernel (50 MB, one connection);
- sequential connect-send-close cycles per second, synack client -> kernel server;
- the same figures for the kernel talking to itself over a veth pair between two namespaces;
- PyTCP (pmd-pytcp 0.3.8, in a venv of its own), where it installs and runs.

synack runs on asyncio streams in this process, one thread; the kernel's side runs in a
child Python process inside the namespace, so the two do not share a GIL. A table goes to
the terminal and JSON to benchmarks/results/kernel.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import subprocess
import sys
import textwrap
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

# The kernel's side: a tiny program run with `ip netns exec NS python -c PEER MODE ...`.
PEER = textwrap.dedent("""
    import socket, sys, time
    mode = sys.argv[1]
    def listener(port):
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port)); s.listen(1024); print("ready", flush=True); return s
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
        p = subprocess.Popen(["ip", "netns", "exec", self.name, sys.executable, "-c", PEER, *args],
                             stdout=subprocess.PIPE, text=True)
        return p

    def delete(self) -> None:
        for pid in sh("ip", "netns", "pids", self.name).split():
            try:
                os.kill(int(pid), 9)
            except ProcessLookupError:
                pass
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


def _result(p: subprocess.Popen) -> tuple[int, float]:
    out, _ = p.communicate(timeout=600)
    n, dt = out.split()[-2:]
    return int(n), float(dt)


# ------------------------------------------------------------------------ synack
async def synack_figures(size: int, seconds: float) -> dict:
    from synack.api import streams

    ns = Ns("tun")
    stack = streams.Stack.tun(f"{SYNACK}/24", name="skbench0", netns=ns.name)
    res: dict = {}
    try:
        await stack.start()
        # kernel -> synack
        done = asyncio.get_running_loop().create_future()

        async def sink(reader, writer):
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

        server = await streams.start_server(sink, None, 5001, stack=stack)
        src = ns.peer("source", SYNACK, "5001", str(size))
        n, dt = await done
        _result(src)
        server.close()
        assert n == size, (n, size)
        res["kernel_to_synack_mbit_s"] = n * 8 / dt / 1e6
        # synack -> kernel
        snk = ns.peer("sink", "5002")
        await asyncio.get_running_loop().run_in_executor(None, snk.stdout.readline)
        reader, writer = await streams.open_connection(KERNEL, 5002, stack=stack, timeout=5)
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
        res["synack_to_kernel_mbit_s"] = size * 8 / dt / 1e6
        # sequential connect-send-close cycles, synack client -> kernel server
        cyc = ns.peer("cycles-server", "5003")
        await asyncio.get_running_loop().run_in_executor(None, cyc.stdout.readline)
        payload = b"x" * 100
        count = 0
        t = time.perf_counter()
        end = t + seconds
        while time.perf_counter() < end:
            reader, writer = await streams.open_connection(KERNEL, 5003, stack=stack, timeout=5)
            writer.write(payload)
            writer.write_eof()
            await reader.read()
            writer.close()
            count += 1
        res["synack_client_cycles_per_s"] = count / (time.perf_counter() - t)
        cyc.kill()
    finally:
        stack.close()
        ns.delete()
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
        snk.stdout.readline()
        src = a.peer("source", KERNEL, "6001", str(size))
        n, dt = _result(snk)
        _result(src)
        res["kernel_to_kernel_mbit_s"] = n * 8 / dt / 1e6
        cyc = b.peer("cycles-server", "6002")
        cyc.stdout.readline()
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
# venv's Python: it measures the same three figures from the client's side.
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
        assert client.stdout.readline().strip() == "ready"
        src = ns.peer("source", SYNACK, "7001", str(size))
        _, n, dt = client.stdout.readline().split()
        _result(src)
        res["kernel_to_pytcp_mbit_s"] = int(n) * 8 / float(dt) / 1e6
        snk = ns.peer("sink", "7002")
        snk.stdout.readline()
        client.stdin.write("go\n")
        client.stdin.flush()
        _, n, dt = client.stdout.readline().split()
        _result(snk)
        res["pytcp_to_kernel_mbit_s"] = int(n) * 8 / float(dt) / 1e6
        cyc = ns.peer("cycles-server", "7003")
        cyc.stdout.readline()
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=50_000_000, help="bytes per bulk transfer (default 50 MB)")
    ap.add_argument("--seconds", type=float, default=3.0, help="length of the cycles run")
    ap.add_argument("--profile", metavar="FILE", help="cProfile the synack side into FILE")
    ap.add_argument("--pytcp-size", type=int, default=5_000_000,
                    help="bytes per PyTCP bulk transfer (default 5 MB: it runs at tens of Mbit/s)")
    ap.add_argument("--no-pytcp", action="store_true", help="skip the PyTCP figures")
    args = ap.parse_args()
    from synack.link.tun import missing

    why = missing()
    if why is not None:
        print(f"kernel benchmark skipped: {why}")
        return 0
    if args.profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
        syn = asyncio.run(synack_figures(args.size, args.seconds))
        prof.disable()
        prof.dump_stats(args.profile)
    else:
        syn = asyncio.run(synack_figures(args.size, args.seconds))
    ker = kernel_figures(args.size, args.seconds)
    pyt = pytcp_figures(args.pytcp_size, args.seconds) if not args.no_pytcp else {"error": "skipped (--no-pytcp)"}
    rows = [
        ("bulk kernel -> stack, Mbit/s", syn["kernel_to_synack_mbit_s"], ker["kernel_to_kernel_mbit_s"],
         pyt.get("kernel_to_pytcp_mbit_s"), 300),
        ("bulk stack -> kernel, Mbit/s", syn["synack_to_kernel_mbit_s"], ker["kernel_to_kernel_mbit_s"],
         pyt.get("pytcp_to_kernel_mbit_s"), 300),
        ("connect-send-close cycles/s", syn["synack_client_cycles_per_s"], ker["kernel_cycles_per_s"],
         pyt.get("pytcp_client_cycles_per_s"), 2000),
    ]
    print(f"{'measure':30} {'synack':>9} {'kernel':>9} {'s/k':>7} {'PyTCP':>9} {'s/PyTCP':>8} {'aim':>7}")
    ratios = {}
    for name, s, k, p, aim in rows:
        pt = f"{p:9,.0f}" if p else f"{'n/a':>9}"
        pr = f"{s / p:8.1f}" if p else f"{'n/a':>8}"
        print(f"{name:30} {s:9,.0f} {k:9,.0f} {s / k:7.3f} {pt} {pr} {aim:7,}")
        ratios[name] = {"synack_over_kernel": s / k, "synack_over_pytcp": (s / p) if p else None}
    if "error" in pyt:
        print(f"PyTCP: {pyt['error']}")
    else:
        print(f"PyTCP: pmd-pytcp 0.3.8 daemon on its own TUN, driven through its client library "
              f"(bulk figures over {args.pytcp_size / 1e6:g} MB)")
    RESULTS.mkdir(exist_ok=True)
    out = {
        "python": platform.python_version(), "kernel": platform.release(), "size": args.size,
        "synack": syn, "kernel_veth": ker, "pytcp": pyt, "ratios": ratios,
    }
    (RESULTS / "kernel.json").write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
