"""Running the canonical SQL of a policy on DuckDB, over files read in place.

Input: a checked policy, the as-of date and parameters, and files: CSV or
Parquet with one use case per row, JSONL with one such flat object per line
(the layout of `stratdsl batch` CSV files: an `assessment` column groups
rows, `id` and the fields of the repeated input fill one entity per row,
`record.field` and `group.member.field` columns fill records and group
members, the last non-empty cell wins), or JSONL with one nested assessment
per line (laid out as those cells by `_nested_select`, a slice of the file at
a time). Every row lands in `raw_all` as text; the assessments are then cut
into parts of about `part_rows` rows (fewer for a policy of many stages),
and for each part in turn `evaluate_parts` builds `raw` (its
rows), the typed input tables, `decisions` (one row per decision and entity,
as backends/sql.py defines) and `lines` (one row per assessment: key, order,
the JSON line when SQL settled every decision, NULL when the assessment must
go to the Python evaluator). DuckDB's memory is bounded (`memory_limit`) and
spills to `temp_folder`.

An assessment goes to Python when any cell is not exactly what the Python
reader would accept in the same way (a number with more than INPUT_SCALE
places, a value outside its range or enum, a missing required field, a
duplicate or malformed id, `unknown` for a field with a default, an unknown
column, a JSON value of another type than the field's), when a divisor is
zero, or when SQL leaves a decision undetermined. Python then writes the line
(with its errors or full explanation), so every line is what the Python
engine writes, and the decision objects of the lines SQL writes are byte for
byte the ones Python writes.
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
from ..language.messages import N_, Msg
from ..language.types import BoolT, DateT, EnumT, ListT, NumberT, TextT
from ..runtime.assessment import MAX_TEXT
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
#: rows times CTE stages per part: a policy of many stages gets smaller parts (the reference
#: methodology, 300 stages: 150,000 rows, about 10^5 use cases, which fit in 2 GB; benchmark A,
#: 11 stages: PART_ROWS)
PART_WORK = 45_000_000

_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?) ?(b|kb|mb|gb|tb|kib|mib|gib|tib)", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def memory_limit() -> int:
    """Bytes DuckDB may hold in memory: STRATDSL_DUCKDB_MEMORY (2GB, 1500MB, 8GiB…) or 2 GB."""
    text = os.environ.get("STRATDSL_DUCKDB_MEMORY", DEFAULT_MEMORY).strip()
    found = _SIZE.fullmatch(text)
    if found is None:
        raise StratError(
            [
                Diagnostic(
                    "E860",
                    Msg(N_("STRATDSL_DUCKDB_MEMORY='{value}' is not an amount of memory"), value=text[:40]),
                    hint=Msg(N_("a number and a unit, such as 2GB, 1500MB or 8GiB")),
                )
            ]
        )
    size = int(Decimal(found[1]) * _UNITS[found[2].lower()])
    if size < MIN_MEMORY:
        raise StratError(
            [
                Diagnostic(
                    "E860",
                    Msg(N_("STRATDSL_DUCKDB_MEMORY='{value}' is below the 256MB DuckDB needs for one part of a batch"), value=text),
                    hint=Msg(N_("give it at least 256MB; 2GB is the default")),
                )
            ]
        )
    return size


def temp_folder() -> Path:
    """Where DuckDB spills past its memory: STRATDSL_DUCKDB_TEMP or the system's temporary folder,
    in a subfolder of this process (removed by `close`)."""
    base = os.environ.get("STRATDSL_DUCKDB_TEMP") or tempfile.gettempdir()
    if not os.path.isdir(base) or not os.access(base, os.W_OK | os.X_OK):
        raise StratError(
            [
                Diagnostic(
                    "E861",
                    Msg(N_("STRATDSL_DUCKDB_TEMP='{value}' is not a folder DuckDB can write to"), value=base),
                    hint=Msg(N_("name an existing folder with room for the batch's data")),
                )
            ]
        )
    return Path(base) / f"stratdsl-duckdb-{os.getpid()}"


def connect(threads: int | None = None) -> Any:
    try:
        import duckdb
    except ImportError:  # pragma: no cover - a dependency of the package
        raise StratError([Diagnostic("E853", Msg(N_("--engine duckdb needs the duckdb package: pip install duckdb")))]) from None
    limit, folder = memory_limit(), temp_folder()  # both checked before any work
    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {int(threads or os.cpu_count() or 1)}")
    # bounded memory on a shared machine: past the limit DuckDB spills to a temporary folder
    con.execute(f"SET memory_limit = '{limit}B'")
    con.execute(f"SET temp_directory = {text_literal(str(folder))}")
    con.execute("SET preserve_insertion_order = true")
    # DuckDB's projection pull-up is quadratic or worse in the stages of a query: about 4 of
    # the 6 CPU-seconds of planning the reference methodology's 300 stages, every part, while
    # the plans run no slower without it (measured: sql_bench at 10^5, docs/performance.md)
    con.execute(f"SET disabled_optimizers = {text_literal(os.environ.get('STRATDSL_DUCKDB_DISABLED_OPTIMIZERS', 'projection_pullup'))}")
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
        [
            Diagnostic(
                "E854",
                Msg(N_("--engine duckdb reads .csv, .jsonl and .parquet files, not '{path}'"), path=path),
                hint=Msg(N_("use --engine local for folders of YAML/JSON assessments")),
            )
        ]
    )


@dataclass
class Bound:
    """The raw rows of every input file, with their keys, in one table `raw_all`, and the parts
    (number, first and last `ord`) into which its assessments are cut, in input order."""

    policy: ir.CheckedPolicy
    rows_input: str | None
    columns: list[str]
    parts: list[tuple[int, int, int]] = field(default_factory=list)
    nested: list[Path] = field(default_factory=list)  # JSONL files of nested assessments


#: rows of one file are 0…2^44 in `ord` (file_index * 2^44 + row); a nested JSONL line is
#: line * 2^16 + (0 for the line, n for its n-th entity of a list)
_FILE_STRIDE = 1 << 44
_LINE_STRIDE = 1 << 16


def part_rows(stages: int) -> int:
    """Input rows per part: STRATDSL_DUCKDB_PART_ROWS, else PART_ROWS or fewer for a policy of many stages."""
    given = os.environ.get("STRATDSL_DUCKDB_PART_ROWS")
    if given:
        return max(int(given), 1)
    return max(1000, min(PART_ROWS, PART_WORK // max(stages, 1)))


def bind_files(con: Any, policy: ir.CheckedPolicy, paths: list[Path], rows_input: str | None, stages: int = 0) -> Bound:
    """Create `raw_all` (every row of every file as text, with key and order) and `parts`."""
    files = []
    columns: list[str] = []
    flat_columns: list[str] = []
    nested: list[Path] = []
    for index, path in enumerate(paths):
        if path.suffix.lower() == ".jsonl" and is_nested(path, policy, rows_input):
            names = nested_columns(policy, rows_input)
            nested.append(path)
            reader = None
        else:
            reader = _reader(path)
            described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
            names = [row[0] for row in described]
            flat_columns.extend(n for n in names if n not in flat_columns)
        columns.extend(n for n in names if n not in columns)
        files.append((index, path, reader, names))
    unknown = [c for c in flat_columns if not _known_column(policy, c, rows_input)]
    if unknown:
        raise StratError(
            [
                Diagnostic(
                    "E855",
                    Msg(N_("column '{column}' is not a field of the policy's inputs"), column=unknown[0]),
                    hint=Msg(N_("rename or drop the column, or run with --engine local to see every error")),
                )
            ]
        )
    # `raw_all` is filled file by file, a statement per flat file and per slice of a nested
    # JSONL file, so that what DuckDB holds while reading is one slice's, not the input's
    kept = [c for c in columns if c != "assessment"]
    cells_schema = ", ".join(f"{ident_any(c)} VARCHAR" for c in kept)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE raw_all (file_index BIGINT, row_number BIGINT, group_name VARCHAR, file VARCHAR, "
        f"{cells_schema}{', ' if cells_schema else ''}nested_bad BOOLEAN, ord BIGINT, assessment VARCHAR)"
    )
    keyed = "SELECT *, CASE WHEN group_name IS NULL THEN file || ':' || row_number ELSE file || '#' || group_name END AS assessment FROM "
    for index, path, reader, names in files:
        if reader is None:
            for first_line, piece in _slices(path, _spill_folder(con)):
                try:
                    select = _nested_select(con, index, path, policy, rows_input, kept, piece, first_line)
                    con.execute(f"INSERT INTO raw_all BY NAME {keyed}({select})")
                finally:
                    piece.unlink(missing_ok=True)
            continue
        cells = []
        for c in kept:
            if c in names:
                cells.append(f"trim(CAST({ident_any(c)} AS VARCHAR)) AS {ident_any(c)}")
            else:
                cells.append(f"CAST(NULL AS VARCHAR) AS {ident_any(c)}")
        name_cell = "NULLIF(trim(CAST(assessment AS VARCHAR)), '')" if "assessment" in names else "CAST(NULL AS VARCHAR)"
        row_base = 2 if path.suffix.lower() == ".csv" else 1
        file = text_literal(str(path))
        cells_sql = "".join(c + ", " for c in cells)
        select = (
            f"SELECT {index} AS file_index, row_number() OVER () - 1 + {row_base} AS row_number, {name_cell} AS group_name, "
            f"{file} AS file, {cells_sql}CAST(NULL AS BOOLEAN) AS nested_bad, "
            f"{index} * {_FILE_STRIDE} + row_number() OVER () - 1 + {row_base} AS ord FROM {reader}"
        )
        con.execute(f"INSERT INTO raw_all BY NAME {keyed}({select})")
    # each assessment in the part where its first row falls, PART_ROWS rows a part (an assessment is never cut)
    rows = part_rows(stages)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE parts AS
        SELECT assessment, first, last, (sum(n) OVER (ORDER BY first ROWS UNBOUNDED PRECEDING) - n) // {rows} AS part
        FROM (SELECT assessment, min(ord) AS first, max(ord) AS last, count(*) AS n FROM raw_all GROUP BY assessment)"""
    )
    bounds = con.execute("SELECT part, min(first), max(last) FROM parts GROUP BY part ORDER BY part").fetchall()
    return Bound(policy, rows_input, columns, [(int(p), int(lo), int(hi)) for p, lo, hi in bounds], nested)


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


