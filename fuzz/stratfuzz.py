"""Fuzzing support shared by tests/test_fuzz.py and the atheris harnesses in this folder.

* the oracle: `policy_outcome(text)` and `assessment_outcome(policy, text, is_json)` run
  the whole pipeline (parse, lower, check, analyse, compile, evaluate compiled and
  traced, render text, JSON and decision records) and return a short summary; any
  outcome other than a result or a `StratError` whose diagnostics all carry a code
  (and a span where a location makes sense) raises `Unexpected`;
* a per-example time limit (`time_limit`, SIGALRM): a hang is a failure too;
* hypothesis strategies: `policies()` writes policies from the grammar (a small
  generator of declarations and expressions over a fixed vocabulary), `mutated()`
  inserts, deletes and swaps bytes and tokens of valid policies (the shipped
  `policies/*.strat` included), `assessment_texts(policy)` writes assessments from a
  checked policy's own input declarations, valid and invalid (wrong types, out of
  range, unknown keys, huge numbers, NaN/Infinity, deep nesting, duplicate ids).

`EXPLORE_KNOWN_BUGS` (default off; the long campaigns set it with
STRATDSL_FUZZ_KNOWN=1) is for the generators to guard the inputs of bugs that are
reported in docs/security.md but still open, so that the fast test suite stays green
while the campaigns keep looking at those areas. No bug is open today, so no
generator is guarded: the fast suite explores every area the campaigns do.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import signal
import threading
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from stratdsl.backends.compiler import compiled
from stratdsl.engine import compile_policy, compile_text, run
from stratdsl.language import ir
from stratdsl.language.diagnostics import Diagnostic, StratError
from stratdsl.language.source import SourceFile
from stratdsl.language.syntax import parse
from stratdsl.language.types import BoolT, DateT, EnumT, ListT, NumberT, TextT
from stratdsl.provenance.records import decision_records
from stratdsl.render import json_out
from stratdsl.render import text as text_out
from stratdsl.runtime.assessment import parse_data, read_data, validate
from stratdsl.runtime.evaluator import evaluate as reference_evaluate
from stratdsl.runtime.values import canonical_json, sha256_text

REPO = Path(__file__).resolve().parents[1]
POLICIES = REPO / "policies"
EXPLORE_KNOWN_BUGS = os.environ.get("STRATDSL_FUZZ_KNOWN") == "1"
AS_OF = date(2026, 9, 1)

# ------------------------------------------------------------------ the oracle

CODE = re.compile(r"^[EW]\d{3}$")
#: Codes that always point at a place in a file (a policy line, an assessment value).
LOCATED = {f"E{n:03d}" for n in (1, 2, 3, *range(10, 46))} | {"W101", "W102", "W103", "W106", "E201", "E302", "E306"}


#: The generated Python of a policy is normally 1–12 times its text: more means a blow-up.
GROWTH = 50


class Unexpected(AssertionError):
    """An outcome the security contract forbids: any exception but a coded StratError, or a hang."""


class Timeout(BaseException):
    """Raised by the alarm; a BaseException so that no `except Exception` in the code under test eats it."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail with Timeout when the block runs longer than `seconds` (main thread, POSIX only)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    fired: list[bool] = []
    active = [True]

    def on_alarm(signum, frame):
        if active[0]:
            fired.append(True)
            raise Timeout(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.25)  # and again every 0.25 s, in case one is swallowed
    try:
        yield
    finally:
        while True:  # an alarm may still land here: the handler is disarmed first, so a retry always ends
            try:
                active[0] = False
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
                break
            except Timeout:
                continue
    if fired:  # the alarm went off where its exception was swallowed (a gc callback, a __del__)
        raise Timeout(f"no answer within {seconds} s")


def check_diagnostics(diagnostics: list[Diagnostic], where: str) -> None:
    """Every diagnostic has a well-formed code and a message; located codes have a span."""
    for d in diagnostics:
        if not isinstance(d, Diagnostic):
            raise Unexpected(f"{where}: a diagnostic that is not a Diagnostic: {d!r}")
        if not isinstance(d.code, str) or not CODE.match(d.code):
            raise Unexpected(f"{where}: diagnostic without a valid code: {d!r}")
        if not d.message:
            raise Unexpected(f"{where}: diagnostic {d.code} without a message")
        if d.code in LOCATED and d.span is None:
            raise Unexpected(f"{where}: diagnostic {d.code} ({d.message}) has no span")


