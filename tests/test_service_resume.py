"""The web diagnostic can be finished over several visits: yes/no radio buttons, one help per group,
a progress indicator, "Complete my answers" reopening the form pre-filled with the questions that
settle the most first, and a saved YAML pasted (or chosen as a file) to continue.

Driven in-process with FastAPI's test client (the HTTP surface is exercised end to end by
test_service.py; the browser flow by test_questionnaire_browser.py)."""

from __future__ import annotations

import base64
import re

import pytest
import yaml
from fastapi.testclient import TestClient

from helpers import REPO
from stratdsl.commands.service import create_app
from stratdsl.engine import require_policy

POLICY = REPO / "policies" / "strategy.strat"


class _FormClient(TestClient):
    """A browser-like client: on a host the service answers for, and every form posted to
    /questionnaire carries the CSRF token of a page it got (docs/service.md)."""

    def post(self, url, *args, data=None, **kwargs):  # type: ignore[override]
        if url == "/questionnaire" and isinstance(data, dict) and "csrf" not in data:
            page = self.get("/questionnaire", params={"lang": data.get("lang", "fr")}).text
            data = {**data, "csrf": re.search(r'<input type="hidden" name="csrf" value="([0-9a-f]{64})">', page).group(1)}
        return super().post(url, *args, data=data, **kwargs)


@pytest.fixture(scope="module")
def client():
    policy, _ = require_policy(POLICY)
    return _FormClient(create_app(policy, None), base_url="http://127.0.0.1")


MATURITY = {
    f"maturity.{d}.{lv}": "non"
    for d in ("data_quality", "processes", "skills", "culture", "governance")
    for lv in ("practiced", "documented", "owned", "measured", "improved")
}


def _first_visit(client) -> str:
    form = {"lang": "fr", "n.tools": "1", "n.usecases": "1", "organization.name": "Acme", "organization.headcount": "12", **MATURITY}
    form.update({"usecases.1.name": "Chiffrage des devis", "usecases.1.inputs": "documents_text"})
    r = client.post("/questionnaire", data=form)
    assert r.status_code == 200, r.text[:500]
    return r.text


def test_yes_no_questions_are_three_radio_buttons_and_help_shows_once(client):
    page = client.get("/questionnaire?lang=fr").text
    name = "maturity.governance.documented"
    radios = re.findall(rf'<input type="radio" name="{re.escape(name)}" value="([^"]*)"[^>]*> ([^<]+)</label>', page)
    assert radios == [("oui", "Oui"), ("non", "Non"), ("", "Je ne sais pas")]
    assert f'<select id="{name.replace(".", "-")}"' not in page
    helps = re.findall(r'<p class="help">([^<]+)</p>', page)
    assert len(helps) == len(set(helps)) or all(helps.count(h) <= 1 + page.count("<fieldset>") for h in helps)
    for fieldset in page.split("<fieldset>")[1:]:
        inside = re.findall(r'<p class="help">([^<]+)</p>', fieldset.split("</fieldset>")[0])
        assert len(inside) == len(set(inside)), inside  # one help text per group, not under every question
    assert re.search(r'<progress id="progress" max="\d+" value="0">', page)


def test_complete_my_answers_reopens_the_form_prefilled_with_next_questions_first(client):
    result = _first_visit(client)
    assert "<td>Chiffrage des devis</td>" in result  # names, not slugs
    assert "chiffrage-des-devis —" not in result
    saved = re.search(r'<input type="hidden" name="resume" value="([^"]+)">', result)
    assert saved and "Compléter mes réponses" in result
    import html

    second = client.post("/questionnaire", data={"lang": "fr", "resume": html.unescape(saved.group(1))})
    assert second.status_code == 200
    page = second.text
    assert 'value="Acme"' in page and 'value="Chiffrage des devis"' in page and 'value="12"' in page
    done = re.search(r'<progress id="progress" max="(\d+)" value="(\d+)">', page)
    assert done and int(done.group(2)) >= 29  # the 25 maturity answers, the company and the use case
    first = re.search(r'<div class="next-up"><h2>À compléter en priorité</h2><ol>(.*?)</ol>', page)
    assert first, page[:2000]
    links = re.findall(r'<li><a href="#q-([^"]+)">([^<]+)</a></li>', first.group(1))
    assert links and all(f'id="q-{target}"' in page for target, _ in links)
    assert all(f'class="question next" id="q-{target}"' in page for target, _ in links)
    assert any(text.startswith("Chiffrage des devis — ") for _, text in links)


def test_a_downloaded_yaml_continues_the_diagnostic_and_a_bad_one_says_why(client):
    result = _first_visit(client)
    encoded = re.search(r"data:application/x-yaml;base64,([^\"]+)", result).group(1)
    text = base64.b64decode(encoded).decode()
    data = yaml.safe_load(text)
    assert data["usecases"][0]["name"] == "Chiffrage des devis"
    again = client.post("/questionnaire", data={"lang": "en", "resume": text})
    assert again.status_code == 200 and 'value="Chiffrage des devis"' in again.text
    assert "Continue from a saved assessment (YAML)" in again.text
    bad = client.post("/questionnaire", data={"lang": "en", "resume": "organization: [1, 2"})
    assert bad.status_code == 422 and "This file cannot be read as an assessment" in bad.text
    # finishing: the resumed answers plus the rest give the pre-diagnosis as a fresh form would
    finish = {"lang": "fr", "n.tools": "1", "n.usecases": "1", "organization.name": "Acme", "organization.headcount": "12",
              "usecases.1.name": "Chiffrage des devis", "usecases.1.inputs": "documents_text"}
    finish.update(MATURITY)
    done = client.post("/questionnaire", data=finish)
    assert done.status_code == 200 and "<h1>Prédiagnostic</h1>" in done.text
