"""Run an atheris harness for a total time, going on after each new crash.

    pip install atheris
    python fuzz/run_atheris.py policy 600        # fuzz_policy.py for 10 minutes
    python fuzz/run_atheris.py assessment 600    # fuzz_assessment.py

Work files go to fuzz/work/ (ignored by git): the growing corpus (work/NAME/), the
crash and timeout inputs (work/artifacts-NAME/), the count of known-bug instances
(work/NAME-known.log: one line per hit, bug id first) and libFuzzer's log
(work/NAME-run-N.log). libFuzzer stops at the first crash (its -fork mode does not
work with atheris), so this loop restarts it on the same corpus until the time is
spent; instances of the bugs listed in docs/security.md do not stop it (see
`stratfuzz.known_bug`). At the end it prints a summary: executions, corpus size,
known-bug hits by id, and every new artifact.
"""

from __future__ import annotations

import collections
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    name, budget = sys.argv[1], float(sys.argv[2])
    extra = sys.argv[3:]
    work = HERE / "work"
    corpus, artifacts = work / name, work / f"artifacts-{name}"
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    known_log = work / f"{name}-known.log"
    env = {**os.environ, "STRATDSL_FUZZ_KNOWN_LOG": str(known_log)}
    start, runs, execs = time.monotonic(), 0, 0
    dictionary = ["-dict=" + str(HERE / "stratdsl.dict")] if name == "policy" else []
    while (left := budget - (time.monotonic() - start)) > 5:
        runs += 1
        log = work / f"{name}-run-{runs}.log"
        argv = [
            sys.executable, str(HERE / f"fuzz_{name}.py"), str(corpus),
            f"-max_total_time={int(left)}", "-timeout=60", "-max_len=65536", "-rss_limit_mb=4096",
            f"-artifact_prefix={artifacts}/", "-print_final_stats=1", *dictionary, *extra,
        ]
        with log.open("w") as out:
            subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=work)
        text = log.read_text(errors="replace")
        done = re.findall(r"stat::number_of_executed_units:\s*(\d+)", text)
        if done:
            execs += int(done[-1])
        else:
            found = re.findall(r"^#(\d+)", text, re.M)
            execs += int(found[-1]) if found else 0
    hits = collections.Counter(line.split("\t", 1)[0] for line in known_log.read_text().splitlines()) if known_log.exists() else {}
    print(f"{name}: {budget:.0f} s, {runs} libFuzzer run(s), about {execs} executions, corpus {len(list(corpus.iterdir()))} inputs")
    print(f"known-bug hits: {dict(sorted(hits.items()))}")
    for artifact in sorted(artifacts.iterdir()):
        print(f"new finding: {artifact}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
