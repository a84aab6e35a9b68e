"""Traceability, part 1: decision records (records.py) and the hash-chained audit
log (audit.py), through the installed `stratdsl` command and the Python API.

Every test works on real git repositories built in temporary folders with the
`git` command. The expensive part is starting `stratdsl` (about a second per
process), so independent commands are started together (`run_many`) and the
variants of a check already made through the command run in process with
click's CliRunner, which calls the same `stratdsl.commands.cli.main`.

Tests marked `xfail(strict=True, reason="BUG: …")` describe behaviour that the
documentation promises and the code does not deliver yet; they pass (as
expected failures) until the bug is fixed, then fail so the mark gets removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import stratdsl
from stratdsl.commands.cli import main
from stratdsl.language.diagnostics import StratError
from stratdsl.provenance import audit

STRATDSL = shutil.which("stratdsl")
GIT = shutil.which("git")
pytestmark = pytest.mark.skipif(STRATDSL is None or GIT is None, reason="needs the installed `stratdsl` command and `git`")

AS_OF = "2026-11-26"
GENESIS = "0" * 64

SOURCES = """\
policy "Sources" version "1"
source method "Méthode"
source ai_act "AI Act"
"""

POLICY = """\
policy "Demo" version "1"
import "sources.strat"
param threshold: number = 3
param strict: bool = false
input usecases: many usecase {
  impact: number 0..5
  effort: number 0..5
  recruitment: bool
  narrow: bool
}
decision quadrant for each usecase {
  rule qw: quick_win "Priorité immédiate" when impact >= threshold and effort < 3 cites method "Pilier 4"
  structuring when impact >= threshold and effort >= 3
  otherwise secondary
}
# the AI Act rule
decision risk for each usecase {
  high when recruitment or strict cites ai_act "Annex III 4(a)" from 2026-08-02
    unless narrow cites ai_act "Art. 6(3)(a)"
  otherwise minimal
}
bands level on sum(usecase, impact) { low from 0 below 5 high from 5 }
"""

# three use cases: decided, undetermined on one fact, undetermined on several facts
ASSESSMENT_A = """\
usecases:
  - id: ocr
    impact: 4
    effort: 2.5
    recruitment: false
    narrow: false
  - id: cv
    impact: 2
    effort: 1
    recruitment: true
    narrow: unknown
  - id: chat
    impact: unknown
    recruitment: unknown
"""

ASSESSMENT_B = """\
usecases:
  - id: bot
    impact: 1
    effort: 4
    recruitment: false
    narrow: false
"""

# eval of ASSESSMENT_A: 1 evaluation + quadrant×3 + risk×3 + level + 1 commit (format 2: one unit)
DECISIONS_A = 7
ENTRIES_A = DECISIONS_A + 2
ENTRIES_B = 5
HEADER = 1  # line 1 of a format-2 log: {"kind": "log", "format": "stratdsl-audit-log", "version": "2"}


# ------------------------------------------------------------------ helpers


def canonical(data) -> str:
    """Canonical JSON as documented: sorted keys, no whitespace, UTF-8 kept, and every
    number as a string (integers too: `seq` 3 is hashed as "3"); booleans and null stay."""
    return json.dumps(_numbers_as_strings(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _numbers_as_strings(value):
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _numbers_as_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers_as_strings(v) for v in value]
    return value


def entry_hash(item: dict) -> str:
    return sha256(canonical({"seq": item["seq"], "prev": item["prev"], "entry": item["entry"]}))


def compact(item: dict) -> bytes:
    """How a line is written: sorted keys, no whitespace (integers stay integers)."""
    return json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256(data: str | bytes) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def init_repo(path: Path, files: dict[str, str]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q")
    git(path, "config", "user.name", "Alice Martin")
    git(path, "config", "user.email", "alice@example.org")
    git(path, "config", "commit.gpgsign", "false")
    write(path, files)
    return path


def commit(repo: Path, message: str, author: str | None = None, when: str | None = None) -> str:
    env = {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when} if when else None
    who = ["-c", f"user.name={author}"] if author else []
    git(repo, "add", "-A")
    git(repo, *who, "commit", "-q", "-m", message, env=env)
    return git(repo, "rev-parse", "HEAD")


def demo_repo(path: Path) -> tuple[Path, str]:
    repo = init_repo(
        path, {"main.strat": POLICY, "sources.strat": SOURCES, "as/a.yaml": ASSESSMENT_A, "as/b.yaml": ASSESSMENT_B}
    )
    return repo, commit(repo, "Initial policy", when="2026-01-05T10:00:00+00:00")


def run_many(calls: list[tuple[list, Path, dict[str, str] | None]]) -> list[subprocess.CompletedProcess]:
    """Start every `stratdsl` command at once, then wait for all (each costs ~1 s of start-up)."""
    procs = []
    for args, cwd, env in calls:
        argv = [STRATDSL, *map(str, args)]
        proc = subprocess.Popen(
            argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}
        )
        procs.append((argv, proc))
    out = []
    for argv, proc in procs:
        stdout, stderr = proc.communicate(timeout=120)
        out.append(subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr))
    return out


def stratdsl_cmd(*args, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return run_many([(list(args), cwd, env)])[0]


def cli(*args, cwd: Path | None = None):
    """The same command in process (fast): click's runner around stratdsl.commands.cli.main, run in `cwd`."""
    with contextlib.chdir(cwd) if cwd else contextlib.nullcontext():
        return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def records(policy: Path, assessment: Path, *extra, cwd: Path | None = None) -> list[dict]:
    """`eval --format records`, run from the policy's folder unless told otherwise (locations in
    records are relative to the working directory, see test_records_do_not_depend_on_the_working_directory)."""
    result = cli("eval", policy, assessment, "--as-of", AS_OF, "--format", "records", *extra, cwd=cwd or policy.parent)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def log_lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    assert data.endswith(b"\n")
    return data[:-1].split(b"\n")


