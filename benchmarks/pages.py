"""CPU time of the web questionnaire's pages: `python benchmarks/pages.py [--repeat 200] [--json OUT]`.

Renders, in-process, the pages `stratdsl serve` builds on each request for
policies/strategy.strat: the empty form (GET /questionnaire), the form with the
cabinet-comptable answers (what "Complete my answers" shows), and the pre-diagnosis
(its embedded report replaced by a fixed stand-in: the report has its own benchmark). Prints the median and 90th percentile per page,
in milliseconds. The evaluation itself is done once, outside the timings. Nothing is
asserted on time (docs/performance.md, "Web questionnaire pages").
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
POLICY = REPO / "policies" / "strategy.strat"
EXAMPLE = REPO / "examples" / "cabinet-comptable.yaml"


def timed(fn, repeat: int) -> dict[str, float]:
    fn()  # warm: the environment's templates compiled, the catalogue loaded
    samples = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        samples.append((time.process_time() - start) * 1000)
    samples.sort()
    return {"median_ms": round(statistics.median(samples), 3), "p90_ms": round(samples[int(len(samples) * 0.9) - 1], 3)}


def main() -> None:
    import yaml

    from stratdsl.commands import service
    from stratdsl.engine import require_policy, run
    from stratdsl.runtime.assessment import validate

    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    policy, _ = require_policy(POLICY)
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    values, count, _where = service.form_values(policy, data, "fr")
    assessment = validate(policy, data, "example")
    result, tracer = run(policy, assessment, date(2026, 11, 26), trace=True)
    csrf = "0" * 64
    pages = {
        "form, empty": lambda: service.render_form(policy, "fr", service._counts(policy, {}), {}, {}, csrf=csrf),
        "form, answered": lambda: service.render_form(policy, "fr", count, values, {}, csrf=csrf),
        "pre-diagnosis": lambda: service.render_result(policy, data, assessment, result, tracer, "fr", csrf=csrf),
    }
    # the embedded report is the report's own cost (benchmarks/bench.py): a fixed stand-in here
    service._report_html = lambda *args: "<p>report</p>"
    out = {}
    for name, fn in pages.items():
        out[name] = timed(fn, args.repeat)
        print(f"{name:32} median {out[name]['median_ms']:8.3f} ms   p90 {out[name]['p90_ms']:8.3f} ms")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
