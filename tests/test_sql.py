"""The SQL back end: every decision SQL settles equals the Python evaluator's, on DuckDB and PostgreSQL.

Oracle: runtime.evaluator. On the examples of the reference methodology, on
generated assessments and on generated policies (fuzz/stratfuzz.py, kept to
those the SQL back end compiles), every row SQL marks decided or no_match is
the Python (status, outcome, rule); rows SQL leaves undetermined go to Python.
End to end: `stratdsl batch --engine duckdb` writes the local engine's lines
(decision objects byte for byte), and `stratdsl sql` prints every dialect.
"""

from __future__ import annotations

import csv
import json
import random
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from helpers import REPO
from sqlengines import NulInText, Postgres, compare, duckdb_results, python_results
from stratdsl.backends.sql import compile_sql
from stratdsl.engine import compile_policy, compile_text, load_assessment
from stratdsl.language.diagnostics import StratError
from stratdsl.runtime.assessment import validate

sys.path.insert(0, str(REPO / "fuzz"))
import stratfuzz as sf

AS_OF = date(2026, 11, 26)
STRATEGY = REPO / "policies" / "strategy.strat"
THREE = REPO / "benchmarks" / "three.strat"
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))


def quick(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def strategy():
    policy, diagnostics = compile_policy(STRATEGY)
    assert policy is not None, diagnostics
    return policy


@pytest.fixture(scope="module")
def postgres():
    server = Postgres()
    reason = server.start()
    if reason is not None:
        server.stop()
        pytest.skip(reason)
    yield server
    server.stop()


def _examples(policy):
    return [(str(p.name), load_assessment(policy, p)) for p in EXAMPLES]


def test_the_reference_methodology_on_duckdb_settles_most_decisions_as_python_does(strategy):
    items = _examples(strategy)
    settled, left = compare(python_results(strategy, items, AS_OF), duckdb_results(strategy, items, AS_OF))
    assert settled > 300 and left < settled / 4


def test_the_reference_methodology_on_postgres_gives_the_same_decisions(strategy, postgres):
    items = _examples(strategy)
    python = python_results(strategy, items, AS_OF)
    assert compare(python, postgres.results(strategy, items, AS_OF)) == compare(python, duckdb_results(strategy, items, AS_OF))


@quick(6)
@given(st.data())
def test_generated_assessments_agree_on_duckdb(strategy, data):
    raw = data.draw(sf.assessment_data(strategy, invalid=False))
    try:
        assessment = validate(strategy, raw, "generated")
    except StratError:
        assume(False)
    items = [("generated", assessment)]
    try:
        python = python_results(strategy, items, AS_OF)
    except StratError:  # E201/E202: no decision to compare
        assume(False)
    compare(python, duckdb_results(strategy, items, AS_OF))


@quick(40)
@given(sf.policies(), st.data())
def test_generated_policies_that_compile_to_sql_agree_on_duckdb(text, data):
    policy, _ = compile_text(text, "generated.strat")
    assume(policy is not None and policy.inputs)
    try:
        compile_sql(policy, AS_OF)
    except StratError as error:  # a clear, coded refusal is allowed; a wrong answer is not
        assert all(d.code in ("E851", "E852") and "cannot" in d.message for d in error.diagnostics)
        assume(False)
    items = []
    for n in range(3):
        try:
            items.append((f"a{n}", validate(policy, data.draw(sf.assessment_data(policy, invalid=False)), f"a{n}")))
        except StratError:
            continue
    assume(items)
    try:
        python = python_results(policy, items, AS_OF)
    except StratError:
        assume(False)
    compare(python, duckdb_results(policy, items, AS_OF))


def test_generated_policies_agree_on_postgres(postgres):
    """A handful of generated policies and assessments, each run on PostgreSQL too."""
    checked = 0

    @settings(max_examples=12, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(sf.policies(), st.data())
    def run(text, data):
        nonlocal checked
        policy, _ = compile_text(text, "generated.strat")
        assume(policy is not None and policy.inputs)
        try:
            compile_sql(policy, AS_OF)
        except StratError:
            assume(False)
        try:
            items = [("a0", validate(policy, data.draw(sf.assessment_data(policy, invalid=False)), "a0"))]
            python = python_results(policy, items, AS_OF)
        except StratError:
            assume(False)
        try:
            got = postgres.results(policy, items, AS_OF)
        except NulInText:
            assume(False)
        compare(python, got)
        checked += 1

    run()
    assert checked > 3


def test_a_construct_sql_cannot_say_is_a_compile_time_error_naming_it():
    policy, diagnostics = compile_text(
        'policy "p" version "1"\ninput usecases: many usecase { gain: number\n cost: number 1..100 }\n'
        "define r for each usecase = rank(usecase by gain / cost)\n"
        "decision d for each usecase { first when r = 1\n otherwise other }\n",
        "p.strat",
    )
    assert policy is not None, diagnostics
    with pytest.raises(StratError) as caught:
        compile_sql(policy, AS_OF)
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.code == "E851"
    assert "rank() by a quotient" in diagnostic.message
    assert diagnostic.span is not None and diagnostic.span.line == 4  # the quotient


def test_known_of_a_computed_value_is_never_false_where_the_language_knows_it():
    """`if org.a > 1 then 2 else 2` is known to the language even when org.a is not; SQL
    leaves it NULL, so known() there is "maybe" and the decision is left to Python."""
    policy, diagnostics = compile_text(
        'policy "p" version "1"\ninput org { a: number }\n'
        "define x = if org.a > 1 then 2 else 2\n"
        "decision d { yes when known(x)\n otherwise no }\n",
        "p.strat",
    )
    assert policy is not None, diagnostics
    items = [(key, validate(policy, {"org": org}, key)) for key, org in (("known", {"a": 3}), ("unknown", {}))]
    python = python_results(policy, items, AS_OF)
    sql = duckdb_results(policy, items, AS_OF)
    assert python[("unknown", "d", None)][:2] == ("decided", "yes")
    assert sql[("unknown", "d", None)][0] == "undetermined"  # handed to Python, never "no"
    assert compare(python, sql) == (1, 1)


def _stratdsl(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["stratdsl", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "spark", "bigquery", "snowflake"])
def test_stratdsl_sql_prints_every_dialect_with_its_header(dialect, tmp_path):
    done = _stratdsl("sql", str(STRATEGY), "--dialect", dialect, "--as-of", "2026-11-26", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    head = done.stdout.splitlines()[:3]
    assert head[0].startswith("-- policy ") and "revision sha256 " in head[0]
    assert f"dialect {dialect}, as of 2026-11-26" in head[1]
    assert "--   usecases (many):" in done.stdout and "WITH " in done.stdout


def test_stratdsl_sql_output_runs_on_duckdb(strategy, tmp_path):
    import duckdb

    from stratdsl.backends.sql_duckdb import bind_assessments

    done = _stratdsl("sql", str(STRATEGY), "--as-of", "2026-11-26", cwd=tmp_path)
    con = duckdb.connect()
    items = _examples(strategy)
    bind_assessments(con, strategy, items)
    rows = con.execute(done.stdout).fetchall()
    assert len(rows) == sum(1 for _ in python_results(strategy, items, AS_OF))


def _write_csv(path: Path, n: int, seed: int) -> None:
    rng = random.Random(seed)
    grid = [str(v / 10) for v in range(51)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["assessment", "id", "impact", "effort", "recruitment", "narrow_task", "profiling", "score"])
        for i in range(n):
            out.writerow([
                f"a{i // 4}", f"u{i}", rng.choice(grid), rng.choice(grid + ["unknown"]), rng.choice(["true", "false", "oui"]),
                rng.choice(["true", "false"]), rng.choice(["true", "false"] * 8 + ["", "maybe"]), rng.choice(grid + ["7", "1.25"]),
            ])


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_batch_duckdb_writes_the_lines_of_the_local_engine(tmp_path, jobs):
    source = tmp_path / "cases.csv"
    _write_csv(source, 800, 7)
    local = _stratdsl("batch", str(THREE), str(source), "-o", "local.jsonl", "--as-of", "2026-11-26", cwd=tmp_path)
    duck = _stratdsl("batch", str(THREE), str(source), "-o", "duck.jsonl", "--as-of", "2026-11-26", "--engine", "duckdb", "--jobs", jobs, cwd=tmp_path)
    assert local.returncode == duck.returncode == 1  # some rows are invalid on purpose
    assert local.stdout.replace("local.jsonl", "duck.jsonl") == duck.stdout  # the same counts per outcome
    from_sql = 0
    for a, b in zip((tmp_path / "local.jsonl").read_text().splitlines(), (tmp_path / "duck.jsonl").read_text().splitlines(), strict=True):
        if '"engine":"duckdb"' in b:
            from_sql += 1
            assert json.loads(a)["key"] == json.loads(b)["key"]
            # the decision objects, byte for byte
            assert a.split('"decisions":', 1)[1].split('],"key"', 1)[0] == b.split('"decisions":', 1)[1].split('],"engine"', 1)[0]
        else:
            assert a == b
    assert 20 < from_sql < 200


def test_batch_duckdb_reads_parquet_and_writes_parquet(tmp_path):
    import duckdb

    source = tmp_path / "cases.csv"
    _write_csv(source, 200, 3)
    duckdb.execute(f"COPY (SELECT * FROM read_csv('{source}', all_varchar = true)) TO '{tmp_path / 'cases.parquet'}' (FORMAT parquet)")
    done = _stratdsl("batch", str(THREE), "cases.parquet", "-o", "out.parquet", "--as-of", "2026-11-26", "--engine", "duckdb", cwd=tmp_path)
    local = _stratdsl("batch", str(THREE), "cases.csv", "-o", "local.jsonl", "--as-of", "2026-11-26", cwd=tmp_path)
    assert done.stdout.splitlines()[1:] == local.stdout.splitlines()[1:]
    rows = duckdb.execute(f"SELECT key, decision, entity, status, outcome, rule FROM '{tmp_path / 'out.parquet'}'").fetchall()
    expected = []
    for line in (tmp_path / "local.jsonl").read_text().splitlines():
        record = json.loads(line)
        key = record["key"].replace("cases.csv", "cases.parquet").replace(".parquet:", ".parquet#")
        for d in record.get("decisions", []):
            expected.append((key, d["decision"], d["entity"], d["status"], d["outcome"], d["rule"]))
    got = [r for r in rows if r[3] != "invalid"]
    assert sorted(got) == sorted(expected)


def test_batch_duckdb_refuses_a_folder_with_a_coded_error(tmp_path):
    done = _stratdsl("batch", str(THREE), str(tmp_path), "-o", "out.jsonl", "--engine", "duckdb", cwd=tmp_path)
    assert done.returncode == 1
    assert "error[E854]" in done.stderr and "Traceback" not in done.stderr


def test_batch_duckdb_reads_flat_jsonl_like_its_csv(tmp_path):
    import duckdb

    source = tmp_path / "cases.csv"
    _write_csv(source, 120, 5)
    duckdb.execute(f"COPY (SELECT * FROM read_csv('{source}', all_varchar = true)) TO '{tmp_path / 'cases.jsonl'}' (FORMAT json)")
    from_csv = _stratdsl("batch", str(THREE), "cases.csv", "-o", "a.jsonl", "--as-of", "2026-11-26", "--engine", "duckdb", cwd=tmp_path)
    from_jsonl = _stratdsl("batch", str(THREE), "cases.jsonl", "-o", "b.jsonl", "--as-of", "2026-11-26", "--engine", "duckdb", cwd=tmp_path)
    assert from_csv.stdout.splitlines()[1:] == from_jsonl.stdout.splitlines()[1:]
    decisions = [json.loads(line).get("decisions") for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert decisions == [json.loads(line).get("decisions") for line in (tmp_path / "b.jsonl").read_text().splitlines()]


def test_batch_duckdb_resumes_after_a_torn_line(tmp_path):
    source = tmp_path / "cases.csv"
    _write_csv(source, 200, 11)
    args = ("batch", str(THREE), "cases.csv", "--as-of", "2026-11-26", "--engine", "duckdb")
    _stratdsl(*args, "-o", "full.jsonl", cwd=tmp_path)
    full = (tmp_path / "full.jsonl").read_bytes()
    (tmp_path / "part.jsonl").write_bytes(full[: len(full) // 2])  # cut inside a line
    again = _stratdsl(*args, "-o", "part.jsonl", cwd=tmp_path)
    assert "already in part.jsonl" in again.stdout
    assert (tmp_path / "part.jsonl").read_bytes() == full


OPTIONAL = '''policy "Optional facts" version "1"

input org { headcount: integer 0..100000 }

input usecases: many usecase {
  impact: number 0..5
  effort: number 0..5
  personal_data: bool
}

define big = org.headcount >= 250

decision quadrant for each usecase {
  quick_win when impact >= 3 and effort < 3
  structuring when impact >= 3 and effort >= 3
  secondary when impact < 3 and effort < 3
  avoid when impact < 3 and effort >= 3
}

decision care for each usecase {
  high when personal_data and big
  otherwise low
}

define cases = count(usecases where personal_data)

decision portfolio {
  large when cases >= 3
  otherwise small
}
'''


def test_batch_duckdb_hands_undetermined_decisions_to_python(tmp_path):
    """Unknown facts: what SQL leaves open is written by Python (with its missing facts)."""
    (tmp_path / "p.strat").write_text(OPTIONAL, encoding="utf-8")
    rng = random.Random(5)
    with (tmp_path / "cases.csv").open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["assessment", "id", "impact", "effort", "personal_data", "org.headcount"])
        for i in range(300):
            rare = lambda known, *unknown: rng.choice(unknown) if rng.random() < 0.08 else rng.choice(known)  # noqa: E731
            out.writerow([f"a{i // 3}", f"u{i}", rare(["1", "3.5", "2"], "", "unknown"), rare(["1", "4", "2.5"], ""),
                          rare(["true", "false"], ""), rare(["10", "300"], "") if i % 3 == 0 else ""])
    args = ("batch", "p.strat", "cases.csv", "--as-of", "2026-11-26")
    local = _stratdsl(*args, "-o", "local.jsonl", cwd=tmp_path)
    duck = _stratdsl(*args, "-o", "duck.jsonl", "--engine", "duckdb", cwd=tmp_path)
    assert local.returncode == duck.returncode == 0, duck.stderr
    assert local.stdout.replace("local.jsonl", "duck.jsonl") == duck.stdout
    python_lines = sql_lines = undetermined = 0
    for a, b in zip((tmp_path / "local.jsonl").read_text().splitlines(), (tmp_path / "duck.jsonl").read_text().splitlines(), strict=True):
        if '"engine":"duckdb"' in b:
            sql_lines += 1
            assert a.split('"decisions":', 1)[1].split('],"key"', 1)[0] == b.split('"decisions":', 1)[1].split('],"engine"', 1)[0]
        else:
            python_lines += 1  # undetermined, or settled by what Python knows of the unknowns
            assert a == b
            undetermined += '"undetermined"' in a
    assert python_lines > 10 and sql_lines > 10 and undetermined > 5


def test_a_sum_over_entities_keeps_its_decimals():
    """Regression (found by the generated-policy test): the empty sum's CAST(0 AS DECIMAL(38, 0))
    set the scale of the whole CASE, so a sum of 2.5 was read as 3 and banded 'top'."""
    policy, diagnostics = compile_text(
        'policy "p" version "1"\ninput items: many item { score: number 0..5 }\n'
        "bands band2 on sum(item, score) { b0 from 0 below 3  top from 3 }\n",
        "p.strat",
    )
    assert policy is not None, diagnostics
    items = [("a", validate(policy, {"items": [{"id": "x", "score": Decimal("2.5")}]}, "a"))]
    python = python_results(policy, items, AS_OF)
    sql = duckdb_results(policy, items, AS_OF)
    assert sql[("a", "band2", None)] == python[("a", "band2", None)] == ("decided", "b0", "band2.b0")
    assert compare(python, sql) == (1, 0)


def _stratdsl_env(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(["stratdsl", *args], cwd=cwd, capture_output=True, text=True, timeout=600, env={**os.environ, **env})


def _same_lines(local: Path, duck: Path) -> int:
    """Lines written from SQL carry the local engine's decision objects byte for byte; the others are identical."""
    from_sql = 0
    for a, b in zip(local.read_text().splitlines(), duck.read_text().splitlines(), strict=True):
        if '"engine":"duckdb"' in b:
            from_sql += 1
            assert json.loads(a)["key"] == json.loads(b)["key"]
            assert a.split('"decisions":', 1)[1].split('],"key"', 1)[0] == b.split('"decisions":', 1)[1].split('],"engine"', 1)[0]
        else:
            assert a == b
    return from_sql


def test_batch_duckdb_in_parts_writes_the_lines_of_the_local_engine(tmp_path):
    """Evaluated a part at a time (a few dozen rows a part, assessments scattered over the file,
    the least memory allowed): the same lines in the same order as in one part."""
    source = tmp_path / "cases.csv"
    _write_csv(source, 600, 13)
    lines = source.read_text().splitlines()
    rng = random.Random(2)
    body = lines[1:]
    rng.shuffle(body)  # the rows of an assessment scattered: parts overlap in `ord`
    source.write_text("\n".join([lines[0], *body]) + "\n", encoding="utf-8")
    args = ("batch", str(THREE), "cases.csv", "--as-of", "2026-11-26")
    local = _stratdsl(*args, "-o", "local.jsonl", cwd=tmp_path)
    small = {"STRATDSL_DUCKDB_PART_ROWS": "45", "STRATDSL_DUCKDB_MEMORY": "256MB", "STRATDSL_DUCKDB_TEMP": str(tmp_path)}
    duck = _stratdsl_env(small, *args, "-o", "duck.jsonl", "--engine", "duckdb", cwd=tmp_path)
    assert local.returncode == duck.returncode == 1, duck.stderr  # some rows are invalid on purpose
    assert local.stdout.replace("local.jsonl", "duck.jsonl") == duck.stdout
    assert 20 < _same_lines(tmp_path / "local.jsonl", tmp_path / "duck.jsonl") < 150
    assert not list(tmp_path.glob("stratdsl-duckdb-*"))  # the spill folder is removed
    # Parquet in parts: the same rows, in the same order, as in one part
    import duckdb

    one = _stratdsl(*args, "-o", "one.parquet", "--engine", "duckdb", cwd=tmp_path)
    parts = _stratdsl_env(small, *args, "-o", "parts.parquet", "--engine", "duckdb", cwd=tmp_path)
    assert one.stdout.replace("one.parquet", "parts.parquet") == parts.stdout
    read = "SELECT * FROM '{}'"
    assert duckdb.execute(read.format(tmp_path / "one.parquet")).fetchall() == duckdb.execute(read.format(tmp_path / "parts.parquet")).fetchall()
    assert sorted(p.name for p in tmp_path.iterdir() if "parquet" in p.name) == ["one.parquet", "parts.parquet"]  # no piece left


def test_parts_are_smaller_for_a_policy_of_many_stages(monkeypatch):
    """A part holds rows × CTE stages of about PART_WORK: benchmark A keeps 10^6 rows a part,
    the reference methodology (hundreds of stages) gets about 10^5 use cases; the variable wins."""
    from stratdsl.backends.sql_duckdb import PART_ROWS, part_rows

    monkeypatch.delenv("STRATDSL_DUCKDB_PART_ROWS", raising=False)
    stages = {path: len(compile_sql(compile_policy(path)[0], AS_OF).ctes) for path in (THREE, STRATEGY)}
    assert part_rows(stages[THREE]) == PART_ROWS
    assert 50_000 <= part_rows(stages[STRATEGY]) <= 200_000
    monkeypatch.setenv("STRATDSL_DUCKDB_PART_ROWS", "45")
    assert part_rows(stages[STRATEGY]) == 45


@pytest.mark.parametrize(
    ("env", "code", "words"),
    [
        ({"STRATDSL_DUCKDB_MEMORY": "lots"}, "E860", "'lots' is not an amount of memory"),
        ({"STRATDSL_DUCKDB_MEMORY": "100MB"}, "E860", "below the 256MB"),
        ({"STRATDSL_DUCKDB_TEMP": "/nonexistent/spill"}, "E861", "not a folder DuckDB can write to"),
    ],
)
def test_batch_duckdb_refuses_a_bad_memory_setting_before_any_work(tmp_path, env, code, words):
    source = tmp_path / "cases.csv"
    _write_csv(source, 20, 1)
    done = _stratdsl_env(env, "batch", str(THREE), "cases.csv", "-o", "out.jsonl", "--engine", "duckdb", cwd=tmp_path)
    assert done.returncode == 1
    assert f"error[{code}]" in done.stderr and words in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out.jsonl").exists()


# ------------------------------------------------------------------ nested JSONL


def _both_engines(policy_path: Path, source: Path, tmp_path: Path, name: str) -> tuple[int, int]:
    """Run the local engine and DuckDB on `source` (in process); every line the same, decision
    objects of SQL lines byte for byte. Returns (lines from SQL, lines)."""
    from stratdsl.commands import batch

    policy, diagnostics = compile_policy(policy_path)
    assert policy is not None, diagnostics
    sources, root = batch.policy_sources(policy)
    local, duck = tmp_path / f"{name}.local.jsonl", tmp_path / f"{name}.duck.jsonl"
    a = batch.run_batch(sources, root, [str(source)], local, AS_OF, {}, 1, "local")
    b = batch.run_batch(sources, root, [str(source)], duck, AS_OF, {}, 1, "duckdb")
    assert (a.processed, a.invalid, a.outcomes, sorted(a.invalid_keys)) == (b.processed, b.invalid, b.outcomes, sorted(b.invalid_keys))
    return _same_lines(local, duck), a.processed


def _example_lines() -> list[str]:
    import yaml

    return [json.dumps(yaml.safe_load(p.read_text(encoding="utf-8")), ensure_ascii=False, default=str) for p in EXAMPLES]


def test_batch_duckdb_reads_nested_jsonl_as_the_local_engine_does(tmp_path, monkeypatch):
    """The local engine's JSONL (one YAML-shaped assessment a line) read in place by DuckDB:
    the examples, and lines DuckDB must hand to Python because Python reads them otherwise."""
    lines = _example_lines()
    first = json.loads(lines[0])
    org = first["organization"]
    case = first["usecases"][0]

    def variant(**changes) -> str:
        data = json.loads(lines[0])
        for path, value in changes.items():
            node = data
            *head, last = path.split("__")
            for part in head:
                node = node[int(part)] if part.isdigit() else node[part]
            node[last] = value
        return json.dumps(data, ensure_ascii=False)

    odd = [
        "",  # blank lines are numbered, not read
        " \t ",
        "{not json",
        "[1, 2]",
        variant(organization__headcount=str(org["headcount"])),  # a number given as text: E302
        variant(organization__headcount=None),  # null
        variant(organization__headcount="unknown"),
        variant(organization__headcount=50.0),
        variant(organization__public_body="true"),  # a bool given as text
        variant(organization__colour="red"),  # no such field
        variant(usecases__0__colour="red"),
        variant(usecases__0__id="bad id!"),
        variant(usecases=[]),
        variant(usecases=[case, case]),  # a repeated id
        variant(about={"n": 3}),  # a number in the free notes
        variant(organization__name=" " + org["name"]),
        variant(organization__objectives=["reduce_costs", "reduce_costs"]),
        variant(organization__objectives="reduce_costs"),  # one answer to a list question
        lines[0].replace('"organization": {', '"organization": {"headcount": 7, ', 1),  # a repeated key
        lines[0].replace(json.dumps(org["name"], ensure_ascii=False), '"Usinage \\u00e9"', 1),  # an escape
        "\u00a0",  # blank for Python only
    ]
    source = tmp_path / "cases.jsonl"
    source.write_text("\n".join(lines + odd + lines) + "\n", encoding="utf-8")
    from_sql, total = _both_engines(STRATEGY, source, tmp_path, "one")
    assert total == 2 * len(lines) + len(odd) - 3 and from_sql >= len(lines)  # most examples are settled by SQL
    monkeypatch.setenv("STRATDSL_DUCKDB_PART_ROWS", "300")  # the same in parts
    assert _both_engines(STRATEGY, source, tmp_path, "parts") == (from_sql, total)
    # read a slice at a time: a line a slice (blank lines alone in theirs), then a few lines a slice
    for size in ("1", "9000"):
        monkeypatch.setenv("STRATDSL_DUCKDB_JSONL_BYTES", size)
        assert _both_engines(STRATEGY, source, tmp_path, f"slices{size}") == (from_sql, total)


@quick(2)
@given(st.data())
def test_generated_nested_jsonl_agrees_with_the_local_engine(tmp_path_factory, data):
    policy, _ = compile_policy(STRATEGY)
    rows = [sf.to_json_text(data.draw(sf.assessment_data(policy))) for _ in range(12)]
    folder = tmp_path_factory.mktemp("nested")
    source = folder / "generated.jsonl"
    # a lone surrogate as its JSON escape (a UTF-8 file cannot hold it): Python refuses it (E301)
    source.write_bytes(("\n".join(_example_lines()[:2] + rows) + "\n").encode("utf-8", "backslashreplace"))
    _both_engines(STRATEGY, source, folder, "generated")
