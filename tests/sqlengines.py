"""Helpers of tests/test_sql.py: run a policy's SQL on DuckDB and on PostgreSQL, compare with Python.

PostgreSQL is Debian's package (installed by .ci/run): a throw-away cluster is
created with initdb in a temporary folder, owned by the `postgres` user when
the tests run as root (PostgreSQL refuses to run as root), and listens only on
a unix socket in that folder; `psql` runs the queries.
"""

from __future__ import annotations

import csv
import glob
import io
import os
import shutil
import subprocess
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from stratdsl.backends.sql import sql_type
from stratdsl.backends.sql_duckdb import bind_assessments, connect
from stratdsl.commands.sql_cmd import render
from stratdsl.runtime.evaluator import evaluate
from stratdsl.runtime.values import Unknown

Row = tuple[str, str, str | None]  # assessment, decision, entity


def python_results(policy, items, as_of: date) -> dict[Row, tuple[str, str | None, str | None]]:
    out = {}
    for key, assessment in items:
        for d in evaluate(policy, assessment, as_of).decisions:
            out[(key, d.decision, d.entity)] = (d.status, d.outcome, d.rule)
    return out


def duckdb_results(policy, items, as_of: date, params=None) -> dict[Row, tuple[str, str | None, str | None]]:
    con = connect(2)
    bind_assessments(con, policy, items)
    query = render(policy, "duckdb", as_of, params or {}, defaults=False)  # the assessments hold them
    rows = con.execute(query).fetchall()
    return {(r[0], r[1], r[2]): (r[5], r[6], r[7]) for r in rows}


def compare(python, sql) -> tuple[int, int]:
    """(settled by SQL and equal, left to Python); raises on any settled difference."""
    settled = left = 0
    assert set(python) == set(sql), "SQL and Python do not make the same decisions"
    for row, (status, outcome, rule) in sql.items():
        if status == "undetermined":
            left += 1
            continue
        assert python[row] == (status, outcome, rule), f"{row}: Python {python[row]}, SQL {(status, outcome, rule)}"
        settled += 1
    return settled, left


# ------------------------------------------------------------------ PostgreSQL


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class Postgres:
    """A private cluster on a unix socket; `None` from `start` says why it could not start."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="stratdsl-pg-"))
        self.bin = _pg_bin()
        self.user: list[str] = []

    def start(self) -> str | None:
        if self.bin is None or shutil.which("psql") is None:
            return "PostgreSQL is not installed (apt-get install postgresql; .ci/run does)"
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                return "running as root without runuser: PostgreSQL cannot start as root"
            shutil.chown(self.folder, "postgres")
            self.user = ["runuser", "-u", "postgres", "--"]
        data = self.folder / "data"
        steps = [
            [*self.user, str(self.bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8"],
            [*self.user, str(self.bin / "pg_ctl"), "-D", str(data), "-w", "-l", str(self.folder / "log"),
             "-o", f"-k {self.folder} -c listen_addresses=''", "start"],
        ]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True, timeout=120)
            if done.returncode != 0:
                return f"PostgreSQL did not start: {(done.stderr or done.stdout).strip()[-300:]}"
        return None

    def stop(self) -> None:
        subprocess.run([*self.user, str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)

    def psql(self, sql: str) -> str:
        done = subprocess.run(
            ["psql", "-h", str(self.folder), "-U", "postgres", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--csv", "-f", "-"],
            input=sql, capture_output=True, text=True, timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def results(self, policy, items, as_of: date) -> dict[Row, tuple[str, str | None, str | None]]:
        script = [_pg_tables(policy, items), render(policy, "postgres", as_of, {}, defaults=False)]
        out = self.psql("SET jit = off;\nBEGIN;\n" + "\n".join(script) + "\nROLLBACK;\n")  # see the header of `stratdsl sql`
        rows = list(csv.reader(io.StringIO(out)))
        head = rows[0]
        got = {}
        for r in rows[1:]:
            d = dict(zip(head, r, strict=True))
            none = lambda v: v or None  # noqa: E731 - psql writes NULL as an empty cell
            got[(d["assessment"], d["decision"], none(d["entity"]))] = (d["status"], none(d["outcome"]), none(d["rule"]))
        return got


def _pg_literal(value: Any) -> str:
    if value is None or isinstance(value, Unknown):
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, frozenset):
        return "ARRAY[" + ", ".join(_pg_literal(v) for v in sorted(value)) + "]::VARCHAR[]" if value else "'{}'::VARCHAR[]"
    if "\x00" in str(value):
        raise NulInText("PostgreSQL text cannot hold the character NUL")
    return "'" + str(value).replace("'", "''") + "'"


class NulInText(ValueError):
    """An assessment PostgreSQL cannot store (its TEXT has no NUL): the test skips it."""


def _pg_tables(policy, items) -> str:
    out = []
    for item in policy.inputs.values():
        cols = ["assessment VARCHAR"] + ([] if item.kind == "record" else ["id VARCHAR", "ord BIGINT"])
        cols += [f'"{n}" {sql_type(f.type).replace("DECIMAL", "NUMERIC")}' for n, f in item.fields.items()]
        out.append(f'CREATE TEMP TABLE "{item.name}" ({", ".join(cols)});')
        for key, assessment in items:
            if item.kind == "record":
                values = assessment.records.get(item.name, {})
                rows = [[key, *[values.get(n) for n in item.fields]]]
            else:
                rows = [[key, e.id, Decimal(e.index), *[e.values.get(n) for n in item.fields]] for e in assessment.entities.get(item.name, [])]
            for row in rows:
                out.append(f'INSERT INTO "{item.name}" VALUES ({", ".join(_pg_literal(v) for v in row)});')
    return "\n".join(out)
