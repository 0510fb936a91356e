"""The HTML report (trace/html.py) without a browser: one self-contained file, one arrow per
segment sent, state labels, the chart, and nothing in a trace can break out of the page."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser

import pytest

from synack import api
from synack.link.sim import Network
from synack.timeunits import ms, sec
from synack.trace.events import AppCall, SegmentReceived, SegmentSent, StateChanged
from synack.trace.html import render_html, write_html
from synack.trace.jsonl import to_records
from synack.wire.seq import Seq
from synack.wire.tcp import ACK, SYN, TcpSegment

REQUEST = b"x" * 3000   # three segments
CAUSES = {"rto": r"RTO #\d+", "fast-retransmit": "fast retransmit"}   # how labels name causes


def lossy_run(client: str = "client", server: str = "server") -> Network:
    """Handshake whose first SYN the link loses (an RTO retransmission), 3000 bytes from the
    client whose first data segment the link loses too (repaired by fast retransmit or an
    RTO, as the stack decides), a reply, the client closes first, TIME-WAIT runs out (60 s)."""
    net = Network(seed=1)
    net.add_host(client, ["10.0.0.1"])
    net.add_host(server, ["10.0.0.2"])
    net.default_path.delay = ms(10)
    # client -> server packets: 1 SYN, 2 SYN again, 3 ACK, 4 the first data segment
    net.drop_nth(client, server, 1)
    net.drop_nth(client, server, 4)
    srv = api.create_server(net, server, ("10.0.0.2", 80))
    cli = api.create_connection(net, client, ("10.0.0.2", 80))
    conn, _ = srv.accept()
    cli.sendall(REQUEST)
    got = b""
    while len(got) < len(REQUEST):
        got += conn.recv(4096)
    assert got == REQUEST
    conn.sendall(b"ok")
    assert cli.recv(16) == b"ok"
    cli.close()
    assert conn.recv(16) == b""
    conn.close()
    srv.close()
    net.run()
    return net


class Page(HTMLParser):
    """Elements (tag, attributes) in document order, and the raw text of each <script>."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self.styles: list[str] = []
        self.texts: list[str] = []
        #: data-seg index -> (x1, y1, x2, y2) of the arrow's shaft
        self.shafts: dict[int, tuple] = {}
        self._seg: int | None = None
        self._in: list = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.elements.append((tag, a))
        if "data-seg" in a:
            self._seg = int(a["data-seg"])
        elif tag == "line" and a.get("class") == "shaft" and self._seg is not None:
            self.shafts[self._seg] = tuple(float(a[k]) for k in ("x1", "y1", "x2", "y2"))
            self._seg = None
        if tag in ("script", "style"):
            self._in.append((tag, a, []))

    def handle_endtag(self, tag):
        if self._in and self._in[-1][0] == tag:
            t, a, parts = self._in.pop()
            (self.scripts.append((a, "".join(parts))) if t == "script" else self.styles.append("".join(parts)))

    def handle_data(self, data):
        if self._in:
            self._in[-1][2].append(data)
        else:
            self.texts.append(data)

    def having(self, attr: str) -> list[dict]:
        return [a for _, a in self.elements if attr in a]

    def data(self) -> dict:
        (blob,) = [text for a, text in self.scripts if a.get("id") == "synack-data"]
        return json.loads(blob)


@pytest.fixture(scope="module")
def run() -> Network:
    return lossy_run()


@pytest.fixture(scope="module")
def page_text(run) -> str:
    return render_html(run.recorder.events, title="lossy run", names=run.recorder.names)


@pytest.fixture(scope="module")
def page(page_text) -> Page:
    return Page(page_text)


def _sends(net: Network) -> list:
    return [e for e in net.recorder.events if e.event == "send"]


def test_page_is_one_self_contained_file(page_text, page):
    assert page_text.startswith("<!DOCTYPE html>")
    assert not re.search(r"https?:", page_text), "the page names no URL at all"
    tags = {t for t, _ in page.elements}
    assert "link" not in tags and "img" not in tags and "iframe" not in tags and "object" not in tags
    for tag, attrs in page.elements:
        for name in ("src", "href", "xlink:href", "srcset", "action", "data"):
            assert name not in attrs, f"<{tag} {name}=...> would fetch something"
    assert "url(" not in "".join(page.styles) and "@import" not in "".join(page.styles)
    # one inline script and one data block; nothing else runs
    assert [a.get("type") for a, _ in page.scripts] == ["application/json", None]


