"""Stage 1: source text → parse tree → AST (syntax.py, lower.py).

Every construct of the grammar is parsed and lowered into the expected AST
node; syntax errors are E001/E002/E003 diagnostics with a line:col and the
expected tokens in words; and every grammar rule has its lowering method.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from decimal import Decimal

import pytest
from lark import Token, Tree

from helpers import FIXTURES, GRAMMAR, compile_src, expr_of, lower_src, no_spans, stage_error
from stratdsl.language import ast
from stratdsl.language.diagnostics import StratError
from stratdsl.language.fmt import format_text
from stratdsl.language.loader import load_policy, load_text
from stratdsl.language.lower import _Lower
from stratdsl.language.source import SourceFile
from stratdsl.language.syntax import MAX_NESTING, MAX_TERMS, parse, parser


def P(*parts: str) -> ast.Path:
    return ast.Path(tuple(parts))


def N(text: str) -> ast.NumberLit:
    return ast.NumberLit(Decimal(text))


def full_module() -> ast.Module:
    return load_policy(FIXTURES / "full.strat").modules[0]


def decl(module: ast.Module, name: str) -> ast.Decl:
    return next(d for d in module.decls if d.name == name)


# ================================================================== every rule is lowered


def _grammar_rules() -> tuple[set[str], set[str], dict[str, list[str]]]:
    """(plain rules, aliases, bodies of `?` rules) read from the grammar file with regexes."""
    text = re.sub(r"//[^\n]*", "", GRAMMAR.read_text(encoding="utf-8"))
    plain: set[str] = set()
    inlined: dict[str, list[str]] = {}
    # a rule starts at the beginning of a line: `name:` or `?name:`; terminals are upper case
    starts = list(re.finditer(r"^(\??)([a-z_][a-z0-9_]*)\s*:", text, flags=re.M))
    for i, match in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        body = text[match.end() : end]
        body = body.split("\n%", 1)[0]
        body = re.split(r"^[A-Z_][A-Z0-9_.]*\s*:", body, flags=re.M)[0]  # stop at the next terminal
        name = match.group(2)
        if name.startswith("_"):
            continue  # `_item`: always inlined by Lark
        if match.group(1) == "?":
            inlined[name] = [alt.strip() for alt in body.split("|")]
        else:
            plain.add(name)
    aliases = set(re.findall(r"->\s*([a-z_][a-z0-9_]*)", text))
    return plain, aliases, inlined


def _needs_method(alternative: str) -> bool:
    """A `?rule` alternative without alias keeps a Tree only when it has more than one kept child."""
    if "->" in alternative:
        return False  # lowered under its alias
    symbols = [s for s in re.findall(r'"[^"]*"|[A-Za-z_][A-Za-z0-9_]*', alternative) if not s.startswith('"')]
    return len(symbols) != 1


def required_methods() -> set[str]:
    plain, aliases, inlined = _grammar_rules()
    needed = plain | aliases
    for name, alternatives in inlined.items():
        if any(_needs_method(alt) for alt in alternatives):
            needed.add(name)
    return needed


def test_grammar_regex_finds_the_rules_lark_compiles():
    """Guard for the regex above: the same rule names and aliases as Lark's own compiled grammar."""
    plain, aliases, inlined = _grammar_rules()
    compiled = parser().rules
    origins = {r.origin.name for r in compiled if not str(r.origin.name).startswith("_")}
    lark_aliases = {r.alias for r in compiled if r.alias}
    assert origins == plain | set(inlined)
    assert lark_aliases == aliases
    assert {"start", "rule", "exception", "band"} <= plain
    assert {"or_op", "and_op", "neg_number_lit", "name_ref", "date_lit"} <= aliases


def test_every_grammar_rule_and_alias_has_a_lowering_method():
    missing = sorted(name for name in required_methods() if not callable(getattr(_Lower, name, None)))
    assert missing == [], f"rules of grammar/stratdsl.lark without a method in lower._Lower: {missing}"


def test_inlined_rules_that_only_choose_between_rules_need_no_method():
    _plain, _aliases, inlined = _grammar_rules()
    for name in ("meta", "type", "expr", "atom", "dating", "band_upper", "input_kind", "field_option"):
        assert name in inlined
        assert not any(_needs_method(alt) for alt in inlined[name]), name


