"""The simulator runs a host's timer at the deadline the host gives last, and no other time:
a deadline that moved later or earlier, or went away and came back, fires once, where it
now lies; two timers due at one instant fire in the order their deadlines were set."""

from __future__ import annotations

import pytest

from synack.link.sim import Network
from synack.timeunits import ms


class TimerHost:
    """A host with the simulator's link-side interface and one settable timer."""

    def __init__(self, name: str, addr: str, log: list) -> None:
        self.name = name
        self.addrs = [addr]
        self.changed = False
        self.log = log
        self._deadline: int | None = None

    def set(self, deadline: int | None) -> None:
        self._deadline = deadline
        self.changed = True

    def deliver(self, packet: bytes, now: int) -> None:
        pass

    def take_packets(self) -> list:
        return []

    def next_deadline(self) -> int | None:
        return self._deadline

    def on_timeout(self, now: int) -> None:
        if self._deadline is not None and self._deadline <= now:
            self._deadline = None
            self.changed = True
            self.log.append((self.name, now))


def _net(*names: str) -> tuple[Network, list, list[TimerHost]]:
    net = Network(seed=1)
    log: list = []
    hosts = [net.attach(TimerHost(n, f"10.0.0.{i + 1}", log)) for i, n in enumerate(names)]
    return net, log, hosts


def test_a_deadline_moved_later_fires_once_at_its_new_time():
    net, log, (h,) = _net("a")
    h.set(ms(10))
    assert net.next_time() == ms(10)
    h.set(ms(50))
    assert net.next_time() == ms(50)
    assert net.run()
    assert log == [("a", ms(50))]
    assert net.now == ms(50)


def test_a_deadline_moved_back_and_forth_fires_only_where_it_ends():
    net, log, (h,) = _net("a")
    for d in (ms(10), ms(50), ms(30), None, ms(40)):
        h.set(d)
        net.flush()
    net.run_for(ms(35))
    assert log == []
    assert net.now == ms(35)
    assert net.run()
    assert log == [("a", ms(40))]


def test_a_deadline_moved_earlier_fires_early_and_once():
    net, log, (h,) = _net("a")
    h.set(ms(50))
    net.flush()
    h.set(ms(10))
    assert net.run()
    assert log == [("a", ms(10))]
    assert net.now == ms(10)


def test_a_deadline_that_went_away_never_fires():
    net, log, (h,) = _net("a")
    h.set(ms(10))
    net.flush()
    h.set(None)
    assert net.run()
    assert log == []
    assert net.now == 0


@pytest.mark.parametrize("b_moves_first, order", [(False, ["a", "b"]), (True, ["b", "a"])])
def test_timers_due_at_one_instant_fire_in_the_order_their_deadlines_were_set(b_moves_first, order):
    # b's deadline first lies earlier (10 ms), then moves to 20 ms, after or before a's is
    # set to 20 ms: whichever deadline was set first fires first.
    net, log, (a, b) = _net("a", "b")
    b.set(ms(10))
    net.flush()
    steps = [lambda: b.set(ms(20)), lambda: a.set(ms(20))]
    for step in (steps if b_moves_first else steps[::-1]):
        step()
        net.flush()
    assert net.run()
    assert log == [(name, ms(20)) for name in order]


def test_a_deadline_set_while_an_earlier_one_waits_fires_after_the_clock_passed_the_old_one():
    net, log, (h,) = _net("a")
    h.set(ms(10))
    net.flush()
    h.set(ms(60))
    net.run_for(ms(20))  # the clock passes 10 ms: nothing fires
    assert log == []
    h.set(ms(30))
    assert net.run()
    assert log == [("a", ms(30))]
