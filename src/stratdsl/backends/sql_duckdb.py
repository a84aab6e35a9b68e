"""Running the canonical SQL of a policy on DuckDB, over flat tables read in place.

Input: a checked policy, the as-of date and parameters, and flat files (CSV
or Parquet with one use case per row; JSONL with one such flat object per
line) in the layout of `stratdsl batch` CSV files: an `assessment` column
groups rows, `id` and the fields of the repeated input fill one entity per
row, `record.field` and `group.member.field` columns fill records and group
members (the last non-empty cell wins). Output: a DuckDB connection holding
`decisions` (one row per decision and entity, as backends/sql.py defines) and
`lines` (one row per assessment: key, order, the JSON line when SQL settled
every decision, NULL when the assessment must go to the Python evaluator).

An assessment goes to Python when any cell is not exactly what the Python
reader would accept in the same way (a number with more than INPUT_SCALE
places, a value outside its range or enum, a missing required field, a
duplicate or malformed id, `unknown` for a field with a default, an unknown
column), when a divisor is zero, or when SQL leaves a decision undetermined.
Python then writes the line (with its errors or full explanation), so every
line is what the Python engine writes, and the decision objects of the lines
SQL writes are byte for byte the ones Python writes.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..language import ir
from ..language.diagnostics import Diagnostic, StratError
from ..language.types import BoolT, DateT, EnumT, ListT, NumberT, TextT
from .sql import INPUT_SCALE, SqlPolicy, compile_sql, ident, literal, text_literal

_ID = r"^[A-Za-z0-9_.\-]+$"
_NUMBER = r"^-?[0-9]+(\.[0-9]+)?$"
_TRUE = "('true', 'oui', 'yes')"
_FALSE = "('false', 'non', 'no')"


#: DuckDB's memory when STRATDSL_DUCKDB_MEMORY is not set: past it, DuckDB spills to the temporary folder
DEFAULT_MEMORY = "2GB"
#: below this DuckDB cannot hold one part of the batch (E860)
MIN_MEMORY = 256 * 10**6
#: input rows per part: the assessments are evaluated a part at a time (whole assessments, in
#: input order), so that the decisions and lines of one part only are held at once
PART_ROWS = 1_000_000

_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?) ?(b|kb|mb|gb|tb|kib|mib|gib|tib)", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def memory_limit() -> int:
    """Bytes DuckDB may hold in memory: STRATDSL_DUCKDB_MEMORY (2GB, 1500MB, 8GiB…) or 2 GB."""
    text = os.environ.get("STRATDSL_DUCKDB_MEMORY", DEFAULT_MEMORY).strip()
    found = _SIZE.fullmatch(text)
    if found is None:
        raise StratError(
            [Diagnostic("E860", f"STRATDSL_DUCKDB_MEMORY='{text[:40]}' is not an amount of memory", hint="a number and a unit, such as 2GB, 1500MB or 8GiB")]
        )
    size = int(Decimal(found[1]) * _UNITS[found[2].lower()])
    if size < MIN_MEMORY:
        raise StratError(
            [Diagnostic("E860", f"STRATDSL_DUCKDB_MEMORY='{text}' is below the 256MB DuckDB needs for one part of a batch", hint="give it at least 256MB; 2GB is the default")]
        )
    return size


def temp_folder() -> Path:
    """Where DuckDB spills past its memory: STRATDSL_DUCKDB_TEMP or the system's temporary folder,
    in a subfolder of this process (removed by `close`)."""
    base = os.environ.get("STRATDSL_DUCKDB_TEMP") or tempfile.gettempdir()
    if not os.path.isdir(base) or not os.access(base, os.W_OK | os.X_OK):
        raise StratError(
            [Diagnostic("E861", f"STRATDSL_DUCKDB_TEMP='{base}' is not a folder DuckDB can write to", hint="name an existing folder with room for the batch's data")]
        )
    return Path(base) / f"stratdsl-duckdb-{os.getpid()}"


def connect(threads: int | None = None) -> Any:
    try:
        import duckdb
    except ImportError:  # pragma: no cover - a dependency of the package
        raise StratError([Diagnostic("E853", "--engine duckdb needs the duckdb package: pip install duckdb")]) from None
    limit, folder = memory_limit(), temp_folder()  # both checked before any work
    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {int(threads or os.cpu_count() or 1)}")
    # bounded memory on a shared machine: past the limit DuckDB spills to a temporary folder
    con.execute(f"SET memory_limit = '{limit}B'")
    con.execute(f"SET temp_directory = {text_literal(str(folder))}")
    con.execute("SET preserve_insertion_order = true")
    return con


def close(con: Any) -> None:
    """Close the connection and remove what it spilled."""
    folder = con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
    con.close()
    if folder and Path(folder).name.startswith("stratdsl-duckdb-"):
        shutil.rmtree(folder, ignore_errors=True)


def _reader(path: Path) -> str:
    suffix = path.suffix.lower()
    quoted = text_literal(str(path))
    if suffix == ".csv":
        return f"read_csv({quoted}, all_varchar = true, header = true, auto_detect = true, sample_size = -1, encoding = 'utf-8')"
    if suffix == ".parquet":
        return f"read_parquet({quoted})"
    if suffix == ".jsonl":
        return f"read_json({quoted}, format = 'newline_delimited', records = true)"
    raise StratError(
        [Diagnostic("E854", f"--engine duckdb reads .csv, .jsonl and .parquet files, not '{path}'", hint="use --engine local for folders of YAML/JSON assessments")]
    )


@dataclass
class Bound:
    """The raw rows of every input file, with their keys, in one table `raw_all`, and the parts
    (number, first and last `ord`) into which its assessments are cut, in input order."""

    policy: ir.CheckedPolicy
    rows_input: str | None
    columns: list[str]
    parts: list[tuple[int, int, int]] = field(default_factory=list)


def bind_files(con: Any, policy: ir.CheckedPolicy, paths: list[Path], rows_input: str | None) -> Bound:
    """Create `raw` (every row of every file as text, with key and order) and the input views."""
    parts = []
    columns: list[str] = []
    for index, path in enumerate(paths):
        reader = _reader(path)
        described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
        names = [row[0] for row in described]
        for name in names:
            if name not in columns:
                columns.append(name)
        parts.append((index, path, reader, names))
    unknown = [c for c in columns if not _known_column(policy, c, rows_input)]
    if unknown:
        raise StratError(
            [Diagnostic("E855", f"column '{unknown[0]}' is not a field of the policy's inputs", hint="rename or drop the column, or run with --engine local to see every error")]
        )
    selects = []
    for index, path, reader, names in parts:
        cells = []
        for c in columns:
            if c in names:
                cells.append(f"trim(CAST({ident_any(c)} AS VARCHAR)) AS {ident_any(c)}")
            else:
                cells.append(f"CAST(NULL AS VARCHAR) AS {ident_any(c)}")
        name_cell = "NULLIF(trim(CAST(assessment AS VARCHAR)), '')" if "assessment" in names else "CAST(NULL AS VARCHAR)"
        row_base = 2 if path.suffix.lower() == ".csv" else 1
        file = text_literal(str(path))
        cells_sql = ", ".join(c for c in cells if not c.endswith(' AS "assessment"'))
        selects.append(
            f"SELECT {index} AS file_index, row_number() OVER () - 1 + {row_base} AS row_number, {name_cell} AS group_name, "
            f"{file} AS file, {cells_sql} FROM {reader}"
        )
    union = " UNION ALL BY NAME ".join(f"({s})" for s in selects)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE raw_all AS SELECT *, CASE WHEN group_name IS NULL THEN file || ':' || row_number ELSE file || '#' || group_name END AS assessment, "
        f"file_index * 1099511627776 + row_number AS ord FROM ({union})"
    )
    # each assessment in the part where its first row falls, PART_ROWS rows a part (an assessment is never cut)
    rows = int(os.environ.get("STRATDSL_DUCKDB_PART_ROWS") or PART_ROWS)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE parts AS
        SELECT assessment, first, last, (sum(n) OVER (ORDER BY first ROWS UNBOUNDED PRECEDING) - n) // {max(rows, 1)} AS part
        FROM (SELECT assessment, min(ord) AS first, max(ord) AS last, count(*) AS n FROM raw_all GROUP BY assessment)"""
    )
    bounds = con.execute("SELECT part, min(first), max(last) FROM parts GROUP BY part ORDER BY part").fetchall()
    return Bound(policy, rows_input, columns, [(int(p), int(lo), int(hi)) for p, lo, hi in bounds])


