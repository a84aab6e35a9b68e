"""Replay: re-evaluate a logged decision with the policy as it was at the
recorded commit (from git history) and the recorded assessment, and say
whether today's run decides the same — and if not, what differs and why.

Before comparing outcomes, replay checks every hash it can recompute: the
recorded facts against `assessment_sha256`, the recorded file list against
`policy_sha256`, the ids against their keys, the decision's key against its
evaluation's, the policy files at the commit against the recorded ones, and
the defaults the replay applies against the recorded ones. What it cannot
check (a commit missing from the repository, a policy file gone at that
commit, a record made from a dirty tree) is said, and the entry does not
count as identical."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ..engine import parse_params, run
from ..language.diagnostics import Diagnostic, StratError
from ..language.messages import N_, Msg
from ..runtime.assessment import validate
from ..runtime.values import canonical_json, sha256_text
from . import audit, gitutil
from .history import policy_at_commit
from .records import ID_LENGTH, applied_defaults, assessment_sha256, decision_records

COMPARED = ("status", "outcome", "rule", "possible", "missing", "obligations")
KEY = ("policy_sha256", "assessment_sha256", "as_of", "params")


@dataclass
class ReplayResult:
    entry: int
    decision_id: str
    decision: str
    entity: str | None
    commit: str
    identical: bool
    differences: list[tuple[str, Any, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    recorded: dict[str, Any] = field(default_factory=dict)
    replayed: dict[str, Any] | None = None
    verified: list[str] = field(default_factory=list)  # the hashes that were recomputed and matched
    unverified: list[str] = field(default_factory=list)  # what could not be checked, and why
    replayable: bool = True


def _cite_texts(record: dict[str, Any]) -> list[str]:
    return [c["text"] for c in record.get("cites", [])]


def _short(value: Any) -> Any:
    return value[:16] + "…" if isinstance(value, str) and len(value) == 64 else value


def _record_checks(evaluation: dict[str, Any], record: dict[str, Any]) -> tuple[list[tuple[str, Any, Any]], list[str]]:
    """Hashes recomputed from the log alone: (mismatches, names of what matched)."""
    diffs: list[tuple[str, Any, Any]] = []
    ok: list[str] = []
    facts = sha256_text(canonical_json(evaluation.get("assessment")))
    if facts != evaluation.get("assessment_sha256"):
        diffs.append(("assessment_sha256", _short(evaluation.get("assessment_sha256")), f"{_short(facts)} (hash of the recorded facts)"))
    else:
        ok.append("assessment_sha256")
    files = evaluation.get("provenance", {}).get("files")
    policy = sha256_text(canonical_json(files))
    if policy != evaluation.get("policy_sha256") or evaluation.get("provenance", {}).get("policy_sha256") != evaluation.get("policy_sha256"):
        diffs.append(("policy_sha256", _short(evaluation.get("policy_sha256")), f"{_short(policy)} (hash of the recorded file list)"))
    else:
        ok.append("policy_sha256")
    key = {k: evaluation.get(k) for k in KEY}
    for name in KEY:
        if record.get(name) != evaluation.get(name):
            diffs.append((f"decision {name}", record.get(name), f"{evaluation.get(name)} (in its evaluation)"))
    if evaluation.get("id") != "e" + sha256_text(canonical_json(key))[:ID_LENGTH]:
        diffs.append(("evaluation id", evaluation.get("id"), "does not match its key"))
    expected = "d" + sha256_text(canonical_json({**key, "decision": record.get("decision"), "entity": record.get("entity")}))[:ID_LENGTH]
    if record.get("id") != expected:
        diffs.append(("decision id", record.get("id"), f"{expected} (from its key)"))
    else:
        ok.append("ids")
    return diffs, ok


def _given(evaluation: dict[str, Any]) -> dict[str, Any]:
    """The recorded facts with the questions a default answered left out again."""
    data = copy.deepcopy(evaluation["assessment"])
    for default in evaluation.get("defaults", []):
        *parents, name = default["path"]
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.get(part)
            if node is None:
                break
        if isinstance(node, dict) and node.get(name) is None:
            node.pop(name, None)
    return data


def _evaluate(evaluation: dict[str, Any], git: dict[str, Any], root: Path) -> tuple[list[dict[str, Any]], list[tuple[str, Any, Any]], list[str], list[str]]:
    """Records replayed at the commit; mismatches of hashes and defaults; what matched; notes."""
    diffs: list[tuple[str, Any, Any]] = []
    ok: list[str] = []
    notes: list[str] = []
    prov = evaluation["provenance"]
    with policy_at_commit(git["policy_path"], git["commit"], root) as policy:
        assessment = validate(policy, _given(evaluation), "recorded assessment", decimals_as_text=True)  # the log writes decimals as text (#16 point 9)
        params = parse_params(policy, [f"{k}={v}" for k, v in evaluation["params"].items()])
        result, tracer = run(policy, assessment, date.fromisoformat(evaluation["as_of"]), params, trace=True)
        _, records = decision_records(policy, assessment, result, tracer)
        replayed_defaults = applied_defaults(policy, assessment)
        replayed_prov = records[0]["provenance"] if records else None
        facts = assessment_sha256(assessment)
    if facts != evaluation.get("assessment_sha256"):
        diffs.append(("assessment_sha256", _short(evaluation.get("assessment_sha256")), f"{_short(facts)} (the recorded facts validated at the commit)"))
    if "defaults" in evaluation:
        recorded = sorted((d["fact"], canonical_json(d["value"])) for d in evaluation["defaults"])
        now = sorted((d["fact"], canonical_json(d["value"])) for d in replayed_defaults)
        if recorded != now:
            diffs.append(("defaults", [f"{f} = {v}" for f, v in recorded], [f"{f} = {v}" for f, v in now]))
        else:
            ok.append("defaults")
    else:
        notes.append("recorded by stratdsl 0.1.0, which did not record the defaults it applied: a question left out is replayed as unknown")
    if replayed_prov is not None:
        then_files = {f["path"]: f["sha256"] for f in prov["files"]}
        now_files = {f["path"]: f["sha256"] for f in replayed_prov["files"]}
        if git.get("dirty"):
            if now_files != then_files:
                notes.append("the policy files at that commit do not hash as recorded (recorded from a modified work tree)")
        elif replayed_prov["policy_sha256"] != evaluation.get("policy_sha256"):
            changed = sorted(p for p in then_files.keys() | now_files.keys() if then_files.get(p) != now_files.get(p))
            diffs.append(("policy files at the commit", _short(evaluation.get("policy_sha256")), f"{_short(replayed_prov['policy_sha256'])} ({', '.join(changed)} differ)"))
        else:
            ok.append("policy files at the commit")
    return records, diffs, ok, notes


def replay(log_path: str | Path, entry: int | None = None, repo: Path | None = None) -> list[ReplayResult]:
    entries = audit.read(log_path)
    done = audit.committed(entries)
    decisions = [e for e in entries if e["entry"].get("kind") == "decision"]
    if not decisions:
        raise StratError([Diagnostic("E405", Msg(N_("the audit log '{path}' holds no decision"), path=log_path))])
    if entry is not None:
        chosen = [e for e in entries if e.get("seq") == entry]
        if not chosen or chosen[0]["entry"].get("kind") != "decision":
            raise StratError([Diagnostic("E405", Msg(N_("entry {entry} of '{path}' is not a decision record"), entry=entry, path=log_path))])
        if chosen[0]["entry"].get("evaluation") not in done:
            raise StratError([Diagnostic("E405", Msg(N_("entry {entry} of '{path}' belongs to an evaluation whose append was cut short: it was never committed"), entry=entry, path=log_path))])
    else:
        complete = [e for e in decisions if e["entry"].get("evaluation") in done]
        if not complete:
            raise StratError([Diagnostic("E405", Msg(N_("the audit log '{path}' holds no committed evaluation"), path=log_path))])
        last_eval = complete[-1]["entry"]["evaluation"]
        chosen = [e for e in complete if e["entry"]["evaluation"] == last_eval]
    results = []
    cache: dict[str, tuple[list[dict[str, Any]] | None, list[tuple[str, Any, Any]], list[str], list[str], list[str]]] = {}
    for item in chosen:
        record = item["entry"]
        evaluation = audit.find_evaluation(entries, record["evaluation"])
        if evaluation is None:
            raise StratError([Diagnostic("E405", Msg(N_("the evaluation {evaluation} of entry {entry} is not in the log"), evaluation=record["evaluation"], entry=item["seq"]))])
        prov = evaluation["provenance"]
        git = prov.get("git")
        if not git:
            raise StratError([Diagnostic("E406", Msg(N_("entry {entry} was recorded outside a git repository: there is no commit to replay from"), entry=item["seq"]))])
        root = gitutil.repo_root(repo or Path.cwd())
        if root is None:
            raise StratError([Diagnostic("E406", Msg(N_("run replay inside the git repository that holds the policy (or pass --repo)")))])
        key = evaluation["id"]
        if key not in cache:
            notes: list[str] = []
            unverified: list[str] = []
            if git.get("dirty"):
                notes.append("the policy had uncommitted changes when this was recorded; the replay uses the commit, so file hashes may differ")
                unverified.append("policy files: recorded from a modified work tree, the commit is not what was evaluated")
            if gitutil.resolve_commit(git["commit"], root) is None:
                unverified.append(f"policy_sha256 and the decision: commit {git['commit'][:12]} is not in this repository (history rewritten, or another clone)")
                cache[key] = (None, [], [], notes, unverified)
            else:
                try:
                    records, diffs, ok, more = _evaluate(evaluation, git, root)
                    cache[key] = (records, diffs, ok, notes + more, unverified)
                except StratError as error:
                    if error.diagnostics and error.diagnostics[0].code == "E402":
                        unverified.append(f"policy_sha256 and the decision: {error.diagnostics[0].message}")
                        cache[key] = (None, [], [], notes, unverified)
                    else:
                        raise
        replayed_records, eval_diffs, eval_ok, notes, unverified = cache[key]
        diffs, ok = _record_checks(evaluation, record)
        diffs = diffs + list(eval_diffs)
        ok = ok + list(eval_ok)
        replayed = None
        if replayed_records is not None:
            replayed = next((r for r in replayed_records if r["decision"] == record["decision"] and r["entity"] == record["entity"]), None)
            if replayed is None:
                diffs.append(("decision", record["decision"], "no longer made"))
            else:
                for name in COMPARED:
                    if record.get(name) != replayed.get(name):
                        diffs.append((name, record.get(name), replayed.get(name)))
                if _cite_texts(record) != _cite_texts(replayed):
                    diffs.append(("cites", _cite_texts(record), _cite_texts(replayed)))
        results.append(
            ReplayResult(
                item["seq"], record["id"], record["decision"], record["entity"], git["commit"],
                not diffs and replayed_records is not None, diffs, list(notes), record, replayed, ok, list(unverified),
                replayed_records is not None,
            )
        )
    return results
