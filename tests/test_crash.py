"""Crash safety and concurrency: the audit log and batch runs under SIGKILL and parallel writers.

* random kills: `stratdsl eval … --audit-log LOG` run in a loop by real processes (the
  installed command, and the same click command looped in one interpreter so that kills
  land in the append more often), killed with SIGKILL after random short delays, 30
  times: afterwards `audit verify` passes or reports only a torn last line, the next
  append cuts it off and chains a `repair` entry, and the chain stays valid;
* kills at each step of `audit.append` (fault injection: the process kills itself right
  before or after a lock, half a write, a whole write, a truncation, an fsync — also over
  torn tails longer than the new entries): the same promises, and torn bytes are never
  dropped without a `repair` entry;
* a batch run killed again and again at random points, each time rerun (alternating
  --jobs 1 and 2): the final output is byte for byte that of an uninterrupted run;
* several processes appending to one log at once, some of them killed: every entry of
  every complete append present once, in one piece, in each writer's order, chain valid.

Lighter variants of some of these are in tests/test_audit.py
(test_concurrent_appends_from_several_processes_lose_nothing,
test_concurrent_cli_evaluations_keep_each_batch_together, test_torn_last_line_is_repaired_by_the_next_append)
and tests/test_batch.py (test_resume_after_the_run_is_killed, test_resume_after_a_torn_last_line);
known audit bugs found there (verify stops at a torn tail, the 64 KiB tail window, the repair
hash of a cut character) are not repeated here. Tests marked xfail(strict=True, reason="BUG Bn …")
are listed with their fixes in docs/security.md.

Every process a test starts runs in its own session and is killed by its process group,
nothing else.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from helpers import FIXTURES
from stratdsl.provenance import audit

STRATDSL = shutil.which("stratdsl")
pytestmark = pytest.mark.skipif(STRATDSL is None or os.name != "posix", reason="needs the installed `stratdsl` command and POSIX signals")

AS_OF = "2026-09-01"
TORN_MESSAGE = "the last line is incomplete"


# ------------------------------------------------------------------ helpers


def start(argv: list[str], cwd: Path | None = None, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        argv, cwd=cwd, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process group this test started (the loop and whatever it runs), then reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=60)
    if proc.stderr:
        proc.stderr.close()


def log_state(log: Path) -> tuple[int, int | None]:
    """(intact entries, length of a torn tail or None); fails on any other problem. An append
    cut exactly at a line boundary leaves no torn bytes but an evaluation without its commit
    entry (E413): that is a torn tail of length 0 — the next append records it too."""
    if not log.exists():
        return 0, None
    count, problem = audit.verify(log)
    if problem is None:
        return count, None
    if problem.code == "E413":
        assert count == len(entries(log)) and "has no commit entry" in problem.message, problem
        return count, 0
    assert problem.line == count + 1 and TORN_MESSAGE in problem.message, problem
    data = log.read_bytes()
    return count, len(data) - (data.rfind(b"\n") + 1)


def entries(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_bytes().splitlines() if line.strip()]


def assessment_text(n: int) -> str:
    rows = []
    rnd = random.Random(7)
    for i in range(n):
        rows.append(
            f"  - {{id: u{i}, impact: {rnd.randint(0, 5)}, effort: {rnd.randint(0, 5)}, purpose: {rnd.choice(['recruitment', 'scoring', 'other'])}, "
            f"profiling: {rnd.choice(['true', 'false', 'unknown'])}, narrow: {rnd.choice(['true', 'false'])}, weight: {rnd.randint(0, 3)}}}"
        )
    return "organization: {headcount: 300, regulated: true}\nusecases:\n" + "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("crash")
    shutil.copy(FIXTURES / "props.strat", folder / "policy.strat")
    (folder / "big.yaml").write_text(assessment_text(15), encoding="utf-8")  # ~50 records, ~200 KB per append
    return folder


@pytest.fixture(scope="module")
def group_size(work) -> int:
    """Entries one evaluation appends: the evaluation record, one record per decision, its commit entry."""
    log = work / "size.jsonl"
    done = subprocess.run([STRATDSL, "eval", "policy.strat", "big.yaml", "--as-of", AS_OF, "--audit-log", str(log)],
                          cwd=work, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return len(entries(log)) - 1  # the log's header


def check_groups(items: list[dict], size: int) -> None:
    """Each evaluation is followed by its decisions and its commit entry; a unit may only be short
    right before a repair entry that names it as abandoned."""
    assert items[0]["entry"]["kind"] == "log"
    kinds = [i["entry"]["kind"] for i in items]
    i = 1
    while i < len(kinds):
        if kinds[i] != "evaluation":
            assert kinds[i] in ("repair", "note"), (i, kinds[i])
            i += 1
            continue
        ident = items[i]["entry"]["id"]
        j = i + 1
        while j < len(kinds) and kinds[j] == "decision":
            assert items[j]["entry"]["evaluation"] == ident
            j += 1
        if j < len(kinds) and kinds[j] == "commit":
            assert items[j]["entry"] == {"kind": "commit", "evaluation": ident, "entries": str(size)}
            assert j + 1 - i == size
            j += 1
        else:
            assert j < len(kinds) and kinds[j] == "repair" and items[j]["entry"].get("abandoned") == ident, (
                f"evaluation at entry {i + 1} has {j - i - 1} decisions, no commit, and no repair records it"
            )
        i = j


# ------------------------------------------------------------------ 3. random SIGKILL of `eval --audit-log`

LOOP_IN_PROCESS = """
import os, sys, time
from stratdsl.commands.cli import main
args = sys.argv[1:]
if os.environ.get("SLOW_DISK"):  # a slow device: writes of 8 KB at most, 2 ms each (append loops over short writes)
    real_pwrite = os.pwrite
    def slow_pwrite(fd, data, offset):
        time.sleep(0.002)
        return real_pwrite(fd, bytes(data[:8192]), offset)
    os.pwrite = slow_pwrite
