"""atheris (libFuzzer) harness: assessments.

    pip install atheris
    python fuzz/fuzz_assessment.py -max_total_time=600 -timeout=60 fuzz/work/assessment

The first byte of an input picks how the rest is read:
  0  YAML text, 1  JSON text (UTF-8, undecodable bytes replaced), evaluated with the
     corpus policy tests/fuzz_corpus/assessment/policy.strat;
  2  hypothesis' choice sequence for an assessment drawn from the schema of a policy
     with records, lists and groups of every field type (`stratfuzz.assessment_texts`);
  3  the same for the shipped reference methodology (policies/strategy.strat).
Anything but a result or coded diagnostics raises (see `stratfuzz.assessment_outcome`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

if __name__ == "__main__":
    import atheris

    with atheris.instrument_imports(include=["stratdsl", "yaml", "stratfuzz"]):
        import stratfuzz as sf
else:
    import stratfuzz as sf

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

CORPUS = HERE.parent / "tests" / "fuzz_corpus" / "assessment"
SECONDS = 20.0
_SETTINGS = settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))

_CORPUS_POLICY = sf.policy_file_outcome(CORPUS / "policy.strat")[1]
_PRELUDE_POLICY = sf.policy_outcome(
    sf.PRELUDE
    + 'define total label en "Total" = sum(item, score) + org.amount\n'
    + 'define share for each item label en "Share" = if total > 0 then score / total else 0\n'
    + "decision tier for each item { top when rank(item by score desc) = 1  otherwise low }\n"
)[1]
_METHODOLOGY = None


def _methodology():
    global _METHODOLOGY
    if _METHODOLOGY is None:
        _METHODOLOGY = sf.policy_file_outcome(HERE.parent / "policies" / "strategy.strat", seconds=120)[1]
    return _METHODOLOGY


@_SETTINGS
@given(st.data())
def _structured(data):
    text, is_json = data.draw(sf.assessment_texts(_PRELUDE_POLICY))
    sf.assessment_outcome(_PRELUDE_POLICY, text, is_json, seconds=SECONDS)


@_SETTINGS
@given(st.data())
def _methodology_structured(data):
    policy = _methodology()
    text, is_json = data.draw(sf.assessment_texts(policy))
    sf.assessment_outcome(policy, text, is_json, differential=False, seconds=SECONDS)


KNOWN_LOG = os.environ.get("STRATDSL_FUZZ_KNOWN_LOG")


def TestOneInput(data: bytes) -> None:
    """One input; with STRATDSL_FUZZ_KNOWN_LOG=FILE, instances of known bugs are counted in FILE
    (one line each: bug id, message) instead of stopping the campaign."""
    try:
        _one_input(data)
    except sf.Unexpected as error:
        bug = sf.known_bug(error) if KNOWN_LOG else None
        if bug is None:
            raise
        with open(KNOWN_LOG, "a", encoding="utf-8") as log:
            log.write(f"{bug}\t{str(error)[:200]!r}\n")


def _one_input(data: bytes) -> None:
    mode, body = (data[0] % 4, data[1:]) if data else (0, b"")
    if mode in (0, 1):
        sf.assessment_outcome(_CORPUS_POLICY, body.decode("utf-8", "replace"), mode == 1, seconds=SECONDS)
    elif mode == 2:
        _structured.hypothesis.fuzz_one_input(body)
    else:
        _methodology_structured.hypothesis.fuzz_one_input(body)


def seed_inputs() -> list[bytes]:
    """Starting inputs: the example assessments and the corpus entries that do not break the contract."""
    import json

    known = json.loads((CORPUS.parent / "known_bugs.json").read_text(encoding="utf-8"))
    out = []
    for path in sorted((HERE.parent / "examples").glob("*.yaml")):
        out.append(b"\x00" + path.read_bytes())
    for path in sorted(CORPUS.iterdir()):
        if path.suffix in (".yaml", ".json") and f"assessment/{path.name}" not in known and path.stat().st_size < 50_000:
            out.append((b"\x01" if path.suffix == ".json" else b"\x00") + path.read_bytes())
    return out


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    if args and Path(args[0]).is_dir() and not any(Path(args[0]).iterdir()):
        for i, seed in enumerate(seed_inputs()):
            (Path(args[0]) / f"seed-{i:03d}").write_bytes(seed)
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
