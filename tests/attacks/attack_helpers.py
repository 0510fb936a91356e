"""The arena of the attack suite: a network namespace made for one test module, with
synack's echo server (``echo_server.py``: what ``synack listen 7 --app echo`` serves, on a
TUN device without offloads, so the device shows wire-sized segments) inside it, and three
things on the kernel's side of that device:

* an **attacker**: packets crafted with scapy and sent through a raw socket (IP_HDRINCL)
  from addresses the kernel does not own (10.99.0.3 by default), so the kernel routes them
  to synack and quietly drops synack's answers instead of resetting them;
* a **sniffer**: an AF_PACKET socket on the device that sees every packet in both
  directions, so each test can assert exactly what synack put on the wire;
* a **bystander**: an ordinary kernel TCP connection to the same echo server, which must
  keep working whatever the attacker does.

tcpdump records the whole module on the device; when the module ends, tshark must find
no malformed packet and no checksum error among the ones synack sent, and the synack
process must still be running with no traceback on its stderr.

Everything stays inside the namespace (10.99.0.0/24 exists only there) and is deleted
afterwards.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from synack.link.tun import in_netns
from synack.link.tun import missing as tun_missing

SYNACK = "10.99.0.2"
KERNEL = "10.99.0.1"
ATTACKER = "10.99.0.3"  # on the device's prefix, owned by nobody
PORT = 7
ETH_P_ALL = 3
PACKET_OUTGOING = 4  # sll_pkttype of what the kernel writes towards synack
ECHO_SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "echo_server.py")


def arena_missing() -> str | None:
    """One reason the attack suite cannot run here, or None."""
    why = tun_missing()
    if why is not None:
        return why
    for tool in ("tcpdump", "tshark"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (make test installs it when run as root)"
    try:
        import scapy.layers.inet  # noqa: F401
    except ImportError:
        return "scapy is not installed (it is in the test extra: pip install -e '.[test]')"
    return None


def skip_or_fail_without_arena() -> None:
    why = arena_missing()
    if why is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"the attack suite must run in CI, but {why}")
    pytest.skip(f"attack suite: {why}")


# --------------------------------------------------------------------------- scapy
def scapy() -> Any:
    """scapy's IP and TCP layers and ``raw``, imported on first use (it is slow to load)."""
    from scapy.all import conf

    conf.verb = 0
    from scapy.compat import raw
    from scapy.layers.inet import IP, TCP

    return IP, TCP, raw


class Seen:
    """One packet on the device, as the sniffer caught it."""

    __slots__ = ("t", "to_synack", "raw", "_pkt")

    def __init__(self, t: float, to_synack: bool, raw: bytes) -> None:
        self.t = t
        self.to_synack = to_synack
        self.raw = raw
        self._pkt: Any = None

    @property
    def pkt(self) -> Any:
        """The packet as scapy reads it (an independent parser)."""
        if self._pkt is None:
            IP, _, _ = scapy()
            self._pkt = IP(self.raw)
        return self._pkt

    @property
    def tcp(self) -> Any:
        _, TCP, _ = scapy()
        return self.pkt[TCP]

    @property
    def flags(self) -> str:
        return str(self.tcp.flags)

    @property
    def payload(self) -> bytes:
        return bytes(self.tcp.payload)

    @property
    def seq(self) -> int:
        """SEG.SEQ, read from the raw bytes (cheaper than scapy for floods)."""
        ihl = (self.raw[0] & 0xF) * 4
        return int.from_bytes(self.raw[ihl + 4:ihl + 8], "big")

    @property
    def ack(self) -> int:
        ihl = (self.raw[0] & 0xF) * 4
        return int.from_bytes(self.raw[ihl + 8:ihl + 12], "big")

    def ports(self) -> tuple[int, int] | None:
        """(source port, destination port) of a TCP packet, read from the raw bytes."""
        r = self.raw
        if len(r) < 24 or r[0] >> 4 != 4 or r[9] != 6 or (r[6] & 0x3F) or r[7]:
            return None
        ihl = (r[0] & 0xF) * 4
        return int.from_bytes(r[ihl:ihl + 2], "big"), int.from_bytes(r[ihl + 2:ihl + 4], "big")

    def __repr__(self) -> str:
        return f"<{'->synack' if self.to_synack else 'synack->'} {self.pkt.summary()}>"


