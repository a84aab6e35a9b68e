"""The HTML report's templates and theme: user templates override the packaged ones by name,
a broken user template is a located error (E611, never a traceback), and the theme options
(--logo, --accent, --company-name, --template-dir) are checked before any work (E610, E612–E617)."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import struct
import zlib
from datetime import date

import pytest
from click.testing import CliRunner

from helpers import REPO
from stratdsl.commands.report_cli import report_cmd
from stratdsl.language.diagnostics import StratError
from stratdsl.report import Theme, make_report, render_html
from stratdsl.report.html import TEMPLATES
from stratdsl.report.theme import LOGO_MAX, contrast_on_white, logo_kind

POLICY = "tests/golden/report/policies/strategy.strat"
CABINET = "tests/golden/report/cabinet-comptable.yaml"
AS_OF = date(2026, 11, 26)


@pytest.fixture(scope="module")
def report():
    old = os.getcwd()
    os.chdir(REPO)
    try:
        return make_report(POLICY, CABINET, AS_OF, "en")
    finally:
        os.chdir(old)


def png_bytes() -> bytes:
    """A real 1×1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(b"\x00\x1d\x4f\x91")) + chunk(b"IEND", b"")


def run(tmp_path, *extra: str):
    out = tmp_path / "r.html"
    return CliRunner().invoke(report_cmd, [str(REPO / POLICY), str(REPO / CABINET), "-o", str(out), "--as-of", "2026-11-26", "--lang", "en", *extra]), out


def style_of(html: str) -> str:
    return html.split("<style>", 1)[1].split("</style>", 1)[0]


# ------------------------------------------------------------------ templates


def test_every_template_the_page_uses_is_packaged():
    names = {p.name for p in TEMPLATES.iterdir()}
    assert {"report.html.j2", "style.css.j2", "_macros.html.j2", "cover.html.j2", "summary.html.j2", "provenance.html.j2"} <= names
    # docs/reports.md documents every one of them
    docs = (REPO / "docs" / "reports.md").read_text(encoding="utf-8")
    assert [n for n in sorted(names) if f"`{n}`" not in docs] == []


def test_a_user_template_replaces_the_packaged_one_of_its_name(report, tmp_path):
    packaged = (TEMPLATES / "cover.html.j2").read_text(encoding="utf-8")
    (tmp_path / "cover.html.j2").write_text(packaged.replace("<header class=\"cover\">", '<header class="cover"><p id="mine">{{ report.company }} &amp; co</p>'), encoding="utf-8")
    default = render_html(report)
    mine = render_html(report, tmp_path)
    assert '<p id="mine">Cabinet Durand &amp; Associés &amp; co</p>' in mine and 'id="mine"' not in default
    # the other templates are still the packaged ones
    assert mine.split("<main>", 1)[1] == default.split("<main>", 1)[1]


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("<p>\n{% if %}\n", 2, "syntax error"),
        ("<p>\n\n{{ report.no_such_field }}\n", 3, "no attribute 'no_such_field'"),
        ("<p>{{ 1 // 0 }}\n", 1, "division"),
        ("<p>\n{{ report.__class__.__mro__ }}\n", 2, "unsafe"),  # sandboxed: no way to Python's internals
        ("{% include 'nowhere.html.j2' %}\n", 1, "nowhere.html.j2"),
    ],
)
def test_a_broken_user_template_is_E611_at_its_file_and_line(report, tmp_path, body, line, words):
    (tmp_path / "summary.html.j2").write_text(body, encoding="utf-8")
    with pytest.raises(StratError) as caught:
        render_html(report, tmp_path)
    (d,) = caught.value.diagnostics
    assert d.code == "E611" and words in d.message
    assert d.span.file == str(tmp_path / "summary.html.j2") and d.span.line == line


