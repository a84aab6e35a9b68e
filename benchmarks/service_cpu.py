"""CPU per `POST /api/v1/evaluate`, in-process: `python benchmarks/service_cpu.py [--stages] [--outcomes]`
[--rounds 7] [--n 60] [--example PATH] [--profile OUT].

Without `--stages`: the service's ASGI app (`create_app`, policies/strategy.strat) called
directly, without HTTP (routing, middlewares, the request model, the threadpool, the response),
with the cabinet-comptable assessment (the full answer, or `--outcomes` for `outcomes_only`).
With `--stages`: the handler's steps one by one, as `evaluate_api` runs them (body and
validation, the compiled evaluation, `mark_assumptions`, `result_json`, W110, `json_bytes`).
Both freeze the start-up objects (`gc.freeze()`, as `serve` does), time `time.process_time()`
over `--rounds` rounds of `--n` requests and print the median CPU ms per request as JSON, with
the answer's size and hash (the same bytes before and after a change) and the load average.
`--profile OUT` writes a cProfile of `--n` requests instead (with `--stages`: the handler path,
which the ASGI form runs in a thread cProfile does not see). To compare two trees, run it with
`PYTHONPATH=<tree>/src`, alternately. Nothing is asserted on time (docs/performance.md).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import statistics
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
AS_OF = "2026-11-26"


def asgi_call(app, body: bytes):
    async def call() -> bytes:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": "/api/v1/evaluate", "raw_path": b"/api/v1/evaluate", "query_string": b"", "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8000),
        }
        sent = False

        async def receive():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)

        out: list[bytes] = []
        status: list[int] = []

        async def send(message):
            if message["type"] == "http.response.start":
                status.append(message["status"])
            elif message["type"] == "http.response.body":
                out.append(message.get("body", b""))

        await app(scope, receive, send)
        assert status == [200], (status, b"".join(out)[:300])
        return b"".join(out)

    loop = asyncio.new_event_loop()
    return lambda: (loop.run_until_complete(call()), None)


def stages_call(policy, raw: bytes):
    from stratdsl.backends.compiler import compiled
    from stratdsl.commands.service import _exact, json_bytes
    from stratdsl.engine import mark_assumptions
    from stratdsl.render.json_out import result_json
    from stratdsl.runtime.assessment import validate
    from stratdsl.runtime.relevance import irrelevant_answers

    when = date.fromisoformat(AS_OF)
    t = time.process_time

    def call():
        t0 = t()
        assessment = validate(policy, _exact(json.loads(raw, parse_float=Decimal)["assessment"]), "request")
        t1 = t()
        result = compiled(policy).evaluate(assessment, when, {})
        t2 = t()
        result = mark_assumptions(policy, assessment, when, {}, result)
        t3 = t()
        out = result_json(policy, result, "en")
        t4 = t()
        warnings = irrelevant_answers(policy, assessment)
        if warnings:
            out["warnings"] = [w.to_json() for w in warnings]
        t5 = t()
        data = json_bytes(out)
        t6 = t()
        times = {"body+validate": t1 - t0, "evaluate": t2 - t1, "mark_assumptions": t3 - t2, "result_json": t4 - t3, "W110": t5 - t4, "dumps": t6 - t5}
        return data, times

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stages", action="store_true", help="time the handler's steps one by one")
    parser.add_argument("--outcomes", action="store_true", help="outcomes_only (the ASGI form only)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--example", default=str(REPO / "examples" / "cabinet-comptable.yaml"))
    parser.add_argument("--profile", metavar="OUT")
    args = parser.parse_args()

    from stratdsl.commands.service import _freeze, create_app
    from stratdsl.engine import require_policy

    policy, _ = require_policy(str(REPO / "policies" / "strategy.strat"))
    data = json.loads(json.dumps(yaml.safe_load(Path(args.example).read_text(encoding="utf-8")), default=str))
    request = {"assessment": data, "as_of": AS_OF, **({"outcomes_only": True} if args.outcomes else {})}
    body = json.dumps(request).encode()
    call = stages_call(policy, body) if args.stages else asgi_call(create_app(policy), body)
    first, _ = call()
    for _ in range(20):
        call()
    _freeze()
    if args.profile:
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.n):
            call()
        profile.disable()
        profile.dump_stats(args.profile)
        return
    rounds: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        totals: dict[str, float] = {}
        t0 = time.process_time()
        for _ in range(args.n):
            answer, times = call()
            assert answer == first
            for key, value in (times or {}).items():
                totals[key] = totals.get(key, 0.0) + value
        totals["request"] = time.process_time() - t0
        for key, value in totals.items():
            rounds.setdefault(key, []).append(value / args.n * 1e3)
    print(
        json.dumps(
            {
                "median_ms": {key: round(statistics.median(values), 3) for key, values in rounds.items()},
                "request_ms_per_round": [round(v, 3) for v in rounds["request"]],
                "answer_bytes": len(first),
                "answer_sha256": hashlib.sha256(first).hexdigest()[:16],
                "load": [round(x, 2) for x in os.getloadavg()],
            }
        ),
        file=sys.stdout,
    )


if __name__ == "__main__":
    main()
