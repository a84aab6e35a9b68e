"""Stage 3: names, types and static analyses (checker.py, analysis.py, loader.py imports).

Golden files: every `tests/golden/check/NAME.strat` is checked with
`stratdsl check NAME.strat` from inside that folder, and what it prints on
stderr must equal `NAME.out`. `STRATDSL_REGEN=1 pytest tests/test_check.py`
rewrites the .out files. Helper files for imports live in golden/check/lib/.
Then, like Cedar's validator tests, a few diagnostics are checked field by
field (code, severity, message, span, hint, notes).
"""

from __future__ import annotations

import inspect
import json
import sys

import pytest
from click.testing import CliRunner

from helpers import AS_OF, GOLDEN, REGEN, assess, checked, codes, compare_golden, compile_src, errors_of, stage_error
from stratdsl.commands.cli import main
from stratdsl.engine import compile_policy, run
from stratdsl.language import analysis
from stratdsl.language.checker import MAX_CHAIN_DEPTH
from stratdsl.language.diagnostics import MAX_SUGGESTIONS, Severity, StratError, did_you_mean, suggestions
from stratdsl.language.loader import load_policy
from stratdsl.render.diagnostics import render_json

CHECK_DIR = GOLDEN / "check"
CASES = sorted(p.stem for p in CHECK_DIR.glob("*.strat"))


def run_check(monkeypatch, *args: str):
    monkeypatch.chdir(CHECK_DIR)
    return CliRunner().invoke(main, ["check", *args], catch_exceptions=False)


# ================================================================== golden files


def test_golden_cases_are_present():
    assert len(CASES) >= 20
    if not REGEN:
        assert sorted(p.stem for p in CHECK_DIR.glob("*.out")) == CASES, "every NAME.strat needs its NAME.out"


@pytest.mark.parametrize("name", CASES)
def test_check_golden(name, monkeypatch):
    result = run_check(monkeypatch, f"{name}.strat")
    assert "Traceback" not in result.stderr
    compare_golden(CHECK_DIR / f"{name}.out", result.stderr)
    has_errors = "error[" in result.stderr
    assert result.exit_code == (1 if has_errors else 0)
    if has_errors:
        assert result.stderr.rstrip().splitlines()[-1].startswith("stratdsl: ")
        assert result.stdout == ""
    else:
        assert result.stdout.startswith(f"{name}.strat: ok (")


def test_each_error_kind_has_a_golden(monkeypatch):
    """The golden set covers every diagnostic kind listed in the brief."""
    monkeypatch.chdir(CHECK_DIR)
    seen: set[str] = set()
    for name in CASES:
        seen |= set(codes(compile_policy(f"{name}.strat")[1]))
    wanted = {
        "E001", "E002", "E003", "E004", "E006", "E007", "E009", "E010", "E011", "E012", "E013", "E014", "E015",
        "E016", "E017", "E020", "E021", "E022", "E024", "E025", "E026", "E030", "E031", "E040", "E041", "E042",
        "E043", "E044", "E045", "W101", "W102", "W103", "W106",
    }  # fmt: skip
    assert wanted <= seen, sorted(wanted - seen)