def test_cli_template_error_exits_1_without_traceback(tmp_path):
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "summary.html.j2").write_text("<section>\n{{ nothing_here }}\n</section>\n", encoding="utf-8")
    result, out = run(tmp_path, "--template-dir", str(folder))
    assert result.exit_code == 1, result.output
    assert f"{folder / 'summary.html.j2'}:2:1: error[E611]" in result.stderr and "'nothing_here' is undefined" in result.stderr
    assert "Traceback" not in result.output and not out.exists()


# ------------------------------------------------------------------ theme


def test_theme_logo_accent_and_name_are_in_the_page_and_the_csp_still_holds(report):
    logo = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    html = render_html(report, theme=Theme(accent="#7a1712", logo=logo, company_name="Dupont <&> Conseil"))
    assert f'<img class="logo" src="{logo}" alt="Dupont &lt;&amp;&gt; Conseil">' in html
    assert '<span class="issuer">Dupont &lt;&amp;&gt; Conseil</span>' in html
    style = style_of(html)
    assert "h2 { font-size: 14pt; color: #7a1712;" in style and "#1d4f91; margin" not in style
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src &#x27;sha256-{digest}&#x27;" in html and "img-src data:" in html
    assert 'class="brand"' not in render_html(report)


def test_cli_theme_end_to_end(tmp_path):
    (tmp_path / "logo.svg").write_text('<?xml version="1.0"?>\n<!-- ours -->\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', encoding="utf-8")
    result, out = run(tmp_path, "--logo", str(tmp_path / "logo.svg"), "--accent", "#176B32", "--company-name", "  Cabinet   Dupont ")
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert 'src="data:image/svg+xml;base64,' in html and '<span class="issuer">Cabinet Dupont</span>' in html
    assert "color: #176b32;" in style_of(html)


@pytest.mark.parametrize(
    ("option", "value", "code", "exit_code"),
    [
        ("--accent", "red", "E615", 2),
        ("--accent", "#12345", "E615", 2),
        ("--accent", "#ffcc00", "E616", 2),  # unreadable on white
        ("--logo", "missing.png", "E612", 2),
        ("--logo", "not-an-image.png", "E613", 1),
        ("--logo", "huge.png", "E614", 1),
        ("--company-name", "   ", "E617", 2),
        ("--company-name", "x" * 81, "E617", 2),
        ("--company-name", "a\u202eb", "E617", 2),  # a bidi override would reorder the header
        ("--template-dir", "missing-dir", "E610", 2),
        ("--template-dir", "not-an-image.png", "E610", 2),
    ],
)
def test_bad_theme_options_are_coded_errors_before_any_work(tmp_path, option, value, code, exit_code):
    (tmp_path / "not-an-image.png").write_text("hello", encoding="utf-8")
    (tmp_path / "huge.png").write_bytes(png_bytes() + b"\0" * LOGO_MAX)
    if option in ("--logo", "--template-dir"):
        value = str(tmp_path / value)
    result, out = run(tmp_path, option, value)
    assert result.exit_code == exit_code, result.output
    assert f"error[{code}]" in result.stderr and "Traceback" not in result.output and not out.exists()


def test_logo_kind_reads_bytes_not_names():
    assert logo_kind(png_bytes()) == "image/png"
    assert logo_kind(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert logo_kind(b'\xef\xbb\xbf<?xml version="1.0"?><!DOCTYPE svg><svg/>') == "image/svg+xml"
    assert logo_kind(b"<html><svg/></html>") is None and logo_kind(b"GIF89a") is None and logo_kind(b"\xff\xfe") is None


def test_contrast_is_wcag():
    assert round(contrast_on_white("#000000"), 1) == 21.0 and round(contrast_on_white("#ffffff"), 1) == 1.0
    assert contrast_on_white("#1d4f91") > 4.5  # the default accent passes its own rule


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600)])
def test_html_report_permissions_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        result, out = run(tmp_path)
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert out.stat().st_mode & 0o777 == mode
    assert re.search(r"<html lang=\"en\">", out.read_text(encoding="utf-8"))
