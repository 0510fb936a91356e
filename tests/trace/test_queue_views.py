"""A SYN flood is visible: the ladder and the HTML report show the listener's queues
filling and the switch to SYN cookies (RFC 4987 §2.2, §3.6)."""

from __future__ import annotations

import json
import re

from synack import scenarios
from synack.trace.html import render_html
from synack.trace.ladder import ladder_from_events


def test_syn_flood_ladder_and_report_show_queues_and_cookie_switch():
    result = scenarios.run("syn-flood")
    events = result.net.recorder.events
    names = result.net.recorder.names
    text = ladder_from_events(events, names=names, color=False, width=200)
    shown = re.findall(r"queues: SYN (\d+)/(\d+), accept (\d+)/(\d+)", text)
    assert shown, text
    # the SYN queue is drawn filling up to its bound, then cookies take over
    syn_levels = [int(s) for s, b, _, _ in shown]
    bound = int(shown[0][1])
    assert max(syn_levels) == bound
    assert syn_levels[: syn_levels.index(bound) + 1] == sorted(syn_levels[: syn_levels.index(bound) + 1])
    assert text.index(f"queues: SYN {bound}/{bound}") < text.index("SYN cookies on")

    page = render_html(events, names=names)
    items = json.loads(page.split('id="synack-data">', 1)[1].split("</script>", 1)[0])["items"]
    queue_marks = [it for it in items if it[0] == "n" and it[5] == "queue"]
    html_levels = {tuple(re.findall(r"\d+", it[3])[:4]) for it in queue_marks}
    assert html_levels == set(shown)   # the same queue changes as the ladder shows
    assert any(it[3].startswith(f"SYN queue {bound}/{bound}") for it in queue_marks)
    assert any(it[3].startswith("SYN cookies on") for it in items if it[0] == "n")
