"""atheris (libFuzzer) harness: policies.

    pip install atheris
    python fuzz/fuzz_policy.py -max_total_time=600 -timeout=60 -dict=fuzz/stratdsl.dict fuzz/work/policy

The first byte of an input picks how the rest is read:
  0  the text of a policy (UTF-8, undecodable bytes replaced);
  1  hypothesis' choice sequence for the grammar-based generator (`stratfuzz.policies`),
     then an assessment drawn from the policy's own inputs;
  2  hypothesis' choice sequence for byte/token mutations of the shipped policies.
Every input goes through `stratfuzz.policy_outcome` (check, analyse, compile) and, when
the policy checks, an evaluation: anything but a result or coded diagnostics raises,
and libFuzzer saves the input as crash-*/timeout-* under -artifact_prefix. Replay one
with `python fuzz/fuzz_policy.py CRASH_FILE`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

if __name__ == "__main__":
    import atheris

    with atheris.instrument_imports(include=["stratdsl", "lark", "yaml", "stratfuzz"]):
        import stratfuzz as sf
else:
    import stratfuzz as sf

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_SETTINGS = settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))
SECONDS = 20.0


@_SETTINGS
@given(sf.policies(max_decls=8, max_depth=4), st.data())
def _generated(text, data):
    _, policy = sf.policy_outcome(text, seconds=SECONDS)
    if policy is not None:
        assessment, is_json = data.draw(sf.assessment_texts(policy))
        sf.assessment_outcome(policy, assessment, is_json, seconds=SECONDS)


_SEEDS = list(sf.shipped_policies().values())


@_SETTINGS
@given(sf.mutated(_SEEDS))
def _mutated(text):
    _, policy = sf.policy_outcome(text, seconds=SECONDS)
    if policy is not None:
        sf.assessment_outcome(policy, "{}\n", False, seconds=SECONDS)


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
    mode, body = (data[0] % 3, data[1:]) if data else (0, b"")
    if mode == 0:
        _, policy = sf.policy_outcome(body.decode("utf-8", "replace"), seconds=SECONDS)
        if policy is not None:
            sf.assessment_outcome(policy, "{}\n", False, seconds=SECONDS)
    elif mode == 1:
        _generated.hypothesis.fuzz_one_input(body)
    else:
        _mutated.hypothesis.fuzz_one_input(body)


def seed_inputs() -> list[bytes]:
    """Starting inputs (mode 0): every shipped policy and the corpus entries that do not break the contract."""
    out = [b"\x00" + text.encode("utf-8") for text in sf.shipped_policies().values()]
    import json

    corpus = HERE.parent / "tests" / "fuzz_corpus"
    known = json.loads((corpus / "known_bugs.json").read_text(encoding="utf-8"))
    for path in sorted((corpus / "policy").glob("*.strat")):
        if f"policy/{path.name}" not in known and path.stat().st_size < 50_000:
            out.append(b"\x00" + path.read_bytes())
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