# ------------------------------------------------------------------ nested JSONL

#: a JSON number DuckDB holds exactly (as an integer, or a double printed back as written)
_JSON_DIGITS = 15
#: a line longer than this goes to Python (which applies the limits of runtime.assessment)
_JSON_LINE = 1_000_000


def is_nested(path: Path, policy: ir.CheckedPolicy, rows_input: str | None) -> bool:
    """A JSONL file of whole assessments (the local engine's: `organization: {…}, usecases: […]`
    per line), told from the flat layout by its first line: a key naming an input as a whole."""
    import json

    try:
        with path.open("rb") as handle:
            for raw in handle:
                if raw.strip():
                    first = json.loads(raw)
                    break
            else:
                return False
    except (OSError, ValueError):
        return False  # DuckDB reports it
    if not isinstance(first, dict):
        return False
    return any(
        key == "about" or (key in policy.inputs and not _known_column(policy, key, rows_input)) for key in first
    )


def nested_columns(policy: ir.CheckedPolicy, rows_input: str | None) -> list[str]:
    """The flat columns a nested assessment fills: `id` and fields of the rows' input, `name[].id`
    and `name[].field` of another list, `record.field`, `group.member.field`."""
    names = []
    for item in policy.inputs.values():
        if item.kind == "many":
            prefix = "" if item.name == rows_input else f"{item.name}[]."
            names += [prefix + "id"] + [prefix + f for f in item.fields]
        elif item.kind == "record":
            names += [f"{item.name}.{f}" for f in item.fields]
        else:
            names += [f"{item.name}.{m}.{f}" for m in item.members for f in item.fields]
    return names