def _guard(where: str, func: Callable[[], Any], seconds: float) -> tuple[Any, StratError | None]:
    """Run one stage: (value, None), or (None, the StratError) — anything else is Unexpected."""
    try:
        with time_limit(seconds):
            return func(), None
    except StratError as error:
        if not error.diagnostics:
            raise Unexpected(f"{where}: StratError without diagnostics") from error
        check_diagnostics(error.diagnostics, where)
        return None, error
    except Timeout as error:
        raise Unexpected(f"{where}: hang ({error})") from None
    except Unexpected:
        raise
    except BaseException as error:  # RecursionError, MemoryError, ValueError, SyntaxError …
        raise Unexpected(f"{where}: {type(error).__name__}: {str(error)[:300]}") from error


def policy_outcome(text: str, name: str = "fuzz.strat", seconds: float = 10.0) -> tuple[str, ir.CheckedPolicy | None]:
    """Check (and compile) one in-memory policy. Returns a summary and the checked policy or None."""
    return _checked_outcome(lambda: compile_text(text, name), seconds)


def policy_file_outcome(path: str | Path, seconds: float = 10.0) -> tuple[str, ir.CheckedPolicy | None]:
    """The same for a policy file and its imports (reading, size and folder checks included)."""
    return _checked_outcome(lambda: compile_policy(path), seconds)


def _checked_outcome(load: Callable[[], Any], seconds: float) -> tuple[str, ir.CheckedPolicy | None]:
    value, error = _guard("check", load, seconds)
    if error is not None:
        return "rejected " + ",".join(sorted({d.code for d in error.diagnostics})), None
    policy, diagnostics = value
    check_diagnostics(diagnostics, "check")
    if policy is None:
        if not any(d.is_error for d in diagnostics):
            raise Unexpected("check: policy refused without an error diagnostic")
        return "rejected " + ",".join(sorted({d.code for d in diagnostics if d.is_error})), None
    code, error = _guard("compile", lambda: compiled(policy), seconds)
    if error is not None:
        return "compile refused " + ",".join(sorted({d.code for d in error.diagnostics})), None
    size = sum(len(source.text) for source in policy.source_map.files())
    if len(code.source) > GROWTH * size + 20_000:
        raise Unexpected(f"compile: the generated code is {len(code.source) // max(size, 1)} times the size of the policy (exponential growth)")
    return "ok", policy


def _result_key(outcome: tuple[Any, StratError | None]) -> Any:
    value, error = outcome
    if error is not None:
        return ("error", tuple(sorted({d.code for d in error.diagnostics})))
    return ("result", value[0])


def assessment_outcome(
    policy: ir.CheckedPolicy,
    text: str,
    is_json: bool,
    as_of: date = AS_OF,
    differential: bool = True,
    seconds: float = 10.0,
) -> str:
    """Read, validate, evaluate (compiled and traced), render and record one assessment."""
    name = "fuzz.json" if is_json else "fuzz.yaml"
    return _assessment_chain(policy, lambda: parse_data(text, name, json_format=is_json), name, as_of, differential, seconds)


def assessment_file_outcome(policy: ir.CheckedPolicy, path: Path, as_of: date = AS_OF, differential: bool = True, seconds: float = 10.0) -> str:
    """The same for an assessment file (size limit, UTF-8 decoding and JSON/YAML choice included)."""
    return _assessment_chain(policy, lambda: read_data(path, path.name), path.name, as_of, differential, seconds)


