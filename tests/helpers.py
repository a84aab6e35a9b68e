"""Shared helpers for the stratdsl test suite (imported by the test modules).

Everything here goes through the public stage functions (`engine`, `loader`,
`assessment`), never through the CLI, so that the stage tests stay fast; the
CLI itself is exercised end to end in test_cli.py.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import sys
import textwrap
from datetime import date
from pathlib import Path
from typing import Any

from stratdsl.engine import compile_policy, compile_text, run
from stratdsl.language import ast, ir
from stratdsl.language.diagnostics import Diagnostic, StratError
from stratdsl.language.loader import load_text
from stratdsl.runtime.assessment import Assessment, parse_data, validate
from stratdsl.runtime.evaluator import evaluate as reference_evaluate
from stratdsl.runtime.result import Result

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures"
GOLDEN = TESTS / "golden"
REPO = TESTS.parent
GRAMMAR = REPO / "grammar" / "stratdsl.lark"

#: `STRATDSL_REGEN=1 pytest …` rewrites golden files instead of comparing with them.
REGEN = os.environ.get("STRATDSL_REGEN") == "1"

AS_OF = date(2026, 9, 1)


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


# ------------------------------------------------------------------ policies


@functools.cache
def fixture_policy(name: str) -> ir.CheckedPolicy:
    """A checked policy from tests/fixtures; it must have no errors."""
    policy, diagnostics = compile_policy(FIXTURES / name)
    errors = [d for d in diagnostics if d.is_error]
    assert policy is not None and not errors, f"fixture {name} does not check: {errors}"
    return policy


def compile_src(text: str, name: str = "t.strat") -> tuple[ir.CheckedPolicy | None, list[Diagnostic]]:
    return compile_text(dedent(text), name)


def checked(text: str, name: str = "t.strat") -> ir.CheckedPolicy:
    policy, diagnostics = compile_src(text, name)
    assert policy is not None, [(d.code, d.message) for d in diagnostics]
    return policy


def errors_of(text: str, name: str = "t.strat") -> list[Diagnostic]:
    policy, diagnostics = compile_src(text, name)
    assert policy is None, "expected the policy to be rejected"
    return diagnostics


def codes(diagnostics: list[Diagnostic]) -> list[str]:
    return [d.code for d in diagnostics]


def lower_src(text: str, name: str = "t.strat") -> ast.Module:
    """Parse and lower one in-memory policy (no checking)."""
    return load_text(dedent(text), name).modules[0]


def expr_of(source: str) -> ast.Expr:
    """The AST of one expression, written as the body of a definition."""
    module = lower_src(f'policy "p" version "1"\ndefine x = {source}\n')
    (decl,) = module.decls
    assert isinstance(decl, ast.DefineDecl)
    return decl.expr


def stage_error(func, *args, **kwargs) -> list[Diagnostic]:
    """Call a stage that should fail; return its diagnostics."""
    try:
        func(*args, **kwargs)
    except StratError as error:
        return error.diagnostics
    raise AssertionError("expected a StratError")


# ------------------------------------------------------------------ assessments and results


def assess(policy: ir.CheckedPolicy, yaml_text: str, name: str = "a.yaml") -> Assessment:
    data, spans = parse_data(dedent(yaml_text), name)
    return validate(policy, data, name, spans)


def evaluate(policy: ir.CheckedPolicy, yaml_text: str, as_of: date = AS_OF, params: dict[str, Any] | None = None) -> Result:
    """Evaluate with the engine (compiled when no trace is asked) and check that the
    reference tree-walking evaluator gives exactly the same result."""
    facts = assess(policy, yaml_text)
    result, _ = run(policy, facts, as_of, params)
    reference = reference_evaluate(policy, facts, as_of, params)
    assert result == reference, "the engine and the reference evaluator disagree"
    return result


def no_spans(value: Any) -> Any:
    """A span-free structural copy of an AST value, for readable failure diffs."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, *(no_spans(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "span"))
    if isinstance(value, (tuple, list)):
        return tuple(no_spans(v) for v in value)
    return value


# ------------------------------------------------------------------ CLI and golden files


def stratdsl_command() -> list[str]:
    """The installed console script, or the module when it is not on PATH."""
    found = shutil.which("stratdsl")
    return [found] if found else [sys.executable, "-m", "stratdsl"]


def compare_golden(path: Path, actual: str) -> None:
    """Compare with a golden file, or rewrite it when STRATDSL_REGEN=1."""
    if REGEN:
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"missing golden file {path.name}: run STRATDSL_REGEN=1 pytest {path.parent}"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"output differs from {path.relative_to(TESTS)} (STRATDSL_REGEN=1 rewrites it)"
