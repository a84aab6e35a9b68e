"""Traceability, part 2: the policy's git history — replay (replay.py, history.py,
gitutil.py), `explain --blame` and the methodology diff (semdiff.py).

The module builds one real git repository with three commits by three authors:

  c1  Alice Martin  2026-01-05  "Initial policy"       — two evaluations are logged here
  c2  Bob Durand    2026-02-10  "Methodology 2026.2"   — a citation, a rule date (`from`), a band
                                                         threshold, one rule added, one removed
  c3  Carol Petit   2026-03-15  "Reformat"             — indentation and a moved comment only

Commands run through the installed `stratdsl` (subprocess) where the test is
about the command, and in process (click's CliRunner, same `stratdsl.commands.cli.main`)
for variants, to keep the file fast: starting `stratdsl` costs about a second.
Tests marked `xfail(strict=True, reason="BUG: …")` describe a bug found in the code.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from stratdsl.commands.cli import main
from stratdsl.provenance import audit
from stratdsl.provenance import replay as replay_mod

STRATDSL = shutil.which("stratdsl")
GIT = shutil.which("git")
pytestmark = pytest.mark.skipif(STRATDSL is None or GIT is None, reason="needs the installed `stratdsl` command and `git`")

AS_OF = "2026-11-26"

SOURCES = """\
policy "Sources" version "1"
source method "Méthode"
source ai_act "AI Act"
"""

V1 = """\
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
# Pillar 4: the impact/effort matrix
decision quadrant for each usecase {
  rule qw: quick_win "Priorité immédiate" when impact >= threshold and effort < 3 cites method "Pilier 4"
  structuring "Projet structurant" when impact >= threshold and effort >= 3
  otherwise secondary "Opportunité secondaire"
}
decision risk for each usecase {
  high when recruitment or strict cites ai_act "Annex III 4(a)" from 2026-08-02
    unless narrow cites ai_act "Art. 6(3)(a)"
  rule legacy: limited when narrow and effort >= 4
  otherwise minimal
}
bands level on sum(usecase, impact) { low from 0 below 5 high from 5 }
"""

# c2: new citation, a new rule, a later `from`, a removed rule, a raised band threshold, version 2
V2 = (
    V1.replace('version "1"', 'version "2"', 1)
    .replace('cites method "Pilier 4"', 'cites method "Pilier 5"')
    .replace(
        '  structuring "Projet structurant" when impact >= threshold and effort >= 3\n',
        '  structuring "Projet structurant" when impact >= threshold and effort >= 3\n  avoid "À éviter" when effort >= 4\n',
    )
    .replace("from 2026-08-02", "from 2026-12-02")
    .replace("  rule legacy: limited when narrow and effort >= 4\n", "")
    .replace("low from 0 below 5 high from 5", "low from 0 below 7 high from 7")
)

# c3: the same declarations, laid out differently; the quadrant rules' lines are untouched
V3 = (
    V2.replace("# Pillar 4: the impact/effort matrix\n", "")
    .replace("decision quadrant for each usecase {\n", "decision quadrant for each usecase {   # Pillar 4: the impact/effort matrix\n")
    .replace("  high when recruitment", "      high when recruitment")
    .replace("    unless narrow cites", "          unless narrow\n          cites")
    .replace("  otherwise minimal\n", "      otherwise   minimal\n")
    .replace("bands level on sum(usecase, impact) { low from 0 below 7 high from 7 }", "bands level on sum(usecase, impact) {\n  low  from 0 below 7\n  high from 7\n}")
)

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
"""

ASSESSMENT_B = """\
usecases:
  - id: bot
    impact: 1
    effort: 4
    recruitment: false
    narrow: false
"""

ASSESSMENT_C = json.dumps({"usecases": [{"id": "doc", "impact": 3, "effort": 3.5, "recruitment": False, "narrow": False}]})

ALICE = ("Alice Martin", "2026-01-05T10:00:00+00:00")
BOB = ("Bob Durand", "2026-02-10T10:00:00+00:00")
CAROL = ("Carol Petit", "2026-03-15T10:00:00+00:00")