def test_check_json_format(monkeypatch):
    result = run_check(monkeypatch, "many_errors.strat", "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert [d["code"] for d in data["diagnostics"]] == ["E012", "E010", "E014", "E016", "E025", "E015"]
    first = data["diagnostics"][0]
    assert first == {
        "code": "E012",
        "severity": "error",
        "message": "unknown field 'impct'",
        "span": {"file": "many_errors.strat", "line": 9, "column": 50, "end_line": 9, "end_column": 55},
        "hint": "did you mean 'impact'?",
        "notes": [],
    }


# ================================================================== field by field


SCORES = """
policy "p" version "1"
input organization { headcount: integer 0..1000 }
input usecases: many usecase {
  impact: number 0..5
  effort: number 0..5
}
"""


def test_unknown_field_with_suggestion():
    (d,) = errors_of(SCORES + 'define s for each usecase label en "S" = impcat + 1\n')
    assert d.code == "E012"
    assert d.severity is Severity.ERROR
    assert d.message == "unknown field 'impcat'"
    assert (d.span.file, d.span.line, d.span.column, d.span.end_line, d.span.end_column) == ("t.strat", 7, 42, 7, 48)
    assert d.hint == "did you mean 'impact'?"
    assert d.notes == ()


def test_unknown_record_field_with_suggestion():
    (d,) = errors_of(SCORES + 'define s label en "S" = organization.headcont\n')
    assert d.code == "E012"
    assert d.message == "unknown field 'headcont' in input 'organization'"
    assert (d.span.line, d.span.column, d.span.end_column) == (7, 25, 46)
    assert d.hint == "did you mean 'headcount'?"


def test_unknown_name_without_close_match_has_no_hint():
    (d,) = errors_of(SCORES + 'define s label en "S" = zzz * 2\n')
    assert (d.code, d.message, d.hint) == ("E010", "unknown name 'zzz'", None)


def test_number_compared_with_text():
    (d,) = errors_of(SCORES + 'define s for each usecase label en "S" = impact = "high"\n')
    assert d.code == "E020"
    assert d.message == "'=' compares a number with a text"
    assert (d.span.column, d.span.end_column) == (42, 57)  # the whole comparison
    assert d.hint == "both sides of a comparison must be of the same kind"


def test_and_on_numbers_reports_each_operand():
    ds = errors_of(SCORES + 'define s for each usecase label en "S" = impact and effort\n')
    assert [(d.code, d.message, d.span.column) for d in ds] == [
        ("E022", "'and' needs true/false values, not a number", 42),
        ("E022", "'and' needs true/false values, not a number", 53),
    ]


def test_enum_value_not_declared():
    (d,) = errors_of(
        """
        policy "p" version "1"
        enum color { red green blue }
        input usecases: many usecase { c: color }
        define s for each usecase label en "S" = c = bleu
        """
    )
    assert d.code == "E016"
    assert d.message == "'bleu' is not a value of 'color'"
    assert (d.span.line, d.span.column, d.span.end_column) == (4, 46, 50)
    assert d.hint == "did you mean 'blue'?"


def test_non_exhaustive_decision_gives_a_counterexample():
    ds = errors_of(
        SCORES
        + """
decision quadrant for each usecase {
  quick_win when impact >= 3 and effort < 3
  structuring when impact >= 3 and effort >= 3
  secondary when impact < 3 and effort < 2
  avoid when impact < 3 and effort > 2
}
"""
    )
    (d,) = [d for d in ds if d.is_error]
    assert d.code == "E040"
    assert d.message == "decision 'quadrant' gives no outcome when impact = 0, effort = 2"
    assert (d.span.line, d.span.column) == (8, 1)
    assert d.hint == "add a rule for that case, or a last line: otherwise OUTCOME"


def test_counterexample_really_gives_no_outcome():
    ds = errors_of(
        SCORES
        + """
decision d for each usecase {
  low when impact < 2.5
  high when impact > 2.5
}
"""
    )
    assert [(d.code, d.message) for d in ds if d.is_error] == [("E040", "decision 'd' gives no outcome when impact = 2.5")]


@pytest.mark.parametrize(
    "rules",
    [
        "a when n < 3\n  b when n > 2",  # integers: nothing lies between 2 and 3
        "a when c in {red, green}\n  b when c = blue",
        "a when c != red\n  b when c = red",
        "a when not flag\n  b when flag",
        "a when impact between 0 and 2\n  b when impact > 2",
        "a when impact < 2.5\n  b when impact >= 2.5",
        "a when impact <= 5",  # the declared range bounds the field
    ],
)
def test_exhaustive_decisions_are_accepted(rules):
    policy, diagnostics = compile_src(
        f"""
policy "p" version "1"
enum color {{ red green blue }}
input usecases: many usecase {{ impact: number 0..5  n: integer 0..10  c: color  flag: bool }}
decision d for each usecase {{
  {rules}
}}
"""
    )
    assert policy is not None
    assert [d for d in diagnostics if d.code == "E040"] == []


def test_dated_rules_and_exceptions_never_count_as_covering():
    base = """
policy "p" version "1"
input usecases: many usecase {{ flag: bool  narrow: bool }}
decision d for each usecase {{
  a when flag {extra}
  b when not flag
}}
"""
    assert compile_src(base.format(extra=""))[0] is not None
    for extra in ("from 2026-01-01", "until 2026-01-01", "unless narrow"):
        (d,) = [d for d in errors_of(base.format(extra=extra)) if d.is_error]
        assert d.code == "E040"
        assert d.message == "decision 'd' gives no outcome when flag = true"


def test_unreachable_rule_is_a_warning_and_the_policy_still_compiles():
    policy, diagnostics = compile_src(
        SCORES
        + """
decision d for each usecase {
  low when impact < 2
  high when impact >= 2
  middle when impact between 1 and 3
  otherwise none
}
"""
    )
    assert policy is not None
    (d,) = [d for d in diagnostics if d.code.startswith("W101")]
    assert d.code == "W101"
    assert d.severity is Severity.WARNING
    assert not d.is_error
    assert d.message == "rule 'd.middle' can never apply: d.high, d.low always decide first"
    assert (d.span.line, d.span.column, d.span.end_column) == (11, 3, 37)
    assert d.hint == "remove the rule, or move it above the rules that hide it"


def test_rule_with_impossible_condition_is_unreachable():
    _policy, diagnostics = compile_src(
        SCORES
        + """
decision d for each usecase {
  top when impact > 4
  never when impact > 3 and impact < 2
  otherwise none
}
"""
    )
    assert [(d.code, d.message) for d in diagnostics if d.code == "W101"] == [
        ("W101", "rule 'd.never' can never apply: its condition is never true")
    ]


def test_first_rule_with_impossible_condition_is_unreachable():
    _policy, diagnostics = compile_src(
        SCORES
        + """
decision d for each usecase {
  never when impact > 3 and impact < 2
  otherwise none
}
"""
    )
    assert [(d.code, d.message) for d in diagnostics if d.code == "W101"] == [
        ("W101", "rule 'd.never' can never apply: its condition is never true")
    ]


def test_unreachable_message_agrees_with_a_single_rule():
    _policy, diagnostics = compile_src(
        """
policy "p" version "1"
input usecases: many usecase { flag: bool  impact: number 0..5 }
decision e for each usecase {
  yes when flag
  again when flag and impact > 4
  otherwise no
}
"""
    )
    (d,) = diagnostics
    assert d.message == "rule 'e.again' can never apply: e.yes always decides first"


def test_band_gap_and_overlap():
    ds = errors_of(
        SCORES
        + """
bands level for each usecase on impact {
  low from 0 below 2
  mid from 2.5 below 3.5
  high from 3 to 5
}
"""
    )
    gap, overlap = ds
    assert (gap.code, gap.message, gap.span.line, gap.hint) == (
        "E041",
        "gap between bands 'low' and 'mid': values from 2 below 2.5 have no band",
        10,
        "start 'mid' from 2",
    )
    assert (overlap.code, overlap.message, overlap.span.line, overlap.hint) == (
        "E042",
        "bands 'mid' and 'high' overlap from 3 below 3.5",
        11,
        "start 'high' from 3.5",
    )


def test_unused_field_definition_and_parameter_warnings():
    policy, diagnostics = compile_src(
        SCORES
        + """
param rate: number = 45
define helper for each usecase = effort * 2
define shown for each usecase label en "Shown" = impact
"""
    )
    assert policy is not None
    assert [(d.code, d.severity, d.message) for d in diagnostics] == [
        ("W102", Severity.WARNING, "field 'headcount' of input 'organization' is never read by any rule"),
        ("W103", Severity.WARNING, "definition 'helper' is never used"),
        ("W106", Severity.WARNING, "parameter 'rate' is never used"),
    ]
    w102 = diagnostics[0]
    assert (w102.span.line, w102.span.column) == (2, 22)
    assert w102.hint == "remove it, or use it in a definition or decision"


def test_text_fields_and_labelled_definitions_are_not_unused():
    policy, diagnostics = compile_src(
        """
policy "p" version "1"
input usecases: many usecase { note: text  impact: number }
define shown for each usecase label en "Shown" = impact
"""
    )
    assert policy is not None and diagnostics == []


def test_duplicate_declaration_points_at_the_first_one():
    (d,) = errors_of(SCORES + "define score = 1\ndefine score = 2\n")
    assert d.code == "E011"
    assert d.message == "'score' is declared twice"
    assert d.span.line == 8
    assert d.hint == "give each declaration its own name"
    ((note, note_span),) = d.notes
    assert note == "first declared at t.strat:7"
    assert note_span.line == 7


def test_builtin_names_cannot_be_declared():
    (d,) = errors_of(SCORES + "define as_of = 1\n")
    assert (d.code, d.message) == ("E011", "'as_of' is a built-in name and cannot be declared")


def test_duplicate_value_in_declared_enum():
    ds = errors_of('policy "p" version "1"\nenum color { red green red }\n')
    assert [(d.code, d.message, d.span.line, d.span.column) for d in ds] == [
        ("E011", "'red' is listed twice in enum 'color'", 2, 24)
    ]


def test_duplicate_outcome_is_reported_once():
    ds = errors_of(
        """
policy "p" version "1"
input usecases: many usecase { flag: bool }
decision d for each usecase {
  outcome x
  outcome x
  x when flag
  otherwise x
}
"""
    )
    # errors_of strips the leading newline: the outcomes are on lines 4 and 5
    assert [(d.code, d.span.line) for d in ds] == [("E011", 5)]
    assert ds[0].message == "outcome 'x' is declared twice in decision 'd'"
    assert [(note, span.line) for note, span in ds[0].notes] == [("first declared at t.strat:4", 4)]


def test_cycle_through_a_decision():
    ds = errors_of(
        """
policy "p" version "1"
input usecases: many usecase { impact: number 0..5 }
define s for each usecase = if d = a then 1 else 0
decision d for each usecase {
  a when s > 0
  otherwise b
}
"""
    )
    (d,) = ds
    assert d.code == "E030"
    assert d.message == "'d' depends on itself: d → s → d"
    assert d.span.line == 4
    assert d.hint == "a definition or decision may not read itself, directly or through others"


def test_self_reference_is_a_cycle():
    (d,) = errors_of(SCORES + "define me for each usecase = me + 1\n")
    assert (d.code, d.message) == ("E030", "'me' depends on itself: me → me")


def test_several_errors_are_all_reported_once_without_cascades():
    ds = errors_of(
        SCORES
        + """
define score for each usecase label en "Score" = impct * 2 - effort
define priority for each usecase label en "Priority" = score + bonus
decision quadrant for each usecase {
  quick_win when score >= 3 and effort < 3
  high when priority > 2
  otherwise avoid
}
"""
    )
    # uses of the failed definitions are silent, and no analysis or W10x warning is added
    assert [(d.code, d.span.line) for d in ds] == [("E012", 8), ("E010", 9)]


def test_analyses_and_unused_warnings_wait_for_a_clean_policy():
    ds = errors_of(
        SCORES
        + """
define unused for each usecase = 1
decision d for each usecase { a when impact > 4 }
define broken = nope
"""
    )
    assert codes(ds) == ["E010"]


def test_unknown_outcome_message_grammar():
    (d,) = errors_of(
        """
policy "p" version "1"
input usecases: many usecase { impact: number 0..5 }
decision d for each usecase {
  a when impact > 1
  otherwise b
}
decision e for each usecase {
  x when d = c
  otherwise z
}
"""
    )
    assert d.code == "E016"
    assert d.message == "'c' is not an outcome of 'd'"


def test_comparisons_with_a_parameter_count_as_its_default_threshold():
    policy, diagnostics = compile_src(
        """
policy "p" version "1"
input usecases: many usecase { impact: number 0..5 }
param t: number = 3
decision d for each usecase {
  hi when impact >= t
  lo when impact < t
}
"""
    )
    assert policy is not None
    assert diagnostics == []


def test_complementary_comparisons_between_two_expressions():
    _policy, diagnostics = compile_src(
        """
policy "p" version "1"
input usecases: many usecase { impact: number 0..5  n: integer 0..10 }
define limit for each usecase = n / 2
decision d for each usecase {
  a when impact > limit
  b when impact <= limit
}
"""
    )
    assert [d.message for d in diagnostics if d.message.endswith("when some inputs")] == []


# ================================================================== limits on depth and cost


def _chain(n: int, reverse: bool = False) -> str:
    """d0 reads a field; each d(i) reads d(i-1): 2 levels per definition (the name read, the '+')."""
    lines = ["define d0 = o.x"] + [f"define d{i} = d{i - 1} + 1" for i in range(1, n)]
    if reverse:
        lines.reverse()
    return 'policy "p" version "1"\ninput o { x: number }\n' + "\n".join(lines) + f'\ndefine out label en "Out" = d{n - 1}\n'


def test_chain_of_definitions_at_the_limit_is_accepted():
    # out = 1 + d(n-1) = 1 + 2(n-1) levels
    n = (MAX_CHAIN_DEPTH - 1) // 2 + 1
    for reverse in (False, True):
        assert checked(_chain(n, reverse)) is not None


@pytest.mark.parametrize("reverse", [False, True], ids=["in-order", "reversed"])
def test_too_long_a_chain_of_definitions_is_e031_once(reverse):
    ds = errors_of(_chain(3000, reverse))
    (d,) = ds
    assert d.code == "E031"
    assert d.message.endswith(f"is computed through definitions and decisions nested more than {MAX_CHAIN_DEPTH} levels deep")
    assert d.span is not None and d.hint
    ((note, _),) = d.notes
    assert " → " in note and "…" in note


def test_expression_depth_and_definition_depth_add_up():
    """Two definitions of 80 nested operations each: neither is too deep alone, together they are."""
    body = "abs(" * 80 + "{x}" + ")" * 80
    text = 'policy "p" version "1"\ninput o { x: number }\n'
    text += f"define a = {body.format(x='o.x')}\n" + f'define b label en "b" = {body.format(x="a")}\n'
    (d,) = errors_of(text)
    assert d.code == "E031" and "'b'" in d.message
    assert d.notes[0][0].endswith("b → a")


def test_a_chain_through_decisions_and_citations_counts_too():
    lines = ["decision k0 { a when o.b\n otherwise b }"]
    lines += [f"decision k{i} {{ a when o.b cites k{i - 1}\n otherwise b }}" for i in range(1, MAX_CHAIN_DEPTH)]
    (d,) = errors_of('policy "p" version "1"\ninput o { b: bool }\n' + "\n".join(reversed(lines)) + "\n")
    assert d.code == "E031"


def test_a_long_cycle_is_reported_without_recursion():
    n = 3000
    lines = [f"define d{i} = d{(i + 1) % n} + 1" for i in range(n)]
    ds = errors_of('policy "p" version "1"\n' + "\n".join(lines) + "\n")
    assert "E030" in codes(ds)


def test_evaluation_out_of_stack_is_e203():
    """The backstop in engine.run: a caller with little stack left gets a coded error."""
    policy = checked(_chain(60))
    facts = assess(policy, "o: {x: 1}\n")
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 60)
    try:
        with pytest.raises(StratError) as raised:
            run(policy, facts, AS_OF, trace=True)
    finally:
        sys.setrecursionlimit(limit)
    assert codes(raised.value.diagnostics) == ["E203"]


