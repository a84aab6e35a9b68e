"""Batch runs: many assessments through one policy, streamed, resumable, in parallel.

Inputs are read lazily — a folder of YAML/JSON files, a JSONL file (one
assessment per line), or a CSV file with one use case per row (rows sharing
an `assessment` column form one assessment, wherever they are in the file;
columns `organization.headcount` or `maturity.governance.owned` fill records
and groups) — so memory stays flat however large the input (a CSV holds only
the assessments whose rows are still to come). Each input has a stable key
(its path, file:line, or file#assessment for CSV); the output JSONL gets one
line per input, in input order. A rerun skips every key the output already
holds, after cutting a torn last line, so an interrupted run resumes without
losing or duplicating anything. Invalid inputs — and inputs that meet a bug of
stratdsl (E604) — are written as `invalid` lines with their errors, counted,
and never stop the others. Work is spread over processes (`--jobs`) or a Dask
cluster; each worker compiles the policy once from its source text.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import traceback
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, BinaryIO

from ..engine import compile_policy, parse_params
from ..language.diagnostics import Diagnostic, StratError
from ..language.messages import N_, Msg
from ..language.types import BoolT, ListT, NumberT, Type, number_problem
from ..runtime import assessment as _assessment
from ..runtime.assessment import parse_data, validate
from ..runtime.values import canonical_json, sha256_text, to_json_value

CHUNK = 64


@dataclass(frozen=True)
class Item:
    key: str
    data: Any  # parsed data, or a str of text to parse (name, text, is_json)
    error: str | None = None


@dataclass
class Summary:
    processed: int = 0
    skipped: int = 0
    invalid: int = 0
    outcomes: dict[str, Counter] = field(default_factory=dict)
    invalid_keys: list[tuple[str, str]] = field(default_factory=list)


# ------------------------------------------------------------------ inputs


_TRUE = ("true", "oui", "yes", "vrai")
_FALSE = ("false", "non", "no", "faux")


def _csv_cell(type_: Type | None, raw: str) -> Any:
    """A cell converted to the type the policy declares for its column, and only then: a
    company named "Oui" stays text, a title with a ';' stays one text. A cell that does not
    read as its type stays text, so that validation names it and the field (E302)."""
    text = raw.strip()
    if text == "":
        return None
    if text.lower() == "unknown" or type_ is None:
        return text
    if isinstance(type_, BoolT):
        return True if text.lower() in _TRUE else False if text.lower() in _FALSE else text
    if isinstance(type_, NumberT):
        try:
            value = Decimal(text.replace(" ", "").replace("\u202f", "").replace(",", "."))
        except InvalidOperation:
            return text
        if type_.integer and value.is_finite() and value == value.to_integral_value() and number_problem(value) is None:
            return int(value)
        return value
    if isinstance(type_, ListT):
        inner = text[1:-1] if text.startswith("[") and text.endswith("]") else text
        return [_csv_cell(type_.element, part) for part in inner.split(";") if part.strip()]
    return text


@dataclass(frozen=True)
class _Column:
    """Where a CSV column goes: `path` in the assessment (a path of length 1 is a field of the
    row's entry in the repeated input), and the type the policy declares for it (None: text)."""

    path: tuple[str, ...]
    type: Type | None


def _columns(header: list[str], policy: Any, rows_input: str | None) -> tuple[dict[str, _Column], list[str]]:
    """Each column of a CSV header placed in the policy's inputs, or E605 problems. A column
    must name a field where the assessment has one: `field` (the row's entry of the repeated
    input), `record.field`, `group.member.field`, `about.anything`; so no column can also be
    the parent of another (`a.b` beside `a.b.c`), and none fills a list as a record
    (`usecases.x`)."""
    columns: dict[str, _Column] = {}
    problems: list[str] = []
    rows = policy.inputs.get(rows_input) if rows_input else None
    for column in header:
        if column in columns:
            problems.append(f"column '{column}' is written twice in the header")
            continue
        if column == "assessment":
            continue
        parts = tuple(p.strip() for p in column.split("."))
        if not column.strip() or any(not p for p in parts):
            problems.append(f"column '{column}' has an empty name or an empty part between dots")
            continue
        if len(parts) == 1:
            if rows is None:
                problems.append(f"column '{column}' names no input: the policy has no repeated input for rows")
                continue
            f = rows.fields.get(parts[0])
            columns[column] = _Column(parts, f.type if f is not None else None)
            continue
        first = parts[0]
        if first == "about":
            columns[column] = _Column(parts, None)
            continue
        item = policy.inputs.get(first)
        if item is None:
            known = ", ".join(sorted(i for i in policy.inputs if i != rows_input)) or "none"
            problems.append(f"column '{column}': '{first}' is not an input of the policy (inputs filled by columns: {known})")
        elif item.kind == "many":
            problems.append(f"column '{column}': '{first}' is filled one row per entry; name the column '{'.'.join(parts[1:])}'" + ("" if first == rows_input else f" and run with --csv-input {first}"))
        elif item.kind == "record" and len(parts) != 2:
            problems.append(f"column '{column}': '{first}' is a set of fields; name a column '{first}.FIELD'")
        elif item.kind == "group" and len(parts) != 3:
            problems.append(f"column '{column}': '{first}' is a group; name a column '{first}.MEMBER.FIELD'")
        else:
            f = item.fields.get(parts[-1])
            columns[column] = _Column(parts, f.type if f is not None else None)
    return columns, problems


def _default_rows_input(policy: Any) -> str | None:
    """The list a CSV row fills: the repeated input with the most fields."""
    many = [i for i in policy.inputs.values() if i.kind == "many"]
    return max(many, key=lambda i: len(i.fields)).name if many else None


class _NotRegular(OSError):
    pass


def _open_regular(path: Path) -> BinaryIO:
    """Open for reading, refusing pipes, devices and folders (a FIFO would block, /dev/zero never ends)."""
    # O_NONBLOCK: opening a FIFO does not wait for a writer; it changes nothing for a regular file
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _NotRegular(f"cannot read assessment '{path}': it is not a regular file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _read_error(path: Path, error: Exception) -> str:
    if isinstance(error, _NotRegular):
        return f"E301 {error}"
    if isinstance(error, UnicodeDecodeError):
        return f"E301 cannot read '{path}': it is not UTF-8 text (save it with the encoding UTF-8)"
    if isinstance(error, csv.Error):
        return f"E301 cannot read CSV file '{path}': {error}"
    return f"E301 cannot read '{path}': {getattr(error, 'strerror', None) or error}"


def _csv_rows(path: Path) -> Iterator[tuple[int, str | None, dict[str, str | None] | list[str]]]:
    """(row number, `assessment` cell or None, row); the header first, as row 1 (a list);
    utf-8-sig: spreadsheets often write a BOM."""
    with _open_regular(path) as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        yield 1, None, header
        for number, cells in enumerate(reader, start=2):
            if not cells:
                continue  # a blank line, as DictReader skips it
            row: dict[str, str | None] = dict(zip(header, cells))
            if len(cells) > len(header):
                row[None] = None  # type: ignore[index]  # marks a row longer than its header
            yield number, (row.get("assessment") or "").strip() or None, row


def _csv_fill(current: dict[str, Any], row: dict[str, str | None], columns: dict[str, _Column], rows_input: str | None) -> None:
    entry: dict[str, Any] = {}
    for column, raw in row.items():
        place = columns.get(column) if column is not None else None
        if place is None:
            continue
        value = _csv_cell(place.type, raw or "")
        if value is None:
            continue
        if len(place.path) == 1:
            entry[place.path[0]] = value
            continue
        node = current
        for part in place.path[:-1]:
            node = node.setdefault(part, {})
        node[place.path[-1]] = value
    if entry and rows_input is not None:
        current.setdefault(rows_input, []).append(entry)


def _csv_items(path: Path, policy: Any, rows_input: str | None) -> Iterator[Item]:
    """One item per assessment, keyed `file#name` (unique across files), or `file:row` for a row
    without a name. Rows of one name are merged wherever they are (a sorted or filtered
    spreadsheet scatters them): a first pass finds each name's last row, the second yields
    assessments in the order of their first rows as soon as they are complete.

    A header that does not fit the policy is one invalid line for the file (E605); a row
    with more cells than the header makes its assessment invalid (E606); the run goes on."""
    try:
        last = {group: number for number, group, _ in _csv_rows(path) if group is not None}
        pending: dict[str, dict[str, Any]] = {}
        broken: dict[str, list[str]] = {}
        order: deque[str] = deque()
        complete: set[str] = set()
        columns: dict[str, _Column] = {}
        for number, group, row in _csv_rows(path):
            if isinstance(row, list):
                columns, problems = _columns(row, policy, rows_input)
                if problems:
                    yield Item(str(path), None, "E605 " + "; ".join(problems))
                    return
                continue
            key = f"{path}#{group}" if group is not None else f"{path}:{number}"
            if key not in pending:
                pending[key] = {}
                order.append(key)
            if None in row:
                broken.setdefault(key, []).append(f"E606 row {number} of '{path}' has more cells than the header has columns")
            else:
                _csv_fill(pending[key], row, columns, rows_input)
            if group is None or last.get(group, number) <= number:
                complete.add(key)
            while order and order[0] in complete:
                done = order.popleft()
                complete.discard(done)
                data = pending.pop(done)
                errors = broken.pop(done, None)
                yield Item(done, None, "; ".join(errors)) if errors else Item(done, data)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        yield Item(str(path), None, _read_error(path, error))
        return
    for key in order:  # only if the file changed between the two passes
        errors = broken.get(key)
        yield Item(key, None, "; ".join(errors)) if errors else Item(key, pending[key])


def _jsonl_items(path: Path) -> Iterator[Item]:
    """One item per non-blank line, keyed `file:line`; a line that is too long or not UTF-8 is invalid alone."""
    limit = _assessment.MAX_ASSESSMENT_BYTES
    number = 0
    try:
        with _open_regular(path) as handle:
            while raw := handle.readline(limit + 1):
                number += 1
                key = f"{path}:{number}"
                if len(raw) > limit and not raw.endswith(b"\n"):
                    while raw and not raw.endswith(b"\n"):  # skip the rest of the line
                        raw = handle.readline(1 << 20)
                    yield Item(key, None, f"E307 line {number} of '{path}' is more than {limit} bytes, above the limit of {limit}")
                    continue
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    yield Item(key, None, f"E301 line {number} of '{path}' is not UTF-8 text")
                    continue
                if line.strip():
                    yield Item(key, (key, line, True))
    except OSError as error:
        yield Item(str(path) if number == 0 else f"{path}:{number + 1}", None, _read_error(path, error))


def iter_inputs(paths: list[str], policy: Any, rows_input: str | None) -> Iterator[Item]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = (p for p in path.rglob("*") if p.suffix.lower() in (".yaml", ".yml", ".json") and not p.is_dir())
            for file in sorted(found):
                yield _file_item(file)
        elif path.suffix.lower() == ".jsonl":
            yield from _jsonl_items(path)
        elif path.suffix.lower() == ".csv":
            yield from _csv_items(path, policy, rows_input)
        else:
            yield _file_item(path)


def count_inputs(paths: list[str], rows_input: str | None) -> int:
    """How many assessments `iter_inputs` will give (for a progress bar's total): files are
    counted, not read; JSONL lines and CSV rows are read, not evaluated."""
    total = 0
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            total += sum(1 for p in path.rglob("*") if p.suffix.lower() in (".yaml", ".yml", ".json") and not p.is_dir())
        elif path.suffix.lower() in (".jsonl", ".csv"):
            total += sum(1 for _ in (_jsonl_items(path) if path.suffix.lower() == ".jsonl" else _csv_items(path, rows_input)))
        else:
            total += 1
    return total


def rows_input_for(policy: Any, csv_input: str | None) -> str | None:
    return csv_input or _default_rows_input(policy)


def _file_item(path: Path) -> Item:
    """A YAML/JSON file, read up to the size limit and no further."""
    key = str(path)
    limit = _assessment.MAX_ASSESSMENT_BYTES
    try:
        with _open_regular(path) as handle:
            size = os.fstat(handle.fileno()).st_size
            data = handle.read(limit + 1) if size <= limit else b""
        if size > limit or len(data) > limit:
            return Item(key, None, f"E307 assessment '{path}' is {max(size, len(data))} bytes, above the limit of {limit}")
        # universal newlines, as read_text gives
        text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except (OSError, UnicodeDecodeError) as error:
        return Item(key, None, _read_error(path, error))
    return Item(key, (key, text, path.suffix.lower() == ".json"))


# ------------------------------------------------------------------ work


_WORKER: dict[str, Any] = {}


def policy_sources(policy: Any) -> tuple[dict[str, str], str]:
    """The policy's files as {path relative to the root policy's folder: text}, and the root's path."""
    from ..provenance.records import policy_root

    root = policy_root(policy)
    assert root is not None
    files = {}
    for source in policy.source_map.files():
        assert source.path is not None
        files[str(source.path.resolve().relative_to(root.parent))] = source.text
    return files, root.name


def _policy_for(sources: dict[str, str], root: str) -> Any:
    """Compile once per worker process, from the source text shipped with the job."""
    import atexit
    import shutil
    import tempfile

    if _WORKER.get("sources") is sources:  # the same job payload: no need to hash it again
        return _WORKER["policy"]
    key = sha256_text(canonical_json(sources))
    if _WORKER.get("key") != key:
        folder = Path(tempfile.mkdtemp(prefix="stratdsl-batch-"))
        atexit.register(shutil.rmtree, folder, True)
        for name, text in sources.items():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        policy, diagnostics = compile_policy(folder / root, lambda p: str(p.relative_to(folder)))
        if policy is None:
            raise StratError(diagnostics)
        _WORKER.update(key=key, policy=policy)
    _WORKER["sources"] = sources
    return _WORKER["policy"]


def _dumps(line: dict[str, Any], **options: Any) -> str:
    """JSON text as written; \\u escapes only if the line holds text that is not valid Unicode
    (a lone surrogate, a file name in another encoding), which the UTF-8 output could not hold."""
    text = json.dumps(line, ensure_ascii=False, sort_keys=True, **options)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(line, ensure_ascii=True, sort_keys=True, **options)
    return text


def _invalid(key: str, errors: list[str]) -> str:
    return _dumps({"key": key, "status": "invalid", "errors": errors})


def _bug(error: Exception) -> str:
    """E604: this input met a bug of stratdsl. One line in the output, not the end of the run:
    otherwise every rerun would stop at the same input and never reach the ones after it."""
    if os.environ.get("STRATDSL_DEBUG"):
        traceback.print_exc()
    detail = f"{type(error).__name__}: {error}"
    if len(detail) > 300:
        detail = detail[:300] + "…"
    return (
        f"E604 this input could not be evaluated because of a bug in stratdsl ({detail}); "
        "please report it with this input (STRATDSL_DEBUG=1 shows details). The other inputs were evaluated."
    )


def evaluate_item(job: tuple[dict[str, str], str, str, dict[str, str], Item]) -> str:
    """One input → one output line (JSON text). Runs in a worker; never raises for an input."""
    sources, root, as_of, params, item = job
    policy = _policy_for(sources, root)
    if item.error is not None:
        return _invalid(item.key, [item.error])
    try:
        return _evaluate(policy, as_of, params, item)
    except StratError as error:
        return _invalid(item.key, [f"{d.code} {d.message}" for d in error.diagnostics])
    except Exception as error:  # any bug met on this input only (see _bug)
        return _invalid(item.key, [_bug(error)])


def _evaluate(policy: Any, as_of: str, params: dict[str, str], item: Item) -> str:
    data = item.data
    spans = {}
    if isinstance(data, tuple):
        name, text, is_json = data
        data, spans = parse_data(text, name, json_format=is_json)
    assessment = validate(policy, data, item.key, spans)
    overrides = parse_params(policy, [f"{k}={v}" for k, v in params.items()])
    from ..backends.compiler import compiled

    result = compiled(policy).evaluate(assessment, date.fromisoformat(as_of), overrides)
    line = {
        "key": item.key,
        "status": "ok",
        "as_of": as_of,
        "assessment_sha256": sha256_text(canonical_json(assessment.data)),
        "decisions": [
            {"decision": d.decision, "entity": d.entity, "status": d.status, "outcome": d.outcome, "rule": d.rule, "missing": list(d.missing)}
            for d in result.decisions
        ],
        "values": [{"definition": v.definition, "entity": v.entity, "value": to_json_value(v.value)} for v in result.values],
    }
    return _dumps(line, separators=(",", ":"))


def done_keys(out: Path) -> set[str]:
    """Keys already written, after cutting a torn last line left by an interrupted run."""
    if not out.exists():
        return set()
    keys = set()
    with out.open("rb+") as handle:
        data = handle.read()
        end = len(data)
        if data and not data.endswith(b"\n"):
            end = data.rfind(b"\n") + 1
            handle.truncate(end)
        for line in data[:end].splitlines():
            try:
                keys.add(json.loads(line)["key"])
            except (ValueError, KeyError):
                continue
    return keys


def _lock_output(handle: Any, out: Path) -> None:
    """One run per output file: a second run on the same output would read the same keys
    as done and evaluate (and write) every remaining input a second time. The lock is
    released when the run ends, however it ends (the kernel drops it with the process)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; documented in docs/cli.md
        return
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise StratError(
            [
                Diagnostic(
                    "E607",
                    Msg(N_("another batch run is writing '{path}'"), path=out),
                    hint=Msg(N_("wait for it to end (a rerun then resumes where it stopped), or write to another output file")),
                )
            ]
        ) from None


def run_batch(
    sources: dict[str, str],
    root: str,
    inputs: list[str],
    out: Path,
    as_of: date,
    params: dict[str, str],
    jobs: int = 1,
    engine: str = "local",
    scheduler: str | None = None,
    progress: Any = None,
    csv_input: str | None = None,
) -> Summary:
    if engine == "duckdb":  # the policy as SQL over the files in place (batch_duckdb.py)
        import sys

        from .batch_duckdb import run as duckdb_run

        # this module is handed in (as to batch_dask) so that batch_duckdb does not import it back
        return duckdb_run(sys.modules[__name__], sources, root, inputs, out, as_of, params, jobs, progress, csv_input)
    policy = _policy_for(sources, root)
    rows_input = csv_input or _default_rows_input(policy)
    summary = Summary()
    with out.open("a", encoding="utf-8") as handle:
        _lock_output(handle, out)  # before reading the keys done: the other run may be adding some
        seen = done_keys(out)

        def pending() -> Iterator[tuple]:
            for item in iter_inputs(inputs, policy, rows_input):
                if item.key in seen:
                    summary.skipped += 1
                    continue
                yield (sources, root, as_of.isoformat(), params, item)

        work = pending()
        for line in _execute(work, jobs, engine, scheduler):
            handle.write(line + "\n")
            record = json.loads(line)
            summary.processed += 1
            if record["status"] == "invalid":
                summary.invalid += 1
                summary.invalid_keys.append((record["key"], "; ".join(record["errors"])))
            else:
                for d in record["decisions"]:
                    outcome = d["outcome"] if d["status"] == "decided" else d["status"]
                    summary.outcomes.setdefault(d["decision"], Counter())[outcome] += 1
            if summary.processed % CHUNK == 0:
                handle.flush()
                os.fsync(handle.fileno())
            if progress is not None:
                progress(summary)
        handle.flush()
        os.fsync(handle.fileno())
    return summary


def _execute(work: Iterator[tuple], jobs: int, engine: str, scheduler: str | None) -> Iterator[str]:
    if engine == "dask":
        from .batch_dask import execute as dask_execute

        yield from dask_execute(work, scheduler, evaluate_item, CHUNK)
        return
    if jobs <= 1:
        for job in work:
            yield evaluate_item(job)
        return
    import multiprocessing

    context = multiprocessing.get_context("spawn" if os.name == "nt" else "fork")
    with context.Pool(jobs) as pool:
        # imap keeps input order and consumes the input lazily
        yield from pool.imap(evaluate_item, work, chunksize=CHUNK)
