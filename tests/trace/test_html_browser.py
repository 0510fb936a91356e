"""The HTML report in a real browser: headless Chromium (Debian's ``chromium``) loads reports
from file:// URLs. The page must run without console errors and fetch nothing; every segment
is drawn as an arrow; Step / Back / Play / keys / ``?step=N`` reveal the trace one event at
a time and light the hosts' states in Figure 5; zoomed out, bursts become bands; and, read
from the drawn page itself (and saved as screenshots), no two labels overlap at the normal
zoom anywhere in the trace.

Skipped, with the reason, where chromium is not installed (it fails instead in CI, where
.ci/apt-packages installs it)."""

from __future__ import annotations

import os

import pytest
from cdp import CHROMIUM, chromium
from test_html import HOSTILE, lossy_run

from synack import scenarios
from synack.trace.html import write_html


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("the browser test must run in CI, but chromium is not installed (see .ci/apt-packages)")
        pytest.skip("headless Chromium is not installed (apt-get install chromium; `make test` does it as root)")
    with chromium() as cdp:
        yield cdp


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A report of a real run (handshake, a lost data segment and its RTO retransmission,
    a reply, close, TIME-WAIT) and the number of segments sent in it."""
    net = lossy_run()
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_html(net.recorder.events, path, title="lossy run", names=net.recorder.names)
    sends = sum(1 for e in net.recorder.events if e.event == "send")
    return path.as_uri(), sends


def _scenario_report(tmp_path, name: str, lang: str = "en") -> str:
    res = scenarios.run(name, scenarios.ScenarioOptions(lang=lang))
    path = tmp_path / f"{name}-{lang}.html"
    sc = scenarios.get(name)
    write_html(res.net.recorder.events, path, title=name, hosts=list(res.hosts), names=res.net.recorder.names,
               explanation=sc.explain[lang], notes=res.notes, lang=lang)
    return path.as_uri()


SHOWN = "Number(document.body.dataset.shown)"
DRAWN = "[...document.querySelectorAll('#ladder g.seg')].map(g => Number(g.dataset.k))"


def _walk(browser, expression: str) -> list:
    """``expression``'s value at every scroll position of the ladder, top to bottom."""
    out = []
    height = browser.js("document.getElementById('scroller').scrollHeight")
    view = browser.js("document.getElementById('scroller').clientHeight")
    top = 0
    while True:
        browser.js(f"document.getElementById('scroller').scrollTop = {top}; window.synackReport.redraw()")
        out.append(browser.js(expression))
        if top + view >= height:
            return out
        top += view // 2


def _overlaps(boxes: list) -> list:
    """Pairs of label boxes (left, top, right, bottom, text) that overlap by more than a pixel."""
    bad = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if min(a[2], b[2]) - max(a[0], b[0]) > 1 and min(a[3], b[3]) - max(a[1], b[1]) > 1:
                bad.append((a[4], b[4]))
    return bad


def test_page_loads_without_errors_fetches_nothing_and_draws_every_segment(browser, report):
    url, sends = report
    browser.open(url)
    assert browser.js("document.getElementById('controls').hidden") is False, "the script did not run"
    browser.js("window.synackReport.zoom(1)")
    seen = set()
    for ks in _walk(browser, DRAWN):
        seen.update(ks)
    assert len(seen) == sends
    # each arrow is really drawn: a line with a length
    lengths = browser.js("[...document.querySelectorAll('#ladder g.seg line')].map(l => l.getTotalLength())")
    assert lengths and min(lengths) > 30
    assert browser.js("document.getElementById('ladder').getBoundingClientRect().width") > 700
    assert browser.problems() == []


def test_step_reveals_one_event_at_a_time_and_lights_figure_5(browser, report):
    url, _ = report
    browser.open(url)
    items = browser.js("JSON.parse(document.getElementById('synack-data').textContent).items")
    browser.js("document.getElementById('btn-reset').click()")
    assert browser.js(SHOWN) == 0
    assert browser.js(DRAWN) == []
    for k in range(1, 12):
        browser.js("document.getElementById('btn-step').click()")
        assert browser.js(SHOWN) == k
        assert browser.js("Number(document.querySelector('#ladder .current').dataset.k)") == k - 1
        assert max(browser.js(DRAWN) or [-1]) < k       # nothing after the current step
        it = items[k - 1]
        if it[0] == "st":   # the state just entered is lit for its host in RFC 9293 Figure 5
            lit = browser.js(f"document.querySelector('#fig5 .fs[data-state=\"{it[3]}\"]').classList.contains('lit')")
            who = browser.js(f"document.querySelector('#fig5 .fs[data-state=\"{it[3]}\"] .who').textContent")
            host = browser.js(f"JSON.parse(document.getElementById('synack-data').textContent).hosts[{it[2]}]")
            assert lit and host in who
    assert browser.js("document.querySelector('#details h2').textContent") != ""
    assert browser.problems() == []


