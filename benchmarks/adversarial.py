"""A bystander's echo round trip while another connection attacks: `make bench` runs it.

One synack echo server (port 7). A bystander connection sends 64 octets every 20 ms and
times each echo. An attacker floods one attack at a time; each attack is the same code on
both homes of the stack:

``sim``
    the simulator's way (virtual time, one-way delay 1 ms), with one change that makes
    the figures mean what they say: the server's clock advances by the CPU time synack
    spends on each packet and timer, so the server is a single CPU that packets queue for,
    as it is on a real link. The bystander's round trip then includes every stall the
    attack causes. The bystander's own end and the attacker cost no time.
``tun``
    real time, root only: ``synack listen 7 --app echo`` on a TUN device in a network
    namespace made for each attack; the bystander is a kernel socket in the namespace, the
    attacker crafts packets into a raw socket and reads synack's answers from an AF_PACKET
    socket. CPU seconds and memory are the synack process's (``/proc``).

Per attack and home: the bystander's worst and median round trip, how many echoes it
completed, the server's CPU seconds and its memory growth (peak RSS), and how many
packets the attacker sent. A table goes to the terminal and JSON to
benchmarks/results/adversarial.json (adversarial-quick.json with --quick).

The aim: the bystander's worst round trip under 0.5 s for every attack, the 25,000-segment
out-of-order flood with SACK included.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import json
import multiprocessing
import os
import platform
import random
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import textwrap
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from synack.stack.host import Host
from synack.timeunits import ms, sec
from synack.wire.checksum import internet_checksum, pack_address, pseudo_header_sum
from synack.wire.errors import MalformedPacket
from synack.wire.ip import emit_packet, parse_packet
from synack.wire.ipv4 import emit_ipv4
from synack.wire.seq import Seq
from synack.wire.tcp import ACK, PSH, RST, SYN, Mss, Nop, Sack, SackPermitted, TcpSegment, WindowScale

RESULTS = Path(__file__).resolve().parent / "results"
PORT = 7
ECHO = 64
EVERY = ms(20)
RATE = 2500          # attack packets a second: 25,000 in 10 s, about 1.6 Mbit/s of 1-octet segments
M32 = 0xFFFFFFFF


# ================================================================== the attacks
class Attack:
    """What one attacker does: packets to send when ``due()``, reactions to what synack
    sends it. Time is ns on whatever clock drives it (virtual or real)."""

    name = ""
    summary = ""

    def __init__(self, server: str, me: str, n: int, rate: int = RATE) -> None:
        self.server, self.me, self.n, self.rate = server, me, n, rate
        self.rng = random.Random(f"{self.name}/{n}")
        self.sent = 0
        self.t0: int | None = None
        self.done = False

    def start(self, now: int) -> list[bytes]:
        self.t0 = now
        return []

    def due(self) -> int | None:
        """When the next flood packet is due, or None (nothing scheduled)."""
        if self.done or self.t0 is None:
            return None
        return self.t0 + self.sent * 1_000_000_000 // self.rate

    def tick(self, now: int) -> list[bytes]:
        out = []
        while not self.done and (d := self.due()) is not None and d <= now:
            out.append(self.packet(self.sent))
            self.sent += 1
            if self.sent >= self.n:
                self.done = True
        return out

    def packet(self, i: int) -> bytes:
        raise NotImplementedError

    def receive(self, raw: bytes, now: int) -> list[bytes]:
        return []


class SynFlood(Attack):
    name, summary = "syn-flood", "SYNs from spoofed sources (the SYN queue overflows, cookies answer)"

    def packet(self, i: int) -> bytes:
        src = f"198.18.{(i >> 8) & 0xFF}.{i & 0xFF or 1}"
        seg = TcpSegment(1024 + i % 60000, PORT, Seq(self.rng.getrandbits(32)), Seq(0), SYN, 64240, b"",
                         (Mss(1460), SackPermitted(), Nop(), WindowScale(7)))
        return emit_packet(src, self.server, seg)


class BadSource(Attack):
    name, summary = "bad-source", "SYNs from multicast, broadcast, loopback and the server's own address"

    def packet(self, i: int) -> bytes:
        srcs = ("224.0.0.5", "255.255.255.255", "127.0.0.1", self.server)
        src = srcs[i % len(srcs)]
        sport = PORT if src == self.server else 1024 + i % 60000
        return emit_packet(src, self.server, TcpSegment(sport, PORT, Seq(i * 7919), Seq(0), SYN, 64240, b"",
                                                        (Mss(1460),)))


class Conn(Attack):
    """An attack from a connection the attacker opened itself (no timestamps, so crafted
    segments need no TSopt)."""

    mss = 1460
    sack = True
    window = 65535
    request = b""

    def start(self, now: int) -> list[bytes]:
        self.sport = 20000 + self.rng.randrange(20000)
        self.iss = self.rng.getrandbits(32)
        self.snd_nxt = (self.iss + 1) & M32
        self.rcv_nxt = 0
        self.established = False
        opts: tuple = (Mss(self.mss),) + ((SackPermitted(),) if self.sack else ())
        return [self.emit(SYN, seq=self.iss, ack=0, options=opts)]

    def emit(self, flags: int, data: bytes = b"", *, seq: int | None = None, ack: int | None = None,
             window: int | None = None, options: tuple = ()) -> bytes:
        seg = TcpSegment(self.sport, PORT, Seq(self.snd_nxt if seq is None else seq & M32),
                         Seq(self.rcv_nxt if ack is None else ack & M32), flags,
                         self.window if window is None else window, data, options)
        return emit_packet(self.me, self.server, seg)

    def due(self) -> int | None:
        return super().due() if self.established else None

    def receive(self, raw: bytes, now: int) -> list[bytes]:
        try:
            _, seg = parse_packet(raw)
        except MalformedPacket:
            return []
        if seg.dst_port != self.sport:
            return []
        if not self.established and seg.flags & SYN and seg.flags & ACK:
            self.rcv_nxt = (int(seg.seq) + 1) & M32
            self.established = True
            self.t0 = now
            out = [self.emit(ACK)]
            if self.request:
                out.append(self.emit(ACK | PSH, self.request))
                self.base = self.snd_nxt
                self.snd_nxt = (self.snd_nxt + len(self.request)) & M32
            else:
                self.base = self.snd_nxt
            self.una = self.rcv_nxt
            return out
        return self.react(seg, now)

    def react(self, seg: TcpSegment, now: int) -> list[bytes]:
        return []


class TinyMss(Conn):
    """MSS 1: synack cuts its echo into 1-octet segments; the attacker ACKs each at once."""

    mss = 1
    request = bytes(1400)
    name, summary = "mss-1", "MSS 1: a 1,400-octet echo comes back as 1-octet segments, each ACKed"

    def due(self) -> int | None:
        return None

    def react(self, seg: TcpSegment, now: int) -> list[bytes]:
        if seg.payload:
            end = (int(seg.seq) + len(seg.payload)) & M32
            if ((end - self.rcv_nxt) & M32) < 1 << 31:
                self.rcv_nxt = end
                self.sent += 1
            if (self.rcv_nxt - self.una) & M32 >= len(self.request) * 8:
                self.done = True
                return []
            if (self.rcv_nxt - self.una) & M32 >= len(self.request):  # ask again: keep it busy
                out = [self.emit(ACK | PSH, self.request)]
                self.snd_nxt = (self.snd_nxt + len(self.request)) & M32
                self.una = self.rcv_nxt
                return out
            return [self.emit(ACK)]
        return []


class ZeroMss(TinyMss):
    mss = 0
    name, summary = "mss-0", "MSS 0, as MSS 1"


class ChallengeStorm(Conn):
    name, summary = "rst-syn-in-window", "RSTs and SYNs inside the window (each draws a challenge ACK)"

    def packet(self, i: int) -> bytes:
        seq = self.snd_nxt + 1 + i % 1000
        if i % 2:
            return self.emit(RST, seq=seq, ack=0)
        return self.emit(SYN, seq=seq, ack=0, options=(Mss(1460),))


class OldData(Conn):
    name, summary = "old-data", "data entirely below RCV.NXT (each draws a duplicate ACK)"
    request = b"hello"

    def packet(self, i: int) -> bytes:
        return self.emit(ACK | PSH, b"hello", seq=self.base)


class AckBelow(Conn):
    name, summary = "ack-below", "data acknowledging far below SND.UNA (RFC 5961 challenge ACKs)"

    def packet(self, i: int) -> bytes:
        return self.emit(ACK | PSH, b"evil", ack=self.rcv_nxt - (1 << 30))


class AckBeyond(Conn):
    name, summary = "ack-beyond", "data acknowledging beyond SND.NXT (each draws an ACK)"

    def packet(self, i: int) -> bytes:
        return self.emit(ACK | PSH, b"evil", ack=self.rcv_nxt + 100_000)


class Overlap(Conn):
    name, summary = "overlap", "out-of-order segments overlapping each other with different data"

    def packet(self, i: int) -> bytes:
        off = 10 + (i % 2000) * 3
        return self.emit(ACK, bytes([65 + i % 26]) * 8, seq=self.base + off)


class BadChecksum(Conn):
    name, summary = "bad-checksum", "in-window data with a wrong TCP checksum"

    def packet(self, i: int) -> bytes:
        b = bytearray(self.emit(ACK | PSH, b"x" * 32, seq=self.base + 1 + i % 1000))
        b[36] ^= 0x5A
        return bytes(b)


class ZeroWindow(Conn):
    name, summary = "zero-window", "a 1,400-octet echo into a window of 0, probes never answered"
    window = 0
    request = bytes(1400)

    def due(self) -> int | None:
        return None

    def react(self, seg: TcpSegment, now: int) -> list[bytes]:
        self.done = True  # silent: the probes are never answered
        return []


class OneOctetWindow(Conn):
    name, summary = "one-octet-window", "window 1: a 1,400-octet echo trickles out an octet per ACK"
    window = 1
    request = bytes(1400)

    def due(self) -> int | None:
        return None

    def react(self, seg: TcpSegment, now: int) -> list[bytes]:
        if seg.payload:
            end = (int(seg.seq) + len(seg.payload)) & M32
            if ((end - self.rcv_nxt) & M32) < 1 << 31:
                self.rcv_nxt = end
                self.sent += 1
            if (self.rcv_nxt - self.una) & M32 >= len(self.request):
                self.done = True
            return [self.emit(ACK)]
        return []


class OutOfOrder(Conn):
    name, summary = "ooo-sack", "1-octet segments, each after a 1-octet hole, SACK on"

    def packet(self, i: int) -> bytes:
        return self.emit(ACK, b"o", seq=self.base + 2 + 2 * i)


class OutOfOrderNoSack(OutOfOrder):
    name, summary = "ooo-nosack", "the same, SACK off"
    sack = False


class DupAcks(Conn):
    name, summary = "dupack", "duplicate ACKs while synack has data in flight"
    request = bytes(1400)  # echoed: data in flight that is never acknowledged

    def packet(self, i: int) -> bytes:
        return self.emit(ACK, ack=self.una)


class GarbageSack(Conn):
    name, summary = "garbage-sack", "ACKs with SACK blocks outside, reversed, empty and overlapping"
    request = bytes(1400)

    def packet(self, i: int) -> bytes:
        u = self.una
        choice = i % 4
        blocks: tuple[Seq, ...]
        if choice == 0:
            blocks = (Seq(u + 100_000), Seq(u + 100_100))
        elif choice == 1:
            blocks = (Seq(u + 2000), Seq(u + 1000))
        elif choice == 2:
            blocks = (Seq(u - 100_000), Seq(u - 99_000))
        else:
            blocks = (Seq(u + 10), Seq(u + 20), Seq(u + 5), Seq(u + 30), Seq(u + 15), Seq(u + 16))
        return self.emit(ACK, ack=u, options=(Nop(), Nop(), Sack(tuple(zip(blocks[::2], blocks[1::2], strict=True)))))


class Fragments(Attack):
    name, summary = "fragments", "first pieces of datagrams that never complete, and overlapping pairs"

    def packet(self, i: int) -> bytes:
        src = f"198.19.{(i >> 8) & 0xFF}.{i & 0xFF or 1}"
        if i % 4 == 3:  # an overlapping second piece for the previous datagram
            return emit_ipv4(src, self.server, 6, bytes(600), ident=i - 1, df=False, frag_offset=504)
        return emit_ipv4(src, self.server, 6, bytes(1000), ident=i, df=False, mf=True)


class BadOptions(Conn):
    name, summary = "bad-options", "in-window data whose options have illegal lengths"

    def packet(self, i: int) -> bytes:
        raw = bytearray(self.emit(ACK | PSH, b"bad", seq=self.base, options=(Nop(), Nop(), Nop(), Nop())))
        raw[40:44] = (b"\x02\x00\x05\xb4", b"\x02\x01\x05\xb4", b"\x01\x01\x08\x40", b"\x1e\x00\x00\x00")[i % 4]
        raw[36:38] = b"\0\0"  # the TCP checksum, computed again over the broken options
        init = pseudo_header_sum(pack_address(self.me), pack_address(self.server), 6, len(raw) - 20)
        raw[36:38] = internet_checksum(bytes(raw[20:]), init).to_bytes(2, "big")
        return bytes(raw)


ATTACKS: list[tuple[type[Attack], int]] = [
    (SynFlood, 10_000), (TinyMss, 0), (ZeroMss, 0), (BadSource, 5_000), (ChallengeStorm, 5_000),
    (OldData, 5_000), (AckBelow, 5_000), (AckBeyond, 5_000), (Overlap, 5_000), (BadChecksum, 5_000),
    (ZeroWindow, 0), (OneOctetWindow, 0), (OutOfOrder, 25_000), (OutOfOrderNoSack, 25_000),
    (DupAcks, 25_000), (GarbageSack, 25_000), (Fragments, 10_000), (BadOptions, 5_000),
]
#: how long an attack that sends no flood (it reacts) may run, and the quiet time after any attack
REACTIVE_FOR = sec(5)
AFTER = sec(1)


def flood_length(cls: type[Attack], n: int) -> int:
    return n * 1_000_000_000 // RATE if n else REACTIVE_FOR


# ================================================================== on the simulator, CPU charged
class ChargedSim:
    """Three parties, one-way delay 1 ms; the server's time advances by its CPU time (the
    CPU time of this thread, so other processes on the machine do not count), and at most
    ``QUEUE`` packets wait for it, as on a TUN device (txqueuelen 500): more are dropped."""

    QUEUE = 500

    SERVER, CLIENT, ATTACKER = "10.0.0.2", "10.0.0.1", "10.0.0.3"

    def __init__(self, attack: Attack, delay: int = ms(1)) -> None:
        self.delay = delay
        self.server = Host("server", [self.SERVER], seed=1)
        self.client = Host("client", [self.CLIENT], seed=2)
        self.lst = self.server.listen(PORT, 0, backlog=100)
        self.attack = attack
        self.heap: list = []
        self.n = 0
        self.busy = 0                  # the server's CPU is busy until then (virtual ns)
        self.cpu = 0                   # ns of CPU the server used
        self.echoes: list = []
        self.conns: list = []
        self.deadlines: dict[str, int | None] = {"server": None, "client": None}
        self.tick_at: int | None = None
        self.waiting: deque = deque()  # processing start times of packets not yet started
        self.queue_drops = 0

    def push(self, t: int, kind: str, data: Any = None) -> None:
        self.n += 1
        heapq.heappush(self.heap, (t, self.n, kind, data))

    def route(self, packets: list, t: int) -> None:
        for p in packets:
            dst = ".".join(str(b) for b in p[16:20]) if p[0] >> 4 == 4 else ""
            kind = "server" if dst == self.SERVER else "client" if dst == self.CLIENT else "attacker"
            self.push(t + self.delay, kind, p)

    def timers(self, who: str, host: Host) -> None:
        d = host.next_deadline()
        if d is not None and d != self.deadlines[who]:
            self.deadlines[who] = d
            self.push(d, who + "-timer", d)

    def arrive(self, t: int, packet: bytes) -> None:
        """A packet reaches the server's queue at ``t``: processed when the CPU is free."""
        w = self.waiting
        while w and w[0] <= t:
            w.popleft()
        if len(w) >= self.QUEUE:
            self.queue_drops += 1
            return
        w.append(max(t, self.busy))
        self.on_server(t, lambda now: self.server.deliver(packet, now))

    def on_server(self, t: int, fn: Callable[[int], None]) -> None:
        start = max(t, self.busy)
        c0 = time.thread_time_ns()
        fn(start)
        self.serve(start)
        cost = time.thread_time_ns() - c0
        self.cpu += cost
        self.busy = start + cost
        self.route(self.server.take_packets(), self.busy)
        self.timers("server", self.server)

    def serve(self, now: int) -> None:
        """The echo application on the server."""
        lst = self.lst
        while lst.accept_queue:
            self.conns.append(lst.accept())
        for c in self.conns:
            n = c.readable
            if n:
                c.send(c.receive(n, now), now)
                self.server.call(c, now)

    def schedule_attack(self, t: int) -> None:
        """One pending tick for the attacker, at its next due time."""
        d = self.attack.due()
        if d is None:
            return
        d = max(d, t)
        if self.tick_at is None or d < self.tick_at:
            self.tick_at = d
            self.push(d, "attack-tick", d)

    def run(self) -> dict:
        a = self.attack
        client = self.client
        bconn = client.connect(self.SERVER, PORT, 0)
        self.route(client.take_packets(), 0)
        self.timers("client", client)
        start = sec(1)                   # the attack starts once the bystander is established
        self.push(start, "attack-start")
        end = start + flood_length(type(a), a.n) + AFTER
        self.push(start, "bystander")
        pending_echo: list = []          # [sent at, octets still to come]
        limit = end + sec(30)
        got = 0
        while self.heap:
            t, _, kind, data = heapq.heappop(self.heap)
            if t > end and not pending_echo:
                break
            if t > limit:
                break
            if kind == "server":
                self.arrive(t, data)
            elif kind == "server-timer":
                if self.deadlines["server"] == data:
                    self.deadlines["server"] = None
                    self.on_server(t, self.server.on_timeout)
            elif kind == "client":
                client.deliver(data, t)
                n = bconn.readable
                if n:
                    got += len(bconn.receive(n, t))
                    if pending_echo and got >= ECHO:
                        got -= ECHO
                        self.echoes.append(t - pending_echo.pop())
                client.call(bconn, t)
                self.route(client.take_packets(), t)
                self.timers("client", client)
            elif kind == "client-timer":
                if self.deadlines["client"] == data:
                    self.deadlines["client"] = None
                    client.on_timeout(t)
                    self.route(client.take_packets(), t)
                    self.timers("client", client)
            elif kind == "bystander":
                if not pending_echo and t <= end:
                    bconn.send(bytes(ECHO), t)
                    pending_echo.append(t)
                    client.call(bconn, t)
                    self.route(client.take_packets(), t)
                    self.timers("client", client)
                if t <= end:
                    self.push(t + EVERY, "bystander")
            elif kind == "attack-start":
                self.route(a.start(t), t)
                self.schedule_attack(t)
            elif kind == "attack-tick":
                if data == self.tick_at:
                    self.tick_at = None
                    self.route(a.tick(t), t)
                    self.schedule_attack(t)
            elif kind == "attacker":
                self.route(a.receive(data, t), t)
                self.schedule_attack(t)
        if pending_echo:  # an echo that never came back counts as waiting until the end
            self.echoes.append(self.busy - pending_echo[0])
        return {"rtts_s": [e / 1e9 for e in self.echoes], "cpu_s": self.cpu / 1e9, "attack_packets": a.sent,
                "queue_drops": self.queue_drops}