def _assessment_chain(
    policy: ir.CheckedPolicy, read: Callable[[], Any], name: str, as_of: date, differential: bool, seconds: float
) -> str:
    parsed, error = _guard("read", read, seconds)
    if error is not None:
        return "unreadable " + ",".join(sorted({d.code for d in error.diagnostics}))
    data, spans = parsed
    facts, error = _guard("validate", lambda: validate(policy, data, name, spans), seconds)
    if error is not None:
        return "invalid " + ",".join(sorted({d.code for d in error.diagnostics}))
    fast = _guard("eval", lambda: run(policy, facts, as_of), seconds)
    traced = _guard("eval --trace", lambda: run(policy, facts, as_of, trace=True), seconds)
    if differential:
        reference = _guard("reference", lambda: (reference_evaluate(policy, facts, as_of), None), seconds)
        if _result_key(fast) != _result_key(reference):
            raise Unexpected(f"the compiled and the reference evaluators disagree: {_result_key(fast)!r} != {_result_key(reference)!r}")
    if fast[1] is not None:
        return "eval refused " + ",".join(sorted({d.code for d in fast[1].diagnostics}))
    result, _ = fast[0]
    _guard("render json", lambda: json_out.dumps(json_out.result_json(policy, result, "en")).encode("utf-8"), seconds)
    _guard("render text", lambda: text_out.render_result(policy, result, "fr", name).encode("utf-8"), seconds)
    if traced[1] is None:
        t_result, tracer = traced[0]
        _guard(
            "records",
            lambda: json_out.dumps(list(decision_records(policy, facts, t_result, tracer, "en"))).encode("utf-8"),
            seconds,
        )
    _guard("hash", lambda: sha256_text(canonical_json(facts.data)), seconds)
    return "evaluated"


# ------------------------------------------------------------------ seeds

PRELUDE = """\
policy "Fuzz" version "1" label fr "Fuzz" en "Fuzz"
source law "Law (Regulation 1/2)" url "https://example.org/law"
source method "Method"
enum color label en "Color" { red label en "Red"  green  blue }
input org label en "Organisation" {
  n: integer 0..100 label en "N"
  flag: bool
  kind: color
  amount: number 0..1000
  day: date
  tags: list of color
  note: text
  mode2: enum {fast, slow}
}
input items: many item {
  score: number 0..5
  ok: bool
  kind: color
  w: integer 0..3
}
input dims: group dim over color {
  level: number 0..5
  done: bool
}
param threshold: number = 3 label en "Threshold"
param strict: bool = false
param start: date = 2026-01-01
param speed: enum {fast, slow} = fast
"""


def strip_imports(text: str) -> str:
    return re.sub(r'(?m)^\s*import\s+"[^"\n]*"\s*$', "", text)


def shipped_policies() -> dict[str, str]:
    """The shipped policy files (imports removed so that each file checks on its own)."""
    return {p.name: strip_imports(p.read_text(encoding="utf-8")) for p in sorted(POLICIES.glob("*.strat"))}


def combined_methodology() -> str:
    """Every shipped policy file in one text, one header: a single file that checks."""
    parts = []
    for path in sorted(POLICIES.glob("*.strat")):
        text = path.read_text(encoding="utf-8")
        header = parse(SourceFile(path.name, text)).children[0]
        parts.append(strip_imports(text[header.meta.end_pos :]))
    return 'policy "all" version "1"\n' + "\n".join(parts)


# ------------------------------------------------------------------ policies from the grammar

PAYLOADS = [
    "__import__('os').system('id')",
    '"); import os; os.system("id"); ("',
    "{{7*7}} ${7*7} %s %n",
    "\\\"; exec('x')",
    "line\\nbreak",
    "Ünïcödé — ≤ ≥ « » 🙂",
    "",
]


def _string(draw) -> str:
    text = draw(st.one_of(st.sampled_from(PAYLOADS), st.text(alphabet=st.characters(blacklist_characters='"\\\n\r', blacklist_categories=("Cs",)), max_size=12)))
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_DATES = ["2026-01-01", "2026-08-02", "2027-12-31", "2024-02-29", "2026-09-01"]
_BAD_DATES = ["2026-02-30", "2026-13-01", "0000-00-00"]


class _Vocab:
    """The names an expression may use in one scope (global, or for each item)."""

    def __init__(self, per_item: bool) -> None:
        self.per_item = per_item
        self.nums = ["org.n", "org.amount", "threshold", "dims.red.level", "dims.blue.level"]
        self.bools = ["org.flag", "strict", "dims.green.done"]
        self.decisions: list[tuple[str, list[str]]] = []
        if per_item:
            self.nums += ["score", "w"]
            self.bools += ["ok"]


