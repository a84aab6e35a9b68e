"""Results and explanations → plain text for the terminal."""

from __future__ import annotations

from .. import ir
from ..explain import DecisionExplanation, ExprNode
from ..result import DecisionResult, Result
from ..values import format_value
from ..whynot import WhyNot
from . import labels

_STATUS_WORDS = {
    "fired": "applied",
    "false": "did not apply",
    "unknown": "may apply (facts missing)",
    "excepted": "set aside by an exception",
    "exception_unknown": "may be set aside by an exception (facts missing)",
    "not_in_force": "not in force on the as-of date",
    "not_reached": "not reached (an earlier rule decided)",
}
_MARKS = {"fired": "✓", "false": "✗", "unknown": "?", "excepted": "↷", "exception_unknown": "?", "not_in_force": "⏸", "not_reached": "·"}


def _cites(cites) -> str:
    return "; ".join(c.text for c in cites)


def _params_line(result: Result) -> str | None:
    if not result.params:
        return None
    overridden = [p for p in result.params if p.overridden]
    if not overridden:
        return f"parameters: all {len(result.params)} at their defaults"
    parts = [f"{p.name} = {format_value(p.value)} (overridden)" for p in overridden]
    return "parameters: " + ", ".join(parts) + f"; the other {len(result.params) - len(overridden)} at their defaults"


def _decision_line(policy: ir.CheckedPolicy, d: DecisionResult, lang: str) -> str:
    name = d.decision
    if d.status == "decided":
        label = labels.outcome_label(policy, name, d.outcome, lang)
        where = labels.rule_location(policy, name, d.rule)
        line = f"{name}: {d.outcome}"
        if label and label != d.outcome:
            line += f" — {label}"
        line += f"  [{where}]"
        if d.cites:
            line += f"  cites {_cites(d.cites)}"
        return line
    if d.status == "undetermined":
        return f"{name}: undetermined — possible: {', '.join(d.possible)}; missing: {', '.join(d.missing) or 'none'}"
    return f"{name}: no outcome — no rule applies"


def render_result(policy: ir.CheckedPolicy, result: Result, lang: str = "fr", assessment: str | None = None) -> str:
    out = [f"{result.policy} — version {result.version}", f"as of {result.as_of.isoformat()}" + (f" · assessment {assessment}" if assessment else "")]
    params = _params_line(result)
    if params:
        out.append(params)
    globals_ = [d for d in result.decisions if d.entity is None]
    values = [v for v in result.values if v.entity is None]
    if globals_ or values:
        out.append("")
        for d in globals_:
            out.append(_decision_line(policy, d, lang))
        for v in values:
            out.append(f"{v.definition} = {format_value(v.value)}" + (f"  (missing: {', '.join(v.missing)})" if v.missing else ""))
        for o in result.obligations:
            if o.entity is None and o.status in ("applies", "possible"):
                out.append(f"obligation {o.obligation}: {o.status}")
    paths: list[str] = []
    for item in (result.decisions, result.values, result.obligations):
        for x in item:
            if x.entity_path and x.entity_path not in paths:
                paths.append(x.entity_path)
    for path in paths:
        out.append("")
        out.append(path)
        for d in result.decisions:
            if d.entity_path == path:
                out.append("  " + _decision_line(policy, d, lang))
        for v in result.values:
            if v.entity_path == path:
                missing = f"  (missing: {', '.join(v.missing)})" if v.missing else ""
                out.append(f"  {v.definition} = {format_value(v.value)}{missing}")
        obligations = [o for o in result.obligations if o.entity_path == path and o.status in ("applies", "possible")]
        for o in obligations:
            cites = _cites(policy.obligations[o.obligation].cites)
            state = "applies" if o.status == "applies" else f"may apply (missing: {', '.join(o.missing)})"
            out.append(f"  obligation {o.obligation} — {labels.obligation_label(policy, o.obligation, lang)}: {state}" + (f"  cites {cites}" if cites else ""))
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------ explanations


def _value(node: ExprNode) -> str:
    return format_value(node.value) if node.computed else "not evaluated"


def _operand(node: ExprNode) -> str:
    if node.kind == "const" or not node.computed:
        return node.text
    return f"{node.text} ({format_value(node.value)})"


def expr_lines(node: ExprNode, indent: str) -> list[str]:
    """`governance (1.5) < 2 → true`, one line per sub-condition, nested."""
    if node.kind == "compare" or node.kind == "in":
        left, right = node.children
        return [f"{indent}{_operand(left)} {node.op} {_operand(right)} → {_value(node)}"]
    if node.kind in ("and", "or"):
        lines = [f"{indent}{node.kind} → {_value(node)}"]
        for child in node.children:
            lines.extend(expr_lines(child, indent + "  "))
        return lines
    if node.kind == "not":
        inner = node.children[0]
        if inner.kind in ("and", "or", "compare", "in", "not"):
            return [f"{indent}not → {_value(node)}", *expr_lines(inner, indent + "  ")]
        return [f"{indent}not {_operand(inner)} → {_value(node)}"]
    return [f"{indent}{node.text} → {_value(node)}"]


