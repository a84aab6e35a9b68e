"""Stage 4: assessments (assessment.py): YAML/JSON → validated facts, with Unknown for missing ones."""

from __future__ import annotations

import json
import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import AS_OF, FIXTURES, REPO, assess, fixture_policy, stage_error
from stratdsl.commands.cli import main
from stratdsl.engine import run
from stratdsl.runtime import assessment as assessment_mod
from stratdsl.runtime.assessment import json_schema, load_assessment, parse_data, read_data, validate
from stratdsl.runtime.values import Unknown


@pytest.fixture(scope="module")
def policy():
    return fixture_policy("assess.strat")


def entity(assessment, input_name: str, ident: str):
    return next(e for e in assessment.entities[input_name] if e.id == ident)


# ================================================================== exact numbers


@pytest.mark.parametrize(
    "text", ["2.5", "0.1", "0.30", "3.3", "1.1", "4.4", "0.000001", "1_000.25", "12345678901234567890.123456789"]
)
def test_yaml_floats_are_exact_decimals(text):
    data, _ = parse_data(f"x: {text}\n", "a.yaml")
    assert isinstance(data["x"], Decimal)
    assert data["x"] == Decimal(text.replace("_", ""))
    assert str(data["x"]) == text.replace("_", "")  # the digits as written: 2.5, never 2.4999…


def test_json_floats_are_exact_decimals():
    data, _ = parse_data('{"x": 2.5, "y": 0.1, "z": 3}', "a.json", json_format=True)
    assert data == {"x": Decimal("2.5"), "y": Decimal("0.1"), "z": 3}
    assert isinstance(data["y"], Decimal) and str(data["y"]) == "0.1"


def test_values_reach_the_evaluator_exactly(policy):
    facts = load_assessment(policy, FIXTURES / "assess_ok.yaml")
    ocr = entity(facts, "usecases", "ocr")
    assert ocr.values["impact"] == Decimal("2.5") and isinstance(ocr.values["impact"], Decimal)
    assert ocr.values["effort"] == Decimal("0.1")
    assert ocr.values["hours"] == Decimal(12)
    result, _ = run(policy, facts, AS_OF)
    total = next(v for v in result.values if v.definition == "total")
    assert total.value == Decimal("7.1")  # 2.5 + 0.2 + 4.4, exactly
    per = next(v for v in result.values if v.definition == "per" and v.entity == "ocr")
    assert per.value == Decimal("12.1")


def test_every_field_type_is_converted(policy):
    facts = load_assessment(policy, FIXTURES / "assess_ok.yaml")
    org = facts.records["organization"]
    assert org == {
        "name": "ACME",
        "headcount": Decimal(120),
        "revenue": Decimal("2.5"),
        "founded": date(2001, 5, 17),
        "regulated": True,
        "sector": "industry",
    }
    ocr = entity(facts, "usecases", "ocr")
    assert ocr.values["tags"] == frozenset({"data", "tools"})
    assert ocr.values["purpose"] == "recruitment"
    assert ocr.values["note"] == "unknown"  # a text field keeps the word
    assert ocr.path == "usecases[ocr]"
    assert [e.id for e in facts.entities["usecases"]] == ["ocr", "chat", "scoring-v2.1"]
    assert [e.id for e in facts.entities["maturity"]] == ["data", "people", "tools"]  # one member per enum value


# ================================================================== unknown facts


def test_unknown_null_and_absent_are_unknown(policy):
    facts = load_assessment(policy, FIXTURES / "assess_ok.yaml")
    chat = entity(facts, "usecases", "chat")
    assert chat.values["effort"] == Unknown(frozenset({"usecases[chat].effort"}))  # `unknown`
    assert chat.values["hours"] == Unknown(frozenset({"usecases[chat].hours"}))  # null
    assert chat.values["purpose"] == Unknown(frozenset({"usecases[chat].purpose"}))  # UNKNOWN, any case
    assert chat.values["profiling"] == Unknown(frozenset({"usecases[chat].profiling"}))  # absent
    assert chat.values["note"] == Unknown(frozenset({"usecases[chat].note"}))
    people = entity(facts, "maturity", "people")
    assert people.values["documented"] == Unknown(frozenset({"maturity.people.documented"}))
    tools = entity(facts, "maturity", "tools")  # the whole member is absent
    assert tools.values == {
        "score": Unknown(frozenset({"maturity.tools.score"})),
        "documented": Unknown(frozenset({"maturity.tools.documented"})),
    }


