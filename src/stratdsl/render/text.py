"""Results and explanations → plain text for the terminal."""

from __future__ import annotations

from typing import Any

from ..language import ir
from ..runtime.explain import DecisionExplanation
from ..runtime.result import DecisionResult, Result
from ..runtime.values import NotApplicable, Unknown, describe_possible, describe_shown, format_value
from ..runtime.whynot import WhyNot
from . import labels
from .catalogue import N_, gettext_for

# the English message ids of the rule statuses; translated where printed
_STATUS_WORDS = {
    "fired": N_("applied"),
    "false": N_("did not apply"),
    "unknown": N_("may apply (facts missing)"),
    "excepted": N_("set aside by an exception"),
    "exception_unknown": N_("may be set aside by an exception (facts missing)"),
    "not_in_force": N_("not in force on the as-of date"),
    "not_reached": N_("not reached (an earlier rule decided)"),
}
#: for an undetermined decision, the first rule that holds after ones that may apply decides
#: only if none of them does, and the rules after it are passed over in every case
_UNDETERMINED_WORDS = {
    "fired": N_("applies unless an earlier rule does"),
    "not_reached": N_("not reached (an earlier rule applies whatever the missing answers)"),
}
_MARKS = {"fired": "✓", "false": "✗", "unknown": "?", "excepted": "↷", "exception_unknown": "?", "not_in_force": "⏸", "not_reached": "·"}


def _cites(cites) -> str:
    return "; ".join(c.text for c in cites)


def _params_line(result: Result, lang: str) -> str | None:
    _ = gettext_for(lang)
    if not result.params:
        return None
    overridden = [p for p in result.params if p.overridden]
    if not overridden:
        return _("parameters: all {n} at their defaults").format(n=len(result.params))
    parts = [_("{name} = {value} (overridden)").format(name=p.name, value=format_value(p.value)) for p in overridden]
    rest = len(result.params) - len(overridden)
    return _("parameters: ") + ", ".join(parts) + (_("; the other {n} at their defaults").format(n=rest) if rest else "")


def labelled(label: str | None, code: str | None) -> str:
    """Label first, code second: `Priorité immédiate (quick_win)`; the code alone when there is no other label."""
    if not code:
        return label or ""
    return f"{label} ({code})" if label and label != code else code


def assumed_note(result: Result, paths: tuple[str, ...], lang: str = "en") -> str:
    """`  (assumed: usecases[x].law_enforcement = false — answer to confirm)`, or nothing."""
    if not paths:
        return ""
    _ = gettext_for(lang)
    shown = ", ".join(f"{p} = {_value(result.assumed[p], lang) if p in result.assumed else '?'}" for p in paths)
    return "  " + _("(assumed: {answers} — answer to confirm)").format(answers=shown)


def _decision_line(policy: ir.CheckedPolicy, d: DecisionResult, lang: str, result: Result | None = None) -> str:
    _ = gettext_for(lang)
    name = d.decision
    if d.status == "decided":
        label = labels.outcome_label(policy, name, d.outcome, lang)
        where = labels.rule_location(policy, name, d.rule)
        line = _("{name}: {outcome}").format(name=name, outcome=labelled(label, d.outcome))
        line += f"  [{where}]"
        if d.cites:
            line += "  " + _("cites {sources}").format(sources=_cites(d.cites))
        if result is not None:
            line += assumed_note(result, d.assumed, lang)
        return line
    if d.status == "undetermined":
        possible = ", ".join(labelled(labels.outcome_label(policy, name, o, lang), o) for o in d.possible)
        return _("{name}: undetermined — possible: {possible}; missing: {missing}").format(
            name=name, possible=possible, missing=", ".join(d.missing) or _("none")
        )
    return _("{name}: no outcome — no rule applies").format(name=name)


