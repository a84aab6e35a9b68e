"""A long hypothesis fuzzing campaign over the same generators and oracle as tests/test_fuzz.py.

    python fuzz/campaign.py --minutes 10            # generators stay clear of known bugs
    python fuzz/campaign.py --minutes 10 --known    # let them produce the known bugs' inputs too

Unlike the test suite, the campaign is randomised (a new seed each round), runs for a
fixed time, and does not stop at the first failure: every outcome that breaks the
contract is classified — the id of a bug already listed in docs/security.md
(`stratfuzz.known_bug`), or NEW with its stage and exception — counted, and the first
input of each kind is saved under fuzz/findings/ (ignored by git) for replay. The
summary printed at the end (inputs tried per target, outcomes, findings) is what
docs/security.md records.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--minutes", type=float, default=10.0)
parser.add_argument("--known", action="store_true", help="explore the inputs of known bugs too (STRATDSL_FUZZ_KNOWN=1)")
parser.add_argument("--round", type=int, default=100, help="examples per round and target")
ARGS = parser.parse_args()
if ARGS.known:
    os.environ["STRATDSL_FUZZ_KNOWN"] = "1"

import stratfuzz as sf  # noqa: E402
from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FINDINGS = HERE / "findings"
tried: collections.Counter = collections.Counter()
outcomes: collections.Counter = collections.Counter()
found: collections.Counter = collections.Counter()
saved: dict[str, Path] = {}


def classify(error: BaseException) -> str:
    bug = sf.known_bug(error)
    if bug:
        return bug
    match = re.match(r"^([^:]+): (\w+)", str(error))
    return "NEW " + (f"{match.group(1)} {match.group(2)}" if match else str(error)[:60])


def record(target: str, error: BaseException, *inputs: tuple[str, str]) -> None:
    kind = classify(error)
    found[kind] += 1
    if kind not in saved:
        FINDINGS.mkdir(exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9]+", "-", f"{kind}-{target}").strip("-")
        for suffix, text in inputs:
            path = FINDINGS / f"{stem}{suffix}"
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
            saved[kind] = path
        (FINDINGS / f"{stem}.txt").write_text(str(error), encoding="utf-8", errors="replace")


SEEDS = list(sf.shipped_policies().values()) + [sf.combined_methodology()]
PRELUDE = sf.policy_outcome(sf.PRELUDE + 'define t label en "t" = sum(item, score) + org.amount\n')[1]
METHOD = sf.policy_file_outcome(HERE.parent / "policies" / "strategy.strat", seconds=120)[1]


def generated(data) -> None:
    text = data.draw(sf.policies(max_decls=8, max_depth=4))
    tried["generated policies"] += 1
    try:
        outcome, policy = sf.policy_outcome(text, seconds=30)
        outcomes[f"policy {outcome.split(' ')[0]}"] += 1
        if policy is not None:
            for _ in range(3):
                assessment, is_json = data.draw(sf.assessment_texts(policy))
                tried["assessments of generated policies"] += 1
                try:
                    outcomes["assessment " + sf.assessment_outcome(policy, assessment, is_json, seconds=30).split(" ")[0]] += 1
                except sf.Unexpected as error:
                    record("generated-assessment", error, (".strat", text), (".json" if is_json else ".yaml", assessment))
    except sf.Unexpected as error:
        record("generated", error, (".strat", text))


def mutated(data) -> None:
    text = data.draw(sf.mutated(SEEDS))
    tried["mutated policies"] += 1
    try:
        outcome, policy = sf.policy_outcome(text, seconds=30)
        outcomes[f"policy {outcome.split(' ')[0]}"] += 1
        if policy is not None:
            sf.assessment_outcome(policy, "{}\n", False, seconds=30)
    except sf.Unexpected as error:
        record("mutated", error, (".strat", text))


def assessments(data) -> None:
    policy, name = (PRELUDE, "prelude") if data.draw(st.integers(0, 3)) else (METHOD, "methodology")
    text, is_json = data.draw(sf.assessment_texts(policy))
    tried[f"assessments ({name})"] += 1
    try:
        outcomes["assessment " + sf.assessment_outcome(policy, text, is_json, differential=name == "prelude", seconds=30).split(" ")[0]] += 1
    except sf.Unexpected as error:
        record(f"assessment-{name}", error, (".json" if is_json else ".yaml", text))


def run_round(body, seed_value: int) -> None:
    @seed(seed_value)
    @settings(max_examples=ARGS.round, database=None, deadline=None, suppress_health_check=list(HealthCheck), derandomize=False)
    @given(st.data())
    def one(data):
        body(data)

    one()


def main() -> int:
    end = time.monotonic() + ARGS.minutes * 60
    rnd = random.Random()
    rounds = 0
    while time.monotonic() < end:
        for body in (generated, mutated, assessments):
            if time.monotonic() >= end:
                break
            run_round(body, rnd.randrange(2**32))
            rounds += 1
    print(f"campaign: {ARGS.minutes:g} min, {rounds} rounds, known-bug inputs {'on' if ARGS.known else 'off'}")
    for target, n in sorted(tried.items()):
        print(f"  tried {n:6d} {target}")
    for outcome, n in sorted(outcomes.items()):
        print(f"  outcome {n:6d} {outcome}")
    for kind, n in sorted(found.items()):
        print(f"  FOUND {n:6d} {kind}" + (f" (first: {saved[kind]})" if kind in saved else ""))
    return 1 if any(k.startswith("NEW") for k in found) else 0


if __name__ == "__main__":
    sys.exit(main())