def test_an_empty_assessment_is_all_unknown(policy):
    facts = assess(policy, "")
    assert facts.records["organization"]["headcount"] == Unknown(frozenset({"organization.headcount"}))
    assert facts.entities["usecases"] == []
    result, _ = run(policy, facts, AS_OF)
    total = next(v for v in result.values if v.definition == "total")
    assert total.value == Decimal(0)  # the sum over no use case


@pytest.mark.parametrize("word", ["unknown", "Unknown", "UNKNOWN", " unknown "])
def test_unknown_in_any_case(policy, word):
    facts = assess(policy, f"organization:\n  name: x\n  headcount: '{word}'\n  regulated: {word}\n")
    org = facts.records["organization"]
    assert isinstance(org["headcount"], Unknown)
    assert isinstance(org["regulated"], Unknown)


def test_unknown_values_are_unknown_to_the_rules(policy):
    result, _ = run(policy, load_assessment(policy, FIXTURES / "assess_ok.yaml"), AS_OF)
    mat = next(v for v in result.values if v.definition == "mat")
    assert isinstance(mat.value, Unknown)
    assert mat.missing == ("maturity.people.documented", "maturity.tools.documented")


# ================================================================== validation errors


def test_all_problems_are_listed_with_paths(policy):
    ds = stage_error(load_assessment, policy, FIXTURES / "assess_bad.yaml", "assess_bad.yaml")
    assert {d.code for d in ds} == {"E302"}
    assert [d.message for d in ds] == [
        "organization.headcount: 2000 is above the maximum 1000",
        "organization.sector: 'retail' is not one of: industry, services",
        "usecases[0].impact: -1 is below the minimum 0",
        "usecases[1].hours: '2.5' is not a whole number",
        "usecases[1].purpose: 'recrutment' is not one of: recruitment, scoring, other",
        "usecases[2].effort: 7 is above the maximum 5",
        "usecases[2].profiling: 'maybe' is not true or false",
        "usecases[2].tags[1]: 'money' is not one of: data, people, tools",
        "usecases[3].impcat: unknown field 'impcat'",
        "usecases[4].id: is required but missing",
        "maturity.data.score: 6 is above the maximum 5",
    ]
    effort = ds[5]
    assert (effort.span.file, effort.span.line, effort.span.column) == ("assess_bad.yaml", 13, 13)
    assert ds[4].hint == "did you mean 'recruitment'?"
    assert ds[8].hint == "did you mean 'impact'?"


def test_unknown_top_level_input_with_suggestion(policy):
    (d,) = stage_error(assess, policy, "usecase:\n  - id: x\n")
    assert (d.code, d.message, d.hint) == ("E302", "usecase: unknown field 'usecase'", "did you mean 'usecases'?")


@pytest.mark.parametrize(
    ("yaml_text", "message", "hint"),
    [
        (
            "organization:\n  name: x\n  headcont: 3\n",
            "organization.headcont: unknown field 'headcont'",
            "did you mean 'headcount'?",
        ),
        ("maturity:\n  peple: {score: 1}\n", "maturity.peple: unknown field 'peple'", "did you mean 'people'?"),
        ("maturity:\n  data: {scor: 1}\n", "maturity.data.scor: unknown field 'scor'", "did you mean 'score'?"),
    ],
)
def test_unknown_record_and_group_fields_get_suggestions(policy, yaml_text, message, hint):
    (d,) = stage_error(assess, policy, yaml_text)
    assert (d.code, d.message, d.hint) == ("E302", message, hint)


def test_missing_required_field_and_bad_ids(policy):
    ds = stage_error(assess, policy, "organization: {headcount: 3}\nusecases:\n  - id: 'a b'\n  - 7\n")
    assert [d.message for d in ds] == [
        "organization.name: is required but missing",
        "usecases[0].id: 'a b' may only contain letters, digits, '_', '-' and '.'",
        "usecases[1]: must be a set of fields (a mapping)",
    ]


