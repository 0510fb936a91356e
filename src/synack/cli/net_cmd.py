"""``synack listen``, ``synack connect`` and ``synack get``: synack against real peers.

By default synack sits on a new TUN device (root needed): it owns ``--addr`` (10.99.0.2/24)
and the kernel side of the device gets the first host address of the prefix (10.99.0.1),
so the machine's own programs (curl, nc, Python) talk to synack through the kernel.
``--netns NAME`` puts the device inside an existing network namespace instead.
With ``--udp LOCAL_PORT --peer HOST:PORT`` two synack processes exchange their IP packets
inside UDP datagrams, without root.

Each connection's segments and state changes are printed live on stderr (``--quiet``
turns that off); ``--pcap``, ``--jsonl`` and ``--html`` save the run as ``synack demo``
saves a scenario, with the peer drawn as a host of its own (``synack.link.capture``).

The TUN device runs with virtio-net offloads (TSO/GSO both ways) unless ``--offload off``.
SIGINT and SIGTERM end the run in front of the peer: open connections are reset, FINs in
flight get a short grace period, one line says what was done, and the exit status is 130
or 143.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import threading
import urllib.parse
from typing import Any

from . import CliError, subcommand

_ADDR_LISTEN = "10.99.0.2/24"
_ADDR_UDP_CONNECT = "10.99.0.1/24"
#: Linux's net.core.somaxconn: the largest listen backlog, and the default of --backlog
SOMAXCONN = 4096
#: the receive buffer of the command's connections: room for a window of TSO super-segments
RCV_BUF = 1 << 20


# ------------------------------------------------------------------------ live ladder
class LiveLadder(list):
    """An event sink that prints each event as it happens (and keeps none).

    Installed as a Recorder's ``events``; sequence numbers are shown relative to each
    side's ISN, as tcpdump does.
    """

    def __init__(self, out: Any = None, keep: bool = False) -> None:
        super().__init__()
        self.out = out or sys.stderr
        self.isn: dict = {}
        #: keep the events too (for --pcap, --jsonl, --html)
        self.keep = keep

    def append(self, ev: Any) -> None:  # noqa: D401 - the Tracer calls events.append
        if self.keep:
            super().append(ev)
        line = self.line(ev)
        if line is not None:
            try:
                self.out.write(line + "\n")
                self.out.flush()
            except (OSError, ValueError):
                pass

    def _rel(self, seg: Any, src: tuple, dst: tuple) -> Any:
        from ..wire.tcp import ACK, SYN

        isn = self.isn
        if seg.flags & SYN:
            isn[src] = int(seg.seq)
        bs, ba = isn.get(src), isn.get(dst)
        seq = seg.seq if bs is None else type(seg.seq)((int(seg.seq) - bs) & 0xFFFFFFFF)
        ack = seg.ack if (ba is None or not seg.flags & ACK) else type(seg.ack)((int(seg.ack) - ba) & 0xFFFFFFFF)
        return seg._replace(seq=seq, ack=ack)

    def line(self, ev: Any) -> str | None:
        from ..wire.tcp import seg_summary

        kind = ev.event
        t = f"{ev.t / 1e6:10.3f} ms"
        if kind in ("send", "recv") and ev.seg is not None:
            seg = ev.seg
            if kind == "send":
                me, peer = (ev.src, seg.src_port), (ev.dst, seg.dst_port)
                arrow = "->"
                seg = self._rel(seg, me, peer)
            else:
                me, peer = (ev.dst, seg.dst_port), (ev.src, seg.src_port)
                arrow = "<-"
                seg = self._rel(seg, peer, me)
            note = f"  [retransmission: {ev.cause}]" if kind == "send" and ev.retransmit else ""
            return f"{t}  {me[0]}:{me[1]} {arrow} {peer[0]}:{peer[1]}  {seg_summary(seg)}{note}"
        if kind == "drop":
            what = seg_summary(ev.seg) if ev.seg is not None else ev.detail
            return f"{t}  dropped ({ev.reason}) {what}"
        if kind == "state":
            c = ev.conn
            who = f"{c[0]}:{c[1]}" if c else ev.host
            if ev.new == "CLOSED" and c:
                self.isn.pop((c[0], c[1]), None)
                self.isn.pop((c[2], c[3]), None)
            return f"{t}  {who}  {ev.old} -> {ev.new}  ({ev.cause})"
        if kind == "error":
            return f"{t}  error: {ev.error} ({ev.detail})"
        return None


def _capturing(args: Any) -> bool:
    return bool(args.pcap or args.jsonl or args.html)


def _recorder(args: Any) -> Any:
    from ..trace.events import Recorder

    keep = _capturing(args)
    if args.quiet:
        return Recorder(on=keep)
    rec = Recorder(on=True)
    rec.events = LiveLadder(keep=keep)
    return rec


# ------------------------------------------------------------------------ the stack
def _common(p: Any) -> None:
    g = p.add_argument_group("where synack runs")
    g.add_argument("--tun", metavar="NAME", default="synack%d",
                   help="TUN device name (default synack%%d: the kernel numbers it)")
    g.add_argument("--addr", metavar="ADDR/PREFIX", default=None,
                   help=f"synack's own address (default {_ADDR_LISTEN}; with --udp, "
                        f"{_ADDR_UDP_CONNECT} for connect and get)")
    g.add_argument("--peer-addr", metavar="ADDR", default=None,
                   help="the kernel side's address on the TUN (default: first host of the prefix)")
    g.add_argument("--netns", metavar="NAME", default=None,
                   help="create the TUN device inside this existing network namespace")
    g.add_argument("--mtu", type=int, default=1500, help="device MTU (default 1500)")
    g.add_argument("--udp", metavar="LOCAL_PORT", type=int, default=None,
                   help="no TUN: carry IP packets in UDP datagrams from this local port (no root)")
    g.add_argument("--peer", metavar="HOST:PORT", default=None,
                   help="with --udp: the other synack's UDP address")
    g.add_argument("--offload", metavar="on|off", default="on",
                   help="TUN offloads: TSO/GSO super-segments and checksum offload both ways (default on); "
                        "off: wire-sized packets only, as tcpdump on the device then shows them")
    g.add_argument("--quiet", "-q", action="store_true", help="do not print the live ladder on stderr")
    g.add_argument("--profile", choices=("linux", "rfc"), default="linux",
                   help="TCP personality: linux (Linux 6.x on the wire, default) or rfc (RFC 9293 strictly)")
    c = p.add_argument_group("saving what happened (written when the command ends)")
    c.add_argument("--pcap", metavar="FILE", help="save the run as a pcapng capture (wire-sized segments)")
    c.add_argument("--jsonl", metavar="FILE", help="save the trace as JSON Lines")
    c.add_argument("--html", metavar="FILE", help="save the trace as a self-contained HTML report")


def _stack(args: Any, role: str) -> Any:
    from ..api.streams import Stack
    from ..link import tun
    from ..link.driver import real_host
    from ..tcp.config import TcpConfig

    if not 576 <= args.mtu <= 65535:
        raise CliError(f"--mtu must be between 576 and 65535, not {args.mtu}")
    try:
        offload = tun.check_offload(args.offload)
    except ValueError as e:
        raise CliError(str(e)) from None
    _check_outputs(args)
    rec = _recorder(args)
    config = TcpConfig(profile=args.profile, rcv_buf=RCV_BUF)
    # The SYN queue as Linux sizes it with SYN cookies on: as long as the accept queue
    # (the listen backlog, capped by somaxconn).
    host_options = {"recorder": rec, "config": config, "max_syn_backlog": SOMAXCONN}
    if args.udp is not None:
        from ..link.udp import UdpLink, parse_peer

        if args.peer is None:
            raise CliError("--udp needs --peer HOST:PORT (the other synack's UDP address)")
        default = _ADDR_LISTEN if role == "listen" else _ADDR_UDP_CONNECT
        addr = args.addr or default
        _check_addr(addr)
        link: Any = UdpLink(args.udp, parse_peer(args.peer))
        st = Stack(real_host(addr.split("/")[0], mtu=link.features.mtu, **host_options), link)
        args.peer_name = "peer"
        return st
    if args.peer is not None:
        raise CliError("--peer goes with --udp LOCAL_PORT")
    why = tun.missing()
    if why is not None:
        raise CliError(f"{why}; `synack demo` shows TCP on the simulator without root, "
                       f"and --udp LOCAL_PORT --peer HOST:PORT links two synack processes", 1)
    link, own, peer = tun.TunLink.create(args.addr or _ADDR_LISTEN, name=args.tun, peer_addr=args.peer_addr,
                                         netns=args.netns, mtu=args.mtu, offload=offload)
    try:
        st = Stack(real_host(own, mtu=args.mtu, **host_options), link)
    except BaseException:
        link.close()
        raise
    st.peer_addr = peer
    args.peer_name = "kernel"
    if _capturing(args):
        link.merge_log = []
    return st


def _check_outputs(args: Any) -> None:
    """Each file of --pcap, --jsonl and --html can be written (before anything runs)."""
    for opt in ("pcap", "jsonl", "html"):
        path = getattr(args, opt)
        if not path:
            continue
        try:
            with open(path, "ab"):
                pass
        except OSError as e:
            raise CliError(f"--{opt}: cannot write {path}: {e.strerror or e}", 1) from None


def _save(args: Any, stack: Any, title: str) -> None:
    """Write the run's --pcap, --jsonl and --html files."""
    if not _capturing(args):
        return
    from ..link.capture import run_events, wire_events

    rec = stack.host.recorder
    events = list(rec.events)
    peer = getattr(args, "peer_name", "peer")
    names = dict(rec.names)
    for ev in events:  # every address synack heard from belongs to the peer's side
        if ev.event == "recv":
            names.setdefault(ev.src, peer)
    view = run_events(events, peer)
    saved = []
    try:
        if args.jsonl:
            from ..trace.jsonl import write_jsonl

            saved.append(f"{write_jsonl(view, args.jsonl, names=names)} records to {args.jsonl}")
        if args.html:
            from ..trace.html import write_html

            write_html(view, args.html, title=title, hosts=[peer, stack.host.name], names=names)
            saved.append(f"the report to {args.html}")
        if args.pcap:
            from ..trace.pcapng import write_pcapng

            link = stack.link
            wire = wire_events(events, peer, link.features.mtu, getattr(link, "merge_log", None))
            saved.append(f"{write_pcapng(wire, args.pcap, names=names)} packets to {args.pcap}")
    except OSError as e:
        raise CliError(f"cannot save the run: {e.strerror or e}", 1) from None
    if saved:
        _say("saved " + ", ".join(saved))


