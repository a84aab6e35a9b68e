"""Why-not budgets counted in work done, not in seconds read off a clock.

A why-not search divides its budget between stages and sizes, and what it finds
depends on where each share ends. Measured by a clock, the answer to one question
changed with the machine and its load (a change found on an idle laptop, "unknown"
while CI ran): an audit could not repeat it. So, while a search runs (`counted`), its
time is *charged*, not read: each solver call by z3's own count of the steps it took
(its resource count, limited per call with `rlimit`), each evaluation tried by what
it computed (the decisions and definitions in its memo tables, more for the unknown
ones). The same question, on the same policy, assessment and solver version, takes
the same path and gets the same answer on every machine.

A budget still reads as seconds: the charges are calibrated so that one second of
budget is about one second on the machine the benchmarks ran on (docs/performance.md).
Work the charges do not see (simplifying terms, checking a change with the evaluator's
validation) makes the wall-clock time longer than the budget, never the answer
different. A backstop on the CPU time of the thread that searches (`CPU_FACTOR` times
the budget, and a few seconds: other processes on a busy machine, and the service's
other requests, do not count; the solver runs in that thread) stops a search whose
steps the charges misjudge; only then may the answer depend on the machine
(`Meter.backstop` says it happened).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

#: z3's resource units charged as one millisecond (z3 5.4 on the reference methodology, on the
#: benchmarks' machine: from 2,300 a millisecond (a large non-linear proof) to 17,000 (the
#: proof over ranks abstracted), most calls 3,000 to 5,000)
UNITS_PER_MS = 4_500
#: the most units one call may take (z3 reads `rlimit` as a 32-bit count)
MAX_UNITS = 4_000_000_000
#: one decision or definition computed by the compiled evaluator (values tried), in milliseconds
COMPILED_STEP_MS = 0.003
#: more for a definition whose value is unknown (computed over the values it may take) and for
#: an undetermined decision (every rule walked, the statuses kept): an assessment with many
#: unanswered questions costs several times more per value (least squares over the nine
#: examples' decisions, benchmarks' machine: 0.0013 ms a value, 0.0075 more unknown, 0.039 more
#: undetermined, 0.02 an evaluation — charged with the changed assessment's making, as above)
UNKNOWN_STEP_MS = 0.015
UNDETERMINED_STEP_MS = 0.08
#: one decision or definition computed by the reference evaluator, in milliseconds
REFERENCE_STEP_MS = 0.015
#: a whole evaluation by the reference evaluator with the validation before it (a change
#: checked), per decision made, in milliseconds
EVALUATION_STEP_MS = 0.05
#: the backstop: this many times the budget, plus BACKSTOP_S seconds, of the thread's CPU time
#: (4 until 2026-12-08: on a machine about half as fast as the benchmarks', under load, the
#: work the charges do not see took some 5-second questions past it — 5 of usine-mecanique's
#: `→ candidate`, 4 of them then "unknown" where the benchmarks' machine answers)
CPU_FACTOR = 8
BACKSTOP_S = 5.0
#: one solver call's own backstop: this many times its share, plus CALL_SLACK_MS, of the
#: thread's CPU time (smt.check; z3 counts its steps slowly in some procedures: 340 a
#: millisecond, not 4,500)
CALL_FACTOR = 5
CALL_SLACK_MS = 2000
#: what the search's clock jumps by when the backstop stops it: every share is then spent
#: (a finite number: budgets are turned into whole milliseconds)
STOPPED_MS = 1e9


@dataclass
class Meter:
    """The work charged to one search, in milliseconds of budget."""

    budget_ms: int
    spent_ms: float = 0.0
    started: float = field(default_factory=time.thread_time)
    backstop: bool = False  # the backstop stopped the search (the answer may vary)

    def now(self) -> float:
        """Seconds of budget spent: the search's clock (`time.perf_counter` outside one)."""
        if not self.backstop and self.cpu_left_ms() <= 1:
            self.backstop = True
            self.spent_ms += STOPPED_MS
        return self.spent_ms / 1000

    def cpu_left_ms(self) -> int:
        """Milliseconds of the thread's CPU time before the backstop (at least 1)."""
        limit = self.budget_ms * CPU_FACTOR + BACKSTOP_S * 1000
        return max(int(limit - (time.thread_time() - self.started) * 1000), 1)


_ACTIVE: ContextVar[Meter | None] = ContextVar("stratdsl_budget_meter", default=None)


@contextmanager
def counted(budget_ms: int) -> Iterator[Meter]:
    """Charges the work done inside to a new meter (nested: to the outer one)."""
    outer = _ACTIVE.get()
    if outer is not None:
        yield outer
        return
    meter = Meter(budget_ms)
    token = _ACTIVE.set(meter)
    try:
        yield meter
    finally:
        _ACTIVE.reset(token)


def active() -> Meter | None:
    return _ACTIVE.get()


def now() -> float:
    """The search's clock in seconds: work charged inside `counted`, the wall clock outside."""
    meter = _ACTIVE.get()
    return meter.now() if meter is not None else time.perf_counter()


def compiled_ms(computed: int, unknown: int, undetermined: int) -> float:
    """The charge of one evaluation by the compiled evaluator (`CompiledPolicy.some`'s `work`)."""
    return COMPILED_STEP_MS * computed + UNKNOWN_STEP_MS * unknown + UNDETERMINED_STEP_MS * undetermined


def charge(ms: float) -> None:
    """Adds `ms` of work to the active meter (nothing outside `counted`)."""
    meter = _ACTIVE.get()
    if meter is not None:
        meter.spent_ms += ms