while True:
    try:
        main(args, standalone_mode=False)
    except SystemExit:
        pass
"""


def test_audit_log_survives_random_sigkill(work, group_size, tmp_path):
    log = tmp_path / "audit.jsonl"
    args = ["eval", "policy.strat", "big.yaml", "--as-of", AS_OF, "--audit-log", str(log)]
    shell_loop = f"while :; do {STRATDSL} {' '.join(args)} >/dev/null 2>&1; done"
    rnd = random.Random(20261126)
    torn_seen = repaired = 0
    intact_before = 0
    iteration = 0
    while iteration < 30 or (torn_seen == 0 and iteration < 45):  # 30 kills, more if none landed inside a write yet
        iteration += 1
        if iteration % 3 == 0:  # the installed command, one process per evaluation
            proc = start(["bash", "-c", shell_loop], cwd=work)
            delay = rnd.uniform(0.5, 4.0)
        else:  # the same command looped in one interpreter (many appends per second), every other time on a slow disk
            proc = start([sys.executable, "-c", LOOP_IN_PROCESS, *args], cwd=work, env={"SLOW_DISK": "1"} if iteration % 3 == 2 else None)
            delay = rnd.uniform(0.3, 2.5)
        time.sleep(delay)
        kill_group(proc)
        count, torn = log_state(log)
        assert count >= intact_before, "entries that verified before were lost"
        if torn is not None:
            torn_seen += 1
            # the next append (here one note) cuts the torn bytes off and chains a repair entry first
            seqs = audit.append(log, [{"kind": "note", "after_kill": iteration}])
            assert seqs == [count + 2]
            repair = entries(log)[count]["entry"]
            assert repair["kind"] == "repair" and repair["removed_bytes"] == torn
            repaired += 1
            count, torn = log_state(log)
            assert torn is None
        intact_before = count
    assert audit.verify(log)[1] is None
    items = entries(log)
    assert [i["seq"] for i in items] == list(range(1, len(items) + 1))
    assert sum(i["entry"]["kind"] == "evaluation" for i in items) >= 10, "too few evaluations were logged to mean anything"
    check_groups(items, group_size)
    assert repaired == torn_seen >= 1, "no kill landed inside a write: the repair path was not exercised"
    print(f"{len(items)} entries, {torn_seen} torn tails after a kill, all repaired")


# ------------------------------------------------------------------ 3. SIGKILL at each step of an append

DRIVER = """
import fcntl, os, signal, sys
from stratdsl.provenance import audit
log, point = sys.argv[1], sys.argv[2]
die = lambda: os.kill(os.getpid(), signal.SIGKILL)
real_flock, real_lseek, real_ftruncate, real_pwrite, real_fsync = fcntl.flock, os.lseek, os.ftruncate, os.pwrite, os.fsync
if point == "before-lock":
    fcntl.flock = lambda fd, op: die() if op == fcntl.LOCK_EX else real_flock(fd, op)
