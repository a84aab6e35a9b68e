"""Security: no path from a policy or an assessment to code execution; every limit is a
clean coded error (never a hang, a crash or a MemoryError); outputs are deterministic.

Threat model and the measures tested here: docs/security.md. The fuzzing side is in
tests/test_fuzz.py, crash safety and concurrency of the audit log and batch runs in
tests/test_crash.py.

Tests marked `xfail(strict=True, reason="BUG Bn: …")` show a promise of the threat model
that the code does not keep yet; the numbered bugs and their fixes are listed in
docs/security.md. Each passes (as an expected failure) until its bug is fixed, then fails
so that the mark gets removed.

Inputs that could hang are run in a subprocess with a timeout, so that a regression
makes a test fail instead of stopping the suite.
"""

from __future__ import annotations

import ast as pyast
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from helpers import FIXTURES, REPO, stage_error, stratdsl_command
from stratdsl.backends.compiler import _name, compiled
from stratdsl.backends.traced import evaluate_traced, traced
from stratdsl.commands import service as service_mod
from stratdsl.engine import compile_policy, compile_text, run
from stratdsl.language.diagnostics import StratError
from stratdsl.language.loader import MAX_FILE_BYTES, MAX_IMPORTS, load_policy
from stratdsl.runtime import assessment as assessment_mod
from stratdsl.runtime.assessment import MAX_DEPTH, MAX_ENTITIES, MAX_TEXT, Assessment, Entity, parse_data, read_data, validate
from stratdsl.runtime.evaluator import evaluate as reference_evaluate
from stratdsl.runtime.values import Unknown

sys.path.insert(0, str(REPO / "fuzz"))
import stratfuzz as sf

SRC = REPO / "src" / "stratdsl"
PROPS = FIXTURES / "props.strat"
AS_OF = "2026-09-01"
HEADER = 'policy "p" version "1"\n'
ORG = "input o { b: bool  x: number  t: text }\n"


def bug(number: str, text: str):
    return pytest.mark.xfail(strict=True, reason=f"BUG {number}: {text}")


def codes(error: StratError | list) -> list[str]:
    items = error.diagnostics if isinstance(error, StratError) else error
    return sorted({d.code for d in items})