def _num(draw, v: _Vocab, depth: int, ifs: int) -> str:
    leaves = [
        st.sampled_from(v.nums),
        st.integers(0, 20).map(str),
        st.decimals(min_value=0, max_value=100, places=2).map(str),
        st.just("count(item where ok)"),
        st.just("sum(item, score)"),
        st.just("mean(item, score where kind = red)"),
        st.just("max(item, w)"),
        st.just("weighted_mean(item, score, w)"),
        st.just("mean(dim, level)"),
        st.just("size(org.tags)"),
    ]
    if v.per_item:
        leaves.append(st.just("rank(item by score desc, w asc where ok)"))
    if depth <= 0:
        return draw(st.one_of(*leaves))
    kind = draw(st.integers(0, 9))
    if kind <= 3:
        return draw(st.one_of(*leaves))
    if kind == 4:
        op = draw(st.sampled_from(["+", "-", "*", "/"]))
        return f"{_num(draw, v, depth - 1, ifs)} {op} {_num(draw, v, depth - 1, ifs)}"
    if kind == 5:
        return f"({_num(draw, v, depth - 1, ifs)})"
    if kind == 6:
        fn = draw(st.sampled_from(["abs", "floor", "ceil"]))
        return f"{fn}({_num(draw, v, depth - 1, ifs)})"
    if kind == 7:
        places = draw(st.integers(0, 4) if draw(st.booleans()) else st.integers(0, 40))  # past 20: E024
        return f"round({_num(draw, v, depth - 1, ifs)}, {places})"
    if kind == 8 and ifs > 0:
        if draw(st.integers(0, 3)) == 0:  # a quantity that may not exist
            return f'(if {_bool(draw, v, depth - 1, ifs - 1)} then {_num(draw, v, depth - 1, ifs - 1)} else not applicable "n/a")'
        return f"(if {_bool(draw, v, depth - 1, ifs - 1)} then {_num(draw, v, depth - 1, ifs - 1)} else {_num(draw, v, depth - 1, ifs - 1)})"
    fn = draw(st.sampled_from(["min", "max"]))
    return f"{fn}({_num(draw, v, depth - 1, ifs)}, {_num(draw, v, depth - 1, ifs)})"


def _bool(draw, v: _Vocab, depth: int, ifs: int) -> str:
    leaves = [
        st.sampled_from(v.bools),
        st.sampled_from(["true", "false"]),
        st.just("org.kind = red"),
        st.just("org.kind in {red, blue}"),
        st.just("red in org.tags"),
        st.just("known(org.n)"),
        st.just("any(item, ok)"),
        st.just("all(item, ok where kind != green)"),
        st.sampled_from([f"org.day < {d}" for d in _DATES] + ["as_of >= start", "speed = slow", "org.mode2 = fast"]),
    ]
    if v.per_item:
        leaves.append(st.just("kind not in {green}"))
    for name, outcomes in v.decisions:
        leaves.append(st.sampled_from([f"{name} = {o}" for o in outcomes]))
    if depth <= 0:
        return draw(st.one_of(*leaves))
    kind = draw(st.integers(0, 8))
    if kind <= 2:
        return draw(st.one_of(*leaves))
    if kind == 3:
        return f"not {_bool(draw, v, depth - 1, ifs)}"
    if kind == 4:
        op = draw(st.sampled_from(["and", "or"]))
        return f"({_bool(draw, v, depth - 1, ifs)} {op} {_bool(draw, v, depth - 1, ifs)})"
    if kind == 5:
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        return f"{_num(draw, v, depth - 1, ifs)} {op} {_num(draw, v, depth - 1, ifs)}"
    if kind == 6:
        if draw(st.integers(0, 3)) == 0:
            return f"{_num(draw, v, depth - 1, ifs)} is {draw(st.sampled_from(['', 'not ']))}applicable"
        return f"{_num(draw, v, depth - 1, ifs)} between {_num(draw, v, 0, ifs)} and {_num(draw, v, 0, ifs)}"
    if kind == 7 and ifs > 0:
        return f"(if {_bool(draw, v, depth - 1, ifs - 1)} then {_bool(draw, v, depth - 1, ifs - 1)} else {_bool(draw, v, depth - 1, ifs - 1)})"
    return f"({_bool(draw, v, depth - 1, ifs)})"


