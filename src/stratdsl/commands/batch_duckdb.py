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
import os
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from ..backends.sql import text_literal
from ..backends.sql_duckdb import close, run_policy
from ..language.diagnostics import Diagnostic, StratError
from ..language.messages import N_, Msg


class _PythonReader:
    """The assessments SQL did not settle, read the way the local engine reads them.

    CSV files are read by the local engine's reader, once, lazily: the parts come in the order
    of the assessments' first rows, which is the order in which that reader yields them, so one
    walk serves every part. The other files (and, should the walk miss a key, that key) are
    rebuilt from the part's `raw` rows."""

    def __init__(self, _batch: Any, paths: list[Path], nested: list[Path], policy: Any, rows_input: str | None) -> None:
        self._batch, self.policy, self.rows_input = _batch, policy, rows_input
        # CSV and nested JSONL are read again by the local engine's readers, in the order given
        self.csvs = [str(p) for p in paths if p.suffix.lower() == ".csv" or p in nested]
        self.nested = [str(p) for p in nested]
        self._walk: Any = None

    def _from_csv(self, keys: set[str]) -> list[Any]:
        if not self.csvs:
            return []
        if self._walk is None:  # only when some CSV assessment needs Python
            self._walk = self._batch.iter_inputs(self.csvs, self.policy, self.rows_input)
        wanted = set(keys)
        items = []
        # keys of other files (or of later parts) are never met here: the walk would run to
        # the end of the CSV files, so it stops as soon as every CSV key of the part is found
        csv_keys = {k for k in wanted if any(k.startswith(c + "#") or k.startswith(c + ":") or k == c for c in self.csvs)}
        while csv_keys:
            item = next(self._walk, None)
            if item is None:
                break
            if item.key in csv_keys:
                items.append(item)
                csv_keys.discard(item.key)
        return items

    def items(self, con: Any, keys: set[str]) -> list[Any]:
        items = self._from_csv(keys) if keys else []
        if not keys:
            return items
        found = {item.key for item in items}
        wanted = sorted(keys - found)
        lost = [k for k in wanted if any(k.startswith(n + ":") for n in self.nested)]
        if lost:  # a line the local engine's reader numbers otherwise: never guessed
            raise StratError([Diagnostic("E856", Msg(N_("DuckDB and the local engine do not read '{key}' alike"), key=lost[0]), hint=Msg(_ENGINE_LOCAL))])
        if wanted:
            cursor = con.execute(
                "SELECT * EXCLUDE (file_index, row_number, group_name, file, ord, nested_bad) FROM raw WHERE assessment IN (SELECT unnest(CAST(? AS VARCHAR[]))) ORDER BY ord", [wanted]
            )
            names = [d[0] for d in cursor.description]
            # the columns placed in the policy's inputs as the local engine places them (E605 cannot
            # arise here: SQL read these files with the same header)
            columns, _problems = self._batch._columns([n for n in names if n != "assessment"], self.policy, self.rows_input)
            rebuilt: dict[str, dict[str, Any]] = {}
            for row in cursor.fetchall():
                cells = dict(zip(names, row, strict=True))
                key = cells.pop("assessment")
                self._batch._csv_fill(rebuilt.setdefault(key, {}), {k: ("" if v is None else v) for k, v in cells.items()}, columns, self.rows_input)
            items.extend(self._batch.Item(key, data) for key, data in rebuilt.items())
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
    import duckdb

    from ..engine import parse_params

    policy = _batch._policy_for(sources, root)
    rows_input = csv_input or _batch._default_rows_input(policy)
    paths = [Path(p) for p in inputs]
    for path in paths:
        if path.is_dir() or path.suffix.lower() not in (".csv", ".jsonl", ".parquet"):
            raise StratError(
                [Diagnostic(
                        "E854",
                        Msg(N_("--engine duckdb reads .csv, .jsonl and .parquet files, not '{path}'"), path=path),
                        hint=Msg(N_("use --engine local for folders of YAML/JSON assessments")),
                    )]
            )
    overrides = parse_params(policy, [f"{k}={v}" for k, v in params.items()])
    try:
        con, bound, parts = run_policy(policy, paths, as_of, overrides, rows_input, jobs if jobs > 1 else None)
    except duckdb.Error as error:  # a file DuckDB cannot read
        raise _failed(error) from None
    try:
        return _write(_batch, con, parts, sources, root, paths, bound.nested, out, as_of, params, jobs, progress, policy, rows_input)
    except duckdb.Error as error:  # a number past DECIMAL(38), a spill folder that is full
        raise _failed(error) from None
    finally:
        close(con)