def cli(*args, cwd: Path | None = None, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k != "STRATDSL_DEBUG"}
    return subprocess.run(
        [*stratdsl_command(), *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        cwd=cwd,
        env={**clean, **(env or {})},
        timeout=timeout,
        check=False,
    )


def python_snippet(code: str, timeout: float) -> subprocess.CompletedProcess | None:
    """Run `code` in a fresh interpreter; None when it did not finish within `timeout` seconds."""
    try:
        return subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return None


def finishes_cleanly(code: str, timeout: float) -> bool:
    """The snippet ends in time and prints OK (it prints OK after a result or a coded error)."""
    done = python_snippet(code, timeout)
    return done is not None and done.returncode == 0 and done.stdout.strip().endswith("OK")


def policy_contract(text: str, seconds: float = 20) -> tuple[str, object]:
    """Check and compile: a result or coded diagnostics (the fuzzing oracle, fuzz/stratfuzz.py)."""
    return sf.policy_outcome(text, seconds=seconds)


# ====================================================================== 1. no code execution


SCALAR_TAGS = [
    "!!python/name:os.system",
    "!!python/module:os",
    "!!python/object:os.system",
    "!!python/object/apply:os.system",
    "!!python/object/new:os.system",
    "!!python/bytes",
    "!!python/tuple",
    "!shell",
    "tag:yaml.org,2002:python/object/apply:os.system",
]


@pytest.mark.parametrize("tag", SCALAR_TAGS)
def test_python_tags_on_scalars_are_refused_with_e301(tag):
    text = f"org: !<{tag}> 'id'\n" if tag.startswith("tag:") else f"org: {tag} 'id'\n"
    (d,) = stage_error(parse_data, text, "a.yaml")
    assert d.code == "E301"
    assert d.span is not None and d.span.line == 1


COLLECTION_TAGS = [
    "org: !!python/object/apply:os.system ['id']\n",
    "org: !!python/object/new:os.system {args: ['id']}\n",
    "org: !!python/object:os.system {n: 1}\n",
    "!!python/object/apply:os.system\n- id\n",
    "org: !custom {n: 1}\n",
    "about: {x: !!binary aGVsbG8=}\n",
]


@pytest.mark.parametrize("text", COLLECTION_TAGS)
def test_python_tags_on_collections_are_refused_with_e301(text):
    (d,) = stage_error(parse_data, text, "a.yaml")
    assert d.code == "E301"


def test_yaml_tags_never_run_code(tmp_path):
    """Whatever a tag does to the data, nothing is constructed or called: the payloads would create a file."""
    sentinel = tmp_path / "pwned"
    payloads = [
        f"org: !!python/object/apply:os.system ['touch {sentinel}']\n",
        f"org: !!python/object/apply:subprocess.check_call [['touch', '{sentinel}']]\n",
        f"org: !!python/object/new:os.system ['touch {sentinel}']\n",
        f"!!python/object/apply:os.system\n- touch {sentinel}\n",
        f"org: !!python/name:os.system\nx: !!python/object/apply:os.system ['touch {sentinel}']\n",
        f'{{"org": "!!python/object/apply:os.system [\'touch {sentinel}\']"}}',
    ]
    procs = []
    for i, text in enumerate(payloads):
        path = tmp_path / f"a{i}.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            data, spans = read_data(path, path.name)
            validate(compile_policy(PROPS)[0], data, path.name, spans)
        except StratError:
            pass
        argv = [*stratdsl_command(), "eval", str(PROPS), str(path), "--as-of", AS_OF, "--format", "records"]
        procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode in (0, 1), err
    assert not sentinel.exists()


def _python_files() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_no_unsafe_deserialisation_or_dynamic_code_in_the_source():
    """No pickle (or marshal, shelve, dill …) anywhere; YAML only through the safe loader;
    exec/compile only in the compiler (on generated code); no eval, no shell."""
    banned_modules = {"pickle", "cPickle", "_pickle", "marshal", "shelve", "dill", "cloudpickle", "jsonpickle", "joblib"}
    unsafe_yaml = {"load", "load_all", "unsafe_load", "unsafe_load_all", "full_load", "full_load_all", "Loader", "UnsafeLoader", "FullLoader"}
    exec_sites = []
    for path in _python_files():
        tree = pyast.parse(path.read_text(encoding="utf-8"), str(path))
        where = path.relative_to(SRC)
        for node in pyast.walk(tree):
            if isinstance(node, pyast.Import):
                for alias in node.names:
                    assert alias.name.split(".")[0] not in banned_modules, f"{where}: import {alias.name}"
            elif isinstance(node, pyast.ImportFrom):
                assert (node.module or "").split(".")[0] not in banned_modules, f"{where}: from {node.module} import …"
            elif isinstance(node, pyast.Attribute) and isinstance(node.value, pyast.Name) and node.value.id == "yaml":
                assert node.attr not in unsafe_yaml, f"{where}:{node.lineno}: yaml.{node.attr}"
            elif isinstance(node, pyast.Call):
                func = node.func
                name = func.id if isinstance(func, pyast.Name) else func.attr if isinstance(func, pyast.Attribute) else None
                assert name not in ("eval", "__import__", "system", "popen", "execv", "execve", "spawnv"), f"{where}:{node.lineno}: {name}()"
                if name in ("exec", "compile") and isinstance(func, pyast.Name):
                    exec_sites.append((str(where), name))
                for keyword in node.keywords:
                    if keyword.arg == "shell":
                        assert isinstance(keyword.value, pyast.Constant) and keyword.value.value is False, f"{where}:{node.lineno}: shell=True"
    assert sorted(exec_sites) == [("backends/compiler.py", "compile"), ("backends/compiler.py", "exec")]


def test_the_yaml_loader_is_the_safe_loader():
    assert issubclass(assessment_mod._Loader, assessment_mod.yaml.SafeLoader)
    assert not issubclass(assessment_mod._Loader, (assessment_mod.yaml.FullLoader, assessment_mod.yaml.UnsafeLoader))


PAYLOAD = "__import__('os').system('id')"
HOSTILE_POLICY = f"""\
policy "{PAYLOAD}" version "1\\"); {PAYLOAD} #"
source law "'); {PAYLOAD}; ('" url "https://example.org/{PAYLOAD}"
enum kind label en "{PAYLOAD}" {{ a label en "{PAYLOAD}"  b }}
input o label en "{PAYLOAD}" {{ t: text help en "{PAYLOAD}"  x: number  k: kind }}
param p: text = "{PAYLOAD}"
define y label en "{{{{7*7}}}} {PAYLOAD}" = if o.t = "{PAYLOAD}" then o.x else 0
define same label en "s" = o.t = p
decision d label en "{PAYLOAD}" {{
  rule r: a "\\"); exec('x') #" en "{PAYLOAD}" when o.t != "{PAYLOAD}\\n" cites law "{PAYLOAD}"
  otherwise b cites law "__class__.__bases__"
}}
obligation ob label en "{PAYLOAD}" when o.k = a cites law "{PAYLOAD}"
"""

HOSTILE_NAMES = """\
policy "p" version "1"
enum __class__ { __import__ __builtins__ }
input __globals__ { __code__: __class__  K: number  X: bool  S: number }
input us: many __dict__ { U: number  MISS: bool  CONTEXT: number }
param exec: number = 3
param eval: bool = true
define __subclasses__ label en "s" = __globals__.K + exec
define Decimal for each __dict__ label en "e" = U * 2 + CONTEXT
define _u label en "u" = count(__dict__ where MISS)
decision __init__ for each __dict__ { __call__ when MISS and __globals__.__code__ = __import__ and eval  otherwise __del__ }
decision R { __getattr__ when __globals__.X  otherwise __setattr__ }
obligation __reduce__ for each __dict__ when MISS and __init__ = __call__
"""


def _generated_names(source: str) -> tuple[set[str], set[str], set[str], list]:
    """Defined function names, other names, attribute names and string constants of generated code."""
    tree = pyast.parse(source)
    defs = {n.name for n in pyast.walk(tree) if isinstance(n, pyast.FunctionDef)}
    names = {n.id for n in pyast.walk(tree) if isinstance(n, pyast.Name)}
    names |= {a.arg for n in pyast.walk(tree) if isinstance(n, (pyast.FunctionDef, pyast.Lambda)) for a in n.args.args}
    attrs = {n.attr for n in pyast.walk(tree) if isinstance(n, pyast.Attribute)}
    strings = [n.value for n in pyast.walk(tree) if isinstance(n, pyast.Constant) and isinstance(n.value, (str, bytes))]
    return defs, names, attrs, strings


RUNTIME_NAMES = {
    "K", "S", "U", "MISS", "Decimal", "CONTEXT", "_u", "_div", "_round", "_floor", "_ceil", "_sum",
    "_cond_unknown", "_rank_table", "_ZERO", "len", "min", "max", "abs", "any", "zip",
    # operations on unknown operands (values.py, through compiler._UNKNOWN_OPS)
    "_u_neg", "_u_range", "_u_agg", *(f"_u_{n}" for n in ("add", "sub", "mul", "div", "eq", "ne", "lt", "le", "gt", "ge", "in", "nin")),
    *(f"_u_{n}" for n in ("size", "round", "abs", "floor", "ceil", "min", "max")),
    "R", "ENT", "MEM", "P", "AS_OF", "X", "e", "x", "v", "w", "m", "vals", "wts", "unc", "pend", "tw", "table", "_outer",
    "True", "False", "None",
    # the known-path walks (compiler._Gen.walks): leave for the generic walk, a rule's special statuses, a date's answer
    "_fb", "_Fallback", "s", "_f",
    # the fused outcome function t_all(A, as_of, params): leaves for the walks through _slow
    "_slow", "as_of", "params",
}


@pytest.mark.parametrize("text", [HOSTILE_POLICY, HOSTILE_NAMES], ids=["payload-strings", "python-names"])
def test_compiled_code_holds_no_policy_text(text):
    """Strings of the policy live only in the constants table; names only as mangled identifiers."""
    policy, diagnostics = compile_text(text, "hostile.strat")
    assert policy is not None, [(d.code, d.message) for d in diagnostics]
    source = compiled(policy).source
    assert PAYLOAD not in source and "__import__" not in source.replace("d___import__", "")
    defs, names, attrs, strings = _generated_names(source)
    assert strings == [], "every constant must come from the table K"
    assert all(re.fullmatch(r"[dcarbhwot]_[A-Za-z0-9_]+", name) for name in defs), defs
    # temporaries, the known path's locals (fields, per-decision results and lists, entities), the constants K_n
    unknown = {n for n in names - RUNTIME_NAMES - defs if not re.fullmatch(r"_t\d+|f\d+|[lr]\d+|E\d*|A|K_\d+", n)}
    assert unknown == set(), unknown
    run_data = {"R", "ENT", "MEM", "P", "AS_OF", "fired", "force", "_walk_named", "slow_outcome"}  # the run's data and walks: compiler._Run
    assert attrs <= {"__class__", "values", "id", "outcome", "memo", "get", "append", "divide", "multiply", "missing", "index",
                     "entities", "known", "single", *run_data}, attrs
    assert PAYLOAD in compiled(policy).namespace["K"] or text is HOSTILE_NAMES


TRACED_NAMES = {
    "K", "MISS", "U", "StratError", "Overflow", "_calc", "_call", "_neg_u", "_arith_u", "_cmp_u", "_func_u", "_merge_u",
    "_range_u", "_branches_u", "isinstance", "frozenset", "True", "False", "ev", "E", "T", "u", "r", "a", "b", "start",
    # the generated decision walks (dw_N, xd_N, tr_all): their locals and arguments
    "_truth", "None", "p", "c", "f", "m", "x", "k", "ents", "scope", "memo", "fired",
}


@pytest.mark.parametrize("text", [HOSTILE_POLICY, HOSTILE_NAMES], ids=["payload-strings", "python-names"])
def test_traced_code_holds_no_policy_text(text):
    """The traced module (backends/traced.py, run through compiler._run_generated): no strings,
    numbered functions, names from the table K, restricted builtins."""
    policy, _ = compile_text(text, "hostile.strat")
    module = traced(policy)
    assert module is not None
    source = module.source
    assert PAYLOAD not in source and "__import__" not in source
    defs, names, attrs, strings = _generated_names(source)
    assert strings == [], "every constant must come from the table K"
    assert all(re.fullmatch(r"[tlxc]_\d+|dw_\d+|xd_\d+|tr_all", name) for name in defs), defs
    unknown = {n for n in names - TRACED_NAMES - defs if not re.fullmatch(r"v\d+|K_\d+|R_\d+", n)}
    assert unknown == set(), unknown
    assert attrs <= {"values", "id", "as_of", "assessment", "records", "params", "append", "compute", "_member", "_def", "_decision",
                     "_aggregate", "_rank", "_defs", "get", "path", "definition", "__class__", "in_force", "index"}, attrs
    assert set(module.namespace["__builtins__"]) == {"isinstance", "frozenset"}
    facts = None if text is HOSTILE_NAMES else validate(policy, {})
    if facts is not None:
        assert evaluate_traced(policy, facts, date(2026, 9, 1))[0] == reference_evaluate(policy, facts, date(2026, 9, 1))


def test_hostile_names_are_mangled_and_evaluate_like_the_reference():
    policy, diagnostics = compile_text(HOSTILE_NAMES, "names.strat")
    assert policy is not None, [(d.code, d.message) for d in diagnostics]
    defs = _generated_names(compiled(policy).source)[0]
    assert {"d___subclasses__", "d_Decimal", "d__u"} <= defs
    # the assessment model cannot be built for these names (BUG B19): the facts are given as the evaluator reads them
    facts = Assessment(
        records={"__globals__": {"__code__": "__import__", "K": Decimal(2), "X": True, "S": Unknown(frozenset({"__globals__.S"}))}},
        entities={
            "us": [
                Entity("us", 0, "a", {"U": Decimal(2), "MISS": True, "CONTEXT": Decimal(1)}, "us[a]"),
                Entity("us", 1, "b", {"U": Decimal(3), "MISS": False, "CONTEXT": Unknown(frozenset({"us[b].CONTEXT"}))}, "us[b]"),
            ]
        },
        data={},
    )
    result = run(policy, facts, date(2026, 9, 1))[0]
    assert result == reference_evaluate(policy, facts, date(2026, 9, 1))
    assert [(d.decision, d.entity, d.outcome) for d in result.decisions] == [
        ("__init__", "a", "__call__"), ("__init__", "b", "__del__"), ("R", None, "__getattr__")
    ]


@pytest.mark.parametrize("field", ["_x", "__code__", "model_dump", "model_validate"])
def test_field_names_that_clash_with_python_are_refused_or_work(field):
    policy, diagnostics = compile_text(f"{HEADER}input o {{ {field}: number }}\ndefine y label en \"y\" = o.{field}\n")
    if policy is None:
        assert all(d.code.startswith("E0") for d in diagnostics if d.is_error)
        return
    facts = validate(policy, {"o": {field: 3}})
    assert facts.records["o"][field] == 3


def test_the_compiler_refuses_an_identifier_outside_its_pattern():
    for bad in ["x-y", "a b", "os.system", "x)", "__import__('os')", "é", ""]:
        with pytest.raises(ValueError):
            _name("d", bad)
    assert _name("d", "__class__") == "d___class__"


def test_generated_code_runs_without_dangerous_builtins():
    policy, _ = compile_text(HOSTILE_POLICY, "hostile.strat")
    builtins = compiled(policy).namespace["__builtins__"]
    assert set(builtins) <= {"len", "min", "max", "abs", "any", "zip"}
    assert not {"__import__", "open", "eval", "exec", "getattr", "compile", "globals"} & set(builtins)


def test_dump_compiled_through_the_command_shows_no_payload(tmp_path):
    policy = tmp_path / "hostile.strat"
    policy.write_text(HOSTILE_POLICY, encoding="utf-8")
    facts = tmp_path / "a.yaml"
    facts.write_text(f"o: {{t: \"{PAYLOAD}\", x: 1, k: a}}\n", encoding="utf-8")
    dumped = cli("eval", policy, facts, "--dump-compiled")
    assert dumped.returncode == 0, dumped.stderr
    assert PAYLOAD not in dumped.stdout and "def d_y(X, e):" in dumped.stdout
    evaluated = cli("eval", policy, facts, "--as-of", AS_OF, "--format", "json", "--lang", "en")
    assert evaluated.returncode == 0, evaluated.stderr
    assert PAYLOAD in evaluated.stdout  # as data, in labels and values: shown, never run


# ====================================================================== 2. limits: policies


def test_policy_file_size_limit(tmp_path):
    big = tmp_path / "big.strat"
    with big.open("wb") as f:  # sparse: the limit is read from the size, before the text
        f.truncate(MAX_FILE_BYTES + 1)
    (d,) = stage_error(load_policy, big)
    assert d.code == "E005" and str(MAX_FILE_BYTES) in d.message
    main = tmp_path / "main.strat"
    main.write_text(HEADER + 'import "big.strat"\n', encoding="utf-8")
    (d,) = stage_error(load_policy, main)
    assert d.code == "E005" and d.span is not None and d.span.line == 2
    done = cli("check", main)
    assert done.returncode == 1 and "E005" in done.stderr and "Traceback" not in done.stderr


def test_policy_at_the_size_limit_is_read(tmp_path):
    text = HEADER + ORG
    path = tmp_path / "edge.strat"
    path.write_text(text + "#" * (MAX_FILE_BYTES - len(text.encode()) - 1) + "\n", encoding="utf-8")
    assert path.stat().st_size == MAX_FILE_BYTES
    assert len(load_policy(path).modules) == 1


def test_number_of_imported_files_is_limited(tmp_path):
    for i in range(MAX_IMPORTS + 1):
        (tmp_path / f"m{i}.strat").write_text(f'policy "m{i}" version "1"\n', encoding="utf-8")
    imports = "".join(f'import "m{i}.strat"\n' for i in range(MAX_IMPORTS + 1))
    (tmp_path / "main.strat").write_text(HEADER + imports, encoding="utf-8")
    ds = stage_error(load_policy, tmp_path / "main.strat")
    assert codes(ds) == ["E008"]
    assert all(d.span is not None for d in ds)


@pytest.mark.parametrize(
    "files, cycle",
    [
        ({"main.strat": 'import "main.strat"'}, ["main.strat", "main.strat"]),
        ({"main.strat": 'import "a.strat"', "a.strat": 'import "main.strat"'}, ["main.strat", "a.strat", "main.strat"]),
        ({"main.strat": 'import "sub/a.strat"', "sub/a.strat": 'import "b.strat"', "sub/b.strat": 'import "../sub/a.strat"'},
         ["a.strat", "b.strat", "a.strat"]),
    ],
    ids=["self", "two", "three-with-dotdot"],
)
def test_import_cycles_are_reported_not_followed(tmp_path, files, cycle):
    for name, body in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(f'{HEADER}{body}\n', encoding="utf-8")
    (d,) = stage_error(load_policy, tmp_path / "main.strat")
    assert d.code == "E007" and d.span is not None
    assert [part.rsplit("/", 1)[-1] for part in d.message.removeprefix("import cycle: ").split(" → ")] == cycle


@pytest.fixture
def outside(tmp_path):
    """A policy folder, and a secret policy file outside it."""
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "s.strat").write_text('policy "secret" version "1"\nenum secret { a b }\n', encoding="utf-8")
    folder = tmp_path / "pol"
    (folder / "sub").mkdir(parents=True)
    (folder / "link.strat").symlink_to(tmp_path / "secret" / "s.strat")
    (folder / "linkdir").symlink_to(tmp_path / "secret")
    return folder


