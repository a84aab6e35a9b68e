"""Replay: re-evaluate a logged decision with the policy as it was at the
recorded commit (from git history) and the recorded assessment, and say
whether today's run decides the same — and if not, what differs and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ..engine import parse_params, run
from ..language.diagnostics import Diagnostic, StratError
from ..runtime.assessment import validate
from . import audit, gitutil
from .history import policy_at_commit
from .records import decision_records

COMPARED = ("status", "outcome", "rule", "possible", "missing", "obligations")


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


def _cite_texts(record: dict[str, Any]) -> list[str]:
    return [c["text"] for c in record.get("cites", [])]


def replay(log_path: str | Path, entry: int | None = None, repo: Path | None = None) -> list[ReplayResult]:
    entries = audit.read(log_path)
    decisions = [e for e in entries if e.get("entry", {}).get("kind") == "decision"]
    if not decisions:
        raise StratError([Diagnostic("E405", f"the audit log '{log_path}' holds no decision")])
    if entry is not None:
        chosen = [e for e in entries if e.get("seq") == entry]
        if not chosen or chosen[0]["entry"].get("kind") != "decision":
            raise StratError([Diagnostic("E405", f"entry {entry} of '{log_path}' is not a decision record")])
    else:
        last_eval = decisions[-1]["entry"]["evaluation"]
        chosen = [e for e in decisions if e["entry"]["evaluation"] == last_eval]
    results = []
    cache: dict[str, list[dict[str, Any]]] = {}
    cache_notes: dict[str, list[str]] = {}
    for item in chosen:
        record = item["entry"]
        evaluation = audit.find_evaluation(entries, record["evaluation"])
        if evaluation is None:
            raise StratError([Diagnostic("E405", f"the evaluation {record['evaluation']} of entry {item['seq']} is not in the log")])
        prov = evaluation["provenance"]
        git = prov.get("git")
        if not git:
            raise StratError([Diagnostic("E406", f"entry {item['seq']} was recorded outside a git repository: there is no commit to replay from")])
        root = gitutil.repo_root(repo or Path.cwd())
        if root is None:
            raise StratError([Diagnostic("E406", "run replay inside the git repository that holds the policy (or pass --repo)")])
        key = evaluation["id"]
        notes: list[str] = []
        if git.get("dirty"):
            notes.append("the policy had uncommitted changes when this was recorded; the replay uses the commit, so file hashes may differ")
        if key not in cache:
            with policy_at_commit(git["policy_path"], git["commit"], root) as policy:
                # canonical JSON writes decimals as text: the one explicit path that reads them (#16 point 9)
                assessment = validate(policy, evaluation["assessment"], "recorded assessment", decimals_as_text=True)
                params = parse_params(policy, [f"{k}={v}" for k, v in evaluation["params"].items()])
                result, tracer = run(policy, assessment, date.fromisoformat(evaluation["as_of"]), params, trace=True)
                _, records = decision_records(policy, assessment, result, tracer)
                now_files = {f["path"]: f["sha256"] for f in records[0]["provenance"]["files"]} if records else {}
            then_files = {f["path"]: f["sha256"] for f in prov["files"]}
            cache_notes[key] = []
            if now_files != then_files:
                cache_notes[key].append("the policy files at that commit do not hash as recorded (recorded from a modified work tree)")
            cache[key] = records
        notes.extend(cache_notes[key])
        replayed = next((r for r in cache[key] if r["decision"] == record["decision"] and r["entity"] == record["entity"]), None)
        diffs: list[tuple[str, Any, Any]] = []
        if replayed is None:
            diffs.append(("decision", record["decision"], "no longer made"))
        else:
            for name in COMPARED:
                if record.get(name) != replayed.get(name):
                    diffs.append((name, record.get(name), replayed.get(name)))
            if _cite_texts(record) != _cite_texts(replayed):
                diffs.append(("cites", _cite_texts(record), _cite_texts(replayed)))
        results.append(
            ReplayResult(item["seq"], record["id"], record["decision"], record["entity"], git["commit"], not diffs, diffs, notes, record, replayed)
        )
    return results
