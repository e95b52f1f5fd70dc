"""A screenshot of a provisioned dashboard with headless Chromium, logged in (run with .bi-venv's Python).

Chromium is driven through its DevTools protocol (websocket-client, which Superset's environment
has): open /login/, post the login form from the page (the session cookie stays in the browser),
open the dashboard, wait until every chart has drawn (a canvas in every chart holder, no spinner),
then capture the whole page. Nothing but the Superset server is reachable: every other host name is
unresolvable and every other connection goes to a closed local port.

    .bi-venv/bin/python bi/screenshot.py --url http://127.0.0.1:8088 --out docs/img/superset_dashboard.png
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import websocket

DASHBOARD = "pfpw-district"  # the slug of the dashboard shot unless told
STATE = """(() => {
  const holders = [...document.querySelectorAll('[data-test="chart-grid-component"]')];
  return JSON.stringify({
    url: location.pathname,
    holders: holders.length,
    drawn: holders.filter(h => h.querySelector('canvas, svg.echarts, .header-line, table tbody tr')).length,
    with_canvas: holders.filter(h => h.querySelector('canvas')).length,
    loading: document.querySelectorAll('.loading, [data-test="loading-indicator"]').length,
    errors: [...document.querySelectorAll('[data-test="chart-grid-component"] [role="alert"]')]
      .map(e => e.innerText.slice(0, 200)),
    bottom: Math.ceil(Math.max(0, ...holders.map(h => h.getBoundingClientRect().bottom + window.scrollY))),
  });
})()"""


class Browser:
    def __init__(self, chromium: str, server: str, width: int, height: int):
        self.profile = Path(tempfile.mkdtemp(prefix="pfpw-bi-chromium-"))
        host = urlsplit(server).hostname
        self.process = subprocess.Popen(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                # only the Superset server is reachable
                "--proxy-server=127.0.0.1:9",
                f"--proxy-bypass-list={host}",
                f"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE {host}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.ids = itertools.count(1)
        try:
            self.ws = websocket.create_connection(self._page_socket(), timeout=60, suppress_origin=True)
        except BaseException:
            self.close()
            raise

    def _page_socket(self) -> str:
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            targets = json.load(response)
        return next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")

    def call(self, method: str, **params) -> dict:
        message_id = next(self.ids)
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:60]}…: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.evaluate(expression)
            except RuntimeError:  # the page is between two documents
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout:.0f} s for {what}")
            time.sleep(0.25)

    def close(self) -> None:
        if getattr(self, "ws", None):
            self.ws.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def shoot(
    url: str,
    out: Path,
    username: str,
    password: str,
    *,
    charts: int | None = None,
    width: int = 1600,
    height: int = 2600,
    timeout: float = 90,
    chromium: str | None = None,
    dashboard: str = DASHBOARD,
) -> dict:
    """Log in, open the dashboard, wait for its charts and save the page as a PNG; returns the page's state."""
    chromium = chromium or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise RuntimeError("no chromium on PATH (apt-get install chromium)")
    url = url.rstrip("/")
    browser = Browser(chromium, url, width, height)
    try:
        browser.call("Page.navigate", url=f"{url}/login/")
        browser.wait_for("!!document.getElementById('csrf_token')", timeout, "the login page")
        form = json.dumps({"username": username, "password": password})
        status = browser.evaluate(
            f"""(async () => {{
              const form = new URLSearchParams({form});
              form.append('csrf_token', document.getElementById('csrf_token').value);
              await fetch('/login/', {{method: 'POST', body: form, credentials: 'same-origin'}});
              return (await fetch('/api/v1/me/', {{credentials: 'same-origin'}})).status;
            }})()"""
        )
        if status != 200:
            raise RuntimeError(f"the login as {username} failed (/api/v1/me/ answered {status})")
        path = f"/superset/dashboard/{dashboard}/"
        browser.call("Page.navigate", url=f"{url}{path}")
        expected = charts or 1
        state = json.loads(
            browser.wait_for(
                f"(() => {{ const s = JSON.parse({STATE}); "
                f"return s.holders >= {expected} && s.drawn === s.holders && s.loading === 0 "
                f"? JSON.stringify(s) : ''; }})()",
                timeout,
                f"{expected} charts drawn on {path}",
            )
        )
        time.sleep(1.5)  # the charts' entry animation
        state = json.loads(browser.evaluate(STATE))
        # down to the last chart, as laid out in the window: resizing the window (or capturing beyond it)
        # would make the dashboard lay out and draw its charts again, and the capture would catch it empty
        if state["bottom"] + 24 > height:
            raise RuntimeError(f"the dashboard is {state['bottom']} px tall: give a --height above that")
        shot = browser.call(
            "Page.captureScreenshot",
            format="png",
            clip={"x": 0, "y": 0, "width": width, "height": state["bottom"] + 24, "scale": 1},
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(base64.b64decode(shot["data"]))
        return state
    finally:
        browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8088")
    parser.add_argument("--out", type=Path, default=Path("docs/img/superset_dashboard.png"))
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default=os.environ.get("PFPW_BI_PASSWORD") or "admin")
    parser.add_argument("--dashboard", default=DASHBOARD, help=f"the dashboard's slug (default {DASHBOARD})")
    parser.add_argument("--charts", type=int, help="wait until this many charts have drawn")
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=2600)
    parser.add_argument("--timeout", type=float, default=90)
    args = parser.parse_args(argv)
    state = shoot(
        args.url,
        args.out,
        args.username,
        args.password,
        charts=args.charts,
        width=args.width,
        height=args.height,
        timeout=args.timeout,
        dashboard=args.dashboard,
    )
    print(json.dumps(state, ensure_ascii=False))
    print(f"bi: {args.out} ({state['drawn']} of {state['holders']} charts drawn)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
