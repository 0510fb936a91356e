"""Helpers for the real-kernel interop tests: a network namespace per test, a TUN device
inside it with synack on one side and Linux's TCP on the other, a packet capture of the
device, and `ss` to read the kernel's connection states.

Everything stays inside the namespace the test creates (10.99.0.0/24 exists only there)
and is deleted afterwards.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import pytest

from synack.link.tun import missing as tun_missing
from synack.link.tun import netns_socket

SYNACK_ADDR = "10.99.0.2"
KERNEL_ADDR = "10.99.0.1"
PREFIX = "10.99.0.2/24"
SYNACK_ADDR6 = "fd00:99::2"
KERNEL_ADDR6 = "fd00:99::1"
PREFIX6 = "fd00:99::2/64"


def kernel_tests_missing() -> str | None:
    """One clear reason the kernel tests cannot run here, or None."""
    why = tun_missing()
    if why is not None:
        return why
    for tool in ("tcpdump", "tshark", "ss", "tc"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (make test installs it when run as root)"
    return None


def skip_or_fail_without_kernel() -> None:
    """Skip (or, in CI, fail) with one reason when root, TUN or the tools are missing."""
    why = kernel_tests_missing()
    if why is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"real-kernel tests must run in CI, but {why}")
    pytest.skip(f"real-kernel tests: {why}")


class Netns:
    """A network namespace made for one test (``ip netns add synack-test-<random>``)."""

    def __init__(self) -> None:
        self.name = f"synack-test-{secrets.token_hex(4)}"
        subprocess.run(["ip", "netns", "add", self.name], check=True, capture_output=True)
        self.run("ip", "link", "set", "lo", "up")

    def run(self, *cmd: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", self.name, *cmd], check=check,
                              capture_output=True, text=True, timeout=timeout)

    def popen(self, *cmd: str, **kw: Any) -> subprocess.Popen:
        return subprocess.Popen(["ip", "netns", "exec", self.name, *cmd], **kw)

    def socket(self, family: int = socket.AF_INET) -> socket.socket:
        """A kernel TCP socket inside the namespace."""
        return netns_socket(self.name, family, socket.SOCK_STREAM)

    def sysctl(self, key: str, value: str) -> None:
        self.run("sysctl", "-q", "-w", f"{key}={value}")

    def ss(self) -> list[tuple[str, str, str]]:
        """The kernel's TCP sockets: (state, local, peer) from ``ss -tan``."""
        out = self.run("ss", "-tanH").stdout
        rows = []
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 5:
                rows.append((parts[0], parts[3], parts[4]))
        return rows

    def states(self, local: str, peer: str) -> list[str]:
        """States of the kernel sockets with this local and peer ``addr:port``."""
        return [st for st, mine, theirs in self.ss() if mine == local and theirs == peer]

    def delete(self) -> None:
        # Nothing of ours may outlive the namespace: kill what still runs in it.
        pids = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True).stdout
        for pid in pids.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