def no_floats(value) -> bool:
    if isinstance(value, float):
        return False
    if isinstance(value, dict):
        return all(no_floats(v) for v in value.values())
    if isinstance(value, list):
        return all(no_floats(v) for v in value)
    return True


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A committed policy (two files) and two assessments; read-only for the tests that use it."""
    repo, head = demo_repo(tmp_path_factory.mktemp("audit") / "repo")
    return repo, head


@pytest.fixture(scope="module")
def logged(demo, tmp_path_factory):
    """An audit log with two evaluations: A through the installed command, then B in process."""
    repo, _ = demo
    log = tmp_path_factory.mktemp("log") / "audit.jsonl"
    done = stratdsl_cmd("eval", "main.strat", "as/a.yaml", "--as-of", AS_OF, "--audit-log", log, cwd=repo)
    assert done.returncode == 0, done.stderr
    assert f"{DECISIONS_A} decision record(s) appended to" in done.stderr
    result = cli("eval", "main.strat", "as/b.yaml", "--as-of", "2026-12-01", "--param", "threshold=4", "--audit-log", log, cwd=repo)
    assert result.exit_code == 0, result.output
    return log


# ================================================================== decision records


def test_records_are_byte_identical_across_runs_and_hash_seeds(demo):
    repo, _ = demo
    args = ["eval", "main.strat", "as/a.yaml", "--as-of", AS_OF, "--format", "records"]
    runs = run_many([(args, repo, {"PYTHONHASHSEED": seed}) for seed in ("0", "1")])
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    assert len({r.stdout for r in runs}) == 1
    data = json.loads(runs[0].stdout)
    assert len(data) == DECISIONS_A
    # a third run, in this (randomly seeded) process, gives the same bytes too
    assert cli(*args, cwd=repo).stdout == runs[0].stdout
    # undetermined decisions keep their (sorted) possible outcomes and missing facts stable
    chat = next(r for r in data if (r["decision"], r["entity"]) == ("quadrant", "chat"))
    assert chat["status"] == "undetermined"
    assert chat["missing"] == ["usecases[chat].effort", "usecases[chat].impact"]


def test_record_ids_change_with_as_of_param_and_assessment(demo, tmp_path):
    repo, _ = demo
    policy, a = repo / "main.strat", repo / "as/a.yaml"
    base = records(policy, a)
    changed_assessment = tmp_path / "a2.yaml"
    changed_assessment.write_text(ASSESSMENT_A.replace("impact: 4", "impact: 5"), encoding="utf-8")
    variants = {
        "as_of": cli("eval", policy, a, "--as-of", "2026-11-27", "--format", "records", cwd=repo),
        "param": cli("eval", policy, a, "--as-of", AS_OF, "--param", "threshold=4", "--format", "records", cwd=repo),
        "assessment": cli("eval", policy, changed_assessment, "--as-of", AS_OF, "--format", "records", cwd=repo),
    }
    base_ids = {r["id"] for r in base}
    assert len(base_ids) == len(base)
    for name, result in variants.items():
        other = json.loads(result.stdout)
        assert len(other) == len(base), name
        assert base_ids.isdisjoint(r["id"] for r in other), name
        assert other[0]["evaluation"] != base[0]["evaluation"], name
        assert other[0]["policy_sha256"] == base[0]["policy_sha256"], name
    param = json.loads(variants["param"].stdout)[0]
    assert param["params"] == {"threshold": "4"}
    assert json.loads(variants["as_of"].stdout)[0]["as_of"] == "2026-11-27"
    assert json.loads(variants["assessment"].stdout)[0]["assessment_sha256"] != base[0]["assessment_sha256"]
    # the same run again gives the same ids
    assert [r["id"] for r in records(policy, a)] == [r["id"] for r in base]


def test_same_assessment_data_in_json_with_other_key_order_gives_same_ids(demo, tmp_path):
    repo, _ = demo
    usecases = [
        {"narrow": False, "recruitment": False, "effort": 2.5, "impact": 4, "id": "ocr"},
        {"narrow": None, "recruitment": True, "effort": 1, "impact": 2, "id": "cv"},
        {"recruitment": "unknown", "impact": None, "id": "chat"},
    ]
    as_json = tmp_path / "a.json"
    as_json.write_text(json.dumps({"usecases": usecases}, indent=1), encoding="utf-8")
    from_yaml = records(repo / "main.strat", repo / "as/a.yaml")
    from_json = records(repo / "main.strat", as_json)
    assert [r["id"] for r in from_json] == [r["id"] for r in from_yaml]
    assert from_json[0]["assessment_sha256"] == from_yaml[0]["assessment_sha256"]


def test_record_fields_ids_and_provenance(demo, logged):
    repo, head = demo
    data = records(repo / "main.strat", repo / "as/a.yaml")
    files = [
        {"path": "main.strat", "sha256": sha256((repo / "main.strat").read_bytes())},
        {"path": "sources.strat", "sha256": sha256((repo / "sources.strat").read_bytes())},
    ]
    evaluation = json.loads(log_lines(logged)[HEADER])["entry"]
    assert evaluation["kind"] == "evaluation"
    for r in data:
        assert r["kind"] == "decision"
        assert re.fullmatch(r"d[0-9a-f]{20}", r["id"])
        assert r["evaluation"] == evaluation["id"]
        assert (r["as_of"], r["params"]) == (AS_OF, {})
        prov = r["provenance"]
        assert prov["policy"] == "Demo" and prov["version"] == "1"
        assert prov["files"] == files
        assert prov["policy_sha256"] == sha256(canonical(files)) == r["policy_sha256"]
        assert prov["engine"] == f"stratdsl {stratdsl.__version__}"
        assert prov["git"] == {"commit": head, "dirty": False, "policy_path": "main.strat"}
        # the id: sha256 of the canonical key, first 20 hex digits, after a kind letter
        key = {k: r[k] for k in ("policy_sha256", "assessment_sha256", "as_of", "params")}
        assert r["id"] == "d" + sha256(canonical({**key, "decision": r["decision"], "entity": r["entity"]}))[:20]
        assert r["explanation"]["decision"]["outcome"] == r["outcome"]
        assert no_floats(r)
    # the evaluation record: its own id, and the assessment as recorded (decimals as strings)
    key = {k: evaluation[k] for k in ("policy_sha256", "assessment_sha256", "as_of", "params")}
    assert evaluation["id"] == "e" + sha256(canonical(key))[:20]
    assert evaluation["assessment_sha256"] == sha256(canonical(evaluation["assessment"])) == data[0]["assessment_sha256"]
    ocr = evaluation["assessment"]["usecases"][0]
    assert (ocr["impact"], ocr["effort"]) == ("4", "2.5")
    assert no_floats(evaluation)
    # one decided record in full
    qw = next(r for r in data if (r["decision"], r["entity"]) == ("quadrant", "ocr"))
    assert (qw["status"], qw["outcome"], qw["label"], qw["rule"]) == ("decided", "quick_win", "Priorité immédiate", "quadrant.qw")
    assert qw["cites"] == [{"source": "method", "reference": "Pilier 4", "text": "Méthode Pilier 4"}]
    assert qw["location"] == "main.strat:12"
    assert [(x["rule"], x["status"]) for x in qw["rules"]] == [
        ("quadrant.qw", "fired"),
        ("quadrant.structuring", "not_reached"),
        ("quadrant.secondary", "not_reached"),
    ]


def test_dirty_flag_follows_uncommitted_edits_of_any_policy_file(tmp_path):
    repo, head = demo_repo(tmp_path / "repo")
    policy, a = repo / "main.strat", repo / "as/a.yaml"
    clean = records(policy, a)[0]["provenance"]
    assert clean["git"]["dirty"] is False
    # an uncommitted comment in the root policy: dirty, same commit, new file hash
    policy.write_text(POLICY + "# reviewed\n", encoding="utf-8")
    edited = records(policy, a)[0]["provenance"]
    assert edited["git"] == {"commit": head, "dirty": True, "policy_path": "main.strat"}
    assert edited["files"][0]["sha256"] == sha256(policy.read_bytes()) != clean["files"][0]["sha256"]
    assert edited["files"][1] == clean["files"][1]
    # committing makes it clean again, at the new commit
    second = commit(repo, "Reviewed")
    assert records(policy, a)[0]["provenance"]["git"] == {"commit": second, "dirty": False, "policy_path": "main.strat"}
    # an uncommitted edit of an imported file only
    (repo / "sources.strat").write_text(SOURCES + "# imported file edited\n", encoding="utf-8")
    assert records(policy, a)[0]["provenance"]["git"]["dirty"] is True
    # an imported file that was never committed (untracked)
    commit(repo, "Sources edited")
    policy.write_text(POLICY.replace('import "sources.strat"', 'import "sources.strat"\nimport "extra.strat"'), encoding="utf-8")
    (repo / "extra.strat").write_text('policy "Extra" version "1"\nsource extra "Extra"\n', encoding="utf-8")
    git(repo, "add", "main.strat")
    git(repo, "commit", "-q", "-m", "import extra (extra.strat not added)")
    prov = records(policy, a)[0]["provenance"]
    assert [f["path"] for f in prov["files"]] == ["extra.strat", "main.strat", "sources.strat"]
    assert prov["git"]["dirty"] is True


def test_policy_outside_git_has_no_git_provenance(tmp_path):
    folder = tmp_path / "plain"
    write(folder, {"main.strat": POLICY, "sources.strat": SOURCES, "a.yaml": ASSESSMENT_A})
    if subprocess.run(["git", "rev-parse"], cwd=folder, capture_output=True).returncode == 0:
        pytest.skip("the temporary folder is inside a git work tree")
    prov = records(folder / "main.strat", folder / "a.yaml")[0]["provenance"]
    assert prov["git"] is None
    assert [f["path"] for f in prov["files"]] == ["main.strat", "sources.strat"]


def test_file_sha256_is_the_hash_of_the_file_bytes_even_with_crlf(tmp_path):
    repo, _ = demo_repo(tmp_path / "repo")
    (repo / "sources.strat").write_bytes(SOURCES.replace("\n", "\r\n").encode("utf-8"))
    prov = records(repo / "main.strat", repo / "as/a.yaml")[0]["provenance"]
    recorded = {f["path"]: f["sha256"] for f in prov["files"]}
    assert recorded["sources.strat"] == sha256((repo / "sources.strat").read_bytes())


def test_ignored_policy_file_is_not_recorded_as_clean(tmp_path):
    repo = init_repo(tmp_path / "repo", {"main.strat": POLICY, "as/a.yaml": ASSESSMENT_A, ".gitignore": "sources.strat\n"})
    commit(repo, "Policy without its (ignored) sources file")
    write(repo, {"sources.strat": SOURCES})
    git_state = records(repo / "main.strat", repo / "as/a.yaml")[0]["provenance"]["git"]
    assert git_state["dirty"] is True


def test_records_do_not_depend_on_the_working_directory(demo):
    repo, _ = demo
    here = cli("eval", repo / "main.strat", repo / "as/a.yaml", "--as-of", AS_OF, "--format", "records", cwd=repo)
    above = cli("eval", repo / "main.strat", repo / "as/a.yaml", "--as-of", AS_OF, "--format", "records", cwd=repo.parent)
    assert [r["id"] for r in json.loads(here.stdout)] == [r["id"] for r in json.loads(above.stdout)]
    assert here.stdout == above.stdout


# ================================================================== the audit log


def test_eval_audit_log_appends_an_evaluation_then_its_decisions(demo, logged):
    repo, _ = demo
    lines = log_lines(logged)
    assert len(lines) == HEADER + ENTRIES_A + ENTRIES_B
    items = [json.loads(line) for line in lines]
    kinds = [i["entry"]["kind"] for i in items]
    assert kinds == ["log"] + ["evaluation"] + ["decision"] * DECISIONS_A + ["commit", "evaluation"] + ["decision"] * (ENTRIES_B - 2) + ["commit"]
    assert items[0]["entry"] == {"kind": "log", "format": "stratdsl-audit-log", "version": "2"}
    assert items[HEADER + ENTRIES_A - 1]["entry"] == {"kind": "commit", "evaluation": items[HEADER]["entry"]["id"], "entries": str(ENTRIES_A)}
    # the chain, recomputed independently: seq, prev, hash = sha256(canonical {seq, prev, entry})
    prev = GENESIS
    for number, (line, item) in enumerate(zip(lines, items, strict=True), start=1):
        assert set(item) == {"seq", "prev", "entry", "hash"}
        assert item["seq"] == number
        assert item["prev"] == prev
        assert item["hash"] == entry_hash(item)
        assert line == compact(item)  # each line: sorted keys, no whitespace
        prev = item["hash"]
    # the decision entries are exactly the records `eval --format records` prints
    assert [i["entry"] for i in items[HEADER + 1 : HEADER + 1 + DECISIONS_A]] == records(repo / "main.strat", repo / "as/a.yaml")
    for i in items[HEADER + 1 : HEADER + 1 + DECISIONS_A]:
        assert i["entry"]["evaluation"] == items[HEADER]["entry"]["id"]
    second = items[HEADER + ENTRIES_A]["entry"]
    assert (second["as_of"], second["params"]) == ("2026-12-01", {"threshold": "4"})
    assert second["assessment"]["usecases"][0]["id"] == "bot"
    assert audit.verify(logged) == (HEADER + ENTRIES_A + ENTRIES_B, None)


def _rewrite(line: bytes, change) -> bytes:
    item = json.loads(line)
    change(item)
    return compact(item)


def _tampered(lines: list[bytes]) -> dict[str, tuple[bytes, int, str]]:
    """name -> (file content, line verify must name, words its message must hold)."""

    def joined(ls):
        return b"\n".join(ls) + b"\n"

    def altered(item):
        item["entry"]["outcome"] = "structuring"

    def forged(item):  # altered, and the forger recomputed this line's hash
        item["entry"]["outcome"] = "structuring"
        item["hash"] = entry_hash(item)

    def relinked(item):  # points at line 4 instead of line 6, hash recomputed
        item["prev"] = json.loads(lines[3])["hash"]
        item["hash"] = entry_hash(item)

    cases = {}
    ls = list(lines)
    ls[5] = _rewrite(ls[5], altered)
    cases["alter_field"] = (joined(ls), 6, "altered")
    ls = list(lines)
    del ls[4]
    cases["delete_line"] = (joined(ls), 5, "removed")
    ls = list(lines)
    ls.insert(7, lines[2])
    cases["insert_copy"] = (joined(ls), 8, "inserted or moved")
    ls = list(lines)
    ls.insert(3, lines[2])
    cases["duplicate_adjacent"] = (joined(ls), 4, "inserted or moved")
    ls = list(lines)
    ls[3], ls[4] = ls[4], ls[3]
    cases["swap_lines"] = (joined(ls), 4, "")
    whole = joined(lines)
    start = len(joined(lines[:8]))
    cut = start + lines[8].index(b'"hash"')  # an ASCII position in the middle of line 9
    cases["truncate_mid_line"] = (whole[:cut], 9, "incomplete")
    ls = list(lines)
    ls[5] = _rewrite(ls[5], forged)
    cases["alter_and_rehash"] = (joined(ls), 7, "chain is broken")
    ls = list(lines)
    ls[5] = _rewrite(ls[5], relinked)
    cases["relink_prev"] = (joined(ls), 6, "chain is broken")
    ls = list(lines)
    ls[6] = b"not json at all"
    cases["garbage_line"] = (joined(ls), 7, "not a valid audit entry")
    return cases


@pytest.fixture(scope="module")
def tampered(logged, tmp_path_factory):
    """name -> (folder, expected line, expected words): one tampered copy of the log per case."""
    folder = tmp_path_factory.mktemp("tampered")
    cases = _tampered(log_lines(logged))
    for name, (content, _, _) in cases.items():
        (folder / f"{name}.jsonl").write_bytes(content)
    return {name: (folder, line, words) for name, (_, line, words) in cases.items()}


def _check_verify_output(name, line, words, exit_code, stdout, stderr):
    assert exit_code == 1, stdout
    assert stdout.startswith(f"{name}.jsonl:{line}: "), stdout
    assert words in stdout
    assert f"stratdsl: the first {line - 1} entr" in stderr


@pytest.mark.parametrize(
    "case",
    [
        "alter_field",
        "delete_line",
        "insert_copy",
        "duplicate_adjacent",
        "swap_lines",
        "truncate_mid_line",
        "alter_and_rehash",
        "relink_prev",
        "garbage_line",
    ],
)
def test_tampering_is_detected_at_the_right_line(tampered, case):
    folder, line, words = tampered[case]
    result = cli("audit", "verify", f"{case}.jsonl", cwd=folder)
    _check_verify_output(case, line, words, result.exit_code, result.stdout, result.stderr)


def test_audit_verify_through_the_installed_command(logged, tampered):
    cases = ["alter_field", "truncate_mid_line"]
    intact, *runs = run_many(
        [(["audit", "verify", logged.name], logged.parent, None)]
        + [(["audit", "verify", f"{case}.jsonl"], tampered[case][0], None) for case in cases]
    )
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert intact.stdout == f"{logged.name}: ok, {HEADER + ENTRIES_A + ENTRIES_B} entries, chain intact\n"
    for case, run in zip(cases, runs, strict=True):
        _check_verify_output(case, tampered[case][1], tampered[case][2], run.returncode, run.stdout, run.stderr)


def test_removing_whole_trailing_units_is_not_detectable_by_the_chain_alone(logged, tmp_path):
    """A documented limitation: without a key or an external head nothing anchors the end of
    the chain, so dropping the last *whole evaluations* leaves a valid (shorter) chain
    (tests/test_checkpoints.py shows both anchors detecting it). Dropping part of one is seen."""
    lines = log_lines(logged)
    short = tmp_path / "short.jsonl"
    short.write_bytes(b"\n".join(lines[:-ENTRIES_B]) + b"\n")
    assert audit.verify(short) == (len(lines) - ENTRIES_B, None)
    short.write_bytes(b"\n".join(lines[:-2]) + b"\n")
    _, problem = audit.verify(short)
    assert problem is not None and problem.code == "E413" and problem.line == HEADER + ENTRIES_A + 1


def test_verify_reports_the_first_problem_even_when_the_tail_is_torn(logged, tmp_path):
    lines = log_lines(logged)
    lines[1] = _rewrite(lines[1], lambda item: item["entry"].update(outcome="structuring"))
    bad = tmp_path / "bad.jsonl"
    whole = b"\n".join(lines) + b"\n"
    bad.write_bytes(whole[:-20])
    count, problem = audit.verify(bad)
    assert problem is not None
    assert (count, problem.line) == (1, 2)


# ------------------------------------------------------------------ torn tails


def test_torn_last_line_is_repaired_by_the_next_append(demo, logged, tmp_path):
    repo, _ = demo
    lines = log_lines(logged)
    log = tmp_path / "torn.jsonl"
    whole = b"\n".join(lines) + b"\n"
    cut = len(whole) - len(lines[-1]) - 1 + lines[-1].index(b'"hash"')
    torn = whole[len(whole) - len(lines[-1]) - 1 : cut]
    log.write_bytes(whole[:cut])
    count, problem = audit.verify(log)
    assert problem is not None and problem.line == len(lines) and "incomplete" in problem.message
    assert count == len(lines) - 1
    # the next append (the real command) cuts the torn bytes off and chains a repair entry first
    done = stratdsl_cmd("eval", "main.strat", "as/b.yaml", "--as-of", AS_OF, "--audit-log", log, cwd=repo)
    assert done.returncode == 0, done.stderr
    items = [json.loads(line) for line in log_lines(log)]
    repair = items[len(lines) - 1]
    assert repair["seq"] == len(lines)
    assert repair["prev"] == json.loads(lines[-2])["hash"]
    # the torn line was the commit of the second evaluation: the repair also records that unit as cut short
    evaluation_b = items[HEADER + ENTRIES_A]["entry"]["id"]
    assert repair["entry"] == {"kind": "repair", "removed_bytes": len(torn), "removed_sha256": sha256(torn), "abandoned": evaluation_b}
    assert [i["entry"]["kind"] for i in items[len(lines) :]] == ["evaluation"] + ["decision"] * (ENTRIES_B - 2) + ["commit"]
    verify = cli("audit", "verify", log)
    assert verify.exit_code == 0, verify.stdout
    assert f"ok, {len(lines) + ENTRIES_B} entries" in verify.stdout
    # `audit show --entry` prints the repair entry
    shown = cli("audit", "show", log, "--entry", len(lines))
    assert "kind repair" in shown.stdout and f'"removed_bytes": {len(torn)}' in shown.stdout


def test_complete_but_invalid_last_line_is_repaired(tmp_path):
    log = tmp_path / "log.jsonl"
    audit.append(log, [{"kind": "note", "n": 1}, {"kind": "note", "n": 2}])
    garbage = b'{"seq":3,"prev":"00\n'  # a complete line, but not JSON
    with log.open("ab") as f:
        f.write(garbage)
    assert audit.append(log, [{"kind": "note", "n": 3}]) == [5]
    items = audit.read(log)
    assert items[3]["entry"] == {"kind": "repair", "removed_bytes": len(garbage), "removed_sha256": sha256(garbage)}
    assert items[1]["entry"] == {"kind": "note", "n": "1"}  # numbers inside entries are written as strings
    assert audit.verify(log) == (5, None)


def test_a_torn_first_line_is_repaired_from_the_genesis(tmp_path):
    """The first append of a file writes the header first: a crash there leaves a prefix of the
    header line, which the next append recognises and records; any other first line is refused."""
    log = tmp_path / "log.jsonl"
    header = b'{"entry":{"format":"stratdsl-audit-log","kind":"log","version":"2"},"hash":"'
    log.write_bytes(header[:40])
    assert audit.append(log, [{"kind": "note"}]) == [3]
    first, repair = audit.read(log)[:2]
    assert first["prev"] == GENESIS and first["entry"]["kind"] == "log"
    assert repair["entry"] == {"kind": "repair", "removed_bytes": 40, "removed_sha256": sha256(header[:40])}
    assert audit.verify(log) == (3, None)
    other = tmp_path / "other.jsonl"
    other.write_bytes(b'{"entry":{"kind":"evalu')
    with pytest.raises(StratError) as error:
        audit.append(other, [{"kind": "note"}])
    assert error.value.diagnostics[0].code == "E407"
    assert other.read_bytes() == b'{"entry":{"kind":"evalu'


def test_invalid_last_line_after_a_long_line_is_repaired(tmp_path):
    log = tmp_path / "log.jsonl"
    audit.append(log, [{"kind": "note", "blob": "x" * 100_000}])
    with log.open("ab") as f:
        f.write(b"garbage\n")
    assert audit.append(log, [{"kind": "note", "n": 2}]) == [4]
    assert audit.verify(log) == (4, None)


def test_repair_hash_is_the_hash_of_the_removed_bytes_when_a_character_is_cut(tmp_path):
    log = tmp_path / "log.jsonl"
    audit.append(log, [{"kind": "note", "label": "Priorité immédiate"}, {"kind": "note", "label": "Priorité immédiate"}])
    data = log.read_bytes()
    cut = data.rfind("é".encode()) + 1  # between the two bytes of the last é
    torn = data[data.rfind(b"\n", 0, cut) + 1 : cut]
    log.write_bytes(data[:cut])
    audit.append(log, [{"kind": "note"}])
    repair = audit.read(log)[2]["entry"]
    assert repair["removed_bytes"] == len(torn)
    assert repair["removed_sha256"] == sha256(torn)


# ------------------------------------------------------------------ audit show


def test_audit_show_prints_a_decision_record_with_its_explanation(demo, logged):
    repo, head = demo
    items = audit.read(logged)
    target = next(i for i in items if i["entry"].get("decision") == "quadrant" and i["entry"].get("entity") == "ocr")
    record = target["entry"]
    shown = stratdsl_cmd("audit", "show", logged, "--decision", record["id"][:8], cwd=repo)
    as_json = cli("audit", "show", logged, "--decision", record["id"], "--format", "json")
    missing = cli("audit", "show", logged, "--decision", "dffffffff")
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert out.startswith(f"entry {target['seq']} · hash {target['hash'][:16]}… · kind decision\n")
    assert f"decision record {record['id']} · evaluation {record['evaluation']}" in out
    assert f"policy Demo 1 · sha256 {record['policy_sha256'][:16]}… · commit {head[:12]}\n" in out
    assert f"engine stratdsl {stratdsl.__version__} · as of {AS_OF} · assessment sha256 {record['assessment_sha256'][:16]}…" in out
    for expected in (
        "quadrant for usecases[ocr]",
        "outcome: Priorité immédiate (quick_win)",
        "decided by rule quadrant.qw at main.strat:12",
        "cites: Méthode Pilier 4",
        "rules, in order:",
        "impact (4) >= threshold (3) → true",
        "effort (2.5) < 3 → true",
    ):
        assert expected in out
    assert as_json.exit_code == 0
    assert json.loads(as_json.stdout) == target
    assert missing.exit_code == 1 and "E405" in missing.stderr
    # the overridden parameters of the second evaluation are shown too
    second = next(i for i in items if i["entry"].get("entity") == "bot" and i["entry"].get("decision") == "quadrant")
    shown = cli("audit", "show", logged, "--decision", second["entry"]["id"])
    assert "overridden parameters: threshold = 4" in shown.stdout


# ================================================================== concurrency

WRITER = """
import sys, time
from pathlib import Path
from stratdsl.provenance import audit
log, writer, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
while not go.exists():
    time.sleep(0.001)
