"""Review and correction in a real browser: a signed-in reviewer uses the report page's forms.

Builds the demo archive, serves it with ``nianbao serve --allow-review --root`` and drives
headless Chromium over the DevTools protocol (``--remote-debugging-pipe``: no port, no
extra package), because a form has to be filled in and submitted, which a page load alone
(``--dump-dom``) cannot do. The reviewer signs in by Datasette's own root link (the
server prints it), marks a report disputed and corrects a cell through the forms; the
page then shows the verdict and the corrected cell with both values, and the Chinese view
and its CSV carry the corrected number. A second, anonymous browser context gets no form,
and its POST — with or without the page's CSRF token — is refused with a Chinese 403.
Screenshots go to ``build/screenshots/`` (or ``$NIANBAO_SCREENSHOTS``).
"""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import json
import os
import re
import select
import subprocess
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import free_port, require_tool
from tests.crawling import command, nianbao
from tests.publish.test_browser import CHROMIUM, SHOTS, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CELL = "t4.litigation_direct.total"


class DevTools:
    """Headless Chromium driven over its DevTools pipe (JSON messages ended by NUL)."""

    def __init__(self, profile: Path):
        chromium = require_tool(CHROMIUM, "Debian's chromium and fonts-wqy-microhei")
        to_browser, self._commands = os.pipe()
        self._replies, from_browser = os.pipe()

        def wire() -> None:  # the protocol's fds in the child: 3 reads, 4 writes
            os.dup2(to_browser, 3)
            os.dup2(from_browser, 4)

        self.process = subprocess.Popen(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "--window-size=1280,1600",
                "about:blank",
            ],
            preexec_fn=wire,
            close_fds=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._next = 0
        self._events: list[dict] = []

    def close(self) -> None:
        with contextlib.suppress(OSError, TimeoutError):
            self.send("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        os.close(self._commands)
        os.close(self._replies)

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._replies], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._replies, 1 << 16)
            if not chunk:
                raise OSError("Chromium closed its DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, session: str | None = None, timeout: float = 30, **params):
        self._next += 1
        message = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._events.append(reply)

    def drop_events(self, session: str) -> None:
        self._events = [e for e in self._events if e.get("sessionId") != session]

    def wait_event(self, method: str, session: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self._events):
                if event.get("method") == method and event.get("sessionId") == session:
                    return self._events.pop(i)
            self._events.append(self._read(deadline))

    def tab(self, incognito: bool = False) -> Tab:
        """A new tab; ``incognito``: in a browser context of its own (no cookies)."""
        extra = {}
        if incognito:
            extra["browserContextId"] = self.send("Target.createBrowserContext")["browserContextId"]
        target = self.send("Target.createTarget", url="about:blank", **extra)["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.send("Page.enable", session)
        return Tab(self, session)


class Tab:
    def __init__(self, devtools: DevTools, session: str):
        self.devtools, self.session = devtools, session

    def _call(self, method: str, **params):
        return self.devtools.send(method, self.session, **params)

    def _loaded(self) -> None:
        self.devtools.wait_event("Page.loadEventFired", self.session)

    def _forget_events(self) -> None:
        """Events of loads before this one (about:blank's) must not end the wait for it."""
        self.devtools.drop_events(self.session)

    def open(self, url: str) -> str:
        """Load ``url`` (following redirects); the page's HTML as the browser built it."""
        self._forget_events()
        self._call("Page.navigate", url=url)
        self._loaded()
        return self.html()

    def js(self, expression: str):
        result = self._call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise AssertionError(result["exceptionDetails"])
        return result["result"].get("value")

    def html(self) -> str:
        return self.js("document.documentElement.outerHTML")

    def submit(self, form_selector: str, fields: dict[str, str]) -> str:
        """Fill the form's fields as a reader would, press its button, wait for the page
        it leads to; that page's HTML."""
        script = (
            "(() => { const f = document.querySelector(FORM);"
            " for (const [k, v] of Object.entries(FIELDS)) {"
            "  const els = f.querySelectorAll(`[name='${k}']`);"
            "  if (!els.length) throw new Error('no field ' + k);"
            "  for (const el of els) { if (el.type === 'radio') el.checked = el.value === v;"
            "   else el.value = v; } }"
            " f.querySelector('button[type=submit]').click(); })()"
        )
        script = script.replace("FORM", json.dumps(form_selector))
        script = script.replace("FIELDS", json.dumps(fields, ensure_ascii=False))
        self._forget_events()
        self.js(script)
        self._loaded()
        return self.html()

    def screenshot(self, path: Path) -> None:
        data = self._call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        assert path.stat().st_size > 5000, path


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser-review")
    db = tmp / "demo.db"
    nianbao("demo", "--no-serve", "--db", str(db))
    port = free_port()
    log_path = tmp / "serve.log"
    log = log_path.open("wb")
    server = subprocess.Popen(
        command("serve", "--db", str(db), "--port", str(port), "--allow-review", "--root"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    devtools = None
    try:
        wait_for(f"{base}/-/versions.json", time.monotonic() + 60)
        sign_in = re.search(
            rf"{re.escape(base)}/-/auth-token\?token=\w+", log_path.read_text("utf-8")
        )
        assert sign_in, "nianbao serve --root printed no sign-in link"
        devtools = DevTools(tmp / "profile")
        shots = Path(os.environ.get("NIANBAO_SCREENSHOTS", SHOTS))
        shots.mkdir(parents=True, exist_ok=True)
        yield {
            "base": base,
            "name": db.stem,
            "db": db,
            "sign_in": sign_in.group(0),
            "devtools": devtools,
            "shots": shots,
            "log": log_path,
        }
    finally:
        if devtools is not None:
            devtools.close()
        server.terminate()
        server.wait(timeout=10)
        log.close()


def a_report_with(served) -> int:
    """A current report of the demo whose table 4 was read (its cell is corrected)."""
    url = (
        f"{served['base']}/{served['name']}/report_t4.json?_shape=array&_size=1"
        "&superseded_by__isnull=1&litigation_direct_total__notblank=1&_sort=report_id"
    )
    with urllib.request.urlopen(url) as response:
        [row] = json.loads(response.read())
    return row["report_id"]


def test_a_signed_in_reviewer_records_a_verdict_and_a_correction(served):
    base, name, devtools = served["base"], served["name"], served["devtools"]
    report = a_report_with(served)
    url = f"{base}/{name}/reports/{report}"
    tab = devtools.tab()
    tab.open(served["sign_in"])  # Datasette's root link: the ds_actor cookie is set
    page = tab.open(url)
    assert "以 root 的名义" in page and 'name="csrftoken"' in page
    before = int(
        re.search(rf'data-cell="{re.escape(CELL)}"[^>]*>([\d,]+)', page).group(1).replace(",", "")
    )

    page = tab.submit(
        "form.nb-review-form", {"status": "disputed", "note": "表四与原件第3页不一致"}
    )
    assert tab.js("location.hash") == "#review"
    assert "已记录核对结论：有争议" in page  # Datasette's message after the redirect
    assert re.search(r"<strong>有争议</strong>：表四与原件第3页不一致 <span[^>]*>— root，", page)

    page = tab.submit(
        "form.nb-correct-form", {"cell": CELL, "value": str(before + 12), "note": "扫描件误读"}
    )
    assert f"已记录校正：{CELL} 原件为 {before + 12:,}" in page
    cell = re.search(rf'<td class="([^"]*)" data-cell="{re.escape(CELL)}"[^>]*>(.*?)</td>', page)
    assert "nb-corrected" in cell.group(1)
    assert f'<del class="nb-parsed" title="解析值">{before:,}</del>' in cell.group(2)
    assert f'<ins class="nb-fix" title="人工核对原件">{before + 12:,}</ins>' in cell.group(2)
    assert re.search(
        rf'<tr class="nb-corrected" data-cell="{re.escape(CELL)}">.*?<td>{before:,}</td>'
        rf".*?<strong>{before + 12:,}</strong>.*?扫描件误读.*?<td>root</td>",
        page,
        re.S,
    )
    tab.js("document.getElementById('review').scrollIntoView()")
    tab.screenshot(served["shots"] / "review-1-corrected.png")

    # The Chinese view's CSV: the person's number, the parser's in its check.
    view = quote("表四_复议诉讼")
    with urllib.request.urlopen(f"{base}/{name}/{view}.csv?{quote('报告编号')}={report}") as r:
        line = next(csv.DictReader(io.StringIO(r.read().decode("utf-8"))))
    assert line["行政诉讼·未经复议直接起诉·总计"] == str(before + 12)
    check = line["行政诉讼·未经复议直接起诉·总计·核对"]
    assert f"校正：原件为 {before + 12:,}，解析为 {before:,}（root " in check
    # Year over year, from the report page's link: the person's number, tagged 校正,
    # the parser's in its title.
    compare = re.search(r'<a href="([^"]+/-/compare\?[^"]+)">历年对比</a>', page).group(1)
    page = tab.open(base + compare.replace("&amp;", "&"))
    assert re.search(
        rf'<td class="nb-cell[^"]* nb-corrected" title="[^"]*校正：原件为 {before + 12:,}，'
        rf'解析为 {before:,}[^"]*">{before + 12:,}<sup class="nb-flag-tag '
        r'nb-flag-tag-corrected">校正</sup></td>',
        page,
    ), "year over year does not show the corrected number"
    tab.screenshot(served["shots"] / "review-3-compare.png")
    # And the command reads back what the form wrote.
    shown = json.loads(
        nianbao("review", "show", str(report), "--json", "--db", str(served["db"])).stdout
    )
    assert shown["reviews"][-1]["reviewer"] == "root"
    assert shown["corrections"][0]["value"] == before + 12


def test_an_anonymous_reader_gets_no_form_and_a_chinese_403(served):
    base, name, devtools = served["base"], served["name"], served["devtools"]
    report = a_report_with(served)
    tab = devtools.tab(incognito=True)
    page = tab.open(f"{base}/{name}/reports/{report}")
    assert "核对与校正" in page and "nb-review-form" not in page and "nb-correct-form" not in page
    tab.screenshot(served["shots"] / "review-2-anonymous.png")
    for token in ("", "made-up"):
        target = json.dumps(f"/{name}/-/review/{report}")
        body = json.dumps(f"action=review&status=checked&csrftoken={token}")
        answer = tab.js(
            f"fetch({target}, {{method: 'POST', headers: {{'content-type': "
            f"'application/x-www-form-urlencoded'}}, body: {body}}})"
            ".then(async r => [r.status, await r.text()])"
        )
        status, text = answer
        assert status == 403
        assert "请先登录：只有登录且获准的用户才能记录核对或校正" in text
        assert "<title>没有权限（403）</title>" in text
    assert "Traceback" not in served["log"].read_text("utf-8", "replace")