def _meta(draw) -> str:
    out = ""
    if draw(st.booleans()):
        out += f" label fr {_string(draw)} en {_string(draw)}"
    if draw(st.integers(0, 4)) == 0:
        out += f" help en {_string(draw)}"
    return out


def _cites(draw) -> str:
    return "".join(f" cites {draw(st.sampled_from(['law', 'method']))} {_string(draw)}" for _ in range(draw(st.integers(0, 2))))


def _dating(draw) -> str:
    out = ""
    if draw(st.integers(0, 3)) == 0:
        out += f" from {draw(st.sampled_from([*_DATES, 'start'] + (_BAD_DATES if draw(st.integers(0, 9)) == 0 else [])))}"
    if draw(st.integers(0, 4)) == 0:
        out += f" until {draw(st.sampled_from(_DATES))}"
    return out


@st.composite
def policies(draw, max_decls: int = 6, max_depth: int = 3) -> str:
    """A policy text built from the grammar: the fixed PRELUDE, then definitions,
    decisions, bands and obligations over its names (valid most of the time)."""
    out = [PRELUDE]
    global_v, item_v = _Vocab(False), _Vocab(True)
    ifs = 4
    for i in range(draw(st.integers(1, max_decls))):
        kind = draw(st.sampled_from(["define", "define", "decision", "decision", "bands", "obligation"]))
        per_item = draw(st.booleans())
        v = item_v if per_item else global_v
        scope = " for each item" if per_item else ""
        if kind == "define":
            name = f"x{i}"
            if draw(st.booleans()):
                out.append(f"define {name}{scope}{_meta(draw)} = {_num(draw, v, draw(st.integers(0, max_depth)), ifs)}")
                v.nums.append(name)
                if not per_item:
                    item_v.nums.append(name)
            else:
                out.append(f"define {name}{scope}{_meta(draw)} = {_bool(draw, v, draw(st.integers(0, max_depth)), ifs)}")
                v.bools.append(name)
                if not per_item:
                    item_v.bools.append(name)
        elif kind == "decision":
            name = f"dec{i}"
            outcomes = draw(st.lists(st.sampled_from(["alpha", "beta", "gamma", "delta"]), min_size=1, max_size=4, unique=True))
            lines = [f"decision {name}{scope}{_meta(draw)} {{"]
            if draw(st.booleans()):
                lines += [f"  outcome {o}{_meta(draw)}" for o in outcomes]
            for r in range(draw(st.integers(1, 4))):
                label = f" {_string(draw)}" if draw(st.booleans()) else ""
                rname = f"rule r{r}: " if draw(st.booleans()) else ""
                rule = f"  {rname}{draw(st.sampled_from(outcomes))}{label} when {_bool(draw, v, draw(st.integers(0, max_depth)), ifs)}"
                rule += _cites(draw) + _dating(draw)
                if draw(st.integers(0, 3)) == 0:
                    rule += f" unless {_bool(draw, v, 1, 0)}{_cites(draw)}"
                lines.append(rule)
            if draw(st.integers(0, 4)) > 0:
                lines.append(f"  otherwise {draw(st.sampled_from(outcomes))}{_cites(draw)}")
            lines.append("}")
            out.append("\n".join(lines))
            v.decisions.append((name, outcomes))
            if not per_item:
                item_v.decisions.append((name, outcomes))
        elif kind == "bands":
            name = f"band{i}"
            cuts = sorted(draw(st.lists(st.integers(0, 9), min_size=2, max_size=4, unique=True)))
            bands = [f"b{k} from {lo} below {hi}" for k, (lo, hi) in enumerate(itertools.pairwise(cuts))]
            bands.append(f"top from {cuts[-1]}" + (" to 10" if draw(st.booleans()) else ""))
            out.append(f"bands {name}{scope} on {_num(draw, v, 1, 0)} {{ {'  '.join(bands)} }}")
            v.decisions.append((name, [f"b{k}" for k in range(len(bands) - 1)] + ["top"]))
        else:
            name = f"ob{i}"
            out.append(f"obligation {name}{scope}{_meta(draw)} when {_bool(draw, v, 2, 1)}{_cites(draw)}{_dating(draw)}")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------ mutations

