"""The HTML report in a real browser: headless Chromium (Debian's ``chromium``) loads a report
of a simulated run from a file:// URL; the page must run without console errors, fetch
nothing, draw one arrow per segment sent, and its Step / Reset / keyboard / ``?step=N``
controls must reveal arrows one event at a time.

The browser is driven through the Chrome DevTools Protocol over ``--remote-debugging-pipe``
(file descriptors 3 and 4, NUL-terminated JSON messages): no port is opened, nothing leaves
the machine. Skipped, with the reason, where chromium is not installed (it fails instead
in CI, where .ci/apt-packages installs it).
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import subprocess
import time

import pytest

from synack.trace.html import write_html
from test_html import HOSTILE, lossy_run

CHROMIUM = shutil.which("chromium")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1280,900", "--remote-debugging-pipe",
]
TIMEOUT = 15.0   # seconds for any one browser answer; the whole module takes about 3 s


def _high(fd: int) -> int:
    """A copy of ``fd`` numbered 10 or more (the original is closed)."""
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return new


class Cdp:
    """A minimal DevTools Protocol client: commands in, results and events out."""

    def __init__(self, profile: str) -> None:
        cmd_r, cmd_w = os.pipe()      # we write commands; the browser reads them on fd 3
        out_r, out_w = os.pipe()      # the browser writes answers on fd 4; we read them
        # The child's ends move to 3 and 4: first lift them above 10 so no redirection
        # below overwrites or closes the other.
        cmd_r, out_w = (_high(fd) for fd in (cmd_r, out_w))
        self.log_path = os.path.join(profile, "chromium.log")
        self.log = open(self.log_path, "w")
        shell = f'exec "$0" "$@" 3<&{cmd_r} 4>&{out_w} {cmd_r}<&- {out_w}>&-'
        self.proc = subprocess.Popen(["bash", "-c", shell, CHROMIUM, *FLAGS, f"--user-data-dir={profile}",
                                      "about:blank"],
                                     pass_fds=(cmd_r, out_w), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        os.close(cmd_r)
        os.close(out_w)
        self.w, self.r = cmd_w, out_r
        self.buf = b""
        self.last_id = 0
        self.events: list[dict] = []
        self.session: str | None = None

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer in time")
            ready, _, _ = select.select([self.r], [], [], left)
            if ready:
                chunk = os.read(self.r, 1 << 16)
                if not chunk:
                    raise RuntimeError(f"chromium closed the pipe (status {self.proc.poll()}): {self.log_tail()}")
                self.buf += chunk
        msg, _, self.buf = self.buf.partition(b"\0")
        return json.loads(msg)

    def log_tail(self) -> str:
        self.log.flush()
        with open(self.log_path, errors="replace") as f:
            lines = [l.strip() for l in f if "dbus" not in l]
        return " | ".join(lines[-5:])

    def call(self, method: str, params: dict | None = None, *, browser: bool = False) -> dict:
        self.last_id += 1
        msg: dict = {"id": self.last_id, "method": method, "params": params or {}}
        if not browser and self.session:
            msg["sessionId"] = self.session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            m = self._read(deadline)
            if m.get("id") == self.last_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_for(self, method: str) -> dict:
        deadline = time.monotonic() + TIMEOUT
        while True:
            for i, m in enumerate(self.events):
                if m.get("method") == method:
                    return self.events.pop(i)
            self.events.append(self._read(deadline))

    def js(self, expression: str):
        """Evaluate ``expression`` in the page (promises awaited) and return its value."""
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            raise AssertionError(f"{expression!r} raised {r['exceptionDetails']}")
        return r["result"].get("value")

    def open(self, url: str) -> None:
        """Navigate and wait for the load event (the page's script has run by then)."""
        self.events.clear()
        self.call("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")

    def key(self, key: str, code: int) -> None:
        for kind in ("keyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", {"type": kind, "key": key, "code": key,
                                                 "windowsVirtualKeyCode": code})

    def problems(self) -> list[str]:
        """Everything the page reported that a user's console would show as a problem, and
        every request for anything but a local file."""
        out = []
        for m in self.events:
            p = m.get("params", {})
            meth = m.get("method")
            if meth == "Runtime.exceptionThrown":
                out.append(f"exception: {p['exceptionDetails']}")
            elif meth == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
                out.append(f"console.{p['type']}: {p.get('args')}")
            elif meth == "Log.entryAdded" and p["entry"].get("level") in ("error", "warning"):
                out.append(f"log {p['entry']['level']}: {p['entry'].get('text')}")
            elif meth == "Network.requestWillBeSent" and not p["request"]["url"].startswith("file:"):
                out.append(f"fetch: {p['request']['url']}")
            elif meth == "Page.javascriptDialogOpening":
                out.append(f"dialog: {p.get('message')}")
        return out

    def close(self) -> None:
        try:
            self.call("Browser.close", browser=True)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.w)
        os.close(self.r)
        self.log.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("the browser test must run in CI, but chromium is not installed (see .ci/apt-packages)")
        pytest.skip("headless Chromium is not installed (apt-get install chromium; `make test` does it as root)")
    cdp = Cdp(str(tmp_path_factory.mktemp("chromium-profile")))
    try:
        (target,) = [t for t in cdp.call("Target.getTargets", browser=True)["targetInfos"] if t["type"] == "page"][:1]
        cdp.session = cdp.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True},
                               browser=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            cdp.call(f"{domain}.enable")
        yield cdp
    finally:
        cdp.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A report of a real run (handshake, a lost data segment and its RTO retransmission,
    a reply, close, TIME-WAIT) and the number of segments sent in it."""
    net = lossy_run()
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_html(net.recorder.events, path, title="lossy run", names=net.recorder.names)
    sends = sum(1 for e in net.recorder.events if e.event == "send")
    return path.as_uri(), sends


VISIBLE_ARROWS = ("[...document.querySelectorAll('[data-seg]')]"
                  ".filter(g => getComputedStyle(g).visibility === 'visible').length")
SHOWN = "Number(document.body.dataset.shown)"


def test_page_loads_without_errors_fetches_nothing_and_draws_one_arrow_per_segment(browser, report):
    url, sends = report
    browser.open(url)
    assert browser.js("document.getElementById('controls').hidden") is False, "the script did not run"
    assert browser.js("document.querySelectorAll('[data-seg]').length") == sends
    assert browser.js(VISIBLE_ARROWS) == sends
    # each arrow is really drawn: a shaft with a length, inside the diagram
    lengths = browser.js("[...document.querySelectorAll('[data-seg] .shaft')].map(l => l.getTotalLength())")
    assert len(lengths) == sends and min(lengths) > 50
    assert browser.js("document.getElementById('ladder').getBoundingClientRect().width") > 700
    assert browser.problems() == []


def test_step_reveals_one_event_at_a_time(browser, report):
    url, sends = report
    browser.open(url)
    steps = browser.js("JSON.parse(document.getElementById('synack-data').textContent).steps")
    kinds = [s["kind"] for s in steps]
    browser.js("document.getElementById('btn-reset').click()")
    assert browser.js(SHOWN) == 0
    assert browser.js(VISIBLE_ARROWS) == 0
    for k in range(1, len(steps) + 1):
        browser.js("document.getElementById('btn-step').click()")
        assert browser.js(SHOWN) == k
        assert browser.js(VISIBLE_ARROWS) == sum(1 for kind in kinds[:k] if kind == "segment")
        # the newest event is highlighted and described in the side panel
        assert browser.js("document.querySelector('.current').getAttribute('data-step')") == str(k - 1)
        assert browser.js("document.querySelector('#details h2').textContent") == steps[k - 1]["title"]
    assert browser.js(VISIBLE_ARROWS) == sends
    assert browser.problems() == []


def test_keyboard_and_play_controls(browser, report):
    url, sends = report
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
    assert browser.js(VISIBLE_ARROWS) == sends
    assert browser.js("document.body.dataset.mode") == "all"
    assert browser.problems() == []


def test_step_in_the_url_opens_the_page_at_that_step(browser, report):
    url, _ = report
    browser.open(url + "?step=7")
    steps = browser.js("JSON.parse(document.getElementById('synack-data').textContent).steps")
    assert browser.js(SHOWN) == 7
    assert browser.js(VISIBLE_ARROWS) == sum(1 for s in steps[:7] if s["kind"] == "segment")
    # the chart is veiled below the current instant, the now-line drawn there
    assert float(browser.js("document.getElementById('now-line').getAttribute('y1')")) == steps[6]["y"]
    assert browser.js("document.getElementById('veil').getAttribute('visibility')") == "visible"
    assert browser.problems() == []


def test_hostile_host_name_runs_no_script(browser, tmp_path):
    net = lossy_run(client=HOSTILE[0], server=HOSTILE[1])
    path = tmp_path / "hostile.html"
    write_html(net.recorder.events, path, title=HOSTILE[0], names=net.recorder.names)
    browser.open(path.as_uri())
    assert browser.js("document.title") == HOSTILE[0]
    assert browser.js("document.querySelectorAll('script').length") == 2
    assert browser.js("document.querySelectorAll('img').length") == 0
    assert browser.js("document.querySelectorAll('[data-seg]').length") == \
        sum(1 for e in net.recorder.events if e.event == "send")
    assert browser.problems() == []