def render_explanation(policy: ir.CheckedPolicy, x: DecisionExplanation, lang: str = "fr", why: WhyNot | None = None) -> str:
    d = x.result
    title = labels.text(x.label, lang, d.decision)
    head = f"{d.decision}" + (f" for {d.entity_path}" if d.entity_path else "") + (f" — {title}" if title != d.decision else "")
    out = [head, f"as of {x.as_of.isoformat()}"]
    overridden = [p for p in x.params if p.overridden]
    if overridden:
        out.append("overridden parameters: " + ", ".join(f"{p.name} = {format_value(p.value)}" for p in overridden))
    if d.status == "decided":
        label = labels.text(x.outcome_label, lang, d.outcome)
        out.append(f"outcome: {d.outcome}" + (f" — {label}" if label != d.outcome else ""))
        out.append(f"decided by rule {d.rule} at {labels.rule_location(policy, d.decision, d.rule)}")
        if d.cites:
            out.append(f"cites: {_cites(d.cites)}")
    elif d.status == "undetermined":
        out.append("outcome: undetermined")
        out.append(f"possible outcomes: {', '.join(d.possible)}")
        out.append(f"missing facts: {', '.join(d.missing) or 'none'}")
    else:
        out.append("outcome: none — no rule applies")
    if d.obligations:
        out.append(f"obligations: {', '.join(d.obligations)}")
    if x.on is not None:
        out.append(f"value read by the bands: {_operand(x.on)}")
    out.append("")
    out.append("rules, in order:")
    for r in x.rules:
        mark = _MARKS.get(r.status, "·")
        line = f"{mark} {r.id} → {r.outcome}: {_STATUS_WORDS.get(r.status, r.status)}  ({r.location})"
        out.append(line)
        if r.cites:
            out.append(f"    cites: {_cites(r.cites)}")
        if r.valid_from is not None or r.valid_until is not None:
            dates = []
            if r.valid_from is not None:
                dates.append(f"from {format_value(r.valid_from)}")
            if r.valid_until is not None:
                dates.append(f"until {format_value(r.valid_until)}")
            out.append(f"    in force {' '.join(dates)}")
        if r.status in ("fired", "unknown", "excepted", "exception_unknown") and r.condition is not None:
            out.extend(expr_lines(r.condition, "    "))
        elif r.status == "false" and r.first_failure is not None:
            out.append("    first failed condition:")
            out.extend(expr_lines(r.first_failure, "      "))
        if r.missing:
            out.append(f"    missing: {', '.join(r.missing)}")
        for e in r.exceptions:
            if e.status == "not_tested":
                continue
            state = {"applied": "applied", "not_applied": "did not apply", "unknown": "unknown"}[e.status]
            out.append(f"    unless ({e.id}): {state}" + (f"  cites {_cites(e.cites)}" if e.cites else ""))
            if e.condition is not None:
                out.extend(expr_lines(e.condition, "      "))
        blame = x.blame.get(r.id)
        if blame:
            out.append(f"    last changed: {blame}")
    if x.definitions:
        out.append("")
        out.append("definitions read:")
        for definition in x.definitions:
            out.append(f"  {definition.name} = {format_value(definition.value)}  ({definition.location})")
            out.append(f"    = {definition.expression.text}")
    if why is not None:
        out.append("")
        out.extend(render_why_not(why))
    return "\n".join(out) + "\n"


def render_why_not(why: WhyNot) -> list[str]:
    if why.chosen:
        return [f"why not {why.outcome}: it is the outcome."]
    out = [f"why not {why.outcome}:"]
    if not why.blockers:
        out.append("  no rule of this decision gives that outcome")
    for b in why.blockers:
        out.append(f"  rule {b.rule} ({b.location}): {b.detail}")
        for f in b.failed:
            out.extend(expr_lines(f, "    "))
        if b.cites:
            out.append(f"    cites: {_cites(b.cites)}")
        exact = [c for c in b.changes if c.exact]
        other = [c for c in b.changes if not c.exact]
        if exact:
            out.append("    what each failed part needs (one input at a time, others unchanged):")
            for c in exact:
                out.append(f"      {c.fact} {format_value(c.current)} → {c.needed}")
        for c in other:
            out.append(f"    {c.fact} ({format_value(c.current)}) would need to be {c.needed}" + (f": {c.note}" if c.note else ""))
    return out