TOKENS = re.compile(r'"(?:[^"\\\n]|\\.)*"|\d{4}-\d{2}-\d{2}|\d+(?:\.\d+)?|[A-Za-z_][A-Za-z0-9_]*|\.\.|[<>!]=|\s+|#[^\n]*|.', re.S)
DICTIONARY = [
    "policy", "version", "import", "source", "url", "enum", "input", "many", "group", "over", "param", "define", "for",
    "each", "decision", "outcome", "rule", "when", "unless", "otherwise", "cites", "from", "until", "bands", "on",
    "below", "to", "obligation", "label", "help", "express", "fr", "en", "number", "integer", "bool", "text", "date",
    "list", "of", "required", "not", "and", "or", "in", "between", "if", "then", "else", "true", "false", "rank", "by",
    "desc", "asc", "where", "count", "sum", "mean", "min", "max", "any", "all", "weighted_mean", "round", "abs",
    "floor", "ceil", "known", "size", "id", "as_of", "__class__", "__import__", "__builtins__", "K", "X", "U",
    "{", "}", "(", ")", ",", ":", "=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", ".", "..", '"', "\\", "#",
    "\n", " ", "\t", "\r\n", "0", "1", "99999999999999999999999999999999", "0.000000000000000000000000000001",
    "2026-02-30", "2026-08-02", '"x"', '"\\"', '"\\u0000"', "\u00e9", "\U0001f642", "\ufeff",
]
DICTIONARY += ["9" * 5000]  # a number of 5,000 digits (B12, fixed)
DICTIONARY += ["\x00", '"' + "a" * 100 + '\x00"']  # NUL characters, also inside an import path


def _mutate_once(draw, text: str) -> str:
    op = draw(st.sampled_from(["insert", "delete", "swap", "duplicate", "replace", "byte"]))
    tokens = TOKENS.findall(text) or [""]
    if op == "byte":
        data = bytearray(text.encode("utf-8"))
        pos = draw(st.integers(0, len(data)))
        kind = draw(st.integers(0, 2))
        if kind == 0 and data:
            del data[min(pos, len(data) - 1)]
        elif kind == 1:
            data[pos:pos] = bytes([draw(st.integers(0, 255))])
        elif data:
            data[min(pos, len(data) - 1)] ^= 1 << draw(st.integers(0, 7))
        return data.decode("utf-8", "replace")
    i = draw(st.integers(0, len(tokens) - 1))
    if op == "insert":
        tokens.insert(i, draw(st.sampled_from(DICTIONARY)))
    elif op == "delete":
        del tokens[i : i + draw(st.integers(1, 8))]
    elif op == "swap":
        j = draw(st.integers(0, len(tokens) - 1))
        tokens[i], tokens[j] = tokens[j], tokens[i]
    elif op == "duplicate":
        span = draw(st.integers(1, 40))
        tokens[i:i] = tokens[i : i + span]
    else:
        tokens[i] = draw(st.sampled_from(DICTIONARY))
    return "".join(tokens)


@st.composite
def mutated(draw, seeds: list[str]) -> str:
    """A seed policy with 1–4 byte- or token-level mutations."""
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 4))):
        text = _mutate_once(draw, text)
    return text


# ------------------------------------------------------------------ assessments from the schema


class Raw:
    """A number written exactly as `text` (1e999999, 0x10, 1_000) in YAML or JSON."""

    def __init__(self, text: str) -> None:
        self.text = text


ABSENT = object()
HUGE = ["1e999999", "1.0e+999999", "-1.0e+999999", "1e-999999", "123456789012345678901234567890.5"]
STRANGE_STRINGS = ["NaN", "nan", "Infinity", "-Infinity", "inf", ".inf", ".nan", "sNaN", "1e999999", "unknown", "UNKNOWN", "", " ", "0x10", "1_000", "\ud800", "a\udfffb"]


def _deep(draw, depth: int) -> Any:
    value: Any = draw(st.sampled_from([1, "x", None, True]))
    for _ in range(depth):
        value = [value] if draw(st.booleans()) else {"k": value}
    return value