def test_analysis_budget_is_shared_by_the_whole_policy(monkeypatch):
    """Past MAX_STEPS a decision without 'otherwise' cannot be shown to be covered (E040);
    exhaustiveness is checked for every decision before any unreachable rule."""
    text = SCORES + """
decision first for each usecase {
  low when impact < 2
  high when impact >= 2
}
decision second for each usecase {
  low when effort < 2
  high when effort >= 2
}
"""
    assert checked(text) is not None
    monkeypatch.setattr(analysis, "MAX_STEPS", 5)
    ds = errors_of(text)
    assert [(d.code, "cannot be shown" in d.message) for d in ds if d.is_error] == [("E040", True), ("E040", True)]


def test_unreachable_rules_get_what_exhaustiveness_leaves(monkeypatch):
    text = SCORES + """
decision d for each usecase {
  low when impact < 2
  low2 when impact < 1
  high when impact >= 2
}
"""
    policy, ds = compile_src(text)
    assert policy is not None and "W101" in codes(ds)
    with monkeypatch.context() as patch:
        patch.setattr(analysis, "_check_unreachable", lambda *args: None)
        exhaustiveness = _steps_used(text)
    monkeypatch.setattr(analysis, "MAX_STEPS", exhaustiveness)
    policy, ds = compile_src(text)
    assert policy is not None and "W101" not in codes(ds)  # skipped; coverage still proved


