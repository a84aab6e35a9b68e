"""Errors of the parser, the loader, the analyses and the engine, in French and in English.

Each case writes a small policy to a temporary folder and runs the real command with
`--lang fr` and `--lang en`; the output is compared with tests/golden/errors/language/
(STRATDSL_REGEN=1 rewrites the files).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from helpers import GOLDEN, compare_golden, stratdsl_command

GOLDEN_ERRORS = GOLDEN / "errors" / "language"

HEADER = 'policy "p" version "1"\ninput usecases: many usecase { impact: number 0..5  flag: bool }\n'
SCORES = 'policy "p" version "1"\ninput usecases: many usecase { impact: number 0..5 }\n'
PARAM = SCORES + "param threshold: number = 3\ndecision d for each usecase {\n  high when impact > threshold\n  otherwise low\n}\n"

CASES = {
    "misspelt_keyword": (HEADER + "decision d for each usecase {\n  yes whan flag\n}\n", ["check"]),
    "expected_number": ('policy "p" version "1"\ninput usecases: many usecase { impact: number 0..high }\n', ["check"]),
    "file_ends_early": (HEADER + "decision d for each usecase {\n  yes when flag\n", ["check"]),
    "single_quotes": (HEADER + "decision d for each usecase {\n  yes when impact = 'a'\n  otherwise no\n}\n", ["check"]),
    "invalid_date": (HEADER + "decision d for each usecase {\n  yes when flag from 2026-02-30\n  otherwise no\n}\n", ["check"]),
    "number_refused": (HEADER + "decision d for each usecase {\n  yes when flag and impact > 12345678901234567890123456789.5\n  otherwise no\n}\n", ["check"]),
    "gap_and_dead_rule": (
        SCORES + "decision d for each usecase {\n  low when impact < 2\n  high when impact > 2\n  middle when impact between 1 and 1.5\n}\n",
        ["check"],
    ),
    "imports": (HEADER + 'import "missing.strat"\nimport "../outside.strat"\ndecision d for each usecase {\n  yes when flag\n  otherwise no\n}\n', ["check"]),
    "unknown_parameter": (PARAM, ["eval", "{policy}", "a.yaml", "--param", "thresold=4"]),
    "unreasonable_parameter": (PARAM, ["eval", "{policy}", "a.yaml", "--param", "threshold=1e30"]),
    "unknown_decision": (PARAM, ["explain", "{policy}", "a.yaml", "dd"]),
}


def _run(tmp_path: Path, name: str, lang: str) -> str:
    text, args = CASES[name]
    policy = tmp_path / f"{name}.strat"
    policy.write_text(text, encoding="utf-8")
    (tmp_path / "a.yaml").write_text("usecases: []\n", encoding="utf-8")
    args = [arg.format(policy=policy.name) for arg in args]
    if args == ["check"]:
        args = ["check", policy.name]
    done = subprocess.run(
        [*stratdsl_command(), *args, "--lang", lang], capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "NO_COLOR": "1"}
    )
    assert done.returncode != 0, done.stdout + done.stderr
    return (done.stdout + done.stderr).replace(str(tmp_path), "TMP")


def _messages(output: str) -> list[str]:
    """What follows `error[CODE]:` / `erreur[CODE] :` on each diagnostic line."""
    return re.findall(r"\[[EW]\d+\] ?: (.*)", output)


@pytest.mark.parametrize("name", sorted(CASES))
def test_errors_in_both_languages(tmp_path, name):
    GOLDEN_ERRORS.mkdir(parents=True, exist_ok=True)
    english, french = _run(tmp_path, name, "en"), _run(tmp_path, name, "fr")
    compare_golden(GOLDEN_ERRORS / f"{name}.en.txt", english)
    compare_golden(GOLDEN_ERRORS / f"{name}.fr.txt", french)
    said_in_english, said_in_french = _messages(english), _messages(french)
    assert said_in_english and len(said_in_english) == len(said_in_french)
    for en, fr in zip(said_in_english, said_in_french, strict=True):
        assert en != fr, f"not translated: {en}"


def test_back_end_errors_in_both_languages():
    """Errors no small command reaches easily: rendered from the diagnostics the back ends build."""
    from stratdsl.backends.compiler import division_by_zero
    from stratdsl.backends.smt import Untranslatable
    from stratdsl.backends.sql import unsupported
    from stratdsl.language.messages import N_, Msg
    from stratdsl.render.diagnostics import render_text

    diagnostics = [
        division_by_zero(None, "usecases[ocr]"),
        *unsupported(Msg(N_("round() to {places} places"), places=3)).diagnostics,
        *Untranslatable(Msg(N_("the function {name}()"), name="days_between")).diagnostics,
    ]
    for lang in ("en", "fr"):
        compare_golden(GOLDEN_ERRORS / f"back_ends.{lang}.txt", render_text(diagnostics, None, lang) + "\n")
    english, french = render_text(diagnostics, None, "en"), render_text(diagnostics, None, "fr")
    for en, fr in zip(_messages(english), _messages(french), strict=True):
        assert en != fr, f"not translated: {en}"
