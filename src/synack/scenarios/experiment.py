"""The experiment bench: bulk flows through one simulated bottleneck, and what they achieved.

A dumbbell reduced to what matters: every flow's sender runs on host ``sender``, every
receiver on host ``receiver``, and the direction sender -> receiver is the bottleneck: a
link of ``bandwidth_bps`` with a FIFO of ``queue_packets`` packets (drop-tail) and random
loss ``loss``; each direction adds half the round-trip time of propagation delay. The
simulator keeps one transmit queue per (source host, destination host) pair, so putting all
senders on one host is what makes the flows share one queue, as flows from many hosts share
a router's queue on a real dumbbell. ACKs come back on an uncongested, lossless path.

Each sender keeps its send buffer full for the whole run (a bulk transfer); each receiver
reads whatever arrives at once. At the end :class:`ExperimentResult` holds per flow the
goodput (octets the receiving application read, per second of the run), retransmissions
and the congestion control used, and for the run the bottleneck's utilisation (the fraction
of its capacity spent transmitting packets that reached the receiver, headers and
retransmissions included) and Jain's fairness index over the goodputs.

Flows may have different round-trip times and still share the one queue: with
``rtt_ratio`` r > 1 the last flow's round trip is r times the first's (flows between are
spaced geometrically), and the receiving host holds each flow's ACKs back for the extra
time, as a longer return path would.

Tracing costs time, so by default only the events the plots need (cwnd, ssthresh,
FlightSize and the peer's window on each change, and RTT samples) are kept, together with
goodput over time and the bottleneck queue's occupancy; ``trace="full"`` keeps everything
(for an HTML report), ``trace="rtt"`` only the RTT samples (for their percentiles),
``trace="none"`` nothing.

``run(cfg, progress=f)`` calls ``f(done_ns, duration_ns)`` about a hundred times during the
run, in simulated time, so a caller can show how far it got.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..link.sim import Network
from ..stack.host import Host
from ..stack.packet import Packet
from ..tcp import cc as cc_registry
from ..tcp.config import TcpConfig
from ..tcp.connection import Connection
from ..tcp.state import State
from ..timeunits import NS_PER_S, ms, sec
from ..trace.events import CongestionChanged, Recorder, RttSample

SENDER, RECEIVER = "sender", "receiver"
SENDER_ADDR, RECEIVER_ADDR = "10.0.0.1", "10.0.0.2"
BASE_PORT = 5001
#: IPv4 + TCP headers without options: what a full-sized segment adds on the wire
HEADERS = 40
#: the most data one SEND offers, and how free the buffer must be before offering more
CHUNK = 64 * 1024
_ZEROS = bytes(1 << 20)

TRACE_MODES = ("plot", "full", "rtt", "none")
#: the largest ratio between the longest and the shortest round trip of the flows
MAX_RTT_RATIO = 100.0


@dataclass
class ExperimentConfig:
    """The path and the flows. Times in ns."""

    bandwidth_bps: float = 10e6
    rtt: int = ms(50)
    loss: float = 0.0
    queue_packets: int = 100
    flows: int = 1
    #: one algorithm for every flow, or one per flow
    cc: tuple[str, ...] = (cc_registry.DEFAULT,)
    duration: int = sec(30)
    seed: int = 1
    #: the TCP personality of every connection (docs/personalities.md); ``cc`` still chooses
    #: the congestion control
    profile: str = "linux"
    #: receive buffer of each connection; None = enough for the path (when the stack
    #: supports windows beyond 64 KiB, RFC 7323) or 65535
    rcv_buf: int | None = None
    #: the last flow's round trip over the first's (>= 1); flows between are spaced
    #: geometrically. Every flow still shares the one bottleneck queue.
    rtt_ratio: float = 1.0
    #: "plot" (the events plots need), "full" (every event), "rtt" (RTT samples), "none"
    trace: str = "plot"

    def validate(self) -> None:
        """Raise ValueError naming the first field that is out of range."""
        if not self.bandwidth_bps > 0:
            raise ValueError(f"bandwidth must be positive, not {self.bandwidth_bps}")
        if self.rtt < 0:
            raise ValueError(f"rtt must not be negative, not {self.rtt}")
        if not 0.0 <= self.loss < 1.0:
            raise ValueError(f"loss must be a probability in [0, 1), not {self.loss}")
        if self.queue_packets < 1:
            raise ValueError(f"queue must be at least 1 packet, not {self.queue_packets}")
        if not 1 <= self.flows <= 1000:
            raise ValueError(f"flows must be between 1 and 1000, not {self.flows}")
        if len(self.cc) not in (1, self.flows):
            raise ValueError(f"cc: give one algorithm or one per flow ({self.flows}), not {len(self.cc)}")
        for name in self.cc:
            cc_registry.check(name)
        if self.duration <= 0:
            raise ValueError(f"duration must be positive, not {self.duration}")
        if not 1.0 <= self.rtt_ratio <= MAX_RTT_RATIO:
            raise ValueError(f"rtt_ratio must be from 1 to {MAX_RTT_RATIO:g}, not {self.rtt_ratio}")
        if self.trace not in TRACE_MODES:
            raise ValueError(f"trace must be one of {', '.join(TRACE_MODES)}, not {self.trace!r}")

    def algorithm(self, i: int) -> str:
        """The congestion control of flow ``i`` (0-based)."""
        return self.cc[i] if len(self.cc) > 1 else self.cc[0]

    def flow_rtt(self, i: int) -> int:
        """The round-trip propagation delay of flow ``i`` (0-based), ns."""
        if self.flows == 1 or self.rtt_ratio == 1.0:
            return self.rtt
        return int(round(self.rtt * self.rtt_ratio ** (i / (self.flows - 1))))

    @property
    def bdp(self) -> int:
        """The bandwidth-delay product in octets."""
        return int(self.bandwidth_bps * self.rtt / NS_PER_S / 8)


@dataclass
class FlowResult:
    flow: int
    cc: str
    #: octets the receiving application read during the run
    bytes: int
    goodput_bps: float
    retransmits: int
    #: the sender's connection (cid), to find its events in the trace
    conn: tuple
    #: the flow's round-trip propagation delay, ns
    rtt: int = 0
    #: the connection at the end of the run, for inspection
    sender: Connection | None = None
    receiver: Connection | None = None


@dataclass
class ExperimentResult:
    config: ExperimentConfig
    flows: list[FlowResult]
    #: fraction of the bottleneck's capacity used by packets that reached the receiver
    utilisation: float
    #: Jain's fairness index of the goodputs: 1 when equal, 1/n when one flow has it all
    fairness: float
    #: packets the bottleneck dropped, by reason ("queue-full", "link-loss")
    drops: dict[str, int]
    net: Network | None = field(repr=False, default=None)
    #: the receive buffer each connection had
    rcv_buf: int = 0
    #: goodput over time (trace "plot" and "full")
    goodput_series: GoodputSeries | None = None
    #: the bottleneck queue's occupancy over time (trace "plot" and "full")
    queue_series: QueueSeries | None = None

    @property
    def retransmits(self) -> int:
        return sum(f.retransmits for f in self.flows)

    @property
    def goodput_bps(self) -> list[float]:
        return [f.goodput_bps for f in self.flows]

    @property
    def events(self) -> list:
        return self.net.recorder.events if self.net is not None else []

    def rtt_samples(self) -> list[int]:
        """Every RTT sample of every flow's sender, ns (empty with trace "none")."""
        return [ev.rtt for ev in self.events if type(ev) is RttSample and ev.host == SENDER]

    def rtt_percentile(self, q: float) -> float | None:
        """The ``q``-th percentile (0-100, nearest rank) of the RTT samples, ns; None if none."""
        return percentile(self.rtt_samples(), q)

    def as_dict(self) -> dict:
        """The figures as JSON-ready values (the ``--format json`` output)."""
        c = self.config
        return {
            "path": {"bandwidth_bps": c.bandwidth_bps, "rtt_s": c.rtt / NS_PER_S, "loss": c.loss,
                     "queue_packets": c.queue_packets, "rcv_buf": self.rcv_buf},
            "duration_s": c.duration / NS_PER_S,
            "seed": c.seed,
            "flows": [{"flow": f.flow, "cc": f.cc, "goodput_bps": round(f.goodput_bps, 1),
                       "bytes": f.bytes, "retransmits": f.retransmits} for f in self.flows],
            "goodput_bps": [round(f.goodput_bps, 1) for f in self.flows],
            "utilisation": round(self.utilisation, 4),
            "retransmits": self.retransmits,
            "fairness": round(self.fairness, 4),
            "drops": dict(sorted(self.drops.items())),
        }