class Sniffer:
    """Every packet on the TUN device, in a list, from a thread (an AF_PACKET socket)."""

    def __init__(self, netns: str, dev: str) -> None:
        def make() -> socket.socket:
            s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
            s.bind((dev, 0))
            return s

        self.sock = in_netns(netns, make)
        self.sock.settimeout(0.2)
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._run, name="attack-sniffer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while self.running:
            try:
                data, addr = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            with self.lock:
                self.seen.append(Seen(time.monotonic(), addr[2] == PACKET_OUTGOING, data))

    def mark(self) -> int:
        """A position in the list: later queries look only at what came after it."""
        with self.lock:
            return len(self.seen)

    def since(self, mark: int) -> list[Seen]:
        with self.lock:
            return self.seen[mark:]

    def stop(self) -> None:
        self.running = False
        self.thread.join(2)
        self.sock.close()


class Arena:
    """The namespace, synack's echo server on its TUN device, the capture and the sniffer."""

    def __init__(self, tmp: str) -> None:
        self.ns = f"synack-atk-{secrets.token_hex(3)}"
        self.dev = f"ska{secrets.token_hex(3)}"
        self.pcap = os.path.join(tmp, f"{self.dev}.pcap")
        self.proc: subprocess.Popen | None = None
        self.tcpdump: subprocess.Popen | None = None
        self.sniffer: Sniffer | None = None
        self.tx: socket.socket | None = None
        self.stderr_path = os.path.join(tmp, f"{self.dev}.stderr")
        subprocess.run(["ip", "netns", "add", self.ns], check=True, capture_output=True)
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        subprocess.run(["ip", "-n", self.ns, "link", "set", "lo", "up"], check=True, capture_output=True)
        self._stderr = open(self.stderr_path, "w+")  # noqa: SIM115 - read when the module ends
        self.proc = subprocess.Popen([sys.executable, ECHO_SERVER, self.ns, self.dev],
                                     stdout=subprocess.DEVNULL, stderr=self._stderr)
        end = time.monotonic() + 20
        while "listening on" not in self.stderr():
            if self.proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError(f"synack's echo server did not start: {self.stderr().strip()}")
            time.sleep(0.05)
        self.tcpdump = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, "tcpdump", "-i", self.dev, "-U", "-n", "-s", "200", "-w", self.pcap],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        line = self.tcpdump.stderr.readline() if self.tcpdump.stderr else ""
        if "listening on" not in line:
            raise RuntimeError(f"tcpdump did not start: {line.strip()}")
        self.sniffer = Sniffer(self.ns, self.dev)
        self.tx = in_netns(self.ns, lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW))

    def stderr(self) -> str:
        with open(self.stderr_path) as f:
            return f.read()

    # ---- the attacker's side
    def send(self, *pkts: Any) -> None:
        """Send scapy packets (or raw IP packets) into the device, towards synack."""
        _, _, raw = scapy()
        tx = self.tx
        assert tx is not None
        for p in pkts:
            b = p if isinstance(p, bytes) else raw(p)
            tx.sendto(b, (SYNACK, 0))

    def send_many(self, packets: Iterable[bytes], pace: int = 0) -> None:
        """Send raw IP packets; every ``pace`` packets, yield the CPU for a moment so the
        device queue (500 packets) is not overrun by a sender faster than synack reads."""
        tx = self.tx
        assert tx is not None
        for i, b in enumerate(packets, 1):
            while True:
                try:
                    tx.sendto(b, (SYNACK, 0))
                    break
                except (BlockingIOError, OSError):  # ENOBUFS: the queue is full, wait
                    time.sleep(0.001)
            if pace and i % pace == 0:
                time.sleep(0.001)

    def flood(self, packets: list[bytes], answers: Callable[[], int], *, window: int = 200,
              wait: float = 5.0) -> None:
        """Send ``packets`` as fast as synack answers them: at most ``window`` ahead of
        ``answers()`` (how many synack has answered so far), so the TUN queue (500
        packets) never overflows and every packet reaches synack."""
        tx = self.tx
        assert tx is not None
        end = time.monotonic() + wait
        for i, b in enumerate(packets):
            while i - answers() >= window and time.monotonic() < end:
                time.sleep(0.002)
            tx.sendto(b, (SYNACK, 0))

    def count_from_synack(self, mark: int, port: int, to: str = ATTACKER) -> Callable[[], int]:
        """A cheap counter of what synack sent to ``to``:``port`` since ``mark``."""
        sn = self.sniffer
        assert sn is not None
        pos = [mark]
        n = [0]

        def count() -> int:
            new = sn.since(pos[0])
            pos[0] += len(new)
            n[0] += sum(1 for s in new if not s.to_synack and _is_to(s, to, port))
            return n[0]

        return count

    def mark(self) -> int:
        assert self.sniffer is not None
        return self.sniffer.mark()

    def from_synack(self, mark: int, *, to: str | None = ATTACKER, port: int | None = None,
                    until: Callable[[list[Seen]], bool] | None = None, wait: float = 1.0) -> list[Seen]:
        """Packets synack sent to ``to`` (None: anyone) and ``port`` since ``mark``: after
        ``wait`` seconds, or as soon as ``until(packets)`` holds."""
        assert self.sniffer is not None
        end = time.monotonic() + wait
        while True:
            got = [s for s in self.sniffer.since(mark) if not s.to_synack and _is_to(s, to, port)]
            if (until is not None and until(got)) or time.monotonic() >= end:
                return got
            time.sleep(0.01)

    # ---- the end
    def check_and_close(self) -> None:
        """The module is over: synack must be alive and well, its packets well formed."""
        alive = self.proc is not None and self.proc.poll() is None
        errors = self.stderr()
        self.close()
        assert alive, f"synack exited during the attacks: {errors.strip()[-2000:]}"
        assert "Traceback" not in errors, errors[-3000:]
        bad = tshark_bad(self.pcap, SYNACK)
        assert not bad, "tshark finds malformed packets from synack:\n" + "\n".join(bad[:20])

    def close(self) -> None:
        if self.sniffer is not None:
            self.sniffer.stop()
            self.sniffer = None
        if self.tx is not None:
            self.tx.close()
            self.tx = None
        for p in (self.proc, self.tcpdump):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGINT)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if self.tcpdump is not None and self.tcpdump.stderr:
            self.tcpdump.stderr.close()
        pids = subprocess.run(["ip", "netns", "pids", self.ns], capture_output=True, text=True).stdout
        for pid in pids.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)