def _raw_nodes(value, path="module"):
    """Every lark Tree or Token left anywhere inside an AST value."""
    if isinstance(value, (Tree, Token)):
        yield path, value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _raw_nodes(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, (tuple, list)):
        for i, item in enumerate(value):
            yield from _raw_nodes(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _raw_nodes(item, f"{path}[{key!r}]")


def test_full_policy_uses_every_rule_and_alias():
    """The fixture really exercises the whole grammar, so the next test means something."""
    source = SourceFile("full.strat", (FIXTURES / "full.strat").read_text(encoding="utf-8"))
    seen: set[str] = set()
    for tree in parse(source).iter_subtrees():
        seen.add(str(tree.data))
    plain, aliases, _ = _grammar_rules()
    unused = sorted((plain | aliases) - seen)
    assert unused == [], f"full.strat does not use: {unused}"


def test_lowering_every_construct_leaves_no_lark_tree_or_token():
    program = load_policy(FIXTURES / "full.strat")
    assert len(program.modules) == 2
    leftovers = [(path, type(node).__name__) for m in program.modules for path, node in _raw_nodes(m)]
    assert leftovers == []


# ================================================================== declarations


def test_header_and_metadata():
    module = full_module()
    assert module.header == ast.Header(
        "Stratégie complète",
        "2026.11",
        ast.Meta(label=ast.Text("Complète", "Complete"), help=ast.Text("Aide", "Help"), express=2),
    )
    assert module.imports == (ast.Import("full_part.strat"),)
    assert module.file.endswith("full.strat")


def test_sources():
    module = full_module()
    assert decl(module, "ai_act") == ast.SourceDecl(
        "ai_act", "AI Act (Règlement (UE) 2024/1689)", "https://eur-lex.europa.eu/eli/reg/2024/1689/oj"
    )
    assert decl(module, "method") == ast.SourceDecl("method", "Méthode", None)


def test_enum_with_labels_and_help():
    dim = decl(full_module(), "dim")
    assert dim == ast.EnumDecl(
        "dim",
        ast.Meta(label=ast.Text("Dimension", "Dimension")),
        (
            ast.EnumValue("data", ast.Meta(label=ast.Text("Données", "Data"), help=ast.Text(None, "Data quality"))),
            ast.EnumValue("people"),
        ),
    )


def test_record_input_and_every_field_type():
    org = decl(full_module(), "organization")
    assert isinstance(org, ast.InputDecl)
    assert (org.kind, org.entity, org.over) == ("record", None, None)
    fields = {f.name: f for f in org.fields}
    assert fields["name"] == ast.FieldDecl("name", ast.TextType(), ast.Meta(label=ast.Text("Nom", "Name")), True)
    assert fields["headcount"] == ast.FieldDecl(
        "headcount",
        ast.NumberType(Decimal(0), Decimal(100000), integer=True),
        ast.Meta(label=ast.Text("Effectif", "Headcount"), help=ast.Text("Aide", "Help"), express=1),
        fixed=True,
    )
    assert not fields["name"].fixed
    assert fields["sites"].type == ast.NumberType(None, None, integer=True)
    assert fields["founded"].type == ast.DateType()
    assert fields["sector"].type == ast.EnumType(("industry", "services"))  # trailing comma allowed
    assert fields["listed"].type == ast.BoolType()
    assert not fields["listed"].required


def test_many_and_group_inputs():
    module = full_module()
    usecases = decl(module, "usecases")
    assert (usecases.kind, usecases.entity, usecases.over) == ("many", "usecase", None)
    assert usecases.meta.label == ast.Text(None, "Use cases")
    types = {f.name: f.type for f in usecases.fields}
    assert types["impact"] == ast.NumberType(Decimal(0), Decimal(5))
    assert types["effort"] == ast.NumberType(Decimal(-5), Decimal(5))  # signed range
    assert types["hours"] == ast.NumberType()
    assert types["purpose"] == ast.NamedType("purpose_kind")
    assert types["tags"] == ast.ListType(ast.EnumType(("a", "b")))
    assert types["dims"] == ast.ListType(ast.NamedType("dim"))
    maturity = decl(module, "maturity")
    assert (maturity.kind, maturity.entity, maturity.over) == ("group", "dimension", "dim")
    assert [f.name for f in maturity.fields] == ["score", "documented"]


def test_params_of_every_kind():
    module = full_module()
    assert decl(module, "rate") == ast.ParamDecl(
        "rate",
        ast.NumberType(),
        N("45"),
        ast.Meta(label=ast.Text("Taux", "Rate")),
        (ast.Citation("method", "Étape 3"),),
    )
    assert decl(module, "floor_value").default == N("-2")  # "-" NUMBER -> neg_number_lit
    assert decl(module, "places").type == ast.NumberType(integer=True)
    assert decl(module, "mode").default == P("strict")  # NAME -> symbol_lit
    assert decl(module, "mode").type == ast.EnumType(("strict", "lax"))
    assert decl(module, "start").default == ast.DateLit(date(2026, 8, 2))
    assert decl(module, "title").default == ast.StringLit('Titre "cité"')  # escaped quotes
    assert decl(module, "enabled").default == ast.BoolLit(True)


def test_definitions_global_and_per_entity():
    module = full_module()
    annual = decl(module, "annual")
    assert annual.for_each == "usecase"
    assert annual.meta.label == ast.Text("Annuel", "Annual")
    # hours * 47 / 2 + rate - -1: left-associative, `- -1` folds to a negative literal
    assert annual.expr == ast.Arith(
        "-",
        ast.Arith("+", ast.Arith("/", ast.Arith("*", P("hours"), N("47")), N("2")), P("rate")),
        N("-1"),
    )
    assert decl(module, "global_score") == ast.DefineDecl(
        "global_score", None, ast.Meta(), ast.Call("mean", (P("dimension"), P("score")))
    )


def test_aggregate_with_where_and_rank():
    module = full_module()
    assert decl(module, "n_big").expr == ast.Call("count", (P("usecase"),), ast.Compare(">=", P("impact"), N("3")))
    assert decl(module, "top").expr == ast.Rank(
        "usecase",
        (ast.SortKey(P("impact"), True), ast.SortKey(P("effort"), False), ast.SortKey(P("id"), False)),
        ast.Compare(">", P("impact"), N("0")),
    )


def test_if_between_known_and_scalar_functions():
    mixed = decl(full_module(), "mixed").expr
    assert mixed == ast.If(
        ast.Or((ast.Between(P("impact"), N("1"), N("4")), ast.Not(ast.Call("known", (P("effort"),))))),
        ast.Call("round", (P("effort"), N("1"))),
        ast.Call(
            "max",
            (
                ast.Call("abs", (P("effort"),)),
                ast.Call("floor", (P("impact"),)),
                ast.Call("ceil", (N("1.2"),)),
                ast.Call("min", (N("1"), N("2"))),
                ast.Neg(P("impact")),
            ),
        ),
    )


def test_decision_with_outcomes_named_rules_labels_dates_and_exceptions():
    quadrant = decl(full_module(), "quadrant")
    assert isinstance(quadrant, ast.DecisionDecl)
    assert quadrant.for_each == "usecase"
    assert quadrant.meta.label == ast.Text("Quadrant", "Quadrant")
    assert quadrant.outcomes == (
        ast.OutcomeDecl("quick_win", ast.Meta(label=ast.Text("Priorité", "Quick win"))),
        ast.OutcomeDecl("structuring"),
        ast.OutcomeDecl("avoid"),
    )
    first, named, dated = quadrant.rules
    assert first == ast.Rule(
        None,
        "quick_win",
        None,
        ast.And((ast.Compare(">=", P("impact"), N("3")), ast.Compare("<", P("effort"), N("3")))),
        (ast.Citation("method", "Pilier 4"),),
    )
    assert named.name == "r2"
    assert named.label == ast.Text("Projet structurant", "Major project")
    assert named.cites == (ast.Citation("method", None),)
    # `"Éviter" fr "À éviter"`: the first text is then the English one
    assert dated.label == ast.Text("À éviter", "Éviter")
    assert dated.valid_from == ast.DateLit(date(2026, 8, 2))
    assert dated.valid_until == P("start")  # a name: NAME -> name_ref
    assert dated.cites == (ast.Citation("ai_act", "Annex III 4(a)"),)
    conds = dated.when.items
    assert conds[0] == ast.In(P("purpose"), ast.SetLit((P("recruitment"), P("scoring"))))
    assert conds[1] == ast.In(P("a"), P("tags"))
    assert conds[2] == ast.In(P("data"), P("dims"), negated=True)
    assert conds[3] == ast.Compare(">=", P("as_of"), ast.DateLit(date(2026, 1, 1)))
    assert conds[4] == ast.Not(ast.Compare("=", P("dims"), ast.SetLit(())))
    unless1, unless2 = dated.exceptions
    assert unless1 == ast.Exception_(
        ast.And((P("organization", "listed"), ast.Not(P("maturity", "data", "documented")))),
        (ast.Citation("ai_act", "Art. 6(3)(a)"),),
    )
    # `or` binds looser than `and`
    assert unless2.cond == ast.Or(
        (
            ast.Compare("=", P("id"), ast.StringLit("zz")),
            ast.And(
                (
                    ast.Compare("!=", P("note"), ast.StringLit("")),
                    ast.Compare("<=", P("impact"), N("1")),
                    ast.Compare(">", P("impact"), N("0")),
                    ast.Compare("!=", P("effort"), N("2")),
                )
            ),
        )
    )
    assert unless2.cites == ()
    assert quadrant.otherwise == ast.Rule(None, "avoid", ast.Text("À éviter", "Avoid"), None, (ast.Citation("method", "x"),))


def test_decision_without_otherwise():
    global_ok = decl(full_module(), "global_ok")
    assert global_ok.otherwise is None
    assert [r.outcome for r in global_ok.rules] == ["yes", "no", "no"]
    assert global_ok.outcomes == ()


def test_bands():
    module = full_module()
    level = decl(module, "level")
    assert level == ast.BandsDecl(
        "level",
        "dimension",
        ast.Meta(label=ast.Text(None, "Level")),
        P("score"),
        (
            ast.Band("low", ast.Text("Bas", "Low"), Decimal(0), Decimal("2.5"), False, (ast.Citation("method", "b"),)),
            ast.Band("high", None, Decimal("2.5"), Decimal(5), True),
        ),
    )
    size = decl(module, "size")
    assert size.for_each is None
    assert size.on == ast.Arith("-", P("organization", "headcount"), N("1"))
    assert [(b.name, b.low, b.high, b.inclusive_high) for b in size.bands] == [
        ("tiny", Decimal(-1), Decimal(0), False),
        ("small", Decimal(0), Decimal(50), False),
        ("large", Decimal(50), None, False),
    ]


def test_obligations():
    module = full_module()
    oversight = decl(module, "oversight")
    assert oversight.for_each == "usecase"
    assert oversight.meta.label == ast.Text("Contrôle", "Oversight")
    assert oversight.cites == (ast.Citation("ai_act", "Art. 26(2)"),)
    assert oversight.valid_from == P("start")
    assert oversight.valid_until == ast.DateLit(date(2030, 1, 1))
    assert oversight.when.items[0] == ast.Compare("=", P("quadrant"), P("avoid"))
    report = decl(module, "report")
    assert (report.for_each, report.valid_from, report.valid_until, report.cites) == (None, None, None, ())


def test_imported_module_is_lowered_too():
    program = load_policy(FIXTURES / "full.strat")
    part = program.modules[1]
    assert part.header.name == "Part"
    assert part.decls == (
        ast.EnumDecl("purpose_kind", values=tuple(ast.EnumValue(v) for v in ("recruitment", "scoring", "other"))),
    )


# ================================================================== expressions


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 2 * 3", ast.Arith("+", N("1"), ast.Arith("*", N("2"), N("3")))),
        ("(1 + 2) * 3", ast.Arith("*", ast.Arith("+", N("1"), N("2")), N("3"))),
        ("1 - 2 - 3", ast.Arith("-", ast.Arith("-", N("1"), N("2")), N("3"))),
        ("8 / 4 / 2", ast.Arith("/", ast.Arith("/", N("8"), N("4")), N("2"))),
        ("-x * 2", ast.Arith("*", ast.Neg(P("x")), N("2"))),
        ("-2.50", N("-2.50")),
        ("- -3", N("3")),
        ("0.1", N("0.1")),
        ("a or b and not c", ast.Or((P("a"), ast.And((P("b"), ast.Not(P("c"))))))),
        ("a and b and c", ast.And((P("a"), P("b"), P("c")))),
        ("a or b or c", ast.Or((P("a"), P("b"), P("c")))),
        ("(a or b) and c", ast.And((ast.Or((P("a"), P("b"))), P("c")))),
        ("not not a", ast.Not(ast.Not(P("a")))),
        ("not x = 1", ast.Not(ast.Compare("=", P("x"), N("1")))),
        ("x + 1 >= y * 2", ast.Compare(">=", ast.Arith("+", P("x"), N("1")), ast.Arith("*", P("y"), N("2")))),
        ("x != 1", ast.Compare("!=", P("x"), N("1"))),
        ("x in {a, b,}", ast.In(P("x"), ast.SetLit((P("a"), P("b"))))),
        ("x not in l", ast.In(P("x"), P("l"), negated=True)),
        ("x in {}", ast.In(P("x"), ast.SetLit(()))),
        ("x between 1 and 2 + 1", ast.Between(P("x"), N("1"), ast.Arith("+", N("2"), N("1")))),
        ("if a then 1 else if b then 2 else 3", ast.If(P("a"), N("1"), ast.If(P("b"), N("2"), N("3")))),
        ("true", ast.BoolLit(True)),
        ("false", ast.BoolLit(False)),
        ("2026-08-02", ast.DateLit(date(2026, 8, 2))),
        (r'"a\"b\\c\nd"', ast.StringLit('a"b\\c\nd')),
        ("maturity.governance.documented", P("maturity", "governance", "documented")),
        (
            "sum(usecase, impact * 2 where effort < 3)",
            ast.Call("sum", (P("usecase"), ast.Arith("*", P("impact"), N("2"))), ast.Compare("<", P("effort"), N("3"))),
        ),
        ("weighted_mean(u, v, w)", ast.Call("weighted_mean", (P("u"), P("v"), P("w")))),
        ("rank(u by x)", ast.Rank("u", (ast.SortKey(P("x")),))),
        ("rank(u by x asc, y desc)", ast.Rank("u", (ast.SortKey(P("x")), ast.SortKey(P("y"), True)))),
    ],
)
def test_expression(source, expected):
    actual = expr_of(source)
    assert actual == expected, f"{no_spans(actual)}\n!=\n{no_spans(expected)}"