@dataclass
class GoodputSeries:
    """Octets each flow's receiving application had read, sampled over the run."""

    #: sample times, s from the start of the run
    t: list[float] = field(default_factory=list)
    #: per flow, the octets read by each sample time
    octets: list[list[int]] = field(default_factory=list)

    def rates(self) -> tuple[list[float], list[list[float]]]:
        """(interval midpoints in s, per flow the goodput in bit/s over each interval)."""
        t = self.t
        mids = [(t[k] + t[k + 1]) / 2 for k in range(len(t) - 1)]
        rates = [[(ys[k + 1] - ys[k]) * 8 / (t[k + 1] - t[k]) if t[k + 1] > t[k] else 0.0
                  for k in range(len(t) - 1)] for ys in self.octets]
        return mids, rates


@dataclass
class QueueSeries:
    """The bottleneck queue's occupancy (packets waiting or in transmission) after every
    change, and the capacity it was drop-tail at."""

    t: list[float] = field(default_factory=list)
    packets: list[int] = field(default_factory=list)
    capacity: int = 0
    #: arrivals the full queue refused (equals the network's "queue-full" drops)
    drops: int = 0


def percentile(xs: list, q: float) -> float | None:
    """The ``q``-th percentile (0-100) of ``xs`` by the nearest-rank method; None if empty."""
    if not xs:
        return None
    ordered = sorted(xs)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n * q / 100), at least 1
    return float(ordered[min(int(rank), len(ordered)) - 1])