# ------------------------------------------------------------------ helpers


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
    git(path, "config", "user.name", ALICE[0])
    git(path, "config", "user.email", "alice@example.org")
    git(path, "config", "commit.gpgsign", "false")
    write(path, files)
    return path


def commit(repo: Path, message: str, who: tuple[str, str], author_date: str | None = None) -> str:
    """Commit everything as `who` (name, date); `author_date` overrides the author date only."""
    name, when = who
    env = {"GIT_AUTHOR_DATE": author_date or when, "GIT_COMMITTER_DATE": when}
    git(repo, "add", "-A")
    git(repo, "-c", f"user.name={name}", "commit", "-q", "-m", message, env=env)
    return git(repo, "rev-parse", "HEAD")


def run_many(calls: list[tuple[list, Path]]) -> list[subprocess.CompletedProcess]:
    """Start every `stratdsl` command at once, then wait for all."""
    procs = [
        subprocess.Popen([STRATDSL, *map(str, args)], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for args, cwd in calls
    ]
    out = []
    for (args, _), proc in zip(calls, procs, strict=True):
        stdout, stderr = proc.communicate(timeout=120)
        out.append(subprocess.CompletedProcess(args, proc.returncode, stdout, stderr))
    return out


def stratdsl_cmd(*args, cwd: Path) -> subprocess.CompletedProcess:
    return run_many([(list(args), cwd)])[0]


def cli(*args, cwd: Path | None = None):
    """The same command in process: click's runner around stratdsl.commands.cli.main, run in `cwd`."""
    with contextlib.chdir(cwd) if cwd else contextlib.nullcontext():
        return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def rule_blocks(text: str) -> dict[str, list[str]]:
    """The lines of an explanation, grouped by rule ('✓ quadrant.qw → …' starts the block of quadrant.qw)."""
    blocks: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line[:2] in ("✓ ", "✗ ", "· ", "? ", "⏸ ", "↷ ") and " → " in line:
            current = line[2:].split(" ", 1)[0]
            blocks[current] = []
        elif current is not None:
            blocks[current].append(line.strip())
    return blocks


# ------------------------------------------------------------------ the shared history


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """The three-commit repository, and an audit log of two evaluations made at c1."""
    base = tmp_path_factory.mktemp("history")
    repo = init_repo(
        base / "repo",
        {"main.strat": V1, "sources.strat": SOURCES, "as/a.yaml": ASSESSMENT_A, "as/b.yaml": ASSESSMENT_B, "as/sub/c.json": ASSESSMENT_C},
    )
    c1 = commit(repo, "Initial policy", ALICE)
    log = base / "audit.jsonl"  # outside the work tree
    done = stratdsl_cmd("eval", "main.strat", "as/a.yaml", "--as-of", AS_OF, "--audit-log", log, cwd=repo)
    assert done.returncode == 0, done.stderr
    second = cli("eval", "main.strat", "as/a.yaml", "--as-of", "2026-09-01", "--param", "threshold=4", "--param", "strict=true", "--audit-log", log, cwd=repo)
    assert second.exit_code == 0, second.output
    write(repo, {"main.strat": V2})
    c2 = commit(repo, "Methodology 2026.2", BOB)
    write(repo, {"main.strat": V3})
    c3 = commit(repo, "Reformat", CAROL)
    assert cli("check", "main.strat", cwd=repo).exit_code == 0
    return {"repo": repo, "log": log, "c1": c1, "c2": c2, "c3": c3}


def test_the_history_is_as_described(history):
    repo = history["repo"]
    assert git(repo, "log", "--format=%an|%ad|%s", "--date=short").splitlines() == [
        "Carol Petit|2026-03-15|Reformat",
        "Bob Durand|2026-02-10|Methodology 2026.2",
        "Alice Martin|2026-01-05|Initial policy",
    ]
    # the reformat commit really changes the text
    assert git(repo, "diff", "--stat", history["c2"], history["c3"])
    items = audit.read(history["log"])
    assert [i["entry"]["kind"] for i in items] == ["log"] + (["evaluation"] + ["decision"] * 5 + ["commit"]) * 2
    assert {i["entry"]["provenance"]["git"]["commit"] for i in items if i["entry"]["kind"] == "evaluation"} == {history["c1"]}


# ================================================================== replay


def test_replay_uses_the_recorded_commit_not_the_working_tree(history):
    repo, log, c1 = history["repo"], history["log"], history["c1"]
    # the policy of today decides differently: the replay would notice if it read the working tree
    recorded = {(i["entry"]["decision"], i["entry"]["entity"]): i["entry"] for i in audit.read(log)[:8] if i["entry"]["kind"] == "decision"}
    today = json.loads(cli("eval", "main.strat", "as/a.yaml", "--as-of", AS_OF, "--format", "records", cwd=repo).stdout)
    assert recorded[("level", None)]["outcome"] == "high" and next(r for r in today if r["decision"] == "level")["outcome"] == "low"
    # ... and an uncommitted edit of the working tree does not matter either
    (repo / "main.strat").write_text(V3.replace("impact >= threshold", "impact >= 5"), encoding="utf-8")
    try:
        done = stratdsl_cmd("replay", log, cwd=repo)
    finally:
        git(repo, "checkout", "--", "main.strat")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines == [
        f"entry 10 quadrant[ocr]: identical (commit {c1[:12]})",
        f"entry 11 quadrant[cv]: identical (commit {c1[:12]})",
        f"entry 12 risk[ocr]: identical (commit {c1[:12]})",
        f"entry 13 risk[cv]: identical (commit {c1[:12]})",
        f"entry 14 level: identical (commit {c1[:12]})",
        "checked for every entry: assessment_sha256, policy_sha256, ids, defaults, policy files at the commit",
        "5 identical, 0 different",
    ]
    assert "note:" not in done.stdout


def test_replay_one_entry(history):
    repo, log, c1 = history["repo"], history["log"], history["c1"]
    one = cli("replay", log, "--entry", 4, cwd=repo)
    assert one.exit_code == 0, one.output
    assert one.stdout == (
        f"entry 4 quadrant[cv]: identical (commit {c1[:12]})\n"
        "checked for every entry: assessment_sha256, policy_sha256, ids, defaults, policy files at the commit\n"
        "1 identical, 0 different\n"
    )
    # an undetermined decision replays identically too (risk[cv]: narrow unknown at c1)
    entry6 = audit.read(log)[5]["entry"]
    assert (entry6["decision"], entry6["entity"], entry6["status"]) == ("risk", "cv", "undetermined")
    assert cli("replay", log, "--entry", 6, cwd=repo).stdout.startswith("entry 6 risk[cv]: identical")
    # the header, an evaluation entry, a commit entry, or a number past the end, is not a decision
    for bad in (1, 2, 8, 99):
        result = cli("replay", log, "--entry", bad, cwd=repo)
        assert result.exit_code == 1
        assert "E405" in result.stderr and f"entry {bad} of" in result.stderr


def test_replay_outside_the_repository_needs_repo(history, tmp_path):
    repo, log = history["repo"], history["log"]
    if subprocess.run(["git", "rev-parse"], cwd=tmp_path, capture_output=True).returncode == 0:
        pytest.skip("the temporary folder is inside a git work tree")
    outside = cli("replay", log, "--entry", 3, cwd=tmp_path)
    assert outside.exit_code == 1 and "E406" in outside.stderr
    with_repo = cli("replay", log, "--entry", 3, "--repo", repo, cwd=tmp_path)
    assert with_repo.exit_code == 0 and "identical" in with_repo.stdout


def test_replay_of_a_log_recorded_from_a_dirty_tree_notes_it(tmp_path):
    repo = init_repo(tmp_path / "repo", {"main.strat": V1, "sources.strat": SOURCES, "a.yaml": ASSESSMENT_A})
    c1 = commit(repo, "Initial policy", ALICE)
    # an uncommitted change of the band threshold: `level` is decided by the working tree, not by c1
    (repo / "main.strat").write_text(V1.replace("below 5 high from 5", "below 9 high from 9"), encoding="utf-8")
    log = tmp_path / "audit.jsonl"
    logged = cli("eval", "main.strat", "a.yaml", "--as-of", AS_OF, "--audit-log", log, cwd=repo)
    assert logged.exit_code == 0
    evaluation = audit.read(log)[1]["entry"]
    assert evaluation["provenance"]["git"] == {"commit": c1, "dirty": True, "policy_path": "main.strat"}
    done = stratdsl_cmd("replay", log, cwd=repo)
    assert done.returncode == 1  # a decision differs
    out = done.stdout
    assert out.count("note: the policy had uncommitted changes when this was recorded") == 5
    assert "note: the policy files at that commit do not hash as recorded" in out
    assert f"entry 7 level: DIFFERS (commit {c1[:12]})" in out
    assert out.count("could not verify policy files: recorded from a modified work tree") == 5
    assert "  outcome: recorded 'low' → replayed 'high'" in out
    assert "  recorded explanation:" in out and "  replayed explanation:" in out
    assert f"entry 3 quadrant[ocr]: identical (commit {c1[:12]})" in out
    assert out.rstrip().endswith("4 identical, 1 different")


def test_every_replayed_entry_of_a_dirty_evaluation_gets_the_same_notes(tmp_path):
    repo = init_repo(tmp_path / "repo", {"main.strat": V1, "sources.strat": SOURCES, "a.yaml": ASSESSMENT_A})
    commit(repo, "Initial policy", ALICE)
    (repo / "main.strat").write_text(V1 + "# uncommitted\n", encoding="utf-8")
    log = tmp_path / "audit.jsonl"
    assert cli("eval", "main.strat", "a.yaml", "--as-of", AS_OF, "--audit-log", log, cwd=repo).exit_code == 0
    results = replay_mod.replay(log, repo=repo)
    alone = replay_mod.replay(log, entry=4, repo=repo)[0]
    assert len(alone.notes) == 2
    assert [r.notes for r in results] == [alone.notes] * len(results)


def test_replay_after_the_policy_moved_to_another_folder(tmp_path):
    repo = init_repo(tmp_path / "repo", {"main.strat": V1, "sources.strat": SOURCES, "a.yaml": ASSESSMENT_A})
    c1 = commit(repo, "Initial policy", ALICE)
    log = tmp_path / "audit.jsonl"
    assert cli("eval", "main.strat", "a.yaml", "--as-of", AS_OF, "--audit-log", log, cwd=repo).exit_code == 0
    (repo / "policy").mkdir()
    git(repo, "mv", "main.strat", "policy/main.strat")
    git(repo, "mv", "sources.strat", "policy/sources.strat")
    commit(repo, "Move the policy", BOB)
    result = cli("replay", log, cwd=repo)
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("5 identical, 0 different\n")
    assert f"(commit {c1[:12]})" in result.stdout


# ================================================================== blame


def test_explain_blame_names_the_commit_that_last_changed_the_rule_that_fired(history):
    repo, c1, c2 = history["repo"], history["c1"], history["c2"]
    done = stratdsl_cmd("explain", "main.strat", "as/a.yaml", "quadrant", "--for", "ocr", "--blame", "--as-of", AS_OF, cwd=repo)
    assert done.returncode == 0, done.stderr
    assert "decided by rule quadrant.qw" in done.stdout
    blocks = rule_blocks(done.stdout)
    assert list(blocks) == ["quadrant.qw", "quadrant.structuring", "quadrant.avoid", "quadrant.secondary"]
    assert f"last changed: {c2[:12]} by Bob Durand on 2026-02-10: Methodology 2026.2" in blocks["quadrant.qw"]
    assert f"last changed: {c1[:12]} by Alice Martin on 2026-01-05: Initial policy" in blocks["quadrant.structuring"]
    assert f"last changed: {c2[:12]} by Bob Durand on 2026-02-10: Methodology 2026.2" in blocks["quadrant.avoid"]
    assert f"last changed: {c1[:12]} by Alice Martin on 2026-01-05: Initial policy" in blocks["quadrant.secondary"]


def test_explain_blame_in_json(history):
    repo, c2, c3 = history["repo"], history["c2"], history["c3"]
    result = cli("explain", "main.strat", "as/a.yaml", "quadrant", "--for", "ocr", "--blame", "--as-of", AS_OF, "--format", "json", cwd=repo)
    data = json.loads(result.stdout)
    assert data["blame"]["quadrant.qw"] == {"commit": c2, "author": "Bob Durand", "date": "2026-02-10", "summary": "Methodology 2026.2"}
    # blame is by lines: the re-indented risk rules were last changed by the reformat commit
    risk = json.loads(cli("explain", "main.strat", "as/a.yaml", "risk", "--for", "cv", "--blame", "--as-of", AS_OF, "--format", "json", cwd=repo).stdout)
    assert risk["blame"]["risk.high"]["commit"] == c3
    assert risk["blame"]["risk.high"]["summary"] == "Reformat"


def test_explain_blame_of_an_uncommitted_rule(tmp_path):
    repo = init_repo(tmp_path / "repo", {"main.strat": V1, "sources.strat": SOURCES, "a.yaml": ASSESSMENT_A})
    commit(repo, "Initial policy", ALICE)
    (repo / "main.strat").write_text(V1.replace("effort < 3 cites", "effort < 2 cites"), encoding="utf-8")
    data = json.loads(cli("explain", "main.strat", "a.yaml", "quadrant", "--for", "cv", "--blame", "--as-of", AS_OF, "--format", "json", cwd=repo).stdout)
    assert data["blame"]["quadrant.qw"]["commit"] == "uncommitted"
    assert data["blame"]["quadrant.qw"]["summary"] == "not committed yet"
    assert data["blame"]["quadrant.structuring"]["author"] == "Alice Martin"


@pytest.mark.parametrize("bob_author_date", ["2026-01-05T10:00:00+00:00", "2026-01-01T09:00:00+00:00"], ids=["same_second", "rebased"])
def test_blame_of_a_multi_line_rule_names_the_last_commit_in_history(tmp_path, bob_author_date):
    repo = init_repo(tmp_path / "repo", {"main.strat": V1, "sources.strat": SOURCES, "a.yaml": ASSESSMENT_A})
    commit(repo, "Initial policy", ALICE)
    # Bob changes only the `unless` line, the second line of rule risk.high
    (repo / "main.strat").write_text(V1.replace("    unless narrow cites", "    unless narrow and not strict cites"), encoding="utf-8")
    bob = commit(repo, "Narrow exception only when not strict", ("Bob Durand", "2026-01-05T10:00:00+00:00"), author_date=bob_author_date)
    assert git(repo, "blame", "-s", "-L", "19,19", "main.strat").startswith(bob[:7])  # git itself says Bob
    data = json.loads(cli("explain", "main.strat", "a.yaml", "risk", "--for", "cv", "--blame", "--as-of", AS_OF, "--format", "json", cwd=repo).stdout)
    assert data["blame"]["risk.high"]["commit"] == bob


# ================================================================== methodology diff

C1_TO_C2 = [
    {"change": "changed", "kind": "policy", "name": "Demo", "detail": "version 1 → 2"},
    {"change": "changed", "kind": "rule", "name": "quadrant.qw", "detail": "citations method Pilier 4 → method Pilier 5"},
    {"change": "added", "kind": "rule", "name": "quadrant.avoid", "detail": ""},
    {"change": "changed", "kind": "rule", "name": "risk.high", "detail": "from 2026-08-02 → 2026-12-02"},
    {"change": "removed", "kind": "rule", "name": "risk.legacy", "detail": ""},
    {"change": "changed", "kind": "band", "name": "level.low", "detail": "[0, 5] → [0, 7]"},
    {"change": "changed", "kind": "band", "name": "level.high", "detail": "[5, ∞] → [7, ∞]"},
]


def test_diff_text_lists_the_methodology_changes_and_the_decisions_that_change(history):
    repo = history["repo"]
    done = stratdsl_cmd("diff", "main.strat", "as/a.yaml", "--from", "HEAD~2", "--to", "HEAD~1", "--as-of", AS_OF, cwd=repo)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    head, _, rest = out.partition("\n\n")
    assert head.splitlines() == [
        "Methodology changes:",
        "  changed  policy Demo: version 1 → 2",
        "  changed  rule quadrant.qw: citations method Pilier 4 → method Pilier 5",
        "  added    rule quadrant.avoid",
        "  changed  rule risk.high: from 2026-08-02 → 2026-12-02",
        "  removed  rule risk.legacy",
        "  changed  band level.low: [0, 5] → [0, 7]",
        "  changed  band level.high: [5, ∞] → [7, ∞]",
    ]
    assert rest.split("\n\n")[0].splitlines() == [
        "Decisions that change, over 1 assessment(s):",
        "  as/a.yaml: quadrant[ocr]: Priorité immédiate (quick_win) [Méthode Pilier 4] → Priorité immédiate (quick_win) [Méthode Pilier 5]  (changed: cites)",
        "  as/a.yaml: risk[cv]: undetermined (high, minimal) → minimal  (changed: status, outcome, possible)",
        "  as/a.yaml: level: high → low  (changed: outcome, possible)",
    ]
    # both explanations, side by side, for each decision that changes
    for who in ("level", "quadrant[ocr]", "risk[cv]"):
        assert f"=== as/a.yaml: {who}" in out
    level = out.split("=== as/a.yaml: level\n")[1].split("\n===")[0].splitlines()
    assert level[0].split("|")[0].strip() == "BEFORE" and level[0].split("|")[1].strip() == "AFTER"
    assert any(line.split("|")[0].strip() == "outcome: high" and line.split("|")[1].strip() == "outcome: low" for line in level)
    risk = out.split("=== as/a.yaml: risk[cv]\n")[1].split("\n===")[0]
    assert "not in force on the as-of date" in risk and "in force from 2026-12-02" in risk
    assert "main.strat@HEAD~2:" in out and "main.strat@HEAD~1:" in out


def test_diff_json(history):
    repo, c1, c2 = history["repo"], history["c1"], history["c2"]
    result = cli("diff", "main.strat", "as/a.yaml", "--from", c1, "--to", c2, "--as-of", AS_OF, "--format", "json", cwd=repo)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["changes"] == C1_TO_C2
    assert data["assessments"] == ["as/a.yaml"]
    decisions = {(d["decision"], d["entity"]): d for d in data["decisions"]}
    assert set(decisions) == {("level", None), ("quadrant", "ocr"), ("risk", "cv")}
    level = decisions[("level", None)]
    assert level["changed"] == ["outcome", "possible"]
    assert (level["before"]["decision"]["outcome"], level["after"]["decision"]["outcome"]) == ("high", "low")
    risk = decisions[("risk", "cv")]
    assert risk["before"]["decision"]["status"] == "undetermined" and risk["before"]["decision"]["possible"] == ["high", "minimal"]
    assert risk["after"]["decision"]["outcome"] == "minimal"
    qw = decisions[("quadrant", "ocr")]
    assert qw["changed"] == ["cites"]
    assert [c["text"] for c in qw["before"]["decision"]["cites"]] == ["Méthode Pilier 4"]
    assert [c["text"] for c in qw["after"]["decision"]["cites"]] == ["Méthode Pilier 5"]


def test_diff_markdown(history):
    repo, c1, c2 = history["repo"], history["c1"], history["c2"]
    result = cli("diff", "main.strat", "as/a.yaml", "--from", c1[:10], "--to", c2[:10], "--as-of", AS_OF, "--format", "markdown", cwd=repo)
    assert result.exit_code == 0, result.output
    md = result.stdout
    assert md.startswith(f"## Methodology diff `{c1[:10]}` → `{c2[:10]}`\n")
    for row in (
        "| changed | rule | `quadrant.qw` | citations method Pilier 4 → method Pilier 5 |",
        "| added | rule | `quadrant.avoid` |  |",
        "| changed | rule | `risk.high` | from 2026-08-02 → 2026-12-02 |",
        "| removed | rule | `risk.legacy` |  |",
        "| changed | band | `level.low` | [0, 5] → [0, 7] |",
        "| `as/a.yaml` | `level` | high | low |",
        "| `as/a.yaml` | `risk[cv]` | undetermined (high, minimal) | minimal |",
        "### Decisions that change (3, over 1 assessment(s))",
        "<details><summary>as/a.yaml: level</summary>",
    ):
        assert row in md
    assert md.count("**Before**") == 3 and md.count("**After**") == 3


def test_a_reformat_only_commit_is_no_change(history):
    repo, c2, c3 = history["repo"], history["c2"], history["c3"]
    done = stratdsl_cmd("diff", "main.strat", "as", "--from", c2, "--to", c3, "--as-of", AS_OF, cwd=repo)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "Methodology changes:\n"
        "  none (the two versions are equal once layout and comments are ignored)\n"
        "\n"
        "Decisions that change, over 3 assessment(s):\n"
        "  none\n"
    )
    data = json.loads(cli("diff", "main.strat", "as", "--from", c2, "--to", c3, "--as-of", AS_OF, "--format", "json", cwd=repo).stdout)
    assert (data["changes"], data["decisions"]) == ([], [])
    md = cli("diff", "main.strat", "as", "--from", c2, "--to", c3, "--as-of", AS_OF, "--format", "markdown", cwd=repo).stdout
    assert "No change once layout and comments are ignored." in md and "No decision changes." in md