def _valid_value(draw, type_) -> Any:
    if isinstance(type_, NumberT):
        low = type_.low if type_.low is not None else Decimal(-1000)
        high = type_.high if type_.high is not None else Decimal(1000)
        if type_.integer:
            return draw(st.integers(int(low), int(high)))
        return draw(st.decimals(min_value=low, max_value=high, places=draw(st.integers(0, 3)), allow_nan=False, allow_infinity=False))
    if isinstance(type_, BoolT):
        return draw(st.booleans())
    if isinstance(type_, TextT):
        return draw(st.text(max_size=20))
    if isinstance(type_, DateT):
        return draw(st.sampled_from(_DATES))
    if isinstance(type_, EnumT):
        return draw(st.sampled_from(list(type_.values)))
    if isinstance(type_, ListT):
        element = type_.element
        options = list(element.values) if isinstance(element, EnumT) else ["x"]
        return draw(st.lists(st.sampled_from(options), max_size=3, unique=True))
    return None


def _invalid_value(draw, type_) -> Any:
    choices: list[Any] = [
        "text",
        [1, 2],
        {"a": 1},
        True,
        Raw(draw(st.sampled_from(HUGE))),
        draw(st.sampled_from(STRANGE_STRINGS)),
        _deep(draw, draw(st.integers(1, 80))),
        "2026-02-30",
        "x" * 10_001,
    ]
    if isinstance(type_, NumberT):
        if type_.high is not None:
            choices.append(Raw(str(type_.high + 1)))
        if type_.low is not None:
            choices.append(Raw(str(type_.low - Decimal("0.5"))))
        choices.append(Raw("2.5"))
    if isinstance(type_, EnumT):
        choices.append(type_.values[0].upper() + "x")
    return draw(st.sampled_from(choices))


def _field_value(draw, type_, invalid: bool) -> Any:
    roll = draw(st.integers(0, 9))
    if invalid and roll == 9:
        return _invalid_value(draw, type_)
    if roll == 8:
        return draw(st.sampled_from([None, "unknown", ABSENT]))
    return _valid_value(draw, type_)


