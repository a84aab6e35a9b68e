"""Batch runs: many assessments through one policy, streamed, resumable, in parallel.

Inputs are read lazily — a folder of YAML/JSON files, a JSONL file (one
assessment per line), or a CSV file with one use case per row (rows sharing
an `assessment` column form one assessment; columns `organization.headcount`
or `maturity.governance.owned` fill records and groups) — so memory stays flat
however large the input. Each input has a stable key (its path, or file:line);
the output JSONL gets one line per input, in input order. A rerun skips every
key the output already holds, after cutting a torn last line, so an
interrupted run resumes without losing or duplicating anything. Invalid inputs
are written as `invalid` lines with their errors, counted, and never stop the
others. Work is spread over processes (`--jobs`) or a Dask cluster; each worker
compiles the policy once from its source text.
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from .assessment import parse_data, validate
from .diagnostics import StratError
from .engine import compile_policy, parse_params
from .values import canonical_json, sha256_text, to_json_value

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


def _csv_value(raw: str) -> Any:
    text = raw.strip()
    if text == "":
        return None
    if text.lower() in ("true", "oui", "yes"):
        return True
    if text.lower() in ("false", "non", "no"):
        return False
    if ";" in text or text.startswith("["):
        return [p.strip() for p in text.strip("[]").split(";") if p.strip()]
    return text


def _default_rows_input(policy: Any) -> str | None:
    """The list a CSV row fills: the repeated input with the most fields."""
    many = [i for i in policy.inputs.values() if i.kind == "many"]
    return max(many, key=lambda i: len(i.fields)).name if many else None


def _csv_items(path: Path, rows_input: str | None) -> Iterator[Item]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        current_key: str | None = None
        current: dict[str, Any] = {}
        for number, row in enumerate(reader, start=2):
            group = (row.get("assessment") or "").strip() or f"{path}:{number}"
            if current_key is not None and group != current_key:
                yield Item(current_key, current)
                current = {}
            current_key = group
            usecase: dict[str, Any] = {}
            for column, raw in row.items():
                if column is None or column == "assessment":
                    continue
                value = _csv_value(raw or "")
                if "." in column:
                    node = current
                    parts = column.split(".")
                    for part in parts[:-1]:
                        node = node.setdefault(part, {})
                    if value is not None:
                        node[parts[-1]] = value
                elif value is not None:
                    usecase[column] = value
            if usecase and rows_input is not None:
                current.setdefault(rows_input, []).append(usecase)
        if current_key is not None:
            yield Item(current_key, current)


def iter_inputs(paths: list[str], rows_input: str | None) -> Iterator[Item]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.suffix.lower() in (".yaml", ".yml", ".json")):
                yield _file_item(file)
        elif path.suffix.lower() == ".jsonl":
            with path.open(encoding="utf-8") as handle:
                for number, line in enumerate(handle, start=1):
                    if line.strip():
                        yield Item(f"{path}:{number}", (f"{path}:{number}", line, True))
        elif path.suffix.lower() == ".csv":
            yield from _csv_items(path, rows_input)
        else:
            yield _file_item(path)


def _file_item(path: Path) -> Item:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return Item(str(path), None, f"cannot read: {error}")
    return Item(str(path), (str(path), text, path.suffix.lower() == ".json"))


# ------------------------------------------------------------------ work


_WORKER: dict[str, Any] = {}


def policy_sources(policy: Any) -> tuple[dict[str, str], str]:
    """The policy's files as {path relative to the root policy's folder: text}, and the root's path."""
    from .records import policy_root

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


def evaluate_item(job: tuple[dict[str, str], str, str, dict[str, str], Item]) -> str:
    """One input → one output line (JSON text). Runs in a worker; never raises for bad input."""
    sources, root, as_of, params, item = job
    policy = _policy_for(sources, root)
    if item.error is not None:
        return json.dumps({"key": item.key, "status": "invalid", "errors": [item.error]}, ensure_ascii=False, sort_keys=True)
    try:
        data = item.data
        spans = {}
        if isinstance(data, tuple):
            name, text, is_json = data
            data, spans = parse_data(text, name, json_format=is_json)
        assessment = validate(policy, data, item.key, spans)
        overrides = parse_params(policy, [f"{k}={v}" for k, v in params.items()])
        from .compiler import compiled

        result = compiled(policy).evaluate(assessment, date.fromisoformat(as_of), overrides)
    except StratError as error:
        errors = [f"{d.code} {d.message}" for d in error.diagnostics]
        return json.dumps({"key": item.key, "status": "invalid", "errors": errors}, ensure_ascii=False, sort_keys=True)
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
    return json.dumps(line, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


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


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


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
    policy = _policy_for(sources, root)
    rows_input = csv_input or _default_rows_input(policy)
    summary = Summary()
    seen = done_keys(out)

    def pending() -> Iterator[tuple]:
        for item in iter_inputs(inputs, rows_input):
            if item.key in seen:
                summary.skipped += 1
                continue
            yield (sources, root, as_of.isoformat(), params, item)

    work = pending()
    with out.open("a", encoding="utf-8") as handle:
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

        yield from dask_execute(work, scheduler)
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
