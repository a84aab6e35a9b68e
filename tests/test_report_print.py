"""The management summary prints on one or two A4 pages, for every shipped example, in French and English.

Headless Chromium prints `stratdsl report --summary-only` (the cover and the summary: the part of
the full report before its first forced page break, with the same style sheet) to PDF, and the
test counts the PDF's pages. Skipped when `chromium` is not on PATH, like tests/test_report_browser.py.
"""

from __future__ import annotations

import re
import shutil

import pytest
from click.testing import CliRunner

from helpers import REPO
from stratdsl.commands.report_cli import report_cmd
from test_report_browser import chromium, console_problems

EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))
pytestmark = pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", data))


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_summary_prints_on_one_or_two_a4_pages(example, lang, tmp_path):
    html = tmp_path / f"{example.stem}.{lang}.html"
    result = CliRunner().invoke(
        report_cmd, [str(REPO / "policies" / "strategy.strat"), str(example), "-o", str(html), "--as-of", "2026-11-26", "--lang", lang, "--summary-only"]
    )
    assert result.exit_code == 0, result.output
    text = html.read_text(encoding="utf-8")
    assert 'id="summary"' in text and 'id="explanations"' not in text and 'id="provenance"' not in text
    pdf = tmp_path / "summary.pdf"
    stderr = chromium(tmp_path, html, "--no-pdf-header-footer", f"--print-to-pdf={pdf}")
    assert console_problems(stderr) == []
    data = pdf.read_bytes()
    assert re.search(rb"/MediaBox\s*\[\s*0 0 59[45]\.\d* 84[12]\.\d*\s*\]", data), "not A4"  # 210 × 297 mm in points
    pages = pdf_pages(data)
    assert 1 <= pages <= 2, f"{example.stem} ({lang}): the summary prints on {pages} pages"
