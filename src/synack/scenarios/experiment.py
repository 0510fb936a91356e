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

Tracing costs time, so by default only the events the plots need (cwnd, ssthresh,
FlightSize and the peer's window on each change, and RTT samples) are kept; ``trace="full"``
keeps everything (for an HTML report), ``trace="none"`` nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..link.sim import Network
from ..stack.host import Host
from ..tcp import cc as cc_registry
from ..tcp.config import TcpConfig
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

TRACE_MODES = ("plot", "full", "none")


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
    #: receive buffer of each connection; None = enough for the path (when the stack
    #: supports windows beyond 64 KiB, RFC 7323) or 65535
    rcv_buf: int | None = None
    #: "plot" (the events plots need), "full" (every event), "none"
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
        if self.trace not in TRACE_MODES:
            raise ValueError(f"trace must be one of {', '.join(TRACE_MODES)}, not {self.trace!r}")

    def algorithm(self, i: int) -> str:
        """The congestion control of flow ``i`` (0-based)."""
        return self.cc[i] if len(self.cc) > 1 else self.cc[0]

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
    #: the connection at the end of the run, for inspection
    sender: object = None
    receiver: object = None


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
    net: Network = field(repr=False, default=None)
    #: the receive buffer each connection had
    rcv_buf: int = 0

    @property
    def retransmits(self) -> int:
        return sum(f.retransmits for f in self.flows)

    @property
    def goodput_bps(self) -> list[float]:
        return [f.goodput_bps for f in self.flows]

    @property
    def events(self) -> list:
        return self.net.recorder.events if self.net is not None else []

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

    def append(self, ev) -> None:  # noqa: D401 - list protocol
        if type(ev) is CongestionChanged or type(ev) is RttSample:
            list.append(self, ev)


class _Receiver(Host):
    """The receiving host, counting the octets the bottleneck delivered to it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rx_bytes = 0
        self.counting = True

    def deliver(self, packet: bytes, now: int) -> None:
        if self.counting:
            self.rx_bytes += len(packet)
        super().deliver(packet, now)


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


def run(cfg: ExperimentConfig) -> ExperimentResult:
    """Run the experiment and measure it."""
    cfg.validate()
    rcv_buf = _rcv_buf(cfg)
    snd_buf = max(256 * 1024, 2 * rcv_buf)
    recorder = Recorder(on=cfg.trace != "none")
    if cfg.trace == "plot":
        recorder.events = _KeepPlotEvents()
    net = Network(seed=cfg.seed, recorder=recorder)
    base = TcpConfig(rcv_buf=rcv_buf, snd_buf=snd_buf)
    base.validate()
    sender = net.add_host(SENDER, [SENDER_ADDR], config=base)
    receiver = _Receiver(RECEIVER, [RECEIVER_ADDR], seed=net.rng.getrandbits(64), recorder=recorder,
                         config=base)
    net.attach(receiver)
    half = cfg.rtt // 2
    net.set_path(SENDER, RECEIVER, delay=half, bandwidth_bps=cfg.bandwidth_bps,
                 queue_packets=cfg.queue_packets, loss=cfg.loss)
    net.set_path(RECEIVER, SENDER, delay=cfg.rtt - half)

    listeners = [receiver.listen(BASE_PORT + i, net.now) for i in range(cfg.flows)]
    senders = []
    for i in range(cfg.flows):
        conn_cfg = TcpConfig(rcv_buf=rcv_buf, snd_buf=snd_buf, congestion=cfg.algorithm(i))
        senders.append(sender.connect(RECEIVER_ADDR, BASE_PORT + i, net.now, config=conn_cfg))
    start = net.now
    end = start + cfg.duration
    receivers: list = [None] * cfg.flows
    got = [0] * cfg.flows
    zeros = memoryview(_ZEROS)

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

    next_time = net.next_time
    step = net.step
    while True:
        pump()
        t = next_time()
        if t is None or t > end:
            break
        step()
    net.now = max(net.now, end)
    receiver.counting = False

    seconds = cfg.duration / NS_PER_S
    flows = []
    for i, s in enumerate(senders):
        if s.error is not None:
            raise RuntimeError(f"flow {i + 1} failed: {s.error}")
        flows.append(FlowResult(i + 1, s.cc.name, got[i], got[i] * 8 / seconds, s.retransmits, s.cid,
                                s, receivers[i]))
    utilisation = receiver.rx_bytes * 8 / (cfg.bandwidth_bps * seconds)
    return ExperimentResult(cfg, flows, utilisation, jain([f.goodput_bps for f in flows]),
                            dict(net.dropped), net, rcv_buf)


__all__ = ["ExperimentConfig", "ExperimentResult", "FlowResult", "jain", "mathis_bps", "run"]