def _check_addr(addr: str) -> None:
    import ipaddress

    try:
        ipaddress.ip_interface(addr)
    except ValueError:
        raise CliError(f"--addr: {addr!r} is not ADDRESS/PREFIX (for example {_ADDR_LISTEN})") from None


def _where(stack: Any) -> str:
    link = stack.link
    name = getattr(link, "name", None)
    if name is not None:
        ns = f" in netns {link.netns}" if getattr(link, "netns", None) else ""
        return f"tun {name}{ns}, kernel side {stack.peer_addr}, {link.features.describe()}"
    local, peer = getattr(link, "local", None), getattr(link, "peer", None)
    if local and peer:
        return f"UDP {local[0]}:{local[1]} <-> {peer[0]}:{peer[1]}"
    return type(link).__name__


def _say(msg: str) -> None:
    print(f"synack: {msg}", file=sys.stderr, flush=True)


def _run(coro_fn: Any, args: Any) -> int:
    """Run the command's coroutine. SIGINT or SIGTERM cancels it; the command then ends
    its connections in front of the peer (:func:`_end`) and exits 128 + the signal."""

    async def main() -> int:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        args.stopped_by = None

        def stop(sig: int) -> None:
            if args.stopped_by is None:  # a second signal does not cut the grace period short
                args.stopped_by = sig
                task.cancel()  # type: ignore[union-attr]

        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop, sig)
        try:
            return await coro_fn(args)
        except asyncio.CancelledError:
            if args.stopped_by is None:
                raise
            return 128 + args.stopped_by

    return asyncio.run(main())