def test_keywords_are_contextual_field_names():
    """`date`, `text`, `number`, `when`, `list` may still name fields (keywords are contextual)."""
    module = lower_src(
        """
        policy "p" version "1"
        input o { date: date  text: text  number: number  when: bool  list: integer }
        define x = o.date < as_of and o.when and o.number + o.list > 1 and o.text = ""
        """
    )
    fields = [f.name for f in module.decls[0].fields]
    assert fields == ["date", "text", "number", "when", "list"]
    policy, diagnostics = compile_src(
        """
        policy "p" version "1"
        input o { date: date  when: bool }
        define x label en "x" = o.date < as_of and o.when
        """
    )
    assert policy is not None and diagnostics == []


def test_comments_and_whitespace_are_ignored():
    module = lower_src(
        """
        # leading comment
        policy "p"   version "1"   # trailing comment

            define   x =   # comment inside a declaration
              1 +
              2
        """
    )
    assert module.decls == (ast.DefineDecl("x", expr=ast.Arith("+", N("1"), N("2"))),)


def test_spans_are_one_based_and_cover_the_construct():
    module = lower_src('policy "p" version "1"\ndefine total = a + b\n')
    (define,) = module.decls
    assert (define.span.line, define.span.column, define.span.end_line, define.span.end_column) == (2, 1, 2, 21)
    expr = define.expr
    assert (expr.span.line, expr.span.column, expr.span.end_column) == (2, 16, 21)
    assert (expr.right.span.column, expr.right.span.end_column) == (20, 21)
    assert define.span.file == "t.strat"