@pytest.mark.parametrize(
    "target",
    ["../secret/s.strat", "sub/../../secret/s.strat", "{abs}", "/etc/passwd", "/dev/zero", "link.strat", "linkdir/s.strat", "./../secret/s.strat"],
)
def test_imports_may_not_leave_the_policy_folder(outside, target):
    target = target.replace("{abs}", str(outside.parent / "secret" / "s.strat"))
    (outside / "main.strat").write_text(f'{HEADER}import "{target}"\n', encoding="utf-8")
    (d,) = stage_error(load_policy, outside / "main.strat")
    assert d.code == "E006" and d.span is not None and d.span.line == 2


def test_a_symlinked_root_policy_is_confined_to_its_real_folder(outside):
    """The folder is the one the root policy really lives in, so a symlink cannot widen it."""
    (outside / "main.strat").write_text(f'{HEADER}import "s.strat"\n', encoding="utf-8")
    alias = outside.parent / "secret" / "alias.strat"
    alias.symlink_to(outside / "main.strat")
    (d,) = stage_error(load_policy, alias)
    assert d.code == "E004"  # s.strat is looked up next to the real main.strat, not next to the link


def test_importing_a_folder_is_a_read_error(outside):
    (outside / "main.strat").write_text(f'{HEADER}import "sub"\nimport ""\n', encoding="utf-8")
    ds = stage_error(load_policy, outside / "main.strat")
    assert codes(ds) == ["E004"]


def test_nul_character_in_an_import_path(outside):
    (outside / "main.strat").write_text(f'{HEADER}import "a\x00b.strat"\n', encoding="utf-8")
    ds = stage_error(load_policy, outside / "main.strat")
    assert codes(ds)[0] in ("E004", "E006")


def test_import_of_something_that_is_not_a_file_does_not_block(outside):
    os.mkfifo(outside / "pipe.strat")
    (outside / "main.strat").write_text(f'{HEADER}import "pipe.strat"\n', encoding="utf-8")
    assert finishes_cleanly(
        f"""
        from stratdsl.engine import compile_policy
        policy, diagnostics = compile_policy({str(outside / "main.strat")!r})
        assert policy is None and diagnostics[0].code == "E004"
        print("OK")
        """,
        timeout=8,
    )


# ---------------------------------------------------------------------- expression nesting


def _nested(kind: str, n: int) -> str:
    body = {
        "parens": "(" * n + "o.x" + ")" * n,
        "not": "not " * n + "o.b",
        "neg": "-(" * n + "o.x" + ")" * n,
        "sum": " + ".join(["o.x"] * n),
        "or": " or ".join(["o.b"] * n),
        "if": "if o.b then 1 else " * n + "0",
        "call": "abs(" * n + "o.x" + ")" * n,
    }[kind]
    return f'{HEADER}{ORG}define y label en "y" = {body}\n'


def test_ten_thousand_nested_parentheses_are_fine():
    """Parentheses do not add a level to the syntax tree: they are only grouping."""
    outcome, policy = policy_contract(_nested("parens", 10_000))
    assert outcome == "ok"
    assert sf.assessment_outcome(policy, "o: {x: 2}\n", False) == "evaluated"


@pytest.mark.parametrize(
    "kind, n",
    [("not", 10_000), ("neg", 2_000), ("sum", 2_000), ("or", 2_000), ("call", 2_000), ("if", 1_000)],
)
def test_deep_expressions_are_a_coded_error(kind, n):
    outcome, _ = policy_contract(_nested(kind, n))
    assert outcome.startswith("rejected E")


@pytest.mark.parametrize("kind", ["not", "neg", "sum", "or", "call"])
def test_moderately_nested_expressions_check_and_evaluate(kind):
    outcome, policy = policy_contract(_nested(kind, 40))
    assert outcome == "ok"
    assert sf.assessment_outcome(policy, "o: {x: 2, b: true}\n", False) == "evaluated"


@pytest.mark.parametrize("kind, n", [("sum", 70), ("not", 100), ("neg", 100), ("or", 200), ("call", 100)])
def test_expressions_the_checker_accepts_also_compile(kind, n):
    outcome, policy = policy_contract(_nested(kind, n))
    assert outcome == "ok"
    assert sf.assessment_outcome(policy, "o: {x: 2, b: true}\n", False) == "evaluated"


def test_a_chain_of_if_else_compiles_in_linear_time():
    assert finishes_cleanly(
        f"""
        from stratdsl.engine import compile_text
        from stratdsl.backends.compiler import compiled
        policy, _ = compile_text({_nested("if", 40)!r})
        assert len(compiled(policy).source) < 100_000
        print("OK")
        """,
        timeout=10,
    )


def test_long_chains_of_definitions():
    text = HEADER + ORG + "define d0 = o.x\n" + "".join(f"define d{i} = d{i - 1} + 1\n" for i in range(1, 250))
    _outcome, policy = policy_contract(text + 'define out label en "o" = d249\n')
    if policy is not None:
        assert sf.assessment_outcome(policy, "o: {x: 1}\n", False) == "evaluated"


# ---------------------------------------------------------------------- checker cost (CPU denial of service)


CHECK_COST = {
    "enum-with-40000-values": HEADER + "enum e { " + " ".join(f"v{i}" for i in range(40_000)) + " }\n",
    "4000-unknown-names": HEADER + ORG + "".join(f"define d{i} = o.x\n" for i in range(4000)) + "".join(f"define u{i} = zz{i}\n" for i in range(4000)),
    "analysis-15-bools-20-rules": HEADER
    + "input us: many u { " + " ".join(f"b{i}: bool" for i in range(15)) + " }\n"
    + "decision d for each u {\n"
    + "".join(f"  r{i} when " + " or ".join(f"b{j}" for j in range(15)) + "\n" for i in range(20))
    + "  otherwise z\n}\n",
}
CHECK_SECONDS = 15  # a linear checker needs 1–3 s for the largest; today each takes 40 s or more


@pytest.fixture(scope="module")
def check_cost(tmp_path_factory) -> dict[str, bool]:
    """Check each hostile policy in its own process, all at once: name → finished within CHECK_SECONDS."""
    folder = tmp_path_factory.mktemp("cost")
    procs = {}
    for name, text in CHECK_COST.items():
        path = folder / f"{name}.strat"
        path.write_text(text, encoding="utf-8")
        assert path.stat().st_size < 300_000
        code = f"from stratdsl.engine import compile_policy; compile_policy({str(path)!r}); print('OK')"
        procs[name] = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                       start_new_session=True)
    deadline = time.monotonic() + CHECK_SECONDS
    finished = {}
    for name, proc in procs.items():
        try:
            out, _ = proc.communicate(timeout=max(deadline - time.monotonic(), 0.1))
            finished[name] = proc.returncode == 0 and out.strip() == "OK"
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            finished[name] = False
    return finished


@pytest.mark.parametrize("name", list(CHECK_COST))
def test_checking_a_small_hostile_policy_is_fast(name, check_cost):
    assert check_cost[name]


