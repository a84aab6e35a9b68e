"""Proofs remembered across runs, looked up without the solver.

`check` tries every assertion on each run; a proof holds as long as the policy's files, the
date, the number of entities and the engine that proved it are the same, so a second `check`
of an unchanged policy need not ask the solver again. An "unknown within the budget" is kept
too, with its budget: the same question with the same or a smaller budget is reported as it
was (W130 says it is an earlier run's answer) instead of spending the budget again on every
`check`; a larger budget, `stratdsl prove` or `--no-cache` asks again. A counterexample is not
kept: it must be shown, with its assessment, every time.

This module imports neither z3 nor the runtime (pydantic): with every proof remembered,
`check` costs what parsing and checking cost (importing backends/prove.py alone took
~0.5 s). `prove` is imported, by the caller, only when an assertion is left to prove.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..language.messages import N_, Msg

if TYPE_CHECKING:
    from ..language import ir

#: the fixed reasons backends/prove.py gives for "unknown", said in the user's language by `detail_msg`
_DETAILS = frozenset((
    N_("the solver's counterexample is not a valid assessment"),
    N_("the solver's counterexample was not confirmed by the evaluator"),
    N_("a counterexample exists only with numbers that are not decimals"),
    N_("the solver's counterexample could not be completed into two assessments"),
    N_("it reads whether a computed value is known, which the solver does not settle as the evaluator does: no proof"),
))
_BUDGET = re.compile(r"unknown within the time budget(?: \(proven for up to (\d+) entities per list\))?")


def detail_msg(detail: str) -> str:
    """The reason an assertion is unknown as a message that knows its template, when it is
    one of the prover's own (also read back from the cache, where it is plain text); a
    diagnostic's message as it is."""
    if detail in _DETAILS:
        return Msg(detail)
    budget = _BUDGET.fullmatch(detail)
    if budget and budget.group(1) is not None:
        return Msg(N_("unknown within the time budget (proven for up to {n} entities per list)"), n=budget.group(1))
    if budget:
        return Msg(N_("unknown within the time budget"))
    return detail


PROVEN = "proven"
COUNTEREXAMPLE = "counterexample"
UNKNOWN = "unknown"

# The modules whose source decides what a proof means (with cache.fingerprint's own list).
_PROOF_SHAPING = ("backends/smt.py", "backends/prove.py", "runtime/evaluator.py", "runtime/values.py", "language/checker.py")


def _proof_key(policy: ir.CheckedPolicy, assertion: str, as_of: date, max_entities: int) -> str | None:
    from ..language import cache

    package = Path(__file__).resolve().parents[1]
    parts = ["proof", assertion, as_of.isoformat(), str(max_entities)]
    for name in _PROOF_SHAPING:
        try:
            parts.append(hashlib.sha256((package / name).read_bytes()).hexdigest())
        except OSError:
            return None
    for source in sorted(policy.source_map.files(), key=lambda s: s.name):
        if source.sha256 is None:
            return None
        parts += [source.name, source.sha256]
    return cache.key(*parts)


@dataclass(frozen=True)
class Remembered:
    """An earlier run's "unknown within the budget", as `check` reads a `prove.Proof`."""

    assertion: str
    detail: str
    status: str = UNKNOWN
    remembered: bool = True
    entity: str | None = None
    counterexample: dict[str, Any] | None = None
    raised: dict[str, Any] | None = None
    lowered: tuple[str, str] | None = None


def prove_remembered(policy: ir.CheckedPolicy, as_of: date, max_entities: int, timeout_ms: int, prove: Callable[..., list[Any]]) -> list[Any]:
    """`prove` without params, skipping the assertions proven by an earlier run of the same policy
    files, date, size and engine (language/cache.py: `--no-cache` turns it off), and reporting
    as it was one left unknown by an earlier run with at least this budget; what is found now is
    remembered. Returns the answers (`prove.Proof`, or `Remembered`) other than proofs kept.
    `prove` is `backends.prove.prove`, passed in so that this module need not import it."""
    from ..language import cache

    keys = {name: _proof_key(policy, name, as_of, max_entities) for name in policy.assertions}
    todo: list[str] = []
    kept: dict[str, Remembered] = {}
    for name, k in keys.items():
        said = cache.get("proofs", k, str) if k is not None else None
        if said == PROVEN:
            continue
        if said and said.startswith(UNKNOWN + " "):
            budget, _, detail = said[len(UNKNOWN) + 1 :].partition(" ")
            if budget.isdigit() and int(budget) >= timeout_ms:
                kept[name] = Remembered(name, detail)
                continue
        todo.append(name)
    found: list[Any] = []
    if todo:
        found = prove(policy, as_of, None, max_entities, timeout_ms, only=tuple(todo))
    for p in found:
        k = keys.get(p.assertion)
        if k is None:
            continue
        if p.status == PROVEN:
            cache.put("proofs", k, PROVEN)
        elif p.status == UNKNOWN:
            cache.put("proofs", k, f"{UNKNOWN} {timeout_ms} {p.detail or ''}")
    return sorted([*found, *kept.values()], key=lambda p: list(policy.assertions).index(p.assertion))


def remember_proofs(policy: ir.CheckedPolicy, as_of: date, params: dict[str, Any] | None, proofs: list[Any]) -> None:
    """Keep what `stratdsl prove` proved, for `check`: a proof for 0 to N ≥ 1 entities per
    list, without fixed parameters, covers `check`'s question (one entity), so an assertion
    `check` had left unknown is, after `prove` decides it, no longer reported as unknown."""
    from ..language import cache

    if params:
        return
    for p in proofs:
        if p.status == PROVEN and p.entities >= 1:
            k = _proof_key(policy, p.assertion, as_of, 1)
            if k is not None:
                cache.put("proofs", k, PROVEN)
