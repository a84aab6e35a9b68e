"""Write the regression corpus replayed by tests/test_fuzz.py (tests/fuzz_corpus/).

    python fuzz/write_corpus.py            # (re)write every generated entry

Layout:
  policy/NAME.strat        a policy, checked from its file (imports, size, UTF-8 included);
  policy/NAME.yaml         optional: an assessment to evaluate it with (compiled, traced and
                           the reference evaluator must agree);
  assessment/NAME.yaml|json  an assessment, read from its file and evaluated with
                           assessment/policy.strat;
  expected.json            entry → the start of its expected outcome ("unreadable E307",
                           "rejected E006", "ok / evaluated"): the limits an entry exercises;
  known_bugs.json          entry → "BUG …": the entries that still break the contract; the
                           replay marks them xfail(strict=True), so each one fails the suite
                           as soon as its bug is fixed, to be removed from this list.

Entries found by the fuzzing campaigns are added by hand (or by fuzz/campaign.py
--save) next to these; this script only rewrites the entries it generates.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

def _squares(start: str, times: int) -> str:
    """Definitions squaring `start` `times` times, the last one named y: 10^20 squared 16 times
    is 10^1310720, past the exponent limit of the arithmetic."""
    lines, previous = [], start
    for n in range(times):
        name = "y" if n == times - 1 else f"s{n}"
        lines.append(f'define {name} label en "{name}" = {previous} * {previous}\n')
        previous = name
    return "".join(lines)


CORPUS = Path(__file__).resolve().parents[1] / "tests" / "fuzz_corpus"

HEADER = 'policy "corpus" version "1"\n'
ORG = "input o { b: bool  x: number  n: integer 0..100 }\n"

ASSESSMENT_POLICY = """\
# The policy the assessment entries of the corpus are evaluated with. `total` has no
# range on purpose: it lets any number through validation.
policy "Corpus" version "1"
source law "Law"
enum color { red green blue }
input org {
  n: integer 0..100
  total: number
  flag: bool
  kind: color
  day: date
  tags: list of color
  note: text
}
input items: many item { score: number 0..5  ok: bool  kind: color }
input dims: group dim over color { level: number 0..5 }
define total_out label en "Total" = org.total
define mean_score label en "Mean" = mean(item, score)
decision size { big when org.n >= 50  otherwise small }
decision quality for each item { good when score >= 3 and ok  otherwise poor }
obligation check for each item when kind = red cites law "Art. 1"
"""

#: Open bug id → the xfail reason of its corpus entries (`bug="Bn"`). Empty: the bugs
#: B1–B19 of docs/security.md §5 are fixed and their entries now state their outcome.
BUGS: dict[str, str] = {}


def write(relative: str, data: str | bytes) -> None:
    path = CORPUS / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)


def nested(op_open: str, leaf: str, op_close: str, n: int) -> str:
    return op_open * n + leaf + op_close * n


def main() -> int:
    known: dict[str, str] = {}
    expected: dict[str, str] = {}

    def policy(name: str, text: str | bytes, assessment: str | None = None, bug: str | None = None, expect: str | None = None) -> None:
        write(f"policy/{name}.strat", text)
        if assessment is not None:
            write(f"policy/{name}.yaml", assessment)
        if bug:
            known[f"policy/{name}.strat"] = BUGS[bug]
        if expect:
            expected[f"policy/{name}.strat"] = expect

    def assessment(name: str, text: str | bytes, bug: str | None = None, expect: str | None = None) -> None:
        write(f"assessment/{name}", text)
        if bug:
            known[f"assessment/{name}"] = BUGS[bug]
        if expect:
            expected[f"assessment/{name}"] = expect

    write("assessment/policy.strat", ASSESSMENT_POLICY)

    # ---------------------------------------------------------------- policies: code injection attempts (hold)
    policy(
        "payload-strings",
        'policy "__import__(\'os\').system(\'id\')" version "1\\"); import os #"\n'
        'source law "\'); __import__(\'os\').system(\'id\'); (\'" url "https://example.org/\');__import__(\'os\')#"\n'
        "input o { t: text  x: number }\n"
        'define y label en "{{7*7}} ${7*7} __import__(\'os\')" = if o.t = "__import__(\'os\').system(\'id\')" then 1 else 2\n'
        'decision d { a "\\"); exec(\'x\') #" when o.x > 1 cites law "__class__.__bases__" otherwise b }\n',
        "o: {t: \"__import__('os').system('id')\", x: 3}\n",
        expect="ok / evaluated",
    )
    policy(
        "dunder-names",
        HEADER
        + "enum __class__ { __import__ __builtins__ }\n"
        "input __globals__ { __code__: __class__  K: number  X: bool }\n"
        "input us: many __dict__ { U: number  MISS: bool }\n"
        "param exec: number = 3\n"
        'define __subclasses__ label en "s" = __globals__.K + exec\n'
        'define eval for each __dict__ label en "e" = U * 2\n'
        "decision __init__ for each __dict__ { __call__ when MISS and __globals__.__code__ = __import__  otherwise __del__ }\n"
        "obligation __reduce__ for each __dict__ when MISS\n",
        "__globals__: {__code__: __import__, K: 1, X: true}\nus: [{id: a, U: 2, MISS: true}]\n",
        expect="ok / evaluated",
    )
    # ---------------------------------------------------------------- policies: odd text (hold)
    policy("empty", "", expect="rejected E002")
    policy("bom", "\ufeff" + HEADER, expect="ok")  # H4: the mark is dropped
    policy("crlf", (HEADER + ORG + 'define y label en "y" = o.x\n').replace("\n", "\r\n"), "o: {x: 1}\n")
    policy("not-utf8", b'policy "\xff\xfe" version "1"\n', expect="rejected E004")
    policy("nul-in-string", HEADER + 'source s "a\x00b"\n')
    policy("deep-parens-10000", HEADER + ORG + "define y label en \"y\" = " + nested("(", "o.x", ")", 10_000) + "\n", "o: {x: 2}\n", expect="ok / evaluated")
    policy("huge-number", HEADER + ORG + "define y label en \"y\" = o.x * 0." + "0" * 5000 + "1\n", "o: {x: 2}\n", expect="rejected E061")
    policy("huge-integer-literal", HEADER + ORG + "define y = o.x < " + "9" * 5000 + "\n", "o: {x: 2}\n", expect="rejected E061")
    policy("bad-dates", HEADER + ORG + "decision d { a when o.b from 2026-02-30 until 2026-13-01 otherwise z }\n", expect="rejected E003")
    policy("import-cycle-self", HEADER + 'import "import-cycle-self.strat"\n', expect="rejected E007")
    policy("import-dir", HEADER + 'import "."\n', expect="rejected E004")
    policy("import-outside", HEADER + 'import "../../fixtures/props.strat"\nimport "/etc/passwd"\n', expect="rejected E006")
    # ---------------------------------------------------------------- policies: bugs found and fixed (B7–B13)
    policy("import-nul", HEADER + 'import "a\x00b.strat"\n', expect="rejected E006")
    policy("deep-not-10000", HEADER + ORG + "define y = " + "not " * 10_000 + "o.b\n", expect="rejected E009")
    policy("deep-neg-2000", HEADER + ORG + "define y = " + nested("-(", "o.x", ")", 2000) + "\n", expect="rejected E009")
    policy("long-sum-2000", HEADER + ORG + "define y = " + " + ".join(["o.x"] * 2000) + "\n", expect="rejected E009")
    policy("long-or-2000", HEADER + ORG + "define y = " + " or ".join(["o.b"] * 2000) + "\n", expect="rejected E009")
    policy("long-sum-70", HEADER + ORG + 'define y label en "y" = ' + " + ".join(["o.x"] * 70) + "\n", "o: {x: 1}\n", expect="ok / evaluated")
    policy("deep-not-100", HEADER + ORG + 'define y label en "y" = ' + "not " * 100 + "o.b\n", "o: {b: true}\n", expect="ok / evaluated")
    policy("long-or-200", HEADER + ORG + 'define y label en "y" = ' + " or ".join(["o.b"] * 200) + "\n", "o: {b: false}\n", expect="ok / evaluated")
    policy("nested-if-12", HEADER + ORG + 'define y label en "y" = ' + "if o.b then 1 else " * 12 + "0\n", "o: {b: false}\n", expect="ok / evaluated")
    policy(
        "collision-obligation",
        HEADER + "input us: many u { x: number }\n"
        "decision o for each u { risk when x > 3  otherwise low }\n"
        "obligation risk for each u when x < 1\n",
        "us: [{id: a, x: 5}, {id: b, x: 0}]\n",
        expect="ok / evaluated",
    )
    policy(
        "collision-decisions",
        HEADER + "input us: many u { x: number }\n"
        "decision d_x for each u { y when x > 3  otherwise low }\n"
        "decision d for each u { x_y when x < 1  otherwise hi }\n",
        "us: [{id: a, x: 5}, {id: b, x: 0}]\n",
        expect="ok / evaluated",
    )
    policy(
        "collision-from",
        HEADER + "input us: many u { x: number }\n"
        "decision d for each u {\n  y when x > 3 from 2020-01-01\n  rule y__from: z when x < 1\n  otherwise hi\n}\n",
        "us: [{id: a, x: 5}, {id: b, x: 0}]\n",
        expect="ok / evaluated",
    )
    policy(
        "definition-chain-250",
        HEADER + ORG + "define d0 = o.x\n" + "".join(f"define d{i} = d{i - 1} + 1\n" for i in range(1, 250)) + 'define out label en "o" = d249\n',
        "o: {x: 1}\n",
        expect="rejected E031",
    )
    policy("round-40-places", HEADER + ORG + 'define y label en "y" = round(o.x, 40)\n', "o: {x: 1.5}\n", expect="rejected E024")
    # issue 16 point 9: a given number has at most 28 digits, from 10^-20 to 10^20, so the
    # values of B12 are refused at the door; large and tiny values can still be computed
    policy("big-integral-output", HEADER + ORG + 'define y label en "y" = o.x\n', "o: {x: 1.0e+30}\n", expect="ok / invalid E302")
    policy("big-integral-computed", HEADER + ORG + 'define y label en "y" = o.x * o.x\n', "o: {x: 1.0e+20}\n", expect="ok / evaluated")
    policy("overflow", HEADER + ORG + 'define y label en "y" = o.x * o.x\n', "o: {x: 9.0e+999998}\n", expect="ok / invalid E302")
    policy("overflow-computed", HEADER + ORG + _squares("o.x", 16), "o: {x: 1.0e+20}\n", expect="ok / eval refused E202")
    policy("tiny-division", HEADER + ORG + 'define y label en "y" = 1 / o.x\n', "o: {x: 1.0e-999999}\n", expect="ok / invalid E302")
    policy("tiny-division-computed", HEADER + ORG + _squares("o.x", 16) + 'define z label en "z" = 1 / y\n', "o: {x: 1.0e-20}\n")
    # issue 16 points 11 and 12: Trojan source is a warning, a javascript: url an error
    policy("trojan-lone-cr", HEADER + ORG + "# note\rdecision evil { go when o.b  otherwise stop }\ndecision d { go when o.b  otherwise stop }\n",
           "o: {b: true}\n", expect="ok / evaluated")
    policy("trojan-bidi", HEADER + ORG + 'define y label en "admin\u202e\u2066// check\u2069\u2066" = o.x\ndecision d { go when o.b  otherwise stop }\n',
           "o: {b: true, x: 1}\n", expect="ok / evaluated")
    policy("javascript-url", HEADER + 'source s "S" url "javascript:alert(document.cookie)"\n' + ORG, expect="rejected E062")
    policy("tiny-as-text", HEADER + ORG + 'define y label en "y" = 1 / o.x\n', "o: {x: '1e-999999'}\n", expect="ok / invalid E302")

    # ---------------------------------------------------------------- assessments that hold
    assessment("python-name.yaml", "org: !!python/name:os.system\n", expect="unreadable E301")
    assessment("python-module.yaml", "org: !!python/module:os\n", expect="unreadable E301")
    assessment("custom-tag-scalar.yaml", "org: !shell 'id'\n", expect="unreadable E301")
    assessment("merge-key.yaml", "a: &a {n: 1}\norg: {<<: *a}\n")
    assessment("undefined-alias.yaml", "org: *nothing\n")
    assessment("recursive-alias.yaml", "about: &a [*a]\n", expect="unreadable E307")
    assessment("deep-65.yaml", "about: " + nested("[", "1", "]", 65) + "\n", expect="unreadable E307")
    assessment("deep-json-5000.json", '{"about": ' + nested("[", "1", "]", 5000) + "}", expect="unreadable E30")
    assessment("nan-infinity.yaml", "org: {total: NaN}\nitems: [{id: a, score: Infinity}, {id: b, score: '-Infinity'}, {id: c, score: .nan}]\n", expect="invalid E302")
    assessment("nan-infinity.json", '{"org": {"total": NaN}, "items": [{"id": "a", "score": Infinity}, {"id": "b", "score": -Infinity}]}', expect="invalid E302")
    assessment("huge-bounded.yaml", "items: [{id: a, score: 1.0e+999999}, {id: b, score: 1e999999}, {id: c, score: '1e999999'}]\n", expect="invalid E302")
    assessment("wrong-types.yaml", "org: {n: twelve, total: [1], flag: maybe, kind: purple, day: tomorrow, tags: red, note: {a: 1}}\n", expect="invalid E302")
    assessment("unknown-keys.yaml", "orgg: {}\norg: {nn: 1, __class__: 2}\nitems: [{id: a, scroe: 1}]\n", expect="invalid E302")
    assessment("duplicate-ids.yaml", "items: [{id: a}, {id: a}, {id: 'bad id!'}, {id: ''}]\n", expect="invalid E302,E306")
    assessment("long-text.yaml", "org: {note: " + "x" * 10_001 + "}\n", expect="invalid E302")
    assessment("long-id.yaml", "items: [{id: " + "a" * 201 + "}]\n", expect="invalid E302")
    assessment("top-level-list.yaml", "- org\n- items\n", expect="invalid E302")
    assessment("multi-document.yaml", "org: {n: 1}\n---\norg: {n: 2}\n", expect="unreadable E301")
    assessment("not-utf8.yaml", b"org: {note: \xff\xfe}\n", expect="unreadable E301")
    assessment("bom.yaml", "\ufefforg: {n: 1}\n", expect="evaluated")
    assessment("empty.yaml", "", expect="evaluated")
    assessment("unknown-answers.yaml", "org: {n: unknown, total: null, flag: UNKNOWN, kind: ~}\nitems: [{id: a, score: unknown}]\n", expect="evaluated")
    # ---------------------------------------------------------------- assessments: bugs found and fixed (B1–B5, B12)
    assessment("python-object-apply.yaml", "org: !!python/object/apply:os.system ['touch /tmp/stratdsl-pwned']\n", expect="unreadable E301")
    assessment("python-object-mapping.yaml", "org: !!python/object:os.system {n: 1}\n", expect="unreadable E301")
    assessment("python-object-root.yaml", "!!python/object/new:os.system\nargs: [id]\n", expect="unreadable E301")
    assessment("binary-tag.yaml", "about: {x: !!binary aGVsbG8=}\n", expect="unreadable E301")
    assessment("bad-bool-tag.yaml", "org: {flag: !!bool maybe}\n", expect="unreadable E301")
    assessment("bad-int-tag.yaml", "org: {n: !!int abc}\n", expect="unreadable E301")
    assessment("empty-int-tag.yaml", "org: {n: !!int }\n", expect="unreadable E301")  # found by atheris
    assessment("bad-timestamp-tag.yaml", "org: {day: !!timestamp nonsense}\n", expect="unreadable E301")
    assessment("impossible-date.yaml", "org: {day: 2026-02-30}\n", expect="unreadable E301")
    assessment("huge-integer.yaml", "org: {n: " + "9" * 5000 + "}\n", expect="unreadable E301")
    assessment("nul-character.yaml", "org: {note: a\x00b}\n", expect="unreadable E301")
    assessment("vertical-tab.yaml", 'org: {note: "line\x0bbreak"}\n', expect="unreadable E301")
    assessment("c1-control.yaml", "org: {note: a\x9bb}\n", expect="unreadable E301")
    assessment("huge-integer.json", '{"org": {"n": ' + "9" * 5000 + "}}", expect="unreadable E301")
    assessment("deep-flow-10000.yaml", "about: " + nested("[", "", "]", 10_000) + "\n", expect="unreadable E307")
    assessment("deep-block-700.yaml", "".join(" " * i + "a:\n" for i in range(700)), expect="unreadable E307")
    assessment("deep-json-500.json", '{"about": {"x": ' + nested("[", "1", "]", 500) + "}}", expect="unreadable E307")
    assessment("lone-surrogate.json", '{"about": {"x": "\\ud800"}}', expect="unreadable E301")
    assessment("surrogate-pair-escape.yaml", 'about: {x: "\\ud83d\\ude42"}\n', expect="unreadable E301")
    # billion laughs (refused with E307, but slowly: B6) is in tests/test_security.py: it costs seconds by design
    aliases = "a: &a {x: 1}\n" + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(4))
    assessment("aliases-10000.yaml", "about:\n" + "".join("  " + line + "\n" for line in aliases.splitlines()), expect="evaluated")
    assessment("big-total.yaml", "org: {total: 1.0e+30}\n", expect="invalid E302")
    assessment("number-as-text.json", '{"org": {"total": "5"}}', expect="invalid E302")
    assessment("number-29-digits.json", '{"org": {"total": 0.12345678901234567890123456789}}', expect="invalid E302")

    (CORPUS / "expected.json").write_text(json.dumps(expected, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    (CORPUS / "known_bugs.json").write_text(json.dumps(known, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote the corpus in {CORPUS} ({len(known)} known-bug entries)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
