"""Methodology diff: what changed between two versions of a policy, and what
that changes for each assessment.

Declarations are compared on the AST, where equality ignores spans, so
re-formatting or moving a comment is no change and moving a rule to another
file is no change either. Rules are matched by their id (their name, or their
outcome numbered in order), exactly as the checker names them.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ..engine import run
from ..language import ast, ir
from ..language.messages import Msg, translate
from ..render.catalogue import N_, gettext_for
from ..render.json_out import explanation_json
from ..render.text import labelled, render_explanation_data
from ..runtime.assessment import load_assessment
from ..runtime.explain import explain_decision
from ..runtime.values import format_value

_KIND = {
    ast.InputDecl: "input",
    ast.EnumDecl: "enum",
    ast.SourceDecl: "source",
    ast.ParamDecl: "parameter",
    ast.DefineDecl: "definition",
    ast.DecisionDecl: "decision",
    ast.BandsDecl: "bands",
    ast.ObligationDecl: "obligation",
    ast.AssertDecl: "assertion",
}


@dataclass(frozen=True)
class Change:
    kind: str  # "decision", "rule", "band", "parameter", "obligation", …
    name: str
    change: str  # "added", "removed", "changed"
    detail: str = ""


#: the words of `Change.change`, as shown (message ids of the catalogue)
CHANGE_WORDS = {"added": N_("added"), "removed": N_("removed"), "changed": N_("changed")}
#: what changed, said in the reader's language (`Change.kind` stays the code, for JSON)
KIND_WORDS = {
    "input": N_("input"), "enum": N_("enum"), "source": N_("source"), "parameter": N_("parameter"),
    "definition": N_("definition"), "decision": N_("decision"), "bands": N_("bands"), "band": N_("band"),
    "obligation": N_("obligation"), "assertion": N_("assertion"), "rule": N_("rule"), "policy": N_("policy"),
}


def _parts(parts: list[Msg]) -> Msg:
    """Several details of one change as one message: each translated, joined by "; " (the
    joining template is not a sentence, so it has no catalogue entry and stays as it is)."""
    return Msg("; ".join(f"{{p{i}}}" for i in range(len(parts))), **{f"p{i}": part for i, part in enumerate(parts)})


@dataclass
class DecisionChange:
    assessment: str
    decision: str
    entity: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    fields: list[str] = field(default_factory=list)


@dataclass
class PolicyDiff:
    changes: list[Change]
    decisions: list[DecisionChange]
    assessments: list[str]


def _decls(policy: ir.CheckedPolicy) -> dict[tuple[str, str], ast.Decl]:
    out = {}
    for module in policy.modules:
        for decl in module.decls:
            out[(_KIND.get(type(decl), type(decl).__name__), decl.name)] = decl
    return out


def _rule_ids(decl: ast.DecisionDecl) -> dict[str, ast.Rule]:
    out: dict[str, ast.Rule] = {}
    for rule in list(decl.rules) + ([decl.otherwise] if decl.otherwise else []):
        base = rule.name or rule.outcome  # the checker's rule ids
        candidate, n = base, 2
        while candidate in out:
            candidate, n = f"{base}_{n}", n + 1
        out[candidate] = rule
    return out


def _show(expr: Any) -> str:
    if isinstance(expr, ast.DateLit):
        return expr.value.isoformat()
    if isinstance(expr, ast.Path):
        return expr.dotted
    if isinstance(expr, (ast.NumberLit, ast.StringLit, ast.BoolLit)):
        return format_value(expr.value)
    return "…"


def _rule_detail(old: ast.Rule, new: ast.Rule) -> str:
    parts = []
    if old.outcome != new.outcome:
        parts.append(Msg(N_("outcome {old} → {new}"), old=old.outcome, new=new.outcome))
    if old.when != new.when:
        parts.append(Msg(N_("condition")))
    if old.cites != new.cites:
        before = ", ".join(f"{c.source} {c.reference or ''}".strip() for c in old.cites) or Msg(N_("none"))
        after = ", ".join(f"{c.source} {c.reference or ''}".strip() for c in new.cites) or Msg(N_("none"))
        parts.append(Msg(N_("citations {old} → {new}"), old=before, new=after))
    if old.valid_from != new.valid_from:
        parts.append(_from_change(old.valid_from, new.valid_from))
    if old.valid_until != new.valid_until:
        never = Msg(N_("never"))
        parts.append(Msg(N_("until {old} → {new}"), old=_show(old.valid_until) if old.valid_until else never,
                         new=_show(new.valid_until) if new.valid_until else never))
    if old.exceptions != new.exceptions:
        parts.append(Msg(N_("exceptions")))
    if old.label != new.label:
        parts.append(Msg(N_("label")))
    return _parts(parts)


def _from_change(old: Any, new: Any) -> Msg:
    always = Msg(N_("always"))
    return Msg(N_("from {old} → {new}"), old=_show(old) if old else always, new=_show(new) if new else always)


def _decision_changes(name: str, old: ast.DecisionDecl, new: ast.DecisionDecl) -> list[Change]:
    out = []
    before, after = _rule_ids(old), _rule_ids(new)
    for rid in after:
        if rid not in before:
            out.append(Change("rule", f"{name}.{rid}", "added"))
        elif before[rid] != after[rid]:
            out.append(Change("rule", f"{name}.{rid}", "changed", _rule_detail(before[rid], after[rid])))
    for rid in before:
        if rid not in after:
            out.append(Change("rule", f"{name}.{rid}", "removed"))
    if [r for r in before] != [r for r in after if r in before] and not out:
        out.append(Change("decision", name, "changed", Msg(N_("rules reordered"))))
    if old.outcomes != new.outcomes:
        out.append(Change("decision", name, "changed", Msg(N_("outcomes or their labels"))))
    if old.meta != new.meta or old.for_each != new.for_each:
        out.append(Change("decision", name, "changed", Msg(N_("label or scope"))))
    return out


def _bands_changes(name: str, old: ast.BandsDecl, new: ast.BandsDecl) -> list[Change]:
    out = []
    before = {b.name: b for b in old.bands}
    after = {b.name: b for b in new.bands}
    for level, band in after.items():
        if level not in before:
            out.append(Change("band", f"{name}.{level}", "added"))
        elif before[level] != band:
            b = before[level]
            out.append(
                Change(
                    "band",
                    f"{name}.{level}",
                    "changed",
                    f"[{format_value(b.low)}, {format_value(b.high) if b.high is not None else '∞'}] → [{format_value(band.low)}, {format_value(band.high) if band.high is not None else '∞'}]",
                )
            )
    for level in before:
        if level not in after:
            out.append(Change("band", f"{name}.{level}", "removed"))
    if old.on != new.on:
        out.append(Change("bands", name, "changed", Msg(N_("the value the bands read"))))
    return out


def compare_policies(old: ir.CheckedPolicy, new: ir.CheckedPolicy) -> list[Change]:
    before, after = _decls(old), _decls(new)
    changes: list[Change] = []
    for key, decl in after.items():
        kind, name = key
        if key not in before:
            changes.append(Change(kind, name, "added"))
            continue
        prev = before[key]
        if prev == decl:
            continue
        if isinstance(decl, ast.DecisionDecl):
            changes.extend(_decision_changes(name, prev, decl))
        elif isinstance(decl, ast.BandsDecl):
            changes.extend(_bands_changes(name, prev, decl))
        elif isinstance(decl, ast.ParamDecl) and prev.default != decl.default and prev.type == decl.type:
            changes.append(Change(kind, name, "changed", Msg(N_("default {old} → {new}"), old=_show(prev.default), new=_show(decl.default))))
        elif isinstance(decl, ast.ObligationDecl):
            detail = []
            if prev.when != decl.when:
                detail.append(Msg(N_("condition")))
            if prev.cites != decl.cites:
                detail.append(Msg(N_("citations")))
            if prev.valid_from != decl.valid_from:
                detail.append(_from_change(prev.valid_from, decl.valid_from))
            if prev.meta != decl.meta:
                detail.append(Msg(N_("label")))
            changes.append(Change(kind, name, "changed", _parts(detail)))
        else:
            changes.append(Change(kind, name, "changed"))
    for key in before:
        if key not in after:
            changes.append(Change(key[0], key[1], "removed"))
    if old.version != new.version:
        changes.insert(0, Change("policy", new.name, "changed", Msg(N_("version {old} → {new}"), old=old.version, new=new.version)))
    return changes


def expand_assessments(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in (".yaml", ".yml", ".json")))
        else:
            out.append(path)
    return out


def _explanations(policy: ir.CheckedPolicy, path: Path, as_of: date, lang: str) -> dict[tuple[str, str | None], dict[str, Any]]:
    assessment = load_assessment(policy, path)
    result, tracer = run(policy, assessment, as_of, trace=True)
    out = {}
    for d in result.decisions:
        out[(d.decision, d.entity)] = explanation_json(policy, explain_decision(policy, result, d, tracer), lang)
    return out


def _summary(x: dict[str, Any] | None) -> dict[str, Any] | None:
    if x is None:
        return None
    d = x["decision"]
    return {
        "status": d["status"],
        "outcome": d["outcome"],
        "possible": d["possible"],
        "cites": [c["text"] for c in d["cites"]],
        "obligations": d["obligations"],
    }


def compare_outcomes(old: ir.CheckedPolicy, new: ir.CheckedPolicy, paths: list[Path], as_of: date, lang: str = "fr") -> list[DecisionChange]:
    out: list[DecisionChange] = []
    for path in paths:
        before = _explanations(old, path, as_of, lang)
        after = _explanations(new, path, as_of, lang)
        for key in list(dict.fromkeys([*before, *after])):
            b, a = _summary(before.get(key)), _summary(after.get(key))
            if b == a:
                continue
            changed = [f for f in ("status", "outcome", "possible", "cites", "obligations") if (b or {}).get(f) != (a or {}).get(f)]
            out.append(DecisionChange(str(path), key[0], key[1], before.get(key), after.get(key), changed))
    return out


# ------------------------------------------------------------------ rendering


def _outcome_text(x: dict[str, Any] | None, lang: str = "en") -> str:
    _ = gettext_for(lang)
    if x is None:
        return _("(not made)")
    d = x["decision"]
    if d["status"] == "decided":
        shown = labelled(d.get("label"), d["outcome"])  # label first, code second
        return f"{shown} [{'; '.join(c['text'] for c in d['cites'])}]" if d["cites"] else shown
    if d["status"] == "undetermined":
        return _("undetermined ({outcomes})").format(outcomes=", ".join(d["possible"]))
    return _("no outcome")


def _wrap(line: str, width: int) -> list[str]:
    """One line cut to `width` columns, continuation lines indented like it (plus two)."""
    if len(line) <= width:
        return [line]
    pad = " " * (len(line) - len(line.lstrip()) + 2)
    return textwrap.wrap(line, width, subsequent_indent=pad, break_long_words=True, break_on_hyphens=False) or [""]


def render_text(diff: PolicyDiff, lang: str = "en", width: int | None = None) -> str:
    """The diff for a terminal. Explanations before and after stand side by side when both
    fit in `width` columns (None: no limit), else one above the other, lines wrapped."""
    _ = gettext_for(lang)
    out = [_("Methodology changes:")]
    if not diff.changes:
        out.append("  " + _("none (the two versions are equal once layout and comments are ignored)"))
    for c in diff.changes:
        kind = _(KIND_WORDS[c.kind]) if c.kind in KIND_WORDS else c.kind
        colon = " : " if lang == "fr" else ": "
        out.append(f"  {_(CHANGE_WORDS.get(c.change, c.change)):8} {kind} {c.name}" + (f"{colon}{translate(c.detail, _)}" if c.detail else ""))
    out.append("")
    out.append(_("Decisions that change, over {n} assessment(s):").format(n=len(diff.assessments)))
    if not diff.decisions:
        out.append("  " + _("none"))
    for d in diff.decisions:
        who = f"{d.decision}[{d.entity}]" if d.entity is not None else d.decision
        line = f"  {d.assessment}: {who}: {_outcome_text(d.before, lang)} → {_outcome_text(d.after, lang)}  " + _("(changed: {fields})").format(
            fields=", ".join(d.fields)
        )
        out.extend(_wrap(line, width) if width else [line])
    for d in diff.decisions:
        who = f"{d.decision}[{d.entity}]" if d.entity is not None else d.decision
        out.append("")
        out.append(f"=== {d.assessment}: {who}")
        left = render_explanation_data(d.before, lang).splitlines() if d.before else [_("(not made)")]
        right = render_explanation_data(d.after, lang).splitlines() if d.after else [_("(not made)")]
        column = max(len(line) for line in [*left, _("BEFORE")]) + 2
        side_by_side = width is None or column + 2 + max(len(line) for line in [*right, _("AFTER")]) <= width
        if side_by_side:
            out.append(f"{_('BEFORE').ljust(column)}| {_('AFTER')}")
            for i in range(max(len(left), len(right))):
                a = left[i] if i < len(left) else ""
                b = right[i] if i < len(right) else ""
                out.append(f"{a.ljust(column)}| {b}")
            continue
        assert width is not None
        for title, lines in ((_("BEFORE"), left), (_("AFTER"), right)):
            out.append(f"--- {title}")
            for line in lines:
                out.extend(_wrap(line, width))
    return "\n".join(out) + "\n"


def render_markdown(diff: PolicyDiff, old_rev: str, new_rev: str) -> str:
    out = [f"## Methodology diff `{old_rev}` → `{new_rev}`", "", "### What changed in the policy", ""]
    if not diff.changes:
        out.append("No change once layout and comments are ignored.")
    else:
        out.append("| change | kind | name | detail |")
        out.append("| --- | --- | --- | --- |")
        for c in diff.changes:
            out.append(f"| {c.change} | {c.kind} | `{c.name}` | {c.detail.replace('|', '/')} |")
    out += ["", f"### Decisions that change ({len(diff.decisions)}, over {len(diff.assessments)} assessment(s))", ""]
    if not diff.decisions:
        out.append("No decision changes.")
    else:
        out.append("| assessment | decision | before | after |")
        out.append("| --- | --- | --- | --- |")
        for d in diff.decisions:
            who = f"{d.decision}[{d.entity}]" if d.entity is not None else d.decision
            out.append(f"| `{d.assessment}` | `{who}` | {_outcome_text(d.before)} | {_outcome_text(d.after)} |")
        for d in diff.decisions:
            who = f"{d.decision}[{d.entity}]" if d.entity is not None else d.decision
            out += ["", f"<details><summary>{d.assessment}: {who}</summary>", "", "**Before**", "", "```"]
            out.append(render_explanation_data(d.before).rstrip() if d.before else "(not made)")
            out += ["```", "", "**After**", "", "```"]
            out.append(render_explanation_data(d.after).rstrip() if d.after else "(not made)")
            out += ["```", "", "</details>"]
    return "\n".join(out) + "\n"


def to_json(diff: PolicyDiff) -> dict[str, Any]:
    return {
        "changes": [{"kind": c.kind, "name": c.name, "change": c.change, "detail": c.detail} for c in diff.changes],
        "assessments": diff.assessments,
        "decisions": [
            {
                "assessment": d.assessment,
                "decision": d.decision,
                "entity": d.entity,
                "changed": d.fields,
                "before": d.before,
                "after": d.after,
            }
            for d in diff.decisions
        ],
    }