# ================================================================== syntax errors


def syntax_error(text: str):
    diagnostics = stage_error(load_text, text, "x.strat")
    assert len(diagnostics) == 1
    return diagnostics[0]


TERMINAL_NAMES = sorted({t.name for t in parser().terminals} | {"$END"})


def assert_in_words(message: str) -> None:
    for name in TERMINAL_NAMES:
        assert not re.search(rf"(?<![\w$]){re.escape(name)}(?!\w)", message), f"terminal name {name!r} in: {message}"


def test_missing_when_in_a_rule():
    d = syntax_error('policy "p" version "1"\ndecision d {\n  a impact >= 3\n  otherwise b\n}\n')
    assert d.code == "E002"
    assert (d.span.file, d.span.line, d.span.column, d.span.end_column) == ("x.strat", 3, 5, 11)
    assert d.message == "unexpected 'impact': expected 'when' or a text in double quotes (\"…\")"
    assert d.hint == "a rule reads: OUTCOME when CONDITION"
    assert_in_words(d.message)


def test_misspelt_keyword_suggests_the_keyword():
    d = syntax_error('policy "p" version "1"\ndecisoin d { otherwise a }\n')
    assert d.code == "E002"
    assert (d.span.line, d.span.column) == (2, 1)
    assert d.message.startswith("unexpected 'decisoin': expected 'assert', 'bands', 'decision', 'define', 'enum'")
    assert d.hint == "did you mean 'decision'?"
    assert_in_words(d.message)


