"""The web questionnaire in a real browser, from the first question to the pre-diagnosis.

`stratdsl serve` runs in its own process; headless Chromium (Debian package
`chromium`; the test is skipped without /usr/bin/chromium) is driven over the
Chrome DevTools Protocol on its --remote-debugging-port, through the small
websocket client below (standard library only: no Selenium, no Playwright, no
`websockets`). The test loads /questionnaire?lang=fr, fills the fields (the
organisation, the maturity, one AI tool, one use case) by setting them on the
DOM with Runtime.evaluate, clicks "Ajouter : Cas d'usage (irritants)" with real
mouse events, fills the second use-case block, clicks "Obtenir mon
prédiagnostic", and checks the pre-diagnosis: the table and its headers, the
maturity level, the AI Act risk of each use case, the two download links (their
YAML validates), and no console error, failed request or uncaught exception on
any page.

The screenshot of the pre-diagnosis is written to the test's temporary folder;
it replaces docs/questionnaire-screenshot.png when STRATDSL_REGEN=1 (or when
that file is missing).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import time
from datetime import date
from typing import Any

import httpx
import pytest
import yaml

from helpers import REGEN, REPO
from stratdsl.engine import require_policy, run
from stratdsl.render import labels
from stratdsl.runtime.assessment import validate

CHROMIUM = "/usr/bin/chromium"
STRATDSL = shutil.which("stratdsl")
pytestmark = [
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium is not installed (apt-get install chromium)"),
    pytest.mark.skipif(STRATDSL is None, reason="needs the installed `stratdsl` command"),
]

POLICY_PATH = REPO / "policies" / "strategy.strat"
SCREENSHOT = REPO / "docs" / "questionnaire-screenshot.png"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
]


# ------------------------------------------------------------------ a minimal websocket client (RFC 6455)


class WebSocket:
    """Text frames only, client side (masked), enough for the DevTools protocol."""

    def __init__(self, url: str, timeout: float = 30):
        assert url.startswith("ws://"), url
        host_port, _, path = url[len("ws://") :].partition("/")
        host, _, port = host_port.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            assert chunk, "the websocket handshake was cut"
            head += chunk
        head, _, self.buffer = head.partition(b"\r\n\r\n")
        assert head.split(b"\r\n", 1)[0].split(b" ")[1] == b"101", head

    def _exact(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buffer)))
            if not chunk:
                raise ConnectionError("the websocket was closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        size = len(payload)
        if size < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
        elif size < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send(self, text: str) -> None:
        self._frame(0x1, text.encode("utf-8"))

    def recv(self) -> str:
        message = b""
        while True:
            first, second = self._exact(2)
            opcode, size = first & 0x0F, second & 0x7F
            if size == 126:
                (size,) = struct.unpack("!H", self._exact(2))
            elif size == 127:
                (size,) = struct.unpack("!Q", self._exact(8))
            mask = self._exact(4) if second & 0x80 else None
            payload = self._exact(size)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x9:  # ping
                self._frame(0xA, payload)
                continue
            if opcode == 0x8:
                raise ConnectionError("the websocket was closed by the browser")
            if opcode in (0x0, 0x1, 0x2):
                message += payload
                if first & 0x80:
                    return message.decode("utf-8")

    def close(self) -> None:
        try:
            self._frame(0x8, b"")
        except OSError:
            pass
        self.sock.close()


class DevTools:
    """Commands and events of one page target."""

    def __init__(self, ws_url: str):
        self.ws = WebSocket(ws_url)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []  # every event received, in order
        self.pending: list[dict[str, Any]] = []  # events not consumed by wait_for

    def _receive(self, deadline: float) -> dict[str, Any]:
        self.ws.sock.settimeout(max(0.1, deadline - time.monotonic()))
        message = json.loads(self.ws.recv())
        if "method" in message:
            self.events.append(message)
            self.pending.append(message)
        return message

    def __call__(self, method: str, timeout: float = 30, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        ident = self.next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline)
            if message.get("id") == ident:
                assert "error" not in message, f"{method}: {message['error']}"
                return message["result"]

    def wait_for(self, method: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self.pending):
                if event["method"] == method:
                    del self.pending[: i + 1]
                    return event["params"]
            self.pending.clear()
            assert time.monotonic() < deadline, f"no {method} within {timeout} s"
            self._receive(deadline)

    def evaluate(self, expression: str) -> Any:
        result = self("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def navigate(self, url: str) -> None:
        self.pending.clear()
        self("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def click(self, selector: str) -> None:
        """A real left click (mouse events) in the middle of the element; waits for the page it loads."""
        x, y = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); e.scrollIntoView({{block: 'center'}});"
            " const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        self.pending.clear()
        self("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        self("Input.dispatchMouseEvent", type="mousePressed", x=x, y=y, button="left", clickCount=1)
        self("Input.dispatchMouseEvent", type="mouseReleased", x=x, y=y, button="left", clickCount=1)
        self.wait_for("Page.loadEventFired")

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions, and error log entries (CSP, network…,
        such as a 404 for /favicon.ico: the pages declare an empty icon, so none is requested)."""
        found = []
        for event in self.events:
            params = event["params"]
            if event["method"] == "Runtime.exceptionThrown":
                found.append(f"uncaught: {params['exceptionDetails'].get('text')}")
            elif event["method"] == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning", "assert"):
                found.append(f"console.{params['type']}: {[a.get('value') for a in params['args']]}")
            elif event["method"] == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                found.append(
                    f"log {params['entry']['level']}: {params['entry']['text']} {params['entry'].get('url', '')}".rstrip()
                )
        return found


