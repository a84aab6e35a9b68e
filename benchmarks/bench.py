"""stratdsl benchmarks: `python benchmarks/bench.py [--quick] [--json OUT]`.

Part A: three decisions (an impact/effort quadrant, a first-match risk rule
with an exception, a threshold band) on the same N generated records, written
once as a stratdsl policy (benchmarks/three.strat) and once for every other
engine: stratdsl compiled (no trace), stratdsl's traced compiled mode ("full
traces"), the reference evaluator with a RecordingTracer and without trace,
hand-written Python on Decimal, and the peer engines that import here
(zen-engine, rule-engine, cel-python, common-expression-language, regopy,
pyDMNrules). One call per record per engine; every engine's answers are
checked against the hand-written ones on every record it ran.

Part B: the reference methodology (policies/strategy.strat): parse + check
warm and on a compiled-cache hit, the cold start of `stratdsl check` as a
whole process, one evaluation of each example (compiled vs reference), and a
batch of ~100,000 use cases through `stratdsl batch` with --jobs 1 and 2.

The machine is shared and small (2 cores): every in-process figure is the
median of interleaved repeats, with the CPU time beside the wall time, and
the load average is printed at the start and the end. Nothing here asserts
a time: the targets are compared and reported, never enforced.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
THREE = HERE / "three.strat"
STRATEGY = REPO / "policies" / "strategy.strat"
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))
AS_OF = date(2026, 11, 26)

from stratdsl.backends.compiler import CompiledPolicy, compiled  # noqa: E402
from stratdsl.backends.traced import evaluate_traced  # noqa: E402
from stratdsl.engine import compile_policy  # noqa: E402
from stratdsl.runtime import assessment as assessment_module  # noqa: E402
from stratdsl.runtime.assessment import parse_data, read_data, validate  # noqa: E402
from stratdsl.runtime.evaluator import evaluate  # noqa: E402
from stratdsl.runtime.trace import RecordingTracer  # noqa: E402

RESULTS: dict[str, Any] = {"sections": {}}


def say(text: str = "") -> None:
    print(text, flush=True)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def median(values: list[float]) -> float:
    return statistics.median(values)


# ====================================================================== part A: three decisions

Q = ("quick_win", "structuring", "secondary", "avoid")
THRESH = Decimal(3)
B1, B2, B3 = Decimal("1.5"), Decimal("2.5"), Decimal("3.5")
GRID = [Decimal(n) / 10 for n in range(0, 51)]  # 0.0 … 5.0: every boundary value occurs


def records(n: int, seed: int = 2026) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {
            "impact": rng.choice(GRID),
            "effort": rng.choice(GRID),
            "recruitment": rng.random() < 0.3,
            "narrow_task": rng.random() < 0.5,
            "profiling": rng.random() < 0.5,
            "score": rng.choice(GRID),
        }
        for _ in range(n)
    ]


def hand_written(r: dict[str, Any]) -> tuple[str, str, str]:
    """The three decisions in plain Python, on the same exact decimals."""
    impact, effort = r["impact"], r["effort"]
    if impact >= THRESH and effort < THRESH:
        quadrant = "quick_win"
    elif impact >= THRESH and effort >= THRESH:
        quadrant = "structuring"
    elif impact < THRESH and effort < THRESH:
        quadrant = "secondary"
    else:
        quadrant = "avoid"
    risk = "high" if r["recruitment"] and not (r["narrow_task"] and not r["profiling"]) else "minimal"
    score = r["score"]
    if score < B1:
        level = "exploratory"
    elif score < B2:
        level = "emerging"
    elif score < B3:
        level = "structured"
    else:
        level = "advanced"
    return quadrant, risk, level


def as_floats(r: dict[str, Any]) -> dict[str, Any]:
    # one decimal place, thresholds exact in binary: floats decide the same way
    return {k: float(v) if isinstance(v, Decimal) else v for k, v in r.items()}


class Engine:
    """One way of deciding: prepare(records) → inputs (not timed), call(input) (timed), read(output) (not timed)."""

    def __init__(self, name: str, note: str, prepare: Callable, call: Callable, read: Callable, peer: bool = True) -> None:
        self.name, self.note, self.prepare, self.call, self.read, self.peer = name, note, prepare, call, read, peer


def stratdsl_engines(policy: Any) -> list[Engine]:
    def prepare(rs: list[dict[str, Any]]) -> list[Any]:
        return [validate(policy, {"usecases": [{"id": "u1", **r}]}) for r in rs]

    def read(result: Any) -> tuple[str, ...]:
        return tuple(d.outcome for d in result.decisions)

    run = compiled(policy).evaluate
    outcomes = compiled(policy).outcomes
    return [
        Engine(
            "stratdsl compiled, outcomes only",
            "compiled(policy).outcomes(assessment, as_of): the outcome tuple, no Result",
            prepare,
            lambda a: outcomes(a, AS_OF),
            tuple,
            False,
        ),
        Engine(
            "stratdsl compiled, no trace",
            "compiled(policy).evaluate(assessment, as_of): the full Result",
            prepare,
            lambda a: run(a, AS_OF),
            read,
            False,
        ),
        Engine(
            "stratdsl with full traces",
            "traced compiled mode: backends.traced.evaluate_traced (what engine.run(trace=True) uses)",
            prepare,
            lambda a: evaluate_traced(policy, a, AS_OF)[0],
            read,
            False,
        ),
        Engine(
            "stratdsl reference + RecordingTracer",
            "reference evaluator + RecordingTracer (the oracle of the traced mode)",
            prepare,
            lambda a: evaluate(policy, a, AS_OF, None, RecordingTracer()),
            read,
            False,
        ),
        Engine(
            "stratdsl reference, no trace",
            "evaluator.evaluate(policy, assessment, as_of)",
            prepare,
            lambda a: evaluate(policy, a, AS_OF),
            read,
            False,
        ),
    ]


def conditions_only(policy: Any) -> list[Engine]:
    """Diagnostic, not an engine: the compiled policy's generated rule conditions called in
    first-match order, with no result objects and no unknown-fact handling (these records have
    no unknown facts). It shows how much of a compiled evaluation is the conditions themselves.
    Reads compiler internals (`CompiledPolicy.walks`): skipped when they change."""
    try:
        plans = []
        for name in policy.decisions:
            plans.append([(step[1], [fn for _, fn in step[2]], step[0].outcome) for step in compiled(policy).walks[name]])
    except (AttributeError, KeyError, IndexError, TypeError):
        return []

    def call(a: Any) -> tuple[str, ...]:
        entity = a.entities["usecases"][0]
        out = []
        for rules in plans:
            for cond, exceptions, outcome in rules:
                if (cond is None or cond(None, entity) is True) and not any(x(None, entity) is True for x in exceptions):
                    out.append(outcome)
                    break
        return tuple(out)

    return [
        Engine(
            "(diagnostic) generated conditions only",
            "the compiled conditions in first-match order, no Result objects",
            lambda rs: [validate(policy, {"usecases": [{"id": "u1", **r}]}) for r in rs],
            call,
            tuple,
            False,
        )
    ]


def zen_engines() -> list[Engine]:
    import zen

    def table(nid: str, inputs: list[str], out: str, rules: list[tuple[tuple[str, ...], str]]) -> dict[str, Any]:
        return {
            "id": nid,
            "type": "decisionTableNode",
            "name": out,
            "position": {"x": 200, "y": 0},
            "content": {
                "hitPolicy": "first",
                "inputs": [{"id": f, "name": f, "field": f} for f in inputs],
                "outputs": [{"id": "out", "name": out, "field": out}],
                "rules": [
                    {"_id": f"{nid}{i}", **dict(zip(inputs, tests)), "out": json.dumps(o)} for i, (tests, o) in enumerate(rules)
                ],
            },
        }

    nodes = [
        {"id": "in", "type": "inputNode", "name": "Request", "position": {"x": 0, "y": 0}},
        table(
            "q",
            ["impact", "effort"],
            "quadrant",
            [
                ((">= 3", "< 3"), "quick_win"),
                ((">= 3", ">= 3"), "structuring"),
                (("< 3", "< 3"), "secondary"),
                (("< 3", ">= 3"), "avoid"),
            ],
        ),
        table(
            "r",
            ["recruitment", "narrow_task", "profiling"],
            "risk",
            [(("true", "true", "false"), "minimal"), (("true", "", ""), "high"), (("", "", ""), "minimal")],
        ),
        table(
            "l",
            ["score"],
            "level",
            [(("< 1.5",), "exploratory"), (("< 2.5",), "emerging"), (("< 3.5",), "structured"), (("",), "advanced")],
        ),
        {"id": "out", "type": "outputNode", "name": "Response", "position": {"x": 400, "y": 0}},
    ]
    pairs = [("in", "q"), ("in", "r"), ("in", "l"), ("q", "out"), ("r", "out"), ("l", "out")]
    edges = [{"id": f"e{i}", "sourceId": s, "targetId": t, "type": "edge"} for i, (s, t) in enumerate(pairs)]
    decision = zen.ZenEngine().create_decision(json.dumps({"nodes": nodes, "edges": edges}))
    expression = zen.compile_expression(
        "[impact >= 3 and effort < 3 ? 'quick_win' : impact >= 3 and effort >= 3 ? 'structuring'"
        " : impact < 3 and effort < 3 ? 'secondary' : 'avoid',"
        " recruitment and not (narrow_task and not profiling) ? 'high' : 'minimal',"
        " score < 1.5 ? 'exploratory' : score < 2.5 ? 'emerging' : score < 3.5 ? 'structured' : 'advanced']"
    )
    return [
        Engine(
            "zen-engine (JDM decision tables)",
            "3 first-hit tables in one graph; ZenDecision.evaluate(dict)",
            lambda rs: [as_floats(r) for r in rs],
            decision.evaluate,
            lambda out: (out["result"]["quadrant"], out["result"]["risk"], out["result"]["level"]),
        ),
        Engine(
            "zen-engine (ZEN expression)",
            "one compiled expression; PyExpression.evaluate(dict)",
            lambda rs: [as_floats(r) for r in rs],
            expression.evaluate,
            tuple,
        ),
    ]


def rule_engine_engines() -> list[Engine]:
    import rule_engine

    rule = rule_engine.Rule(
        "[impact >= 3 and effort < 3 ? 'quick_win' : (impact >= 3 and effort >= 3 ? 'structuring'"
        " : (impact < 3 and effort < 3 ? 'secondary' : 'avoid')),"
        " recruitment and not (narrow_task and not profiling) ? 'high' : 'minimal',"
        " score < 1.5 ? 'exploratory' : (score < 2.5 ? 'emerging' : (score < 3.5 ? 'structured' : 'advanced'))]"
    )
    return [Engine("rule-engine", "Rule.evaluate(dict of Decimal)", lambda rs: rs, rule.evaluate, tuple)]


CEL = (
    '[impact >= 3.0 && effort < 3.0 ? "quick_win" : impact >= 3.0 && effort >= 3.0 ? "structuring"'
    ' : impact < 3.0 && effort < 3.0 ? "secondary" : "avoid",'
    ' recruitment && !(narrow_task && !profiling) ? "high" : "minimal",'
    ' score < 1.5 ? "exploratory" : score < 2.5 ? "emerging" : score < 3.5 ? "structured" : "advanced"]'
)


def celpy_engines() -> list[Engine]:
    import celpy

    env = celpy.Environment()
    program = env.program(env.compile(CEL))
    return [
        Engine(
            "cel-python (celpy)",
            "Runner.evaluate(activation); activation converted beforehand",
            lambda rs: [celpy.json_to_cel(as_floats(r)) for r in rs],
            program.evaluate,
            lambda out: tuple(str(v) for v in out),
        )
    ]


def cel_rust_engines() -> list[Engine]:
    import cel

    program = cel.compile(CEL)
    return [
        Engine(
            "common-expression-language (Rust CEL)",
            "cel.compile(…).execute(dict)",
            lambda rs: [as_floats(r) for r in rs],
            program.execute,
            tuple,
        )
    ]


REGO = """package three
quadrant := "quick_win" if { input.impact >= 3; input.effort < 3 }
else := "structuring" if { input.impact >= 3; input.effort >= 3 }
else := "secondary" if { input.impact < 3; input.effort < 3 }
else := "avoid"
risk := "minimal" if { input.recruitment; input.narrow_task; not input.profiling }
else := "high" if { input.recruitment }
else := "minimal"
level := "exploratory" if { input.score < 1.5 }
else := "emerging" if { input.score < 2.5 }
else := "structured" if { input.score < 3.5 }
else := "advanced"
result := [quadrant, risk, level]
"""


def rego_engines() -> list[Engine]:
    import regopy

    builder = regopy.Interpreter()
    builder.add_module("three", REGO)
    bundle = builder.build(None, ["three/result"])
    rego = regopy.Interpreter()
    keep = (builder, bundle)  # the bundle's memory belongs to the interpreter that built it: keep both alive

    def call(doc: dict[str, Any]) -> Any:
        rego.set_input(doc)
        return rego.query_bundle_entrypoint(keep[1], "three/result")  # its results are parsed from JSON on creation

    return [
        Engine(
            "regopy (Rego, rego-cpp)",
            "set_input + query_bundle_entrypoint on a compiled bundle",
            lambda rs: [as_floats(r) for r in rs],
            call,
            lambda out: tuple(out.results[0].expressions[0]),
        )
    ]


def dmn_engines() -> list[Engine]:
    import pyDMNrules

    def rule(rid: str, entries: tuple[str, ...], out: str) -> str:
        ins = "".join(f"<inputEntry id='{rid}i{k}'><text>{e}</text></inputEntry>" for k, e in enumerate(entries))
        return f"<rule id='{rid}'>{ins}<outputEntry id='{rid}o'><text>\"{out}\"</text></outputEntry></rule>"

    def table(name: str, inputs: list[tuple[str, str]], rules: list[tuple[tuple[str, ...], str]]) -> str:
        ins = "".join(
            f"<input id='{name}_{v}' label='{v}'><inputExpression id='{name}_{v}_e' typeRef='{t}'><text>{v}</text></inputExpression></input>"
            for v, t in inputs
        )
        req = "".join(
            f"<informationRequirement id='{name}_{v}_r'><requiredInput href='#in_{v}'/></informationRequirement>"
            for v, _ in inputs
        )
        body = "".join(rule(f"{name}{i}", e, o) for i, (e, o) in enumerate(rules))
        return (
            f"<decision id='{name}' name='{name}'><variable name='{name}' typeRef='string'/>{req}"
            f"<decisionTable id='{name}_t' hitPolicy='FIRST'>{ins}<output id='{name}_o' name='{name}' typeRef='string'/>{body}</decisionTable></decision>"
        )

    fields = [
        ("impact", "number"),
        ("effort", "number"),
        ("recruitment", "boolean"),
        ("narrow_task", "boolean"),
        ("profiling", "boolean"),
        ("score", "number"),
    ]
    lt = "&lt;"
    xml = (
        "<definitions xmlns='https://www.omg.org/spec/DMN/20191111/MODEL/' id='three' name='three' namespace='bench'>"
        + "".join(f"<inputData id='in_{v}' name='{v}'><variable name='{v}' typeRef='{t}'/></inputData>" for v, t in fields)
        + table(
            "quadrant",
            fields[:2],
            [
                ((">= 3", f"{lt} 3"), "quick_win"),
                ((">= 3", ">= 3"), "structuring"),
                ((f"{lt} 3", f"{lt} 3"), "secondary"),
                ((f"{lt} 3", ">= 3"), "avoid"),
            ],
        )
        + table(
            "risk",
            fields[2:5],
            [(("true", "true", "false"), "minimal"), (("true", "-", "-"), "high"), (("-", "-", "-"), "minimal")],
        )
        + table(
            "level",
            fields[5:],
            [((f"{lt} 1.5",), "exploratory"), ((f"{lt} 2.5",), "emerging"), ((f"{lt} 3.5",), "structured"), (("-",), "advanced")],
        )
        + "</definitions>"
    )
    dmn = pyDMNrules.DMN()
    status = dmn.useXML(xml)
    if status.get("errors"):
        raise RuntimeError(f"pyDMNrules: {status['errors']}")

    def read(out: Any) -> tuple[str, ...]:
        result = out[1][-1]["Result"]
        return (result["quadrant.quadrant"], result["risk.risk"], result["level.level"])

    return [
        Engine(
            "pyDMNrules (DMN XML)",
            "DMN.decide(dict); 3 FIRST-hit tables",
            lambda rs: [as_floats(r) for r in rs],
            dmn.decide,
            read,
        )
    ]


PEERS = [
    ("zen-engine", zen_engines),
    ("rule-engine", rule_engine_engines),
    ("cel-python", celpy_engines),
    ("common-expression-language", cel_rust_engines),
    ("regopy", rego_engines),
    ("pyDMNrules", dmn_engines),
]
NOT_RUN = {
    "cedarpy": "Cedar answers allow/deny only: three multi-outcome decisions need at least 5 authorisation calls per record, not one",
}


def time_pass(engine: Engine, inputs: list[Any]) -> tuple[float, float, list[Any]]:
    call = engine.call
    c0, t0 = time.process_time(), time.perf_counter()
    outputs = [call(x) for x in inputs]
    t1, c1 = time.perf_counter(), time.process_time()
    return t1 - t0, c1 - c0, outputs


def part_a(n: int, repeats: int, budget: float) -> dict[str, Any]:
    say(f"== A. Three decisions on {n} generated records ({repeats} interleaved passes, median)")
    policy, diagnostics = compile_policy(THREE)
    assert policy is not None, diagnostics
    rs = records(n)
    expected = [hand_written(r) for r in rs]

    # validation (YAML/JSON → Assessment) is excluded from evaluate(): measured on its own
    sample = rs[: min(len(rs), 200)]
    c0, t0 = time.process_time(), time.perf_counter()
    for r in sample:
        validate(policy, {"usecases": [{"id": "u1", **r}]})
    validate_us = (time.perf_counter() - t0) / len(sample) * 1e6
    validate_cpu = (time.process_time() - c0) / len(sample) * 1e6
    model = assessment_module.build_model(policy)
    original = assessment_module.build_model
    assessment_module.build_model = lambda p: model  # bench only: what a memoised model would cost
    try:
        c0, t0 = time.process_time(), time.perf_counter()
        for r in sample:
            validate(policy, {"usecases": [{"id": "u1", **r}]})
        cached_us = (time.perf_counter() - t0) / len(sample) * 1e6
        cached_cpu = (time.process_time() - c0) / len(sample) * 1e6
        engines = stratdsl_engines(policy) + conditions_only(policy)
        engines.insert(
            0,
            Engine(
                "hand-written Python (Decimal)",
                "if/elif on Decimal, the same semantics",
                lambda rs: rs,
                hand_written,
                tuple,
                False,
            ),
        )
        skipped: dict[str, str] = dict(NOT_RUN)
        for label, make in PEERS:
            try:
                engines.extend(make())
            except Exception as error:  # a peer that does not install or load here is reported, not fatal
                skipped[label] = f"{type(error).__name__}: {error}"[:160]
        prepared = {}
        for engine in engines:
            # the stratdsl engines share one list of validated assessments
            if engine.name.startswith("stratdsl") and "stratdsl" in prepared:
                prepared[engine.name] = prepared["stratdsl"]
                continue
            prepared[engine.name] = engine.prepare(rs)
            if engine.name.startswith("stratdsl"):
                prepared["stratdsl"] = prepared[engine.name]
    finally:
        assessment_module.build_model = original

    # warm up, and size the pass of slow engines to the time budget
    counts: dict[str, int] = {}
    for engine in engines:
        inputs = prepared[engine.name]
        probe = inputs[: min(len(inputs), 100)]
        elapsed, _, _ = time_pass(engine, probe)
        per = elapsed / len(probe)
        counts[engine.name] = len(inputs) if per * len(inputs) <= budget else max(200, int(budget / per))

    walls: dict[str, list[float]] = {e.name: [] for e in engines}
    cpus: dict[str, list[float]] = {e.name: [] for e in engines}
    agree: dict[str, str] = {}
    for rep in range(repeats):
        for engine in engines:
            count = counts[engine.name]
            wall, cpu, outputs = time_pass(engine, prepared[engine.name][:count])
            walls[engine.name].append(wall / count)
            cpus[engine.name].append(cpu / count)
            if rep == 0:
                answers = [engine.read(o) for o in outputs]
                wrong = [i for i, (a, b) in enumerate(zip(answers, expected)) if tuple(a) != tuple(b)]
                agree[engine.name] = (
                    "yes"
                    if not wrong
                    else f"NO: {len(wrong)} differ, first record {wrong[0]}: {answers[wrong[0]]} vs {expected[wrong[0]]}"
                )

    hand = median(walls[engines[0].name])
    rows = []
    for engine in engines:
        per = median(walls[engine.name])
        rows.append(
            {
                "engine": engine.name,
                "note": engine.note,
                "records": counts[engine.name],
                "us_per_record": per * 1e6,
                "cpu_us_per_record": median(cpus[engine.name]) * 1e6,
                "records_per_s": 1 / per,
                "x_hand_written": per / hand,
                "agree": agree[engine.name],
                "peer": engine.peer,
            }
        )
    say(f"{'engine':42} {'records':>8} {'µs/rec':>9} {'CPU µs':>9} {'rec/s':>10} {'× hand':>8}  agree")
    for row in rows:
        say(
            f"{row['engine']:42} {row['records']:>8} {row['us_per_record']:>9.2f} {row['cpu_us_per_record']:>9.2f} "
            f"{row['records_per_s']:>10,.0f} {row['x_hand_written']:>8.1f}  {row['agree']}"
        )
    for label, reason in skipped.items():
        say(f"  not run: {label}: {reason}")
    say(f"  stratdsl validation per record (not in the figures above): {validate_us:.0f} µs wall, {validate_cpu:.0f} µs CPU;")
    say(f"    with the pydantic model built once per policy (bench-only patch): {cached_us:.0f} µs wall, {cached_cpu:.0f} µs CPU")
    return {
        "n": n,
        "rows": rows,
        "not_run": skipped,
        "validate_us": validate_us,
        "validate_cpu_us": validate_cpu,
        "validate_cached_model_us": cached_us,
        "validate_cached_model_cpu_us": cached_cpu,
    }


# ====================================================================== part B: the methodology


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of `repeats` calls."""
    walls, cpus = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return median(walls), median(cpus)