def _is_to(s: Seen, addr: str | None, port: int | None) -> bool:
    r = s.raw
    if len(r) < 20 or r[0] >> 4 != 4 or (addr is not None and socket.inet_ntoa(r[16:20]) != addr):
        return False
    if port is None:
        return True
    ports = s.ports()
    return ports is not None and ports[1] == port


def tshark_bad(pcap: str, src: str) -> list[str]:
    """Malformed packets and checksum errors among those ``src`` sent, as tshark lines."""
    flt = f"ip.src == {src} && (_ws.malformed || _ws.expert.severity >= 8388608)"
    cmd = ["tshark", "-n", "-r", pcap, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
           "-d", "tcp.port==1-65535,data", "-T", "fields", "-e", "frame.number", "-e", "tcp.flags.str",
           "-e", "_ws.expert.message", "-Y", flt]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        return [f"tshark failed: {r.stderr.strip()}"]
    return [line for line in r.stdout.splitlines() if line.strip()]


# --------------------------------------------------------------------------- the attacker
class RawPeer:
    """One TCP connection the attacker drives by hand from ``src``:``sport``.

    ``snd_nxt``/``rcv_nxt`` are the attacker's own view (its next sequence number, and the
    next one it expects from synack), learnt from what the sniffer saw synack send.
    """

    def __init__(self, arena: Arena, sport: int | None = None, src: str = ATTACKER) -> None:
        self.arena = arena
        self.src = src
        self.sport = sport if sport is not None else 20000 + secrets.randbelow(30000)
        self.iss = secrets.randbelow(1 << 32)
        self.snd_nxt = self.iss
        self.rcv_nxt = 0
        self.synack: Seen | None = None

    def seg(self, flags: str = "A", data: bytes = b"", *, seq: int | None = None, ack: int | None = None,
            window: int = 65535, options: list | None = None) -> Any:
        """A scapy packet from this peer (sequence numbers default to its own view)."""
        IP, TCP, _ = scapy()
        return IP(src=self.src, dst=SYNACK, id=secrets.randbelow(65536)) / TCP(
            sport=self.sport, dport=PORT, flags=flags, window=window, options=options or [],
            seq=(self.snd_nxt if seq is None else seq) & 0xFFFFFFFF,
            ack=(self.rcv_nxt if ack is None else ack) & 0xFFFFFFFF) / data

    def raw(self, *args: Any, **kw: Any) -> bytes:
        _, _, raw = scapy()
        return raw(self.seg(*args, **kw))

    def raw_at(self, seqs: Iterable[int], data: bytes, flags: str = "A", **kw: Any) -> list[bytes]:
        """The same segment at each sequence number of ``seqs``: built once by scapy, then
        copied with the sequence number and the TCP checksum rewritten (for floods)."""
        b = bytearray(self.raw(flags, data, seq=0, **kw))
        ihl = (b[0] & 0xF) * 4
        b[ihl + 16:ihl + 18] = b"\0\0"
        pseudo = bytes(b[12:20]) + bytes((0, 6)) + (len(b) - ihl).to_bytes(2, "big")
        out = []
        for seq in seqs:
            b[ihl + 4:ihl + 8] = (seq & 0xFFFFFFFF).to_bytes(4, "big")
            b[ihl + 16:ihl + 18] = b"\0\0"
            b[ihl + 16:ihl + 18] = inet_checksum(pseudo + bytes(b[ihl:])).to_bytes(2, "big")
            out.append(bytes(b))
        return out

    def raw_options(self, flags: str, options: bytes, data: bytes = b"", **kw: Any) -> bytes:
        """A segment whose option octets are exactly ``options`` (a multiple of 4), however
        malformed: scapy builds it with NOPs in their place, then they are overwritten and
        the TCP checksum computed again (RFC 1071)."""
        if len(options) % 4:
            raise ValueError("options must fill whole 32-bit words")
        b = bytearray(self.raw(flags, data, options=[("NOP", None)] * len(options), **kw))
        ihl = (b[0] & 0xF) * 4
        b[ihl + 20:ihl + 20 + len(options)] = options
        b[ihl + 16:ihl + 18] = b"\0\0"
        seg = bytes(b[ihl:])
        pseudo = bytes(b[12:20]) + bytes((0, 6)) + len(seg).to_bytes(2, "big")
        b[ihl + 16:ihl + 18] = inet_checksum(pseudo + seg).to_bytes(2, "big")
        return bytes(b)

    def connect(self, mss: int | None = 1460, sack: bool = True, wscale: int | None = None,
                window: int = 65535, extra: list | None = None) -> Seen:
        """The three-way handshake with the options given (no timestamps, so that crafted
        segments need no TSopt); returns synack's SYN,ACK."""
        opts: list = []
        if mss is not None:
            opts.append(("MSS", mss))
        if sack:
            opts.append(("SAckOK", b""))
        if wscale is not None:
            opts.append(("WScale", wscale))
        opts += extra or []
        m = self.arena.mark()
        self.arena.send(self.seg("S", seq=self.iss, ack=0, window=window, options=opts))
        got = self.arena.from_synack(m, port=self.sport, to=self.src, wait=3,
                                     until=lambda g: any(s.flags == "SA" for s in g))
        sa = [s for s in got if s.flags == "SA"]
        assert sa, f"no SYN,ACK from synack for the attacker's SYN (saw {got})"
        self.synack = sa[0]
        self.snd_nxt = (self.iss + 1) & 0xFFFFFFFF
        self.rcv_nxt = (sa[0].tcp.seq + 1) & 0xFFFFFFFF
        self.arena.send(self.seg("A", window=window))
        return sa[0]

    def send(self, data: bytes, flags: str = "PA", **kw: Any) -> None:
        """Send ``data`` at SND.NXT and advance."""
        self.arena.send(self.seg(flags, data, **kw))
        self.snd_nxt = (self.snd_nxt + len(data)) & 0xFFFFFFFF

    def read(self, mark: int, n: int, wait: float = 5.0, ack: bool = True) -> bytes:
        """The next ``n`` octets synack sends (in order, from ``rcv_nxt``), ACKing them."""
        got: dict[int, bytes] = {}

        def have(segs: list[Seen]) -> bool:
            for s in segs:
                if s.payload:
                    got[(s.tcp.seq - self.rcv_nxt) & 0xFFFFFFFF] = s.payload
            return len(_stream(got)) >= n

        self.arena.from_synack(mark, port=self.sport, to=self.src, until=have, wait=wait)
        data = _stream(got)[:n]
        self.rcv_nxt = (self.rcv_nxt + len(data)) & 0xFFFFFFFF
        if ack and data:
            self.arena.send(self.seg("A"))
        return data

    def echo(self, data: bytes, wait: float = 5.0) -> bytes:
        m = self.arena.mark()
        self.send(data)
        return self.read(m, len(data), wait)

    def close(self) -> None:
        """Reset the connection (synack's end must not linger into the next test)."""
        self.arena.send(self.seg("R", ack=0))