_ENGINE_LOCAL = N_("run with --engine local")


def _failed(error: Exception) -> StratError:
    return StratError([Diagnostic("E856", Msg(N_("DuckDB could not evaluate the batch: {error}"), error=str(error).splitlines()[0]), hint=Msg(_ENGINE_LOCAL))])


def _write(
    _batch: Any, con: Any, parts: Any, sources: dict[str, str], root: str, paths: list[Path], nested: list[Path], out: Path, as_of: date,
    params: dict[str, str], jobs: int, progress: Any, policy: Any, rows_input: str | None,
) -> Any:
    """Evaluate the parts one after the other, writing each part's lines before the next."""
    summary = _batch.Summary()
    parquet = out.suffix.lower() == ".parquet"
    seen = set() if parquet else _batch.done_keys(out)
    reader = _PythonReader(_batch, paths, nested, policy, rows_input)
    pieces: list[Path] = []
    handle = None if parquet else out.open("a", encoding="utf-8")
    try:
        for part in parts:
            open_keys = {k for (k,) in con.execute("SELECT key FROM lines WHERE line IS NULL").fetchall()} - seen
            work = ((sources, root, as_of.isoformat(), params, item) for item in reader.items(con, open_keys))
            python_lines = {}
            for line in _batch._execute(work, jobs, "local", None):
                record = json.loads(line)
                python_lines[record["key"]] = line
            _count_python(summary, python_lines)
            if parquet:
                piece = out.with_name(f".{out.name}.part{part}")
                _write_parquet(con, piece, python_lines)
                pieces.append(piece)
                summary.processed += con.execute("SELECT count(*) FROM lines").fetchone()[0]
                skipped: list[str] = []
            else:
                skipped = []
                cursor = con.execute("SELECT key, line FROM lines ORDER BY ord")
                while rows := cursor.fetchmany(65536):
                    for key, line in rows:
                        if key in seen:
                            summary.skipped += 1
                            if line is not None:
                                skipped.append(key)
                            continue
                        handle.write((python_lines[key] if line is None else line) + "\n")  # type: ignore[union-attr]
                        summary.processed += 1
                handle.flush()  # type: ignore[union-attr]
                os.fsync(handle.fileno())  # type: ignore[union-attr]
            # counts of what SQL settled, from SQL (a resumed run counts only what it wrote)
            settled = con.execute(
                "SELECT d.decision, CASE WHEN d.status = 'decided' THEN d.outcome ELSE d.status END, count(*) FROM decisions d "
                "JOIN lines l ON l.key = d.assessment WHERE l.line IS NOT NULL AND l.key NOT IN (SELECT unnest(CAST(? AS VARCHAR[]))) GROUP BY ALL",
                [skipped],
            ).fetchall()
            for decision, outcome, count in settled:
                summary.outcomes.setdefault(decision, Counter())[outcome] += count
            if progress is not None:
                progress(summary)
    finally:
        if handle is not None:
            handle.close()
    if parquet:
        try:
            files = ", ".join(text_literal(str(p)) for p in pieces)
            target = text_literal(str(out))
            if pieces:  # one file in input order: the pieces are read in the order listed
                con.execute(f"COPY (SELECT * FROM read_parquet([{files}])) TO {target} (FORMAT parquet)")
        finally:
            for piece in pieces:
                piece.unlink(missing_ok=True)
    return summary


def _count_python(summary: Any, python_lines: dict[str, str]) -> None:
    for line in python_lines.values():
        record = json.loads(line)
        if record["status"] == "invalid":
            summary.invalid += 1
            summary.invalid_keys.append((record["key"], "; ".join(record["errors"])))
        else:
            for d in record["decisions"]:
                outcome = d["outcome"] if d["status"] == "decided" else d["status"]
                summary.outcomes.setdefault(d["decision"], Counter())[outcome] += 1


def _write_parquet(con: Any, out: Path, python_lines: dict[str, str]) -> None:
    """One row per decision: key, decision, entity, status, outcome, rule, missing (and errors of invalid inputs)."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE python_rows (key VARCHAR, d_index BIGINT, decision VARCHAR, entity VARCHAR, status VARCHAR, "
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