FILL = """(values) => {
  const problems = [];
  for (const [name, value] of Object.entries(values)) {
    const fields = document.getElementsByName(name);
    if (!fields.length) { problems.push('missing ' + name); continue; }
    if (fields[0].type === 'checkbox') {
      const wanted = [].concat(value);
      for (const box of fields) box.checked = wanted.includes(box.value);
      const known = [...fields].map(b => b.value);
      for (const v of wanted) if (!known.includes(v)) problems.push(name + ' has no choice ' + v);
    } else if (fields[0].type === 'radio') {
      for (const r of fields) r.checked = r.value === String(value);
      if (![...fields].some(r => r.checked)) problems.push(name + ' has no choice ' + value);
    } else {
      fields[0].value = value;
      if (fields[0].value !== String(value)) problems.push(name + ' refused ' + value);
    }
    fields[0].dispatchEvent(new Event('change', {bubbles: true}));
  }
  return problems;
}"""


def fill(page: DevTools, values: dict[str, Any]) -> None:
    """Set form fields on the DOM; every field named must be in the page."""
    assert page.evaluate(f"({FILL})({json.dumps(values)})") == []


# ------------------------------------------------------------------ processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    port = free_port()
    with (tmp / "serve.log").open("wb") as log:
        proc = subprocess.Popen(
            [STRATDSL, "serve", str(POLICY_PATH), "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, cwd=REPO
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp / "serve.log").read_text()
            try:
                if httpx.get(url + "/api/v1/policy", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not answer"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def page(tmp_path):
    profile = tmp_path / "profile"
    profile.mkdir()
    with (tmp_path / "chromium.log").open("wb") as log:
        browser = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    devtools = None
    try:
        active = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (active.exists() and len(active.read_text().splitlines()) >= 2):
            assert browser.poll() is None, (tmp_path / "chromium.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.1)
        port = int(active.read_text().splitlines()[0])
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        target = next(t for t in targets if t["type"] == "page")
        devtools = DevTools(target["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime", "Log"):
            devtools(f"{domain}.enable")
        devtools("Emulation.setDeviceMetricsOverride", width=1100, height=1500, deviceScaleFactor=1, mobile=False)
        yield devtools
    finally:
        if devtools is not None:
            devtools.ws.close()
        browser.terminate()
        try:
            browser.wait(timeout=10)
        except subprocess.TimeoutExpired:
            browser.kill()
            browser.wait()


# ------------------------------------------------------------------ the test


DIMENSIONS = ["data_quality", "processes", "skills", "culture", "governance"]
LEVELS = ["practiced", "documented", "owned", "measured", "improved"]


def test_from_the_first_question_to_the_prediagnosis(base, page, tmp_path):
    checked, _ = require_policy(POLICY_PATH)
    page.navigate(f"{base}/questionnaire?lang=fr")
    assert page.evaluate("document.documentElement.lang") == "fr"
    assert page.evaluate("document.querySelector('h1').textContent") == "Diagnostic IA express"
    assert page.evaluate("document.querySelectorAll('script').length") == 0
    # the first question is the company's name, as the policy's express order says
    first = page.evaluate("document.querySelector('form label').textContent")
    assert first == "Nom de l'entreprise *"
    legends = page.evaluate("[...document.querySelectorAll('fieldset legend')].map(l => l.textContent)")
    assert legends == ["Organisation", "Diagnostic de maturité", "Outils d'IA déjà utilisés — 1", "Cas d'usage (irritants) — 1"]
    adds = page.evaluate("[...document.querySelectorAll('button[name=add]')].map(b => [b.value, b.textContent])")
    assert adds == [["tools", "Ajouter : Outils d'IA déjà utilisés"], ["usecases", "Ajouter : Cas d'usage (irritants)"]]

    company = {
        "organization.name": "Menuiserie Vidal",
        "organization.sector": "construction",
        "organization.headcount": "28",
        "organization.ai_training_done": "non",
    }
    for i, dim in enumerate(DIMENSIONS):
        for j, level in enumerate(LEVELS):
            company[f"maturity.{dim}.{level}"] = "oui" if j <= i % 3 else "non"
    tool = {"tools.1.name": "ChatGPT", "tools.1.personal_data": "oui", "tools.1.approved": "non"}
    first_case = {
        "usecases.1.name": "Chiffrage des devis",
        "usecases.1.function": "sales_marketing",
        "usecases.1.frictions": ["repetitive_tasks", "complex_spreadsheets"],
        "usecases.1.inputs": ["documents_text"],
        "usecases.1.infers": ["[]"],
        "usecases.1.decides": ["[]"],
        "usecases.1.setting": ["[]"],
        "usecases.1.influences_behaviour": "non",
        "usecases.1.hours_per_week": "15",
        "usecases.1.data_availability": "scattered",
        "usecases.1.integration": "low",
        "usecases.1.vendor_solution": "oui",
        "usecases.1.affected": ["customers"],
        "usecases.1.personal_data": "oui",
        "usecases.1.profiling": "non",
        "usecases.1.automated_decision": "non",
        "usecases.1.interacts_with_people": "non",
        "usecases.1.generated_content": ["[]"],  # the "Aucun" box: the empty list, not unknown
    }
    fill(page, {**company, **tool, **first_case})
    page.click("button[name=add][value=usecases]")

    # a second use-case block is there (still one tool block), and what was typed is kept
    legends = page.evaluate("[...document.querySelectorAll('fieldset legend')].map(l => l.textContent)")
    assert legends[2:] == ["Outils d'IA déjà utilisés — 1", "Cas d'usage (irritants) — 1", "Cas d'usage (irritants) — 2"]
    assert page.evaluate(
        "[document.getElementsByName('n.tools')[0].value, document.getElementsByName('n.usecases')[0].value]"
    ) == [
        "1",
        "2",
    ]
    assert page.evaluate("document.getElementsByName('organization.name')[0].value") == "Menuiserie Vidal"
    assert page.evaluate("document.getElementsByName('tools.1.name')[0].value") == "ChatGPT"
    assert page.evaluate("document.getElementsByName('usecases.1.hours_per_week')[0].value") == "15"
    assert page.evaluate("[...document.getElementsByName('maturity.skills.documented')].find(r => r.checked).value") == "oui"
    assert page.evaluate("[...document.getElementsByName('usecases.1.frictions')].filter(b => b.checked).map(b => b.value)") == [
        "repetitive_tasks",
        "complex_spreadsheets",
    ]
    second_case = {
        "usecases.2.name": "Affectation des poseurs",
        "usecases.2.function": "hr",
        "usecases.2.inputs": ["numbers_transactions"],
        "usecases.2.infers": ["[]"],
        "usecases.2.decides": ["task_allocation"],
        "usecases.2.setting": ["workplace"],
        "usecases.2.influences_behaviour": "non",
        "usecases.2.generated_content": ["[]"],
        "usecases.2.hours_per_week": "4",
        "usecases.2.affected": ["employees"],
        "usecases.2.personal_data": "oui",
        "usecases.2.profiling": "oui",
        "usecases.2.automated_decision": "non",
    }
    fill(page, second_case)
    page.click("form p button:not([name])")

    # the pre-diagnosis
    assert page.evaluate("document.querySelector('h1').textContent") == "Prédiagnostic"
    assert page.evaluate("[...document.querySelectorAll('thead th')].map(h => h.textContent)") == [
        "Décision",
        "Pour",
        "Résultat",
        "Sources",
    ]
    rows = page.evaluate("[...document.querySelectorAll('tbody tr')].map(r => [...r.cells].map(c => c.textContent))")
    by_decision: dict[str, dict[str, str]] = {}
    for decision, entity, value, _cites in rows:
        by_decision.setdefault(decision, {})[entity] = value
    levels = {labels.outcome_label(checked, "maturity_level", o.name, "fr") for o in checked.decisions["maturity_level"].outcomes}
    assert by_decision["Niveau de maturité IA"][""] in levels  # decided: every maturity question was answered
    risks = {labels.outcome_label(checked, "risk", o.name, "fr") for o in checked.decisions["risk"].outcomes}
    risk = by_decision["Catégorie de risque AI Act"]
    assert set(risk) == {"Chiffrage des devis", "Affectation des poseurs"}  # the names given, not their ids
    assert all(value in risks for value in risk.values()), risk
    assert risk["Affectation des poseurs"].startswith("Haut risque")  # Annex III 4(b), profiling
    nxt = page.evaluate("[...document.querySelectorAll('h2 + ul li')].map(l => l.textContent)")
    assert page.evaluate("document.querySelector('h2').textContent") == "Pour compléter le diagnostic, répondez en priorité à :"
    assert 1 <= len(nxt) <= 8

    # the two downloads
    links = page.evaluate(
        "[...document.querySelectorAll('a[download]')].map(a => [a.getAttribute('download'), a.textContent, a.href.slice(0, 40), a.href])"
    )
    assert [(name, text) for name, text, _, _ in links] == [
        ("evaluation.yaml", "Télécharger l'évaluation (YAML)"),
        ("rapport.html", "Télécharger le rapport (HTML)"),
    ]
    assert links[0][2].startswith("data:application/x-yaml;base64,") and links[1][2].startswith("data:text/html;base64,")
    saved = yaml.safe_load(base64.b64decode(links[0][3].split(",", 1)[1]))
    assessment = validate(checked, saved, "evaluation.yaml")
    assert saved["organization"]["name"] == "Menuiserie Vidal"
    assert [u["name"] for u in saved["usecases"]] == ["Chiffrage des devis", "Affectation des poseurs"]
    assert saved["tools"] == [{"id": "chatgpt", "name": "ChatGPT", "personal_data": True, "approved": False}]
    assert saved["usecases"][0]["frictions"] == ["repetitive_tasks", "complex_spreadsheets"]
    assert saved["usecases"][0]["generated_content"] == [] and saved["usecases"][1]["generated_content"] == []
    assert "frictions" not in saved["usecases"][1]  # a list left unanswered stays out of the file
    report = base64.b64decode(links[1][3].split(",", 1)[1]).decode("utf-8")
    assert report.lstrip().lower().startswith("<!doctype html") and "Menuiserie Vidal" in report
    # the page shows what the engine decides for the downloaded assessment
    result, _ = run(checked, assessment, date.today())
    level = next(d for d in result.decisions if d.decision == "maturity_level")
    assert by_decision["Niveau de maturité IA"][""] == labels.outcome_label(checked, "maturity_level", level.outcome, "fr")
    # the full report is shown in the page
    assert page.evaluate("document.querySelector('iframe').title") == "Rapport complet"

    assert page.problems() == []

    page.evaluate("window.scrollTo(0, 0)")
    shot = base64.b64decode(page("Page.captureScreenshot", format="png")["data"])
    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 20_000
    (tmp_path / "prediagnosis.png").write_bytes(shot)
    if REGEN or not SCREENSHOT.exists():
        SCREENSHOT.parent.mkdir(exist_ok=True)
        SCREENSHOT.write_bytes(shot)

    # a second visit: "Compléter mes réponses" reopens the form with every answer given,
    # the questions that settle the most listed first and highlighted in place
    assert page.evaluate("document.querySelector('form input[name=resume] ~ p button').textContent") == "Compléter mes réponses"
    page.click("form input[name=resume] ~ p button")
    assert page.evaluate("document.querySelector('h1').textContent") == "Diagnostic IA express"
    assert page.evaluate("document.getElementsByName('organization.name')[0].value") == "Menuiserie Vidal"
    assert page.evaluate("document.getElementsByName('usecases.2.name')[0].value") == "Affectation des poseurs"
    assert page.evaluate("[...document.getElementsByName('maturity.skills.documented')].find(r => r.checked).value") == "oui"
    assert page.evaluate("document.getElementById('progress').value") >= 40
    targets = page.evaluate("[...document.querySelectorAll('.next-up a')].map(a => a.getAttribute('href'))")
    assert targets, "no question to answer next"
    assert all(page.evaluate(f"document.querySelector({json.dumps(t)}).classList.contains('next')") for t in targets)
    # answer the yes/no ones among them ("non"), then ask for the pre-diagnosis again
    radios = page.evaluate(
        "[...document.querySelectorAll('.question.next input[type=radio][value=non]')].map(r => r.name)"
    )
    if radios:
        fill(page, {name: "non" for name in radios})
    page.click("form p button:not([name])")
    assert page.evaluate("document.querySelector('h1').textContent") == "Prédiagnostic"
    assert page.evaluate("document.querySelector('iframe').title") == "Rapport complet"
    assert page.problems() == []


def test_the_form_in_english_has_no_console_error(base, page):
    page.navigate(f"{base}/questionnaire?lang=en")
    assert page.evaluate("document.querySelector('h1').textContent") == "Express AI diagnostic"
    assert page.evaluate("document.querySelector('link[rel=icon]').getAttribute('href')") == "data:,"
    adds = page.evaluate("[...document.querySelectorAll('button[name=add]')].map(b => [b.value, b.textContent])")
    assert [value for value, _ in adds] == ["tools", "usecases"]
    assert adds[0][1].startswith("Add") and adds[0][1].endswith("AI tools already in use")
    assert adds[1][1].startswith("Add") and adds[1][1].endswith("Use cases (irritants)")
    page.click("button[name=add][value=tools]")
    legends = page.evaluate("[...document.querySelectorAll('fieldset legend')].map(l => l.textContent)")
    assert legends[2:] == ["AI tools already in use — 1", "AI tools already in use — 2", "Use cases (irritants) — 1"]
    page.click("a[lang=fr]")
    assert page.evaluate("document.documentElement.lang") == "fr"
    assert page.problems() == []  # and no request for /favicon.ico failed


def test_enter_in_a_field_asks_for_the_prediagnosis(base, page):
    page.navigate(f"{base}/questionnaire?lang=fr")
    page.evaluate("(() => { const f = document.getElementsByName('organization.name')[0]; f.value = 'Acme'; f.focus(); })()")
    page.pending.clear()
    page("Input.dispatchKeyEvent", type="keyDown", key="Enter", code="Enter", windowsVirtualKeyCode=13, text="\r")
    page("Input.dispatchKeyEvent", type="keyUp", key="Enter", code="Enter", windowsVirtualKeyCode=13)
    page.wait_for("Page.loadEventFired")
    assert page.evaluate("document.querySelector('h1').textContent") == "Prédiagnostic"


def test_the_browser_finds_a_favicon(base):
    """The pages declare an empty icon (`data:,`), so the browser does not ask for /favicon.ico (a 404)."""
    for lang in ("fr", "en"):
        assert '<link rel="icon" href="data:,">' in httpx.get(f"{base}/questionnaire?lang={lang}").text