def test_diff_over_a_directory_of_assessments(history):
    repo, c1, c2 = history["repo"], history["c1"], history["c2"]
    data = json.loads(cli("diff", "main.strat", "as", "--from", c1, "--to", c2, "--as-of", AS_OF, "--format", "json", cwd=repo).stdout)
    assert data["assessments"] == ["as/a.yaml", "as/b.yaml", "as/sub/c.json"]
    assert data["changes"] == C1_TO_C2
    changed = sorted((d["assessment"], d["decision"], d["entity"]) for d in data["decisions"])
    assert changed == [
        ("as/a.yaml", "level", None),
        ("as/a.yaml", "quadrant", "ocr"),
        ("as/a.yaml", "risk", "cv"),
        ("as/b.yaml", "quadrant", "bot"),
    ]
    bot = next(d for d in data["decisions"] if d["entity"] == "bot")
    assert (bot["before"]["decision"]["outcome"], bot["after"]["decision"]["outcome"]) == ("secondary", "avoid")
    text = cli("diff", "main.strat", "as", "--from", c1, "--to", c2, "--as-of", AS_OF, cwd=repo).stdout
    assert "Decisions that change, over 3 assessment(s):" in text
    assert "  as/b.yaml: quadrant[bot]: Opportunité secondaire (secondary) → À éviter (avoid)  (changed: outcome, possible)" in text


def test_diff_to_the_working_tree(history):
    repo, c1 = history["repo"], history["c1"]
    clean = json.loads(cli("diff", "main.strat", "as", "--from", "HEAD", "--as-of", AS_OF, "--format", "json", cwd=repo).stdout)
    assert (clean["changes"], clean["decisions"]) == ([], [])
    # without --to, the working tree (here: the c3 layout of c2's methodology) is compared
    from_c1 = json.loads(cli("diff", "main.strat", "as", "--from", c1, "--as-of", AS_OF, "--format", "json", cwd=repo).stdout)
    assert from_c1["changes"] == C1_TO_C2
    md = cli("diff", "main.strat", "as/a.yaml", "--from", c1[:8], "--as-of", AS_OF, "--format", "markdown", cwd=repo).stdout
    assert md.startswith(f"## Methodology diff `{c1[:8]}` → `working tree`")


def test_diff_from_an_unknown_revision_is_a_user_error(history):
    result = CliRunner().invoke(main, ["diff", str(history["repo"] / "main.strat"), "--from", "no-such-rev"])
    assert result.exit_code == 1
    assert "E401" in result.output
