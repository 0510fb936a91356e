"""A budget of packets per connection per wake-up of the real-time driver (link/fair.py):
a flood on one connection does not make the others wait for all of it."""

from __future__ import annotations

import asyncio

import pytest

from synack.link.driver import Driver
from synack.link.fair import FairBatches, flow_of
from synack.wire.ip import emit_packet
from synack.wire.seq import Seq
from synack.wire.tcp import ACK, SYN, TcpSegment


def pkt(src: str, sport: int, n: int) -> bytes:
    return emit_packet(src, "10.0.0.2", TcpSegment(sport, 7, Seq(n), Seq(0), ACK, 100, b"x"))


FLOOD = [pkt("10.0.0.9", 5000, i) for i in range(100)]
BYSTANDER = pkt("10.0.0.1", 4000, 0)


def test_flows_are_told_apart_by_addresses_and_ports():
    assert flow_of(pkt("10.0.0.9", 5000, 1)) == flow_of(pkt("10.0.0.9", 5000, 2))
    assert flow_of(pkt("10.0.0.9", 5000, 1)) != flow_of(pkt("10.0.0.9", 5001, 1))
    assert flow_of(b"") == b"" and flow_of(b"\x45") == b"\x45"[:1]


def syn(src: str, sport: int, dst: str = "10.0.0.2", dport: int = 7) -> bytes:
    return emit_packet(src, dst, TcpSegment(sport, dport, Seq(1), Seq(0), SYN, 100, b""))


def test_syns_to_one_port_are_one_flow_whatever_their_source():
    assert flow_of(syn("198.18.0.1", 1000)) == flow_of(syn("198.18.7.9", 2000))
    assert flow_of(syn("198.18.0.1", 1000)) != flow_of(syn("198.18.0.1", 1000, dport=8))
    assert flow_of(syn("fd00::9", 1000, "fd00::2")) == flow_of(syn("fd00::7", 2000, "fd00::2"))
    assert flow_of(syn("198.18.0.1", 1000)) != flow_of(pkt("198.18.0.1", 1000, 1))


def test_a_spoofed_syn_flood_waits_behind_the_established_connections():
    flood = [syn(f"198.18.{i // 250}.{i % 250 + 1}", 1024 + i) for i in range(100)]
    fair = FairBatches(budget=16)
    first = fair.take(flood + [BYSTANDER])
    assert [p for p, _ in first] == flood[:16] + [BYSTANDER]
    later = []
    while fair.pending:
        later += [p for p, _ in fair.take()]
    assert later == flood[16:]


def test_at_most_syn_limit_syns_wait_for_a_port_and_the_rest_are_dropped():
    flood = [syn(f"198.18.{i // 250}.{i % 250 + 1}", 1024 + i) for i in range(100)]
    fair = FairBatches(budget=16, syn_limit=20)
    first = fair.take(flood + FLOOD[:50] + [BYSTANDER])
    assert [p for p, _ in first] == flood[:16] + FLOOD[:16] + [BYSTANDER]
    assert fair.pending == 20 + 34 and fair.dropped == 100 - 36   # other flows may wait longer


def test_a_flood_gets_its_budget_and_the_bystander_its_packet_in_the_first_round():
    fair = FairBatches(budget=16)
    first = fair.take(FLOOD + [BYSTANDER])
    assert [p for p, _ in first] == FLOOD[:16] + [BYSTANDER]
    assert fair.pending == 84
    rounds = [first]
    while fair.pending:
        rounds.append(fair.take())
    assert [len(r) for r in rounds] == [17, 16, 16, 16, 16, 16, 4]
    assert [p for r in rounds for p, _ in r if p != BYSTANDER] == FLOOD  # never reordered


def test_new_packets_of_a_waiting_flow_queue_behind_it():
    fair = FairBatches(budget=10)
    fair.take(FLOOD[:30])
    second = fair.take(FLOOD[30:40] + [BYSTANDER])
    assert [p for p, _ in second] == FLOOD[10:20] + [BYSTANDER]
    rest = []
    while fair.pending:
        rest += [p for p, _ in fair.take()]
    assert rest == FLOOD[20:40]


def test_the_backlog_is_bounded_and_counts_what_it_drops():
    fair = FairBatches(budget=10, limit=50)
    fair.take(FLOOD)
    assert fair.pending == 50 and fair.dropped == 40


def test_checksum_verdicts_stay_with_their_packets():
    fair = FairBatches(budget=1)
    first = fair.take(FLOOD[:3], [True, False, True])
    assert first == [(FLOOD[0], True)]
    assert fair.take() == [(FLOOD[1], False)] and fair.take() == [(FLOOD[2], True)]


@pytest.mark.parametrize("bad", [(0, 10), (1, -1), (1, 10, -1)])
def test_a_budget_must_be_positive(bad):
    with pytest.raises(ValueError):
        FairBatches(*bad)


class _Host:
    """What the driver asks of a host, recording what it is given."""

    def __init__(self) -> None:
        self.got: list[bytes] = []
        self.changed = False

    def deliver(self, p: bytes, now: int, ok: bool = False) -> None:
        self.got.append(p)

    def next_deadline(self) -> None:
        return None

    def take_packets(self) -> list:
        return []


class _Link:
    def start(self, loop, receive) -> None:  # noqa: ANN001
        self.receive = receive

    def send(self, pkts) -> None:  # noqa: ANN001
        pass

    def close(self) -> None:
        pass


def test_driver_delivers_over_budget_packets_on_later_turns_of_the_loop():
    host, link = _Host(), _Link()
    drv = Driver(host, link)  # type: ignore[arg-type]

    async def main() -> list[int]:
        drv.start()
        link.receive(FLOOD + [BYSTANDER])
        seen = [len(host.got)]
        while drv.fair.pending:
            await asyncio.sleep(0)  # one turn of the loop
            seen.append(len(host.got))
        await asyncio.sleep(0)
        return seen

    seen = asyncio.run(main())
    assert host.got[16] == BYSTANDER and seen[0] == 17  # the bystander in the first wake-up
    assert host.got[:16] + host.got[17:] == FLOOD
    assert seen[-1] == 101