def _scan_jsonl(path: Path) -> tuple[list[int], list[int], int]:
    """(lines DuckDB skips, lines only Python skips, longest line) of a JSONL file: DuckDB skips
    lines of JSON whitespace, Python every line `str.strip` empties; both number every line."""
    import re as _re

    json_blank, python_blank, longest = [], [], 0
    space = _re.compile(rb"[ \t\r\n]*")
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            longest = max(longest, len(raw))
            if raw[:1] == b"{":
                continue
            if space.fullmatch(raw):
                json_blank.append(number)
            elif not raw.decode("utf-8", "replace").strip():
                python_blank.append(number)
    return json_blank, python_blank, longest


#: a nested JSONL file is read a slice of at most this many bytes (or NESTED_SLICE_LINES lines)
#: at a time: DuckDB's JSON functions hold memory in proportion to the rows of a vector times
#: the length of their lines, per function of the query (about 1.5 GB for 2,000 lines of the
#: reference methodology, whose check has hundreds of them), so a whole file at once does not
#: fit in 2 GB from 10^5 use cases
NESTED_SLICE_BYTES = 2_000_000
NESTED_SLICE_LINES = 2048


def _spill_folder(con: Any) -> Path:
    folder = Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _slices(path: Path, folder: Path) -> Iterator[tuple[int, Path]]:
    """The file cut into slices of whole lines, byte for byte, each written to `folder` in turn
    (and removed by the caller before the next): (number of its first line in the file, slice)."""
    limit = int(os.environ.get("STRATDSL_DUCKDB_JSONL_BYTES") or NESTED_SLICE_BYTES)
    piece = folder / f"slice-{os.getpid()}-{path.name}"
    with path.open("rb") as handle:
        first, number, size, out = 1, 0, 0, None
        for number, raw in enumerate(handle, start=1):
            if out is None:
                out, first, size, count = piece.open("wb"), number, 0, 0
            out.write(raw)
            size += len(raw)
            count += 1
            if size >= limit or count >= NESTED_SLICE_LINES:
                out.close()
                out = None
                yield first, piece
        if out is not None:
            out.close()
            yield first, piece
        elif number == 0:  # an empty file: DuckDB reads no line of it
            piece.write_bytes(b"")
            yield 1, piece