async def _end(stack: Any, args: Any, title: str) -> None:
    """The command is over: after a signal, reset what is open and let FINs in flight
    finish (Driver.shutdown), saying so in one line; then close the stack and save the run."""
    try:
        sig = getattr(args, "stopped_by", None)
        if sig is not None and not stack.closed and stack.driver.loop is not None:
            report = await stack.driver.shutdown()
            _say(f"{signal.Signals(sig).name}: {report}")
    finally:
        stack.close()
        _save(args, stack, title)


async def _finish(writer: Any, stack: Any, timeout: float = 3.0) -> None:
    """Close and give the FIN exchange a moment to complete before the stack goes away."""
    from ..tcp.state import State

    writer.close()
    await writer.wait_closed()
    conn = writer.connection
    await stack.driver.wait_for(lambda: conn.state in (State.CLOSED, State.TIME_WAIT, State.FIN_WAIT_2),
                                timeout)


# ------------------------------------------------------------------------ listen
@subcommand("listen", "serve echo, discard, chargen or http on a TUN device (or over UDP)")
def configure_listen(p: Any) -> Any:
    from ..apps import APPS

    p.add_argument("port", type=int, help="TCP port to listen on")
    p.add_argument("--app", choices=sorted(APPS), default="echo", help="what to serve (default echo)")
    p.add_argument("--count", type=int, default=0, metavar="N",
                   help="exit after serving N connections (default: serve until interrupted)")
    p.add_argument("--backlog", type=int, default=SOMAXCONN, metavar="N",
                   help=f"accept queue (and SYN queue) length, capped at {SOMAXCONN} as Linux's "
                        f"somaxconn caps it (default {SOMAXCONN})")
    _common(p)
    return lambda args: _run(_listen, args)


