"""`stratdsl serve --template-dir DIR --logo FILE --accent #rrggbb --company-name TEXT`.

The pages come from Jinja2 templates (src/stratdsl/commands/templates/); a folder of the
user's replaces any of them, a theme brands them. Checked here: an override (a page
extending the built-in layout, a page replaced whole), the theme in the pages, the company
name escaped (no script gets through), every bad option a coded error at start-up (E620–E625)
through `stratdsl serve`, a template that only fails on some answers a 500 page saying E622
(no traceback), and the app factory's environment variables. Without a theme the pages are
byte for byte those of tests/golden/service (test_service_pages.py).
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from helpers import REPO
from stratdsl.commands import service
from stratdsl.commands.cli import main
from stratdsl.commands.pages import ACCENT, ThemeOptions, check_pages, load_theme
from stratdsl.commands.service import Security, create_app, csrf_token, form_context, result_context, sample_contexts
from stratdsl.engine import require_policy
from stratdsl.language.diagnostics import StratError

POLICY = REPO / "policies" / "strategy.strat"
SECRET = b"0123456789abcdef0123456789abcdef"
COOKIE = "c" * 32
TOKEN = csrf_token(SECRET, COOKIE)
# the smallest PNG: 1×1, transparent
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
STRATDSL = shutil.which("stratdsl")


@pytest.fixture(scope="module")
def policy():
    return require_policy(POLICY)[0]


def client_for(app) -> TestClient:
    client = TestClient(app, base_url="http://127.0.0.1")
    client.cookies.set(service.CSRF_COOKIE, COOKIE)
    return client


def themed(policy, **options) -> TestClient:
    return client_for(create_app(policy, None, security=Security(secret=SECRET), theme=load_theme(ThemeOptions(**options))))


def codes(error: pytest.ExceptionInfo[StratError]) -> list[str]:
    return [d.code for d in error.value.diagnostics]


# ------------------------------------------------------------------ overrides and theme


def test_a_template_folder_overrides_pages_and_reaches_the_built_in_ones(policy, tmp_path):
    (tmp_path / "page.html").write_text(
        '{% extends "stratdsl/page.html" %}{% block footer %}<footer class="house">{{ company_name }} — {{ lang }}</footer>{% endblock %}'
    )
    (tmp_path / "message.html").write_text('<!DOCTYPE html><html lang="{{ lang }}"><title>{{ title }}</title><p class="mine">{{ kind }}: {{ message }}</p></html>')
    client = themed(policy, template_dir=str(tmp_path), company_name="Atelier Dupont")
    form = client.get("/questionnaire?lang=en").text
    assert form.endswith('<footer class="house">Atelier Dupont — en</footer></body></html>')
    assert '<form method="post" action="/questionnaire">' in form and f'name="csrf" value="{TOKEN}"' in form  # the built-in form, in the new layout
    refused = client.post("/questionnaire", data={"lang": "en", "csrf": "0" * 64})
    assert refused.status_code == 403
    assert refused.text.startswith('<!DOCTYPE html><html lang="en"><title>Request refused</title><p class="mine">refused_csrf: This form has expired')


def test_the_theme_brands_every_page(policy, tmp_path):
    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG)
    client = themed(policy, logo=str(logo), accent="#0B6E4F", company_name="  Atelier   Dupont ")
    for page in (client.get("/questionnaire?lang=fr").text, client.post("/questionnaire", data={"lang": "fr", "csrf": "0" * 64}).text):
        brand = f'<header class="brand"><img src="data:image/png;base64,{base64.b64encode(PNG).decode()}" alt="Atelier Dupont"><p class="company">Atelier Dupont</p></header>'
        assert f"<body>{brand}<h1>" in page
        style = re.search(r"<style>(.*)</style>", page, re.S).group(1)
        assert "#0b6e4f" in style and ACCENT not in style
        assert ".brand img{max-height:3rem" in style


def test_only_an_accent_keeps_the_page_but_its_colour(policy):
    plain = themed(policy).get("/questionnaire?lang=fr").text
    green = themed(policy, accent="#0b6e4f").get("/questionnaire?lang=fr").text
    assert green == plain.replace(ACCENT, "#0b6e4f") and green != plain


def test_a_company_name_cannot_inject_markup(policy):
    client = themed(policy, company_name='<script>alert("x")</script>" onload="alert(1)')
    page = client.get("/questionnaire?lang=en").text
    assert "<script>" not in page and 'onload="' not in page
    assert '<p class="company">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&quot; onload=&quot;alert(1)</p>' in page


def test_answers_are_escaped_in_a_users_template_too(policy, tmp_path):
    (tmp_path / "result.html").write_text('{% extends "stratdsl/result.html" %}{% block body %}<ul>{% for r in rows %}<li>{{ r.who }}</li>{% endfor %}</ul>{{ super() }}{% endblock %}')
    client = themed(policy, template_dir=str(tmp_path))
    answers = {"lang": "fr", "csrf": TOKEN, "n.tools": "1", "n.usecases": "1", "organization.name": "Acme", "organization.headcount": "12",
               "usecases.1.name": "<img src=x onerror=alert(1)>", "usecases.1.inputs": "documents_text"}
    page = client.post("/questionnaire", data=answers)
    assert page.status_code == 200
    assert "<li>&lt;img src=x onerror=alert(1)&gt;</li>" in page.text and "<img src=x" not in page.text


# ------------------------------------------------------------------ start-up errors


def test_every_bad_option_is_reported_at_once(tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    big = tmp_path / "big.png"
    big.write_bytes(PNG + b"\0" * 300_000)
    with pytest.raises(StratError) as error:
        load_theme(ThemeOptions(str(tmp_path / "nope"), str(tmp_path / "notes.txt"), "blue", "\x07"))
    assert codes(error) == ["E620", "E623", "E624", "E625"]
    messages = [d.message for d in error.value.diagnostics]
    assert messages[0].endswith("nope' does not exist") and "is not an image" in messages[1] and "'blue' is not a colour #rrggbb" in messages[2]
    for bad in (ThemeOptions(logo=str(big)), ThemeOptions(logo=str(tmp_path / "missing.png")), ThemeOptions(company_name="x" * 101),
                ThemeOptions(company_name="   "), ThemeOptions(accent="#12345"), ThemeOptions(template_dir=str(big))):
        with pytest.raises(StratError):
            load_theme(bad)
    svg = tmp_path / "logo.svg"
    svg.write_text('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>')
    assert load_theme(ThemeOptions(logo=str(svg))).logo.startswith("data:image/svg+xml;base64,")


def test_a_template_that_does_not_compile_is_E621_with_its_line(policy, tmp_path):
    (tmp_path / "page.html").write_text("<html>\n{% block body %}\n{% for x in y %}\n{% endblock %}")
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "unused.html").write_text("{{ oops }")
    (tmp_path / "latin1.html").write_bytes("Société".encode("latin-1"))
    with pytest.raises(StratError) as error:
        check_pages(load_theme(ThemeOptions(template_dir=str(tmp_path))), sample_contexts(policy))
    assert codes(error) == ["E621", "E621", "E621"]
    first, second, third = error.value.diagnostics
    assert "extra/unused.html does not compile" in first.message and first.span.file.endswith("unused.html")
    assert "latin1.html cannot be read" in second.message
    assert "page.html does not compile" in third.message and third.span.line == 4


@pytest.mark.parametrize(
    ("name", "text", "why"),
    [
        ("questionnaire.html", '{% extends "page.html" %}{% block body %}{{ answred }}{% endblock %}', "'answred' is undefined"),
        ("result.html", "{{ rows[0].verdict }}", "has no attribute 'verdict'"),
        ("message.html", '{% extends "layout.html" %}', "layout.html"),
    ],
)
def test_a_page_that_fails_on_the_sample_answers_is_E622_at_start_up(policy, tmp_path, name, text, why):
    (tmp_path / name).write_text(text)
    with pytest.raises(StratError) as error:
        check_pages(load_theme(ThemeOptions(template_dir=str(tmp_path))), sample_contexts(policy))
    assert codes(error) == ["E622"]
    assert name in error.value.diagnostics[0].message and why in error.value.diagnostics[0].message


def test_serve_stops_before_listening_with_coded_errors(tmp_path):
    (tmp_path / "result.html").write_text("{% if %}")
    result = CliRunner().invoke(main, ["serve", str(POLICY), "--template-dir", str(tmp_path), "--accent", "red", "--port", "1", "--lang", "en"])
    assert result.exit_code == 1, result.output
    assert "error[E624]: --accent: 'red' is not a colour #rrggbb" in result.output
    assert "Traceback" not in result.output and "serving" not in result.output
    fixed = CliRunner().invoke(main, ["serve", str(POLICY), "--template-dir", str(tmp_path), "--port", "1", "--lang", "en"])
    assert fixed.exit_code == 1 and "result.html:1:1: error[E621]: the template result.html does not compile" in fixed.output


@pytest.mark.skipif(STRATDSL is None, reason="needs the installed `stratdsl` command")
def test_serve_reports_a_missing_logo_from_the_installed_command(tmp_path):
    proc = subprocess.run([STRATDSL, "serve", str(POLICY), "--logo", str(tmp_path / "logo.png"), "--port", "1", "--lang", "en"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "error[E623]: --logo: cannot read" in proc.stderr and "Traceback" not in proc.stderr


def test_a_page_failing_on_real_answers_is_a_500_page_saying_E622(policy, tmp_path, capfd):
    (tmp_path / "questionnaire.html").write_text('{% extends "stratdsl/questionnaire.html" %}{% block body %}{% if done > 3 %}{{ 1 // 0 }}{% endif %}{{ super() }}{% endblock %}')
    client = themed(policy, template_dir=str(tmp_path))
    assert client.get("/questionnaire?lang=en").status_code == 200  # no answer yet: the page works
    answers = {"lang": "en", "csrf": TOKEN, "refresh": "1", "n.tools": "1", "n.usecases": "1", "organization.name": "Acme",
               "organization.headcount": "12", "usecases.1.name": "Quotes", "usecases.1.inputs": "documents_text", "maturity.skills.owned": "non"}
    page = client.post("/questionnaire", data=answers)
    assert page.status_code == 500
    assert "<h1>Page unavailable</h1><p>This page could not be built: its template has an error (E622)." in page.text
    assert "Traceback" not in page.text and "ZeroDivisionError" not in page.text
    log = capfd.readouterr().err
    assert "error[E622]: the template questionnaire.html failed" in log and "ZeroDivisionError" in log and "questionnaire.html:1" in log


# ------------------------------------------------------------------ the app factory, the samples


def test_the_app_factory_reads_the_theme_from_its_environment(policy, tmp_path, monkeypatch):
    monkeypatch.setenv("STRATDSL_SERVE_POLICY", str(POLICY))
    options = ThemeOptions(None, None, "#aa0000", "Dupont & Fils")
    for key, value in options.to_env().items():
        monkeypatch.setenv(key, value)
    assert ThemeOptions.from_env(options.to_env()) == options
    page = TestClient(service.app_from_env(), base_url="http://127.0.0.1").get("/questionnaire?lang=fr").text
    assert '<p class="company">Dupont &amp; Fils</p>' in page and "h1{color:#aa0000}" in page
    monkeypatch.setenv("STRATDSL_SERVE_ACCENT", "#zz0000")
    with pytest.raises(SystemExit) as stop:
        service.app_from_env()
    assert stop.value.code == 1


def test_the_start_up_samples_have_the_shape_of_real_pages(policy):
    samples = sample_contexts(policy)
    real_form = form_context(policy, "fr", {"usecases": 1, "tools": 1}, {}, {}, None, TOKEN)
    assert all(set(s) == set(real_form) for s in samples["questionnaire.html"])
    from datetime import date

    from stratdsl.engine import run
    from stratdsl.runtime.assessment import validate

    data = {"organization": {"name": "Acme", "headcount": 12}}
    assessment = validate(policy, data, "t")
    result, tracer = run(policy, assessment, date(2026, 11, 26), trace=True)
    real_result = result_context(policy, data, assessment, result, tracer, "fr", TOKEN)
    assert all(set(s) == set(real_result) for s in samples["result.html"])
    decided = [r for r in real_result["rows"] if r["decided"]]
    open_ = [r for r in real_result["rows"] if not r["decided"]]
    sample_rows = samples["result.html"][0]["rows"]
    assert decided and set(decided[0]) == set(sample_rows[0])
    assert not open_ or set(open_[0]) == set(sample_rows[1])