def _steps_used(text: str) -> int:
    spent = []
    original = analysis._spend

    def spend(steps: int) -> None:
        spent.append(steps)
        original(steps)

    analysis._spend = spend
    try:
        compile_src(text)
    finally:
        analysis._spend = original
    return sum(spent)


def test_only_the_first_unknown_names_get_a_suggestion():
    text = SCORES + "".join(f"define total{i} = 1\n" for i in range(5)) + "".join(
        f"define use{i} = totl{i % 5}\n" for i in range(MAX_SUGGESTIONS + 20)
    )
    ds = errors_of(text)
    assert codes(ds) == ["E010"] * (MAX_SUGGESTIONS + 20)
    hinted = [d for d in ds if d.hint]
    assert len(hinted) == MAX_SUGGESTIONS and hinted[0].hint == "did you mean 'total0'?"


def test_did_you_mean_outside_a_check_is_not_limited():
    assert did_you_mean("impct", ["impact", "effort"]) == "did you mean 'impact'?"
    with suggestions(limit=1):
        assert did_you_mean("impct", ["impact"]) is not None
        assert did_you_mean("impct", ["impact"]) is None
    assert did_you_mean("impct", ["impact"]) is not None


# ================================================================== imports


def test_import_cycle():
    ds = stage_error(load_policy, CHECK_DIR / "import_cycle.strat")
    (d,) = ds
    assert d.code == "E007"
    assert d.message.startswith("import cycle: ")
    chain = d.message.removeprefix("import cycle: ").split(" → ")
    assert [c.rsplit("/", 1)[-1] for c in chain] == ["cycle_a.strat", "cycle_b.strat", "cycle_a.strat"]
    assert d.span.file.endswith("cycle_b.strat") and d.span.line == 2
    assert d.hint == "split the shared part into its own file"