def render_result(policy: ir.CheckedPolicy, result: Result, lang: str = "fr", assessment: str | None = None) -> str:
    _ = gettext_for(lang)
    out = [
        _("{policy} — version {version}").format(policy=result.policy, version=result.version),
        _("as of {date}").format(date=result.as_of.isoformat()) + (_(" · assessment {path}").format(path=assessment) if assessment else ""),
    ]
    params = _params_line(result, lang)
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
            out.append(f"{v.definition} = {_value(v.value, lang)}" + (_("  (missing: {facts})").format(facts=", ".join(v.missing)) if v.missing else ""))
        for o in global_obligations:
            status = _("applies") if o.status == "applies" else _("may apply")
            out.append(_("obligation {name}: {status}").format(name=labelled(labels.obligation_label(policy, o.obligation, lang), o.obligation), status=status))
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
                missing = _("  (missing: {facts})").format(facts=", ".join(v.missing)) if v.missing else ""
                out.append(f"  {v.definition} = {_value(v.value, lang)}{missing}")
        obligations = [o for o in result.obligations if o.entity_path == path and o.status in ("applies", "possible")]
        for o in obligations:
            cites = _cites(policy.obligations[o.obligation].cites)
            state = _("applies") if o.status == "applies" else _("may apply (missing: {facts})").format(facts=", ".join(o.missing))
            name = labelled(labels.obligation_label(policy, o.obligation, lang), o.obligation)
            out.append(
                "  "
                + _("obligation {name}: {status}").format(name=name, status=state)
                + ("  " + _("cites {sources}").format(sources=cites) if cites else "")
                + assumed_note(result, o.assumed, lang)
            )
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------ explanations
# Explanations are rendered from their JSON form, so that an explanation read
# back from the audit log months later prints exactly as it did at the time.


def _value(value: Any, lang: str = "en") -> str:
    """A value as `eval` prints it: an unknown that may only be a few values says which."""
    _ = gettext_for(lang)
    shown = describe_possible(value, _("or"), _("{count} values from {low} to {high}")) if isinstance(value, Unknown) else None
    if shown is not None:
        return _("unknown ({values})").format(values=shown)
    if isinstance(value, Unknown):
        return _("unknown")
    if isinstance(value, NotApplicable):
        return not_applicable_text(value.fr, value.en, lang)
    return format_value(value)


def not_applicable_text(fr: str | None, en: str | None, lang: str = "en") -> str:
    """`— (not applicable: no return)`: never 0, never blank (one wording for eval, the
    explanations and the reports)."""
    _ = gettext_for(lang)
    reason = (en or fr) if lang == "en" else (fr or en)
    if reason:
        return _("— (not applicable: {reason})").format(reason=reason)
    return _("— (not applicable)")


def _jv(node: dict, operand: bool = False, lang: str = "en") -> str:
    """A value in an explanation, from its JSON form; `global_score (unknown: 0.8 or 1)`
    as an operand, `unknown (0.8 or 1)` elsewhere."""
    _ = gettext_for(lang)
    value = node.get("value")
    if not node.get("computed", True):
        return _("not evaluated")
    na = node.get("not_applicable")
    if value is None and na is not None:
        return not_applicable_text(na.get("fr"), na.get("en"), lang)
    if value is None and node.get("possible"):
        shown = describe_shown(node["possible"], _("or"), _("{count} values from {low} to {high}"))
        return (_("unknown: {values}") if operand else _("unknown ({values})")).format(values=shown)
    if value is None:
        return _("unknown")
    if isinstance(value, bool):
        return _("true") if value else _("false")
    if isinstance(value, list):
        return "{" + ", ".join(str(v) for v in value) + "}"
    return str(value)


def _joperand(node: dict, text: str, lang: str) -> str:
    if node["kind"] == "const":
        # a literal reads as written; a constant made from a band line reads as its value
        return text if " " not in text else _jv(node, lang=lang)
    if not node.get("computed", True):
        return text
    return f"{text} ({_jv(node, operand=True, lang=lang)})"


def expr_lines(node: dict, indent: str, lang: str = "en") -> list[str]:
    """`governance (1.5) < 2 → true`, one line per sub-condition, nested. The
    operators (`and`, `or`, `not`) are the policy's own words and stay as written."""
    kind = node["kind"]
    kids = node.get("children", [])
    if kind in ("compare", "in") and len(kids) == 2:
        left, right = kids
        return [f"{indent}{_joperand(left, left['text'], lang)} {node['op']} {_joperand(right, right['text'], lang)} → {_jv(node, lang=lang)}"]
    if kind in ("and", "or"):
        lines = [f"{indent}{kind} → {_jv(node, lang=lang)}"]
        for child in kids:
            lines.extend(expr_lines(child, indent + "  ", lang))
        return lines
    if kind == "not":
        inner = kids[0] if kids else None
        if inner is not None and inner["kind"] in ("and", "or", "compare", "in", "not"):
            return [f"{indent}not → {_jv(node, lang=lang)}", *expr_lines(inner, indent + "  ", lang)]
        return [f"{indent}{node['text']} → {_jv(node, lang=lang)}"]
    if kind == "call" and node.get("op") == "known" and kids and node.get("value") is True:
        arg = kids[0]
        shown = f'"{arg["value"]}"' if isinstance(arg.get("value"), str) else _jv(arg, lang=lang)
        return [f"{indent}{node['text']} → {_jv(node, lang=lang)}  ({arg['text']} = {shown})"]
    return [f"{indent}{node['text']} → {_jv(node, lang=lang)}"]