def inet_checksum(data: bytes) -> int:
    """RFC 1071: the ones' complement of the ones' complement sum of 16-bit words."""
    if len(data) % 2:
        data += b"\0"
    total = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _stream(got: dict[int, bytes]) -> bytes:
    """The contiguous bytes from offset 0 of the pieces in ``got`` (offset -> data)."""
    out = bytearray()
    while True:
        piece = got.get(len(out))
        if piece is None:
            # a piece may start before len(out) (a retransmission that overlaps)
            for off, p in got.items():
                if off < len(out) < off + len(p):
                    piece = p[len(out) - off:]
                    break
        if not piece:
            return bytes(out)
        out += piece


# --------------------------------------------------------------------------- the bystander
class Bystander:
    """An ordinary kernel connection to synack's echo server; every exchange is checked."""

    def __init__(self, arena: Arena, timeout: float = 10.0) -> None:
        self.sock: socket.socket = in_netns(arena.ns, lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        self.sock.settimeout(timeout)
        self.sock.connect((SYNACK, PORT))
        self.n = 0
        self.rtts: list[float] = []
        self.errors: list[str] = []
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def echo(self, size: int = 64) -> float:
        """One round trip through synack's echo server; its duration in seconds."""
        self.n += 1
        msg = (f"bystander {self.n} ".encode() * size)[:size]
        t0 = time.monotonic()
        self.sock.sendall(msg)
        back = b""
        while len(back) < size:
            b = self.sock.recv(size - len(back))
            if not b:
                raise ConnectionError(f"synack closed the bystander's connection after {back!r}")
            back += b
        rtt = time.monotonic() - t0
        assert back == msg, f"bystander echo {self.n} came back wrong: {back!r}"
        self.rtts.append(rtt)
        return rtt

    def start(self, every: float = 0.02) -> None:
        """Echo in a thread, every ``every`` seconds, until :meth:`stop`."""
        def run() -> None:
            while not self._stop.is_set():
                try:
                    self.echo()
                except Exception as e:  # reported by stop()
                    self.errors.append(repr(e))
                    return
                self._stop.wait(every)

        self._thread = threading.Thread(target=run, name="bystander", daemon=True)
        self._thread.start()

    def stop(self) -> list[float]:
        """Stop echoing; the round trips measured. Fails if any echo failed."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(15)
            assert not self._thread.is_alive(), "the bystander's echo is stuck"
            self._thread = None
        assert not self.errors, f"the bystander's connection failed: {self.errors}"
        return self.rtts

    def close(self) -> None:
        self.sock.close()
