"""Results and explanations → plain text for the terminal."""

from __future__ import annotations

from typing import Any

from ..language import ir
from ..runtime.explain import DecisionExplanation
from ..runtime.result import DecisionResult, Result
from ..runtime.values import Unknown, describe_possible, describe_shown, format_value
from ..runtime.whynot import WhyNot
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
    rest = len(result.params) - len(overridden)
    return "parameters: " + ", ".join(parts) + (f"; the other {rest} at their defaults" if rest else "")


def assumed_note(result: Result, paths: tuple[str, ...]) -> str:
    """`  (assumed: usecases[x].law_enforcement = false — answer to confirm)`, or nothing."""
    if not paths:
        return ""
    shown = ", ".join(f"{p} = {_value(result.assumed[p]) if p in result.assumed else '?'}" for p in paths)
    return f"  (assumed: {shown} — answer to confirm)"


def _decision_line(policy: ir.CheckedPolicy, d: DecisionResult, lang: str, result: Result | None = None) -> str:
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
        if result is not None:
            line += assumed_note(result, d.assumed)
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
    global_obligations = [o for o in result.obligations if o.entity is None and o.status in ("applies", "possible")]
    if globals_ or values or global_obligations:
        out.append("")
        for d in globals_:
            out.append(_decision_line(policy, d, lang, result))
        for v in values:
            out.append(f"{v.definition} = {_value(v.value)}" + (f"  (missing: {', '.join(v.missing)})" if v.missing else ""))
        for o in global_obligations:
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
                out.append("  " + _decision_line(policy, d, lang, result))
        for v in result.values:
            if v.entity_path == path:
                missing = f"  (missing: {', '.join(v.missing)})" if v.missing else ""
                out.append(f"  {v.definition} = {_value(v.value)}{missing}")
        obligations = [o for o in result.obligations if o.entity_path == path and o.status in ("applies", "possible")]
        for o in obligations:
            cites = _cites(policy.obligations[o.obligation].cites)
            state = "applies" if o.status == "applies" else f"may apply (missing: {', '.join(o.missing)})"
            out.append(
                f"  obligation {o.obligation} — {labels.obligation_label(policy, o.obligation, lang)}: {state}"
                + (f"  cites {cites}" if cites else "")
                + assumed_note(result, o.assumed)
            )
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------ explanations
# Explanations are rendered from their JSON form, so that an explanation read
# back from the audit log months later prints exactly as it did at the time.


def _value(value: Any) -> str:
    """A value as `eval` prints it: an unknown that may only be a few values says which."""
    shown = describe_possible(value) if isinstance(value, Unknown) else None
    return f"unknown ({shown})" if shown is not None else format_value(value)


def _jv(node: dict, operand: bool = False) -> str:
    """A value in an explanation, from its JSON form; `global_score (unknown: 0.8 or 1)`
    as an operand, `unknown (0.8 or 1)` elsewhere."""
    value = node.get("value")
    if not node.get("computed", True):
        return "not evaluated"
    if value is None and node.get("possible"):
        shown = describe_shown(node["possible"])
        return f"unknown: {shown}" if operand else f"unknown ({shown})"
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "{" + ", ".join(str(v) for v in value) + "}"
    return str(value)


def _joperand(node: dict, text: str) -> str:
    if node["kind"] == "const":
        # a literal reads as written; a constant made from a band line reads as its value
        return text if " " not in text else _jv(node)
    if not node.get("computed", True):
        return text
    return f"{text} ({_jv(node, operand=True)})"


def expr_lines(node: dict, indent: str) -> list[str]:
    """`governance (1.5) < 2 → true`, one line per sub-condition, nested."""
    kind = node["kind"]
    kids = node.get("children", [])
    if kind in ("compare", "in") and len(kids) == 2:
        left, right = kids
        return [f"{indent}{_joperand(left, left['text'])} {node['op']} {_joperand(right, right['text'])} → {_jv(node)}"]
    if kind in ("and", "or"):
        lines = [f"{indent}{kind} → {_jv(node)}"]
        for child in kids:
            lines.extend(expr_lines(child, indent + "  "))
        return lines
    if kind == "not":
        inner = kids[0] if kids else None
        if inner is not None and inner["kind"] in ("and", "or", "compare", "in", "not"):
            return [f"{indent}not → {_jv(node)}", *expr_lines(inner, indent + "  ")]
        return [f"{indent}{node['text']} → {_jv(node)}"]
    if kind == "call" and node.get("op") == "known" and kids and node.get("value") is True:
        arg = kids[0]
        shown = f'"{arg["value"]}"' if isinstance(arg.get("value"), str) else _jv(arg)
        return [f"{indent}{node['text']} → true  ({arg['text']} = {shown})"]
    return [f"{indent}{node['text']} → {_jv(node)}"]


def _cite_list(cites: list[dict]) -> str:
    return "; ".join(c["text"] for c in cites)