def evaluate_parts(con: Any, bound: Bound, compiled: SqlPolicy, as_of: date) -> Iterator[int]:
    """For each part in input order: `raw` (its rows), the typed input tables, `decisions` and
    `lines` of that part only, replaced by the next part's. Yields the part's number."""
    if len(bound.parts) == 1:
        con.execute("CREATE OR REPLACE TEMP VIEW raw AS SELECT * FROM raw_all")
    for part, first, last in bound.parts:
        if len(bound.parts) > 1:
            # raw_all is in `ord` order: the range skips the other parts' row groups, the
            # semi-join keeps the rows of this part's assessments (which may be scattered)
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE raw AS SELECT * FROM raw_all WHERE ord BETWEEN {first} AND {last} "
                f"AND assessment IN (SELECT assessment FROM parts WHERE part = {part})"
            )
        _views(con, bound.policy, [c for c in bound.columns if c != "assessment"], bound.rows_input)
        evaluate(con, compiled, as_of)
        yield part


def ident_any(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _known_column(policy: ir.CheckedPolicy, column: str, rows_input: str | None) -> bool:
    if column == "assessment":
        return True
    parts = column.split(".")
    if len(parts) == 1:
        item = policy.inputs.get(rows_input or "")
        return item is not None and (column == "id" or column in item.fields)
    item = policy.inputs.get(parts[0])
    if item is None:
        return False
    if item.kind == "record" and len(parts) == 2:
        return parts[1] in item.fields
    if item.kind == "group" and len(parts) == 3:
        return parts[1] in item.members and parts[2] in item.fields
    return False


def _typed(raw: str, f: ir.Field) -> tuple[str, str]:
    """(typed SQL value, SQL condition true when Python might read the cell differently)."""
    r = raw
    unk = f"lower({r}) = 'unknown'"
    t = f.type
    if isinstance(t, NumberT):
        places = f"(CASE WHEN strpos({r}, '.') = 0 THEN 0 ELSE length({r}) - strpos({r}, '.') END)"
        ok = f"regexp_full_match({r}, '{_NUMBER}') AND {places} <= {INPUT_SCALE} AND length({r}) <= 30"
        value = f"CASE WHEN {ok} THEN CAST({r} AS DECIMAL(38, {INPUT_SCALE})) END"
        checks = [f"NOT ({ok})"]
        if t.low is not None:
            checks.append(f"{value} < {literal(t.low)[0]}")
        if t.high is not None:
            checks.append(f"{value} > {literal(t.high)[0]}")
        if t.integer:
            checks.append(f"{value} <> round({value})")
        bad = f"({r} IS NOT NULL AND NOT ({unk}) AND ({' OR '.join(checks)}))"
    elif isinstance(t, BoolT):
        value = f"CASE WHEN lower({r}) IN {_TRUE} THEN TRUE WHEN lower({r}) IN {_FALSE} THEN FALSE END"
        bad = f"({r} IS NOT NULL AND NOT ({unk}) AND lower({r}) NOT IN {_TRUE} AND lower({r}) NOT IN {_FALSE})"
    elif isinstance(t, EnumT):
        values = ", ".join(text_literal(v) for v in t.values)
        value = f"CASE WHEN {r} IN ({values}) THEN {r} END"
        bad = f"({r} IS NOT NULL AND NOT ({unk}) AND {r} NOT IN ({values}))"
    elif isinstance(t, ListT) and isinstance(t.element, EnumT):
        values = ", ".join(text_literal(v) for v in t.element.values)
        items = f"list_filter(list_transform(string_split(trim({r}, '[]'), ';'), x -> trim(x)), x -> x <> '')"
        value = f"CASE WHEN {r} LIKE '%;%' OR {r} LIKE '[%' THEN list_sort(list_distinct({items})) END"
        bad = (
            f"({r} IS NOT NULL AND NOT ({unk}) AND (NOT ({r} LIKE '%;%' OR {r} LIKE '[%') "
            f"OR len(list_filter({items}, x -> x NOT IN ({values}))) > 0 OR len({items}) <> len(list_distinct({items}))))"
        )
    elif isinstance(t, DateT):
        value = f"TRY_CAST({r} AS DATE)"
        bad = f"({r} IS NOT NULL AND NOT ({unk}) AND (NOT regexp_full_match({r}, '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$') OR TRY_CAST({r} AS DATE) IS NULL))"
    elif isinstance(t, TextT):
        value = r
        bad = f"({r} IS NOT NULL AND ({r} LIKE '%;%' OR {r} LIKE '[%'))"
    else:
        raise StratError([Diagnostic("E851", f"the SQL back end cannot express the field type of '{f.name}'")])
    value = f"CASE WHEN {unk} THEN NULL ELSE {value} END"
    if f.default is not None:
        # a default fills a question left out, not one answered `unknown`: Python decides those
        bad = f"({bad} OR coalesce({unk}, FALSE))"
    if f.required:
        bad = f"({bad} OR {r} IS NULL OR coalesce({unk}, FALSE))"
    return value, bad


def _views(con: Any, policy: ir.CheckedPolicy, columns: list[str], rows_input: str | None) -> None:
    """The typed input tables the canonical SQL reads, and `suspect` (assessments for Python)."""
    suspects = []
    for item in policy.inputs.values():
        if item.kind == "many":
            if item.name == rows_input:
                own = [c for c in columns if "." not in c]
                present = " OR ".join(f"{ident_any(c)} IS NOT NULL" for c in own) or "FALSE"
                cols = ["assessment", "id", "ord"]
                bads = []
                for fname, f in item.fields.items():
                    cell = ident_any(fname) if fname in columns else "CAST(NULL AS VARCHAR)"
                    value, bad = _typed(cell, f)
                    cols.append(f"{value} AS {ident(fname)}")
                    bads.append(bad)
                idcell = "id" if "id" in columns else "CAST(NULL AS VARCHAR)"
                bads.append(f"{idcell} IS NULL OR NOT regexp_full_match({idcell}, '{_ID}') OR length({idcell}) > 200")
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {ident(item.name)} AS SELECT {', '.join(cols)}, ({' OR '.join(f'coalesce({b}, TRUE)' for b in bads)}) AS bad "
                    f"FROM {'raw' if 'id' in columns else '(SELECT *, CAST(NULL AS VARCHAR) AS id FROM raw)'} WHERE {present}"
                )
                suspects.append(f"SELECT assessment FROM {ident(item.name)} WHERE bad")
                suspects.append(f"SELECT assessment FROM {ident(item.name)} GROUP BY assessment, id HAVING count(*) > 1")
            else:
                cols = ", ".join(f"CAST(NULL AS {_sql_type(f)}) AS {ident(n)}" for n, f in item.fields.items())
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {ident(item.name)} AS SELECT CAST(NULL AS VARCHAR) AS assessment, CAST(NULL AS VARCHAR) AS id, "
                    f"CAST(NULL AS BIGINT) AS ord{', ' + cols if cols else ''} WHERE FALSE"
                )
        elif item.kind == "record":
            cols, bads = _last_cells(item, [f"{item.name}.{n}" for n in item.fields], columns)
            con.execute(f"CREATE OR REPLACE TEMP TABLE {ident(item.name)} AS SELECT assessment, {cols}, {bads} AS bad FROM raw GROUP BY assessment")
            suspects.append(f"SELECT assessment FROM {ident(item.name)} WHERE bad")
        else:
            members = []
            for position, member in enumerate(item.members):
                cols, bads = _last_cells(item, [f"{item.name}.{member}.{n}" for n in item.fields], columns)
                members.append(
                    f"SELECT assessment, {text_literal(member)} AS id, CAST({position} AS BIGINT) AS ord, {cols}, {bads} AS bad FROM raw GROUP BY assessment"
                )
            con.execute(f"CREATE OR REPLACE TEMP TABLE {ident(item.name)} AS {' UNION ALL '.join(members)}")
            suspects.append(f"SELECT assessment FROM {ident(item.name)} WHERE bad")
    suspects.append("SELECT assessment FROM raw WHERE group_name IS NOT NULL AND NOT regexp_full_match(group_name, '.+')")
    con.execute(f"CREATE OR REPLACE TEMP TABLE suspect AS {' UNION '.join(suspects)}")


