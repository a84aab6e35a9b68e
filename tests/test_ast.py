"""Stage 2: the AST (ast.py). Equality ignores spans, so layout and comments do not matter."""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal

import pytest

from helpers import FIXTURES, lower_src
from stratdsl.language import ast
from stratdsl.language.loader import load_policy, load_text
from stratdsl.language.source import Span


def module(name: str) -> ast.Module:
    return load_policy(FIXTURES / name).modules[0]


def test_same_policy_with_another_layout_and_comments_is_equal():
    a, b = module("layout_a.strat"), module("layout_b.strat")
    assert a.header == b.header
    assert a.imports == b.imports
    assert a.decls == b.decls
    for x, y in zip(a.decls, b.decls):
        assert x == y
        assert hash(x) == hash(y)


def test_spans_differ_but_do_not_take_part_in_equality():
    a, b = module("layout_a.strat"), module("layout_b.strat")
    spans_a = [d.span for d in a.decls]
    spans_b = [d.span for d in b.decls]
    assert spans_a != spans_b
    assert a.file != b.file
    assert a.decls == b.decls


def test_a_real_change_is_not_equal():
    a = module("layout_a.strat")
    text = (FIXTURES / "layout_a.strat").read_text(encoding="utf-8")
    for old, new in [
        ("below 2.5", "below 2.6"),
        ("effort < 3", "effort <= 3"),
        ('"Art. 1"', '"Art. 2"'),
        ("2026-08-02", "2026-08-03"),
    ]:
        changed = load_text(text.replace(old, new, 1), "changed.strat").modules[0]
        assert changed.decls != a.decls, (old, new)


def _relayout(text: str) -> str:
    """Remove comments and lay every token out on its own indented line, strings untouched."""
    parts = re.split(r'("(?:[^"\\\n]|\\.)*")', text)
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(part)  # a string literal
        else:
            part = re.sub(r"#[^\n]*", "", part)
            out.append(re.sub(r"\s+", "\n      # a comment\n   ", part))
    return "".join(out)


def test_every_construct_survives_relayout():
    text = (FIXTURES / "full.strat").read_text(encoding="utf-8")
    original = load_text(text.replace('import "full_part.strat"', ""), "a.strat").modules[0]
    moved = load_text(_relayout(text.replace('import "full_part.strat"', "")), "b.strat").modules[0]
    assert moved.decls == original.decls
    assert moved.header == original.header
    assert [d.span.line for d in moved.decls] != [d.span.line for d in original.decls]


def test_node_equality_and_repr_ignore_spans():
    here = Span("a.strat", 1, 1, 1, 5)
    there = Span("b.strat", 9, 3, 9, 7)
    x = ast.Compare(">=", ast.Path(("impact",), span=here), ast.NumberLit(Decimal("3"), span=here), span=here)
    y = ast.Compare(">=", ast.Path(("impact",), span=there), ast.NumberLit(Decimal("3"), span=there), span=there)
    assert x == y
    assert hash(x) == hash(y)
    assert repr(x) == repr(y)
    assert "Span" not in repr(x)
    assert x != ast.Compare(">", x.left, x.right)
    assert len({x, y}) == 1


def test_numbers_compare_by_value():
    assert ast.NumberLit(Decimal("2.50")) == ast.NumberLit(Decimal("2.5"))
    assert ast.NumberLit(Decimal("2.5")) != ast.NumberLit(Decimal("2.51"))


def test_text_and_path_helpers():
    both = ast.Text("Bonjour", "Hello")
    assert (both.get("fr"), both.get("en")) == ("Bonjour", "Hello")
    assert ast.Text("Bonjour", None).get("en") == "Bonjour"  # falls back to the other language
    assert ast.Text(None, "Hello").get("fr") == "Hello"
    assert ast.Path(("maturity", "data", "documented")).dotted == "maturity.data.documented"


def test_module_nodes_are_immutable():
    decl = lower_src('policy "p" version "1"\ndefine x = 1\n').decls[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        decl.name = "y"  # type: ignore[misc]
