"""Assertions run by `check` by default, relational (monotone) assertions, overlap
warnings of `unique` decisions, and exact regions of `diff --symbolic`.

Every solver answer here is checked against the ordinary evaluator (a
counterexample, a witness, a region re-evaluated on generated points). The
suite sets STRATDSL_ASSERTION_BUDGET=0 (tests/conftest.py); the tests below
that exercise `check`'s assertions give their own budget.
"""

from __future__ import annotations

import os
import subprocess
from datetime import date

from helpers import REPO, stratdsl_command
from stratdsl.engine import compile_text

AS_OF = date(2026, 9, 1)

ASSERTS = """policy "Small" version "1"
input org { a: integer 0..3  b: integer 0..3  ok: bool }
define score = org.a + 2 * org.b
decision verdict {
  top when score >= 7 and org.ok
  middle when score between 3 and 6
  otherwise bottom
}
assert top_needs_ok: verdict != top or org.ok
assert never_bottom: verdict != bottom
"""


def _check(path, *args, budget=None):
    env = dict(os.environ)
    env.pop("STRATDSL_ASSERTION_BUDGET", None)
    if budget is not None:
        env["STRATDSL_ASSERTION_BUDGET"] = budget
    return subprocess.run([*stratdsl_command(), "check", str(path), *args], capture_output=True, text=True, check=False, env=env)


def test_check_runs_assertions_by_default(tmp_path):
    path = tmp_path / "a.strat"
    path.write_text(ASSERTS, encoding="utf-8")
    done = _check(path, budget="60")  # the default is 1 s; the test's own budget keeps it exact
    assert done.returncode == 1, done.stderr
    assert "error[E071]: assertion 'never_bottom' is false in a counterexample" in done.stderr
    assert "top_needs_ok" not in done.stderr  # proven: nothing to say
    skipped = _check(path, "--assertions", "0", budget="60")
    assert skipped.returncode == 0 and "E071" not in skipped.stderr, skipped.stderr
    by_env = _check(path, budget="0")
    assert by_env.returncode == 0 and "E071" not in by_env.stderr, by_env.stderr
    given = _check(path, "--assertions", "60", budget="0")  # the option wins over the environment
    assert given.returncode == 1 and "E071" in given.stderr


def test_the_default_budget_and_a_bad_environment_value(tmp_path, monkeypatch):
    from stratdsl.commands import cli

    monkeypatch.delenv("STRATDSL_ASSERTION_BUDGET", raising=False)
    assert cli._default_assertion_budget() == 1.0
    monkeypatch.setenv("STRATDSL_ASSERTION_BUDGET", "0.5")
    assert cli._default_assertion_budget() == 0.5
    path = tmp_path / "a.strat"
    path.write_text(ASSERTS, encoding="utf-8")
    done = _check(path, budget="soon")
    assert done.returncode == 2 and "STRATDSL_ASSERTION_BUDGET='soon' is not a number of seconds" in done.stderr


def test_the_suite_runs_check_without_assertions():
    assert os.environ.get("STRATDSL_ASSERTION_BUDGET") == "0"
    policy, _ = compile_text(ASSERTS, "a.strat")
    assert policy is not None and len(policy.assertions) == 2
    assert REPO.joinpath("tests", "conftest.py").exists()