def render_explanation(policy: ir.CheckedPolicy, x: DecisionExplanation, lang: str = "fr", why: WhyNot | None = None) -> str:
    from .json_out import explanation_json

    return render_explanation_data(explanation_json(policy, x, lang, why))


def render_explanation_data(data: dict) -> str:
    d = data["decision"]
    title = data.get("decision_label") or d["decision"]
    head = d["decision"] + (f" for {d['entity_path']}" if d.get("entity_path") else "") + (f" — {title}" if title != d["decision"] else "")
    out = [head, f"as of {data['as_of']}"]
    overridden = [p for p in data.get("params", []) if p["overridden"]]
    if overridden:
        out.append("overridden parameters: " + ", ".join(f"{p['name']} = {p['value']}" for p in overridden))
    if d["status"] == "decided":
        label = d.get("label") or d["outcome"]
        out.append(f"outcome: {d['outcome']}" + (f" — {label}" if label != d["outcome"] else ""))
        out.append(f"decided by rule {d['rule']} at {d['location']}")
        if d["cites"]:
            out.append(f"cites: {_cite_list(d['cites'])}")
        if d.get("assumed"):
            out.append(f"rests on assumed answers (declared defaults, to confirm): {', '.join(d['assumed'])}")
    elif d["status"] == "undetermined":
        out.append("outcome: undetermined")
        out.append(f"possible outcomes: {', '.join(d['possible'])}")
        out.append(f"missing facts: {', '.join(d['missing']) or 'none'}")
    else:
        out.append("outcome: none — no rule applies")
    if d.get("obligations"):
        out.append(f"obligations: {', '.join(d['obligations'])}")
    out.append("")
    out.append("rules, in order:")
    blame = data.get("blame", {})
    for r in data["rules"]:
        mark = _MARKS.get(r["status"], "·")
        out.append(f"{mark} {r['rule']} → {r['outcome']}: {_STATUS_WORDS.get(r['status'], r['status'])}  ({r['location']})")
        if r["cites"]:
            out.append(f"    cites: {_cite_list(r['cites'])}")
        if r.get("valid_from") is not None or r.get("valid_until") is not None:
            dates = []
            if r.get("valid_from") is not None:
                dates.append(f"from {r['valid_from']}")
            if r.get("valid_until") is not None:
                dates.append(f"until {r['valid_until']}")
            out.append(f"    in force {' '.join(dates)}")
        cond = r.get("condition")
        if r["status"] in ("fired", "unknown", "excepted", "exception_unknown") and cond is not None:
            out.extend(expr_lines(cond, "    "))
        elif r["status"] == "false" and r.get("first_failure") is not None:
            out.append("    first failed condition:")
            out.extend(expr_lines(r["first_failure"], "      "))
        if r.get("missing"):
            out.append(f"    missing: {', '.join(r['missing'])}")
        for e in r.get("exceptions", []):
            if e["status"] == "not_tested":
                continue
            state = {"applied": "applied", "not_applied": "did not apply", "unknown": "unknown"}[e["status"]]
            out.append(f"    unless ({e['id']}): {state}" + (f"  cites {_cite_list(e['cites'])}" if e["cites"] else ""))
            if e.get("condition") is not None:
                out.extend(expr_lines(e["condition"], "      "))
        if r["rule"] in blame:
            b = blame[r["rule"]]
            out.append(f"    last changed: {b['commit'][:12]} by {b['author']} on {b['date']}: {b['summary']}")
    if data.get("definitions"):
        out.append("")
        out.append("definitions read:")
        for definition in data["definitions"]:
            out.append(f"  {definition['name']} = {_jv(definition)}  ({definition['location']})")
            out.append(f"    = {definition['expression']['text']}")
    if data.get("why_not") is not None:
        out.append("")
        out.extend(_why_not_lines(data["why_not"]))
    return "\n".join(out) + "\n"


def _why_not_lines(why: dict) -> list[str]:
    if why["chosen"]:
        return [f"why not {why['outcome']}: it is the outcome."]
    out = [f"why not {why['outcome']}:"]
    if not why["blockers"]:
        out.append("  no rule of this decision gives that outcome")
    for b in why["blockers"]:
        out.append(f"  rule {b['rule']} ({b['location']}): {b['detail']}")
        for f in b["failed"]:
            out.extend(expr_lines(f, "    "))
        if b["cites"]:
            out.append(f"    cites: {_cite_list(b['cites'])}")
        exact = [c for c in b["changes"] if c["exact"]]
        other = [c for c in b["changes"] if not c["exact"]]
        if exact:
            out.append("    what each failed part needs (one input at a time, others unchanged):")
            for c in exact:
                out.append(f"      {c['fact']} {_jv({'value': c['current']})} → {c['needed']}")
        for c in other:
            out.append(f"    {c['fact']} ({_jv({'value': c['current']})}) would need to be {c['needed']}" + (f": {c['note']}" if c["note"] else ""))
    return out
