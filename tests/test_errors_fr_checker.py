"""The checker's errors and warnings in French and in English, through `stratdsl check --lang`.

Each case is a small bad policy written into tmp_path; what `stratdsl check` prints (the tmp
folder shown as TMP) must equal tests/golden/errors/checker/NAME.LANG.txt
(`STRATDSL_REGEN=1` rewrites them).
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from helpers import GOLDEN, compare_golden, dedent, stratdsl_command

GOLDEN_CHECKER = GOLDEN / "errors" / "checker"

CASES = {
    "unknown_names": """
        policy "Many" version "1"
        source law "Law"
        enum purpose { recruitment other }
        input usecases: many usecase {
          impact: number 0..5
          purpose: purpose
        }
        define score for each usecase label en "Score" = impct * 2 + bonus
        decision quadrant for each usecase {
          quick_win when score >= 3 cites lawz "Art. 1"
          high when purpose = recrutment
          low when unknown_fn(impact) > 2
          otherwise avoid
        }
        decision other for each widget {
          a when true
          otherwise b
        }
    """,
    "types": """
        policy "Types" version "1"
        enum purpose { recruitment other }
        input usecases: many usecase {
          impact: number 0..5
          name: text
          purpose: purpose
        }
        decision d for each usecase {
          a when impact = "high"
          b when impact and name
          c when impact < name
          e when -name > 1
          otherwise f
        }
        define s for each usecase label en "S" = if impact > 1 then 1 else "x"
    """,
    "scope": """
        policy "Scope" version "1"
        input organization { headcount: integer 0..1000 }
        input usecases: many usecase { impact: number 0..5 }
        param p: integer = 2.5
        define per for each usecase label en "Per" = impact
        define uses_per label en "Uses" = per * 2
        define org label en "Org" = organization
        define t label en "T" = round(organization.headcount, 1.5)
        define v label en "V" = id + p
    """,
    "bands": """
        policy "Bands" version "1"
        input usecases: many usecase { impact: number 0..5 }
        bands level for each usecase on impact {
          low from 0 to 2
          mid from 2.5 below 3.5
          wide from 3 below 4
          high from 4 to 5
        }
    """,
    "cycle_and_outcomes": """
        policy "Cycles" version "1"
        input usecases: many usecase { impact: number 0..5 }
        define me for each usecase = me + 1
        decision quadrant for each usecase {
          outcome quick_win
          outcome avoid
          quick_win when impact >= 3
          quik_win when impact >= 2
          otherwise maybe
        }
    """,
    "duplicates": """
        policy "Dups" version "1"
        source law "Law"
        source law "Law, again"
        input usecases: many usecase {
          impact: number 0..5
          impact: bool
        }
        define id = 2
        decision d for each usecase {
          rule r: yes when impact > 1
          rule r: yes when impact > 2
          otherwise no
        }
    """,
    "ask_when": """
        policy "Ask" version "1"
        input usecases: many usecase {
          impact: number 0..5 ask when face
          face: bool
          size: number 0..5 ask when impact
        }
        define s for each usecase label en "S" = impact + size
    """,
    "monotone": """
        policy "Mono" version "1"
        input org { a: number 0..5  note: text }
        define label_text label en "L" = org.note
        define score label en "S" = org.a
        assert m1: monotone label_text in org
        assert m2: monotone scor in org
        assert m3: monotone score in org.note
    """,
    "unused": """
        policy "Unused" version "1"
        input organization { name: text  headcount: integer 0..1000 }
        input usecases: many usecase {
          impact: number 0..5
          effort: number 0..5
        }
        param rate: number = 45
        define helper for each usecase = effort * 2
        define shown for each usecase label en "Shown" = impact * 2
    """,
    "hidden_text": """
        policy "Hidden" version "1"
        input usecases: many usecase { impact: number 0..5 }
        # a comment with a hidden \u202e override
        define shown for each usecase label en "Shown" = impact * 2
    """,
}


def check(tmp_path, name: str, lang: str) -> str:
    """What `stratdsl check NAME.strat --lang LANG` prints (stderr, then stdout), run from the
    tmp folder (shown as TMP if it appears)."""
    (tmp_path / f"{name}.strat").write_text(dedent(CASES[name]), encoding="utf-8")
    done = subprocess.run(
        [*stratdsl_command(), "check", f"{name}.strat", "--lang", lang], capture_output=True, text=True, cwd=tmp_path, env=os.environ
    )
    assert "Traceback" not in done.stderr
    return (done.stderr + done.stdout).replace(str(tmp_path), "TMP")


def messages(out: str, colon: str) -> list[str]:
    """The message of each diagnostic: what follows `error[E012]: `."""
    return [line.split("]" + colon, 1)[1] for line in out.splitlines() if re.search(r"\[[EW]\d+\]", line)]


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_in_both_languages(tmp_path, name, lang):
    out = check(tmp_path, name, lang)
    GOLDEN_CHECKER.mkdir(parents=True, exist_ok=True)
    compare_golden(GOLDEN_CHECKER / f"{name}.{lang}.txt", out)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_french_messages_are_translated(tmp_path, name):
    english = messages(check(tmp_path, name, "en"), ": ")
    french = messages(check(tmp_path, name, "fr"), " : ")
    assert english and len(french) == len(english)
    for en, fr in zip(english, french, strict=True):
        assert fr != en