def _cite_list(cites: list[dict], _=None) -> str:
    """The citations' texts; a rule's `cites DECISION` (no reference) in the reader's language."""

    def text(c: dict) -> str:
        if _ is not None and c.get("source") and c.get("reference") is None and c["text"] == f"(citations of {c['source']})":
            return _("(citations of {decision})").format(decision=c["source"])
        return c["text"]

    return "; ".join(text(c) for c in cites)


def render_explanation(policy: ir.CheckedPolicy, x: DecisionExplanation, lang: str = "fr", why: WhyNot | None = None) -> str:
    from .json_out import explanation_json

    return render_explanation_data(explanation_json(policy, x, lang, why), lang)


def render_explanation_data(data: dict, lang: str = "en") -> str:
    """An explanation from its JSON form, with the frame words in `lang` (the labels are the data's own)."""
    _ = gettext_for(lang)
    d = data["decision"]
    title = data.get("decision_label") or d["decision"]
    head = d["decision"] + (_(" for {path}").format(path=d["entity_path"]) if d.get("entity_path") else "") + (f" — {title}" if title != d["decision"] else "")
    out = [head, _("as of {date}").format(date=data["as_of"])]
    overridden = [p for p in data.get("params", []) if p["overridden"]]
    if overridden:
        out.append(_("overridden parameters: ") + ", ".join(f"{p['name']} = {p['value']}" for p in overridden))
    if d["status"] == "decided":
        out.append(_("outcome: {outcome}").format(outcome=labelled(d.get("label"), d["outcome"])))
        out.append(_("decided by rule {rule} at {location}").format(rule=d["rule"], location=d["location"]))
        if d["cites"]:
            out.append(_("cites: {sources}").format(sources=_cite_list(d["cites"], _)))
        if d.get("assumed"):
            out.append(_("rests on assumed answers (declared defaults, to confirm): {facts}").format(facts=", ".join(d["assumed"])))
    elif d["status"] == "undetermined":
        out.append(_("outcome: undetermined"))
        out.append(_("possible outcomes: {outcomes}").format(outcomes=", ".join(d["possible"])))
        out.append(_("missing facts: {facts}").format(facts=", ".join(d["missing"]) or _("none")))
    else:
        out.append(_("outcome: none — no rule applies"))
    if d.get("obligations"):
        out.append(_("obligations: {names}").format(names=", ".join(d["obligations"])))
    out.append("")
    out.append(_("rules, in order:"))
    blame = data.get("blame", {})
    for r in data["rules"]:
        mark = _MARKS.get(r["status"], "·")
        words = _UNDETERMINED_WORDS if d["status"] == "undetermined" and r["status"] in _UNDETERMINED_WORDS else _STATUS_WORDS
        status = _(words[r["status"]]) if r["status"] in words else r["status"]
        out.append(f"{mark} {r['rule']} → {r['outcome']}: {status}  ({r['location']})")
        if r["cites"]:
            out.append("    " + _("cites: {sources}").format(sources=_cite_list(r["cites"], _)))
        if r.get("valid_from") is not None or r.get("valid_until") is not None:
            dates = []
            if r.get("valid_from") is not None:
                dates.append(_("from {date}").format(date=r["valid_from"]))
            if r.get("valid_until") is not None:
                dates.append(_("until {date}").format(date=r["valid_until"]))
            out.append("    " + _("in force {dates}").format(dates=" ".join(dates)))
        cond = r.get("condition")
        if r["status"] in ("fired", "unknown", "excepted", "exception_unknown") and cond is not None:
            out.extend(expr_lines(cond, "    ", lang))
        elif r["status"] == "false" and r.get("first_failure") is not None:
            out.append("    " + _("first failed condition:"))
            out.extend(expr_lines(r["first_failure"], "      ", lang))
        if r.get("missing"):
            out.append("    " + _("missing: {facts}").format(facts=", ".join(r["missing"])))
        for e in r.get("exceptions", []):
            if e["status"] == "not_tested":
                continue
            state = {"applied": _("applied"), "not_applied": _("did not apply"), "unknown": _("unknown")}[e["status"]]
            out.append(
                "    " + _("unless ({id}): {state}").format(id=e["id"], state=state)
                + ("  " + _("cites {sources}").format(sources=_cite_list(e["cites"], _)) if e["cites"] else "")
            )
            if e.get("condition") is not None:
                out.extend(expr_lines(e["condition"], "      ", lang))
        if r["rule"] in blame:
            b = blame[r["rule"]]
            out.append("    " + _("last changed: {commit} by {author} on {date}: {summary}").format(
                commit=b["commit"][:12], author=b["author"], date=b["date"], summary=b["summary"]))
    if data.get("definitions"):
        out.append("")
        out.append(_("definitions read:"))
        for definition in data["definitions"]:
            out.append(f"  {definition['name']} = {_jv(definition, lang=lang)}  ({definition['location']})")
            out.append(f"    = {definition['expression']['text']}")
    if data.get("why_not") is not None:
        out.append("")
        out.extend(_why_not_lines(data["why_not"], lang))
    return "\n".join(out) + "\n"


