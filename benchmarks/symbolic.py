"""Why-not time per decision on the reference methodology (the symbolic back end).

    python benchmarks/symbolic.py [EXAMPLE.yaml] [--budget SECONDS] [--decision NAME]... [--lines] [--unknown-in LOG]

For every decision of every entity and every outcome it did not take, asks the
solver for the closest verified change; prints, per decision, how many were
found (of which by trying values: `tried`) / none exist / unknown within the budget, and the median and worst time
per question — wall clock (what a person waits) and the process's CPU time (what
the question costs on a machine that is not shared). The budget is counted in
work, not on the clock (backends/budget.py): the found / none / unknown columns
and the changes are the same on every machine, the times are not.
`--decision` limits the run to some decisions. `--lines` also prints one line per question
(example, decision, entity, outcome now, outcome asked, found/none/unknown, facts changed,
seconds, and `clock` when a limit on the clock cut the search: that answer may differ on
another machine); `--unknown-in LOG` asks only the questions such a LOG lists as unknown (to ask
them again with a larger `--budget`).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

from stratdsl.backends import counterfactual
from stratdsl.engine import compile_policy, load_assessment, run

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> None:
    example = argv[0] if argv and not argv[0].startswith("--") else str(REPO / "examples" / "cabinet-comptable.yaml")
    budget = float(argv[argv.index("--budget") + 1]) if "--budget" in argv else 5.0
    only = {argv[i + 1] for i, a in enumerate(argv) if a == "--decision"}
    lines = "--lines" in argv
    asked = None
    if "--unknown-in" in argv:
        log = Path(argv[argv.index("--unknown-in") + 1]).read_text(encoding="utf-8").splitlines()
        asked = {tuple(line.split()[:5]) for line in log if len(line.split()) > 5 and line.split()[5] == "unknown"}
    policy, _ = compile_policy(REPO / "policies" / "strategy.strat")
    assessment = load_assessment(policy, example)
    as_of = date(2026, 9, 1)
    result, _ = run(policy, assessment, as_of)
    times: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    tally: dict[str, dict[str, int]] = defaultdict(lambda: {"found": 0, "none": 0, "unknown": 0, "tried": 0})
    for d in result.decisions:
        if only and d.decision not in only:
            continue
        for o in policy.decisions[d.decision].outcomes:
            if o.name == d.outcome:
                continue
            question = (d.decision, d.entity or "-", str(d.outcome), o.name)
            if asked is not None and (Path(example).stem, *question) not in asked:
                continue
            c0 = time.process_time()
            search = counterfactual.why_not(policy, assessment, d.decision, d.entity, o.name, as_of, timeout_ms=int(budget * 1000))
            cpu[d.decision].append(time.process_time() - c0)
            times[d.decision].append(search.seconds)
            key = "found" if search.counterfactuals else ("unknown" if search.note and "budget" in search.note else "none")
            tally[d.decision][key] += 1
            tally[d.decision]["tried"] += bool(getattr(search, "tried", False))
            if lines:
                facts = len(search.counterfactuals[0].changes) if search.counterfactuals else 0
                clock = " clock" if search.note and "limit on the clock" in search.note else ""  # (the answer may vary by machine)
                print(Path(example).stem, *question, key, facts, f"{search.seconds:.1f}{clock}", flush=True)
    print(f"{Path(example).name}, budget {budget} s per question")
    print(f"{'decision':28} {'found':>5} {'tried':>5} {'none':>5} {'unknown':>7} {'median s':>9} {'max s':>7} {'cpu med':>8} {'cpu max':>8}")
    for name, ts in times.items():
        t = tally[name]
        cs = cpu[name]
        print(
            f"{name:28} {t['found']:5} {t['tried']:5} {t['none']:5} {t['unknown']:7} {statistics.median(ts):9.2f} {max(ts):7.2f}"
            f" {statistics.median(cs):8.2f} {max(cs):8.2f}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
