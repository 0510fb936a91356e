"""The four sweep figures: drawn when the rows can show them, with error bars, units on
the axes and the legend outside the data; the Mathis bound beside Reno."""

from __future__ import annotations

from pathlib import Path

import pytest

from synack.scenarios import sweep as sw
from synack.scenarios import sweepplot

COMMON = {"bandwidth": "2mbit", "rtt": "40ms", "duration": "1s", "seeds": "1..2"}
GRIDS = [
    {"cc": "reno,cubic", "loss": "0.005,0.02"},
    {"cc": "reno", "queue": "0.25bdp,2bdp"},
    {"cc": "reno", "flows": "2", "rtt_ratio": "1,4"},
    {"cc": "cubic+reno", "flows": "2", "rtt": "20ms,80ms"},
]


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    grids = [{k: sw.parse_list(k, v) for k, v in {**COMMON, **g}.items()} for g in GRIDS]
    with sw.LocalExecutor(1) as ex:
        return list(ex.map_unordered(sw.run_point, sw.expand(grids).runs))


def _legend_outside(fig) -> bool:
    fig.canvas.draw()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent()
    return legend.x0 >= ax.get_window_extent().x1


@pytest.mark.parametrize("draw,xlabel,ylabel", [
    (sweepplot.goodput_loss, "loss probability", "goodput (Mbit/s = 10⁶ bit/s"),
    (sweepplot.utilisation_queue, "bandwidth-delay products", "utilisation (% of the link rate)"),
    (sweepplot.fairness_rtt_ratio, "RTT of the second flow / RTT of the first", "Jain's fairness index"),
    (sweepplot.cubic_reno, "bandwidth-delay product (packets of 1500 octets", "CUBIC's share of the goodput (%)"),
])
def test_each_figure_has_units_error_bars_and_an_outside_legend(rows, draw, xlabel, ylabel):
    fig = draw(sweepplot._ok(rows))
    assert fig is not None
    ax = fig.axes[0]
    assert xlabel in ax.get_xlabel() and ylabel in ax.get_ylabel()
    assert "95 % confidence interval" in ax.get_title()
    assert ax.containers, "error bars"            # ax.errorbar draws ErrorbarContainers
    assert _legend_outside(fig)


def test_mathis_bound_is_drawn_beside_reno_only(rows):
    fig = sweepplot.goodput_loss(sweepplot._ok(rows))
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "Mathis et al. bound (reno)" in labels and not any("bound (cubic)" in lb for lb in labels)
    assert "link rate 2 Mbit/s" in labels


def test_cubic_share_is_cubics_goodput_over_the_total(rows):
    use, share = sweepplot.cubic_share(sweepplot._ok(rows))
    assert len(use) == 4 and all(r["cc"] == "cubic+reno" for r in use)
    for r in use:
        cubic = r["goodput_bps_flows"][r["flow_cc"].index("cubic")]
        assert share(r) == pytest.approx(100 * cubic / r["goodput_bps"])


def test_lines_come_from_the_grid_that_varies_the_axis(rows):
    # the study's other grids have one queue size each: only the queue grid makes lines
    fig = sweepplot.utilisation_queue(sweepplot._ok(rows))
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels == ["reno"]
    assert "queue" not in fig.axes[0].get_title()
    # CUBIC against Reno: one line over the path's BDP, the queue named in BDPs
    fig = sweepplot.cubic_reno(sweepplot._ok(rows))
    assert sorted(fig.axes[0].get_legend_handles_labels()[1]) == ["cubic+reno", "fair share (1 of 2 flows CUBIC)"]
    assert "queue 100 packets" in fig.axes[0].get_title()


def test_draw_all_writes_four_files_beside_the_results(rows, tmp_path):
    written, skipped = sweepplot.draw_all(rows, str(tmp_path / "study.jsonl"))
    assert [p.rsplit("/", 1)[1] for p in written] == [f"study-{n}.png" for n in sweepplot.FIGURES]
    assert skipped == []
    assert all(Path(p).read_bytes()[:4] == b"\x89PNG" for p in written)


def test_a_figure_the_rows_cannot_show_is_left_out_with_the_reason(rows, tmp_path):
    only_loss = [r for r in rows if r["flows"] == 1 and r["loss"] > 0]
    written, skipped = sweepplot.draw_all(only_loss, str(tmp_path / "r.csv"), out_dir=str(tmp_path / "figs"),
                                          fmt="svg")
    assert written == [str(tmp_path / "figs" / "r-goodput-loss.svg")]
    assert [s.split(":")[0] for s in skipped] == ["utilisation-queue", "fairness-rtt-ratio", "cubic-share"]
    assert "--cc cubic+reno" in skipped[-1]