for i in range(10):
    audit.append(log, [{"kind": "note", "writer": writer, "i": i, "part": "a"},
                       {"kind": "note", "writer": writer, "i": i, "part": "b"}])
"""


def test_concurrent_appends_from_several_processes_lose_nothing(tmp_path):
    log, go = tmp_path / "log.jsonl", tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(log), str(w), str(go)], stderr=subprocess.PIPE, text=True)
        for w in range(4)
    ]
    go.touch()  # all four start appending at the same moment
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    items = audit.read(log)
    assert [i["seq"] for i in items] == list(range(1, 82))
    assert items[0]["entry"]["kind"] == "log"  # written once, by whichever writer came first
    items = items[1:]
    keys = [(int(i["entry"]["writer"]), int(i["entry"]["i"]), i["entry"]["part"]) for i in items]
    assert sorted(keys) == sorted((w, i, p) for w in range(4) for i in range(10) for p in "ab")
    # the two entries of one append are adjacent, and each writer's appends keep their order
    for n in range(0, 80, 2):
        a, b = keys[n], keys[n + 1]
        assert (a[0], a[1], a[2], b[2]) == (b[0], b[1], "a", "b")
    for w in range(4):
        assert [k[1] for k in keys if k[0] == w and k[2] == "a"] == list(range(10))
    assert audit.verify(log) == (81, None)


def test_concurrent_cli_evaluations_keep_each_batch_together(demo, tmp_path):
    repo, _ = demo
    log = tmp_path / "log.jsonl"
    dates = ["2026-11-26", "2026-11-27", "2026-11-28"]
    runs = run_many([(["eval", "main.strat", "as/a.yaml", "--as-of", d, "--audit-log", log], repo, None) for d in dates])
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    items = audit.read(log)[HEADER:]
    assert len(items) == 3 * ENTRIES_A
    for start in range(0, len(items), ENTRIES_A):
        batch = [i["entry"] for i in items[start : start + ENTRIES_A]]
        assert batch[0]["kind"] == "evaluation"
        assert all(e["kind"] == "decision" and e["evaluation"] == batch[0]["id"] for e in batch[1:-1])
        assert batch[-1] == {"kind": "commit", "evaluation": batch[0]["id"], "entries": str(ENTRIES_A)}
    assert sorted(i["entry"]["as_of"] for i in items if i["entry"]["kind"] == "evaluation") == dates
    assert audit.verify(log) == (HEADER + 3 * ENTRIES_A, None)


# ================================================================== errors


def test_audit_log_in_a_missing_folder_is_a_user_error(demo, tmp_path):
    repo, _ = demo
    result = CliRunner().invoke(
        main, ["eval", str(repo / "main.strat"), str(repo / "as/b.yaml"), "--as-of", AS_OF, "--audit-log", str(tmp_path / "no" / "x.jsonl")]
    )
    assert result.exit_code == 1
    assert "internal error" not in result.output


def test_verify_of_a_missing_log_is_a_user_error(tmp_path):
    result = CliRunner().invoke(main, ["audit", "verify", str(tmp_path / "none.jsonl")])
    assert result.exit_code == 1
    assert "E404" in result.output


def test_an_empty_log_verifies_and_holds_nothing_to_show(tmp_path):
    log = tmp_path / "empty.jsonl"
    log.write_bytes(b"")
    assert cli("audit", "verify", log).stdout == f"{log}: ok, 0 entries, chain intact\n"
    shown = CliRunner().invoke(main, ["audit", "show", str(log)])
    assert shown.exit_code == 1 and "E405" in shown.output
