"""Policy tests: YAML files beside the policies that pin expected decisions,
and the rule, exception, band, obligation and clause coverage they reach.

A test file (`*.test.yaml`) names its policy and lists cases. A case gives an
assessment (inline, a file, or a base file plus `set:` edits such as
`usecases[uc].profiling: true`), an optional as-of date and parameters, and
what to expect: `risk[uc]: high`, `dpia[uc]: {outcome: required, cites: [...]}`,
`risk[uc]: {undetermined: [high, minimal], missing: [...]}`,
`obligations[uc]: {includes: [...], excludes: [...]}`, `global_score: "2.2"`.
A `table:` runs one template over many rows. See docs/authoring.md.
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from ..engine import compile_policy, parse_params, run
from ..language import ir
from ..language.diagnostics import Diagnostic, StratError
from ..language.messages import N_, Msg
from ..language.source import Span
from ..render.catalogue import gettext_for
from ..render.json_out import explanation_json
from ..render.text import render_explanation_data
from ..runtime.assessment import _Loader, read_data, validate
from ..runtime.explain import explain_decision
from ..runtime.result import Result
from ..runtime.values import NotApplicable, format_value

# `risk[uc]` or, handier inside YAML flow mappings, `risk.uc`
_KEY = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:\[(?P<entity>[^\]]+)\]|\.(?P<dotted>[A-Za-z0-9_.\-]+))?$")


@dataclass
class CaseResult:
    file: str
    name: str
    failures: list[str] = field(default_factory=list)
    explanations: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def passed(self) -> bool:
        return not self.failures and self.error is None


@dataclass
class Coverage:
    rules: dict[str, bool] = field(default_factory=dict)
    exceptions: dict[str, bool] = field(default_factory=dict)
    bands: dict[str, bool] = field(default_factory=dict)
    obligations: dict[str, bool] = field(default_factory=dict)
    clauses: dict[str, bool] = field(default_factory=dict)

    def groups(self) -> list[tuple[str, dict[str, bool]]]:
        return [
            ("rules", self.rules),
            ("exceptions", self.exceptions),
            ("band levels", self.bands),
            ("obligations", self.obligations),
            ("cited clauses", self.clauses),
        ]

    def percent(self) -> float:
        total = sum(len(g) for _, g in self.groups())
        hit = sum(sum(g.values()) for _, g in self.groups())
        return 100.0 * hit / total if total else 100.0


def _new_coverage(policy: ir.CheckedPolicy) -> Coverage:
    cov = Coverage()
    for decision in policy.decisions.values():
        for rule in decision.rules:
            target = cov.bands if decision.bands else cov.rules
            target[rule.id] = False
            for exc in rule.exceptions:
                cov.exceptions[exc.id] = False
            for c in [*rule.cites, *(c for e in rule.exceptions for c in e.cites)]:
                if c.decision is None:
                    cov.clauses[c.text] = False
    for obligation in policy.obligations.values():
        cov.obligations[obligation.name] = False
        for c in obligation.cites:
            cov.clauses[c.text] = False
    return cov


def _record_coverage(cov: Coverage, policy: ir.CheckedPolicy, result: Result) -> None:
    for d in result.decisions:
        decision = policy.decisions[d.decision]
        rules = {r.id: r for r in decision.rules}
        for status in d.rules:
            rule = rules[status.rule]
            if status.status == "fired":
                (cov.bands if decision.bands else cov.rules)[rule.id] = True
                for c in rule.cites:
                    if c.decision is None:
                        cov.clauses[c.text] = True
            if status.status == "excepted" and status.exception:
                cov.exceptions[status.exception] = True
                for e in rule.exceptions:
                    if e.id == status.exception:
                        for c in e.cites:
                            if c.decision is None:
                                cov.clauses[c.text] = True
    for o in result.obligations:
        if o.status == "applies":
            cov.obligations[o.obligation] = True
            for c in policy.obligations[o.obligation].cites:
                cov.clauses[c.text] = True


# ------------------------------------------------------------------ assessments


def _set_path(data: dict[str, Any], path: str, value: Any, lists: frozenset[str] = frozenset()) -> None:
    """Set one fact: `usecases[uc].profiling` or `usecases.uc.profiling` (the use case
    with id uc), `organization.headcount`, `maturity.governance.owned`."""
    parts = [p for p in re.split(r"[.\[\]]+", path) if p]
    if len(parts) < 2 or not all(re.fullmatch(r"[A-Za-z0-9_\-]+", p) for p in parts):
        raise StratError([Diagnostic("E501", Msg(N_("'{path}' is not a path like usecases.uc.profiling or organization.headcount"), path=path))])
    node: Any = data
    for n, name in enumerate(parts):
        last = n == len(parts) - 1
        if isinstance(node, list):
            match = next((i for i in node if isinstance(i, dict) and str(i.get("id")) == name), None)
            if match is None:
                match = {"id": name}
                node.append(match)
            if last:
                raise StratError([Diagnostic("E501", Msg(N_("'{path}' must end with a field name"), path=path))])
            node = match
        elif last:
            node[name] = value
        else:
            node = node.setdefault(name, [] if (n == 0 and name in lists) else {})


def boundary(test_file: Path) -> Path:
    """The folder a test file may read from: its git repository (the nearest folder above
    it holding `.git`); outside git, the current folder when the test file is in it (a
    folder made by `stratdsl init`, before `git init`), else the test file's own folder."""
    folder = Path(os.path.abspath(test_file)).parent  # where the file is named, not where a link leads
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    here = Path.cwd().resolve()
    if folder.resolve().is_relative_to(here):
        return here
    return folder


