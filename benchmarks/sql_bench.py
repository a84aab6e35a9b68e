"""The SQL back end on DuckDB: `python benchmarks/sql_bench.py [--quick] [--sizes 100000,1000000] [--json OUT]`.

Data is generated here, never stored:
- benchmark A (benchmarks/three.strat): N use cases drawn in SQL with the
  distributions of bench.py (impact, effort and score on the 0.0…5.0 grid,
  recruitment 30 %, narrow_task and profiling 50 %), 10 use cases per
  assessment, written once to a Parquet file in a temporary folder;
- the reference methodology (policies/strategy.strat): the four examples
  replicated (each copy a new assessment) until N use cases.

For each N, in a child process (so that its peak memory is its own):
- `sql`: the canonical query over typed tables (what a warehouse runs),
  into a DuckDB table; decisions/s = rows of decisions / wall time; for the
  methodology, a part of about 10^5 use cases at a time (whole assessments;
  SQL_BENCH_STRATEGY_PART changes it): each part's tables are built untimed,
  the query's time on each part is summed (and printed with the tables' too);
- `batch` (benchmark A only): `batch --engine duckdb` from the Parquet file
  to JSONL (reading, checking every cell, deciding, writing the lines);
and, for the crossover with the per-record engine, the compiled Python
engine's time per assessment on the same data (a sample of 2,000). Nothing
is asserted; the machine is shared (the load average is printed). Each child
runs with DuckDB's memory limit (STRATDSL_DUCKDB_MEMORY, 2 GB by default).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
AS_OF = date(2026, 11, 26)
PER = 10  # use cases per assessment in benchmark A


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def gen_three(con, n: int) -> None:
    """Typed `usecases` table of benchmark A, and the same as a flat Parquet file for batch."""
    con.execute(
        f"""CREATE TABLE usecases AS SELECT
          'a' || (i // {PER}) AS assessment, 'u' || i AS id, i AS ord,
          CAST(floor(random() * 51) / 10 AS DECIMAL(38, 6)) AS impact,
          CAST(floor(random() * 51) / 10 AS DECIMAL(38, 6)) AS effort,
          random() < 0.3 AS recruitment, random() < 0.5 AS narrow_task, random() < 0.5 AS profiling,
          CAST(floor(random() * 51) / 10 AS DECIMAL(38, 6)) AS score
        FROM range({n}) t(i)"""
    )


def gen_strategy(con, policy, n: int) -> tuple[int, int]:
    """The examples as seed tables; returns (copies, use cases per copy) to reach n use cases.
    `copy_part` fills the input tables with some of the copies (each a new assessment key)."""
    from stratdsl.backends.sql_duckdb import bind_assessments
    from stratdsl.engine import load_assessment

    items = [(p.name, load_assessment(policy, p)) for p in sorted((REPO / "examples").glob("*.yaml"))]
    bind_assessments(con, policy, items)
    per_copy = con.execute("SELECT count(*) FROM usecases").fetchone()[0]
    for item in policy.inputs.values():
        con.execute(f'CREATE TABLE seed_{item.name} AS SELECT * FROM "{item.name}"')
    return max(1, n // per_copy), per_copy


def copy_part(con, policy, first: int, last: int) -> None:
    """The input tables hold copies first…last-1 of the examples (a part of the assessments)."""
    for item in policy.inputs.values():
        con.execute(
            f'CREATE OR REPLACE TABLE "{item.name}" AS SELECT s.* REPLACE (s.assessment || \'#\' || c AS assessment) '
            f"FROM seed_{item.name} s, range({first}, {last}) r(c)"
        )


#: use cases of the methodology per part in `sql` mode: the assessments are evaluated a part at
#: a time (as `batch --engine duckdb` does), so that 10^7 runs in DuckDB's default 2 GB
STRATEGY_PART = 100_000


def child(which: str, n: int, mode: str, out: str) -> None:
    """One measurement in this process; prints one JSON object."""
    from stratdsl.backends.sql import compile_sql
    from stratdsl.backends.sql_duckdb import connect
    from stratdsl.engine import compile_policy

    policy, _ = compile_policy(HERE / "three.strat" if which == "A" else REPO / "policies" / "strategy.strat")
    con = connect()
    if which == "A":
        gen_three(con, n)
        cases = n
    else:
        copies, per_copy = gen_strategy(con, policy, n)
        cases = copies * per_copy
    result: dict = {"which": which, "n": cases, "mode": mode}
    if mode == "sql" and which == "strategy":
        # in parts of whole assessments: the part's tables are built (not timed), then the query
        # runs on them into a table of decisions (timed), counted and dropped
        query = compile_sql(policy, AS_OF, defaults=False).query()
        step = max(1, int(os.environ.get("SQL_BENCH_STRATEGY_PART") or STRATEGY_PART) // per_copy)
        wall = cpu = 0.0
        rows = settled = parts = 0
        whole, whole_cpu = time.perf_counter(), time.process_time()
        for first in range(0, copies, step):
            copy_part(con, policy, first, min(copies, first + step))
            start, began = time.perf_counter(), time.process_time()
            con.execute(f"CREATE OR REPLACE TABLE decisions AS {query}")
            wall += time.perf_counter() - start
            cpu += time.process_time() - began
            r, s = con.execute("SELECT count(*), count(*) FILTER (WHERE status <> 'undetermined') FROM decisions").fetchone()
            rows, settled, parts = rows + r, settled + s, parts + 1
            con.execute("DROP TABLE decisions")
            print(f"  part {parts}: copies {first}…{min(copies, first + step) - 1}, {wall:.1f} s wall, {cpu:.1f} s cpu so far, "
                  f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB; {load()}", file=sys.stderr, flush=True)
        result.update(
            wall=wall, cpu=cpu, decisions=rows, settled=settled, parts=parts, part_use_cases=step * per_copy,
            wall_with_tables=time.perf_counter() - whole, cpu_with_tables=time.process_time() - whole_cpu,
        )
    elif mode == "sql":
        start, cpu = time.perf_counter(), time.process_time()
        query = compile_sql(policy, AS_OF, defaults=False).query()
        con.execute(f"CREATE TABLE decisions AS {query}")
        wall = time.perf_counter() - start
        rows, settled = con.execute("SELECT count(*), count(*) FILTER (WHERE status <> 'undetermined') FROM decisions").fetchone()
        result.update(wall=wall, cpu=time.process_time() - cpu, decisions=rows, settled=settled)
    else:  # batch from a file to JSONL, through the command's own code: duckdb from Parquet, local from CSV
        folder = Path(out)
        source = folder / (f"a{n}.parquet" if mode == "batch" else f"a{n}.csv")
        con.execute(
            f"COPY (SELECT assessment, id, CAST(impact AS DOUBLE) AS impact, CAST(effort AS DOUBLE) AS effort, recruitment, narrow_task, "
            f"profiling, CAST(score AS DOUBLE) AS score FROM usecases ORDER BY ord) TO '{source}' "
            f"({'FORMAT parquet' if mode == 'batch' else 'HEADER'})"
        )
        con.close()
        from stratdsl.commands import batch

        sources, root = batch.policy_sources(policy)
        target = folder / f"a{n}.jsonl"
        start, cpu = time.perf_counter(), time.process_time()
        if mode == "batch":
            summary = batch.run_batch(sources, root, [str(source)], target, AS_OF, {}, 1, "duckdb")
        else:  # the per-record engine, both cores (CPU time is this process only: the workers are children)
            summary = batch.run_batch(sources, root, [str(source)], target, AS_OF, {}, 2, "local")
        wall = time.perf_counter() - start
        result.update(wall=wall, cpu=time.process_time() - cpu, decisions=3 * n, lines=summary.processed)
        target.unlink()
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def per_record(which: str, sample: int = 2000) -> float:
    """Seconds per assessment of the compiled Python engine (the per-record engine)."""
    import random
    from decimal import Decimal

    from stratdsl.backends.compiler import compiled
    from stratdsl.engine import compile_policy, load_assessment
    from stratdsl.runtime.assessment import validate

    if which == "A":
        policy, _ = compile_policy(HERE / "three.strat")
        rng = random.Random(1)
        grid = [Decimal(v) / 10 for v in range(51)]
        items = [
            validate(policy, {"usecases": [
                {"id": f"u{j}", "impact": rng.choice(grid), "effort": rng.choice(grid), "recruitment": rng.random() < 0.3,
                 "narrow_task": rng.random() < 0.5, "profiling": rng.random() < 0.5, "score": rng.choice(grid)} for j in range(PER)]})
            for _ in range(sample // PER)
        ]
    else:
        policy, _ = compile_policy(REPO / "policies" / "strategy.strat")
        items = [load_assessment(policy, p) for p in sorted((REPO / "examples").glob("*.yaml"))] * 25
    run = compiled(policy).evaluate
    start = time.perf_counter()
    for a in items:
        run(a, AS_OF)
    total = time.perf_counter() - start
    cases = sum(len(a.entities.get("usecases", [])) for a in items)
    return total / cases  # seconds per use case


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000,10000000")
    parser.add_argument("--strategy-sizes", default="100000,1000000")
    parser.add_argument("--modes", default="sql,batch", help="for benchmark A: sql, batch (duckdb), local (per-record batch)")
    parser.add_argument("--quick", action="store_true", help="10^5 use cases of benchmark A and 10^4 of the methodology only")
    parser.add_argument("--json", dest="json_out")
    parser.add_argument("--child", nargs=4, metavar=("WHICH", "N", "MODE", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        which, n, mode, out = args.child
        child(which, int(n), mode, out)
        return
    if args.quick:
        args.sizes, args.strategy_sizes = "100000", "10000"
    print(load(), flush=True)
    records = []
    with tempfile.TemporaryDirectory(prefix="stratdsl-sqlbench-") as folder:
        plans = [("A", int(n), m) for n in args.sizes.split(",") if n for m in args.modes.split(",")]
        plans += [("strategy", int(n), "sql") for n in args.strategy_sizes.split(",") if n]
        for which, n, mode in plans:
            # the child's progress (parts) goes to stderr as it runs
            done = subprocess.run([sys.executable, __file__, "--child", which, str(n), mode, folder], stdout=subprocess.PIPE, text=True)
            if done.returncode != 0:
                print(f"{which} {n} {mode}: failed (exit {done.returncode}, see above)", flush=True)
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            r["decisions_per_s"] = r["decisions"] / r["wall"]
            r["use_cases_per_s"] = r["n"] / r["wall"]
            records.append(r)
            print(
                f"{which:8} {mode:5} {r['n']:>9} use cases: {r['wall']:7.2f} s wall, {r['cpu']:7.2f} s cpu, "
                f"{r['decisions_per_s']:>12,.0f} decisions/s, {r['use_cases_per_s']:>11,.0f} use cases/s, peak {r['peak_rss_mb']:,.0f} MB"
                + (f", {r['parts']} parts of {r['part_use_cases']:,} ({r['wall_with_tables']:.1f} s wall, "
                   f"{r['cpu_with_tables']:.1f} s cpu with the parts' tables)" if "parts" in r else "")
                + f"; {load()}",
                flush=True,
            )
    crossover = {}
    for which in ("A", "strategy"):
        t_py = per_record(which)
        small = [r for r in records if r["which"] == which and r["mode"] == "sql"]
        if small:
            r = min(small, key=lambda x: x["n"])
            crossover[which] = {"python_s_per_use_case": t_py, "python_use_cases_per_s": 1 / t_py}
            print(f"{which:8} per-record compiled Python: {1 / t_py:,.0f} use cases/s", flush=True)
    print(load(), flush=True)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"load": load(), "runs": records, "per_record": crossover}, indent=2) + "\n")


if __name__ == "__main__":
    main()
