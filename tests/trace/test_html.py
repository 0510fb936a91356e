"""The HTML report (trace/html.py) without a browser: one self-contained file whose table has
one arrow per segment sent, labelled exactly as the terminal ladder labels it (one timeline),
states with their causes and rules, the explanation and notes in the chosen language, the
stream graphs, a small page for a long transfer, and nothing in a trace can break out."""

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
from synack.trace.html import render_html, render_report, write_html
from synack.trace.ladder import ladder_from_events
from synack.wire.seq import Seq
from synack.wire.tcp import ACK, SYN, TcpSegment
import contextlib

REQUEST = b"x" * 3000   # three segments


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
        self._in: list = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.elements.append((tag, a))
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


def _items(page: Page, kind: str) -> list:
    return [it for it in page.data()["items"] if it[0] == kind]


def test_page_is_one_self_contained_file(page_text, page):
    assert page_text.startswith("<!DOCTYPE html>")
    assert not re.search(r"https?:", page_text), "the page names no URL at all"
    tags = {t for t, _ in page.elements}
    assert "link" not in tags and "img" not in tags and "iframe" not in tags and "object" not in tags
    for tag, attrs in page.elements:
        for name in ("src", "href", "xlink:href", "srcset", "action", "data"):
            assert name not in attrs, f"<{tag} {name}=...> would fetch something"
    assert "url(" not in "".join(page.styles).replace("url(#", "") and "@import" not in "".join(page.styles)
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


def test_one_arrow_per_segment_sent_labelled_as_the_terminal_ladder_labels_it(run, page):
    segs = _items(page, "s")
    assert len(segs) == len(_sends(run))
    ladder = ladder_from_events(run.recorder.events, run.recorder.names, color=False)
    for it in segs:
        label = it[6].split(": ", 1)[-1] if it[6].startswith(("\u21bb", "RTO")) else it[6]
        assert label in ladder, label          # one timeline: the same words in both views
    times = [it[1] for it in page.data()["items"]]
    assert times == sorted(times)              # time runs down


def test_lost_segments_and_retransmissions_name_what_happened(run, page):
    segs = _items(page, "s")
    lost = [it for it in segs if "lost" in it[5]]
    assert len(lost) == 2 and all(it[14].startswith("lost: scripted") and it[2] is None for it in lost)
    rtx = [it for it in segs if "rtx" in it[5]]
    assert rtx and all(re.match(r"\u21bb (RTO #\d+, rto=\S+|fast retransmit|retransmission): \[", it[6]) for it in rtx)
    # delivered segments end where they arrived, below where they left
    assert all(it[2] > it[1] for it in segs if it[2] is not None)


def test_every_state_change_is_drawn_with_its_cause_and_rule(run, page):
    states = _items(page, "st")
    hosts = page.data()["hosts"]
    got = [(hosts[it[2]], it[5], it[3]) for it in states]
    want = [(e.host, e.old, e.new) for e in run.recorder.events if e.event == "state"]
    assert [g for g in got if g != ("server", "CLOSED", "LISTEN") and g != ("server", "LISTEN", "CLOSED")] == want
    assert ("server", "CLOSED", "LISTEN") in got   # the listener, which the stack keeps no state for
    assert all(it[6] and it[7].startswith("RFC 9293") for it in states if it[3] in ("SYN-SENT", "LISTEN"))


def test_application_calls_speak_tcp(page):
    calls = [it[3] for it in _items(page, "a")]
    assert "listen() on :80" in calls and "close() of listener :80" in calls
    assert any(c.startswith("connect(server:80)") or c.startswith("connect(10.0.0.2:80)") for c in calls)
    assert not any("setsockopt(1," in c for c in calls)


def test_idle_time_wait_is_folded_and_congestion_is_charted(page):
    data = page.data()
    assert any(f[2] in ("59.99 s", "60.0 s", "59.98 s") or f[2].endswith(" s") for f in data["folds"])
    assert data["height"] < 5000                  # 60 s of TIME-WAIT does not make the page long
    (strip, *_) = data["strips"]
    assert strip["pts"] and all(len(p) == 5 for p in strip["pts"])


def test_stream_graphs_are_in_the_page(page):
    graphs = [a for t, a in page.elements if t == "svg" and "graph" in a.get("class", "")]
    assert {a["aria-label"].split(" graph")[0] for a in graphs} == {"time-sequence", "throughput", "rtt", "window"}


def test_explanation_and_notes_in_the_chosen_language(run):
    en = Page(render_html(run.recorder.events, explanation="First.\n\nSecond.", notes=["one", "two"]))
    assert "What happens" in en.texts and "In this run" in en.texts and "Second." in en.texts
    ko = Page(render_html(run.recorder.events, explanation="설명입니다.", notes=["하나"], lang="ko"))
    assert ("html", {"lang": "ko"}) in ko.elements
    assert "설명" in ko.texts and "이번 실행에서는" in ko.texts and "하나" in ko.texts
    assert ko.data()["ui"]["step"] == "한 단계"


def test_same_events_give_the_same_page(run, page_text):
    assert render_html(run.recorder.events, title="lossy run", names=run.recorder.names) == page_text


