"""Same decisions from `batch --engine duckdb` and the per-record engine, line by line.

    python benchmarks/sql_equality.py --which A --n 1000000 [--dirty 0.01] [--keep DIR] [--skip-local]
    STRATDSL_DUCKDB_MEMORY=6GB python benchmarks/sql_equality.py --which strategy --n 100000

(the methodology fits in the default 2 GB since it is read a slice at a time
and evaluated in parts sized by the policy; see docs/performance.md).
    python benchmarks/sql_equality.py --which strategy --n 100000 --format csv|parquet

Data is generated as benchmarks/sql_bench.py generates it, never stored
(a temporary folder unless --keep):
- `A` (benchmarks/three.strat): N use cases, 10 per assessment, impact, effort
  and score on the 0.0…5.0 grid, recruitment 30 %, narrow_task and profiling
  50 %, drawn by DuckDB into a CSV file (the input both engines read);
  `--dirty F` makes a fraction F of the efforts `unknown`, F/5 of the
  profiling cells empty and F/10 of the scores out of range (all invalid for
  this policy, whose fields are required: those assessments go to Python);
- `strategy` (policies/strategy.strat): the nine examples replicated (each
  copy a new assessment) until N use cases, one nested JSONL line per
  assessment (the local engine's JSONL, read in place by DuckDB).

Both commands run as `stratdsl batch … --as-of 2026-11-26`, under
`/usr/bin/time -v` (wall, user + system CPU, peak RSS of the command and its
children), `--engine duckdb` with its defaults (2 GB memory bound, parts) and
the local engine with `--jobs 2`. Then every line is compared: a line written
from SQL (`"engine":"duckdb"`) must carry the local line's key and its
`decisions` array byte for byte; a line written by Python must be the local
line. Printed: lines, lines from SQL, decisions in them (decided / no_match),
lines handed to Python (with an undetermined decision, invalid), and
differences, which must be 0 (the exit status is 1 otherwise). Nothing about
time is asserted; the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
AS_OF = "2026-11-26"
PER = 10
STRATDSL = Path(sys.executable).with_name("stratdsl")


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min) on {os.cpu_count()} cores"


def gen_three(path: Path, n: int, dirty: float) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute("SELECT setseed(0.25)")
    grid = "CAST(CAST(floor(random() * 51) / 10 AS DECIMAL(3, 1)) AS VARCHAR)"
    con.execute(
        f"""COPY (SELECT 'a' || (i // {PER}) AS assessment, 'u' || i AS id,
          {grid} AS impact,
          CASE WHEN random() < {dirty} THEN 'unknown' ELSE {grid} END AS effort,
          CASE WHEN random() < 0.3 THEN 'true' ELSE 'false' END AS recruitment,
          CASE WHEN random() < 0.5 THEN 'true' ELSE 'false' END AS narrow_task,
          CASE WHEN random() < {dirty / 5} THEN '' WHEN random() < 0.5 THEN 'true' ELSE 'false' END AS profiling,
          CASE WHEN random() < {dirty / 10} THEN '7' ELSE {grid} END AS score
        FROM range({n}) t(i) ORDER BY i) TO '{path}' (HEADER)"""
    )
    con.close()


def gen_strategy(path: Path, n: int) -> int:
    """The examples replicated, one nested JSONL line per assessment; returns the use cases written."""
    import yaml

    seeds = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted((REPO / "examples").glob("*.yaml"))]
    lines = [json.dumps(s, ensure_ascii=False, default=str, separators=(",", ":")) for s in seeds]
    per_copy = sum(len(s.get("usecases", [])) for s in seeds)
    copies = max(1, n // per_copy)
    with path.open("w", encoding="utf-8") as out:
        for _ in range(copies):
            out.write("\n".join(lines) + "\n")
    return copies * per_copy


def gen_strategy_flat(path: Path, n: int) -> int:
    """The examples replicated in the flat layout of `stratdsl batch` CSV input (an `assessment`
    column, one use case a row, `organization.field` and `maturity.member.field` cells on the
    assessment's first row): CSV, or Parquet (every cell text) for a path ending in .parquet.
    That layout holds one list input only, so the examples' `tools` are left out (their shadow
    AI decision reads no tool: a different assessment, the same policy)."""
    import csv

    import yaml

    from stratdsl.backends.sql_duckdb import nested_columns
    from stratdsl.engine import compile_policy

    policy, _ = compile_policy(REPO / "policies" / "strategy.strat")
    columns = ["assessment"] + [c for c in nested_columns(policy, "usecases") if "[]." not in c]

    def cell(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return "[" + ";".join(str(v) for v in value) + "]"
        return str(value)

    seeds = []
    for p in sorted((REPO / "examples").glob("*.yaml")):
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
        head = {}
        for name, item in policy.inputs.items():
            if item.kind == "record":
                head.update({f"{name}.{f}": cell((data.get(name) or {}).get(f)) for f in item.fields})
            elif item.kind == "group":
                for m in item.members:
                    head.update({f"{name}.{m}.{f}": cell(((data.get(name) or {}).get(m) or {}).get(f)) for f in item.fields})
        cases = [{k: cell(v) for k, v in case.items() if k in columns} for case in data.get("usecases", [])]
        rows = [{**head, **case} if i == 0 else case for i, case in enumerate(cases)] or [head]
        seeds.append((p.stem, rows, len(cases)))
    per_copy = sum(c for _, _, c in seeds)
    copies = max(1, n // per_copy)
    target = path.with_suffix(".csv")
    with target.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, columns, lineterminator="\n")
        writer.writeheader()
        for copy in range(copies):
            for stem, rows, _ in seeds:
                for row in rows:
                    writer.writerow({"assessment": f"{stem}-{copy}", **row})
    if path.suffix == ".parquet":
        import duckdb

        con = duckdb.connect()
        con.execute(f"COPY (SELECT * FROM read_csv('{target}', all_varchar = true, header = true)) TO '{path}' (FORMAT parquet)")
        con.close()
    return copies * per_copy


def timed(args: list[str], cwd: Path) -> dict:
    done = subprocess.run(["/usr/bin/time", "-v", *args], cwd=cwd, capture_output=True, text=True)
    err = done.stderr

    def field(name: str) -> str:
        m = re.search(rf"^\s*{re.escape(name)}: (.*)$", err, re.M)
        return m.group(1) if m else "?"

    wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss)")
    parts = [float(x) for x in wall.split(":")] if wall != "?" else [0.0]
    seconds = sum(v * 60 ** i for i, v in enumerate(reversed(parts)))
    return {
        "returncode": done.returncode,
        "wall": seconds,
        "cpu": float(field("User time (seconds)")) + float(field("System time (seconds)")),
        "peak_rss_mb": int(field("Maximum resident set size (kbytes)")) / 1024,
        "stdout": done.stdout,
        "stderr_tail": [line for line in err.splitlines() if not line.startswith("\t")][-4:],
    }


def decisions_of(line: str, tail: str) -> str:
    return line.split('"decisions":', 1)[1].split(tail, 1)[0] if '"decisions":' in line else ""


def compare(local: Path, duck: Path, rename: tuple[str, str] | None = None) -> dict:
    c = dict(lines=0, from_sql=0, decisions_from_sql=0, decided_equal=0, no_match_equal=0,
             to_python=0, python_with_undetermined=0, python_invalid=0, differences=0)
    examples: list[str] = []
    with local.open(encoding="utf-8") as a_file, duck.open(encoding="utf-8") as b_file:
        while True:
            a, b = a_file.readline(), b_file.readline()
            if rename:  # Parquet read by DuckDB, its CSV twin by the local engine: the keys name the file
                b = b.replace(f'"key":"{rename[0]}#', f'"key":"{rename[1]}#')
            if not a and not b:
                break
            c["lines"] += 1
            if not a or not b:
                c["differences"] += 1
                examples.append(f"line {c['lines']}: one file ends here")
                break
            if '"engine":"duckdb"' in b:
                c["from_sql"] += 1
                same = json.loads(a)["key"] == json.loads(b)["key"] and decisions_of(a, '],"key"') == decisions_of(b, '],"engine"')
                if same:
                    ds = json.loads(b)["decisions"]
                    c["decisions_from_sql"] += len(ds)
                    c["decided_equal"] += sum(d["status"] == "decided" for d in ds)
                    c["no_match_equal"] += sum(d["status"] == "no_match" for d in ds)
            else:
                c["to_python"] += 1
                same = a == b
                c["python_with_undetermined"] += '"status":"undetermined"' in b
                c["python_invalid"] += '"decisions"' not in b or '"errors":[{' in b
            if not same:
                c["differences"] += 1
                if len(examples) < 5:
                    examples.append(f"line {c['lines']}:\n  local {a[:400]}\n  duck  {b[:400]}")
    c["examples"] = examples
    return c


def summary_of(path: Path) -> str:
    """Counts per decision and outcome (for a reused local.jsonl, whose command output is gone)."""
    counts: dict = {}
    for line in path.open(encoding="utf-8"):
        for d in json.loads(line).get("decisions", []):
            key = (d["decision"], d["outcome"] or d["status"])
            counts[key] = counts.get(key, 0) + 1
    return json.dumps(sorted(counts.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--which", choices=["A", "strategy"], default="A")
    parser.add_argument("--n", type=int, default=1_000_000, help="use cases")
    parser.add_argument("--dirty", type=float, default=0.0, help="benchmark A: fraction of unknown efforts (and fewer bad cells)")
    parser.add_argument("--keep", help="a folder for the input and outputs, kept (default: a temporary folder)")
    parser.add_argument("--skip-local", action="store_true", help="run and time the duckdb engine only (no comparison)")
    parser.add_argument("--reuse", action="store_true", help="with --keep: reuse the input and local.jsonl already there (rerun duckdb only)")
    parser.add_argument("--format", choices=["jsonl", "csv", "parquet"], default="jsonl",
                        help="strategy: nested JSONL (default), or the flat CSV layout as CSV or Parquet (no tools)")
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()
    policy = HERE / "three.strat" if args.which == "A" else REPO / "policies" / "strategy.strat"
    with tempfile.TemporaryDirectory(prefix="stratdsl-sqleq-") as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        reuse = args.reuse and args.keep
        if args.which == "A":
            source = folder / f"a{args.n}.csv"
            if not (reuse and source.exists()):
                gen_three(source, args.n, args.dirty)
            cases = args.n
        elif args.format != "jsonl":
            source = folder / f"s{args.n}.{args.format}"
            cases = gen_strategy_flat(source, args.n)
        else:
            source = folder / f"s{args.n}.jsonl"
            if reuse and source.exists():
                per_copy = sum(1 for line in source.open(encoding="utf-8") for _ in json.loads(line).get("usecases", []))
                cases = per_copy
            else:
                cases = gen_strategy(source, args.n)
        print(f"{args.which}: {cases} use cases in {source.name} ({source.stat().st_size / 1e6:.1f} MB); {load()}", flush=True)
        record: dict = {"which": args.which, "use_cases": cases, "dirty": args.dirty, "load_before": load()}
        base = [str(STRATDSL), "batch", str(policy), source.name, "--as-of", AS_OF]
        # the local engine reads no Parquet: it reads the CSV the Parquet file was made from
        local_source = source.with_suffix(".csv").name if source.suffix == ".parquet" else source.name
        local_kept = reuse and (folder / "local.jsonl").exists()
        runs = [("duckdb", ["--engine", "duckdb"])] + ([] if args.skip_local or local_kept else [("local", ["--jobs", "2"])])
        for name, extra in runs:
            out = folder / f"{name}.jsonl"
            out.unlink(missing_ok=True)
            args_of = [*base[:3], local_source, *base[4:]] if name == "local" else base
            r = timed([*args_of, "-o", out.name, *extra], folder)
            summary = r.pop("stdout")
            record[name] = r
            if r["returncode"] not in (0, 1) or not summary.strip():
                print(f"{name:6}: failed (exit {r['returncode']}) after {r['wall']:.1f} s, peak RSS {r['peak_rss_mb']:,.0f} MB: {r['stderr_tail']}", flush=True)
                record["failed"] = True
                break
            print(f"{name:6}: exit {r['returncode']}, {r['wall']:.1f} s wall, {r['cpu']:.1f} s CPU (user + sys), "
                  f"peak RSS {r['peak_rss_mb']:,.0f} MB, {cases / r['wall']:,.0f} use cases/s wall, "
                  f"{cases / max(r['cpu'], 1e-9):,.0f} per CPU-second; {load()}", flush=True)
            print("        " + "\n        ".join(summary.strip().splitlines()[:4]), flush=True)
            record[name]["summary"] = summary.replace(out.name, "OUT")
        if record.get("failed"):
            args.skip_local = True
        if not args.skip_local and local_kept:
            record["local"] = {"summary": summary_of(folder / "local.jsonl")}
            record["duckdb"]["summary"] = summary_of(folder / "duckdb.jsonl")
        if not args.skip_local:
            record["same_summary"] = record["duckdb"]["summary"] == record["local"]["summary"]
            c = compare(folder / "local.jsonl", folder / "duckdb.jsonl", (source.name, local_source) if local_source != source.name else None)
            record["comparison"] = c
            print(f"summary lines equal: {record['same_summary']}")
            print(f"lines {c['lines']:,}: {c['from_sql']:,} from SQL ({c['decisions_from_sql']:,} decisions: "
                  f"{c['decided_equal']:,} decided and {c['no_match_equal']:,} no_match, byte-identical), "
                  f"{c['to_python']:,} handed to Python ({c['python_with_undetermined']:,} with an undetermined decision, "
                  f"{c['python_invalid']:,} invalid); differences: {c['differences']}")
            for e in c["examples"]:
                print(e)
        record["load_after"] = load()
        print(load())
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(record, indent=2) + "\n")
        if record.get("failed") or (not args.skip_local and (record["comparison"]["differences"] or not record["same_summary"])):
            sys.exit(1)


if __name__ == "__main__":
    main()