def test_wrong_shapes(policy):
    ds = stage_error(assess, policy, "organization: 5\nusecases: {a: 1}\nmaturity: [1]\n")
    assert [d.message for d in ds] == [
        "organization: must be a set of fields (a mapping)",
        "usecases: must be a list",
        "maturity: must be a set of fields (a mapping)",
    ]
    (d,) = stage_error(assess, policy, "- a\n- b\n")
    assert (d.code, d.message) == ("E302", "the assessment must be a mapping of inputs (organization:, usecases: …)")


def test_duplicate_ids(policy):
    ds = stage_error(load_assessment, policy, FIXTURES / "assess_dup.yaml", "assess_dup.yaml")
    assert [(d.code, d.message, d.span.line) for d in ds] == [
        ("E306", "usecases[2].id: 'ocr' is already the id of usecases[0]", 4),
        ("E306", "usecases[3].id: 'chat' is already the id of usecases[1]", 5),
        ("E306", "usecases[4].id: 'ocr' is already the id of usecases[2]", 6),
    ]


def test_invalid_yaml_and_json_are_e301(policy, tmp_path):
    (d,) = stage_error(parse_data, "usecases: [\n", "a.yaml")
    assert d.code == "E301"
    assert d.message.startswith("the assessment is not valid YAML: ")
    assert (d.span.file, d.span.line) == ("a.yaml", 2)
    (d,) = stage_error(parse_data, '{"usecases": [}', "a.json", json_format=True)
    assert d.code == "E301"
    assert d.message.startswith("the assessment is not valid JSON: ")
    assert (d.span.line, d.span.column) == (1, 15)
    (d,) = stage_error(load_assessment, policy, tmp_path / "missing.yaml", "missing.yaml")
    assert (d.code, d.message) == ("E301", "cannot read assessment 'missing.yaml': it does not exist")


def test_yaml_is_read_safely():
    (d,) = stage_error(parse_data, "x: !!python/name:os.system\n", "a.yaml")
    assert d.code == "E301"
    # a tag on a sequence or a mapping is refused too, with its place (B1)
    (d,) = stage_error(parse_data, "x: !!python/object/apply:os.getcwd []\n", "a.yaml")
    assert (d.code, d.message) == ("E301", "the YAML tag !!python/object/apply:os.getcwd is not allowed: remove it")
    assert (d.span.line, d.span.column) == (1, 4)


def test_impossible_yaml_date_is_a_validation_error(policy):
    ds = stage_error(assess, policy, "organization:\n  name: x\n  founded: 2001-02-30\n")
    assert [d.code for d in ds] in (["E301"], ["E302"])


def test_dates_in_json_and_quoted_yaml(policy):
    facts = validate(policy, {"organization": {"name": "x", "founded": "2001-05-17"}})
    assert facts.records["organization"]["founded"] == date(2001, 5, 17)
    (d,) = stage_error(validate, policy, {"organization": {"name": "x", "founded": "2001-02-30"}})
    assert d.message == "organization.founded: '2001-02-30' is not a date (YYYY-MM-DD)"


# ================================================================== JSON input


def test_json_input_gives_the_same_facts_as_yaml(policy):
    from_yaml = load_assessment(policy, FIXTURES / "assess_ok.yaml")
    from_json = load_assessment(policy, FIXTURES / "assess_ok.json")
    assert from_json.records == from_yaml.records
    assert [e.values for e in from_json.entities["usecases"]] == [e.values for e in from_yaml.entities["usecases"]]
    assert [e.values for e in from_json.entities["maturity"]] == [e.values for e in from_yaml.entities["maturity"]]
    assert from_json.data == from_yaml.data


def test_json_validation_errors_have_paths(policy, tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"usecases": [{"id": "x"}, {"id": "y", "effort": 7}]}), encoding="utf-8")
    (d,) = stage_error(load_assessment, policy, path)
    assert d.message == "usecases[1].effort: 7 is above the maximum 5"


# ================================================================== JSON Schema


