"""Golden plans of the example companies: what the reference methodology advises, end to end.

Each example in examples/ is evaluated through the installed `stratdsl eval --format json` command on the
reference date; the strategy half of the result (diagnosis, groundwork, capacity, the levers and their
schedule step by step, the deferred and the set-aside with their reasons) is written as a short plan and
compared with tests/golden/strategy/<example>.txt. `STRATDSL_REGEN=1 pytest tests/test_strategy_golden.py`
rewrites them; read the diff. The plan only lays out values the engine computed: nothing is decided here.
docs/methodology.md explains, for the five companies of issue 14, why a consultant would sign each plan.
"""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal
from typing import Any

import pytest

from helpers import GOLDEN, REPO, compare_golden, stratdsl_command

EXAMPLES = sorted(p.stem for p in (REPO / "examples").glob("*.yaml"))
NEW_COMPANIES = ("studio-conseil-10", "atelier-usinage-50", "eti-logistique-250", "courtier-credit-35", "jardinerie-180")
COMPANY = ("company_size", "maturity_level", "ambition", "portfolio")
CAPACITY = ("max_concurrent_pilots", "deployment_gap_months", "payback_limit_months", "payroll_estimate")
GROUNDWORK = ("governance", "literacy", "data")
STEPS = (("prerequisite_data", "données"), ("prerequisite_dpia", "AIPD"), ("prerequisite_fria", "FRIA"),
         ("prerequisite_oversight", "contrôle humain"), ("prerequisite_cse", "CSE"),
         ("prerequisite_information", "information des salariés"), ("test", "test"), ("adjustment", "ajustement"),
         ("deployment", "déploiement"), ("standardisation", "standardisation"))


def evaluate(example: str) -> dict[str, Any]:
    proc = subprocess.run(
        [*stratdsl_command(), "eval", "policies/strategy.strat", f"examples/{example}.yaml", "--as-of", "2026-11-26",
         "--format", "json"],
        capture_output=True, text=True, encoding="utf-8", cwd=REPO, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def plan(result: dict[str, Any]) -> str:
    decisions = {(d["decision"], d.get("entity")): d for d in result["decisions"]}
    values = {(v["definition"], v.get("entity")): v["value"] for v in result["values"]}
    not_applicable = {(v["definition"], v.get("entity")): v["not_applicable"]["en"] for v in result["values"] if "not_applicable" in v}
    obligations = {(o["obligation"], o.get("entity")): o["status"] for o in result["obligations"]}

    def out(name: str, entity: str | None = None) -> str:
        d = decisions[(name, entity)]
        return d["outcome"] if d["status"] == "decided" else f"undetermined {sorted(d['possible'])}"

    def val(name: str, entity: str | None = None) -> str:
        if (name, entity) in not_applicable:
            return f"n/a ({not_applicable[(name, entity)]})"
        v = values[(name, entity)]
        return "unknown" if v is None or isinstance(v, dict) else str(v)

    def month(shown: str) -> str:
        return shown if shown.startswith("n/a") else f"M{shown}"

    lines = [" · ".join(f"{n} {out(n)}" for n in COMPANY), " · ".join(f"{n} {val(n)}" for n in CAPACITY)]
    for step in GROUNDWORK:
        status = obligations[(f"groundwork_{step}", None)]
        span = f"M{val(f'groundwork_{step}_start')}–M{val(f'groundwork_{step}_end')}" if status == "applies" else ""
        lines.append(f"groundwork {step}: {status} {span}".rstrip())
    ids = [e for (n, e) in decisions if n == "selection" and e is not None]
    ids.sort(key=lambda i: (out("selection", i) != "selected", str(values.get(("schedule_rank", i))), i))
    for ident in ids:
        lines.append("")
        lines.append(f"[{ident}] {out('quadrant', ident)} · impact {val('impact', ident)} (gain {val('annual_gain', ident)} €, "
                     f"{val('gain_share', ident)} % of payroll, {val('hours_share', ident)} % of time) · effort {val('effort', ident)}")
        verdict = out("roi_verdict", ident)
        payback = f"payback {val('risk_adjusted_payback_months', ident)}" + ("" if verdict == "not_applicable" else " months")
        lines.append(f"  return {verdict} (risk-adjusted {val('risk_adjusted_net_gain', ident)} €/yr, {payback}) · "
                     f"alignment {out('alignment', ident)}")
        lines.append(f"  {out('eligibility', ident)} → {out('selection', ident)} → {out('roadmap', ident)} · next {out('next_step', ident)}")
        if out("selection", ident) == "selected":
            steps = []
            for key, label in STEPS:
                start, end = val(f"{key}_start", ident), val(f"{key}_end", ident)
                if start.startswith("n/a"):  # a step not needed, or the phases of a deferred use case
                    if key == "test":
                        steps.append(f"phases {start}")
                    continue
                steps.append(f"{label} M{start}–M{end}")
            lines.append("  " + " · ".join(steps))
            lines.append(f"  measure {out('success_measure', ident)} target {val('success_target', ident)} · "
                         f"decision point {month(val('adjustment_end', ident))}: {out('test_verdict', ident)}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("example", EXAMPLES)
def test_golden_plan(example):
    compare_golden(GOLDEN / "strategy" / f"{example}.txt", plan(evaluate(example)))


def test_the_five_companies_of_issue_14_are_shipped():
    assert set(NEW_COMPANIES) <= set(EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_plan_fits_in_twelve_months_or_says_why(example):
    result = evaluate(example)
    values = {(v["definition"], v.get("entity")): v["value"] for v in result["values"]}
    for d in result["decisions"]:
        if d["decision"] == "roadmap" and d["status"] == "decided" and d["outcome"] == "planned":
            assert Decimal(str(values[("standardisation_end", d["entity"])])) <= 12
        if d["decision"] == "roadmap" and d["status"] == "decided" and d["outcome"].startswith("deferred"):
            assert d["cites"], d