def _why_not_lines(why: dict, lang: str) -> list[str]:
    _ = gettext_for(lang)
    if why["chosen"]:
        return [_("why not {outcome}: it is the outcome.").format(outcome=why["outcome"])]
    out = [_("why not {outcome}:").format(outcome=why["outcome"])]
    if not why["blockers"]:
        out.append("  " + _("no rule of this decision gives that outcome"))
    for b in why["blockers"]:
        out.append("  " + _("rule {rule} ({location}): {detail}").format(rule=b["rule"], location=b["location"], detail=b["detail"]))
        for f in b["failed"]:
            out.extend(expr_lines(f, "    ", lang))
        if b["cites"]:
            out.append("    " + _("cites: {sources}").format(sources=_cite_list(b["cites"], _)))
        exact = [c for c in b["changes"] if c["exact"]]
        other = [c for c in b["changes"] if not c["exact"]]
        if exact:
            out.append("    " + _("what each failed part needs (one input at a time, others unchanged):"))
            for c in exact:
                out.append(f"      {c['fact']} {_jv({'value': c['current']}, lang=lang)} → {c['needed']}")
        for c in other:
            line = _("{fact} ({value}) would need to be {needed}").format(fact=c["fact"], value=_jv({"value": c["current"]}, lang=lang), needed=c["needed"])
            out.append("    " + (_("{text}: {note}").format(text=line, note=c["note"]) if c["note"] else line))
    out.extend(_counterfactual_lines(why, lang))
    return out


def _counterfactual_lines(why: dict, lang: str) -> list[str]:
    """The solver's closest changes (each verified by re-evaluation) and the settling answers,
    as sentences: "with … at 22.36 instead of 6, this becomes Selected priority"."""
    _ = gettext_for(lang)
    out: list[str] = []
    if why.get("counterfactuals"):
        if why.get("search_method") == "values_tried":
            out.append("  " + _("changes that give {outcome} (values tried, each checked by re-evaluating):").format(outcome=why["outcome"]))
        else:
            out.append("  " + _("closest changes that give {outcome} (solver, each checked by re-evaluating):").format(outcome=why["outcome"]))
        if why.get("search_note"):  # (what is not proven of them: the fewest facts, the closest values)
            out.append("  (" + why["search_note"] + ")")
        if why.get("search_scope"):
            out.append("  " + _("(searched among the facts of {scope} first: the other entities' facts were held)").format(scope=why["search_scope"]))
        for n, c in enumerate(why["counterfactuals"], start=1):
            parts = [
                _("{fact} at {new} instead of {current}").format(fact=_fact_name(f), new=f["new_text"], current=f["current_text"])
                for f in c["changes"]
            ]
            changes = ("\n       " + _("and") + " ").join(parts)
            outcome = c.get("outcome_label") or c["outcome"]
            out.append(f"    {n}. " + _("with {changes}, this becomes {outcome}").format(changes=changes, outcome=outcome))
    elif "counterfactuals" in why and why.get("search_note"):
        out.append("  " + _("closest change: none found ({note})").format(note=why["search_note"]))
    if why.get("settlers"):
        out.append("  " + _("single answers that settle it:"))
        for s in why["settlers"]:
            out.append(f"    {_fact_name(s)} = {s['value_text']} → {s['outcome_label']}")
    return out


def _fact_name(item: dict) -> str:
    return item["fact"] if item["label"] == item["fact"] else f"{item['label']} ({item['fact']})"