def schema_of(policy_file: str, monkeypatch) -> dict:
    monkeypatch.chdir(FIXTURES)
    result = CliRunner().invoke(main, ["schema", policy_file], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_schema_lists_the_declared_inputs_and_fields(policy, monkeypatch):
    schema = schema_of("assess.strat", monkeypatch)
    assert schema == json.loads(json.dumps(json_schema(policy), default=str))
    assert schema["title"] == "Assessment for Assessment 1"
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"about", "organization", "usecases", "maturity"}
    defs = schema["$defs"]
    usecase = defs["Usecase"]
    assert set(usecase["properties"]) == {"id", "impact", "effort", "hours", "purpose", "profiling", "tags", "note"}
    assert usecase["required"] == ["id"]
    assert usecase["additionalProperties"] is False
    purpose = usecase["properties"]["purpose"]["anyOf"][0]
    assert purpose["enum"] == ["recruitment", "scoring", "other"]
    organization = defs["Organization"]
    assert organization["required"] == ["name"]
    assert set(defs["Maturity"]["properties"]) == {"data", "people", "tools"}
    assert set(defs["Dimension"]["properties"]) == {"score", "documented"}


def test_schema_is_valid_json_schema_and_accepts_a_valid_assessment(monkeypatch):
    jsonschema = pytest.importorskip("jsonschema")
    # layout_a.strat has only number and enum fields: no integer ranges (see the xfail below)
    schema = schema_of("layout_a.strat", monkeypatch)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors({"usecases": [{"id": "x", "impact": 2.5, "purpose": "other"}]})) == []
    assert list(validator.iter_errors({"usecases": [{"id": "x", "impact": 9}]})) != []
    assert list(validator.iter_errors({"usecases": [{"id": "x", "impcat": 1}]})) != []


def test_schema_with_integer_ranges_is_valid_json_schema(monkeypatch):
    jsonschema = pytest.importorskip("jsonschema")
    schema = schema_of("assess.strat", monkeypatch)
    jsonschema.Draft202012Validator.check_schema(schema)


def test_schema_accepts_unknown_answers(monkeypatch):
    jsonschema = pytest.importorskip("jsonschema")
    schema = schema_of("layout_a.strat", monkeypatch)
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors({"usecases": [{"id": "x", "impact": "unknown", "purpose": "unknown"}]})) == []


def test_duplicate_ids_are_reported_with_other_problems(policy):
    ds = stage_error(assess, policy, "usecases:\n  - {id: x, impact: 7}\n  - {id: x}\n")
    assert sorted(d.code for d in ds) == ["E302", "E306"]


# ================================================================== reading: hostile and odd YAML/JSON


def test_duplicate_keys_are_refused_in_yaml(policy):
    """A reviewer reading the first `usecases:` would be misled if the second one silently won."""
    (d,) = stage_error(parse_data, "usecases: []\norganization: {name: x}\nusecases:\n  - id: a\n", "a.yaml")
    assert (d.code, d.message) == ("E301", "the key 'usecases' is written twice in the top level: keep one")
    assert (d.span.file, d.span.line, d.span.column) == ("a.yaml", 3, 1)
    (d,) = stage_error(parse_data, "organization:\n  name: x\n  name: y\n", "a.yaml")
    assert (d.message, d.span.line) == ("the key 'name' is written twice in 'organization': keep one", 3)
    (d,) = stage_error(parse_data, "x: {1: a, '1': b}\n", "a.yaml")  # the same key once read
    assert d.code == "E301"


def test_duplicate_keys_are_refused_in_json():
    (d,) = stage_error(parse_data, '{"usecases": [], "usecases": [{"id": "a"}]}', "a.json", json_format=True)
    assert (d.code, d.message) == ("E301", "the key 'usecases' is written twice in the top level: keep one")
    (d,) = stage_error(parse_data, '{"usecases": [{"id": "a", "impact": 1, "impact": 2}]}', "a.json", json_format=True)
    assert d.message == "the key 'impact' is written twice in 'usecases[0]': keep one"


def test_shipped_assessments_have_no_duplicate_keys():
    files = [*FIXTURES.glob("*.yaml"), *FIXTURES.glob("*.json"), *(REPO / "examples").glob("*.yaml"), *(REPO / "policies" / "tests").glob("*.yaml")]
    assert len(files) >= 10
    for path in files:
        read_data(path, path.name)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_a_byte_order_mark_is_ignored(policy, tmp_path, suffix):
    """Windows Notepad starts UTF-8 files with a byte-order mark."""
    path = tmp_path / f"a{suffix}"
    text = '{"organization": {"name": "x", "headcount": 3}}' if suffix == ".json" else "organization:\n  name: x\n  headcount: 3\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    facts = load_assessment(policy, path)
    assert facts.records["organization"]["headcount"] == Decimal(3)
    data, spans = parse_data("\ufefforganization: {name: x, headcount: 3}\n", "a.yaml")
    assert data == {"organization": {"name": "x", "headcount": 3}}
    assert (spans["organization.headcount"].line, spans["organization.headcount"].column) == (1, 36)  # the mark takes no column