async def _listen(args: Any) -> int:
    from ..api import streams
    from ..apps import APPS

    if not 0 < args.port < 65536:
        raise CliError(f"port must be between 1 and 65535, not {args.port}")
    if args.backlog < 1:
        raise CliError(f"--backlog must be at least 1, not {args.backlog}")
    stack = _stack(args, "listen")
    app = APPS[args.app]
    done = asyncio.Event()
    served = 0

    async def handle(reader: Any, writer: Any) -> None:
        nonlocal served
        try:
            await app(reader, writer)
            conn = writer.connection
            from ..tcp.state import State

            await stack.driver.wait_for(lambda: conn.state in (State.CLOSED, State.TIME_WAIT), 5)
        finally:
            served += 1
            if args.count and served >= args.count:
                done.set()

    try:
        server = await streams.start_server(handle, None, args.port, stack=stack,
                                            backlog=min(args.backlog, SOMAXCONN))
        _say(f"listening on {stack.host.addrs[0]}:{args.port} ({args.app}; {_where(stack)})")
        await done.wait()
        server.close()
        return 0
    finally:
        await _end(stack, args, f"synack listen {args.port} --app {args.app}")


# ------------------------------------------------------------------------ connect
@subcommand("connect", "connect to HOST PORT; stdin goes to the connection, the connection to stdout")
def configure_connect(p: Any) -> Any:
    p.add_argument("host", help="IP address to connect to (the kernel side is 10.99.0.1 by default)")
    p.add_argument("port", type=int, help="TCP port")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the handshake")
    _common(p)
    return lambda args: _run(_connect, args)


def _stdin_reader(loop: asyncio.AbstractEventLoop, q: asyncio.Queue) -> None:
    f = sys.stdin.buffer
    read = getattr(f, "read1", f.read)
    while True:
        try:
            b = read(65536)
        except (OSError, ValueError):
            b = b""
        try:
            loop.call_soon_threadsafe(q.put_nowait, b)
        except RuntimeError:
            return  # the loop is gone
        if not b:
            return