class Capture:
    """tcpdump on the TUN device inside the namespace; :meth:`check` reads the file with
    tshark and lists malformed packets and checksum errors."""

    def __init__(self, ns: Netns, dev: str, path: str, snaplen: int = 0) -> None:
        self.ns = ns
        self.path = path
        args = ["tcpdump", "-i", dev, "--immediate-mode", "-U", "-n", "-w", path]
        if snaplen:
            args[1:1] = ["-s", str(snaplen)]
        self.proc = ns.popen(*args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline()  # "listening on skXXXX, link-type RAW ..."
        if "listening on" not in line:
            raise RuntimeError(f"tcpdump did not start: {line.strip()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            time.sleep(0.05)  # let the last packets reach the file
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()

    def packets(self, display_filter: str = "", fields: tuple = ("frame.number",), raw: bool = False) -> list[str]:
        """tshark's view of the capture. ``raw``: TCP payloads are plain data, so that
        random test payloads are never taken for some protocol by a heuristic dissector
        (whose complaints about "its" protocol would say nothing about TCP)."""
        cmd = ["tshark", "-n", "-r", self.path, "-o", "tcp.check_checksum:TRUE",
               "-o", "ip.check_checksum:TRUE", "-T", "fields"]
        if raw:
            cmd += ["-d", "tcp.port==1-65535,data"]
        for f in fields:
            cmd += ["-e", f]
        if display_filter:
            cmd += ["-Y", display_filter]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"tshark failed: {r.stderr.strip()}")
        return [line for line in r.stdout.splitlines() if line.strip()]

    def count(self, display_filter: str, expect: int, timeout: float = 3.0) -> int:
        """How many captured packets match, polling until ``expect`` are there (tcpdump
        writes each packet a moment after the stacks have seen it) or ``timeout``."""
        end = time.monotonic() + timeout
        while True:
            n = len(self.packets(display_filter))
            if n >= expect or time.monotonic() > end:
                return n
            time.sleep(0.1)

    def bad(self, only_from: str | None = None) -> list[str]:
        """Malformed packets, expert errors (bad checksums included), as tshark lines.

        With offloads, a packet crosses the device with a partial checksum (the virtio
        header's NEEDS_CSUM): its checksum field holds exactly the pseudo-header sum, which
        is what tcpdump captures before the checksum is computed (the same as on any NIC
        with checksum offload). Such a field is checked here, independently of tshark,
        and accepted; any other bad checksum is an error."""
        flt = "_ws.malformed || _ws.expert.severity >= 8388608"
        if only_from:
            flt = f"{'ipv6' if ':' in only_from else 'ip'}.src == {only_from} && ({flt})"
        rows = self.packets(flt, ("frame.number", "ip.src", "ipv6.src", "tcp.flags.str", "_ws.expert.message",
                                  "_ws.expert.severity", "tcp.checksum.status", "_ws.malformed"), raw=True)
        bad = []
        partial: set | None = None
        for row in rows:
            f = row.split("\t")
            errors = sum(1 for sev in f[5].split(",") if sev and int(sev) >= 8388608)
            if errors == 1 and f[6] == "0" and not f[7]:  # the one error: a bad TCP checksum
                if partial is None:
                    partial = partial_checksum_frames(self.path)
                if int(f[0]) in partial:
                    continue
            bad.append("\t".join((f[0], f[1] or f[2], f[3], f[4])))
        return bad


def _fold16(s: int) -> int:
    while s > 0xFFFF:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def partial_checksum_frames(path: str) -> set[int]:
    """Frame numbers (from 1) of a tcpdump capture whose TCP checksum field holds the
    folded pseudo-header sum and nothing else (RFC 9293 §3.1's pseudo-header: addresses,
    protocol 6, TCP length): packets handed over with a partial checksum."""
    import dpkt

    out = set()
    with open(path, "rb") as f:
        for n, (_, buf) in enumerate(dpkt.pcap.Reader(f), 1):
            if len(buf) < 20:
                continue
            if buf[0] >> 4 == 4 and buf[9] == 6:
                ihl = (buf[0] & 15) * 4
                addrs, tcp_len = buf[12:20], int.from_bytes(buf[2:4], "big") - ihl
            elif buf[0] >> 4 == 6 and len(buf) >= 40 and buf[6] == 6:
                ihl = 40
                addrs, tcp_len = buf[8:40], int.from_bytes(buf[4:6], "big")
            else:
                continue
            if len(buf) < ihl + 18:
                continue
            words = sum(int.from_bytes(addrs[i:i + 2], "big") for i in range(0, len(addrs), 2))
            if int.from_bytes(buf[ihl + 16:ihl + 18], "big") == _fold16(words + 6 + tcp_len):
                out.add(n)
    return out


def in_thread(fn: Callable, *args: Any) -> Future:
    """Run ``fn(*args)`` in a daemon thread; the Future holds its result or exception."""
    fut: Future = Future()

    def run() -> None:
        try:
            fut.set_result(fn(*args))
        except BaseException as e:  # handed to the test through the future
            fut.set_exception(e)

    threading.Thread(target=run, daemon=True).start()
    return fut


def recv_all(sock: Any, limit: int | None = None) -> bytes:
    """Read until end of stream (or ``limit`` octets)."""
    buf = bytearray()
    while limit is None or len(buf) < limit:
        b = sock.recv(1 << 18 if limit is None else min(1 << 18, limit - len(buf)))
        if not b:
            break
        buf += b
    return bytes(buf)


def wait_until(cond: Callable[[], bool], timeout: float = 5.0, step: float = 0.01) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


class Impairment:
    """netem's parameters (loss, delay, reorder, duplicate, corrupt), applied by synack's
    side of the device where the kernel has no netem qdisc (CONFIG_NET_SCH_NETEM unset)."""

    def __init__(self, loss: float, delay: float, reorder: float, duplicate: float, corrupt: float,
                 seed: int) -> None:
        import random

        self.loss, self.delay, self.reorder = loss, delay, reorder
        self.duplicate, self.corrupt = duplicate, corrupt
        self.rng = random.Random(seed)
        self.counts = {"lost": 0, "duplicated": 0, "corrupted": 0, "reordered": 0}

    def plan(self, pkt: bytes, may_corrupt: bool) -> list[tuple[float, bytes]]:
        """(delay in s, packet) for each copy that goes on; [] if lost."""
        r = self.rng
        if r.random() < self.loss:
            self.counts["lost"] += 1
            return []
        copies = 2 if r.random() < self.duplicate else 1
        if copies == 2:
            self.counts["duplicated"] += 1
        out = []
        for _ in range(copies):
            p = pkt
            if may_corrupt and r.random() < self.corrupt:
                b = bytearray(p)
                i = r.randrange(len(b))
                b[i] ^= 1 << r.randrange(8)
                p = bytes(b)
                self.counts["corrupted"] += 1
            if r.random() < self.reorder:
                self.counts["reordered"] += 1
                out.append((0.0, p))   # netem's reorder: these go at once, the rest wait
            else:
                out.append((self.delay, p))
        return out


def _wire_sized(pkt: bytes, mtu: int) -> list[bytes]:
    """A TCP packet with a partial checksum as a wire carries it: cut at ``mtu`` (GSO) and
    checksummed."""
    from synack.link.vnet import complete_checksum, gso_split

    if pkt[0] >> 4 == 4 and pkt[9] == 6:
        ihl = (pkt[0] & 15) * 4
    elif pkt[0] >> 4 == 6 and pkt[6] == 6:
        ihl = 40
    else:
        return [pkt]
    if len(pkt) > mtu:
        return gso_split(pkt, mtu - ihl - (pkt[ihl + 12] >> 4) * 4)
    return [complete_checksum(pkt, ihl, 16)]


class ImpairedLink:
    """Wraps a link; with ``impairment`` None it passes packets straight through.

    Packets synack sends are lost, duplicated, delayed and reordered but never corrupted
    (so the capture on the device shows only well-formed packets from synack); packets
    the kernel sends are also corrupted, after the capture point, before synack parses them.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.features = inner.features
        self.impairment: Impairment | None = None
        self._loop: Any = None
        self._receive: Any = None

    def start(self, loop: Any, receive: Callable[[list], None]) -> None:
        self._loop = loop
        self._receive = receive
        self.inner.start(loop, self._rx)

    def _rx(self, batch: list, checksum_ok: Any = False) -> None:
        imp = self.impairment
        if imp is None:
            self._receive(batch, checksum_ok)
            return
        # With offloads the kernel hands over TSO super-segments with partial checksums.
        # The impairment acts like a wire after the kernel's GSO: super-segments are cut
        # into wire-sized segments and every checksum is completed (as netem does before
        # it corrupts); a packet corrupted here must be verified, so all go on unverified.
        if checksum_ok is not False:
            oks = [checksum_ok] * len(batch) if checksum_ok is True else checksum_ok
            wire: list = []
            for p, ok in zip(batch, oks, strict=False):
                wire.extend(_wire_sized(p, self.features.mtu) if ok else [p])
            batch = wire
        now = []
        for pkt in batch:
            for delay, p in imp.plan(pkt, True):
                if delay:
                    self._loop.call_later(delay, self._receive, [p])
                else:
                    now.append(p)
        if now:
            self._receive(now)

    def send(self, packets: list) -> None:
        imp = self.impairment
        if imp is None:
            self.inner.send(packets)
            return
        for pkt in packets:
            for delay, p in imp.plan(pkt, False):
                self._loop.call_soon_threadsafe(self._loop.call_later, delay, self.inner.send, [p])

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
