"""Assessment, command-line and audit errors said in the user's language (`--lang fr|en`).

Each case runs the real command from the repository root on a bad assessment (or option, or
altered audit log) written to tmp_path, and compares its output with a golden file in both
languages: tests/golden/errors/runtime/NAME.{en,fr}.txt (STRATDSL_REGEN=1 rewrites them).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from helpers import GOLDEN, REPO, compare_golden, stratdsl_command

GOLDEN_RUNTIME = GOLDEN / "errors" / "runtime"
POLICY = "policies/strategy.strat"
CABINET = REPO / "examples" / "cabinet-comptable.yaml"


def _changed(tmp_path: Path, old: str, new: str) -> list[str]:
    """The cabinet example with one line changed: an assessment with one mistake."""
    text = CABINET.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "assessment.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return ["eval", POLICY, str(path)]


def _written(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "assessment.yaml"
    path.write_text(text, encoding="utf-8")
    return ["eval", POLICY, str(path)]


def _altered_log(tmp_path: Path) -> list[str]:
    """An audit log written by `eval --audit-log`, one of its entries then edited by hand."""
    log = tmp_path / "audit.jsonl"
    done = subprocess.run([*stratdsl_command(), "eval", POLICY, str(CABINET), "--as-of", "2026-11-26", "--audit-log", str(log)],
                          capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    assert "Consultant externe" in lines[1]
    lines[1] = lines[1].replace("Consultant externe", "Consultant interne")
    log.write_text("".join(lines), encoding="utf-8")
    return ["audit", "verify", str(log)]


CASES = {
    "text_not_number": lambda tmp: _changed(tmp, "  headcount: 40\n", '  headcount: "40"\n'),
    "enum_not_allowed": lambda tmp: _changed(tmp, "  sector: services\n", "  sector: servics\n"),
    "unknown_field": lambda tmp: _changed(tmp, "  headcount: 40\n", "  headcont: 40\n"),
    "below_minimum": lambda tmp: _changed(tmp, "  headcount: 40\n", "  headcount: -5\n"),
    "key_twice": lambda tmp: _written(tmp, "organization:\n  name: a\n  name: b\n"),
    "bad_as_of": lambda tmp: [*_changed(tmp, "  headcount: 40\n", "  headcount: 40\n"), "--as-of", "2026-13-45"],
    "bad_param": lambda tmp: [*_changed(tmp, "  headcount: 40\n", "  headcount: 40\n"), "--param", "weeks_per_yeer=40"],
    "audit_altered": _altered_log,
}

#: the cases whose message comes from a module translated elsewhere (engine.parse_params)
NOT_OURS = {"bad_param"}


def _run(args: list[str], lang: str, tmp_path: Path) -> str:
    done = subprocess.run([*stratdsl_command(), *args, "--lang", lang], capture_output=True, text=True, cwd=REPO)
    assert done.returncode != 0, done.stdout
    return (done.stdout + done.stderr).replace(str(tmp_path), "TMP")


@pytest.mark.parametrize("name", sorted(CASES))
def test_errors_in_both_languages(name, tmp_path):
    args = CASES[name](tmp_path)
    said = {lang: _run(args, lang, tmp_path) for lang in ("en", "fr")}
    for lang, text in said.items():
        compare_golden(GOLDEN_RUNTIME / f"{name}.{lang}.txt", text)
    english = re.search(r"error\[E\d+\]: (.*)", said["en"])
    french = re.search(r"erreur\[E\d+\] : (.*)", said["fr"])
    assert english and french, said
    if name not in NOT_OURS:
        assert french.group(1) != english.group(1), f"{name}: the French message is the English one"