YAML_SAMPLES = [
    "organization:\n  name: ACME\n  founded: 2001-05-17\n  revenue: 2.50\n  regulated: yes\nusecases:\n  - {id: a, tags: [data, tools]}\n",
    "a: &a {x: 1, y: [1, 2]}\nb: *a\nc: [*a, *a]\n",
    "x: 'quoted'\ny: \"esc\\u00e9\"\nz: |\n  block\n  text\nw: ~\nv: 0x1F\nu: 1_000.5\nt: .inf\n",
    "",
    "---\n",
    "- 1\n- [2, {a: b}]\n",
]
YAML_REFUSED = [
    "usecases: [\n",
    "x: !!python/object/apply:os.system [id]\n",
    "x: !!binary aGVsbG8=\n",
    "x: !!bool maybe\n",
    "x: 2026-02-30\n",
    "x: a\x0bb\n",
    "x: *nothing\n",
    "a: &a [*a]\n",
    "x: {a: 1, a: 2}\n",
    "x: 1\n---\ny: 2\n",
    "a: &a {n: 1}\nb: {<<: *a}\n",
    "? [1]\n: 1\n",
    "about: " + "[" * 70 + "]" * 70 + "\n",
]


@pytest.mark.skipif(not assessment_mod.USE_LIBYAML, reason="libyaml is not installed")
@pytest.mark.parametrize("text", YAML_SAMPLES)
def test_libyaml_and_pure_python_read_the_same(text):
    """H1: libyaml scans; the composing (limits, spans, tags) is ours, the same for both."""
    assert parse_data(text, "a.yaml", libyaml=True) == parse_data(text, "a.yaml", libyaml=False)


@pytest.mark.skipif(not assessment_mod.USE_LIBYAML, reason="libyaml is not installed")
@pytest.mark.parametrize("text", YAML_REFUSED)
def test_libyaml_and_pure_python_refuse_the_same(text):
    fast = stage_error(parse_data, text, "a.yaml", libyaml=True)
    pure = stage_error(parse_data, text, "a.yaml", libyaml=False)
    assert [d.code for d in fast] == [d.code for d in pure]
    assert [d.span.line if d.span else None for d in fast] == [d.span.line if d.span else None for d in pure]


@pytest.mark.skipif(not assessment_mod.USE_LIBYAML, reason="libyaml is not installed")
def test_libyaml_and_pure_python_read_the_shipped_files_the_same():
    for path in [*FIXTURES.glob("*.yaml"), *(REPO / "examples").glob("*.yaml")]:
        text = path.read_text(encoding="utf-8")
        assert parse_data(text, path.name, libyaml=True) == parse_data(text, path.name, libyaml=False), path.name


def test_an_alias_shares_its_data_and_has_one_span():
    data, spans = parse_data("a: &a {x: 1, y: [1, 2]}\nb: *a\n", "a.yaml")
    assert data["b"] == {"x": 1, "y": [1, 2]}
    assert (spans["b"].line, spans["b"].column) == (2, 4)
    assert "b.x" not in spans and "a.x" in spans  # nothing is recorded under an alias (B6)


def test_nesting_through_an_alias_counts(monkeypatch):
    monkeypatch.setattr(assessment_mod, "MAX_DEPTH", 5)
    parse_data("a: &a [[[1]]]\nb: [*a]\n", "a.yaml")  # b[0][0][0][0] is 5 levels down
    (d,) = stage_error(parse_data, "a: &a [[[1]]]\nb: [[*a]]\n", "a.yaml")
    assert (d.code, d.message) == ("E307", "the assessment is nested more than 5 levels deep")


def test_aliases_may_not_expand_much_more_than_the_document(monkeypatch):
    monkeypatch.setattr(assessment_mod, "ALIAS_ALLOWANCE", 100)
    parse_data("a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\n" + "".join(f"b{i}: *a\n" for i in range(10)), "a.yaml")
    (d,) = stage_error(parse_data, "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\n" + "".join(f"b{i}: *a\n" for i in range(30)), "a.yaml")
    assert d.code == "E307" and "aliases" in d.message


