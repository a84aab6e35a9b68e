"""Stage 8: the `stratdsl` command, end to end, through the installed console script in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from helpers import FIXTURES, stratdsl_command

POLICY = FIXTURES / "eval.strat"
GOOD = FIXTURES / "eval_ok.yaml"
BAD = FIXTURES / "eval_bad.yaml"


def stratdsl(*args, cwd=None, command=None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "STRATDSL_DEBUG"}
    return subprocess.run(
        [*(command or stratdsl_command()), *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        env=env,
        timeout=60,
        check=False,
    )


def assert_clean_failure(proc, code: int = 1) -> None:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout


def test_the_console_script_is_installed():
    assert shutil.which("stratdsl") is not None, "pip install -e /work/main puts `stratdsl` on PATH"


def test_module_fallback_runs():
    proc = stratdsl("--version", command=[sys.executable, "-m", "stratdsl"])
    assert proc.returncode == 0
    assert "stratdsl" in proc.stdout and "0.1.0" in proc.stdout


def test_check_ok():
    proc = stratdsl("check", POLICY)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("ok (7 decisions, 14 definitions, 2 inputs; 1 file)")
    assert proc.stderr == ""


def test_check_bad_policy_exits_1():
    proc = stratdsl("check", FIXTURES.parent / "golden" / "check" / "many_errors.strat")
    assert_clean_failure(proc)
    assert "error[E012]: unknown field 'impct'" in proc.stderr
    assert proc.stderr.rstrip().endswith("stratdsl: 6 errors, 0 warnings")


def test_check_missing_file_fails_cleanly():
    proc = stratdsl("check", FIXTURES / "nope.strat")
    # a path that does not exist is a bad policy (1) or, when click checks it, a usage error (2)
    assert proc.returncode in (1, 2), proc.stderr
    assert "Traceback" not in proc.stderr
    assert "nope.strat" in proc.stderr


def test_eval_ok_text():
    proc = stratdsl("eval", POLICY, GOOD, "--as-of", "2026-09-01", "--lang", "en")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("Eval — version 1\nas of 2026-09-01")
    assert "usecases[ocr]" in out and "quadrant: quick_win" in out
    assert "risk: undetermined — possible: high, limited; missing: usecases[chat].profiling" in out
    assert "total = 0.3" in out


def test_eval_json_is_valid_json_with_exact_numbers():
    proc = stratdsl("eval", POLICY, GOOD, "--as-of", "2026-09-01", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["policy"] == {"name": "Eval", "version": "1"}
    assert data["as_of"] == "2026-09-01"
    quadrant = next(d for d in data["decisions"] if d["decision"] == "quadrant" and d["entity"] == "ocr")
    assert (quadrant["status"], quadrant["outcome"]) == ("decided", "quick_win")
    total = next(v for v in data["values"] if v["definition"] == "total" and v["entity"] == "ocr")
    assert total["value"] == "0.3"  # decimals are strings: no float ever appears
    statuses = {d["status"] for d in data["decisions"]}
    assert statuses <= {"decided", "undetermined"}


def test_eval_bad_assessment_exits_1():
    proc = stratdsl("eval", POLICY, BAD, "--as-of", "2026-09-01")
    assert_clean_failure(proc)
    assert "error[E302]: usecases[0].impact: 7 is above the maximum 5" in proc.stderr
    assert "did you mean 'recruitment'?" in proc.stderr
    assert proc.stdout == ""


def test_eval_bad_policy_exits_1():
    proc = stratdsl("eval", FIXTURES.parent / "golden" / "check" / "type_errors.strat", GOOD)
    assert_clean_failure(proc)
    assert "error[E020]" in proc.stderr


def test_eval_missing_assessment_exits_1():
    proc = stratdsl("eval", POLICY, FIXTURES / "nope.yaml")
    assert_clean_failure(proc)
    assert "error[E301]: cannot read assessment" in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["eval", POLICY, GOOD, "--bogus"],
        ["eval", POLICY],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(args):
    proc = stratdsl(*args)
    assert_clean_failure(proc, 2)
    assert "Usage:" in proc.stderr or "Error:" in proc.stderr


@pytest.mark.parametrize("command", [["eval"], ["explain", "quadrant"], ["report", "-o", "-", "--format", "markdown"], ["prove"]])
def test_bad_as_of_is_a_coded_error_like_a_bad_param(command):
    name, *rest = command
    args = (POLICY,) if name == "prove" else (POLICY, GOOD)  # prove reads no assessment
    proc = stratdsl(name, *args, *rest, "--as-of", "2026-13-01")
    assert_clean_failure(proc, 1)
    assert "error[E342]: --as-of: '2026-13-01' is not a date" in proc.stderr
    assert "hint: write the date as YYYY-MM-DD" in proc.stderr


def test_python_dash_m_runs_a_command():
    proc = stratdsl("eval", POLICY, GOOD, "--as-of", "2026-09-01", "--format", "json", command=[sys.executable, "-m", "stratdsl"])
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["as_of"] == "2026-09-01"


def test_lsp_help_lists_its_options():
    proc = stratdsl("lsp", "--help")
    assert proc.returncode == 0
    for option in ("--stdio", "--log-file", "--log-level"):
        assert option in proc.stdout


def test_shell_completion_follows_the_documented_recipe():
    script = subprocess.run(["stratdsl"], env={**os.environ, "_STRATDSL_COMPLETE": "bash_source"}, capture_output=True, text=True)
    assert "_stratdsl_completion" in script.stdout and "complete -o nosort -F _stratdsl_completion stratdsl" in script.stdout
    words = subprocess.run(
        ["stratdsl"],
        env={**os.environ, "_STRATDSL_COMPLETE": "bash_complete", "COMP_WORDS": "stratdsl ev", "COMP_CWORD": "1"},
        capture_output=True, text=True,
    )
    assert words.stdout.split() == ["plain,eval"]


def test_unknown_option_message():
    proc = stratdsl("eval", POLICY, GOOD, "--bogus")
    assert "No such option" in proc.stderr and "--bogus" in proc.stderr


def test_param_overrides_from_the_command_line():
    proc = stratdsl("eval", POLICY, GOOD, "--as-of", "2026-09-01", "--param", "threshold=4.5", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {"name": "threshold", "value": "4.5", "overridden": True} in data["params"]
    quadrant = next(d for d in data["decisions"] if d["decision"] == "quadrant" and d["entity"] == "ocr")
    assert quadrant["outcome"] == "secondary"


def test_bad_param_exits_1():
    proc = stratdsl("eval", POLICY, GOOD, "--param", "thresold=4")
    assert_clean_failure(proc)
    assert "error[E304]: unknown parameter 'thresold'" in proc.stderr


def test_explain_text_and_json():
    proc = stratdsl("explain", POLICY, GOOD, "quadrant", "--for", "ocr", "--as-of", "2026-09-01")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("quadrant for usecases[ocr]")
    proc = stratdsl(
        "explain", POLICY, GOOD, "risk", "--for", "chat", "--as-of", "2026-09-01", "--format", "json", "--why-not", "high"
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["decision"]["status"] == "undetermined"
    assert data["why_not"]["outcome"] == "high"
    proc = stratdsl("explain", POLICY, GOOD, "quadrant", "--as-of", "2026-09-01", "--format", "json")
    assert isinstance(json.loads(proc.stdout), list)  # one explanation per use case


def test_explain_unknown_entity_exits_1():
    proc = stratdsl("explain", POLICY, GOOD, "quadrant", "--for", "nope")
    assert_clean_failure(proc)
    assert "error[E303]: no usecase with id 'nope'" in proc.stderr


def test_schema_is_json_with_the_declared_fields():
    proc = stratdsl("schema", POLICY)
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(proc.stdout)
    assert schema["title"] == "Assessment for Eval 1"
    assert set(schema["properties"]) == {"about", "organization", "usecases"}
    usecase = schema["$defs"]["Usecase"]
    assert set(usecase["properties"]) == {"id", "impact", "effort", "a", "b", "purpose", "profiling", "narrow", "weight", "flag"}


def test_schema_of_a_bad_policy_exits_1():
    proc = stratdsl("schema", FIXTURES.parent / "golden" / "check" / "cycle.strat")
    assert_clean_failure(proc)


def test_running_from_another_working_directory(tmp_path):
    proc = stratdsl("eval", POLICY, GOOD, "--as-of", "2026-09-01", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    here = stratdsl("eval", POLICY, GOOD, "--as-of", "2026-09-01", "--format", "json", cwd=FIXTURES)
    assert here.returncode == 0, here.stderr
    elsewhere, there = json.loads(proc.stdout), json.loads(here.stdout)
    # only the displayed file names depend on the working directory
    for data in (elsewhere, there):
        for d in data["decisions"]:
            d.pop("location")
    assert elsewhere == there
    # imports are found relative to the policy file, not to the working directory
    proc = stratdsl("check", FIXTURES / "full.strat", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "2 fichiers" in proc.stdout  # the policy is French-first: French words by default


def test_same_inputs_give_the_same_output_bytes():
    args = ("eval", POLICY, GOOD, "--as-of", "2026-09-01", "--format", "json")
    assert stratdsl(*args, cwd=FIXTURES).stdout == stratdsl(*args, cwd=FIXTURES).stdout


def test_file_names_are_shown_relative_to_the_working_directory():
    golden = FIXTURES.parent / "golden" / "check"
    proc = stratdsl("check", "golden/check/import_syntax.strat", cwd=FIXTURES.parent)
    assert_clean_failure(proc)
    assert proc.stderr.startswith("golden/check/lib/broken.strat:2:12: error[E002]")
    proc = stratdsl("check", "../golden/check/unknown_names.strat", cwd=FIXTURES)
    assert proc.stderr.startswith("../golden/check/unknown_names.strat:8:50: error[E012]")
    assert golden.is_dir()


def test_impossible_date_in_assessment_is_a_clean_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("usecases:\n  - id: x\n    impact: 1\norganization:\n  headcount: 2001-02-30\n", encoding="utf-8")
    proc = stratdsl("eval", POLICY, bad)
    assert_clean_failure(proc, 1)
