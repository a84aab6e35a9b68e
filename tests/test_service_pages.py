"""The web questionnaire's pages, byte for byte: goldens in tests/golden/service/.

Every HTML page the service sends — the form (French, English, with an added block, with
errors, resumed from a saved YAML, a YAML that cannot be read), the pre-diagnosis, and the
refusals (host, CSRF, body too large, busy) — is fetched in-process with a fixed CSRF secret
and cookie, a fixed date and a stand-in for the embedded report (the report has goldens of
its own, tests/test_report.py), and compared with its golden. `STRATDSL_REGEN=1` rewrites
them; read the diff before committing it.
"""

from __future__ import annotations

import threading
from datetime import date

import pytest
from fastapi.testclient import TestClient

from helpers import GOLDEN, REGEN, REPO
from stratdsl.commands import service
from stratdsl.commands.service import Security, create_app, csrf_token
from stratdsl.engine import require_policy

POLICY = REPO / "policies" / "strategy.strat"
SECRET = b"0123456789abcdef0123456789abcdef"
COOKIE = "c" * 32
TOKEN = csrf_token(SECRET, COOKIE)
PAGES = GOLDEN / "service"


class _Today(date):
    @classmethod
    def today(cls) -> date:  # type: ignore[override]
        return date(2026, 11, 26)


@pytest.fixture(scope="module")
def policy():
    return require_policy(POLICY)[0]


@pytest.fixture()
def fixed(monkeypatch):
    monkeypatch.setattr(service, "date", _Today)
    monkeypatch.setattr(service, "_report_html", lambda *args: '<!DOCTYPE html><p class="report">rapport — "l\'étude" & <b>x</b></p>')


def client_for(app, host: str = "127.0.0.1") -> TestClient:
    client = TestClient(app, base_url=f"http://{host}")
    client.cookies.set(service.CSRF_COOKIE, COOKIE)
    return client


@pytest.fixture()
def client(policy, fixed):
    return client_for(create_app(policy, None, security=Security(secret=SECRET)))


def check_golden(name: str, text: str) -> None:
    path = PAGES / f"{name}.html"
    if REGEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"no golden {path}: run with STRATDSL_REGEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{name}: the page differs from {path}"


MATURITY = {
    f"maturity.{d}.{lv}": "non"
    for d in ("data_quality", "processes", "skills", "culture", "governance")
    for lv in ("practiced", "documented", "owned", "measured", "improved")
}
# quotes, ampersands and angle brackets: the escaping is part of the bytes
NAME = 'Acme & "Fils" <l\'atelier>'
ANSWERS = {
    "lang": "fr", "csrf": TOKEN, "n.tools": "1", "n.usecases": "1", "organization.name": NAME, "organization.headcount": "12",
    **MATURITY, "usecases.1.name": "Chiffrage des devis <b>", "usecases.1.inputs": "documents_text",
}


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_empty_form(client, lang):
    page = client.get(f"/questionnaire?lang={lang}")
    assert page.status_code == 200
    check_golden(f"form-{lang}", page.text)


def test_an_added_block_and_errors(client):
    added = client.post("/questionnaire", data={**ANSWERS, "add": "usecases"})
    assert added.status_code == 200
    check_golden("form-added", added.text)
    wrong = client.post("/questionnaire", data={**ANSWERS, "lang": "en", "organization.headcount": "douze", "usecases.1.inputs": ["[]", "documents_text"]})
    assert wrong.status_code == 422
    check_golden("form-errors", wrong.text)


def test_the_pre_diagnosis_and_the_resumed_form(client):
    result = client.post("/questionnaire", data=ANSWERS)
    assert result.status_code == 200
    check_golden("result-fr", result.text)
    english = client.post("/questionnaire", data={**ANSWERS, "lang": "en"})
    check_golden("result-en", english.text)
    import html
    import re

    saved = html.unescape(re.search(r'<input type="hidden" name="resume" value="([^"]+)">', result.text).group(1))
    resumed = client.post("/questionnaire", data={"lang": "fr", "csrf": TOKEN, "resume": saved})
    assert resumed.status_code == 200
    check_golden("form-resumed", resumed.text)
    bad = client.post("/questionnaire", data={"lang": "en", "csrf": TOKEN, "resume": "organization: [1, 2"})
    assert bad.status_code == 422
    check_golden("form-bad-yaml", bad.text)


def test_the_refusals(policy, fixed):
    app = create_app(policy, None, max_body=2000, security=Security(secret=SECRET, max_evaluations=1))
    client = client_for(app)
    host = client_for(app, "evil.example").get("/questionnaire", headers={"accept-language": "en-GB"})
    assert host.status_code == 421
    check_golden("refused-host", host.text)
    csrf = client.post("/questionnaire", data={**ANSWERS, "csrf": "0" * 64})
    assert csrf.status_code == 403
    check_golden("refused-csrf", csrf.text)
    large = client.post("/questionnaire", data={**ANSWERS, "organization.name": "x" * 3000})
    assert large.status_code == 413
    check_golden("too-large-fr", large.text)


def test_the_busy_page(policy, fixed, monkeypatch):
    app = create_app(policy, None, security=Security(secret=SECRET, max_evaluations=1))
    entered, release = threading.Event(), threading.Event()
    validate = service.validate

    def slow(*args, **kwargs):
        entered.set()
        release.wait(30)
        return validate(*args, **kwargs)

    monkeypatch.setattr(service, "validate", slow)
    first = threading.Thread(target=lambda: client_for(app).post("/questionnaire", data=ANSWERS))
    first.start()
    try:
        assert entered.wait(30)
        busy = client_for(app).post("/questionnaire", data=ANSWERS, headers={"accept-language": "en"})
    finally:
        release.set()
        first.join(30)
    assert busy.status_code == 503 and busy.headers["retry-after"] == "2"
    check_golden("busy-en", busy.text)