def _sim_child(cls: type[Attack], n: int, q: Any) -> None:
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        res = ChargedSim(cls(ChargedSim.SERVER, ChargedSim.ATTACKER, n)).run()
        res["memory_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
        q.put(res)
    except BaseException as e:  # reported by the parent
        q.put({"error": f"{type(e).__name__}: {e}"})


def run_sim(cls: type[Attack], n: int) -> dict:
    """One attack on the simulator, in a child process (so its memory is its own)."""
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_sim_child, args=(cls, n, q))
    p.start()
    res = q.get()
    p.join()
    return res


# ================================================================== on TUN, real time
class TunArena:
    """A namespace with ``synack listen 7 --app echo`` on a TUN device, a raw socket and an
    AF_PACKET socket for the attacker, and a kernel socket for the bystander."""

    SERVER, KERNEL, ATTACKER = "10.99.0.2", "10.99.0.1", "10.99.0.3"

    def __init__(self) -> None:
        from synack.link.tun import in_netns

        self.in_netns = in_netns
        self.ns = f"synack-adv-{secrets.token_hex(3)}"
        self.dev = f"skv{secrets.token_hex(3)}"
        subprocess.run(["ip", "netns", "add", self.ns], check=True, capture_output=True)
        subprocess.run(["ip", "-n", self.ns, "link", "set", "lo", "up"], check=True, capture_output=True)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "synack.cli", "listen", str(PORT), "--app", "echo", "--netns", self.ns,
             "--tun", self.dev, "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline() if self.proc.stderr else ""
        if "listening on" not in line:
            self.close()
            raise RuntimeError(f"synack listen did not start: {line.strip()}")
        self.tx = in_netns(self.ns, lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW))

        def sniffer() -> socket.socket:
            s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(3))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
            s.bind((self.dev, 0))
            return s

        self.rx = in_netns(self.ns, sniffer)
        self.rx.settimeout(0.001)

    def cpu_s(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def mem_kib(self, key: str = "VmHWM") -> int:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return 0

    def close(self) -> None:
        for s in ("tx", "rx"):
            sock = getattr(self, s, None)
            if sock is not None:
                sock.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)