def jain(xs: list[float]) -> float:
    """Jain's fairness index (sum x)^2 / (n * sum x^2); 1.0 for no flows or all zero."""
    n = len(xs)
    sq = sum(x * x for x in xs)
    if n == 0 or sq == 0:
        return 1.0
    return sum(xs) ** 2 / (n * sq)


def mathis_bps(mss: int, rtt: int, loss: float) -> float:
    """The Mathis et al. bound on Reno's throughput, bit/s: MSS/RTT * C/sqrt(p), C = sqrt(3/2)."""
    return mss * 8 / (rtt / NS_PER_S) * (1.5 ** 0.5) / loss ** 0.5


class _KeepPlotEvents(list):
    """A recorder's event list that keeps only what the plots read."""

    __slots__ = ()

    def append(self, ev) -> None:
        if type(ev) is CongestionChanged or type(ev) is RttSample:
            list.append(self, ev)


class _KeepRttEvents(list):
    """A recorder's event list that keeps only RTT samples."""

    __slots__ = ()

    def append(self, ev) -> None:
        if type(ev) is RttSample:
            list.append(self, ev)


def _size(packet: Any) -> int:
    """Octets of a packet the host hands the link: bytes, or a value that knows its size."""
    return len(packet) if type(packet) is bytes else packet.size


def _src_port(packet: Any) -> int:
    """The TCP source port of a packet (bytes of IPv4, or a value carrying its segment)."""
    if type(packet) is not bytes:
        return packet.seg.src_port
    ihl = (packet[0] & 15) * 4
    return int.from_bytes(packet[ihl:ihl + 2], "big") if len(packet) >= ihl + 2 else 0


# The link takes what a host sends through ``take_outgoing`` (packet values; the simulator)
# or ``take_packets`` (bytes), and delivers through ``deliver_packet`` (values) or
# ``deliver`` (bytes): the hosts below watch both ways.