def child_run(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(command, capture_output=True, env=env, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def stratdsl_exe() -> list[str]:
    found = shutil.which("stratdsl")
    return [found] if found else [sys.executable, "-m", "stratdsl"]


def part_b_policy(repeats: int, cold_runs: int) -> dict[str, Any]:
    say("== B1. policies/strategy.strat: parse + check, compiled cache, cold start")
    out: dict[str, Any] = {}
    compile_policy(STRATEGY)  # warm: grammar built, modules imported
    out["parse_check_warm"] = timed(lambda: compile_policy(STRATEGY), repeats)
    policy, _ = compile_policy(STRATEGY)
    out["codegen"] = timed(lambda: CompiledPolicy(policy), max(3, repeats // 2))
    compiled(policy)
    out["cache_hit"] = timed(lambda: compiled(policy), 200)
    exe = stratdsl_exe()
    check = [*exe, "check", str(STRATEGY)]
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="stratdsl-cache-") as parsed:
        env["STRATDSL_CACHE_DIR"] = parsed  # the on-disk cache of parsed policies, warmed by the first run
        child_run(check, env)
        commands = {
            "cold_version": [*exe, "--version"],
            "cold_check": check,
            "cold_check_no_cache": [*exe, "--no-cache", "check", str(STRATEGY)],
            "cold_eval": [*exe, "eval", str(STRATEGY), str(EXAMPLES[0]), "--as-of", AS_OF.isoformat()],
            "cold_eval_no_cache": [*exe, "--no-cache", "eval", str(STRATEGY), str(EXAMPLES[0]), "--as-of", AS_OF.isoformat()],
        }
        for key, command in commands.items():
            runs = [child_run(command, env) for _ in range(cold_runs)]
            out[key] = (median([w for w, _ in runs]), median([c for _, c in runs]))
    # the same with a bytecode cache (this environment sets PYTHONDONTWRITEBYTECODE and the
    # editable source tree has no __pycache__, so every process compiles stratdsl's modules)
    with tempfile.TemporaryDirectory(prefix="stratdsl-pycache-") as cache:
        env_cache = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env_cache["PYTHONPYCACHEPREFIX"] = cache
        child_run(check, env_cache)  # fills the cache
        runs = [child_run(check, env_cache) for _ in range(cold_runs)]
        out["cold_check_bytecode"] = (median([w for w, _ in runs]), median([c for _, c in runs]))
        runs = [child_run([sys.executable, "-c", "import stratdsl.commands.cli"], env_cache) for _ in range(cold_runs)]
        out["import_cli_bytecode"] = (median([w for w, _ in runs]), median([c for _, c in runs]))
    runs = [child_run([sys.executable, "-c", "pass"], env) for _ in range(cold_runs)]
    out["python_startup"] = (median([w for w, _ in runs]), median([c for _, c in runs]))
    runs = [child_run([sys.executable, "-c", "import stratdsl.commands.cli"], env) for _ in range(cold_runs)]
    out["import_cli"] = (median([w for w, _ in runs]), median([c for _, c in runs]))
    labels = {
        "parse_check_warm": "parse + check, warm, in-process",
        "codegen": "compile to Python (CompiledPolicy), cache miss",
        "cache_hit": "compiled(policy) on a compiled policy (cache hit)",
        "cold_version": "`stratdsl --version`, whole process",
        "cold_check": "`stratdsl check` cold, whole process (parse cache warm)",
        "cold_check_no_cache": "  same, `--no-cache`",
        "cold_eval": "`stratdsl eval` cabinet-comptable (parse cache warm)",
        "cold_eval_no_cache": "  same, `--no-cache`",
        "cold_check_bytecode": "  same, with a bytecode cache (PYTHONPYCACHEPREFIX)",
        "python_startup": "  python -c pass",
        "import_cli": "  python -c 'import stratdsl.commands.cli'",
        "import_cli_bytecode": "  same, with a bytecode cache",
    }
    say(f"{'measure':56} {'wall ms':>9} {'CPU ms':>9}")
    for key, label in labels.items():
        wall, cpu = out[key]
        say(f"{label:56} {wall * 1e3:>9.2f} {cpu * 1e3:>9.2f}")
    return {k: {"wall_s": v[0], "cpu_s": v[1]} for k, v in out.items()}


def part_b_examples(repeats: int) -> list[dict[str, Any]]:
    say("== B2. The full methodology, one assessment per call (each example)")
    policy, _ = compile_policy(STRATEGY)
    run = compiled(policy).evaluate
    rows = []
    say(
        f"{'example':40} {'use cases':>9} {'validate ms':>12} {'compiled ms':>12} {'reference ms':>13} {'traced ms':>10} {'ref/comp':>9}"
    )
    for path in EXAMPLES:
        data, spans = read_data(path, path.name)
        validate_s, _ = timed(
            lambda data=data, spans=spans, name=path.name: validate(policy, data, name, spans), max(3, repeats // 2)
        )
        facts = validate(policy, data, path.name, spans)
        cw, rw, tw = [], [], []
        for _ in range(repeats):  # interleaved
            cw.append(timed(lambda f=facts: run(f, AS_OF), 1)[0])
            rw.append(timed(lambda f=facts: evaluate(policy, f, AS_OF), 1)[0])
            tw.append(timed(lambda f=facts: evaluate_traced(policy, f, AS_OF), 1)[0])
        comp, reference, traced = median(cw), median(rw), median(tw)
        count = len(facts.entities.get("usecases", []))
        say(
            f"{path.name:40} {count:>9} {validate_s * 1e3:>12.2f} {comp * 1e3:>12.2f} {reference * 1e3:>13.2f} {traced * 1e3:>10.2f} {reference / comp:>9.2f}"
        )
        rows.append(
            {
                "example": path.name,
                "usecases": count,
                "validate_s": validate_s,
                "compiled_s": comp,
                "reference_s": reference,
                "traced_s": traced,
            }
        )
    return rows


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def write_batch_input(path: Path, assessments: int, per: int, seed: int = 7) -> int:
    """JSONL of generated assessments built from the examples' organisations, maturity, tools and use cases."""
    rng = random.Random(seed)
    bases = []
    pool = []
    for example in EXAMPLES:
        data, _ = parse_data(example.read_text(encoding="utf-8"), example.name)
        data = _jsonable(data)
        data.pop("about", None)
        pool.extend(data.get("usecases", []))
        bases.append(data)
    usecases = 0
    with path.open("w", encoding="utf-8") as handle:
        for number in range(assessments):
            base = rng.choice(bases)
            doc = {k: v for k, v in base.items() if k != "usecases"}
            items = []
            for k in range(per):
                uc = dict(rng.choice(pool))
                uc["id"] = f"uc{k + 1}"
                for name in ("hours_per_week", "people_involved", "error_cost_per_year"):
                    if isinstance(uc.get(name), (int, float)):
                        uc[name] = type(uc[name])(uc[name] * rng.choice([0.5, 1, 1, 2, 3]))
                items.append(uc)
            doc["usecases"] = items
            doc["organization"] = dict(doc.get("organization") or {}, name=f"Company {number}")
            handle.write(json.dumps(doc, ensure_ascii=False, sort_keys=True) + "\n")
            usecases += per
    return usecases


def digest(path: Path) -> tuple[str, int, int]:
    """sha256, line count and invalid lines of an output, read in blocks."""
    sha = hashlib.sha256()
    lines = invalid = 0
    with path.open("rb") as handle:
        for line in handle:
            sha.update(line)
            lines += 1
            invalid += b'"status":"invalid"' in line or b'"status": "invalid"' in line
    return sha.hexdigest(), lines, invalid


BATCH_PATCH = (
    "import stratdsl.runtime.assessment as a; _b = a.build_model; _m = {}\n"
    "a.build_model = lambda p: _m.get(id(p)) or _m.setdefault(id(p), _b(p))\n"
    "from stratdsl.commands.cli import main; main()\n"
)


def part_b_batch(assessments: int, per: int, projection: bool) -> dict[str, Any]:
    total = assessments * per
    say(f"== B3. Batch: {assessments} assessments × {per} use cases = {total} use cases through policies/strategy.strat")
    out: dict[str, Any] = {"assessments": assessments, "usecases": total, "runs": []}
    with tempfile.TemporaryDirectory(prefix="stratdsl-bench-") as tmp:
        folder = Path(tmp)
        source = folder / "input.jsonl"
        write_batch_input(source, assessments, per)
        outputs = {}
        plans = [("stratdsl batch --jobs 1", [*stratdsl_exe()], 1), ("stratdsl batch --jobs 2", [*stratdsl_exe()], 2)]
        if projection:
            plans.append(("--jobs 2, pydantic model memoised (bench-only patch)", [sys.executable, "-c", BATCH_PATCH], 2))
        say(f"{'run':56} {'wall s':>9} {'CPU s':>9} {'use cases/s':>12} {'idle est. s':>12}")
        for label, exe, jobs in plans:
            target = folder / f"out-{len(outputs)}.jsonl"
            command = [
                *exe,
                "batch",
                str(STRATEGY),
                str(source),
                "-o",
                str(target),
                "--jobs",
                str(jobs),
                "--as-of",
                AS_OF.isoformat(),
            ]
            wall, cpu = child_run(command)
            outputs[label], lines, invalid = digest(target)
            target.unlink()  # ~60 kB a line for the full methodology: keep the disk free
            # on a machine shared with other work, CPU seconds spread over the cores the run may use
            # estimate the wall time on idle cores (it assumes the workers scale perfectly)
            idle = cpu / min(jobs, os.cpu_count() or 1)
            say(f"{label:56} {wall:>9.1f} {cpu:>9.1f} {total / wall:>12,.0f} {idle:>12.1f}")
            out["runs"].append(
                {
                    "run": label,
                    "jobs": jobs,
                    "wall_s": wall,
                    "cpu_s": cpu,
                    "idle_estimate_s": idle,
                    "lines": lines,
                    "usecases_per_s": total / wall,
                }
            )
        first = next(iter(outputs.values()))
        out["identical"] = all(v == first for v in outputs.values())
        out["invalid_lines"] = invalid
        out["lines"] = lines
        say(f"  outputs byte-identical across runs: {out['identical']}; {out['lines']} lines, {out['invalid_lines']} invalid")
    return out


# ====================================================================== targets


def targets(a: dict[str, Any] | None, b1: dict[str, Any] | None, b3: dict[str, Any] | None) -> list[dict[str, Any]]:
    found = []

    def target(name: str, measured: float, limit: float, unit: str, higher_is_better: bool = False) -> None:
        met = measured >= limit if higher_is_better else measured <= limit
        factor = (limit / measured if higher_is_better else measured / limit) if measured else float("inf")
        found.append({"target": name, "measured": measured, "limit": limit, "unit": unit, "met": met, "factor": factor})

    if a:
        rows = {r["engine"]: r for r in a["rows"]}
        hand = rows["hand-written Python (Decimal)"]["us_per_record"]
        comp = rows["stratdsl compiled, outcomes only"]["us_per_record"]
        full = rows["stratdsl compiled, no trace"]["us_per_record"]
        traced = rows["stratdsl with full traces"]["us_per_record"]
        target("compiled, no trace, outcomes, vs hand-written Decimal Python", comp / hand, 2, "×")
        cpu = {r["engine"]: r["cpu_us_per_record"] for r in a["rows"]}
        target("  same, on CPU time", cpu["stratdsl compiled, outcomes only"] / cpu["hand-written Python (Decimal)"], 2, "×")
        target("  compiled, full Result, vs hand-written", full / hand, 2, "×")
        peers = [r for r in a["rows"] if r["peer"]]
        if peers:
            fastest = min(peers, key=lambda r: r["us_per_record"])
            target(
                f"compiled vs fastest peer ({fastest['engine']}): times faster",
                fastest["us_per_record"] / comp,
                10,
                "× faster",
                True,
            )
        target("with full traces vs hand-written", traced / hand, 6, "×")
    if b1:
        target("parse + check warm", b1["parse_check_warm"]["wall_s"] * 1e3, 150, "ms")
        target("  same, CPU time", b1["parse_check_warm"]["cpu_s"] * 1e3, 150, "ms")
        target("compiled cache hit", b1["cache_hit"]["wall_s"] * 1e3, 20, "ms")
        if "cold_version" in b1:
            target("`stratdsl --version` cold start", b1["cold_version"]["wall_s"] * 1e3, 150, "ms")
            target("  same, CPU time of the process", b1["cold_version"]["cpu_s"] * 1e3, 150, "ms")
        target("`stratdsl check` cold start", b1["cold_check"]["wall_s"] * 1e3, 400, "ms")
        target("  same, CPU time of the process", b1["cold_check"]["cpu_s"] * 1e3, 400, "ms")
        if "cold_eval" in b1:
            target("`stratdsl eval` cold start", b1["cold_eval"]["wall_s"] * 1e3, 400, "ms")
            target("  same, CPU time of the process", b1["cold_eval"]["cpu_s"] * 1e3, 400, "ms")
    if b3:
        two = [r for r in b3["runs"] if r["run"] == "stratdsl batch --jobs 2"]
        if two:
            scale = 100_000 / b3["usecases"]
            target("100,000 use cases, full methodology, 2 cores (wall)", two[0]["wall_s"] * scale, 60, "s")
            target("  same, CPU seconds / 2 (idle-machine estimate)", two[0]["idle_estimate_s"] * scale, 60, "s")
    say("== Targets")
    for t in found:
        state = "met" if t["met"] else f"MISSED by {t['factor']:.1f}×"
        say(
            f"  {t['target']:62} {t['measured']:>10.2f} {t['unit']:<8} (target {'≥' if t['unit'] == '× faster' else '≤'} {t['limit']}) {state}"
        )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a minute or two), for a smoke run")
    parser.add_argument("--json", metavar="OUT", help="also write every figure to this JSON file")
    parser.add_argument(
        "--only", metavar="SECTIONS", default="a,b1,b2,b3", help="comma-separated sections to run: a, b1, b2, b3 (default: all)"
    )
    parser.add_argument(
        "--batch-shape", metavar="ASSESSMENTS,USECASES", help="size of the batch of B3 (default 10000,10; quick 250,8)"
    )
    parser.add_argument("--projection", action="store_true", help="also run the batch with the (now redundant) bench-only model patch")
    args = parser.parse_args()
    quick = args.quick
    sections = {s.strip() for s in args.only.split(",")}
    n = 2_000 if quick else 20_000
    repeats = 3 if quick else 5
    budget = 2.0 if quick else 8.0
    batch_shape = (250, 8) if quick else (10_000, 10)
    if args.batch_shape:
        batch_shape = tuple(int(v) for v in args.batch_shape.split(","))
    say(f"stratdsl benchmark ({'quick' if quick else 'full'}) — Python {sys.version.split()[0]}, {load()}")
    RESULTS["quick"] = quick
    RESULTS["load_start"] = os.getloadavg()
    a = b1 = b3 = None
    if "a" in sections:
        a = RESULTS["sections"]["three"] = part_a(n, repeats, budget)
        say()
    if "b1" in sections:
        b1 = RESULTS["sections"]["policy"] = part_b_policy(7 if not quick else 3, 5 if not quick else 3)
        say()
    if "b2" in sections:
        RESULTS["sections"]["examples"] = part_b_examples(9 if not quick else 3)
        say()
    if "b3" in sections:
        b3 = RESULTS["sections"]["batch"] = part_b_batch(*batch_shape, projection=args.projection)
        say()
    RESULTS["targets"] = targets(a, b1, b3)
    RESULTS["load_end"] = os.getloadavg()
    say(f"done — {load()}")
    if args.json:
        Path(args.json).write_text(json.dumps(RESULTS, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