def test_import_leaving_the_folder():
    ds = stage_error(load_policy, CHECK_DIR / "import_outside.strat")
    assert [(d.code, d.span.line) for d in ds] == [("E006", 2), ("E006", 3), ("E006", 4)]
    assert ds[0].message == "import '../outside.strat' leaves the policy's folder"
    assert ds[0].hint == "imports must stay inside the folder of the main policy file"


def test_imports_resolve_relative_to_the_importing_file(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    (tmp_path / "main.strat").write_text('policy "m" version "1"\nimport "sub/a.strat"\n', encoding="utf-8")
    (tmp_path / "sub" / "a.strat").write_text('policy "a" version "1"\nimport "b.strat"\n', encoding="utf-8")
    (tmp_path / "sub" / "b.strat").write_text('policy "b" version "1"\nenum e { x y }\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path / "sub")  # the working directory does not matter
    program = load_policy(tmp_path / "main.strat")
    assert [m.header.name for m in program.modules] == ["m", "a", "b"]


def test_each_file_is_read_once(tmp_path):
    (tmp_path / "main.strat").write_text('policy "m" version "1"\nimport "a.strat"\nimport "b.strat"\n', encoding="utf-8")
    (tmp_path / "a.strat").write_text('policy "a" version "1"\nimport "common.strat"\n', encoding="utf-8")
    (tmp_path / "b.strat").write_text('policy "b" version "1"\nimport "common.strat"\n', encoding="utf-8")
    (tmp_path / "common.strat").write_text('policy "c" version "1"\nenum e { x y }\n', encoding="utf-8")
    policy, diagnostics = compile_policy(tmp_path / "main.strat")
    assert policy is not None and diagnostics == []
    assert len(policy.files) == 4


def test_declarations_may_come_from_any_file_in_any_order():
    policy = checked(
        """
policy "p" version "1"
define shown for each usecase label en "Shown" = if c = red then impact else 0
input usecases: many usecase { impact: number  c: color }
enum color { red green }
"""
    )
    assert list(policy.definitions) == ["shown"]


def test_render_json_is_sorted_and_complete():
    ds = errors_of(SCORES + "define score = 1\ndefine score = 2\n")
    data = json.loads(render_json(ds))
    (d,) = data["diagnostics"]
    assert d["notes"] == [
        {
            "message": "first declared at t.strat:7",
            "span": {"file": "t.strat", "line": 7, "column": 1, "end_line": 7, "end_column": 17},
        }
    ]
