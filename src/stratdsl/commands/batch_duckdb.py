"""`stratdsl batch --engine duckdb`: the policy as SQL over CSV, JSONL or Parquet read in place.

DuckDB evaluates every decision of every assessment at once (backends/
sql_duckdb.py, all cores). Assessments that SQL settles completely are
written from SQL: their decision objects are the bytes the Python engine
writes. Every other assessment — an undetermined decision, a cell Python might
read differently, a zero divisor — is handed to the Python evaluator through
the ordinary batch path, so its line is exactly the Python line (with the
missing facts, or the errors of an invalid input). Output: JSONL (appended,
resumable, in input order, like the local engine) or, for an OUT ending in
.parquet, one row per decision.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from ..backends.sql_duckdb import run_policy
from ..language.diagnostics import Diagnostic, StratError


def _python_items(_batch: Any, con: Any, paths: list[Path], keys: set[str], policy: Any, rows_input: str | None) -> list[Any]:
    """The assessments SQL did not settle, read the way the local engine reads them."""
    items: list[Any] = []
    if not keys:
        return items
    csvs = [str(p) for p in paths if p.suffix.lower() == ".csv"]
    for item in _batch.iter_inputs(csvs, policy, rows_input):
        if item.key in keys:
            items.append(item)
    others = [p for p in paths if p.suffix.lower() != ".csv"]
    if others:
        found = {item.key for item in items}
        wanted = sorted(keys - found)
        if wanted:
            con.execute("CREATE OR REPLACE TEMP TABLE wanted (assessment VARCHAR)")
            con.executemany("INSERT INTO wanted VALUES (?)", [(k,) for k in wanted])
            cursor = con.execute(
                "SELECT * EXCLUDE (file_index, row_number, group_name, file, ord) FROM raw WHERE assessment IN (SELECT assessment FROM wanted) ORDER BY ord"
            )
            names = [d[0] for d in cursor.description]
            # the columns placed in the policy's inputs as the local engine places them (E605 cannot
            # arise here: SQL read these files with the same header)
            columns, _problems = _batch._columns([n for n in names if n != "assessment"], policy, rows_input)
            rebuilt: dict[str, dict[str, Any]] = {}
            for row in cursor.fetchall():
                cells = dict(zip(names, row, strict=True))
                key = cells.pop("assessment")
                _batch._csv_fill(rebuilt.setdefault(key, {}), {k: ("" if v is None else v) for k, v in cells.items()}, columns, rows_input)
            items.extend(_batch.Item(key, data) for key, data in rebuilt.items())
    return items


def run(
    _batch: Any,
    sources: dict[str, str],
    root: str,
    inputs: list[str],
    out: Path,
    as_of: date,
    params: dict[str, str],
    jobs: int = 1,
    progress: Any = None,
    csv_input: str | None = None,
) -> Any:
    """`_batch` is commands.batch (its readers, its Python path, its Summary)."""
    from ..engine import parse_params

    policy = _batch._policy_for(sources, root)
    rows_input = csv_input or _batch._default_rows_input(policy)
    paths = [Path(p) for p in inputs]
    for path in paths:
        if path.is_dir() or path.suffix.lower() not in (".csv", ".jsonl", ".parquet"):
            raise StratError(
                [Diagnostic("E854", f"--engine duckdb reads .csv, .jsonl and .parquet files, not '{path}'", hint="use --engine local for folders of YAML/JSON assessments")]
            )
    overrides = parse_params(policy, [f"{k}={v}" for k, v in params.items()])
    try:
        con = run_policy(policy, paths, as_of, overrides, rows_input, jobs if jobs > 1 else None)
    except StratError:
        raise
    except Exception as error:  # duckdb.Error: a file DuckDB cannot read, a number past DECIMAL(38)
        raise StratError([Diagnostic("E856", f"DuckDB could not evaluate the batch: {str(error).splitlines()[0]}", hint="run with --engine local")]) from None
    summary = _batch.Summary()
    parquet = out.suffix.lower() == ".parquet"
    seen = set() if parquet else _batch.done_keys(out)
    open_keys = {k for (k,) in con.execute("SELECT key FROM lines WHERE line IS NULL").fetchall()} - seen
    work = ((sources, root, as_of.isoformat(), params, item) for item in _python_items(_batch, con, paths, open_keys, policy, rows_input))
    python_lines = {}
    for line in _batch._execute(work, jobs, "local", None):
        record = json.loads(line)
        python_lines[record["key"]] = line
    # counts of what SQL settled, from SQL
    settled = con.execute(
        "SELECT d.decision, CASE WHEN d.status = 'decided' THEN d.outcome ELSE d.status END, count(*) FROM decisions d "
        "JOIN lines l ON l.key = d.assessment WHERE l.line IS NOT NULL GROUP BY ALL"
    ).fetchall()
    if parquet:
        _write_parquet(con, out, python_lines)
    else:
        skipped_settled = Counter()
        with out.open("a", encoding="utf-8") as handle:
            cursor = con.execute("SELECT key, line FROM lines ORDER BY ord")
            while rows := cursor.fetchmany(65536):
                for key, line in rows:
                    if key in seen:
                        summary.skipped += 1
                        if line is not None:
                            skipped_settled[key] += 1
                        continue
                    if line is None:
                        line = python_lines[key]
                    handle.write(line + "\n")
                    summary.processed += 1
                if progress is not None:
                    progress(summary)
        if skipped_settled:  # a resumed run: count only what this run wrote
            settled = con.execute(
                "SELECT d.decision, CASE WHEN d.status = 'decided' THEN d.outcome ELSE d.status END, count(*) FROM decisions d "
                "JOIN lines l ON l.key = d.assessment WHERE l.line IS NOT NULL AND l.key NOT IN (SELECT * FROM UNNEST(?)) GROUP BY ALL",
                [sorted(skipped_settled)],
            ).fetchall()
    for decision, outcome, count in settled:
        summary.outcomes.setdefault(decision, Counter())[outcome] += count
    for line in python_lines.values():
        record = json.loads(line)
        if record["status"] == "invalid":
            summary.invalid += 1
            summary.invalid_keys.append((record["key"], "; ".join(record["errors"])))
        else:
            for d in record["decisions"]:
                outcome = d["outcome"] if d["status"] == "decided" else d["status"]
                summary.outcomes.setdefault(d["decision"], Counter())[outcome] += 1
    if parquet:
        summary.processed = con.execute("SELECT count(*) FROM lines").fetchone()[0]
    return summary


def _write_parquet(con: Any, out: Path, python_lines: dict[str, str]) -> None:
    """One row per decision: key, decision, entity, status, outcome, rule, missing (and errors of invalid inputs)."""
    con.execute(
        "CREATE TEMP TABLE python_rows (key VARCHAR, d_index BIGINT, decision VARCHAR, entity VARCHAR, status VARCHAR, "
        "outcome VARCHAR, rule VARCHAR, missing VARCHAR[], errors VARCHAR[])"
    )
    rows = []
    for key, line in python_lines.items():
        record = json.loads(line)
        if record["status"] == "invalid":
            rows.append((key, 0, None, None, "invalid", None, None, [], record["errors"]))
            continue
        for index, d in enumerate(record["decisions"]):
            rows.append((key, index, d["decision"], d["entity"], d["status"], d["outcome"], d["rule"], d["missing"], []))
    if rows:
        con.executemany("INSERT INTO python_rows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    target = "'" + str(out).replace("'", "''") + "'"
    con.execute(
        f"""COPY (
          SELECT key, decision, entity, status, outcome, rule, missing, errors FROM (
            SELECT l.key, l.ord, row_number() OVER (PARTITION BY d.assessment ORDER BY d.d_index, d.ord) AS pos,
                   d.decision, d.entity, d.status, d.outcome, d.rule, CAST([] AS VARCHAR[]) AS missing, CAST([] AS VARCHAR[]) AS errors
            FROM lines l JOIN decisions d ON d.assessment = l.key WHERE l.line IS NOT NULL
            UNION ALL
            SELECT p.key, l.ord, p.d_index, p.decision, p.entity, p.status, p.outcome, p.rule, p.missing, p.errors
            FROM python_rows p JOIN lines l ON l.key = p.key)
          ORDER BY ord, pos) TO {target} (FORMAT parquet)"""
    )