def test_file_ending_inside_a_block():
    d = syntax_error('policy "p" version "1"\ndecision d {\n  a when true\n')
    assert d.code == "E002"
    assert (d.span.line, d.span.column) == (3, 14)  # just after the last character
    assert d.message.startswith("the file ends too early: expected ")
    assert "'}'" in d.message and "'otherwise'" in d.message and "a name" in d.message
    assert d.hint == "a '{' was opened and never closed"
    assert_in_words(d.message)


def test_empty_file():
    d = syntax_error("")
    assert (d.code, d.message) == ("E002", "the file ends too early: expected 'policy'")
    assert (d.span.line, d.span.column) == (1, 1)


def test_missing_version():
    d = syntax_error('policy "p"\n')
    assert (d.code, d.message) == ("E002", "the file ends too early: expected 'version'")


def test_unexpected_token_lists_alternatives_in_words():
    d = syntax_error('policy "p" version "1"\ndefine x = = 1\n')
    assert d.code == "E002"
    assert (d.span.line, d.span.column) == (2, 12)
    assert d.message == (
        "unexpected '=': expected '(', '-', '{', a date (YYYY-MM-DD), a name, a number or a text in double quotes (\"…\")"
    )


def test_single_quotes_are_an_unexpected_character():
    d = syntax_error("policy 'p' version \"1\"\n")
    assert d.code == "E001"
    assert d.message == "unexpected character '''"
    assert (d.span.line, d.span.column, d.span.end_column) == (1, 8, 9)
    assert d.hint == 'texts are written in double quotes: "…"'