def test_content_security_policy_allows_only_the_inline_script_and_style(page):
    (csp,) = [a["content"] for t, a in page.elements
              if t == "meta" and a.get("http-equiv", "").lower() == "content-security-policy"]
    assert "default-src 'none'" in csp
    (script,) = [text for a, text in page.scripts if "type" not in a]
    (style,) = page.styles

    def sha(s):
        return "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"

    assert f"script-src {sha(script)};" in csp
    assert f"style-src {sha(style)};" in csp


def test_one_arrow_per_segment_sent(run, page):
    sends = _sends(run)
    arrows = page.having("data-seg")
    assert len(arrows) == len(sends) > 0
    events = run.recorder.events
    assert sorted(int(a["data-seg"]) for a in arrows) == [i for i, e in enumerate(events) if e.event == "send"]


def test_lost_segments_end_in_a_cross_and_retransmissions_name_their_cause(run, page):
    events = run.recorder.events
    drops = [e for e in events if e.event == "drop" and e.reason == "scripted"]
    assert len(drops) == 2
    lost = [events[int(a["data-seg"])] for a in page.having("data-seg") if "lost" in a["class"].split()]
    assert [(e.host, e.seg) for e in lost] == [(d.host, d.seg) for d in drops]
    assert page.texts.count("lost: scripted") == 2
    rtx = [events[int(a["data-seg"])] for a in page.having("data-seg") if "rtx" in a["class"].split()]
    assert [e.seg.seq for e in rtx] == [e.seg.seq for e in lost]
    # the lost SYN comes back after the first RTO expiry; its hover text has the backed-off timer
    syn_rtx = rtx[0]
    assert syn_rtx.cause == "rto"
    assert any(t.startswith("\u21bb RTO #1: [S] seq 0 win ") for t in page.texts)
    armed = next(e for e in events if e.event == "timer-armed" and e.name == "rto" and e.t == syn_rtx.t)
    backed_off = f"{(armed.deadline - armed.t) / 1e6:g} ms"
    assert any(f"retransmission: RTO #1 (the timer, backed off, is now {backed_off})" in t for t in page.texts)
    # the lost data segment: its label names whatever repaired it
    data = rtx[1]
    n = len(data.seg.payload)
    want = rf"\u21bb {CAUSES[data.cause]}: \[\.\] seq 1:{1 + n} ack 1 win {data.seg.wnd} len {n}"
    assert any(re.fullmatch(want, t) for t in page.texts), want


def test_labels_are_tcpdump_style_with_relative_numbers_and_hover_has_absolute_ones(run, page):
    syn_ev = _sends(run)[0]
    syn = syn_ev.seg
    # options in brief on SYNs: the MSS, never the timestamp values or NOPs
    syn_label = r"\[S\] seq 0 win \d+ <mss 1460(,[a-zA-Z]+( \d+)?)*>"
    assert sum(1 for t in page.texts if re.fullmatch(syn_label, t)) == 1      # the lost first SYN
    assert any(re.fullmatch(r"\[S\.\] seq 0 ack 1 win \d+ <mss \d+[^>]*>", t) for t in page.texts)
    # hover: who, when, and the absolute numbers with every option
    titles = [t for t in page.texts if t.startswith("client \u2192 server: [S]")]
    assert titles and f"absolute: seq {int(syn.seq)}, ack 0, win {syn.wnd}" in titles[0]
    assert "sent at 0.000000 s by client (10.0.0.1:" in titles[0]
    assert "LOST at 0.000000 s: scripted" in titles[0]
    delivered = next(t for t in titles if "received at" in t)
    assert "received at 1.010000 s by server (10.0.0.2:80)" in delivered
    if any(type(o).__name__ == "Timestamps" for o in syn.options):
        ts = next(o for o in syn.options if type(o).__name__ == "Timestamps")
        assert f"TS val {ts.tsval} ecr 0" in titles[0]
        assert not any(str(ts.tsval) in t for t in page.texts if t.startswith("[S]"))


def test_every_state_change_is_labelled_with_its_rfc_name_cause_and_rule(run, page):
    states = [e for e in run.recorder.events if e.event == "state"]
    boxes = [a for a in page.having("data-step") if a["class"].startswith("state")]
    assert len(boxes) == len(states)
    for name in ("SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT",
                 "CLOSE-WAIT", "LAST-ACK", "CLOSED"):
        assert name in page.texts
    for ev in states:
        hover = f"{ev.host}: {ev.old} \u2192 {ev.new} at {ev.t / 1e9:.6f} s\ncause: {ev.cause}\nrule: {ev.rule}"
        assert any(t.startswith(hover) for t in page.texts), hover