# ====================================================================== 2. limits: assessments


def _laughs(levels: int = 9) -> str:
    text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, levels):
        text += f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}"] * 10) + "]\n"
    return text


def test_billion_laughs_is_refused_with_e307():
    (d,) = stage_error(parse_data, _laughs(), "a.yaml")
    assert d.code == "E307" and "aliases" in d.message


def test_the_node_budget_also_counts_alias_expansion(monkeypatch):
    monkeypatch.setattr(assessment_mod, "MAX_YAML_NODES", 500)
    (d,) = stage_error(parse_data, _laughs(3), "a.yaml")  # 21 nodes written, 1000+ once expanded
    assert d.code == "E307"
    parse_data("a: &a [1, 2, 3]\nb: *a\nc: *a\n", "a.yaml")  # a little aliasing is fine


def test_billion_laughs_is_refused_fast():
    assert finishes_cleanly(
        f"""
        import time
        from stratdsl.runtime.assessment import parse_data
        from stratdsl.language.diagnostics import StratError
        start = time.perf_counter()
        try:
            parse_data({_laughs()!r}, "a.yaml")
        except StratError:
            print("OK" if time.perf_counter() - start < 1.5 else "slow")
        """,
        timeout=5,
    )


def test_recursive_alias_is_refused():
    (d,) = stage_error(parse_data, "about: &a [*a]\n", "a.yaml")
    assert d.code == "E307"


def test_yaml_nesting_limit():
    ok = "about: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    parse_data(ok, "a.yaml")
    (d,) = stage_error(parse_data, "about: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n", "a.yaml")
    assert d.code == "E307" and str(MAX_DEPTH) in d.message


@pytest.mark.parametrize(
    "text",
    ["about: " + "[" * 10_000 + "]" * 10_000 + "\n", "".join(" " * i + "a:\n" for i in range(700))],
    ids=["flow-10000", "block-700"],
)
def test_deep_yaml_is_refused_with_e307(text):
    (d,) = stage_error(parse_data, text, "a.yaml")
    assert d.code == "E307"


def test_very_deep_json_is_a_coded_error():
    ds = stage_error(parse_data, '{"about": ' + "[" * 100_000 + "]" * 100_000 + "}", "a.json", json_format=True)
    assert codes(ds)[0] in ("E301", "E307")


def test_json_nesting_limit():
    (d,) = stage_error(parse_data, '{"about": {"x": ' + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "}}", "a.json", json_format=True)
    assert d.code == "E307"


