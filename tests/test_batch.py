"""`stratdsl batch`, end to end through the CLI.

Inputs: a folder of YAML/JSON files, a JSONL file, a CSV file with one use
case per row. Invalid inputs are written as `invalid` lines, reported on
stderr and counted, and never stop the others. An interrupted run (killed
mid-way, or leaving a torn last line) resumes to exactly the output of an
uninterrupted run. `--jobs 2` and a real Dask cluster give the same bytes as
`--jobs 1`. Nothing here asserts a time.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from datetime import date
from pathlib import Path

import pytest

from helpers import REPO, dedent, stratdsl_command
from stratdsl.backends.compiler import compiled
from stratdsl.engine import compile_policy
from stratdsl.runtime.assessment import read_data, validate

AS_OF = "2026-11-26"

POLICY = """\
policy "Batch" version "1"
enum dim { governance data }
enum purpose { recruitment scoring other }
input organization { name: text  headcount: integer 0..100000 }
input usecases: many usecase {
  impact: number 0..5
  effort: number 0..5
  purpose: purpose
  tags: list of purpose
  profiling: bool
}
input maturity: group dimension over dim { score: number 0..5  owned: bool }
define total label en "Total impact" = sum(usecase, impact)
define mean_score label en "Maturity" = mean(dimension, score)
decision quadrant for each usecase {
  quick_win when impact >= 3 and effort < 3
  structuring when impact >= 3 and effort >= 3
  secondary when impact < 3 and effort < 3
  avoid when impact < 3 and effort >= 3
}
decision risk for each usecase {
  high when purpose = recruitment or recruitment in tags unless not profiling
  otherwise minimal
}
decision size { large when organization.headcount >= 250  otherwise small }
bands level for each dimension on score { low from 0 below 2.5  high from 2.5 to 5 }
decision governance { owned when all(dimension, owned)  otherwise not_owned }
"""


def batch(*args: str | Path, expect: int | None = 0) -> subprocess.CompletedProcess[str]:
    """Run `stratdsl batch`; check its exit status unless `expect` is None
    (1 when some input was invalid: every valid one is still written)."""
    done = subprocess.run(
        [*stratdsl_command(), "batch", *map(str, args)], capture_output=True, text=True, timeout=900, check=False
    )
    if expect is not None:
        assert done.returncode == expect, done.stdout + done.stderr
    return done


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def by_key(path: Path) -> dict[str, dict]:
    return {record["key"]: record for record in lines(path)}


def outcomes(record: dict) -> dict[tuple[str, str | None], str]:
    return {(d["decision"], d["entity"]): d["outcome"] if d["status"] == "decided" else d["status"] for d in record["decisions"]}


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("batch")
    (folder / "policy.strat").write_text(POLICY, encoding="utf-8")
    return folder


def generated(count: int, seed: int = 11) -> list[dict]:
    rng = random.Random(seed)
    docs = []
    for n in range(count):
        docs.append(
            {
                "organization": {"name": f"Company {n}", "headcount": rng.randint(1, 500)},
                "usecases": [
                    {
                        "id": f"u{k}",
                        "impact": rng.randint(0, 5),
                        "effort": rng.choice([0, 1.5, 2.5, 3, 4.5]),
                        "purpose": rng.choice(["recruitment", "scoring", "other"]),
                        "tags": rng.sample(["recruitment", "scoring", "other"], rng.randint(0, 2)),
                        **({"profiling": rng.random() < 0.5} if rng.random() < 0.8 else {}),
                    }
                    for k in range(rng.randint(1, 4))
                ],
                "maturity": {
                    "governance": {"score": rng.randint(0, 5), "owned": rng.random() < 0.5},
                    "data": {"score": 3, "owned": True},
                },
            }
        )
    return docs


@pytest.fixture(scope="module")
def big(work) -> tuple[Path, bytes]:
    """A JSONL of 300 assessments (several chunks of work) and the output of one uninterrupted --jobs 1 run."""
    source = work / "big.jsonl"
    source.write_text("".join(json.dumps(doc) + "\n" for doc in generated(300)), encoding="utf-8")
    out = work / "big-reference.jsonl"
    batch(work / "policy.strat", source, "-o", out, "--as-of", AS_OF)
    return source, out.read_bytes()


# ====================================================================== inputs


def test_folder_of_yaml_and_json_with_invalid_files(work, tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.yaml").write_text(
        dedent(
            """
            organization: {name: A, headcount: 300}
            usecases:
              - {id: cv, impact: 4, effort: 2, purpose: recruitment, profiling: true}
              - {id: ocr, impact: 1, effort: 4, purpose: other, tags: [], profiling: unknown}
            maturity: {governance: {score: 3, owned: true}, data: {score: 1, owned: true}}
            """
        ),
        encoding="utf-8",
    )
    (folder / "sub" / "b.json").write_text(
        json.dumps({"organization": {"name": "B", "headcount": 10}, "usecases": [{"id": "x", "impact": 3.5, "effort": 3}]}),
        encoding="utf-8",
    )
    (folder / "c.yml").write_text("usecases: [ {id: broken\n", encoding="utf-8")  # YAML syntax error
    (folder / "d.yaml").write_text(
        "usecases:\n  - {id: u, impact: 9, colour: red}\n", encoding="utf-8"
    )  # out of range + unknown field
    (folder / "notes.txt").write_text("not an assessment", encoding="utf-8")  # ignored: not .yaml/.yml/.json
    out = tmp_path / "out.jsonl"
    done = batch(work / "policy.strat", folder, "-o", out, "--as-of", AS_OF, expect=1)
    records = lines(out)
    assert [Path(r["key"]).name for r in records] == ["a.yaml", "c.yml", "d.yaml", "b.json"]  # sorted paths, sub/ after d.yaml
    status = {Path(r["key"]).name: r["status"] for r in records}
    assert status == {"a.yaml": "ok", "b.json": "ok", "c.yml": "invalid", "d.yaml": "invalid"}
    a = by_key(out)[str(folder / "a.yaml")]
    assert a["as_of"] == AS_OF
    assert outcomes(a)[("quadrant", "cv")] == "quick_win"
    assert outcomes(a)[("risk", "cv")] == "high"
    assert outcomes(a)[("risk", "ocr")] == "minimal"  # not a recruitment: the unknown profiling does not matter
    assert outcomes(a)[("size", None)] == "large"
    d = by_key(out)[str(folder / "d.yaml")]
    assert any("usecases[0].impact" in e for e in d["errors"]) and any("colour" in e for e in d["errors"])
    assert "4 processed (2 invalid), 0 already in" in done.stdout
    assert done.stderr.count("invalid: ") == 2
    assert f"invalid: {folder / 'c.yml'}: E301" in done.stderr


def test_jsonl_with_blank_and_invalid_lines(work, tmp_path):
    source = tmp_path / "in.jsonl"
    docs = generated(3)
    source.write_text(
        json.dumps(docs[0])
        + "\n\n"
        + "{not json\n"
        + json.dumps(docs[1])
        + "\n"
        + json.dumps({"usecases": "nope"})
        + "\n"
        + json.dumps(docs[2])
        + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    done = batch(work / "policy.strat", source, "-o", out, "--as-of", AS_OF, expect=1)
    keys = [(r["key"], r["status"]) for r in lines(out)]
    assert keys == [
        (f"{source}:1", "ok"),
        (f"{source}:3", "invalid"),
        (f"{source}:4", "ok"),
        (f"{source}:5", "invalid"),
        (f"{source}:6", "ok"),
    ]  # the blank line 2 is no input; keys are file:line
    assert "5 processed (2 invalid)" in done.stdout


CSV = """\
assessment,organization.name,organization.headcount,maturity.governance.score,maturity.governance.owned,maturity.data.score,id,impact,effort,purpose,tags,profiling
A,Acme,300,3.5,oui,2,cv,4,2,recruitment,recruitment;scoring,yes
A,Acme,300,3.5,oui,2,ocr,1,4,other,scoring;other,no
B,Beta,12,unknown,false,,bot,3,3,scoring,[scoring],
C,Gamma,abc,1,true,1,w,2,1,other,,false
D,Delta,20,2,true,1,x,9,1,other,,false
"""


def test_csv_one_use_case_per_row(work, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text(CSV, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    done = batch(work / "policy.strat", source, "-o", out, "--as-of", AS_OF, expect=1)
    records = {key.removeprefix(f"{source}#"): record for key, record in by_key(out).items()}
    assert list(records) == ["A", "B", "C", "D"]  # rows sharing `assessment` form one assessment, keyed file#name
    a = records["A"]
    assert a["status"] == "ok"
    assert outcomes(a) == {
        ("quadrant", "cv"): "quick_win",
        ("quadrant", "ocr"): "avoid",
        ("risk", "cv"): "high",  # yes → true; "recruitment;scoring" → a list
        ("risk", "ocr"): "minimal",
        ("size", None): "large",  # organization.headcount from its column
        ("level", "governance"): "high",  # maturity.governance.score
        ("level", "data"): "low",
        ("governance", None): "undetermined",  # maturity.data.owned has no column: unknown
    }
    b = records["B"]
    assert b["status"] == "ok"
    assert outcomes(b)[("level", "governance")] == "undetermined"  # `unknown` in a cell
    assert outcomes(b)[("risk", "bot")] == "minimal"  # "[scoring]" is a one-element list
    assert records["C"]["status"] == "invalid" and any("organization.headcount" in e for e in records["C"]["errors"])
    assert records["D"]["status"] == "invalid" and any("usecases[0].impact" in e for e in records["D"]["errors"])
    assert "4 processed (2 invalid)" in done.stdout


def test_csv_without_assessment_column_gives_one_assessment_per_row(work, tmp_path):
    source = tmp_path / "rows.csv"
    source.write_text("id,impact,effort,purpose\nu1,4,1,other\nu2,1,4,scoring\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    batch(work / "policy.strat", source, "-o", out, "--as-of", AS_OF)
    records = lines(out)
    assert [r["key"] for r in records] == [f"{source}:2", f"{source}:3"]
    assert [outcomes(r)[("quadrant", r["decisions"][0]["entity"])] for r in records] == ["quick_win", "avoid"]


def test_csv_single_value_list_cell(work, tmp_path):
    source = tmp_path / "one.csv"
    source.write_text("id,impact,effort,purpose,tags,profiling\nu1,4,1,other,recruitment,true\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    batch(work / "policy.strat", source, "-o", out, "--as-of", AS_OF, expect=None)
    (record,) = lines(out)
    assert record["status"] == "ok", record
    assert outcomes(record)[("risk", "u1")] == "high"


def test_csv_rows_of_one_assessment_apart(work, tmp_path):
    source = tmp_path / "apart.csv"
    source.write_text("assessment,id,impact,effort\nA,u1,4,1\nB,v1,1,1\nA,u2,1,4\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    batch(work / "policy.strat", source, "-o", out, "--as-of", AS_OF)
    keys = [r["key"] for r in lines(out)]
    assert len(keys) == len(set(keys)), keys
    # the rows of A are merged, as if the file were sorted; A comes first, where its first row is
    assert keys == [f"{source}#A", f"{source}#B"]
    a = by_key(out)[f"{source}#A"]
    assert outcomes(a)[("quadrant", "u1")] == "quick_win" and outcomes(a)[("quadrant", "u2")] == "avoid"


def test_csv_assessment_apart_holds_back_only_what_follows_it(work, tmp_path):
    """Output stays in the order of first rows: C (complete on its row) waits for A; rows without a name are their own inputs."""
    source = tmp_path / "order.csv"
    source.write_text(
        "assessment,id,impact,effort\nB,b1,1,1\nA,a1,4,1\nC,c1,4,4\n,n1,1,4\nA,a2,1,1\nD,d1,4,1\n", encoding="utf-8"
    )
    out = tmp_path / "out.jsonl"
    batch(work / "policy.strat", source, "-o", out, "--as-of", AS_OF)
    assert [r["key"] for r in lines(out)] == [f"{source}#B", f"{source}#A", f"{source}#C", f"{source}:5", f"{source}#D"]
    assert {e for d, e in outcomes(by_key(out)[f"{source}#A"]) if d == "quadrant"} == {"a1", "a2"}


def test_same_assessment_name_in_two_csv_files_gives_two_inputs(work, tmp_path):
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    one.write_text("assessment,id,impact,effort\nacme,u1,4,1\n", encoding="utf-8")
    two.write_text("assessment,id,impact,effort\nacme,u9,1,5\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    batch(work / "policy.strat", one, two, "-o", out, "--as-of", AS_OF)
    records = by_key(out)
    assert list(records) == [f"{one}#acme", f"{two}#acme"]
    assert outcomes(records[f"{two}#acme"])[("quadrant", "u9")] == "avoid"


@pytest.mark.parametrize("cut", [1, 2, 3])
def test_csv_resumes_after_a_torn_or_lost_line(work, tmp_path, cut):
    """The keys of the new format resume: an output cut after any line (or inside one) ends as the uninterrupted one."""
    source = tmp_path / "apart.csv"
    source.write_text(
        "assessment,id,impact,effort\nA,u1,4,1\nB,v1,1,1\nA,u2,1,4\n,w1,3,3\nC,x1,9,1\nB,v2,4,4\n", encoding="utf-8"
    )
    reference = tmp_path / "reference.jsonl"
    batch(work / "policy.strat", source, "-o", reference, "--as-of", AS_OF, expect=1)  # C is invalid: impact 9
    whole = reference.read_bytes()
    assert whole.count(b"\n") == 4
    out = tmp_path / "out.jsonl"
    end = [m for m in range(len(whole)) if whole[m : m + 1] == b"\n"][cut - 1] + 1
    out.write_bytes(whole[: end + 5])  # `cut` whole lines and the start of the next
    done = batch(work / "policy.strat", source, "-o", out, "--as-of", AS_OF, expect=None)
    assert out.read_bytes() == whole
    assert f"{4 - cut} processed" in done.stdout and f"{cut} already in" in done.stdout


def test_summary_per_decision(work, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(
            json.dumps(doc) + "\n"
            for doc in [
                {
                    "organization": {"headcount": 300},
                    "usecases": [{"id": "a", "impact": 4, "effort": 1}, {"id": "b", "impact": 1, "effort": 4}],
                },
                {
                    "organization": {"headcount": 3},
                    "usecases": [{"id": "c", "impact": 4, "effort": 1, "purpose": "other", "tags": []}],
                },
            ]
        ),
        encoding="utf-8",
    )
    done = batch(work / "policy.strat", source, "-o", tmp_path / "out.jsonl", "--as-of", AS_OF)
    summary = done.stdout.splitlines()
    assert summary[0] == f"2 processed (0 invalid), 0 already in {tmp_path / 'out.jsonl'}"
    assert "  quadrant: avoid 1, quick_win 2" in summary
    assert "  size: large 1, small 1" in summary
    assert "  risk: minimal 1, undetermined 2" in summary  # a and b: purpose unknown; c: other
    assert "  level: undetermined 4" in summary  # no maturity given


def test_methodology_batch_matches_single_evaluations(tmp_path):
    """The shipped policy on the shipped examples: each output line has the decisions and values of `compiled().evaluate`."""
    strategy = REPO / "policies" / "strategy.strat"
    out = tmp_path / "out.jsonl"
    done = batch(strategy, REPO / "examples", "-o", out, "--as-of", AS_OF, "--lang", "en")
    assert "(0 invalid)" in done.stdout
    policy, _ = compile_policy(strategy)
    assert policy is not None
    records = by_key(out)
    examples = sorted((REPO / "examples").glob("*.yaml"))
    assert sorted(records) == sorted(str(p) for p in examples)
    for example in examples:
        data, spans = read_data(example, str(example))
        result = compiled(policy).evaluate(validate(policy, data, str(example), spans), date.fromisoformat(AS_OF))
        expected = {(d.decision, d.entity): d.outcome if d.status == "decided" else d.status for d in result.decisions}
        record = records[str(example)]
        assert outcomes(record) == expected
        assert [(v["definition"], v["entity"]) for v in record["values"]] == [(v.definition, v.entity) for v in result.values]


# ====================================================================== inputs that fail


def _run_in_process(work: Path, inputs: list[Path], out: Path):
    from stratdsl.commands import batch as batch_mod

    policy, _ = compile_policy(work / "policy.strat")
    assert policy is not None
    sources, root = batch_mod.policy_sources(policy)
    return batch_mod.run_batch(sources, root, [str(p) for p in inputs], out, date.fromisoformat(AS_OF), {})


def test_an_input_that_meets_a_bug_is_an_invalid_line_and_the_run_goes_on(work, tmp_path, monkeypatch):
    """Any exception on one input (a bug of stratdsl) gives an E604 `invalid` line, counted; the rerun skips it."""
    from stratdsl.commands import batch as batch_mod

    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(doc) + "\n" for doc in generated(3)), encoding="utf-8")
    real = batch_mod.validate

    def validate_with_a_bug(policy, data, name, spans):
        if name.endswith(":2"):
            raise RecursionError("maximum recursion depth exceeded")
        return real(policy, data, name, spans)

    monkeypatch.setattr(batch_mod, "validate", validate_with_a_bug)
    out = tmp_path / "out.jsonl"
    summary = _run_in_process(work, [source], out)
    records = lines(out)
    assert [(r["key"], r["status"]) for r in records] == [(f"{source}:1", "ok"), (f"{source}:2", "invalid"), (f"{source}:3", "ok")]
    (error,) = records[1]["errors"]
    assert error.startswith("E604 this input could not be evaluated because of a bug in stratdsl (RecursionError: maximum recursion")
    assert (summary.processed, summary.invalid) == (3, 1) and summary.invalid_keys[0][0] == f"{source}:2"
    again = _run_in_process(work, [source], out)
    assert (again.processed, again.skipped) == (0, 3)


def test_files_that_are_not_regular_files_are_invalid_lines_and_do_not_block(work, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.yaml").write_text("usecases: [{id: u, impact: 4, effort: 1}]\n", encoding="utf-8")
    os.mkfifo(folder / "b.yaml")  # a pipe: opening and reading it would wait for ever
    (folder / "c.json").mkdir()  # a folder that looks like an input: walked, not read
    (folder / "c.json" / "d.json").write_text("{}", encoding="utf-8")
    os.symlink("/dev/zero", folder / "e.yaml")  # reading it would never end
    pipe = tmp_path / "p.jsonl"
    os.mkfifo(pipe)
    out = tmp_path / "out.jsonl"
    done = batch(work / "policy.strat", folder, pipe, "-o", out, "--as-of", AS_OF, expect=1)
    status = {r["key"]: (r["status"], r.get("errors")) for r in lines(out)}
    assert list(status) == [str(folder / n) for n in ("a.yaml", "b.yaml", "c.json/d.json", "e.yaml")] + [str(pipe)]
    for name in ("b.yaml", "e.yaml"):
        assert status[str(folder / name)] == ("invalid", [f"E301 cannot read assessment '{folder / name}': it is not a regular file"])
    assert status[str(pipe)][0] == "invalid" and "not a regular file" in status[str(pipe)][1][0]
    assert "5 processed (3 invalid)" in done.stdout


def test_an_assessment_over_the_size_limit_is_not_read(work, tmp_path, monkeypatch):
    from stratdsl.runtime import assessment

    monkeypatch.setattr(assessment, "MAX_ASSESSMENT_BYTES", 100)
    big, small = tmp_path / "big.yaml", tmp_path / "small.yaml"
    big.write_text("usecases: [{id: u, impact: 4, effort: 1}]\n" + "# padding\n" * 20, encoding="utf-8")
    small.write_text("usecases: [{id: u, impact: 4, effort: 1}]\n", encoding="utf-8")
    lines_file = tmp_path / "in.jsonl"
    lines_file.write_text(json.dumps({"about": {"x": "y" * 200}}) + "\n" + json.dumps({"usecases": []}) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    _run_in_process(work, [big, small, lines_file], out)
    records = by_key(out)
    assert records[str(big)]["errors"] == [f"E307 assessment '{big}' is {big.stat().st_size} bytes, above the limit of 100"]
    assert records[str(small)]["status"] == "ok"
    assert records[f"{lines_file}:1"]["errors"][0].startswith(f"E307 line 1 of '{lines_file}' is more than 100 bytes")
    assert records[f"{lines_file}:2"]["status"] == "ok"  # the line after the long one is read from its start


def test_a_line_that_is_not_utf8_is_invalid_alone(work, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_bytes(b'{"organization": {"name": "Soci\xe9t\xe9"}}\n' + json.dumps({"usecases": []}).encode() + b"\n")
    out = tmp_path / "out.jsonl"
    batch(work / "policy.strat", source, "-o", out, "--as-of", AS_OF, expect=1)
    assert [(r["key"], r["status"]) for r in lines(out)] == [(f"{source}:1", "invalid"), (f"{source}:2", "ok")]
    assert lines(out)[0]["errors"] == [f"E301 line 1 of '{source}' is not UTF-8 text"]


def test_csv_that_is_not_utf8_is_one_invalid_line_and_a_bom_is_ignored(work, tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes("assessment,organization.name,id,impact,effort\nA,Société,u1,4,1\n".encode("latin-1"))
    excel = tmp_path / "excel.csv"  # "CSV UTF-8" of spreadsheets starts with a byte-order mark
    excel.write_bytes("\ufeffassessment,id,impact,effort\nA,u1,4,1\nA,u2,1,1\n".encode())
    out = tmp_path / "out.jsonl"
    done = batch(work / "policy.strat", latin, excel, "-o", out, "--as-of", AS_OF, expect=1)
    records = by_key(out)
    assert list(records) == [str(latin), f"{excel}#A"]
    assert records[str(latin)]["errors"] == [f"E301 cannot read '{latin}': it is not UTF-8 text (save it with the encoding UTF-8)"]
    assert records[f"{excel}#A"]["status"] == "ok" and len(records[f"{excel}#A"]["decisions"]) > 2
    assert "2 processed (1 invalid)" in done.stdout


def test_a_file_name_that_is_not_utf8_is_written_and_resumed(work, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    odd = os.fsdecode(b"soci\xe9t\xe9.yaml")  # a Latin-1 name: a lone surrogate in Python
    (folder / odd).write_text("usecases: [{id: u, impact: 4, effort: 1}]\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    batch(work / "policy.strat", folder, "-o", out, "--as-of", AS_OF)
    (record,) = lines(out)
    assert record["key"] == str(folder / odd) and record["status"] == "ok"
    done = batch(work / "policy.strat", folder, "-o", out, "--as-of", AS_OF)
    assert "0 processed (0 invalid), 1 already in" in done.stdout


# ====================================================================== parallel, resumable


def test_jobs_2_gives_the_same_bytes_as_jobs_1(work, big, tmp_path):
    source, reference = big
    out = tmp_path / "jobs2.jsonl"
    done = batch(work / "policy.strat", source, "-o", out, "--jobs", "2", "--as-of", AS_OF)
    assert out.read_bytes() == reference
    assert "300 processed (0 invalid)" in done.stdout


def test_rerun_on_complete_output_does_nothing(work, big, tmp_path):
    source, reference = big
    out = tmp_path / "out.jsonl"
    out.write_bytes(reference)
    done = batch(work / "policy.strat", source, "-o", out, "--as-of", AS_OF)
    assert out.read_bytes() == reference
    assert done.stdout.startswith(f"0 processed (0 invalid), 300 already in {out}")


@pytest.mark.parametrize("cut", [1, 1000, 20_000, -7])
def test_resume_after_a_torn_last_line(work, big, tmp_path, cut):
    """An output cut anywhere (inside a line, or just before its newline) resumes to the uninterrupted output."""
    source, reference = big
    out = tmp_path / "out.jsonl"
    out.write_bytes(reference[:cut])
    kept = reference[:cut].count(b"\n")
    done = batch(work / "policy.strat", source, "-o", out, "--as-of", AS_OF)
    assert out.read_bytes() == reference
    assert f"{300 - kept} processed (0 invalid), {kept} already in" in done.stdout


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_resume_after_the_run_is_killed(work, big, tmp_path, jobs):
    """Kill a run (SIGKILL to its process group) once it has written part of its output, then rerun."""
    source, reference = big
    out = tmp_path / "out.jsonl"
    command = [
        *stratdsl_command(),
        "batch",
        str(work / "policy.strat"),
        str(source),
        "-o",
        str(out),
        "--jobs",
        jobs,
        "--as-of",
        AS_OF,
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and process.poll() is None:
            if out.exists() and out.stat().st_size > 0:
                break
            time.sleep(0.01)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # the run and its worker processes: only what this test started
        process.wait(timeout=60)
    partial = out.read_bytes() if out.exists() else b""
    if partial == reference:
        pytest.skip("the run finished before it could be interrupted")
    assert reference.startswith(partial[: partial.rfind(b"\n") + 1])  # whatever was written is a prefix of the full output
    done = batch(work / "policy.strat", source, "-o", out, "--jobs", jobs, "--as-of", AS_OF)
    assert out.read_bytes() == reference  # no key lost, none duplicated, same order
    kept = partial.count(b"\n")
    assert f"{300 - kept} processed (0 invalid), {kept} already in" in done.stdout


# ====================================================================== Dask


def test_dask_cluster_gives_the_same_bytes_as_a_local_run(work, big, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    source, reference = big
    out = tmp_path / "dask.jsonl"
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1", dashboard_address=None, silence_logs=40
    ) as cluster:
        done = batch(
            work / "policy.strat",
            source,
            "-o",
            out,
            "--engine",
            "dask",
            "--scheduler",
            cluster.scheduler_address,
            "--as-of",
            AS_OF,
        )
    assert out.read_bytes() == reference
    assert "300 processed (0 invalid)" in done.stdout


def test_dask_engine_without_scheduler_is_an_error(work, big, tmp_path):
    pytest.importorskip("dask.distributed")
    source, _ = big
    done = batch(work / "policy.strat", source, "-o", tmp_path / "out.jsonl", "--engine", "dask", expect=None)
    assert done.returncode != 0
    assert "E602" in done.stderr + done.stdout


# ------------------------------------------------------------------ issue 16, point 10


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("assessment,id,impact,usecases.x", "'usecases' is filled one row per entry"),
        ("assessment,id,impact,organization.name,organization.name.first", "'organization' is a set of fields"),
        ("assessment,id,impact,maturity.governance", "'maturity' is a group"),
        ("assessment,id,impact,nothing.x", "'nothing' is not an input of the policy"),
        ("assessment,id,impact,impact", "column 'impact' is written twice"),
        ("assessment,id,impact,a..b", "an empty part between dots"),
    ],
)
def test_a_csv_header_that_does_not_fit_the_policy_is_one_invalid_line(work, tmp_path, header, expected):
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{header}\nA,u1,4,x,y\n", encoding="utf-8")
    good = tmp_path / "good.csv"
    good.write_text("assessment,id,impact,effort\nG,u1,4,1\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    for _ in range(2):  # and the rerun neither crashes nor writes it again
        done = batch(work / "policy.strat", bad, good, "-o", out, "--as-of", AS_OF, expect=None)
        assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr
    records = by_key(out)
    assert len(lines(out)) == 2
    assert records[str(bad)]["status"] == "invalid"
    (error,) = records[str(bad)]["errors"]
    assert error.startswith("E605 ") and expected in error
    assert records[f"{good}#G"]["status"] == "ok"


def test_a_csv_row_longer_than_its_header_makes_only_its_assessment_invalid(work, tmp_path):
    source = tmp_path / "long.csv"
    source.write_text("assessment,id,impact,effort\nA,u1,4,1,surprise\nB,u1,4,1\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    batch(work / "policy.strat", source, "-o", out, "--as-of", AS_OF, expect=1)
    records = by_key(out)
    assert records[f"{source}#A"]["errors"] == [f"E606 row 2 of '{source}' has more cells than the header has columns"]
    assert records[f"{source}#B"]["status"] == "ok"


def test_csv_cells_are_converted_only_where_the_policy_says_so(work, tmp_path):
    """A company named "Oui" stays a name, a title with ';' stays one text; a bool column
    reads oui/non, a list column splits on ';', a number column reads a decimal comma."""
    source = tmp_path / "typed.csv"
    source.write_text(
        "assessment,organization.name,organization.headcount,id,impact,effort,purpose,tags,profiling,about.note\n"
        'A,Oui,"1 200",u1,"3,5",1,recruitment,scoring;recruitment,oui,a;b\n'
        "B,[Non; Merci],12,u1,4,1,other,[scoring],non,true\n",
        encoding="utf-8",
    )
    policy, _ = compile_policy(work / "policy.strat")
    from stratdsl.commands.batch import iter_inputs

    items = {item.key.rsplit("#")[-1]: item for item in iter_inputs([str(source)], policy, "usecases")}
    a, b = items["A"].data, items["B"].data
    assert a["organization"] == {"name": "Oui", "headcount": 1200}
    assert a["usecases"] == [{"id": "u1", "impact": __import__("decimal").Decimal("3.5"), "effort": 1, "purpose": "recruitment", "tags": ["scoring", "recruitment"], "profiling": True}]
    assert a["about"] == {"note": "a;b"}
    assert b["organization"]["name"] == "[Non; Merci]" and b["usecases"][0]["profiling"] is False and b["about"] == {"note": "true"}
    out = tmp_path / "out.jsonl"
    batch(work / "policy.strat", source, "-o", out, "--as-of", AS_OF)
    assert outcomes(by_key(out)[f"{source}#A"])[("risk", "u1")] == "high"


def test_two_batch_runs_on_one_output_the_second_is_refused(work, tmp_path):
    """The output is locked for the whole run: a second run stops at once (E607) and writes nothing."""
    import fcntl

    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(doc) + "\n" for doc in generated(3)), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    out.write_text("", encoding="utf-8")
    with out.open("a") as held:  # what a run in progress holds
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        done = batch(work / "policy.strat", source, "-o", out, "--as-of", AS_OF, expect=1)
        assert f"error[E607]: another batch run is writing '{out}'" in done.stderr
        assert out.read_text(encoding="utf-8") == ""
    batch(work / "policy.strat", source, "-o", out, "--as-of", AS_OF)
    assert len(lines(out)) == 3