class _Receiver(Host):
    """The receiving host, counting the octets the bottleneck delivered to it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rx_bytes = 0
        self.counting = True

    def deliver(self, packet: bytes, now: int, checksum_ok: bool = False) -> None:
        if self.counting:
            self.rx_bytes += len(packet)
        super().deliver(packet, now, checksum_ok)

    def deliver_packet(self, pkt: Packet, now: int, raw: bytes | None = None) -> None:
        if self.counting:
            self.rx_bytes += pkt.size
        super().deliver_packet(pkt, now, raw)


class _DelayingReceiver(_Receiver):
    """A receiving host that holds each flow's outgoing packets back by that flow's extra
    return delay (``extra[i]`` ns for the flow on port ``BASE_PORT + i``), as a longer path
    back to its sender would."""

    def __init__(self, *args, net: Network, extra: list[int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._net = net
        self._extra = extra
        self._held: list = []   # heap of (release time, order, packet)
        self._ready: list = []
        self._n = 0

    def _hold(self, out: list) -> list:
        extra = self._extra
        ready, self._ready = self._ready, []
        now = self._net.now
        for packet in out:
            i = _src_port(packet) - BASE_PORT
            d = extra[i] if 0 <= i < len(extra) else 0
            if d:
                self._n += 1
                heapq.heappush(self._held, (now + d, self._n, packet))
            else:
                ready.append(packet)
        return ready

    def take_packets(self) -> list[bytes]:
        return self._hold(super().take_packets())

    def take_outgoing(self) -> list[Packet | bytes]:
        return self._hold(super().take_outgoing())

    def next_deadline(self) -> int | None:
        d = super().next_deadline()
        if self._held:
            h = self._held[0][0]
            if d is None or h < d:
                return h
        return d

    def on_timeout(self, now: int) -> None:
        held = self._held
        while held and held[0][0] <= now:
            self._ready.append(heapq.heappop(held)[2])
        super().on_timeout(now)  # sets ``changed``: the network takes the released packets


class _QueueWatch:
    """The bottleneck's transmit queue as the simulator's path model keeps it (a drop-tail
    FIFO of ``capacity`` packets, each leaving after its serialisation time at
    ``bandwidth_bps``), replayed from the packets the sending host hands the network, to
    draw its occupancy over time. Its drop count is checked against the network's."""

    def __init__(self, bandwidth_bps: float, capacity: int, start: int) -> None:
        self.bps = bandwidth_bps
        self.start = start
        self.free_at = 0
        self.ends: list = []   # transmission end times, FIFO (a list used as a queue)
        self.head = 0
        self.series = QueueSeries(capacity=capacity)

    def packets(self, now: int, pkts: list) -> None:
        s = self.series
        ends = self.ends
        t0 = self.start
        while self.head < len(ends) and ends[self.head] <= now:
            end = ends[self.head]
            self.head += 1
            s.t.append((end - t0) / NS_PER_S)
            s.packets.append(len(ends) - self.head)
        if self.head > 4096:
            del ends[:self.head]
            self.head = 0
        for packet in pkts:
            if len(ends) - self.head >= s.capacity:
                s.drops += 1
                continue
            begin = max(now, self.free_at)
            self.free_at = int(begin + -(-_size(packet) * 8 * NS_PER_S // self.bps))
            ends.append(self.free_at)
            s.t.append((now - t0) / NS_PER_S)
            s.packets.append(len(ends) - self.head)

    def finish(self, end: int) -> QueueSeries:
        self.packets(end, [])
        return self.series


class _Sender(Host):
    """The sending host; with a :class:`_QueueWatch`, shows it every packet it sends."""

    def __init__(self, *args, net: Network, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._net = net
        self.watch: _QueueWatch | None = None

    def _watch(self, out: list) -> list:
        if out and self.watch is not None:
            self.watch.packets(self._net.now, out)
        return out

    def take_packets(self) -> list[bytes]:
        return self._watch(super().take_packets())

    def take_outgoing(self) -> list[Packet | bytes]:
        return self._watch(super().take_outgoing())


def _rcv_buf(cfg: ExperimentConfig) -> int:
    """The receive buffer: the path's BDP plus its queue, twice over, if the stack accepts
    windows that large (RFC 7323 window scaling), else the largest unscaled window."""
    if cfg.rcv_buf is not None:
        return cfg.rcv_buf
    want = max(65535, 2 * (cfg.bdp + cfg.queue_packets * 1500))
    want = min(want, 1 << 30)
    try:
        TcpConfig(rcv_buf=want).validate()
    except ValueError:
        return 65535
    return want


def run(cfg: ExperimentConfig, progress: Callable[[int, int], None] | None = None) -> ExperimentResult:
    """Run the experiment and measure it. ``progress(done_ns, duration_ns)``, if given, is
    called about a hundred times along the way and once at the end."""
    cfg.validate()
    rcv_buf = _rcv_buf(cfg)
    snd_buf = max(256 * 1024, 2 * rcv_buf)
    recorder = Recorder(on=cfg.trace != "none")
    if cfg.trace == "plot":
        recorder.events = _KeepPlotEvents()
    elif cfg.trace == "rtt":
        recorder.events = _KeepRttEvents()
    timelines = cfg.trace in ("plot", "full")
    net = Network(seed=cfg.seed, recorder=recorder)
    base = TcpConfig(profile=cfg.profile, rcv_buf=rcv_buf, snd_buf=snd_buf)
    base.validate()
    # the same draws from the network's generator, in the same order, as Network.add_host;
    # the subclasses that watch or delay packets only where they are needed (they cost time)
    seed = net.rng.getrandbits(64)
    sender: Host
    if timelines:
        sender = _Sender(SENDER, [SENDER_ADDR], seed=seed, recorder=recorder, config=base, net=net)
        sender.watch = _QueueWatch(cfg.bandwidth_bps, cfg.queue_packets, net.now)
    else:
        sender = Host(SENDER, [SENDER_ADDR], seed=seed, recorder=recorder, config=base)
    net.attach(sender)
    half = cfg.rtt // 2
    extra = [cfg.flow_rtt(i) - cfg.rtt for i in range(cfg.flows)]
    seed = net.rng.getrandbits(64)
    receiver: _Receiver
    if any(extra):
        receiver = _DelayingReceiver(RECEIVER, [RECEIVER_ADDR], seed=seed, recorder=recorder, config=base,
                                     net=net, extra=extra)
    else:
        receiver = _Receiver(RECEIVER, [RECEIVER_ADDR], seed=seed, recorder=recorder, config=base)
    net.attach(receiver)
    net.set_path(SENDER, RECEIVER, delay=half, bandwidth_bps=cfg.bandwidth_bps,
                 queue_packets=cfg.queue_packets, loss=cfg.loss)
    net.set_path(RECEIVER, SENDER, delay=cfg.rtt - half)

    listeners = [receiver.listen(BASE_PORT + i, net.now) for i in range(cfg.flows)]
    senders = []
    for i in range(cfg.flows):
        conn_cfg = TcpConfig(profile=cfg.profile, rcv_buf=rcv_buf, snd_buf=snd_buf, congestion=cfg.algorithm(i))
        senders.append(sender.connect(RECEIVER_ADDR, BASE_PORT + i, net.now, config=conn_cfg))
    start = net.now
    end = start + cfg.duration
    receivers: list = [None] * cfg.flows
    got = [0] * cfg.flows
    zeros: Any = memoryview(_ZEROS)  # slices of it are sent without a copy
    gs = GoodputSeries(octets=[[] for _ in range(cfg.flows)]) if timelines else None
    # goodput samples every 1/100 of the run, at least 100 ms apart (shorter intervals show
    # the bursts of a filled hole more than the rate); progress every 1/100
    sample_every = max(ms(100), cfg.duration // 100)
    report_every = max(1, cfg.duration // 100)
    next_sample = start if gs is not None else None
    next_report = start + report_every if progress is not None else None

    def pump() -> None:
        now = net.now
        for i, lst in enumerate(listeners):
            r = receivers[i]
            if r is None:
                r = receivers[i] = lst.accept()
                if r is None:
                    continue
            n = r.readable
            if n:
                got[i] += len(r.receive(n, now))
                receiver.call(r, now)
            s = senders[i]
            if s.state is State.ESTABLISHED:
                space = s.send_space
                if space >= CHUNK:
                    s.send(zeros[:min(space, len(_ZEROS))], now)
                    sender.call(s, now)

    def sample(now: int) -> None:
        assert gs is not None
        gs.t.append((now - start) / NS_PER_S)
        for i, n in enumerate(got):
            gs.octets[i].append(n)

    next_time = net.next_time
    step = net.step
    while True:
        pump()
        now = net.now
        if next_sample is not None and now >= next_sample:
            sample(now)
            next_sample += sample_every * ((now - next_sample) // sample_every + 1)
        if next_report is not None and now >= next_report:
            progress(now - start, cfg.duration)  # type: ignore[misc]
            next_report += report_every * ((now - next_report) // report_every + 1)
        t = next_time()
        if t is None or t > end:
            break
        step()
    net.now = max(net.now, end)
    receiver.counting = False
    if gs is not None:
        sample(end)
    if progress is not None:
        progress(cfg.duration, cfg.duration)

    seconds = cfg.duration / NS_PER_S
    flows = []
    for i, s in enumerate(senders):
        if s.error is not None:
            raise RuntimeError(f"flow {i + 1} failed: {s.error}")
        flows.append(FlowResult(i + 1, s.cc.name, got[i], got[i] * 8 / seconds, s.retransmits, s.cid,
                                cfg.flow_rtt(i), s, receivers[i]))
    utilisation = receiver.rx_bytes * 8 / (cfg.bandwidth_bps * seconds)
    queue = sender.watch.finish(end) if isinstance(sender, _Sender) and sender.watch is not None else None
    return ExperimentResult(cfg, flows, utilisation, jain([f.goodput_bps for f in flows]),
                            dict(net.dropped), net, rcv_buf, gs, queue)


__all__ = ["ExperimentConfig", "ExperimentResult", "FlowResult", "GoodputSeries", "QueueSeries", "jain",
           "mathis_bps", "percentile", "run"]
