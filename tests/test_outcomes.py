"""Outcome-only answers: `engine.outcomes`, `CompiledPolicy.outcomes` and the service's
`outcomes_only` give exactly the outcomes of the full evaluation (None / null where a
decision is not decided), in the same order; `serve --workers` refuses a shared audit log."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from helpers import REPO
from stratdsl.engine import outcomes, require_policy, run
from stratdsl.runtime.assessment import read_data, validate

STRATEGY = REPO / "policies" / "strategy.strat"
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))


@pytest.fixture(scope="module")
def methodology():
    return require_policy(STRATEGY)[0]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_engine_outcomes_are_the_full_results_outcomes(methodology, example):
    data, spans = read_data(example, example.name)
    facts = validate(methodology, data, example.name, spans)
    for as_of in (date(2025, 2, 2), date(2026, 11, 26)):
        full, _ = run(methodology, facts, as_of)
        expected = [(d.decision, d.entity, d.outcome if d.status == "decided" else None) for d in full.decisions]
        assert outcomes(methodology, facts, as_of) == expected


def test_the_service_answers_outcomes_only(methodology):
    from fastapi.testclient import TestClient

    from stratdsl.commands.service import create_app

    client = TestClient(create_app(methodology), base_url="http://127.0.0.1")  # a host the service answers for
    for example in EXAMPLES:
        data = json.loads(json.dumps(yaml.safe_load(example.read_text(encoding="utf-8")), default=str))
        body = {"assessment": data, "as_of": "2026-11-26"}
        full = client.post("/api/v1/evaluate", json=body).json()
        short = client.post("/api/v1/evaluate", json={**body, "outcomes_only": True})
        assert short.status_code == 200
        expected = [{"decision": d["decision"], "entity": d.get("entity"), "outcome": d.get("outcome")} for d in full["decisions"]]
        assert short.json()["decisions"] == expected
        one = client.post("/api/v1/evaluate", json={**body, "outcomes_only": True, "decision": "quadrant"}).json()
        assert one["decisions"] == [d for d in expected if d["decision"] == "quadrant"]


def test_serve_with_workers_refuses_a_shared_audit_log(tmp_path):
    stratdsl = Path(sys.executable).with_name("stratdsl")
    command = [str(stratdsl)] if stratdsl.exists() else [sys.executable, "-m", "stratdsl"]
    done = subprocess.run(
        [*command, "serve", str(STRATEGY), "--workers", "2", "--audit-log", str(tmp_path / "log.jsonl"), "--port", "1"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert "--audit-log needs --workers 1" in done.stderr
    assert not (tmp_path / "log.jsonl").exists()


def test_outcomes_use_the_engines_decimal_context_not_the_callers():
    """The fused outcome function multiplies under the engine's context (28 digits), whatever
    precision the calling thread has set: the same answer as the reference evaluator."""
    import decimal

    from stratdsl.backends.compiler import compiled
    from stratdsl.engine import compile_text
    from stratdsl.runtime.evaluator import evaluate

    policy, _ = compile_text('policy "p" version "1"\ninput us: many u { x: number  y: number }\n'
                             "decision d for each u { hi when x * y > 2.24  otherwise lo }\n", "p.strat")
    facts = validate(policy, {"us": [{"id": "a", "x": Decimal("1.5"), "y": Decimal("1.5")}]})  # 2.25; 2.2 with 2 digits
    with decimal.localcontext() as caller:
        caller.prec = 2
        assert compiled(policy).outcomes(facts, date(2026, 1, 1)) == ("hi",)
        assert evaluate(policy, facts, date(2026, 1, 1)).decisions[0].outcome == "hi"


def test_the_fused_path_tests_each_entity_once_and_still_sees_unknown_fields():
    """An entity records at construction whether every value it holds is known (`Entity.known`),
    and an assessment which inputs have one such entity (`Assessment.single`): the generated
    outcome function then skips the per-field unknown tests. An entity with an
    unknown field, read or not, takes those tests, and an unknown field that a rule reads gives the
    reference's answer (undetermined: None), not a comparison with `Unknown`."""
    from stratdsl.backends.compiler import compiled
    from stratdsl.engine import compile_text
    from stratdsl.runtime.evaluator import evaluate

    policy, _ = compile_text('policy "p" version "1"\ninput us: many u { x: number  y: number  z: text }\n'
                             "decision d for each u { hi when x > 2 and y > 1  lo when x <= 2  otherwise mid }\n", "p.strat")
    rows = [
        {"id": "a", "x": Decimal(3), "y": Decimal(2), "z": "t"},  # all known
        {"id": "b", "x": Decimal(3), "y": Decimal(2)},  # z unknown, not read
        {"id": "c", "x": Decimal(3)},  # y unknown and read: undetermined
        {"id": "d", "x": Decimal(1)},  # y unknown, not needed by the rule that fires
    ]
    for row in rows:
        facts = validate(policy, {"us": [row]})
        assert facts.entities["us"][0].known is (len(row) == 4)
        assert ("us" in facts.single) is (len(row) == 4)  # one entity, all known: read in one step
        expected = tuple(r.outcome if r.status == "decided" else None for r in evaluate(policy, facts, date(2026, 1, 1)).decisions)
        assert compiled(policy).outcomes(facts, date(2026, 1, 1)) == expected
    facts = validate(policy, {"us": rows})
    assert facts.single == {}
    expected = tuple(r.outcome if r.status == "decided" else None for r in evaluate(policy, facts, date(2026, 1, 1)).decisions)
    assert compiled(policy).outcomes(facts, date(2026, 1, 1)) == expected == ("hi", "hi", None, "lo")