def _nested_select(
    con: Any, index: int, path: Path, policy: ir.CheckedPolicy, rows_input: str | None, columns: list[str],
    piece: Path | None = None, first_line: int = 1,
) -> str:
    """The rows of `raw_all` for a JSONL file of nested assessments, read in place by DuckDB: one
    row for the line (records and groups), one per entity of each list; every cell as the text
    the CSV layout would hold, and `nested_bad` when Python might read the line differently
    (a JSON type the field does not take, a key that is no field, a repeated key, an escape…)."""
    piece = piece or path  # the slice read, numbered from first_line; keys name `path`
    json_blank, python_blank, longest = _scan_jsonl(piece)
    # the n-th line DuckDB reads is line n + (lines it skipped before it): skipped line b_i is
    # the i-th, after b_i - i read lines
    reader = f"read_ndjson_objects({text_literal(str(piece))}, ignore_errors = true, maximum_object_size = {max(longest + 1, 16 << 20)})"
    lines = f"SELECT row_number() OVER () AS line, json AS j FROM {reader}"
    if json_blank:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE skipped_{index} AS SELECT b - i AS before, max(i) AS i FROM "
            "(SELECT unnest(CAST(? AS BIGINT[])) AS b, unnest(range(1, len(CAST(? AS BIGINT[])) + 1)) AS i) GROUP BY b - i",
            [json_blank, json_blank],
        )
        lines = (
            f"SELECT t.line + coalesce(s.i, 0) AS line, j FROM ({lines}) AS t "
            f"ASOF LEFT JOIN skipped_{index} AS s ON t.line > s.before"
        )
    if python_blank:
        lines = f"SELECT * FROM ({lines}) WHERE line NOT IN ({', '.join(str(n) for n in python_blank)})"
    if first_line != 1:
        lines = f"SELECT line + {first_line - 1} AS line, j FROM ({lines})"
    file = text_literal(str(path))
    head = f"{index} AS file_index, line AS row_number, CAST(NULL AS VARCHAR) AS group_name, {file} AS file"

    def fields_of(obj: str, item: ir.Input, with_id: bool) -> tuple[list[tuple[str, str]], str]:
        """(name, cell text) per field of the JSON object `obj`, and its bad condition."""
        allowed = list(item.fields) + (["id"] if with_id else [])
        bads = [f"json_type({obj}) <> 'OBJECT'", _repeated_keys(obj), _other_keys(obj, allowed)]
        cells = []
        for fname, f in ([("id", None)] if with_id else []) + list(item.fields.items()):
            value = f"json_extract({obj}, {text_literal('$.' + fname)})"
            cells.append((fname, _json_cell(value)))
            bads.append(_json_bad(value, f))
        return cells, " OR ".join(f"coalesce({b}, FALSE)" for b in bads)

    # the line: top-level keys, `about`, records and groups
    top = ["about", *policy.inputs]
    line_bad = [
        "j IS NULL", "json_type(j) <> 'OBJECT'", _repeated_keys("j"), _other_keys("j", top),
        "contains(CAST(j AS VARCHAR), '\\u')", f"strlen(CAST(j AS VARCHAR)) > {_JSON_LINE}",
        "(json_extract(j, '$.about') IS NOT NULL AND (json_type(j, '$.about') <> 'OBJECT' OR "
        + _repeated_keys("json_extract(j, '$.about')")
        # free notes: texts and lists of texts only (Python checks numbers and depth there)
        + " OR len([x FOR x IN json_extract(j, '$.about.*') IF NOT (json_type(x) IN ('VARCHAR', 'NULL') OR (json_type(x) = 'ARRAY' AND "
        + "len([y FOR y IN json_extract(x, '$[*]') IF json_type(y) <> 'VARCHAR']) = 0))]) > 0))",
    ]
    line_cells: dict[str, str] = {}
    for item in policy.inputs.values():
        where = f"json_extract(j, {text_literal('$.' + item.name)})"
        if item.kind == "record":
            cells, bad = fields_of(where, item, False)
            line_bad.append(f"({where} IS NOT NULL AND ({bad}))")
            line_cells.update({f"{item.name}.{n}": c for n, c in cells})
        elif item.kind == "group":
            line_bad.append(f"({where} IS NOT NULL AND (json_type({where}) <> 'OBJECT' OR {_repeated_keys(where)} OR {_other_keys(where, list(item.members))}))")
            for member in item.members:
                at = f"json_extract(j, {text_literal(f'$.{item.name}.{member}')})"
                cells, bad = fields_of(at, item, False)
                line_bad.append(f"({at} IS NOT NULL AND ({bad}))")
                line_cells.update({f"{item.name}.{member}.{n}": c for n, c in cells})
        else:
            line_bad.append(f"({where} IS NOT NULL AND (json_type({where}) <> 'ARRAY' OR json_array_length({where}) >= {_LINE_STRIDE - 1}))")

    def row(cells: dict[str, str], bad: str, sub: str, source: str) -> str:
        values = ", ".join(f"{cells.get(c, 'CAST(NULL AS VARCHAR)')} AS {ident_any(c)}" for c in columns)
        return (
            f"SELECT {head}, {values}, ({bad}) AS nested_bad, "
            f"{index} * {_FILE_STRIDE} + line * {_LINE_STRIDE} + {sub} AS ord FROM {source}"
        )

    selects = [row(line_cells, " OR ".join(f"coalesce({b}, TRUE)" for b in line_bad), "0", "lined")]
    for item in policy.inputs.values():
        if item.kind != "many":
            continue
        prefix = "" if item.name == rows_input else f"{item.name}[]."
        cells, bad = fields_of("e", item, True)
        at = text_literal(f"$.{item.name}")
        source = (
            f"(SELECT line, unnest(json_extract(j, {text_literal(f'$.{item.name}[*]')})) AS e, "
            f"unnest(range(1, CAST(json_array_length(j, {at}) AS BIGINT) + 1)) AS sub "
            f"FROM lined WHERE json_type(j, {at}) = 'ARRAY' AND json_array_length(j, {at}) < {_LINE_STRIDE - 1})"
        )
        selects.append(row({prefix + n: c for n, c in cells}, bad, "sub", source))
    return f"WITH lined AS ({lines}) " + " UNION ALL ".join(f"({s})" for s in selects)