def test_application_calls_are_markers(run, page):
    calls = [e for e in run.recorder.events if e.event == "app"]
    markers = [a for a in page.having("data-step") if a["class"].split()[0] == "app"]
    assert len(markers) == len(calls) > 0
    assert "sendall(3000)" in page.texts


def test_chart_shows_cwnd_ssthresh_window_and_flight_on_the_same_axis(run, page):
    strips = [a for t, a in page.elements if a.get("class") == "strip"]
    assert strips and "client" in strips[0]["aria-label"]
    classes = [a.get("class") for _, a in page.elements]
    for cls in ("cwnd", "ssthresh", "flight", "rwnd"):
        assert cls in classes, cls
    # the RTO halves the window: the congestion points carry the numbers
    cc = [e for e in run.recorder.events if e.event == "cwnd" and e.host == "client"]
    assert cc, "the client's RTO changes cwnd"
    assert any(f"cwnd {cc[0].cwnd} bytes, ssthresh {cc[0].ssthresh}" in t for t in page.texts)
    # same time axis: a congestion point sits at the height of a ladder event of its instant
    data = page.data()
    dots = [float(a["cy"]) for t, a in page.elements if t == "circle" and a.get("class") == "ccpt"]
    assert len(dots) == len(cc)
    same_instant = {s["y"] for s in data["steps"] if data["events"][s["ev"]]["t"] == cc[0].t / 1e9}
    assert round(dots[0], 1) in same_instant


def test_time_runs_down_and_time_wait_is_folded(run, page):
    data = page.data()
    steps = data["steps"]
    assert [s["y"] for s in steps] == sorted(s["y"] for s in steps)
    events = run.recorder.events
    assert events[-1].t > sec(60), "the trace includes the 60 s TIME-WAIT"
    assert data["height"] < 2500, "a 60 s idle gap must not make the page kilometres long"
    assert any("59.99 s with nothing to draw (folded)" in t for t in page.texts)
    # arrows slant down: each arrives below where it left
    for x1, y1, x2, y2 in page.shafts.values():
        assert y2 > y1
    # proportional where nothing is folded: the SYN that arrived (10 ms) drops as far as the
    # SYN,ACK (10 ms)
    syn_i = [i for i, e in enumerate(events) if e.event == "send" and e.seg.flags == SYN][-1]
    synack_i = next(i for i, e in enumerate(events) if e.event == "send" and e.seg.flags == SYN | ACK)
    height = lambda i: page.shafts[i][3] - page.shafts[i][1]  # noqa: E731
    assert height(syn_i) == pytest.approx(height(synack_i), abs=1)


def test_embedded_data_are_the_json_lines_records(run, page):
    data = page.data()
    expected = json.loads(json.dumps(to_records(run.recorder.events, run.recorder.names)))
    assert data["events"] == expected
    assert data["hosts"] == ["client", "server"]
    assert len(data["steps"]) == len(page.having("data-step"))


def test_same_events_give_the_same_page(run, page_text):
    assert render_html(run.recorder.events, title="lossy run", names=run.recorder.names) == page_text


def test_write_html_writes_the_page(run, tmp_path, page_text):
    out = tmp_path / "report.html"
    write_html(run.recorder.events, out, title="lossy run", names=run.recorder.names)
    assert out.read_text(encoding="utf-8") == page_text


def test_hosts_choose_the_lifeline_order(run):
    default = Page(render_html(run.recorder.events))
    swapped = Page(render_html(run.recorder.events, hosts=["server", "client"]))
    assert default.data()["hosts"] == ["client", "server"]   # the first to send is on the left
    assert swapped.data()["hosts"] == ["server", "client"]
    syn_i = next(i for i, e in enumerate(run.recorder.events) if e.event == "send")
    x1, _, x2, _ = default.shafts[syn_i]
    assert x1 < x2                      # the SYN runs left to right ...
    x1, _, x2, _ = swapped.shafts[syn_i]
    assert x1 > x2                      # ... and right to left when the server is on the left


