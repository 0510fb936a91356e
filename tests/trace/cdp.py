"""A minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe`` (file
descriptors 3 and 4, NUL-terminated JSON): headless Chromium driven with no port opened
and nothing leaving the machine. Used by the browser tests and by ``benchmarks/report.py``."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator

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
        self.log = open(self.log_path, "w")  # noqa: SIM115 - open as long as the browser runs
        shell = f'exec "$0" "$@" 3<&{cmd_r} 4>&{out_w} {cmd_r}<&- {out_w}>&-'
        self.proc = subprocess.Popen(["bash", "-c", shell, str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}",
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
            lines = [line.strip() for line in f if "dbus" not in line]
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

    def screenshot(self, path: str) -> bytes:
        """A PNG of the page as it is on screen, also written to ``path``."""
        data = base64.b64decode(self.call("Page.captureScreenshot", {"format": "png"})["data"])
        with open(path, "wb") as f:
            f.write(data)
        return data

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.call("Browser.close", browser=True)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.w)
        os.close(self.r)
        self.log.close()


@contextlib.contextmanager
def chromium(profile: str | None = None) -> Iterator[Cdp]:
    """A headless Chromium with one page attached (Page, Runtime, Log and Network enabled)."""
    if CHROMIUM is None:
        raise FileNotFoundError("chromium is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        cdp = Cdp(profile or tmp)
        try:
            (target,) = [t for t in cdp.call("Target.getTargets", browser=True)["targetInfos"]
                         if t["type"] == "page"][:1]
            cdp.session = cdp.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True},
                                   browser=True)["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                cdp.call(f"{domain}.enable")
            yield cdp
        finally:
            cdp.close()