def confine(test_file: Path, key: str, value: str) -> Path:
    """The file a test file's `policy:` or `assessment:` names, resolved (links followed);
    E510 when it leaves the test file's repository: a test file from a pull request must
    not make `stratdsl test` read (and print the first token of) /etc/shadow."""
    allowed = boundary(test_file)
    try:
        if "\x00" in value:
            raise ValueError(value)
        target = (test_file.resolve().parent / value).resolve()
    except (OSError, RuntimeError, ValueError):
        target = None
    if target is None or not target.is_relative_to(allowed):
        shown = value.replace("\x00", "\\0")
        raise StratError(
            [
                Diagnostic(
                    "E510",
                    Msg(N_("{key} '{shown}' of '{file}' is outside the folder '{allowed}'"), key=key, shown=shown, file=test_file, allowed=allowed),
                    hint=Msg(N_("a test file may only name files of its own repository (outside git: of the current folder, or of its own folder)")),
                )
            ]
        )
    return target


def _assessment(case: dict[str, Any], test_file: Path, defaults: dict[str, Any], lists: frozenset[str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    source = case.get("assessment") or defaults.get("assessment")
    if isinstance(source, str):
        loaded, _ = read_data(confine(test_file, "assessment", source), source)
        data = copy.deepcopy(loaded or {})
    elif isinstance(source, dict):
        data = copy.deepcopy(source)
    for path, value in {**defaults.get("set", {}), **case.get("set", {})}.items():
        _set_path(data, str(path), value, lists)
    return data


def _expand(doc: dict[str, Any]) -> list[dict[str, Any]]:
    cases = []
    for n, case in enumerate(doc.get("cases", []), start=1):
        if "table" in case:
            table = case["table"]
            template = table.get("set", {})
            for m, row in enumerate(table.get("rows", []), start=1):
                cases.append(
                    {
                        "name": f"{case.get('name', f'case {n}')} [{row.get('name', m)}]",
                        "assessment": row.get("assessment", table.get("assessment", case.get("assessment"))),
                        "set": {**template, **row.get("set", {})},
                        "as_of": row.get("as_of", table.get("as_of", case.get("as_of"))),
                        "params": {**case.get("params", {}), **row.get("params", {})},
                        "expect": row.get("expect", {}),
                    }
                )
        else:
            cases.append({"name": case.get("name", f"case {n}"), **case})
    return cases


# ------------------------------------------------------------------ expectations


def _decision_summary(result: Result, name: str, entity: str | None) -> Any:
    for d in result.decisions:
        if d.decision == name and (d.entity == entity or (entity is None and d.entity is None)):
            return d
    return None


def _check(expect: dict[str, Any], policy: ir.CheckedPolicy, result: Result) -> tuple[list[str], list[tuple[str, str | None]]]:
    failures: list[str] = []
    to_explain: list[tuple[str, str | None]] = []
    for key, wanted in expect.items():
        match = _KEY.match(str(key))
        if not match:
            failures.append(f"{key}: not a decision[entity], value or obligations[entity] key")
            continue
        name, entity = match.group("name"), match.group("entity") or match.group("dotted")
        if name == "obligations":
            applied = {o.obligation for o in result.obligations if o.entity == entity and o.status == "applies"}
            possible = {o.obligation for o in result.obligations if o.entity == entity and o.status == "possible"}
            wanted = wanted if isinstance(wanted, dict) else {"includes": wanted}
            for o in wanted.get("includes", []):
                if o not in applied:
                    state = "only possibly applies" if o in possible else "does not apply"
                    failures.append(f"obligations[{entity}]: expected {o} to apply, but it {state}")
            for o in wanted.get("excludes", []):
                if o in applied:
                    failures.append(f"obligations[{entity}]: expected {o} not to apply, but it applies")
            continue
        if name in policy.decisions:
            d = _decision_summary(result, name, entity)
            if d is None:
                failures.append(f"{key}: no such decision result (check the entity id)")
                continue
            spec = wanted if isinstance(wanted, dict) else {"outcome": wanted}
            problems = []
            if "outcome" in spec and (d.status != "decided" or d.outcome != spec["outcome"]):
                got = d.outcome if d.status == "decided" else f"undetermined ({', '.join(d.possible)})"
                problems.append(f"expected {spec['outcome']}, got {got}")
            if "undetermined" in spec:
                if d.status != "undetermined":
                    problems.append(f"expected undetermined, got {d.outcome}")
                elif sorted(spec["undetermined"]) != sorted(d.possible):
                    problems.append(f"expected possible outcomes {sorted(spec['undetermined'])}, got {sorted(d.possible)}")
            if "missing" in spec and sorted(spec["missing"]) != sorted(d.missing):
                problems.append(f"expected missing facts {sorted(spec['missing'])}, got {sorted(d.missing)}")
            if "cites" in spec:
                texts = [c.text for c in d.cites]
                for c in spec["cites"]:
                    if not any(c in t for t in texts):
                        problems.append(f"expected a citation of '{c}', got {texts}")
            if problems:
                failures.append(f"{key}: " + "; ".join(problems))
                to_explain.append((name, entity))
            continue
        if name in policy.definitions:
            value = next((v for v in result.values if v.definition == name and v.entity == entity), None)
            if value is None:
                failures.append(f"{key}: not a shown value (only labelled definitions are)")
                continue
            shown = format_value(value.value)
            if wanted == "not applicable" and isinstance(value.value, NotApplicable):
                continue  # any reason; "not applicable (REASON)" checks the English reason too
            if shown != str(wanted):
                failures.append(f"{key}: expected {wanted}, got {format_value(value.value)}")
            continue
        failures.append(f"{key}: '{name}' is neither a decision, a labelled definition nor 'obligations'")
    return failures, to_explain


# ------------------------------------------------------------------ running


def discover(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for raw in paths or ["."]:
        path = Path(raw)
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*.test.yaml") if ".ci-venv" not in p.parts))
        else:
            out.append(path)
    return out


def run_file(path: Path, coverage: dict[str, tuple[ir.CheckedPolicy, Coverage]], lang: str = "fr") -> list[CaseResult]:
    if not path.resolve().is_relative_to(boundary(path).resolve()):
        # a test file that is a link out of its repository is not read: its YAML errors would print it
        message = f"E510 test file '{path}' is a link to a file outside the folder '{boundary(path)}'"
        return [CaseResult(str(path), "(file)", error=message)]
    loader = _Loader(path.read_text(encoding="utf-8"))
    try:
        doc = loader.get_single_data() or {}
    except yaml.YAMLError as error:
        return [CaseResult(str(path), "(file)", error=f"not valid YAML: {error}")]
    finally:
        loader.dispose()
    try:
        policy_path = confine(path, "policy", str(doc.get("policy", "")))
    except StratError as error:
        return [CaseResult(str(path), "(policy)", error="; ".join(f"{d.code} {d.message}" for d in error.diagnostics))]
    key = str(policy_path)
    if key not in coverage:
        policy, diagnostics = compile_policy(policy_path)
        if policy is None:
            return [CaseResult(str(path), "(policy)", error="; ".join(f"{d.code} {d.message}" for d in diagnostics))]
        coverage[key] = (policy, _new_coverage(policy))
    policy, cov = coverage[key]
    defaults = {k: doc[k] for k in ("assessment", "set") if k in doc}
    results = []
    for case in _expand(doc):
        outcome = CaseResult(str(path), case["name"])
        try:
            lists = frozenset(i.name for i in policy.inputs.values() if i.kind == "many")
            data = _assessment(case, path, defaults, lists)
            assessment = validate(policy, data, f"{path}::{case['name']}")
            as_of = date.fromisoformat(str(case.get("as_of") or doc.get("as_of") or date.today().isoformat()))
            params = parse_params(policy, [f"{k}={v}" for k, v in {**doc.get("params", {}), **case.get("params", {})}.items()])
            result, tracer = run(policy, assessment, as_of, params, trace=True)
        except StratError as error:
            outcome.error = "; ".join(f"{d.code} {d.message}" for d in error.diagnostics)
            results.append(outcome)
            continue
        _record_coverage(cov, policy, result)
        outcome.failures, to_explain = _check(case.get("expect", {}), policy, result)
        for name, entity in to_explain:
            d = _decision_summary(result, name, entity)
            if d is not None and tracer is not None:
                outcome.explanations.append(render_explanation_data(explanation_json(policy, explain_decision(policy, result, d, tracer), lang)))
        results.append(outcome)
    return results


def render_coverage(coverage: dict[str, tuple[ir.CheckedPolicy, Coverage]]) -> tuple[str, float]:
    lines = []
    hit = total = 0
    for _path, (policy, cov) in coverage.items():
        lines.append(f"coverage of {policy.name} {policy.version}:")
        for title, group in cov.groups():
            n = sum(group.values())
            hit, total = hit + n, total + len(group)
            lines.append(f"  {title}: {n}/{len(group)}")
            missed = sorted(k for k, v in group.items() if not v)
            for item in missed:
                lines.append(f"    not exercised: {item}")
    percent = 100.0 * hit / total if total else 100.0
    lines.append(f"total coverage: {percent:.1f}% ({hit}/{total})")
    return "\n".join(lines), percent


# ------------------------------------------------------------------ machine-readable coverage
# Each item of coverage (a rule, an exception, a band level, an obligation, a cited clause)
# is placed at the line that declares it, so that coverage reads per file: JSON for tools,
# LCOV for the viewers that already read it (genhtml, editors' coverage gutters).

_KINDS = {"rules": "rule", "exceptions": "exception", "band levels": "band", "obligations": "obligation", "cited clauses": "clause"}


def _item_spans(policy: ir.CheckedPolicy) -> dict[tuple[str, str], Span]:
    spans: dict[tuple[str, str], Span] = {}
    for decision in policy.decisions.values():
        for rule in decision.rules:
            spans[("band" if decision.bands else "rule", rule.id)] = rule.span
            for exc in rule.exceptions:
                spans[("exception", exc.id)] = exc.span
            for c in [*rule.cites, *(c for e in rule.exceptions for c in e.cites)]:
                if c.decision is None:
                    spans.setdefault(("clause", c.text), c.span if c.span.line > 0 else rule.span)
    for obligation in policy.obligations.values():
        spans[("obligation", obligation.name)] = obligation.span
        for c in obligation.cites:
            spans.setdefault(("clause", c.text), c.span if c.span.line > 0 else obligation.span)
    return spans


def coverage_items(coverage: dict[str, tuple[ir.CheckedPolicy, Coverage]]) -> list[dict[str, Any]]:
    """Every coverage item with its file, line and whether a test exercised it, sorted by place."""
    items: dict[tuple[str, str, str], dict[str, Any]] = {}
    for _path, (policy, cov) in coverage.items():
        spans = _item_spans(policy)
        source_paths = {s.name: s.path for s in policy.source_map.files()}
        for title, group in cov.groups():
            kind = _KINDS[title]
            for name, hit in group.items():
                span = spans.get((kind, name))
                file = span.file if span is not None else policy.files[0]
                path = source_paths.get(file)
                key = (str(path or file), kind, name)
                previous = items.get(key)
                items[key] = {
                    "file": file,
                    "path": str(path) if path is not None else None,
                    "line": span.line if span is not None else 0,
                    "kind": kind,
                    "id": name,
                    "hit": bool(hit) or bool(previous and previous["hit"]),
                }
    return sorted(items.values(), key=lambda i: (i["file"], i["line"], i["kind"], i["id"]))


def coverage_files(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per file: hit and total for each kind and overall."""
    files: dict[str, dict[str, Any]] = {}
    for item in items:
        entry = files.setdefault(item["file"], {"path": item["path"], "hit": 0, "total": 0, "kinds": {}})
        kind = entry["kinds"].setdefault(item["kind"], {"hit": 0, "total": 0})
        for counter in (entry, kind):
            counter["total"] += 1
            counter["hit"] += int(item["hit"])
    for entry in files.values():
        entry["percent"] = round(100.0 * entry["hit"] / entry["total"], 1) if entry["total"] else 100.0
    return files


def coverage_json(coverage: dict[str, tuple[ir.CheckedPolicy, Coverage]]) -> dict[str, Any]:
    items = coverage_items(coverage)
    files = coverage_files(items)
    hit, total = sum(int(i["hit"]) for i in items), len(items)
    return {
        "version": 1,
        "total": {"hit": hit, "total": total, "percent": round(100.0 * hit / total, 1) if total else 100.0},
        "files": files,
        "items": items,
    }


def coverage_lcov(coverage: dict[str, tuple[ir.CheckedPolicy, Coverage]]) -> str:
    """LCOV tracefile: one record per policy file; a line is covered when every item declared on it was exercised
    (DA), and each item is also a function record (FN/FNDA) named `kind:id`, so nothing is lost."""
    out: list[str] = []
    by_file: dict[str, list[dict[str, Any]]] = {}
    for item in coverage_items(coverage):
        by_file.setdefault(item["path"] or item["file"], []).append(item)
    for source, items in by_file.items():
        out += ["TN:", f"SF:{source}"]
        for item in items:
            out.append(f"FN:{item['line']},{item['kind']}:{item['id']}")
        for item in items:
            out.append(f"FNDA:{int(item['hit'])},{item['kind']}:{item['id']}")
        out += [f"FNF:{len(items)}", f"FNH:{sum(int(i['hit']) for i in items)}"]
        lines: dict[int, bool] = {}
        for item in items:
            if item["line"] > 0:
                lines[item["line"]] = lines.get(item["line"], True) and item["hit"]
        for line, hit in sorted(lines.items()):
            out.append(f"DA:{line},{int(hit)}")
        out += [f"LF:{len(lines)}", f"LH:{sum(lines.values())}", "end_of_record"]
    return "\n".join(out) + "\n"


def render_file_summary(coverage: dict[str, tuple[ir.CheckedPolicy, Coverage]], lang: str = "en") -> str:
    """The per-file lines of the coverage report: `policies/roi.strat  12/14  85.7%`."""
    files = coverage_files(coverage_items(coverage))
    width = max((len(name) for name in files), default=0)
    _ = gettext_for(lang)
    lines = [_("coverage per file:")]
    for name, entry in files.items():
        lines.append(f"  {name.ljust(width)}  {entry['hit']}/{entry['total']}  {entry['percent']:.1f}%")
    return "\n".join(lines)


def coverage_by_group(coverage: dict[str, tuple[ir.CheckedPolicy, Coverage]]) -> dict[str, float]:
    """Percent covered per group (rules, cited clauses…) over every policy tested, and in total."""
    counts: dict[str, list[int]] = {}
    for _path, (_policy, cov) in coverage.items():
        for title, group in cov.groups():
            hit_total = counts.setdefault(title, [0, 0])
            hit_total[0] += sum(group.values())
            hit_total[1] += len(group)
    out = {title: 100.0 * hit / total if total else 100.0 for title, (hit, total) in counts.items()}
    hit = sum(h for h, _ in counts.values())
    total = sum(t for _, t in counts.values())
    out["total"] = 100.0 * hit / total if total else 100.0
    return out