def test_unexpected_character():
    d = syntax_error('policy "p" version "1"\ndefine x = 1 @ 2\n')
    assert (d.code, d.message, d.span.line, d.span.column) == ("E001", "unexpected character '@'", 2, 14)
    assert d.hint is None


def test_invalid_date_is_e003():
    d = syntax_error('policy "p" version "1"\ndefine x = 2026-13-45\n')
    assert d.code == "E003"
    assert d.message == "'2026-13-45' is not a valid date"
    assert (d.span.line, d.span.column, d.span.end_column) == (2, 12, 22)
    assert d.hint == "dates are written YYYY-MM-DD, e.g. 2026-08-02"


def test_comparisons_do_not_chain():
    d = syntax_error('policy "p" version "1"\ndefine x = 1 < 2 < 3\n')
    assert d.code == "E002"
    assert (d.span.line, d.span.column) == (2, 18)


def test_dating_needs_a_date_or_a_name():
    d = syntax_error('policy "p" version "1"\ndecision d {\n  a when true from 5\n  otherwise b\n}\n')
    assert d.code == "E002"
    assert d.message == "unexpected '5': expected a date (YYYY-MM-DD) or a name"
    assert (d.span.line, d.span.column) == (3, 20)


def test_double_equals_gets_a_hint():
    d = syntax_error('policy "p" version "1"\ndefine x = 1 == 2\n')
    assert d.code == "E002"
    assert d.hint == "equality is written with a single '='"


