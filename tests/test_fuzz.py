"""Fuzzing (fast part): hostile and random policies and assessments never get anything
but a result or coded diagnostics.

The contract, checked by the oracle in fuzz/stratfuzz.py for every input: checking,
compiling, reading, validating, evaluating (compiled, traced and with the reference
evaluator, which must agree), rendering (text, JSON) and recording (decision records,
the canonical hash) end with a result or a `StratError` whose diagnostics all carry a
code (and a span where a location makes sense) — never another exception, never a hang
(a per-example time limit, SIGALRM).

* generated policies: declarations and expressions drawn from the grammar over a fixed
  vocabulary (fuzz/stratfuzz.py `policies`), each evaluated on assessments drawn from
  its own input declarations;
* mutated policies: byte and token insertions, deletions, swaps and duplications on the
  shipped policies/*.strat, the test fixtures and generated policies;
* assessments drawn from a policy's schema, valid and not (wrong types, out of range,
  unknown keys, 1e999999, NaN/Infinity strings, deep nesting, duplicate ids, YAML oddities);
* the regression corpus tests/fuzz_corpus/ (see fuzz/write_corpus.py), replayed from
  files; entries listed in known_bugs.json are expected failures (strict: each one fails
  the suite once its bug is fixed, so that it is taken off the list);
* the atheris harnesses' entry points, on a few inputs (the long campaigns: fuzz/README.md).

Runs are derandomised (the same examples every time) and keep no example database. The
generators stay clear of the inputs of bugs already listed in docs/security.md (see
`EXPLORE_KNOWN_BUGS` in fuzz/stratfuzz.py) so that this file is green while they are open;
the corpus and tests/test_security.py hold those inputs. The whole file takes about 30 s.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import FIXTURES, REPO

sys.path.insert(0, str(REPO / "fuzz"))
import stratfuzz as sf

CORPUS = Path(__file__).resolve().parent / "fuzz_corpus"
KNOWN_BUGS: dict[str, str] = json.loads((CORPUS / "known_bugs.json").read_text(encoding="utf-8"))
EXPECTED: dict[str, str] = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
SECONDS = 10.0  # per stage and example; generous, examples take milliseconds


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


# ------------------------------------------------------------------ generated policies


@fuzz_settings(120)
@given(sf.policies(), st.data())
def test_generated_policies_end_in_a_result_or_coded_diagnostics(text, data):
    outcome, policy = sf.policy_outcome(text, seconds=SECONDS)
    assert outcome == "ok" or outcome.startswith(("rejected E", "compile refused E"))
    if policy is not None:
        for _ in range(2):
            assessment, is_json = data.draw(sf.assessment_texts(policy))
            sf.assessment_outcome(policy, assessment, is_json, seconds=SECONDS)


def test_the_policy_generator_mostly_writes_valid_policies():
    """A fuzzer whose policies all fail to parse tests nothing past the parser."""
    outcomes = []

    @fuzz_settings(40)
    @given(sf.policies())
    def collect(text):
        outcomes.append(sf.policy_outcome(text, seconds=SECONDS)[0])

    collect()
    assert sum(o == "ok" for o in outcomes) >= len(outcomes) // 3, outcomes


# ------------------------------------------------------------------ mutated policies

SEEDS = [
    *sf.shipped_policies().values(),
    *(p.read_text(encoding="utf-8") for p in sorted(FIXTURES.glob("*.strat"))),
    sf.PRELUDE
    + 'define total for each item label en "T" = score * w + count(item where ok)\n'
    + "decision risk for each item {\n  rule hi: high when kind = red and ok cites law \"Art. 1\" from 2026-08-02\n"
    + "    unless w > 2\n  low when score < threshold\n  otherwise medium\n}\n"
    + "bands level on mean(item, score) { low from 0 below 2.5  high from 2.5 to 5 }\n"
    + 'obligation notify for each item when risk = high cites law "Art. 2"\n',
]


@fuzz_settings(600)
@given(sf.mutated(SEEDS))
def test_mutated_policies_end_in_a_result_or_coded_diagnostics(text):
    outcome, policy = sf.policy_outcome(text, seconds=SECONDS)
    if policy is not None:
        sf.assessment_outcome(policy, "{}\n", False, seconds=SECONDS)
    assert outcome == "ok" or outcome.startswith(("rejected E", "compile refused E"))


@fuzz_settings(50)
@given(sf.mutated([sf.combined_methodology()]))
def test_mutated_methodology_in_one_file(text):
    """The whole reference methodology as one file, mutated: the checker's deeper paths."""
    sf.policy_outcome(text, seconds=SECONDS)