def test_deep_json_through_the_command(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"about": {"x": ' + "[" * 500 + "]" * 500 + "}}", encoding="utf-8")
    done = cli("eval", PROPS, path, "--as-of", AS_OF, "--format", "records")
    assert done.returncode == 1 and "E307" in done.stderr, done.stderr


def test_assessment_file_size_limit(tmp_path):
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.truncate(assessment_mod.MAX_ASSESSMENT_BYTES + 1)
    (d,) = stage_error(read_data, big, "big.yaml")
    assert d.code == "E307"


@pytest.fixture(scope="module")
def props():
    policy, _ = compile_policy(PROPS)
    assert policy is not None
    return policy


def test_number_of_entities_is_limited(monkeypatch):
    rows = [{"id": f"u{i}"} for i in range(51)]
    monkeypatch.setattr(assessment_mod, "MAX_ENTITIES", 50)
    policy, _ = compile_policy(PROPS)  # a policy of its own: the assessment model is built (and cached) with the lower limit
    (d,) = stage_error(validate, policy, {"usecases": rows})
    assert d.code == "E302" and "more than 50 items" in d.message
    validate(policy, {"usecases": rows[:50]})


def test_number_of_entities_is_limited_at_the_real_limit(props):
    text = json.dumps({"usecases": [{"id": f"u{i}"} for i in range(MAX_ENTITIES + 1)]})
    data, spans = parse_data(text, "a.json", json_format=True)
    ds = stage_error(validate, props, data, "a.json", spans)
    assert codes(ds) == ["E302"] and any(f"more than {MAX_ENTITIES} items" in d.message for d in ds)


def test_text_and_id_lengths_are_limited():
    policy, _ = compile_text(f"{HEADER}input o {{ t: text }}\ninput us: many u {{ x: number }}\n")
    validate(policy, {"o": {"t": "x" * MAX_TEXT}})
    (d,) = stage_error(validate, policy, {"o": {"t": "x" * (MAX_TEXT + 1)}})
    assert d.code == "E302" and str(MAX_TEXT) in d.message
    (d,) = stage_error(validate, policy, {"us": [{"id": "a" * 201}]})
    assert d.code == "E302"


def test_list_fields_are_limited():
    policy, _ = compile_text(f"{HEADER}enum e {{ a b }}\ninput o {{ l: list of e }}\n")
    (d,) = stage_error(validate, policy, {"o": {"l": ["a"] * 1001}})
    assert d.code == "E302" and "1000" in d.message


@pytest.mark.parametrize("value", ["1e999999", "1.0e+999999", "-1.0e+999999", "NaN", "nan", "Infinity", "-Infinity", ".inf", ".nan", "sNaN", "'1e999999'"])
def test_huge_and_non_finite_numbers_are_refused_in_bounded_fields(props, value):
    data, spans = parse_data(f"usecases: [{{id: a, impact: {value}, weight: {value}}}]\n", "a.yaml")
    ds = stage_error(validate, props, data, "a.yaml", spans)
    assert codes(ds) == ["E302"] and len(ds) == 2


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999999"])
def test_huge_and_non_finite_numbers_in_json(props, value):
    data, spans = parse_data(f'{{"usecases": [{{"id": "a", "impact": {value}, "weight": {value}}}]}}', "a.json", json_format=True)
    ds = stage_error(validate, props, data, "a.json", spans)
    assert codes(ds) == ["E302"]


@pytest.mark.parametrize(
    "define, value",
    [("o.x", "1.0e+30"), ("o.x", "'123456789012345678901234567890'"), ("1 / o.x", "1.0e-999999"), ("round(o.x, 40)", "1.5"),
     ("round(o.x, 20)", "1.0e+10")],
    ids=["echo-1e30", "echo-30-digits", "tiny-divisor", "round-40-places", "round-20-places-of-1e10"],
)
def test_large_numbers_in_unbounded_fields(define, value):
    policy, diagnostics = compile_text(f'{HEADER}{ORG}define y label en "y" = {define}\n')
    if policy is None:  # round() takes 0 to 20 places (B12)
        assert [d.code for d in diagnostics if d.is_error] == ["E024"]
        return
    outcome = sf.assessment_outcome(policy, f"o: {{x: {value}}}\n", False)
    assert outcome.startswith(("evaluated", "invalid E302", "eval refused E"))


def test_arithmetic_overflow_is_a_coded_error():
    policy, _ = compile_text(f'{HEADER}{ORG}define y label en "y" = o.x * o.x * o.x\n')
    assert sf.assessment_outcome(policy, "o: {x: 9.0e+999998}\n", False).startswith(("eval refused E", "invalid E302"))


@pytest.mark.parametrize(
    "text, is_json",
    [('{"about": {"x": "\\ud800"}, "usecases": []}', True), ('about: {x: "\\ud83d\\ude42"}\n', False)],
    ids=["json-lone-surrogate", "yaml-surrogate-pair-escape"],
)
def test_surrogates_in_assessments(props, text, is_json):
    assert sf.assessment_outcome(props, text, is_json).startswith(("evaluated", "unreadable E301", "invalid E302"))


@pytest.mark.parametrize(
    "text",
    ["usecases: [{id: a, narrow: !!bool maybe}]\n", "usecases: [{id: a, weight: !!int }]\n", "usecases: [{id: a}]\nx: !!timestamp nonsense\n",
     "usecases: [{id: a}]\nabout: {x: a\x00b}\n", "about: {x: \"line\x0bbreak\"}\n", "about: {x: a\x9bb}\n", "about: {x: a\uffffb}\n"],
    ids=["bad-bool-tag", "empty-int-tag", "bad-timestamp-tag", "nul", "vertical-tab", "c1-control", "U+FFFF"],
)
def test_unreadable_yaml_scalars_are_e301(text):
    (d,) = stage_error(parse_data, text, "a.yaml")
    assert d.code == "E301"


def test_impossible_dates_and_huge_integers_in_yaml_are_e301():
    for text in ["x: 2026-02-30\n", "x: !!int abc\n", "x: " + "9" * 5000 + "\n"]:
        (d,) = stage_error(parse_data, text, "a.yaml")
        assert d.code == "E301", text


def test_huge_integer_in_json_is_e301():
    (d,) = stage_error(parse_data, '{"usecases": [{"id": "a", "weight": ' + "9" * 5000 + "}]}", "a.json", json_format=True)
    assert d.code == "E301"


def test_an_assessment_that_is_not_a_file_does_not_block(tmp_path):
    os.mkfifo(tmp_path / "a.yaml")
    assert finishes_cleanly(
        f"""
        from pathlib import Path
        from stratdsl.runtime.assessment import read_data
        from stratdsl.language.diagnostics import StratError
        try:
            read_data(Path({str(tmp_path / "a.yaml")!r}), "a.yaml")
        except StratError as error:
            assert error.diagnostics[0].code == "E301"
            print("OK")
        """,
        timeout=8,
    )


# ---------------------------------------------------------------------- the command never shows a traceback


HOSTILE_ASSESSMENTS = {
    "python-tag.yaml": "usecases: !!python/object/apply:os.system ['id']\n",
    "aliases.yaml": "a: &a [1, 2]\nusecases: *a\n",
    "deep-yaml.yaml": "about: " + "[" * 100 + "]" * 100 + "\n",
    "deep-json.json": '{"about": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "huge.yaml": "usecases: [{id: a, impact: 1e999999, weight: 1.0e+999999}]\n",
    "nan.json": '{"usecases": [{"id": "a", "impact": NaN}]}',
    "not-utf8.yaml": b"usecases: [{id: \xff}]\n",
    "unknown-keys.yaml": "usecase: []\nusecases: [{id: a, impcat: 3}]\n",
}


def test_hostile_assessments_through_the_command_exit_1(tmp_path):
    procs = []
    for name, text in HOSTILE_ASSESSMENTS.items():
        path = tmp_path / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        procs.append((name, subprocess.Popen([*stratdsl_command(), "eval", str(PROPS), str(path), "--as-of", AS_OF, "--format", "records"],
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace")))
    for name, proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 1, (name, err)
        assert "Traceback" not in err and "internal error" not in err, (name, err)
        assert re.search(r"E30[1-7]", err), (name, err)


def test_one_poisonous_input_does_not_stop_a_batch(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "a-deep.json").write_text('{"about": {"x": ' + "[" * 500 + "]" * 500 + '}, "usecases": []}', encoding="utf-8")
    (inputs / "b-ok.yaml").write_text("usecases: [{id: u, impact: 4, effort: 1}]\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    done = cli("batch", PROPS, inputs, "-o", out, "--as-of", AS_OF)
    assert "internal error" not in done.stderr, done.stderr
    keys = {json.loads(line)["key"]: json.loads(line)["status"] for line in out.read_text().splitlines()}
    assert keys == {str(inputs / "a-deep.json"): "invalid", str(inputs / "b-ok.yaml"): "ok"}


# ====================================================================== 5. determinism


@pytest.fixture(scope="module")
def methodology_copy(tmp_path_factory):
    """The shipped methodology and examples, copied outside git (provenance then has no commit that could change)."""
    folder = tmp_path_factory.mktemp("det")
    shutil.copytree(REPO / "policies", folder / "policies", ignore=shutil.ignore_patterns("tests"))
    shutil.copytree(REPO / "examples", folder / "examples")
    return folder


def _report_command() -> list[str]:
    """`stratdsl report` when the command is registered, else the same click command run as a module."""
    help_text = cli("--help").stdout
    if re.search(r"^\s+report\s", help_text, re.M):
        return [*stratdsl_command(), "report"]
    return [sys.executable, "-c", "import sys; from stratdsl.commands.report_cli import report_cmd; sys.exit(report_cmd())"]


def test_same_inputs_give_the_same_bytes_across_processes_and_hash_seeds(methodology_copy):
    folder = methodology_copy
    policy, example = "policies/strategy.strat", "examples/cabinet-comptable.yaml"
    seeds = ["0", "1", "4242", "random"]
    commands = {
        "json": [*stratdsl_command(), "eval", policy, example, "--as-of", "2026-11-26", "--format", "json", "--lang", "en"],
        "records": [*stratdsl_command(), "eval", policy, example, "--as-of", "2026-11-26", "--format", "records"],
        "text": [*stratdsl_command(), "eval", policy, example, "--as-of", "2026-11-26", "--param", "default_hourly_cost=50"],
        "explain": [*stratdsl_command(), "explain", policy, example, "quadrant", "--as-of", "2026-11-26", "--format", "json"],
    }
    outputs: dict[str, set[str]] = {name: set() for name in commands}
    for batch_of_seeds in (seeds[:2], seeds[2:]):
        procs = []
        for seed in batch_of_seeds:
            env = {**os.environ, "PYTHONHASHSEED": seed}
            env.pop("STRATDSL_DEBUG", None)
            for name, argv in commands.items():
                procs.append((name, subprocess.Popen(argv, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)))
        for name, proc in procs:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, (name, err.decode(errors="replace"))
            outputs[name].add(out.decode("utf-8"))
    for name, seen in outputs.items():
        assert len(seen) == 1, f"{name}: {len(seen)} different outputs"
        assert seen.pop().strip(), name


def test_batch_output_is_the_same_bytes_across_hash_seeds_and_jobs(methodology_copy, tmp_path):
    folder = methodology_copy
    lines = []
    for i in range(30):  # the examples, and variants of them as JSONL
        lines.append(json.dumps({"organization": {"name": f"c{i}", "headcount": 10 + i}}))
    (tmp_path / "many.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    runs = [("0", "1"), ("1", "2"), ("random", "2")]
    procs = []
    for n, (seed, jobs) in enumerate(runs):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        argv = [*stratdsl_command(), "batch", "policies/strategy.strat", "examples", str(tmp_path / "many.jsonl"),
                "-o", str(tmp_path / f"out{n}.jsonl"), "--jobs", jobs, "--as-of", "2026-11-26"]
        procs.append(subprocess.Popen(argv, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode in (0, 1), err.decode(errors="replace")
    outputs = {(tmp_path / f"out{n}.jsonl").read_bytes() for n in range(len(runs))}
    assert len(outputs) == 1
    assert outputs.pop().count(b"\n") == 30 + len(list((folder / "examples").glob("*.yaml")))


def test_report_is_the_same_bytes_across_hash_seeds(methodology_copy, tmp_path):
    folder = methodology_copy
    base = _report_command()
    procs = []
    for n, seed in enumerate(["0", "1", "random"]):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        for fmt in ("md", "html"):
            argv = [*base, "policies/strategy.strat", "examples/cabinet-comptable.yaml", "-o", str(tmp_path / f"r{n}.{fmt}"),
                    "--as-of", "2026-11-26", "--lang", "en"]
            procs.append(subprocess.Popen(argv, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    for fmt in ("md", "html"):
        assert len({(tmp_path / f"r{n}.{fmt}").read_bytes() for n in range(3)}) == 1, fmt


def test_in_process_runs_are_deterministic_too(props):
    """The same evaluation twice in one process (memo tables, caches) gives equal results."""
    data, spans = parse_data((FIXTURES / "assess_ok.yaml").read_text(encoding="utf-8"), "a.yaml")
    policy, _ = compile_policy(FIXTURES / "assess.strat")
    facts = validate(policy, data, "a.yaml", spans)
    first = run(policy, facts, date(2026, 9, 1))[0]
    assert run(policy, facts, date(2026, 9, 1))[0] == first == reference_evaluate(policy, facts, date(2026, 9, 1))



# ====================================================================== issue 16, points 7–13
# Holes found by an attack on the engine (docs/security.md §2, "attack of 2026-12").

SECRET = "SECRET_TOKEN=hunter2-do-not-print"


@pytest.fixture
def linked_folder(tmp_path):
    """A policy folder holding a good policy, a link to a secret file outside it and a
    linked sub-folder leading outside (what `ln -s /proc/self/environ policies/x.strat` does)."""
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "environ").write_text(f"{SECRET}\nPATH=/usr/bin\n", encoding="utf-8")
    (secret / "inner.strat").write_text(f"{SECRET}\n", encoding="utf-8")
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "good.strat").write_text(f'{HEADER}{ORG}decision d {{ yes when o.b  otherwise no }}\n', encoding="utf-8")
    (folder / "x.strat").symlink_to(secret / "environ")
    (folder / "more").symlink_to(secret, target_is_directory=True)
    return folder


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_check_of_a_folder_never_reads_a_linked_file_outside_it(linked_folder, fmt):
    done = cli("check", "--format", fmt, "policies", cwd=linked_folder.parent)
    assert done.returncode == 1
    assert "hunter2" not in done.stdout + done.stderr
    assert "E060" in done.stdout + done.stderr
    assert "x.strat" in done.stdout + done.stderr


def test_check_of_a_shell_glob_refuses_the_link_too(linked_folder):
    done = cli("check", "policies/good.strat", "policies/x.strat", cwd=linked_folder.parent)
    assert done.returncode == 1
    assert "hunter2" not in done.stdout + done.stderr
    assert "error[E060]: policy file 'policies/x.strat' is a link to a file outside the folder 'policies'" in done.stderr
    assert "policies/good.strat: ok" in done.stdout


def test_a_link_inside_the_folder_is_still_fine(tmp_path):
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "good.strat").write_text(f'{HEADER}{ORG}decision d {{ yes when o.b  otherwise no }}\n', encoding="utf-8")
    (folder / "alias.strat").symlink_to(folder / "good.strat")
    done = cli("check", "policies", cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def test_fmt_never_writes_through_a_link_out_of_the_folder(linked_folder):
    before = (linked_folder.parent / "secret" / "environ").read_bytes()
    done = cli("fmt", "policies", cwd=linked_folder.parent)
    assert done.returncode == 1 and "E060" in done.stderr and "hunter2" not in done.stdout + done.stderr
    assert (linked_folder.parent / "secret" / "environ").read_bytes() == before


def test_syntax_errors_never_print_a_line_of_a_file_outside_the_folder(linked_folder):
    """The renderer's fallback sources (for a policy that does not parse) stay in the folder too."""
    (linked_folder / "broken.strat").write_text(f'{HEADER}import "x.strat"\nthis is not a policy\n', encoding="utf-8")
    done = cli("check", "policies/broken.strat", cwd=linked_folder.parent)
    assert done.returncode == 1
    assert "hunter2" not in done.stdout + done.stderr


@pytest.fixture
def test_repo(tmp_path):
    """A repository (`.git`) with a policy and a test file in a sub-folder, and a secret outside."""
    (tmp_path / "secret.yaml").write_text(f"{SECRET}: 1\n", encoding="utf-8")
    (tmp_path / "secret.strat").write_text(f"{SECRET}\n", encoding="utf-8")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "policies" / "tests").mkdir(parents=True)
    (repo / "policies" / "p.strat").write_text(f'{HEADER}{ORG}decision d {{ go when o.b  otherwise stop }}\n', encoding="utf-8")
    (repo / "policies" / "tests" / "base.yaml").write_text("o: {b: true, x: 1, t: a}\n", encoding="utf-8")
    return repo


def _policy_test(policy: str, assessment: str) -> str:
    return f"policy: {policy}\nassessment: {assessment}\nas_of: 2026-09-01\ncases:\n  - name: c\n    expect: {{d: go}}\n"


@pytest.mark.parametrize(
    ("policy", "assessment", "field"),
    [
        ("../p.strat", "base.yaml", None),  # inside the repository: fine
        ("{outside}/secret.strat", "base.yaml", "policy"),
        ("../../../secret.strat", "base.yaml", "policy"),
        ("link.strat", "base.yaml", "policy"),
        ("../p.strat", "{outside}/secret.yaml", "assessment"),
        ("../p.strat", "../../../secret.yaml", "assessment"),
        ("../p.strat", "link.yaml", "assessment"),
    ],
)
def test_policy_tests_read_only_files_of_their_repository(test_repo, policy, assessment, field):
    outside = test_repo.parent
    tests = test_repo / "policies" / "tests"
    (tests / "link.strat").symlink_to(outside / "secret.strat")
    (tests / "link.yaml").symlink_to(outside / "secret.yaml")
    (tests / "a.test.yaml").write_text(_policy_test(policy.format(outside=outside), assessment.format(outside=outside)), encoding="utf-8")
    done = cli("test", "policies/tests", cwd=test_repo)
    assert "hunter2" not in done.stdout + done.stderr
    if field is None:
        assert done.returncode == 0, done.stdout + done.stderr
        return
    assert done.returncode == 1
    assert f"E510 {field} '" in done.stdout
    assert "is outside the folder" in done.stdout


def test_policy_tests_outside_git_are_confined_to_their_folder(tmp_path):
    (tmp_path / "p.strat").write_text(f"{HEADER}{ORG}decision d {{ go when o.b  otherwise stop }}\n", encoding="utf-8")
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "a.test.yaml").write_text(_policy_test("../p.strat", "{o: {b: true}}"), encoding="utf-8")
    done = cli("test", ".", cwd=tmp_path / "t")  # run from the test's folder: the policy above it is out of bounds
    assert done.returncode == 1 and "E510 policy '../p.strat'" in done.stdout
    # run from the folder that holds both (a folder made by `stratdsl init`, before `git init`): allowed
    done = cli("test", "t", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


# ---------------------------------------------------------------------- point 9: numbers


UNBOUNDED = f'{HEADER}{ORG}define y label en "y" = o.x\ndecision d {{ go when o.x > 0  otherwise stop }}\n'


@pytest.mark.parametrize(
    ("text", "json_format", "message"),
    [
        ('o: {x: "5"}\n', False, "'5' is text, not a number"),
        ("o: {x: '1e-999999'}\n", False, "'1e-999999' is text, not a number"),
        ("o: {x: 1e-999999}\n", False, "'1e-999999' is text, not a number"),  # YAML 1.1 reads it as text
        ("o: {x: 1.0e-999999}\n", False, "is refused: it is smaller than 10^-20"),
        ('{"o": {"x": 1e-999999}}', True, "is refused: it is smaller than 10^-20"),
        ('{"o": {"x": "1e-999999"}}', True, "'1e-999999' is text, not a number"),
        ('{"o": {"x": 1e21}}', True, "is refused: it is 10^21 or more"),
        ('{"o": {"x": 1000000000000000000000}}', True, "is refused: it is 10^21 or more"),
        ('{"o": {"x": 1.00000000000000000000000000001}}', True, "more than 28 significant digits"),
        ('{"o": {"x": true}}', True, "a number is expected, not true"),
        ('{"o": {"x": 1}, "about": {"notes": [{"n": 1e-999999}]}}', True, "about.notes[0].n: 1E-999999 is refused: it is smaller than 10^-20"),
    ],
)
def test_numbers_are_bounded_and_never_text(text, json_format, message):
    policy, _ = compile_text(UNBOUNDED)
    data, spans = parse_data(text, "a.json" if json_format else "a.yaml", json_format=json_format)
    (d,) = stage_error(validate, policy, data, "a", spans)
    assert d.code == "E302" and message in d.message, d.message
    assert len(d.message) < 200


@pytest.mark.parametrize("value", ["1e20", "-1e20", "1e-20", "0.1234567890123456789012345678", "2.50", "0", "0.000"])
def test_numbers_within_the_bounds_are_read(value):
    policy, _ = compile_text(UNBOUNDED)
    data, spans = parse_data(f'{{"o": {{"x": {value}}}}}', "a.json", json_format=True)
    assert validate(policy, data, "a", spans).records["o"]["x"] == Decimal(value)


def test_the_schema_says_number_not_text():
    policy, _ = compile_text(UNBOUNDED)
    schema = assessment_mod.json_schema(policy)
    x = schema["$defs"]["O"]["properties"]["x"]
    assert {"type": "string"} not in x["anyOf"] and {"type": "number"} in x["anyOf"]


def test_a_tiny_number_through_the_command_prints_a_short_line(tmp_path):
    """The attack of the issue: 1e-999999 printed a million characters wherever it went."""
    (tmp_path / "p.strat").write_text(UNBOUNDED, encoding="utf-8")
    (tmp_path / "a.json").write_text('{"o": {"x": 1e-999999}}', encoding="utf-8")
    log = tmp_path / "audit.jsonl"
    done = cli("eval", "p.strat", "a.json", "--audit-log", log, "--as-of", AS_OF, cwd=tmp_path)
    assert done.returncode == 1 and "E302" in done.stderr and len(done.stdout + done.stderr) < 1000
    assert not log.exists() or log.stat().st_size < 10_000


@pytest.mark.parametrize(
    ("literal", "message"),
    [("12345678901234567890123456789", "more than 28 significant digits"), ("0.000000000000000000001", "smaller than 10^-20"),
     ("1000000000000000000000", "10^21 or more")],
)
def test_numbers_written_in_a_policy_are_bounded_e061(literal, message):
    policy, diagnostics = compile_text(f"{HEADER}{ORG}define y = o.x * {literal}\n")
    assert policy is None
    (d,) = [d for d in diagnostics if d.is_error]
    assert d.code == "E061" and message in d.message
    assert d.span is not None and d.span.line == 3 and d.span.column == 18


def test_parameter_overrides_are_bounded_like_assessments(tmp_path):
    (tmp_path / "p.strat").write_text(f"{HEADER}{ORG}param t: number = 1\ndefine y = o.x * t\n", encoding="utf-8")
    (tmp_path / "a.yaml").write_text("o: {x: 1}\n", encoding="utf-8")
    for value, expected in [("1e-999999", "smaller than 10^-20"), ("1" * 29, "28 significant digits")]:
        done = cli("eval", "p.strat", "a.yaml", "--param", f"t={value}", "--as-of", AS_OF, cwd=tmp_path)
        assert done.returncode == 1 and "E304" in done.stderr and expected in done.stderr


def test_the_web_form_posts_text_and_reads_it_with_the_same_bounds():
    """The form posts strings: parse_answer converts them from the declared type (the explicit
    path), with the same bounds as the assessment model."""
    from stratdsl.commands.questionnaire import AnswerError, parse_answer, questions

    policy, _ = compile_text(UNBOUNDED)
    (q,) = [q for q in questions(policy, "en") if q.field == "x"]
    assert parse_answer(q, "12,5", "en") == Decimal("12.5")
    assert parse_answer(q, "1e20", "en") == Decimal("1e20")
    for bad in ("1e-999999", "1e21", "1" * 29):
        with pytest.raises(AnswerError):
            parse_answer(q, bad, "en")


# ---------------------------------------------------------------------- point 11: Trojan source

HIDDEN_DECISION = f'{HEADER}{ORG}# harmless note\rdecision evil {{ go when o.b  otherwise stop }}\ndecision d {{ go when o.b  otherwise stop }}\n'


def test_a_lone_cr_is_a_w120_warning_at_its_place():
    policy, diagnostics = compile_text(HIDDEN_DECISION)
    assert policy is not None and "evil" not in policy.decisions  # the parser reads a comment
    (w,) = [d for d in diagnostics if d.code == "W120"]
    assert (w.span.line, w.span.column) == (3, 16) and not w.is_error


@pytest.mark.parametrize("control", ["\u202e", "\u2066", "\u2069", "\u200f", "\u061c"])
@pytest.mark.parametrize("where", ["comment", "string"])
def test_bidi_controls_are_a_w121_warning(control, where):
    line = f"# note {control}x\n" if where == "comment" else f'define z label en "a{control}b" = 1\n'
    policy, diagnostics = compile_text(f"{HEADER}{ORG}{line}decision d {{ go when o.b  otherwise stop }}\n")
    assert policy is not None
    (w,) = [d for d in diagnostics if d.code == "W121"]
    assert f"U+{ord(control):04X}" in w.message and w.span.line == 3


def test_crlf_line_endings_are_no_warning():
    text = HEADER + ORG + "decision d { go when o.b  otherwise stop }\n"
    policy, diagnostics = compile_text(text.replace("\n", "\r\n"))
    assert policy is not None and not [d for d in diagnostics if d.code in ("W120", "W121")]


def test_hidden_characters_are_never_printed_raw(tmp_path):
    """The source line under a warning shows U+FFFD where the control was: the terminal does not
    obey it, and the caret stays under it."""
    (tmp_path / "p.strat").write_text(HIDDEN_DECISION.replace("# harmless", "# \u202eharmless"), encoding="utf-8", newline="")
    done = cli("check", "p.strat", cwd=tmp_path)
    assert done.returncode == 0
    assert "\r" not in done.stderr and "\u202e" not in done.stderr
    assert "3 | # \ufffdharmless note\ufffddecision evil" in done.stderr


def test_many_hidden_characters_give_a_bounded_number_of_warnings():
    comments = "".join(f"# {n}\r{n}\n" for n in range(500))
    _, diagnostics = compile_text(f"{HEADER}{ORG}{comments}decision d {{ go when o.b  otherwise stop }}\n")
    w120 = [d for d in diagnostics if d.code == "W120"]
    assert len(w120) == 21 and w120[-1].message == "480 more characters of this kind in '<policy>'"


def test_fmt_ends_lines_with_lf_and_shows_what_a_lone_cr_hid(tmp_path):
    path = tmp_path / "p.strat"
    path.write_text(HIDDEN_DECISION.replace("\n", "\r\n").replace('otherwise stop }\r\ndecision d', 'otherwise stop }\r\ndecision d'), encoding="utf-8", newline="")
    done = cli("fmt", "p.strat", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = path.read_bytes().decode("utf-8")
    assert "\r" not in text
    assert "# harmless note decision evil { go when o.b  otherwise stop }\n" in text  # still a comment, now visibly so
    before, _ = compile_text(HIDDEN_DECISION)
    after, diagnostics = compile_text(text)
    assert after is not None and set(after.decisions) == set(before.decisions) == {"d"}
    assert not [d for d in diagnostics if d.code == "W120"]
    assert cli("fmt", "--check", "p.strat", cwd=tmp_path).returncode == 0  # idempotent


def test_a_cr_in_a_string_is_kept_and_written_as_an_escape():
    from stratdsl.language.fmt import format_text

    text = f'{HEADER}{ORG}define z label en "a\rb" = 1\ndecision d {{ go when o.t = "x\\ry"  otherwise stop }}\n'
    formatted = format_text(text)
    assert '"a\\rb"' in formatted and '"x\\ry"' in formatted and "\r" not in formatted
    before, _ = compile_text(text)
    after, _ = compile_text(formatted)
    assert before is not None and after is not None
    assert before.definitions["z"].meta.label.en == after.definitions["z"].meta.label.en == "a\rb"


COMPOSED, DECOMPOSED = "R\u00e9union", "Re\u0301union"


@pytest.mark.parametrize(("in_policy", "in_assessment"), [(COMPOSED, DECOMPOSED), (DECOMPOSED, COMPOSED), (DECOMPOSED, DECOMPOSED)])
def test_texts_are_compared_in_nfc(in_policy, in_assessment):
    policy, _ = compile_text(f'{HEADER}{ORG}decision d {{ go when o.t = "{in_policy}" and o.t in {{ "{in_policy}", "x" }}  otherwise stop }}\n')
    facts = validate(policy, {"o": {"t": in_assessment}})
    (d,) = run(policy, facts, date(2026, 9, 1))[0].decisions
    assert d.outcome == "go"
    assert reference_evaluate(policy, facts, date(2026, 9, 1)).decisions[0].outcome == "go"


def test_text_parameters_are_compared_in_nfc(tmp_path):
    (tmp_path / "p.strat").write_text(f'{HEADER}{ORG}param region: text = "x"\ndecision d {{ go when region = "{COMPOSED}"  otherwise stop }}\n', encoding="utf-8")
    (tmp_path / "a.yaml").write_text("o: {b: true}\n", encoding="utf-8")
    done = cli("eval", "p.strat", "a.yaml", "--param", f"region={DECOMPOSED}", "--as-of", AS_OF, "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["decisions"][0]["outcome"] == "go"


# ---------------------------------------------------------------------- point 13: the service

STRATEGY = REPO / "policies" / "strategy.strat"
LOCAL = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def strategy():
    policy, _ = compile_policy(STRATEGY)
    return policy


def _app(policy, **security):
    return service_mod.create_app(policy, security=service_mod.Security(**security))


def _example() -> dict:
    data, _ = read_data(REPO / "examples" / "cabinet-comptable.yaml", "x.yaml")
    return json.loads(json.dumps(data, default=str))


def test_serve_listens_on_this_machine_by_default_and_says_so():
    from stratdsl.commands.cli import serve_cmd

    (host,) = [p.default for p in serve_cmd.params if p.name == "host"]
    assert host == "127.0.0.1"
    message = service_mod.startup_message("p.strat", "127.0.0.1", 8000, service_mod.Security())
    assert "listening on this machine only (127.0.0.1): other machines cannot connect" in message
    wide = service_mod.startup_message("p.strat", "0.0.0.0", 8000, service_mod.Security(api_keys=("k",)))
    assert "reachable from the network — put it behind a reverse proxy" in wide and "needs an API key (1 accepted)" in wide


@pytest.mark.parametrize(("host", "served"), [("127.0.0.1:8000", True), ("localhost", True), ("[::1]:8000", True),
                                              ("evil.example", False), ("evil.example:8000", False), ("127.0.0.1.evil.example", False), ("", False)])
def test_the_host_header_is_checked_dns_rebinding(strategy, host, served):
    client = TestClient(_app(strategy), base_url=LOCAL)
    api = client.get("/api/v1/policy", headers={"host": host})
    page = client.get("/questionnaire", headers={"host": host})
    if served:
        assert api.status_code == 200 and page.status_code == 200
        return
    assert api.status_code == 421 and api.json()["errors"][0]["code"] == "E314"
    assert page.status_code == 421 and page.headers["content-type"].startswith("text/html")


def test_more_host_names_can_be_allowed(strategy):
    client = TestClient(_app(strategy, allowed_hosts=(*service_mod.LOOPBACK_HOSTS, "strat.example.org")), base_url=LOCAL)
    assert client.get("/api/v1/policy", headers={"host": "strat.example.org"}).status_code == 200
    assert client.get("/api/v1/policy", headers={"host": "other.example.org"}).status_code == 421


@pytest.mark.parametrize(("headers", "allowed"), [
    ({"origin": "http://evil.example"}, False),
    ({"origin": "null"}, False),
    ({"origin": "http://127.0.0.1:9999"}, False),
    ({"sec-fetch-site": "cross-site"}, False),
    ({"origin": LOCAL}, True),
    ({"sec-fetch-site": "same-origin"}, True),
    ({}, True),  # curl, scripts: no Origin (API keys protect the API when it is exposed)
])
def test_cross_site_posts_are_refused(strategy, headers, allowed):
    client = TestClient(_app(strategy), base_url=LOCAL)
    r = client.post("/api/v1/evaluate", json={"assessment": _example(), "as_of": AS_OF}, headers=headers)
    if allowed:
        assert r.status_code == 200, r.text
    else:
        assert r.status_code == 403 and r.json()["errors"][0]["code"] == "E315"


def _token(client: TestClient) -> str:
    page = client.get("/questionnaire").text
    return re.search(r'name="csrf" value="([0-9a-f]{64})"', page).group(1)


def test_the_web_form_needs_its_csrf_token(strategy):
    app = _app(strategy, secret=b"s" * 32)
    browser = TestClient(app, base_url=LOCAL)
    form = {"lang": "en", "organization.name": "Acme", "usecases.1.title": "Invoices"}
    assert browser.post("/questionnaire", data=form).status_code == 403  # no cookie, no token
    token = _token(browser)
    cookie = browser.cookies.get("stratdsl_csrf")
    assert cookie and token == service_mod.csrf_token(b"s" * 32, cookie)  # HMAC of this browser's cookie
    refused = browser.post("/questionnaire", data={**form, "csrf": "0" * 64})
    assert refused.status_code == 403 and "This form has expired or does not come from this site" in refused.text
    ok = browser.post("/questionnaire", data={**form, "csrf": token})
    assert ok.status_code in (200, 422) and "<h1>Request refused</h1>" not in ok.text
    other = TestClient(app, base_url=LOCAL)  # another browser: its own cookie, so the first token is worth nothing
    _token(other)
    assert other.post("/questionnaire", data={**form, "csrf": token}).status_code == 403


def test_a_form_re_rendered_keeps_a_valid_token(strategy):
    browser = TestClient(_app(strategy), base_url=LOCAL)
    token = _token(browser)
    page = browser.post("/questionnaire", data={"lang": "fr", "csrf": token, "add": "usecases"})
    assert page.status_code == 200
    again = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text).group(1)
    assert again == token


def test_api_keys(strategy):
    client = TestClient(_app(strategy, api_keys=("key-one", "key-two")), base_url=LOCAL)
    body = {"assessment": _example(), "as_of": AS_OF}
    r = client.post("/api/v1/evaluate", json=body)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer" and r.json()["errors"][0]["code"] == "E316"
    assert client.post("/api/v1/evaluate", json=body, headers={"authorization": "Bearer nope"}).status_code == 401
    assert client.post("/api/v1/evaluate", json=body, headers={"authorization": "Bearer key-two"}).status_code == 200
    assert client.post("/api/v1/evaluate", json=body, headers={"x-api-key": "key-one"}).status_code == 200
    assert client.get("/questionnaire").status_code == 200  # the web form is for people, not keys
    assert client.get("/api/v1/policy").status_code == 200  # health checks
    assert client.get("/api/v1/schema").status_code == 401


def test_a_trusted_proxy_header(strategy):
    client = TestClient(_app(strategy, auth_header="X-Remote-User"), base_url=LOCAL)
    assert client.get("/api/v1/policy").status_code == 200  # health checks
    r = client.get("/questionnaire")
    assert r.status_code == 401
    assert client.get("/questionnaire", headers={"x-remote-user": "alice"}).status_code == 200
    assert client.post("/api/v1/evaluate", json={"assessment": _example(), "as_of": AS_OF}).json()["errors"][0]["code"] == "E316"


def test_evaluations_beyond_the_bound_get_503_and_retry_after(strategy, monkeypatch):
    """One evaluation is held inside validation (an event, no timing); the next one is refused at
    once with 503, Retry-After and E313; once the first ends, evaluations are accepted again."""
    entered, release = threading.Event(), threading.Event()
    real = service_mod.validate

    def held(*args, **kwargs):
        entered.set()
        assert release.wait(60)
        return real(*args, **kwargs)

    app = _app(strategy, max_evaluations=1)
    body = {"assessment": _example(), "as_of": AS_OF}
    results: list = []
    monkeypatch.setattr(service_mod, "validate", held)
    first = threading.Thread(target=lambda: results.append(TestClient(app, base_url=LOCAL).post("/api/v1/evaluate", json=body)))
    first.start()
    try:
        assert entered.wait(60)
        busy = TestClient(app, base_url=LOCAL).post("/api/v1/evaluate", json=body)
        assert busy.status_code == 503 and busy.headers["retry-after"] == str(service_mod.RETRY_AFTER)
        assert busy.json()["errors"][0]["code"] == "E313"
        explain = TestClient(app, base_url=LOCAL).post("/api/v1/explain", json={**body, "decision": "portfolio"})
        assert explain.status_code == 503
    finally:
        release.set()
        first.join(60)
    assert results[0].status_code == 200
    monkeypatch.setattr(service_mod, "validate", real)
    assert TestClient(app, base_url=LOCAL).post("/api/v1/evaluate", json=body).status_code == 200


def _held_validation(monkeypatch):
    """validate() held until `release` is set; `entered` counts the evaluations inside it."""
    entered, release = threading.Semaphore(0), threading.Event()
    real = service_mod.validate

    def held(*args, **kwargs):
        entered.release()
        assert release.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(service_mod, "validate", held)
    return entered, release


def _until(condition) -> None:
    """Wait for a state of the server (no timing asserted: only a bound on the test)."""
    for _ in range(6000):
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError("the server never reached the expected state")


def test_a_request_beyond_the_bound_waits_for_a_slot_and_is_served(strategy, monkeypatch):
    """Issue 18, target 5: with every slot held, one more request queues (it is refused only
    after its queue_wait, here longer than the test); once a slot is freed, all are served."""
    entered, release = _held_validation(monkeypatch)
    app = _app(strategy, max_evaluations=2, queue_wait=60)
    slots = app.state.evaluation_slots
    body = {"assessment": _example(), "as_of": AS_OF}
    results: list = []

    def post(path: str, extra: dict) -> None:
        results.append(TestClient(app, base_url=LOCAL).post(path, json={**body, **extra}))

    held = [threading.Thread(target=post, args=("/api/v1/evaluate", {})) for _ in range(2)]
    for t in held:
        t.start()
    queued = [threading.Thread(target=post, args=("/api/v1/evaluate", {})), threading.Thread(target=post, args=("/api/v1/explain", {"decision": "portfolio"})),
              threading.Thread(target=post, args=("/api/v1/evaluate", {"outcomes_only": True}))]
    try:
        for _ in held:
            assert entered.acquire(timeout=60)
        assert slots.running == 2
        for t in queued:
            t.start()
        _until(lambda: slots.waiting == 3)  # all wait for a slot: none refused
        assert results == [] and slots.running == 2
    finally:
        release.set()
        for t in (*held, *queued):
            t.join(60)
    assert [r.status_code for r in results] == [200] * 5, [r.text[:300] for r in results]
    assert slots.running == 0 and slots.waiting == 0


def test_the_wait_for_a_slot_is_bounded(strategy, monkeypatch):
    """The slot stays held for the whole test: the waiting request is refused (503, E313,
    Retry-After) once its queue_wait is over, without the slot being freed."""
    entered, release = _held_validation(monkeypatch)
    app = _app(strategy, max_evaluations=1, queue_wait=0.05)
    body = {"assessment": _example(), "as_of": AS_OF}
    results: list = []
    first = threading.Thread(target=lambda: results.append(TestClient(app, base_url=LOCAL).post("/api/v1/evaluate", json=body)))
    first.start()
    try:
        assert entered.acquire(timeout=60)
        busy = TestClient(app, base_url=LOCAL).post("/api/v1/evaluate", json=body)
        assert busy.status_code == 503 and busy.headers["retry-after"] == str(service_mod.RETRY_AFTER)
        error = busy.json()["errors"][0]
        assert error["code"] == "E313"
        assert error["message"] == "1 evaluations are already running and none ended within 0.05 s: try again in 2 s"
        assert results == []  # the first still holds its slot
    finally:
        release.set()
        first.join(60)
    assert results[0].status_code == 200
    assert app.state.evaluation_slots.waiting == 0


def test_a_freed_slot_goes_to_the_oldest_waiting_request():
    """First come, first served, and a request that gave up leaves the queue (no timing: the
    threads' order is read from the queue itself)."""
    slots = service_mod.EvaluationSlots(1)
    assert slots.acquire(0)
    assert not slots.acquire(0) and not slots.acquire(0.01)  # full: refused at once, or after its wait
    assert slots.waiting == 0
    served: list[str] = []

    def wait_for_slot(name: str) -> None:
        assert slots.acquire(60)
        served.append(name)

    first = threading.Thread(target=wait_for_slot, args=("first",))
    first.start()
    _until(lambda: slots.waiting == 1)
    second = threading.Thread(target=wait_for_slot, args=("second",))
    second.start()
    _until(lambda: slots.waiting == 2)
    slots.release()
    first.join(60)
    assert served == ["first"] and slots.waiting == 1 and slots.running == 1
    slots.release()
    second.join(60)
    assert served == ["first", "second"] and slots.waiting == 0 and slots.running == 1
    slots.release()
    assert slots.running == 0 and slots.acquire(0)


def test_the_evaluation_bounds_from_the_command_line_and_the_environment(monkeypatch):
    """`serve --max-evaluations/--queue-wait` defaults are the service's; a factory deployment
    sets them with STRATDSL_SERVE_MAX_EVALUATIONS and STRATDSL_SERVE_QUEUE_WAIT; a bad value
    is a usage error, not a traceback."""
    from stratdsl.commands.cli import serve_cmd

    defaults = {p.name: p.default for p in serve_cmd.params}
    assert defaults["max_evaluations"] == service_mod.MAX_EVALUATIONS and defaults["queue_wait"] == service_mod.QUEUE_WAIT
    plain = service_mod._security_from_env({})
    assert (plain.max_evaluations, plain.queue_wait) == (service_mod.MAX_EVALUATIONS, service_mod.QUEUE_WAIT)
    env = {"STRATDSL_SERVE_MAX_EVALUATIONS": "3", "STRATDSL_SERVE_QUEUE_WAIT": "0.25", "STRATDSL_SECRET": "s" * 16}
    security = service_mod._security_from_env(env)
    assert (security.max_evaluations, security.queue_wait, security.secret) == (3, 0.25, b"s" * 16)
    parent = service_mod.Security(max_evaluations=5, queue_wait=0)
    passed = service_mod._security_from_env({"STRATDSL_SERVE_SECURITY": service_mod._security_to_env(parent)})
    assert passed == parent
    assert service_mod._security_from_env({"STRATDSL_SERVE_SECURITY": service_mod._security_to_env(parent), **env}).max_evaluations == 3
    message = service_mod.startup_message("p.strat", "127.0.0.1", 8000, security)
    assert "at most 3 evaluations at once per worker process; more wait up to 0.25 s" in message
    for name, bad in (("STRATDSL_SERVE_MAX_EVALUATIONS", "0"), ("STRATDSL_SERVE_MAX_EVALUATIONS", "two"), ("STRATDSL_SERVE_QUEUE_WAIT", "nan"),
                      ("STRATDSL_SERVE_QUEUE_WAIT", "31")):
        with pytest.raises(SystemExit) as stop:
            service_mod._security_from_env({name: bad})
        assert stop.value.code == 2


def test_a_policy_test_file_linked_from_outside_the_repository_is_not_read(test_repo):
    outside = test_repo.parent
    (outside / "private.yaml").write_text(f"{SECRET}: [unclosed\n", encoding="utf-8")
    (test_repo / "policies" / "tests" / "x.test.yaml").symlink_to(outside / "private.yaml")
    done = cli("test", "policies/tests", cwd=test_repo)
    assert done.returncode == 1 and "hunter2" not in done.stdout + done.stderr
    assert "E510 test file 'policies/tests/x.test.yaml' is a link to a file outside the folder" in done.stdout


def test_decimals_as_text_only_on_the_explicit_path_of_records():
    """Decision records hold canonical JSON, where decimals are text: replay reads them back with
    `decimals_as_text=True`, the one explicit path; even there, only the canonical form, bounded."""
    policy, _ = compile_text(UNBOUNDED)
    assert validate(policy, {"o": {"x": "2.5"}}, "r", decimals_as_text=True).records["o"]["x"] == Decimal("2.5")
    assert codes(stage_error(validate, policy, {"o": {"x": "2.5"}}, "r")) == ["E302"]
    for text in ("1e-999999", "1E+30", " 5", "0x10", "1" * 41):
        assert codes(stage_error(validate, policy, {"o": {"x": text}}, "r", decimals_as_text=True)) == ["E302"], text