def test_keyboard_play_and_the_url(browser, report):
    url, _ = report
    browser.open(url)
    browser.key("Home", 36)
    assert browser.js(SHOWN) == 0
    browser.key("ArrowRight", 39)
    browser.key("ArrowRight", 39)
    assert browser.js(SHOWN) == 2
    browser.key("ArrowLeft", 37)
    assert browser.js(SHOWN) == 1
    browser.js("document.getElementById('btn-play').click()")   # plays: the next event at once
    assert browser.js(SHOWN) == 2
    assert browser.js("document.getElementById('btn-play').getAttribute('aria-pressed')") == "true"
    browser.js("document.getElementById('btn-play').click()")   # pause
    assert browser.js("document.getElementById('btn-play').textContent") == "Play"
    browser.key("End", 35)
    assert browser.js("document.body.dataset.mode") == "all"
    z = float(browser.js("document.body.dataset.zoom"))
    browser.key("+", 187)
    assert float(browser.js("document.body.dataset.zoom")) == pytest.approx(min(4, 2 * z))
    browser.open(url + "?step=7")
    assert browser.js(SHOWN) == 7
    assert browser.js("Number(document.querySelector('#ladder .current').dataset.k)") == 6
    assert browser.problems() == []


@pytest.mark.parametrize("name", ["sack-recovery", "story", "fast-open", "web", "ports"])
def test_no_two_labels_overlap_at_the_normal_zoom(browser, tmp_path, name):
    browser.open(_scenario_report(tmp_path, name))
    browser.js("window.synackReport.zoom(1)")
    shots = []
    for n, boxes in enumerate(_walk(browser, "window.synackReport.labels()")):
        assert boxes, "no labels drawn"
        assert _overlaps(boxes) == [], f"labels overlap in {name}"
        if n < 2:
            shots.append(browser.screenshot(str(tmp_path / f"{name}-{n}.png")))
    assert all(s.startswith(b"\x89PNG") and len(s) > 20_000 for s in shots)  # a drawn page, not a blank one
    assert browser.problems() == []


def test_zoomed_out_bursts_are_bands_and_the_overview_moves_the_view(browser, tmp_path):
    browser.open(_scenario_report(tmp_path, "slow-start"))
    browser.js("window.synackReport.zoom(0.1)")
    assert browser.js("document.querySelectorAll('#ladder .band').length") >= 1
    band = browser.js("document.querySelector('#ladder .band text').textContent")
    assert "segments" in band
    assert _overlaps(browser.js("window.synackReport.labels()")) == []
    browser.js("window.synackReport.zoom(1)")
    assert browser.js("document.querySelectorAll('#ladder .band').length") == 0
    # a click at the right end of the overview strip shows the end of the trace
    browser.js("""(() => { const o = document.getElementById('overview'), r = o.getBoundingClientRect();
      o.dispatchEvent(new MouseEvent('mousedown', {clientX: r.right - 2, clientY: r.top + 5, bubbles: true}));
      window.dispatchEvent(new MouseEvent('mouseup', {bubbles: true})); })()""")
    browser.js("window.synackReport.redraw()")
    sc = browser.js("document.getElementById('scroller')")
    assert sc is not None
    top = browser.js("document.getElementById('scroller').scrollTop")
    assert top > 0
    assert browser.problems() == []


def test_korean_report_explains_in_korean(browser, tmp_path):
    browser.open(_scenario_report(tmp_path, "handshake", "ko"))
    assert browser.js("document.documentElement.lang") == "ko"
    headings = browser.js("[...document.querySelectorAll('.story h2')].map(h => h.textContent)")
    assert headings == ["설명", "이번 실행에서는"]
    assert "SYN" in browser.js("document.querySelector('.story p').textContent")
    assert browser.js("document.getElementById('btn-step').textContent") == "한 단계"
    assert browser.problems() == []


def test_hostile_host_name_runs_no_script(browser, tmp_path):
    net = lossy_run(client=HOSTILE[0], server=HOSTILE[1])
    path = tmp_path / "hostile.html"
    write_html(net.recorder.events, path, title=HOSTILE[0], names=net.recorder.names)
    browser.open(path.as_uri())
    assert browser.js("document.title") == HOSTILE[0]
    assert browser.js("document.querySelectorAll('script').length") == 2
    assert browser.js("document.querySelectorAll('img').length") == 0
    assert HOSTILE[0] in browser.js("document.querySelector('#ladder .hosthead').textContent")
    assert browser.problems() == []