NESTED = {
    "not": lambda n: "not " * n + "o.b",
    "neg": lambda n: "-(" * n + "o.x" + ")" * n,
    "call": lambda n: "abs(" * n + "o.x" + ")" * n,
    "sum": lambda n: " + ".join(["o.x"] * (n + 1)),  # n operators
    "if": lambda n: "if o.b then 1 else " * n + "0",
}


@pytest.mark.parametrize("kind", list(NESTED))
def test_expressions_nest_at_most_max_nesting_levels(kind):
    header = 'policy "p" version "1"\ninput o { b: bool  x: number }\ndefine y = '
    load_text(header + NESTED[kind](MAX_NESTING) + "\n")
    d = syntax_error(header + NESTED[kind](MAX_NESTING + 1) + "\n")
    assert (d.code, d.message) == ("E009", f"the expression is nested more than {MAX_NESTING} levels deep")
    assert d.span is not None and d.span.line == 3 and d.hint


def test_parentheses_add_no_level_and_a_chain_of_and_or_of_or_adds_one():
    conditions = " and ".join(["o.b"] * 300) + " or " + " or ".join(["o.b"] * 300)  # an 'and' chain inside an 'or' chain
    header = 'policy "p" version "1"\ninput o { b: bool }\ndefine y = '
    load_text(header + "(" * 5000 + "not " * (MAX_NESTING - 2) + "(" + conditions + ")" + ")" * 5000 + "\n")
    assert syntax_error(header + "not " * (MAX_NESTING - 1) + "(" + conditions + ")\n").code == "E009"


@pytest.mark.parametrize("word", ["and", "or"])
def test_a_chain_joins_at_most_max_terms_conditions(word):
    header = 'policy "p" version "1"\ninput o { b: bool }\ndefine y = '
    module = load_text(header + f" {word} ".join(["o.b"] * MAX_TERMS) + "\n").modules[0]
    assert len(module.decls[1].expr.items) == MAX_TERMS
    d = syntax_error(header + f" {word} ".join(["o.b"] * (MAX_TERMS + 1)) + "\n")
    assert (d.code, d.message) == ("E009", f"more than {MAX_TERMS} conditions are joined by '{word}'")
    assert (d.span.line, d.span.column) == (3, 12)


def test_the_formatter_refuses_deep_expressions_too():
    with pytest.raises(StratError) as raised:
        format_text('policy "p" version "1"\ninput o { b: bool }\ndefine y = ' + "not " * 10_000 + "o.b\n")
    assert [d.code for d in raised.value.diagnostics] == ["E009"]


def test_every_truncation_of_a_valid_policy_fails_cleanly():
    """Cut the full policy anywhere: the parser either accepts the prefix or reports one
    located E001/E002/E003 in words — never a Python exception, never a terminal name."""
    text = (FIXTURES / "full.strat").read_text(encoding="utf-8")
    cuts = sorted({m.end() for m in re.finditer(r"\S+", text)})
    seen_codes: set[str] = set()
    for cut in cuts[::3]:
        try:
            load_text(text[:cut].replace('import "full_part.strat"', ""), "cut.strat")
        except StratError as error:  # anything else propagates and fails the test
            (d,) = error.diagnostics
            assert d.code in ("E001", "E002", "E003"), d
            assert d.span is not None and d.span.line >= 1 and d.span.column >= 1
            assert_in_words(d.message)
            seen_codes.add(d.code)
    assert "E002" in seen_codes
