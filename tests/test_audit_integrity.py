"""Traceability, part 3 (issue 16, points 1–4 and 6): exact replay, replay that checks
hashes, canonical bytes, and refusing what is not a stratdsl log.

* records hold the defaults they applied, so `replay` right after `eval --audit-log` is
  identical for every example and for generated assessments (hypothesis);
* `replay` recomputes every hash it can and names what it could not check; a forged
  decision with forged facts is reported, even when the forger re-hashed the chain;
* every line must be its canonical bytes: `"seq":"2"`, duplicate keys, int↔string swaps,
  escapes, floats, are E409 — through the installed command, exit 1, never 3;
  the corpus tests/fuzz_corpus/auditlog/ holds one file per case;
* a symlink, a FIFO, a file that is not a stratdsl log are refused (E408, E407) and left
  untouched; a 0.1.0 log still verifies and is upgraded in place by the next append.

The SIGKILL test of point 3 is in tests/test_crash.py, the checkpoints of point 5 in
tests/test_checkpoints.py.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import FIXTURES, REPO, stratdsl_command
from stratdsl.commands.cli import main
from stratdsl.language.diagnostics import StratError
from stratdsl.provenance import audit
from stratdsl.provenance import replay as replay_mod
from stratdsl.runtime.values import canonical_json, sha256_text

AS_OF = "2026-11-26"
CORPUS = Path(__file__).resolve().parent / "fuzz_corpus" / "auditlog"
EXPECTED: dict[str, list] = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))


def run(*args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*stratdsl_command(), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def cli(*args, cwd: Path | None = None):
    old = Path.cwd()
    if cwd:
        os.chdir(cwd)
    try:
        return CliRunner().invoke(main, [str(a) for a in args])
    finally:
        os.chdir(old)


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def rehash(lines: list[dict]) -> bytes:
    """What a forger with write access does after changing entries: recompute every hash."""
    prev = audit.GENESIS
    out = []
    for n, item in enumerate(lines, start=1):
        text, prev = audit._line(n, prev, item["entry"])
        out.append(text)
    return "".join(out).encode("utf-8")


@pytest.fixture(scope="module")
def methodology(tmp_path_factory) -> Path:
    """The shipped methodology and examples, committed in a repository of their own."""
    repo = tmp_path_factory.mktemp("method") / "repo"
    shutil.copytree(REPO / "policies", repo / "policies")
    shutil.copytree(REPO / "examples", repo / "examples")
    git(repo.parent, "init", "-q", str(repo))
    for key, value in (("user.name", "Alice Martin"), ("user.email", "alice@example.org"), ("commit.gpgsign", "false")):
        git(repo, "config", key, value)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Methodology")
    return repo


# ================================================================== 1. exact replay


def test_every_example_replays_identically_right_after_eval(methodology, tmp_path):
    examples = sorted((methodology / "examples").glob("*.yaml"))
    assert len(examples) >= 4
    with_defaults = 0
    for example in examples:
        log = tmp_path / f"{example.stem}.jsonl"
        done = run("eval", "policies/strategy.strat", example, "--as-of", AS_OF, "--audit-log", log, cwd=methodology)
        assert done.returncode == 0, done.stderr
        evaluation = audit.read(log)[1]["entry"]
        for default in evaluation["defaults"]:
            assert set(default) == {"fact", "path", "value"}
        with_defaults += bool(evaluation["defaults"])
        replayed = run("replay", log, cwd=methodology)
        assert replayed.returncode == 0, example.name + "\n" + replayed.stdout[-3000:]
        assert replayed.stdout.rstrip().endswith(" identical, 0 different"), replayed.stdout[-500:]
        assert "DIFFERS" not in replayed.stdout and "could not verify" not in replayed.stdout
        assert "checked for every entry: assessment_sha256, policy_sha256, ids, defaults, policy files at the commit" in replayed.stdout
    assert with_defaults, "no example leaves a question with a default unanswered: the regression is not exercised"


def test_a_default_is_recorded_as_such_not_as_unknown(methodology, tmp_path):
    """The bug: an input left out and declared `default false` was logged as null and replayed as unknown."""
    from stratdsl.engine import compile_policy
    from stratdsl.engine import run as run_policy
    from stratdsl.provenance.records import applied_defaults
    from stratdsl.runtime.assessment import load_assessment

    policy, _ = compile_policy(methodology / "policies" / "strategy.strat")
    facts = load_assessment(policy, methodology / "examples" / "cabinet-comptable.yaml")
    defaults = applied_defaults(policy, facts)
    assert defaults, "cabinet-comptable leaves a defaulted question out"
    for d in defaults:
        node = facts.data
        for part in d["path"][:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        assert node.get(d["path"][-1]) is None  # null in the recorded facts …
        assert d["value"] is not None  # … and the value applied, marked as a default
    result, _ = run_policy(policy, facts, __import__("datetime").date(2026, 11, 26))
    assert result.decisions


@pytest.fixture(scope="module")
def strategy(methodology):
    from stratdsl.engine import compile_policy

    policy, _ = compile_policy(methodology / "policies" / "strategy.strat")
    assert policy is not None
    return policy


def test_generated_assessments_replay_identically(methodology, strategy, tmp_path_factory):
    import sys

    sys.path.insert(0, str(REPO / "fuzz"))
    import stratfuzz as sf

    folder = tmp_path_factory.mktemp("generated")
    counter = [0]

    @settings(max_examples=12, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(sf.assessment_data(strategy, invalid=False))
    def check(data):
        counter[0] += 1
        path = folder / f"g{counter[0]}.json"
        path.write_text(sf.to_json_text(data), encoding="utf-8")
        log = folder / f"g{counter[0]}.jsonl"
        done = cli("eval", "policies/strategy.strat", path, "--as-of", AS_OF, "--audit-log", log, cwd=methodology)
        if done.exit_code == 1:  # the generator may break a cross-field rule (E30x): nothing is logged
            assert not log.exists() or audit.read(log) == []
            return
        assert done.exit_code == 0, done.output
        evaluated[0] += 1
        replayed = cli("replay", log, cwd=methodology)
        assert replayed.exit_code == 0, replayed.stdout[-3000:]
        assert replayed.stdout.rstrip().endswith(" identical, 0 different")

    evaluated = [0]
    check()
    assert evaluated[0] >= 5, f"only {evaluated[0]} of {counter[0]} generated assessments were valid"


# ================================================================== 2. replay checks the hashes


@pytest.fixture()
def logged(methodology, tmp_path) -> tuple[Path, list[dict]]:
    log = tmp_path / "audit.jsonl"
    done = cli("eval", "policies/strategy.strat", "examples/cabinet-comptable.yaml", "--as-of", AS_OF, "--audit-log", log, cwd=methodology)
    assert done.exit_code == 0, done.output
    return log, audit.read(log)


def _decision(items: list[dict], name: str) -> int:
    return next(n for n, i in enumerate(items) if i["entry"].get("kind") == "decision" and i["entry"]["decision"] == name and i["entry"]["status"] == "decided")


def _forge(items, log: Path, change) -> None:
    forged = copy.deepcopy(items)
    change(forged)
    log.write_bytes(rehash(forged))
    assert audit.verify(log)[1] is None  # without a key or a head, the chain alone cannot see it


def test_a_forged_decision_with_forged_facts_is_reported(methodology, logged):
    log, items = logged
    n = _decision(items, "maturity_level") if any(i["entry"].get("decision") == "maturity_level" for i in items) else _decision(items, items[2]["entry"]["decision"])
    decision = items[n]["entry"]["decision"]

    def forge(forged):
        facts = forged[1]["entry"]["assessment"]
        facts["organization"] = {**(facts.get("organization") or {}), "headcount": "9999"}
        forged[n]["entry"]["outcome"] = "forged"

    _forge(items, log, forge)
    done = run("replay", log, "--entry", n + 1, cwd=methodology)
    assert done.returncode == 1, done.stdout
    assert f"entry {n + 1} {decision}: DIFFERS" in done.stdout
    assert "assessment_sha256: recorded" in done.stdout and "(hash of the recorded facts)" in done.stdout
    assert "outcome: recorded 'forged'" in done.stdout


def test_a_forger_who_also_rewrites_the_hashes_is_caught_by_the_ids(methodology, logged):
    log, items = logged
    n = _decision(items, items[2]["entry"]["decision"])

    def forge(forged):
        evaluation = forged[1]["entry"]
        evaluation["assessment"]["about"] = {"forged": "yes"}
        new = sha256_text(canonical_json(evaluation["assessment"]))
        for item in forged:
            if item["entry"].get("assessment_sha256"):
                item["entry"]["assessment_sha256"] = new

    _forge(items, log, forge)
    results = replay_mod.replay(log, entry=n + 1, repo=methodology)
    names = [d[0] for d in results[0].differences]
    assert "evaluation id" in names and "decision id" in names and not results[0].identical


def test_what_replay_cannot_check_is_said(methodology, logged):
    log, items = logged

    def missing_commit(forged):
        for item in forged:
            git_info = item["entry"].get("provenance", {}).get("git")
            if git_info:
                git_info["commit"] = "1" * 40

    _forge(items, log, missing_commit)
    done = run("replay", log, cwd=methodology)
    assert done.returncode == 1
    assert "NOT REPLAYED" in done.stdout and "could not verify policy_sha256 and the decision: commit 111111111111 is not in this repository" in done.stdout
    assert done.stdout.rstrip().endswith("not replayed")

    def gone(forged):
        for item in forged:
            git_info = item["entry"].get("provenance", {}).get("git")
            if git_info:
                git_info["policy_path"] = "policies/gone.strat"

    _forge(items, log, gone)
    done = run("replay", log, cwd=methodology)
    assert done.returncode == 1 and "could not verify policy_sha256 and the decision: 'policies/gone.strat' does not exist at commit" in done.stdout


def test_a_default_changed_in_the_record_is_reported(methodology, logged):
    log, items = logged
    if not items[1]["entry"]["defaults"]:
        pytest.skip("no default applied")

    def forge(forged):
        forged[1]["entry"]["defaults"][0]["value"] = "forged"

    _forge(items, log, forge)
    results = replay_mod.replay(log, repo=methodology)
    assert all("defaults" in [d[0] for d in r.differences] for r in results)


# ================================================================== 4. canonical bytes


def _corpus_cases() -> list:
    return [pytest.param(name, id=name) for name in sorted(EXPECTED)]


def test_the_corpus_lists_every_file():
    assert sorted(EXPECTED) == sorted(p.name for p in CORPUS.glob("*.jsonl"))


@pytest.mark.parametrize("name", _corpus_cases())
def test_corpus_log_fails_cleanly_with_its_code(name):
    code, line = EXPECTED[name]
    report = audit.check(CORPUS / name)
    assert report.problem is not None and (report.problem.code, report.problem.line) == (code, line), report.problem
    result = cli("audit", "verify", CORPUS / name)
    assert result.exit_code == 1, result.output
    assert f"{name}:{line}: error[{code}]:" in result.stdout


def test_malformed_entries_through_the_installed_command(tmp_path):
    """verify, show and replay of a malformed log: coded errors, exit 1, never an internal error."""
    names = ["seq-as-string.jsonl", "duplicate-key.jsonl", "int-for-string.jsonl"]
    for name in names:
        verify = run("audit", "verify", CORPUS / name, cwd=tmp_path)
        assert verify.returncode == 1 and "error[E409]" in verify.stdout, verify.stdout + verify.stderr
        show = run("audit", "show", CORPUS / name, cwd=tmp_path)
        assert show.returncode == 1 and "error[E409]" in show.stderr and "Traceback" not in show.stderr, show.stderr
        replay = run("replay", CORPUS / name, cwd=tmp_path)
        assert replay.returncode == 1 and "error[E409]" in replay.stderr, replay.stderr


def _small_log(path: Path) -> bytes:
    audit.append(path, [{"kind": "evaluation", "id": "e1", "assessment": {"n": "4", "name": "Réunion"}},
                        {"kind": "decision", "evaluation": "e1", "outcome": "high"}])
    return path.read_bytes()


@settings(max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_any_change_of_a_byte_is_detected(tmp_path_factory, data):
    """Flip, insert or delete one byte anywhere: verify never passes the changed file and never raises."""
    folder = tmp_path_factory.mktemp("bytes")
    original = _small_log(folder / "log.jsonl")
    at = data.draw(st.integers(0, len(original) - 1))
    how = data.draw(st.sampled_from(["flip", "insert", "delete"]))
    byte = data.draw(st.integers(0, 255))
    if how == "flip":
        changed = original[:at] + bytes([byte]) + original[at + 1 :]
    elif how == "insert":
        changed = original[:at] + bytes([byte]) + original[at:]
    else:
        changed = original[:at] + original[at + 1 :]
    (folder / "log.jsonl").write_bytes(changed)
    report = audit.check(folder / "log.jsonl")
    if changed == original:
        assert report.problem is None
    else:
        assert report.problem is not None, (how, at, byte)
        assert report.problem.code in {"E407", "E409", "E410", "E411", "E412", "E413"}


def test_int_and_string_swaps_hash_alike_but_are_refused(tmp_path):
    """The hash is over numbers-as-strings, so `"seq":2` and `"seq":"2"` (or 4 and "4" in an entry)
    hash the same; only the canonical-bytes rule tells them apart, so it is checked on every line."""
    log = tmp_path / "log.jsonl"
    _small_log(log)
    lines = log.read_bytes().splitlines()
    for old, new in ((b'"seq":2', b'"seq":"2"'), (b'"n":"4"', b'"n":4'), (b'"n":"4"', b'"n":4.0'), ("é".encode(), b"\\u00e9")):
        i = next(k for k, line in enumerate(lines) if old in line)
        changed = list(lines)
        changed[i] = lines[i].replace(old, new, 1)
        item = json.loads(changed[i])
        assert audit.entry_hash(item["seq"], item["prev"], item["entry"]) == item["hash"] or old == b'"n":"4"'  # same hash
        (tmp_path / "swap.jsonl").write_bytes(b"\n".join(changed) + b"\n")
        problem = audit.check(tmp_path / "swap.jsonl").problem
        assert problem is not None and problem.code == "E409" and problem.line == i + 1, (old, new, problem)


# ================================================================== 6. what is not a stratdsl log


def test_a_symlink_is_never_followed_for_append(methodology, tmp_path):
    target = tmp_path / "secret.txt"
    target.write_text("do not touch\n", encoding="utf-8")
    link = tmp_path / "audit.jsonl"
    link.symlink_to(target)
    done = run("eval", "policies/strategy.strat", "examples/cabinet-comptable.yaml", "--as-of", AS_OF, "--audit-log", link, "--lang", "en", cwd=methodology)
    assert done.returncode == 1 and "error[E408]" in done.stderr and "symbolic link" in done.stderr, done.stderr
    assert target.read_text(encoding="utf-8") == "do not touch\n"
    dangling = tmp_path / "dangling.jsonl"
    dangling.symlink_to(tmp_path / "would-be-created.jsonl")
    with pytest.raises(StratError) as error:
        audit.append(dangling, [{"kind": "note"}])
    assert error.value.diagnostics[0].code == "E408"
    assert not (tmp_path / "would-be-created.jsonl").exists()


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(StratError) as error:
        audit.append(fifo, [{"kind": "note"}])
    assert error.value.diagnostics[0].code == "E408"


@pytest.mark.parametrize(
    "content",
    [b"hello\n", b"not json at all", b'{"name": "another program"}\n', b'{"entry":{"kind":"note"},"hash":"x","prev":"y","seq":1}\n',
     b"# notes\nline two\n"],
    ids=["one-line-text", "torn-text", "other-json", "fake-entry", "two-lines"],
)
def test_a_file_that_is_not_a_stratdsl_log_is_refused_and_left_untouched(tmp_path, content):
    log = tmp_path / "notes.txt"
    log.write_bytes(content)
    result = cli("eval", FIXTURES / "eval.strat", FIXTURES / "eval_ok.yaml", "--as-of", AS_OF, "--audit-log", log)
    assert result.exit_code == 1 and "error[E407]" in result.stderr, result.output
    assert "is not a stratdsl audit log" in result.stderr
    assert log.read_bytes() == content


def test_a_log_written_by_0_1_0_verifies_and_is_upgraded_by_the_next_append(tmp_path):
    log = tmp_path / "old.jsonl"
    shutil.copy(FIXTURES / "audit-0.1.0.jsonl", log)
    old = log.read_bytes()
    verify = cli("audit", "verify", log)
    assert verify.exit_code == 0 and "ok, 14 entries, chain intact" in verify.stdout
    assert "14 entries written by stratdsl 0.1.0" in verify.stdout
    assert cli("audit", "show", log).exit_code == 0
    done = cli("eval", FIXTURES / "eval.strat", FIXTURES / "eval_ok.yaml", "--as-of", AS_OF, "--audit-log", log)
    assert done.exit_code == 0, done.output
    data = log.read_bytes()
    assert data.startswith(old)  # nothing rewritten
    items = audit.read(log)
    assert items[14]["entry"] == {"kind": "log", "format": "stratdsl-audit-log", "version": "2", "upgraded_from": "0.1.0"}
    assert items[15]["entry"]["kind"] == "evaluation" and items[-1]["entry"]["kind"] == "commit"
    verify = cli("audit", "verify", log)
    assert verify.exit_code == 0, verify.output
    assert f"ok, {len(items)} entries" in verify.stdout and "14 entries written by stratdsl 0.1.0" in verify.stdout
    # a second append does not upgrade twice
    assert cli("eval", FIXTURES / "eval.strat", FIXTURES / "eval_ok.yaml", "--as-of", "2026-11-27", "--audit-log", log).exit_code == 0
    assert sum(i["entry"]["kind"] == "log" for i in audit.read(log)) == 1
    assert audit.verify(log)[1] is None
