"""Time of `prove` per assertion, and of the overlap check of `unique` decisions, on
the reference methodology (the symbolic back end).

    python benchmarks/prove_bench.py [--entities N] [--budget SECONDS] [--only NAME]…

Prints, per assertion of policies/assertions.strat (the monotone one included),
its status and the wall and CPU seconds it took; the machine's load average
first, since the solver's time limits are wall-clock (docs/performance.md).
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date
from pathlib import Path

from stratdsl.backends import prove
from stratdsl.engine import compile_policy

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> None:
    entities = int(argv[argv.index("--entities") + 1]) if "--entities" in argv else 2
    budget = float(argv[argv.index("--budget") + 1]) if "--budget" in argv else 120.0
    only = tuple(argv[i + 1] for i, a in enumerate(argv) if a == "--only")
    policy, _ = compile_policy(REPO / "policies" / "strategy.strat")
    print(f"load average {os.getloadavg()[0]:.1f}; {entities} entities per list at most, budget {budget:g} s per assertion")
    print(f"{'assertion':28} {'status':>14} {'wall s':>8} {'cpu s':>7}")
    for name in policy.assertions:
        if only and name not in only:
            continue
        wall, cpu = time.perf_counter(), time.process_time()
        (p,) = prove.prove(policy, date(2026, 9, 1), {}, entities, int(budget * 1000), (name,))
        print(f"{name:28} {p.status:>14} {time.perf_counter() - wall:8.2f} {time.process_time() - cpu:7.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