def _repeated_keys(obj: str) -> str:
    return f"(json_type({obj}) = 'OBJECT' AND len(json_keys({obj})) <> len(list_distinct(json_keys({obj}))))"


def _other_keys(obj: str, allowed: list[str]) -> str:
    if not allowed:
        return f"(json_type({obj}) = 'OBJECT' AND len(json_keys({obj})) > 0)"
    names = ", ".join(text_literal(a) for a in allowed)
    return f"(json_type({obj}) = 'OBJECT' AND len([k FOR k IN json_keys({obj}) IF k NOT IN ({names})]) > 0)"


def _json_cell(value: str) -> str:
    """The text a CSV cell would hold for a JSON value (a list as `[a;b]`)."""
    return (
        f"CASE json_type({value}) WHEN 'VARCHAR' THEN json_extract_string({value}, '$') "
        f"WHEN 'ARRAY' THEN '[' || array_to_string([json_extract_string(x, '$') FOR x IN json_extract({value}, '$[*]')], ';') || ']' "
        f"WHEN 'NULL' THEN NULL ELSE CAST({value} AS VARCHAR) END"
    )


def _json_bad(value: str, f: ir.Field | None) -> str:
    """True when the JSON value is not what the CSV rules of the cell (`_typed`) read as Python
    reads the JSON: numbers as JSON numbers, booleans as JSON booleans, texts as strings that
    need no normalising; `null` and anything unusual go to Python."""
    kind = f"json_type({value})"
    text = f"json_extract_string({value}, '$')"
    unknown = f"({kind} = 'VARCHAR' AND {text} = 'unknown')"
    plain = f"({kind} = 'VARCHAR' AND {text} = trim({text}) AND {text} <> '' AND {text} = nfc_normalize({text}))"
    t = f.type if f is not None else TextT()
    if isinstance(t, NumberT):
        kinds = "('BIGINT', 'UBIGINT')" if t.integer else "('BIGINT', 'UBIGINT', 'DOUBLE')"
        ok = (
            f"({kind} IN {kinds} AND length(regexp_replace(CAST({value} AS VARCHAR), '[^0-9]', '', 'g')) <= {_JSON_DIGITS}) OR {unknown}"
        )
    elif isinstance(t, BoolT):
        ok = f"{kind} = 'BOOLEAN' OR {unknown}"
    elif isinstance(t, ListT):
        element = f"(json_type(x) = 'VARCHAR' AND {text.replace(value, 'x')} = trim({text.replace(value, 'x')}) AND NOT regexp_matches({text.replace(value, 'x')}, '[;\\[\\]]|^$'))"
        ok = f"({kind} = 'ARRAY' AND len([x FOR x IN json_extract({value}, '$[*]') IF NOT {element}]) = 0) OR {unknown}"
    elif isinstance(t, TextT) or f is None:
        ok = f"{plain} AND lower({text}) <> 'unknown' AND length({text}) <= {MAX_TEXT}"
    else:  # enum, date
        ok = plain
    return f"({value} IS NOT NULL AND NOT coalesce({ok}, FALSE))"


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
        items = f"[trim(x) FOR x IN string_split(trim({r}, '[]'), ';') IF trim(x) <> '']"
        value = f"CASE WHEN {r} LIKE '%;%' OR {r} LIKE '[%' THEN list_sort(list_distinct({items})) END"
        bad = (
            f"({r} IS NOT NULL AND NOT ({unk}) AND (NOT ({r} LIKE '%;%' OR {r} LIKE '[%') "
            f"OR len([x FOR x IN {items} IF x NOT IN ({values})]) > 0 OR len({items}) <> len(list_distinct({items}))))"
        )
    elif isinstance(t, DateT):
        value = f"TRY_CAST({r} AS DATE)"
        bad = f"({r} IS NOT NULL AND NOT ({unk}) AND (NOT regexp_full_match({r}, '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$') OR TRY_CAST({r} AS DATE) IS NULL))"
    elif isinstance(t, TextT):
        value = r
        bad = f"({r} IS NOT NULL AND ({r} LIKE '%;%' OR {r} LIKE '[%'))"
    else:
        what = Msg(N_("the field type of '{field}'"), field=f.name)
        raise StratError([Diagnostic("E851", Msg(N_("the SQL back end cannot express {what}"), what=what))])
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
            # the repeated input of the rows: bare columns; another list (nested JSONL only): `name[].field`
            prefix = "" if item.name == rows_input else f"{item.name}[]."
            own = [c for c in columns if ("." not in c if not prefix else c.startswith(prefix))]
            present = " OR ".join(f"{ident_any(c)} IS NOT NULL" for c in own) or "FALSE"
            idname = prefix + "id"
            idcell = ident_any(idname) if idname in columns else "CAST(NULL AS VARCHAR)"
            cols = ["assessment", f"{idcell} AS id", "ord"]
            bads = []
            for fname, f in item.fields.items():
                cell = ident_any(prefix + fname) if prefix + fname in columns else "CAST(NULL AS VARCHAR)"
                value, bad = _typed(cell, f)
                cols.append(f"{value} AS {ident(fname)}")
                bads.append(bad)
            bads.append(f"{idcell} IS NULL OR NOT regexp_full_match({idcell}, '{_ID}') OR length({idcell}) > 200")
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {ident(item.name)} AS SELECT {', '.join(cols)}, ({' OR '.join(f'coalesce({b}, TRUE)' for b in bads)}) AS bad "
                f"FROM raw WHERE {present}"
            )
            suspects.append(f"SELECT assessment FROM {ident(item.name)} WHERE bad")
            suspects.append(f"SELECT assessment FROM {ident(item.name)} GROUP BY assessment, id HAVING count(*) > 1")
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
    suspects.append("SELECT assessment FROM raw WHERE nested_bad")
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
) -> tuple[Any, Bound, Iterator[int]]:
    """Compile and bind: a DuckDB connection, the bound files, and the parts to evaluate on it one after the other."""
    compiled = compile_sql(policy, as_of, params)
    con = connect(threads)
    try:
        bound = bind_files(con, policy, paths, rows_input, len(compiled.ctes))
    except BaseException:
        close(con)
        raise
    return con, bound, evaluate_parts(con, bound, compiled, as_of)


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