def _record(draw, item: ir.Input, invalid: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, f in item.fields.items():
        value = _field_value(draw, f.type, invalid)
        if value is not ABSENT:
            out[name] = value
    if invalid and draw(st.integers(0, 9)) == 0:
        out[draw(st.sampled_from(["scroe", "__class__", "id", "x" * 300]))] = 1
    return out


@st.composite
def assessment_data(draw, policy: ir.CheckedPolicy, invalid: bool | None = None) -> Any:
    """Plain data for `policy`'s inputs; when `invalid` (drawn when None), about one value in ten is wrong."""
    if invalid is None:
        invalid = draw(st.booleans())
    if invalid and draw(st.integers(0, 30)) == 0:
        return draw(st.sampled_from([[], "text", None, 3, _deep(draw, 70)]))
    data: dict[str, Any] = {}
    for item in policy.inputs.values():
        if draw(st.integers(0, 5)) == 0:
            continue
        if item.kind == "record":
            data[item.name] = _record(draw, item, invalid)
        elif item.kind == "many":
            rows = [_record(draw, item, invalid) for _ in range(draw(st.integers(0, 4)))]
            ids = draw(st.lists(st.from_regex(r"[a-z][a-z0-9_.\-]{0,5}", fullmatch=True), min_size=len(rows), max_size=len(rows), unique=True))
            for row, ident in zip(rows, ids):
                row["id"] = ident
            if invalid and rows and draw(st.integers(0, 6)) == 0:
                rows[-1]["id"] = draw(st.sampled_from([rows[0]["id"], "bad id!", "", 12, None]))
            data[item.name] = rows
        else:
            members = {}
            for member in item.members:
                if draw(st.booleans()):
                    members[member] = _record(draw, item, invalid)
            if invalid and draw(st.integers(0, 8)) == 0:
                members["not_a_member"] = {}
            data[item.name] = members
    if invalid and draw(st.integers(0, 8)) == 0:
        data[draw(st.sampled_from(["orgg", "about", "__proto__"]))] = _deep(draw, draw(st.integers(0, 70)))
    return data


def to_json_text(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {to_json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(to_json_text(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


_PRINTABLE = re.compile("[\\x09\\x0A\\x0D\\x20-\\x7E\\x85\\xA0-\\uD7FF\\uE000-\\uFFFD\\U00010000-\\U0010FFFF]")


def yaml_string(text: str) -> str:
    """A double-quoted YAML scalar: characters YAML does not allow raw are escaped
    (an astral character as one \\U escape: PyYAML does not join \\u surrogate pairs)."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif _PRINTABLE.match(ch) and ch not in "\x85\r\t":
            out.append(ch)
        elif ord(ch) <= 0xFF:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def to_yaml_text(value: Any) -> str:
    """Flow-style YAML: numbers as their digits, strings double-quoted (JSON escapes are YAML escapes)."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, str):
        return yaml_string(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{yaml_string(str(k))}: {to_yaml_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(to_yaml_text(v) for v in value) + "]"
    return json.dumps(str(value))


def to_block_yaml(value: Any, indent: str = "") -> str:
    """Block-style YAML for mappings at the top (as people write it), flow below."""
    if not isinstance(value, dict) or not value:
        return to_yaml_text(value) + "\n"
    lines = []
    for k, v in value.items():
        key = yaml_string(str(k))
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            lines.append(f"{indent}{key}:")
            lines.extend(f"{indent}  - {to_yaml_text(x)}" for x in v)
        else:
            lines.append(f"{indent}{key}: {to_yaml_text(v)}")
    return "\n".join(lines) + "\n"


YAML_NOISE = [
    "x: !!python/name:os.system\n",
    "x: !!binary aGVsbG8=\n",
    "x: &a [1, 2]\ny: *a\n",
    "x: *undefined\n",
    "? [1, 2]\n: 1\n",
    "x: {a: 1, a: 2}\n",
    "%YAML 1.1\n---\nx: 1\n",
    "x: 1\n---\ny: 2\n",
    "x: 'unterminated\n",
    "\t- tab\n",
    "x: 2026-08-02\n",
    "x: 2026-08-02T10:00:00Z\n",
    "x: 0o17\n",
    "x: 1:20\n",
    "x: ~\n",
    "x: .NaN\n",
    "x: 0b101\n",
    "x: [\n",
    "x: !!bool maybe\n",
    "x: !!int abc\n",
    "x: !!timestamp nonsense\n",
    "x: 2026-02-30\n",
    "x: " + "9" * 5000 + "\n",
    "x: \x00\n",
    "x: !!python/object/apply:os.system [id]\n",
    "x: " + "[" * 2000 + "]" * 2000 + "\n",
    "a: &a [1, 2]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n",
    "x: {a: 1}\nx: {b: 2}\n",
]


@st.composite
def assessment_texts(draw, policy: ir.CheckedPolicy) -> tuple[str, bool]:
    """(text, is_json): an assessment for `policy` as YAML (block or flow) or JSON, sometimes damaged."""
    data = draw(assessment_data(policy))
    form = draw(st.sampled_from(["block", "flow", "json"]))
    if form == "json":
        text = to_json_text(data)
    elif form == "flow":
        text = to_yaml_text(data) + "\n"
    else:
        text = to_block_yaml(data)
    roll = draw(st.integers(0, 12))
    if roll == 11:
        text = draw(st.sampled_from(YAML_NOISE)) if form != "json" else text[: draw(st.integers(0, len(text)))]
    elif roll == 12 and text:
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["\n", "{", "]", ":", "- ", '"', "\\", "&a ", "*a", "!!str "])) + text[cut:]
    return text, form == "json"


# ------------------------------------------------------------------ known bugs (for long campaigns)

#: (bug id, stage prefix, pattern in the message) — the signatures of the bugs listed in
#: docs/security.md, so that a campaign can count them and go on looking for new ones.
KNOWN_SIGNATURES: list[tuple[str, str, str]] = [
]


def known_bug(error: BaseException) -> str | None:
    """The id of the known bug an Unexpected outcome is an instance of, or None if it is new."""
    message = str(error)
    for bug, stage, pattern in KNOWN_SIGNATURES:
        if message.startswith(stage) and pattern in message:
            return bug
    return None