def test_write_html_writes_the_page(run, tmp_path, page_text):
    out = tmp_path / "r.html"
    write_html(run.recorder.events, out, title="lossy run", names=run.recorder.names)
    assert out.read_text(encoding="utf-8") == page_text


def test_hosts_choose_the_lifeline_order(run):
    default = Page(render_html(run.recorder.events))
    swapped = Page(render_html(run.recorder.events, hosts=["server", "client"]))
    assert default.data()["hosts"] == ["client", "server"]   # the first to send is on the left
    assert swapped.data()["hosts"] == ["server", "client"]
    syn = _items(swapped, "s")[0]
    assert (syn[3], syn[4]) == (1, 0)   # the SYN runs from the right lifeline to the left


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
    labels = [it[6] for it in _items(page, "s")]
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
    text = render_html(events, title=hostile, names=net.recorder.names, explanation=hostile, notes=[hostile])
    page = Page(text)
    # nothing hostile became markup: the same elements as a harmless page, two scripts
    assert [a.get("type") for a, _ in page.scripts] == ["application/json", None]
    assert not [t for t, _ in page.elements if t in ("img", "iframe", "object", "link")]
    assert not any(k.startswith("on") for _, a in page.elements for k in a)
    assert "</script><script>" not in text and "<img" not in text
    # ... and all of it is still there, as text, for the reader
    assert hostile in page.texts                      # the <h1>, the explanation, the notes
    data = page.data()
    assert data["title"] == hostile and hostile in data["hosts"]
    assert any(it[0] == "st" and it[6] == hostile for it in data["items"])


def test_segments_no_traced_host_sent_are_drawn_apart():
    """An injected segment (an old duplicate) arrives with no send: drawn, marked extra."""
    seg = TcpSegment(1234, 80, Seq(1000), Seq(0), SYN, 65535)
    ack = TcpSegment(80, 1234, Seq(5000), Seq(1001), SYN | ACK, 65535)
    events = [
        SegmentReceived(ms(10), "server", None, "10.0.0.1", "10.0.0.2", seg),
        SegmentSent(ms(10), "server", ("10.0.0.2", 80, "10.0.0.1", 1234), "10.0.0.2", "10.0.0.1", ack),
    ]
    page = Page(render_html(events, hosts=["client", "server"], names={"10.0.0.1": "client"}))
    segs = _items(page, "s")
    assert len(segs) == 2
    extra = [it for it in segs if "extra" in it[5]]
    assert len(extra) == 1 and "no traced host sent it" in extra[0][14]
    assert [it[14] for it in segs if "extra" not in it[5]] == ["no arrival recorded"]


def test_a_capture_gets_the_same_report_with_inferred_states(run, tmp_path):
    from synack.tcp.state import TRANSITIONS
    from synack.trace.pcapng import read_capture, write_pcapng

    cap = tmp_path / "r.pcapng"
    write_pcapng(run.recorder.events, cap, run.recorder.names)
    page = Page(render_report(read_capture(cap), transitions=TRANSITIONS))
    assert len(_items(page, "s")) == len(_sends(run))
    assert ("client", "SYN-SENT") in [(page.data()["hosts"][it[2]], it[3]) for it in _items(page, "st")]


def test_a_long_transfer_makes_a_small_page():
    net = Network(seed=2)
    net.add_host("client", ["10.0.0.1"])
    net.add_host("server", ["10.0.0.2"])
    net.default_path.delay = ms(5)
    srv = api.create_server(net, "server", ("", 5001))
    cli = api.create_connection(net, "client", ("server", 5001))
    conn, _ = srv.accept()
    cli.setblocking(False)
    conn.setblocking(False)
    sent = got = 0
    while got < 1_000_000:
        if sent < 1_000_000:
            with contextlib.suppress(BlockingIOError):
                sent += cli.send(b"x" * min(65536, 1_000_000 - sent))
        try:
            got += len(conn.recv(1 << 20))
        except BlockingIOError:
            api.sleep(net, 0.001)
    text = render_html(net.recorder.events, names=net.recorder.names)
    sends = len(_sends(net))
    assert sends > 700
    assert len(text.encode()) < 400 * sends   # a few hundred bytes a segment, everything included
    assert len(Page(text).data()["bands"]) >= 1


def test_empty_trace_is_a_page_that_says_so():
    page = Page(render_html([]))
    assert "No events were recorded, so there is nothing to draw." in page.texts
    assert page.data()["items"] == []


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(events=[1, 2]), TypeError, "events[0]: not a trace event"),
    (dict(events="abc"), TypeError, "events: expected a list of trace events"),
    (dict(events=[], hosts="client"), TypeError, "hosts:"),
    (dict(events=[], hosts=["a", "a"]), ValueError, "hosts: a host is named twice"),
    (dict(events=[], names=[("10.0.0.1", "a")]), TypeError, "names:"),
    (dict(events=[], title=3), TypeError, "title:"),
    (dict(events=[], lang="fr"), ValueError, "lang:"),
])
def test_bad_arguments_name_the_argument(kwargs, error, words):
    events = kwargs.pop("events")
    with pytest.raises(error) as e:
        render_html(events, **kwargs)
    assert words in str(e.value)
