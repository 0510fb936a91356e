"""Sweep specifications: lists and ranges of every option, TOML studies with several
grids, and the combinations they expand to."""

from __future__ import annotations

import pytest
from sweephelp import small_sweep

from synack.scenarios import sweep as sw
from synack.timeunits import ms, sec


@pytest.mark.parametrize("name,text,values", [
    ("bandwidth", "10Mbit,100Mbit", [10e6, 100e6]),
    ("bandwidth", "1mbit..100mbit:3:log", [1e6, 10e6, 100e6]),
    ("rtt", "10ms..200ms:5", [ms(10), ms(57.5), ms(105), ms(152.5), ms(200)]),
    ("loss", "0,0.001,0.01", [0.0, 0.001, 0.01]),
    ("loss", "0.001..0.1:3:log", [0.001, 0.01, 0.1]),
    ("loss", "1%,2%", [0.01, 0.02]),
    ("seeds", "1..10", list(range(1, 11))),
    ("seeds", "3,1..2,3", [3, 1, 2]),
    ("flows", "1,2", [1, 2]),
    ("cc", "cubic,reno,cubic+reno", ["cubic", "reno", "cubic+reno"]),
    ("queue", "100,0.5bdp..2bdp:3:log", [sw.QueueSize(100), sw.QueueSize(0.5, True), sw.QueueSize(1, True),
                                         sw.QueueSize(2, True)]),
    ("rtt_ratio", "1..8:4:log", [1.0, 2.0, 4.0, 8.0]),
    ("duration", "500ms,2s", [ms(500), sec(2)]),
])
def test_lists_and_ranges(name, text, values):
    got = sw.parse_list(name, text)
    assert got == pytest.approx(values) if not isinstance(values[0], sw.QueueSize | str) else got == values


@pytest.mark.parametrize("name,text,words", [
    ("rtt", "10ms..200ms:0", "is empty"),
    ("seeds", "10..1", "is empty"),
    ("cc", "vegas", "unknown congestion control 'vegas'"),
    ("cc", "cubic+vegas", "unknown congestion control 'vegas'"),
    ("rtt", "10..200:5", "with its unit"),
    ("rtt", "50", "with its unit"),
    ("bandwidth", "10,100", "with its unit"),
    ("rtt", "10ms..200ms", "needs the number of values"),
    ("loss", "0..0.1:3:log", "above 0"),
    ("loss", "0.5,,0.1", "an empty value"),
    ("queue", "0.5bdp..100:3", "both ends"),
    ("cc", "cubic..reno", "not a range"),
    ("flows", "0..2", "from 1 to 100"),
    ("rtt_ratio", "0.5", "from 1 to 100"),
])
def test_bad_specs_name_the_option_and_the_problem(name, text, words):
    with pytest.raises(sw.SpecError) as e:
        sw.parse_list(name, text)
    msg = str(e.value)
    assert msg.startswith(sw.option(name) + ": ") and words in msg and "\n" not in msg


def test_expansion_is_the_grid_in_order_with_seeds_innermost():
    s = small_sweep()
    assert len(s.points) == 4 and len(s.runs) == 8 and s.seeds == [1, 2]
    assert [(p.cc, p.loss) for p in s.points] == [("reno", 0.0), ("cubic", 0.0), ("reno", 0.02), ("cubic", 0.02)]
    assert [r.seed for r in s.runs[:4]] == [1, 2, 1, 2]
    assert len({r.key for r in s.runs}) == 8


def test_mixes_need_enough_flows_and_one_flow_has_no_rtt_ratio():
    s = sw.expand([{"cc": ["reno", "cubic+reno"], "flows": [1, 2], "rtt_ratio": [1.0, 4.0]}])
    # cubic+reno with one flow is left out; one flow at ratio 4 is the same point as ratio 1
    assert s.skipped == {"cubic+reno needs at least 2 flows": 2}
    assert sorted((p.cc, p.flows, p.rtt_ratio) for p in s.points) == [
        ("cubic+reno", 2, 1.0), ("cubic+reno", 2, 4.0), ("reno", 1, 1.0), ("reno", 2, 1.0), ("reno", 2, 4.0)]
    mix = next(p for p in s.points if p.cc == "cubic+reno")
    assert mix.algorithms() == ("cubic", "reno")


def test_queue_in_bdps_becomes_packets_of_the_path():
    p = sw.expand([{"bandwidth": [10e6], "rtt": [ms(120)], "queue": [sw.QueueSize(0.5, True)]}]).points[0]
    assert p.queue_packets == 50            # 10 Mbit/s x 120 ms = 150 kB = 100 packets of 1500
    assert p.params()["queue_bdp"] == pytest.approx(0.5)


def test_toml_study_with_grids(tmp_path):
    study = tmp_path / "study.toml"
    study.write_text('''
bandwidth = "5mbit"
duration = "2s"
seeds = "1..3"

[[grid]]
cc = ["reno", "cubic"]
loss = "0.001..0.01:2:log"

[[grid]]
flows = 2
rtt-ratio = [1, 2]
cc = "reno"
''')
    top, grids = sw.load_toml(str(study))
    assert top == {"bandwidth": "5mbit", "duration": "2s", "seeds": "1..3"}
    assert grids == [{"cc": "reno,cubic", "loss": "0.001..0.01:2:log"},
                     {"flows": "2", "rtt_ratio": "1,2", "cc": "reno"}]
    parsed = [{k: sw.parse_list(k, v) for k, v in {**top, **g}.items()} for g in grids]
    s = sw.expand(parsed)
    assert len(s.points) == 6 and len(s.runs) == 18
    assert {p.bandwidth_bps for p in s.points} == {5e6}


@pytest.mark.parametrize("text,words", [
    ('bandwith = "5mbit"', "unknown name 'bandwith'"),
    ('rtt = 50', "with its unit"),
    ('grid = 3', "array of tables"),
    ('loss = [[0.1]]', "a string, a number or a list"),
    ('rtt = "50ms', "not valid TOML"),
])
def test_bad_toml_is_one_clear_error(tmp_path, text, words):
    study = tmp_path / "bad.toml"
    study.write_text(text + "\n")
    with pytest.raises(sw.SpecError) as e:
        top, grids = sw.load_toml(str(study))
        [sw.parse_list(k, v) for k, v in top.items()]
    assert words in str(e.value) and "\n" not in str(e.value)