def test_relative_numbers_are_per_connection_even_on_a_shared_port():
    """Two connections to the server's port 80: each label counts from its own connection's
    SYNs, not from the other connection's."""
    net = Network(seed=3)
    net.add_host("client", ["10.0.0.1"])
    net.add_host("server", ["10.0.0.2"])
    net.default_path.delay = ms(10)
    srv = api.create_server(net, "server", ("10.0.0.2", 80))
    a = api.create_connection(net, "client", ("10.0.0.2", 80))
    b = api.create_connection(net, "client", ("10.0.0.2", 80))
    ca, _ = srv.accept()
    cb, _ = srv.accept()
    a.sendall(b"a" * 10)
    b.sendall(b"b" * 10)
    assert ca.recv(100) == b"a" * 10 and cb.recv(100) == b"b" * 10
    for s in (a, b, ca, cb, srv):
        s.close()
    net.run()
    page = Page(render_html(net.recorder.events, names=net.recorder.names))
    labels = [t for t in page.texts if re.match(r"\[[FSRP.]+\] seq ", t)]
    assert len(labels) == len(_sends(net))
    numbers = [int(n) for label in labels for n in re.findall(r"(?:seq|ack) (\d+)", label)]
    assert max(numbers) <= 12, labels      # 10 data bytes, a SYN and a FIN each way


HOSTILE = [
    "</script><script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "a&b \"quoted\" 'single' \u2028 https://example.invalid/x.js",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_host_names_and_causes_are_only_text(hostile):
    # a real run with a hostile host name ...
    net = lossy_run(client=hostile, server="server")
    events = list(net.recorder.events)
    # ... plus hostile text in every free-form field a view shows
    conn = ("10.0.0.1", 1, "10.0.0.2", 80)
    events.append(StateChanged(sec(61), hostile, conn, "CLOSED", "<b>LISTEN</b>", hostile, hostile))
    events.append(AppCall(sec(61), "server", conn, hostile, hostile, hostile, hostile))
    text = render_html(events, title=hostile, names=net.recorder.names)
    page = Page(text)
    # nothing hostile became markup: the same elements as a harmless page, two scripts
    assert [a.get("type") for a, _ in page.scripts] == ["application/json", None]
    assert not [t for t, _ in page.elements if t in ("img", "iframe", "object", "link")]
    assert not any(k.startswith("on") for _, a in page.elements for k in a)
    assert "</script><script>" not in text and "<img" not in text
    # ... and all of it is still there, as text, for the reader
    assert hostile in page.texts                      # the <h1>
    assert any(hostile in t for t in page.texts if "\u2192" in t)   # hover texts
    data = page.data()
    assert data["title"] == hostile and hostile in data["hosts"]
    assert any(r.get("cause") == hostile for r in data["events"])


def test_segments_no_traced_host_sent_are_drawn_apart():
    """An injected segment (an old duplicate) arrives with no send: a dashed arrow that is
    not counted as a segment sent."""
    seg = TcpSegment(1234, 80, Seq(1000), Seq(0), SYN, 65535)
    ack = TcpSegment(80, 1234, Seq(5000), Seq(1001), SYN | ACK, 65535)
    events = [
        SegmentReceived(ms(10), "server", None, "10.0.0.1", "10.0.0.2", seg),
        SegmentSent(ms(10), "server", ("10.0.0.2", 80, "10.0.0.1", 1234), "10.0.0.2", "10.0.0.1", ack),
    ]
    page = Page(render_html(events, hosts=["client", "server"], names={"10.0.0.1": "client"}))
    assert len(page.having("data-seg")) == 1
    assert len(page.having("data-extra")) == 1
    assert any("no traced host sent it" in t for t in page.texts)
    assert any(t == "no arrival recorded" for t in page.texts)


def test_empty_trace_is_a_page_that_says_so():
    page = Page(render_html([]))
    assert "No events were recorded, so there is nothing to draw." in page.texts
    assert page.data()["steps"] == []


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(events=[1, 2]), TypeError, "events[0]: not a trace event"),
    (dict(events="abc"), TypeError, "events: expected a list of trace events"),
    (dict(events=[], hosts="client"), TypeError, "hosts:"),
    (dict(events=[], hosts=["a", "a"]), ValueError, "hosts: a host is named twice"),
    (dict(events=[], names=[("10.0.0.1", "a")]), TypeError, "names:"),
    (dict(events=[], title=3), TypeError, "title:"),
])
def test_bad_arguments_name_the_argument(kwargs, error, words):
    events = kwargs.pop("events")
    with pytest.raises(error) as e:
        render_html(events, **kwargs)
    assert words in str(e.value)