def _sql_type(f: ir.Field) -> str:
    from .sql import sql_type

    return sql_type(f.type)


def _last_cells(item: ir.Input, names: list[str], columns: list[str]) -> tuple[str, str]:
    """A record's (or member's) fields: the last non-empty cell of each column over the assessment's rows."""
    cols = []
    bads = []
    for column, (fname, f) in zip(names, item.fields.items(), strict=True):
        if column in columns:
            cell = f"arg_max({ident_any(column)}, ord) FILTER (WHERE {ident_any(column)} IS NOT NULL AND {ident_any(column)} <> '')"
        else:
            cell = "CAST(NULL AS VARCHAR)"
        value, bad = _typed(f"({cell})", f)
        cols.append(f"{value} AS {ident(fname)}")
        bads.append(f"coalesce({bad}, TRUE)")
    if not cols:
        return "NULL AS _none", "FALSE"
    return ", ".join(cols), "(" + " OR ".join(bads) + ")"


def _json_text(sql: str) -> str:
    """JSON text of a VARCHAR value or null, as Python's json.dumps(ensure_ascii=False) writes it."""
    return f"coalesce(CAST(to_json({sql}) AS VARCHAR), 'null')"


def evaluate(con: Any, compiled: SqlPolicy, as_of: date) -> None:
    """Run the policy: tables `decisions` and `lines` (key, ord, line or NULL for Python)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE decisions AS {compiled.query()}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE hazard AS {compiled.query(compiled.hazards)}")
    # Every string here is a checked name of the policy or an entity id that passed the id
    # pattern [A-Za-z0-9_.-]+ (an assessment with any other id goes to Python): none needs
    # escaping in JSON, so quoting is enough (to_json per value costs more than the decisions)
    def quoted(sql: str) -> str:
        return f"coalesce('\"' || {sql} || '\"', 'null')"

    obj = (
        "'{\"decision\":\"' || decision || '\",\"entity\":' || " + quoted("entity")
        + " || ',\"missing\":[],\"outcome\":' || " + quoted("outcome") + " || ',\"rule\":' || " + quoted("rule")
        + " || ',\"status\":\"' || status || '\"}'"
    )
    prefix = "{\"as_of\":\"" + as_of.isoformat() + "\",\"decisions\":["
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE lines AS
        WITH keys AS (SELECT assessment, min(ord) AS ord FROM raw GROUP BY assessment),
        per AS (
          SELECT assessment, bool_or(status = 'undetermined') AS open,
                 string_agg({obj}, ',' ORDER BY d_index, ord) AS body
          FROM decisions GROUP BY assessment),
        python AS (SELECT assessment FROM suspect UNION SELECT assessment FROM hazard)
        SELECT k.assessment AS key, k.ord AS ord,
          CASE WHEN p.open OR y.assessment IS NOT NULL THEN NULL
               ELSE '{prefix}' || coalesce(p.body, '') || '],\"engine\":\"duckdb\",\"key\":' || {_json_text('k.assessment')} || ',\"status\":\"ok\"}}' END AS line
        FROM keys k LEFT JOIN per p ON p.assessment = k.assessment
        LEFT JOIN (SELECT DISTINCT assessment FROM python) y ON y.assessment = k.assessment
        ORDER BY k.ord"""
    )