# ------------------------------------------------------------------ assessments from the schema

PRELUDE_POLICY = sf.policy_outcome(
    sf.PRELUDE
    + 'define total label en "Total" = sum(item, score) + org.amount\n'
    + 'define share for each item label en "Share" = if total > 0 then score / total else 0\n'
    + "define ranked for each item label en \"Rank\" = rank(item by score desc, w asc where ok)\n"
    + "decision tier for each item { top when ranked = 1  mid when score >= threshold  otherwise low }\n"
    + "bands maturity on mean(dim, level) { low from 0 below 2  high from 2 to 5 }\n"
    + "obligation review when org.flag and any(item, kind = red) cites law \"Art. 3\" from start\n"
)[1]


@fuzz_settings(300)
@given(st.data())
def test_assessments_end_in_a_result_or_coded_diagnostics(data):
    assert PRELUDE_POLICY is not None
    text, is_json = data.draw(sf.assessment_texts(PRELUDE_POLICY))
    sf.assessment_outcome(PRELUDE_POLICY, text, is_json, seconds=SECONDS)


@pytest.fixture(scope="module")
def methodology():
    outcome, policy = sf.policy_file_outcome(REPO / "policies" / "strategy.strat", seconds=60)
    assert policy is not None, outcome
    return policy


def test_assessments_of_the_reference_methodology(methodology):
    @fuzz_settings(40)
    @given(st.data())
    def run(data):
        text, is_json = data.draw(sf.assessment_texts(methodology))
        sf.assessment_outcome(methodology, text, is_json, differential=False, seconds=SECONDS)

    run()


# ------------------------------------------------------------------ the regression corpus


def _corpus_entries() -> list:
    entries = sorted(p for p in (CORPUS / "policy").glob("*.strat"))
    entries += sorted(p for p in (CORPUS / "assessment").iterdir() if p.suffix in (".yaml", ".json"))
    params = []
    for path in entries:
        key = path.relative_to(CORPUS).as_posix()
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[key])] if key in KNOWN_BUGS else []
        params.append(pytest.param(path, id=key, marks=marks))
    return params


@pytest.fixture(scope="module")
def corpus_policy():
    outcome, policy = sf.policy_file_outcome(CORPUS / "assessment" / "policy.strat")
    assert policy is not None, outcome
    return policy


def test_corpus_lists_only_existing_entries():
    for key in [*KNOWN_BUGS, *EXPECTED]:
        assert (CORPUS / key).is_file(), key


@pytest.mark.parametrize("path", _corpus_entries())
def test_corpus_entry(path, corpus_policy):
    key = path.relative_to(CORPUS).as_posix()
    if path.suffix == ".strat":
        outcome, policy = sf.policy_file_outcome(path, seconds=3)
        companion = path.with_suffix(".yaml")
        if policy is not None and companion.exists():
            outcome += " / " + sf.assessment_file_outcome(policy, companion, seconds=3)
    else:
        outcome = sf.assessment_file_outcome(corpus_policy, path, seconds=3)
    if key in EXPECTED:
        assert outcome.startswith(EXPECTED[key]), f"{key}: {outcome}"


# ------------------------------------------------------------------ the atheris harnesses


def _harness(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "fuzz" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["fuzz_policy", "fuzz_assessment"])
def test_harness_entry_points_run_without_atheris(name):
    """The harnesses import without atheris and accept raw bytes (what libFuzzer feeds them)."""
    harness = _harness(name)
    for data in (b"", b"\x00", b"\xff" * 7, b"\x01policy", *harness.seed_inputs()[:6]):
        harness.TestOneInput(data)


def test_atheris_harnesses_start(tmp_path):
    pytest.importorskip("atheris")
    import subprocess

    procs = [
        subprocess.Popen(
            [sys.executable, str(REPO / "fuzz" / f"{name}.py"), "-runs=5", "-seed=1", f"-artifact_prefix={tmp_path}/"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("fuzz_policy", "fuzz_assessment")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
