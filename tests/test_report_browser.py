"""The HTML report in a real browser: headless Chromium renders each example's report to PNG and PDF.

Skipped when `chromium` is not on PATH (Debian: `apt-get install chromium`).
Chromium runs with no network, no sync, no component updates, in a
throwaway profile; its console goes to stderr (--enable-logging=stderr), and
the test fails on any console message at all — an uncaught error, a
console.error, or a Content-Security-Policy violation (which is how a report
that tried to fetch something would show up). Recent Chromium logs console
errors as INFO:CONSOLE, so the test looks for every ":CONSOLE" line, and for
"Uncaught" and "ERROR:CONSOLE" as older versions write them.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from helpers import REPO
from stratdsl.report import make_report, render_html

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")

EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))
POLICY = REPO / "policies" / "strategy.strat"
AS_OF = date(2026, 11, 26)
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
    "--enable-logging=stderr",
    "--v=0",
]


def chromium(tmp_path: Path, html: Path, *action: str) -> str:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    done = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *action, html.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stderr


def console_problems(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line or "ERROR:CONSOLE" in line]


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_report_renders_in_chromium(example, lang, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    html = tmp_path / f"{example.stem}.{lang}.html"
    html.write_text(render_html(make_report(POLICY, example, AS_OF, lang)), encoding="utf-8")

    png = tmp_path / "page.png"
    stderr = chromium(tmp_path, html, "--window-size=1240,1754", "--hide-scrollbars", f"--screenshot={png}")
    assert console_problems(stderr) == []
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000

    pdf = tmp_path / "report.pdf"
    stderr = chromium(tmp_path, html, "--no-pdf-header-footer", f"--print-to-pdf={pdf}")
    assert console_problems(stderr) == []
    data = pdf.read_bytes()
    assert data[:5] == b"%PDF-" and len(data) > 20_000


def test_console_check_catches_errors(tmp_path):
    """The check above would see a script error and a blocked fetch (so its silence means something)."""
    html = tmp_path / "broken.html"
    html.write_text(
        '<!DOCTYPE html><html lang="en"><head><meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "script-src 'unsafe-inline'\"><title>x</title></head><body><img src=\"https://example.invalid/x.png\" alt=\"\">"
        "<script>undefinedFunction();</script></body></html>",
        encoding="utf-8",
    )
    stderr = chromium(tmp_path, html, f"--screenshot={tmp_path / 'x.png'}")
    problems = console_problems(stderr)
    assert any("Uncaught" in line for line in problems)
    assert any("Content Security Policy" in line for line in problems)