async def _connect(args: Any) -> int:
    from ..api import streams

    if not 0 < args.port < 65536:
        raise CliError(f"port must be between 1 and 65535, not {args.port}")
    stack = _stack(args, "connect")
    try:
        try:
            reader, writer = await streams.open_connection(args.host, args.port, stack=stack,
                                                           timeout=args.timeout)
        except OSError as e:
            raise CliError(f"connect to {args.host}:{args.port}: {e.strerror or e}", 1) from None
        q: asyncio.Queue = asyncio.Queue()
        loop = asyncio.get_running_loop()
        threading.Thread(target=_stdin_reader, args=(loop, q), daemon=True).start()

        async def up() -> None:
            while True:
                b = await q.get()
                if not b:
                    writer.write_eof()  # EOF on stdin: FIN, and keep reading (half-close)
                    return
                writer.write(b)
                await writer.drain()

        sender = asyncio.ensure_future(up())
        out = sys.stdout.buffer
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                out.write(data)
                out.flush()
        except ConnectionError as e:
            raise CliError(f"{args.host}:{args.port}: {e.strerror or e}", 1) from None
        finally:
            if not sender.done():
                sender.cancel()
        await _finish(writer, stack)
        return 0
    finally:
        await _end(stack, args, f"synack connect {args.host} {args.port}")


# ------------------------------------------------------------------------ get
@subcommand("get", "HTTP/1.1 GET over synack: the body to stdout or -o FILE")
def configure_get(p: Any) -> Any:
    p.add_argument("url", help="http://ADDRESS[:PORT]/PATH (an IP address: there is no DNS here)")
    p.add_argument("-o", "--output", metavar="FILE", default=None, help="write the body to FILE")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the handshake")
    _common(p)
    return lambda args: _run(_get, args)


def _parse_url(url: str) -> tuple[str, int, str, str]:
    import ipaddress

    try:
        u = urllib.parse.urlsplit(url)
    except ValueError as e:
        raise CliError(f"URL: {str(e)[:1].lower()}{str(e)[1:]}: {url!r}") from None
    if u.scheme != "http":
        raise CliError(f"URL: only http:// is supported, not {url!r}")
    host = u.hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise CliError(f"URL: the host must be an IP address (no DNS here), not {host!r}") from None
    try:
        port = u.port
    except ValueError:
        port = 0
    if port is None:
        port = 80  # (no port in the URL: HTTP's)
    elif not 0 < port < 65536:  # (":0" included: nobody listens on port 0)
        raise CliError(f"URL: bad port in {url!r}")
    path = (u.path or "/") + (f"?{u.query}" if u.query else "")
    return host, port, path, u.netloc


async def _get(args: Any) -> int:
    from .. import __version__
    from ..api import streams
    from ..apps.http import HttpError, get
    from ..apps.progress import Transfer, wanted

    host, port, path, netloc = _parse_url(args.url)
    out = None
    if args.output:
        try:
            out = open(args.output, "wb")  # noqa: SIM115 - closed in the finally below
        except OSError as e:
            raise CliError(f"-o: cannot write {args.output}: {e.strerror}", 1) from None
    stack = _stack(args, "get")
    bar = Transfer(f"GET {args.url}", enabled=wanted(args.quiet))
    if bar.enabled and isinstance(stack.host.recorder.events, LiveLadder):
        stack.host.recorder.events.out = _Above(bar)  # the live ladder prints above the bar
    try:
        try:
            reader, writer = await streams.open_connection(host, port, stack=stack, timeout=args.timeout)
        except OSError as e:
            raise CliError(f"connect to {host}:{port}: {e.strerror or e}", 1) from None
        dest = out or sys.stdout.buffer
        try:
            resp = await get(reader, writer, path, netloc, sink=dest.write, progress=bar.update,
                             agent=f"synack/{__version__}")
        except HttpError as e:
            raise CliError(f"{args.url}: {e}", 1) from None
        except ConnectionError as e:
            raise CliError(f"{host}:{port}: {e.strerror or e}", 1) from None
        finally:
            bar.close()
        dest.flush()
        await _finish(writer, stack)
        if resp.status >= 400:
            _say(f"HTTP {resp.status} {resp.reason}".rstrip())
            return 1
        return 0
    finally:
        try:
            await _end(stack, args, f"synack get {args.url}")
        finally:
            if out is not None:
                out.close()


class _Above:
    """A text stream whose lines the progress bar prints above itself."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar

    def write(self, text: str) -> None:
        for line in text.splitlines():
            self.bar.print(line)

    def flush(self) -> None:
        pass