def run_policy(
    policy: ir.CheckedPolicy, paths: list[Path], as_of: date, params: dict[str, Any] | None, rows_input: str | None, threads: int | None = None
) -> tuple[Any, Iterator[int]]:
    """Compile and bind: a DuckDB connection, and the parts to evaluate on it one after the other."""
    compiled = compile_sql(policy, as_of, params)
    con = connect(threads)
    try:
        bound = bind_files(con, policy, paths, rows_input)
    except BaseException:
        close(con)
        raise
    return con, evaluate_parts(con, bound, compiled, as_of)


def bind_assessments(con: Any, policy: ir.CheckedPolicy, assessments: list[tuple[str, Any]]) -> None:
    """Typed input tables from validated assessments (`runtime.assessment.Assessment`): what a
    warehouse binds, built here for tests and benchmarks. An unknown fact is NULL."""
    from ..runtime.values import Unknown

    def cell(value: Any) -> Any:
        if isinstance(value, Unknown):
            return None
        if isinstance(value, frozenset):
            return sorted(value)
        return value

    for item in policy.inputs.values():
        names = list(item.fields)
        typed = ", ".join(f"{ident(n)} {_sql_type(f)}" for n, f in item.fields.items())
        head = "assessment VARCHAR" + ("" if item.kind == "record" else ", id VARCHAR, ord BIGINT")
        con.execute(f"CREATE OR REPLACE TABLE {ident(item.name)} ({head}{', ' + typed if typed else ''})")
        rows = []
        for key, assessment in assessments:
            if item.kind == "record":
                values = assessment.records.get(item.name, {})
                rows.append((key, *[cell(values.get(n)) for n in names]))
            else:
                for entity in assessment.entities.get(item.name, []):
                    rows.append((key, entity.id, entity.index, *[cell(entity.values.get(n)) for n in names]))
        if rows:
            marks = ", ".join("?" for _ in rows[0])
            con.executemany(f"INSERT INTO {ident(item.name)} VALUES ({marks})", rows)