elif point == "after-lock":
    os.lseek = lambda *a: die()
elif point == "after-truncate":
    os.ftruncate = lambda fd, n: (real_ftruncate(fd, n), die())
elif point == "mid-write":
    os.pwrite = lambda fd, data, at: (real_pwrite(fd, bytes(data[: len(data) // 2]), at), die())
elif point == "after-write":  # all new bytes written, what is left of a torn tail not cut yet
    os.pwrite = lambda fd, data, at: (real_pwrite(fd, data, at), die())
elif point == "before-fsync":
    os.fsync = lambda fd: die()
elif point == "after-fsync":
    os.fsync = lambda fd: (real_fsync(fd), die())
audit.append(log, [{"kind": "evaluation", "id": "e1", "blob": "x" * 20000}]
               + [{"kind": "decision", "evaluation": "e1", "n": n, "blob": "y" * 9000} for n in range(3)])
print("not killed")
"""

TORN = b'{"entry":{"kind":"decision","blob":"zzzz'
POINTS = ["before-lock", "after-lock", "mid-write", "after-write", "before-fsync", "after-fsync"]


def _append_killed_at(log: Path, point: str) -> None:
    done = subprocess.run([sys.executable, "-c", DRIVER, str(log), point], capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, (point, done.returncode, done.stdout, done.stderr)


def _prepare(log: Path, torn: bool) -> int:
    audit.append(log, [{"kind": "note", "n": n} for n in range(3)])
    if torn:
        with log.open("ab") as f:
            f.write(TORN)
    return 4  # the header and three notes


@pytest.mark.parametrize("torn_before", [False, True], ids=["clean-tail", "torn-tail"])
@pytest.mark.parametrize("point", POINTS)
def test_append_killed_at_each_step(tmp_path, point, torn_before):
    log = tmp_path / "log.jsonl"
    before = _prepare(log, torn_before)
    _append_killed_at(log, point)
    count, torn = log_state(log)
    assert count >= before
    audit.append(log, [{"kind": "note", "n": "after"}])
    assert audit.verify(log)[1] is None
    items = entries(log)
    kinds = [i["entry"]["kind"] for i in items]
    assert kinds[:4] == ["log"] + ["note"] * 3 and kinds[-1] == "note"
    if torn is not None:
        assert kinds[-2] == "repair" and items[-2]["entry"]["removed_bytes"] == torn
    if torn_before:
        assert any(i["entry"]["kind"] == "repair" and i["entry"]["removed_bytes"] == len(TORN) for i in items), (
            "the torn tail that was there before disappeared without a repair entry"
        )
    written = [k for k, kind in enumerate(kinds) if kind in ("evaluation", "decision", "commit")]
    if written and kinds[written[-1]] != "commit":  # an append cut short: the repair names its unit as abandoned
        assert kinds[written[-1] + 1] == "repair" and items[written[-1] + 1]["entry"]["abandoned"] == "e1"
    report = audit.check(log)
    assert report.problem is None and report.evaluations + len(report.abandoned) == (1 if written else 0)


def test_append_killed_right_after_cutting_a_torn_tail_leaves_a_trace(tmp_path):
    log = tmp_path / "log.jsonl"
    _prepare(log, torn=True)
    _append_killed_at(log, "after-truncate")
    audit.append(log, [{"kind": "note", "n": "after"}])
    assert audit.verify(log)[1] is None
    assert any(i["entry"]["kind"] == "repair" for i in entries(log)), "the torn bytes were removed and nothing records it"


# a kill that lands exactly after a complete line of the unit: no torn bytes, only a unit without its commit
KILL_AT_LINE = """
import os, signal, sys
from stratdsl.provenance import audit
log, lines = sys.argv[1], int(sys.argv[2])
real_pwrite = os.pwrite
def pwrite(fd, data, at):
    data = bytes(data)
    cut = 0
    for _ in range(lines):  # the header (on a new file) and `lines` more complete lines, then SIGKILL
        cut = data.index(b"\\n", cut) + 1
    real_pwrite(fd, data[:cut], at)
    os.kill(os.getpid(), signal.SIGKILL)
os.pwrite = pwrite
audit.append(log, [{"kind": "evaluation", "id": "e1"}] + [{"kind": "decision", "evaluation": "e1", "n": n} for n in range(3)])
print("not killed")
"""


@pytest.mark.parametrize("complete_lines", [2, 3, 4, 5])
def test_a_unit_cut_at_a_line_boundary_by_sigkill_is_reported_then_recorded(tmp_path, complete_lines):
    """Issue 16 point 3: the killed append leaves only valid lines (header, evaluation, some decisions) —
    before format 2 `verify` said ok. Now verify reports the unit without its commit (E413, exit 1); the
    next append chains a repair naming it as abandoned, and the records of that unit are never replayed."""
    log = tmp_path / "log.jsonl"
    done = subprocess.run([sys.executable, "-c", KILL_AT_LINE, str(log), str(complete_lines)], capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    data = log.read_bytes()
    assert data.endswith(b"\n") and data.count(b"\n") == complete_lines
    count, problem = audit.verify(log)
    assert problem is not None and problem.code == "E413" and problem.line == 2 and count == complete_lines, problem
    shown = subprocess.run([STRATDSL, "audit", "verify", str(log)], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 1 and f"{log}:2: error[E413]: the evaluation at line 2 has no commit entry" in shown.stdout
    audit.append(log, [{"kind": "note", "n": "after"}])
    items = entries(log)
    assert items[complete_lines]["entry"] == {"kind": "repair", "removed_bytes": 0, "removed_sha256": hashlib.sha256(b"").hexdigest(), "abandoned": "e1"}
    report = audit.check(log)
    assert report.problem is None and report.abandoned == [(2, complete_lines + 1, "e1")] and report.evaluations == 0
    shown = subprocess.run([STRATDSL, "audit", "verify", str(log)], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0 and f"evaluation e1 at line 2 was cut short by a crash; the repair at line {complete_lines + 1} records it" in shown.stdout
    assert audit.committed(audit.read(log)) == set()


# torn tails longer than the killed append's payload (about 47 KB): what is left of them after the
# new bytes must still read as a torn tail — here even a leftover that alone would be valid JSON (`7`)
LONG_TORN = {
    "long-torn-line": b'{"entry":{"kind":"decision","blob":"' + b"z" * 100_000,
    "long-garbage-line": b"x" + b" " * 100_000 + b"7\n",
}


@pytest.mark.parametrize("torn_kind", list(LONG_TORN))
@pytest.mark.parametrize("point", ["mid-write", "after-write", "after-truncate", "before-fsync"])
def test_append_over_a_long_torn_tail_killed_at_each_step(tmp_path, point, torn_kind):
    log = tmp_path / "log.jsonl"
    garbage = LONG_TORN[torn_kind]
    audit.append(log, [{"kind": "note", "n": n} for n in range(3)])
    with log.open("ab") as f:
        f.write(garbage)
    _append_killed_at(log, point)
    count, problem = audit.verify(log)
    assert count >= 5 and (problem is None or problem.line == count + 1 or problem.code == "E413"), (count, problem)
    audit.append(log, [{"kind": "note", "n": "after"}])
    assert audit.verify(log)[1] is None
    items = entries(log)
    assert items[4]["entry"] == {"kind": "repair", "removed_bytes": len(garbage), "removed_sha256": hashlib.sha256(garbage).hexdigest()}
    kinds = [i["entry"]["kind"] for i in items]
    assert kinds[-1] == "note"
    if problem is not None:  # the killed append left bytes behind: the last append recorded them
        assert kinds[-2] == "repair"


# ------------------------------------------------------------------ 3. batch runs killed and rerun


@pytest.fixture(scope="module")
def batch_inputs(work) -> tuple[Path, bytes, float]:
    """6000 assessments as JSONL (plus a folder of YAML files), and the output of one uninterrupted run
    (a few seconds: long enough to be killed at many points)."""
    rnd = random.Random(3)
    lines = []
    for i in range(6000):
        usecases = [
            {"id": f"u{j}", "impact": rnd.randint(0, 5), "effort": rnd.randint(0, 5), "narrow": rnd.choice([True, False, None])}
            for j in range(rnd.randint(0, 4))
        ]
        doc = {"organization": {"headcount": rnd.randint(0, 500)}, "usecases": usecases}
        if i % 97 == 5:
            doc["usecases"] = "not a list"  # a few invalid ones, written as `invalid` lines
        lines.append(json.dumps(doc))
    source = work / "many.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    folder = work / "inputs"
    folder.mkdir()
    for i in range(40):
        (folder / f"a{i:02d}.yaml").write_text(f"usecases: [{{id: x, impact: {i % 6}, effort: {(i * 7) % 6}}}]\n", encoding="utf-8")
    out = work / "reference.jsonl"
    began = time.monotonic()
    done = subprocess.run([STRATDSL, "batch", "policy.strat", str(source), str(folder), "-o", str(out), "--as-of", AS_OF],
                          cwd=work, capture_output=True, text=True, timeout=600)
    assert done.returncode in (0, 1), done.stderr
    return source, out.read_bytes(), time.monotonic() - began


def test_batch_killed_again_and_again_loses_and_duplicates_nothing(work, batch_inputs, tmp_path):
    """Kill the run (its whole process group) at a random point after it has written a little more, six
    times, alternating --jobs 1 and 2; then let a rerun finish: the output is the uninterrupted one."""
    source, reference, _ = batch_inputs
    total = reference.count(b"\n")
    assert total == 6040
    out = tmp_path / "out.jsonl"
    rnd = random.Random(11)
    kills = 0
    for attempt in range(6):
        done_lines = out.read_bytes().count(b"\n") if out.exists() else 0
        target = done_lines + rnd.randint(1, max((total - done_lines) // 3, 1))
        jobs = "1" if attempt % 2 == 0 else "2"
        proc = start([STRATDSL, "batch", "policy.strat", str(source), str(work / "inputs"), "-o", str(out), "--jobs", jobs, "--as-of", AS_OF],
                     cwd=work)
        deadline = time.monotonic() + 600
        while proc.poll() is None and time.monotonic() < deadline:
            if out.exists() and out.read_bytes().count(b"\n") >= target:
                break
            time.sleep(0.02)
        time.sleep(rnd.uniform(0, 0.1))  # then anywhere: mid-evaluation, mid-write, between a write and its fsync
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace")
            proc.stderr.close()
            assert proc.returncode in (0, 1), err
            break
        kill_group(proc)
        kills += 1
        partial = out.read_bytes() if out.exists() else b""
        assert reference.startswith(partial[: partial.rfind(b"\n") + 1]), "a killed run wrote something an uninterrupted run does not"
    done = subprocess.run([STRATDSL, "batch", "policy.strat", str(source), str(work / "inputs"), "-o", str(out), "--as-of", AS_OF],
                          cwd=work, capture_output=True, text=True, timeout=600)
    assert done.returncode in (0, 1), done.stderr
    assert out.read_bytes() == reference  # nothing lost, nothing twice, same order
    keys = [json.loads(line)["key"] for line in reference.splitlines()]
    assert len(keys) == len(set(keys))
    assert kills >= 3, kills


KILL_AT_ITEM = """
import os, signal, sys
from stratdsl.commands import batch
from stratdsl.commands.cli import main
batch.CHUNK = 1  # write through after every line: the kill finds every finished line on disk
real, seen = batch.evaluate_item, [0]
def evaluate(job):
    seen[0] += 1
    if seen[0] == int(sys.argv[1]):
        os.kill(os.getpid(), signal.SIGKILL)
    return real(job)
batch.evaluate_item = evaluate
main(sys.argv[2:])
"""


def test_batch_killed_between_two_csv_files_with_the_same_assessment_name(work, tmp_path):
    """CSV keys are `file#assessment`: the same name in two files gives two inputs, and a killed run resumes both."""
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    one.write_text("assessment,id,impact,effort\nacme,u1,4,1\nbeta,u1,1,1\n", encoding="utf-8")
    two.write_text("assessment,id,impact,effort\nacme,u9,1,5\n", encoding="utf-8")
    clean, out = tmp_path / "clean.jsonl", tmp_path / "out.jsonl"
    args = ["batch", str(work / "policy.strat"), str(one), str(two), "--as-of", AS_OF]
    subprocess.run([STRATDSL, *args, "-o", str(clean)], capture_output=True, timeout=300, check=True)
    killed = subprocess.run([sys.executable, "-c", KILL_AT_ITEM, "3", *args, "-o", str(out)], capture_output=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL
    subprocess.run([STRATDSL, *args, "-o", str(out)], capture_output=True, timeout=300, check=True)
    assert len(out.read_bytes().splitlines()) == len(clean.read_bytes().splitlines()) == 3


# ------------------------------------------------------------------ 4. concurrent appends

WRITER = """
import random, sys, time
from pathlib import Path
from stratdsl.provenance import audit
log, writer, count, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
rnd = random.Random(writer)
while not go.exists():
    time.sleep(0.001)
for i in range(count):
    parts = rnd.randint(1, 3)
    sizes = [rnd.choice([10, 1000, 5000, 40_000, 90_000]) for _ in range(parts)]
    audit.append(log, [{"kind": "note", "writer": writer, "i": i, "part": p, "of": parts, "blob": "é" * size}
                       for p, size in enumerate(sizes)])
"""

READER = """
import sys, time
from pathlib import Path
from stratdsl.provenance import audit
log, stop = Path(sys.argv[1]), Path(sys.argv[2])
bad = []
while not stop.exists():
    if log.exists():
        count, problem = audit.verify(log)
        if problem is not None and "incomplete" not in problem.message:
            bad.append((count, problem.line, problem.message))
    time.sleep(0.005)
print(repr(bad))
"""


def _check_writers(items: list[dict], finished: dict[int, int], killed: set[int]) -> None:
    """Appends are contiguous and whole; each writer's appends are in order; finished writers lost nothing."""
    by_writer: dict[int, list[int]] = {}
    k = 0
    while k < len(items):
        entry = items[k]["entry"]
        if entry["kind"] in ("repair", "log"):
            k += 1
            continue
        writer, i, parts = int(entry["writer"]), int(entry["i"]), int(entry["of"])
        m = 0
        while k + m < len(items) and m < parts and items[k + m]["entry"].get("writer") == entry["writer"] and items[k + m]["entry"].get("i") == entry["i"]:
            assert items[k + m]["entry"]["part"] == str(m)
            m += 1
        if m != parts:
            assert writer in killed, f"entry {k + 1}: an append of writer {writer} is not in one piece"
            assert k + m < len(items) and items[k + m]["entry"]["kind"] == "repair", f"entry {k + 1}: a cut append without a repair"
        by_writer.setdefault(writer, []).append(i)
        k += m
    for writer, seen in by_writer.items():
        assert seen == sorted(seen) and len(seen) == len(set(seen)), f"writer {writer}: {seen[:20]}…"
    for writer, count in finished.items():
        assert by_writer.get(writer) == list(range(count)), f"writer {writer} lost appends"


def test_many_concurrent_writers_with_large_entries(tmp_path):
    """8 processes × 25 appends of 1–3 entries up to 180 KB each (multi-page writes), while 2 readers verify."""
    log, go, stop = tmp_path / "log.jsonl", tmp_path / "go", tmp_path / "stop"
    writers = [start([sys.executable, "-c", WRITER, str(log), str(w), "25", str(go)]) for w in range(8)]
    readers = [
        subprocess.Popen([sys.executable, "-c", READER, str(log), str(stop)], stdout=subprocess.PIPE, text=True, start_new_session=True)
        for _ in range(2)
    ]
    go.touch()
    try:
        for proc in writers:
            _, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, err
    finally:
        stop.touch()
        for proc in writers:
            if proc.poll() is None:
                kill_group(proc)
    for reader in readers:
        out, _ = reader.communicate(timeout=120)
        assert out.strip() == "[]", f"a reader saw a broken chain while writers appended: {out[:500]}"
    assert audit.verify(log)[1] is None
    items = entries(log)
    assert [i["seq"] for i in items] == list(range(1, len(items) + 1))
    _check_writers(items, {w: 25 for w in range(8)}, set())


def test_concurrent_writers_some_killed(tmp_path):
    """6 writers; two are killed mid-run: the others lose nothing, the chain stays valid after the next append."""
    log, go = tmp_path / "log.jsonl", tmp_path / "go"
    writers = [start([sys.executable, "-c", WRITER, str(log), str(w), "80", str(go)]) for w in range(6)]
    go.touch()
    rnd = random.Random(5)
    victims = {1, 4}
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (log.exists() and log.stat().st_size > 1_000_000):
        time.sleep(0.005)  # let them all get going (about a tenth of the appends) …
    alive = 0
    for w in victims:  # … then kill two, a little apart
        time.sleep(rnd.uniform(0, 0.05))
        alive += writers[w].poll() is None
        kill_group(writers[w])
    assert alive, "the victims had already finished: nothing was killed mid-run"
    for w, proc in enumerate(writers):
        if w not in victims:
            _, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, err
    count, torn = log_state(log)
    audit.append(log, [{"kind": "repair-check"}])  # cuts a torn tail, if a victim left one
    assert audit.verify(log)[1] is None
    items = [i for i in entries(log) if i["entry"]["kind"] != "repair-check"]
    _check_writers(items, {w: 80 for w in range(6) if w not in victims}, victims)
    if torn is not None:
        repair = entries(log)[count]["entry"]
        assert repair["kind"] == "repair" and repair["removed_bytes"] == torn


def test_six_concurrent_cli_evaluations_keep_their_records_together(work, group_size, tmp_path):
    log = tmp_path / "log.jsonl"
    dates = [f"2026-11-{d:02d}" for d in range(20, 26)]
    procs = [start([STRATDSL, "eval", "policy.strat", "big.yaml", "--as-of", d, "--audit-log", str(log)], cwd=work) for d in dates]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    assert audit.verify(log)[1] is None
    items = entries(log)
    assert len(items) == 1 + 6 * group_size
    check_groups(items, group_size)
    assert sorted(i["entry"]["as_of"] for i in items if i["entry"]["kind"] == "evaluation") == dates


def test_the_driver_scripts_are_valid_python():
    for code in (LOOP_IN_PROCESS, DRIVER, KILL_AT_ITEM, WRITER, READER, KILL_AT_LINE):
        compile(textwrap.dedent(code), "<driver>", "exec")