@pytest.mark.parametrize("libyaml", [True, False])
def test_deep_yaml_is_refused_without_recursion(libyaml):
    for text in ["about: " + "[" * 50_000 + "]" * 50_000 + "\n", "".join(" " * i + "a:\n" for i in range(2_000))]:
        (d,) = stage_error(parse_data, text, "a.yaml", libyaml=libyaml)
        assert d.code == "E307"


def test_yaml_scalars_that_cannot_be_read_are_e301_with_their_place():
    (d,) = stage_error(parse_data, "organization:\n  founded: !!timestamp nonsense\n", "a.yaml")
    assert (d.code, d.message) == ("E301", "the value 'nonsense' at 'organization.founded' cannot be read as a date")
    assert (d.span.line, d.span.column) == (2, 12)
    (d,) = stage_error(parse_data, "about:\n  x: \"tab\x0b\"\n", "a.yaml")
    assert (d.code, d.span.line, d.span.column) == ("E301", 2, 10)
    assert "control character (U+000B)" in d.message


@pytest.mark.parametrize(
    "text, is_json",
    [('{"about": {"x": ["ok", "\\ud800"]}}', True), ('about: {x: "\\ud83d\\ude42"}\n', False)],
)
def test_lone_surrogates_are_refused(text, is_json):
    (d,) = stage_error(parse_data, text, "a.json" if is_json else "a.yaml", json_format=is_json, libyaml=False)
    assert d.code == "E301"
    if is_json:
        assert d.message.startswith("the text at 'about.x[1]' holds half of a character")


def test_validate_checks_data_that_was_not_read_from_a_file(policy):
    """The web service and policy tests give data to `validate` directly."""
    (d,) = stage_error(validate, policy, {"about": {"x": "a\ud800"}})
    assert d.code == "E301" and "'about.x'" in d.message
    deep: list = []
    for _ in range(100):
        deep = [deep]
    (d,) = stage_error(validate, policy, {"about": {"x": deep}})
    assert d.code == "E307"


def test_an_assessment_that_is_not_a_regular_file_is_refused(tmp_path):
    (d,) = stage_error(read_data, tmp_path, "folder")
    assert (d.code, d.message) == ("E301", "cannot read assessment 'folder': it is not a regular file")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.yaml")
        (d,) = stage_error(read_data, tmp_path / "pipe.yaml", "pipe.yaml")  # does not block
        assert d.code == "E301"
    if Path("/dev/zero").exists():
        (d,) = stage_error(read_data, Path("/dev/zero"), "zero")  # does not read for ever
        assert d.code == "E301"


# ================================================================== names that are Python's


@pytest.mark.parametrize("name", ["_x", "__code__", "model_dump", "model_config", "json", "schema", "copy", "fields"])
def test_names_that_clash_with_python_or_pydantic_work(name, tmp_path):
    """B19: the models' attributes are generated names; the policy's names are aliases."""
    from stratdsl.engine import compile_text

    text = (
        f'policy "p" version "1"\nenum e {{ {name} b }}\ninput {name} {{ {name}: number  n: number }}\n'
        f"input g: group m over e {{ {name}: bool }}\ninput us: many u {{ {name}: number }}\n"
        f'define y label en "y" = {name}.{name} + {name}.n\n'
    )
    policy, diagnostics = compile_text(text)
    assert policy is not None, diagnostics
    facts = validate(policy, {name: {name: 3, "n": 1}, "g": {name: {name: True}}, "us": [{"id": "a", name: 2}]})
    assert facts.records[name] == {name: Decimal(3), "n": Decimal(1)}
    assert facts.entities["g"][0].values == {name: True} and facts.entities["us"][0].values == {name: Decimal(2)}
    assert facts.data[name] == {name: 3, "n": 1}
    (d,) = stage_error(validate, policy, {name: {name: 3, "f0": 1}})
    assert d.message == f"{name}.f0: unknown field 'f0'"
    schema = json_schema(policy)
    assert set(schema["properties"]) == {"about", name, "g", "us"}
    assert {name, "n"} == {*next(v for v in schema["$defs"].values() if "n" in v.get("properties", {}))["properties"]}
