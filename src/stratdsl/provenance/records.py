"""Decision records: what an evaluation decided, with its explanation and provenance.

A record is plain JSON-able data: a deterministic id; the outcome, label,
citations and obligations; the explanation; and provenance — the policy's
name and version, the sha256 of each policy file, the git commit and a dirty
flag when the policy sits in a git work tree, the engine version, the as-of
date, the overridden parameters and the sha256 of the canonical assessment.
The same policy, assessment, as-of date and parameters give byte-identical
records: nothing here reads the clock.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from .. import __version__
from ..language import ir
from ..render.json_out import decision_json, explanation_json
from ..runtime.assessment import Assessment
from ..runtime.explain import explain_decision
from ..runtime.result import Result
from ..runtime.trace import RecordingTracer
from ..runtime.values import Unknown, canonical_json, sha256_text, to_json_value
from . import gitutil

ID_LENGTH = 20


def policy_root(policy: ir.CheckedPolicy) -> Path | None:
    source = policy.source_map.get(policy.files[0]) if policy.files else None
    return source.path.resolve() if source and source.path else None


def provenance(policy: ir.CheckedPolicy) -> dict[str, Any]:
    root = policy_root(policy)
    folder = root.parent if root else None
    files = []
    paths = []
    for source in policy.source_map.files():
        if source.path is None:
            name = source.name
        else:
            paths.append(source.path.resolve())
            name = str(source.path.resolve().relative_to(folder)) if folder else source.name
        files.append({"path": name, "sha256": source.sha256 or sha256_text(source.text)})
    files.sort(key=lambda f: f["path"])
    out: dict[str, Any] = {
        "policy": policy.name,
        "version": policy.version,
        "files": files,
        "policy_sha256": sha256_text(canonical_json(files)),
        "engine": f"stratdsl {__version__}",
        "git": None,
    }
    state = gitutil.state(paths) if paths else None
    if state is not None and root is not None:
        out["git"] = {
            "commit": state.commit,
            "dirty": state.dirty,
            "policy_path": str(root.relative_to(state.root)),
        }
    return out


def assessment_sha256(assessment: Assessment) -> str:
    return sha256_text(canonical_json(assessment.data))


def applied_defaults(policy: ir.CheckedPolicy, assessment: Assessment) -> list[dict[str, Any]]:
    """The questions the assessment left out and a declared default answered: `fact` (as in
    `missing`), `path` (where the answer would be in the assessment) and the `value` applied.
    The validated data holds null there, exactly as for a question answered `unknown`; only this
    list tells them apart, so replay can leave the question out again and get the same default."""
    out: list[dict[str, Any]] = []
    data = assessment.data

    def scan(item: ir.Input, raw: Any, values: dict[str, Any], prefix: str, path: list[Any]) -> None:
        raw = raw if isinstance(raw, dict) else {}
        for fname, f in item.fields.items():
            value = values.get(fname)
            if f.default is not None and raw.get(fname) is None and value is not None and not isinstance(value, Unknown):
                out.append({"fact": f"{prefix}.{fname}", "path": [*path, fname], "value": to_json_value(value)})

    for item in policy.inputs.values():
        raw = data.get(item.name)
        if item.kind == "record":
            scan(item, raw, assessment.records.get(item.name, {}), item.name, [item.name])
        elif item.kind == "many":
            rows = raw if isinstance(raw, list) else []
            for entity in assessment.entities.get(item.name, []):
                row = rows[entity.index] if entity.index < len(rows) else None
                scan(item, row, entity.values, entity.path, [item.name, str(entity.index)])
        else:
            group = raw if isinstance(raw, dict) else {}
            for entity in assessment.entities.get(item.name, []):
                scan(item, group.get(entity.id), entity.values, entity.path, [item.name, entity.id])
    return out


def overridden_params(result: Result) -> dict[str, Any]:
    return {p.name: to_json_value(p.value) for p in result.params if p.overridden}


def _id(data: dict[str, Any]) -> str:
    return sha256_text(canonical_json(data))[:ID_LENGTH]


def evaluation_record(policy: ir.CheckedPolicy, assessment: Assessment, result: Result, prov: dict[str, Any]) -> dict[str, Any]:
    key = {
        "policy_sha256": prov["policy_sha256"],
        "assessment_sha256": assessment_sha256(assessment),
        "as_of": result.as_of.isoformat(),
        "params": overridden_params(result),
    }
    return {
        "kind": "evaluation",
        "id": "e" + _id(key),
        **key,
        "provenance": prov,
        "assessment": to_json_value(assessment.data),
        "defaults": applied_defaults(policy, assessment),
    }


def decision_records(
    policy: ir.CheckedPolicy,
    assessment: Assessment,
    result: Result,
    tracer: RecordingTracer,
    lang: str = "fr",
    prov: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The evaluation record (with the assessment, for replay) and one record per decision."""
    prov = prov or provenance(policy)
    evaluation = evaluation_record(policy, assessment, result, prov)
    key = {k: evaluation[k] for k in ("policy_sha256", "assessment_sha256", "as_of", "params")}
    records = []
    renames = _stable_names(policy)
    for d in result.decisions:
        x = explain_decision(policy, result, d, tracer)
        record = {
            "kind": "decision",
            "id": "d" + _id({**key, "decision": d.decision, "entity": d.entity}),
            "evaluation": evaluation["id"],
            **decision_json(policy, d, lang),
            "explanation": explanation_json(policy, x, lang),
            "provenance": prov,
            **key,
        }
        records.append(_relocate(record, renames))
    return evaluation, records


def _stable_names(policy: ir.CheckedPolicy) -> dict[str, str]:
    """Display name → path from the root policy's folder: records must not depend on
    the directory the command was run from."""
    root = policy_root(policy)
    out = {}
    for source in policy.source_map.files():
        if root is not None and source.path is not None:
            out[source.name] = str(source.path.resolve().relative_to(root.parent))
    return out


def _relocate(data: Any, renames: dict[str, str]) -> Any:
    if isinstance(data, dict):
        out = {}
        for k, v in data.items():
            if k == "location" and isinstance(v, str) and ":" in v:
                name, _, line = v.rpartition(":")
                out[k] = f"{renames.get(name, name)}:{line}"
            else:
                out[k] = _relocate(v, renames)
        return out
    if isinstance(data, list):
        return [_relocate(v, renames) for v in data]
    return data


def as_of_of(record: dict[str, Any]) -> date:
    return date.fromisoformat(record["as_of"])