def run_tun(cls: type[Attack], n: int) -> dict:
    arena = TunArena()
    try:
        return _run_tun(arena, cls, n)
    finally:
        arena.close()


#: The bystander on the kernel's side: its own process (no GIL shared with the attacker).
#: It echoes once, says "ready", then echoes every EVERY until a line arrives on stdin,
#: and prints the round trips as JSON.
BYSTANDER = textwrap.dedent("""
    import json, select, socket, sys, time
    addr, port, size, every = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    s = socket.create_connection((addr, port), timeout=30)
    def echo():
        t = time.monotonic(); s.sendall(bytes(size)); got = 0
        while got < size:
            b = s.recv(size - got)
            if not b:
                raise ConnectionError("closed")
            got += len(b)
        return time.monotonic() - t
    echo()
    print("ready", flush=True)
    rtts = []
    while True:
        try:
            rtts.append(echo())
        except OSError:
            rtts.append(float("inf"))
            break
        if select.select([sys.stdin], [], [], every)[0]:
            break
    print(json.dumps(rtts), flush=True)
""")


def _run_tun(arena: TunArena, cls: type[Attack], n: int) -> dict:
    attack = cls(arena.SERVER, arena.ATTACKER, n)
    bys = subprocess.Popen(["ip", "netns", "exec", arena.ns, sys.executable, "-c", BYSTANDER, arena.SERVER,
                            str(PORT), str(ECHO), str(EVERY / 1e9)],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert bys.stdout is not None and bys.stdin is not None
    if bys.stdout.readline().strip() != "ready":
        bys.kill()
        raise RuntimeError("the bystander could not connect to synack")
    cpu0, mem0 = arena.cpu_s(), arena.mem_kib("VmHWM")
    clock0 = time.monotonic_ns()

    def now() -> int:
        return time.monotonic_ns() - clock0

    send = arena.tx.sendto
    dst = (arena.SERVER, 0)
    me = pack_address(arena.ATTACKER)
    for p in attack.start(now()):
        send(p, dst)
    least = now() + flood_length(cls, n)          # a reactive attack runs this long, like a flood
    end = least + sec(30)
    while (not attack.done or now() < least) and now() < end:
        try:
            while True:
                data, addr = arena.rx.recvfrom(65535)
                if addr[2] != 4 and data[16:20] == me:
                    for p in attack.receive(data, now()):
                        send(p, dst)
        except (TimeoutError, BlockingIOError):
            pass
        for p in attack.tick(now()):
            with contextlib.suppress(OSError):  # the device queue is full: lost, as on a real link
                send(p, dst)
    time.sleep(AFTER / 1e9)
    out, _ = bys.communicate("stop\n", timeout=60)
    rtts = json.loads(out.strip().splitlines()[-1])
    return {"rtts_s": rtts, "cpu_s": arena.cpu_s() - cpu0, "memory_kib": arena.mem_kib("VmHWM") - mem0,
            "attack_packets": attack.sent}


# ================================================================== report
def summarise(home: str, cls: type[Attack], n: int, res: dict) -> dict:
    every = res.get("rtts_s") or []
    rtts = [r for r in every if r != float("inf")]
    return {
        "home": home, "attack": cls.name, "what": cls.summary, "packets": res.get("attack_packets"),
        # the bystander's connection failed (its socket timed out after 30 s, or was reset)
        "bystander_failed": len(rtts) < len(every),
        "bystander_echoes": len(rtts), "rtt_worst_s": max(rtts) if rtts else None,
        "rtt_median_s": statistics.median(rtts) if rtts else None, "cpu_s": res.get("cpu_s"),
        "memory_kib": res.get("memory_kib"), "error": res.get("error"),
    }


def tun_missing() -> str | None:
    from synack.link.tun import missing

    return missing()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a tenth of each flood (a smoke test of the benchmark)")
    ap.add_argument("--only", default="", help="comma-separated attack names (default: all)")
    ap.add_argument("--home", choices=("sim", "tun", "both"), default="both",
                    help="where synack runs (tun needs root; default both)")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so every namespace is deleted
    names = [c.name for c, _ in ATTACKS]
    only = [x for x in args.only.split(",") if x]
    for x in only:
        if x not in names:
            ap.error(f"--only: unknown attack {x!r}; known: {', '.join(names)}")
    chosen = [(c, n // 10 if args.quick else n) for c, n in ATTACKS if not only or c.name in only]
    homes = ["sim", "tun"] if args.home == "both" else [args.home]
    if "tun" in homes and (why := tun_missing()) is not None:
        print(f"adversarial benchmark: TUN part skipped: {why}")
        homes.remove("tun")
    rows = []
    for home in homes:
        for cls, n in chosen:
            res = run_sim(cls, n) if home == "sim" else run_tun(cls, n)
            row = summarise(home, cls, n, res)
            rows.append(row)
            print(_line(row), flush=True)
    meta = {"python": sys.version.split()[0], "machine": platform.machine(),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "rate_packets_per_s": RATE,
            "bystander": f"{ECHO} octets every {EVERY // ms(1)} ms", "quick": args.quick}
    _table(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("adversarial-quick.json" if args.quick else "adversarial.json")
    out.write_text(json.dumps({"meta": meta, "runs": rows}, indent=2))
    print(f"wrote {out}")
    return 0


def _fmt(x: Any, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def _line(r: dict) -> str:
    if r["error"]:
        return f"  {r['home']:4} {r['attack']:18} error: {r['error']}"
    worst = "FAILED (no echo for 30 s)" if r["bystander_failed"] else f"{_fmt(r['rtt_worst_s'], '.3f')} s"
    return (f"  {r['home']:4} {r['attack']:18} worst {worst}, median "
            f"{_fmt(r['rtt_median_s'], '.4f')} s, {r['bystander_echoes']} echoes, CPU {_fmt(r['cpu_s'], '.2f')} s, "
            f"memory +{_fmt(r['memory_kib'], ',')} KiB, {r['packets']} attack packets")


def _table(rows: list[dict]) -> None:
    head = ("home", "attack", "packets", "bystander worst s", "median s", "echoes", "CPU s", "memory KiB")
    body = [(r["home"], r["attack"], _fmt(r["packets"], ","),
             "failed" if r["bystander_failed"] else _fmt(r["rtt_worst_s"], ".3f"),
             _fmt(r["rtt_median_s"], ".4f"), str(r["bystander_echoes"]), _fmt(r["cpu_s"], ".2f"),
             _fmt(r["memory_kib"], ",")) for r in rows]
    try:
        from rich.console import Console
        from rich.table import Table

        t = Table(title="a bystander's 64-octet echo while another connection attacks (aim: worst < 0.5 s)")
        for col in head:
            t.add_column(col, justify="right" if col not in ("home", "attack") else "left")
        for b in body:
            t.add_row(*b)
        Console(width=max(Console().width, 110)).print(t)
    except ImportError:
        print("  ".join(head))
        for b in body:
            print("  ".join(b))


if __name__ == "__main__":
    raise SystemExit(main())
