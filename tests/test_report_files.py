"""A written report is an ordinary file: the user's umask decides its permissions (0644 by default),
and its language defaults like every command's (the policy's first language)."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from helpers import REPO
from stratdsl.commands.report_cli import report_cmd

POLICY = REPO / "policies" / "strategy.strat"
CABINET = REPO / "examples" / "cabinet-comptable.yaml"


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_report_permissions_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        result = CliRunner().invoke(report_cmd, [str(POLICY), str(CABINET), "-o", str(tmp_path / "r.md"), "--as-of", "2026-11-26"])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r.md").stat().st_mode & 0o777 == mode


def test_report_language_defaults_to_the_policys_first(tmp_path):
    result = CliRunner().invoke(report_cmd, [str(POLICY), str(CABINET), "-o", "-", "--format", "markdown", "--as-of", "2026-11-26"])
    assert result.exit_code == 0 and result.stdout.startswith("# Diagnostic IA — ")


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("fr", "stratdsl: rapport écrit dans {out} (markdown, fr, au 2026-11-26)"),
        ("en", "stratdsl: report written to {out} (markdown, en, as of 2026-11-26)"),
    ],
)
def test_report_says_where_it_wrote_in_the_report_language(tmp_path, lang, said):
    out = tmp_path / "r.md"
    result = CliRunner().invoke(report_cmd, [str(POLICY), str(CABINET), "-o", str(out), "--as-of", "2026-11-26", "--lang", lang])
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == said.format(out=out)
