"""`stratdsl test --coverage`: the text report with its per-file summary, and the JSON and LCOV files."""

from __future__ import annotations

import json
import subprocess

from helpers import stratdsl_command


def _policy(folder):
    (folder / "p.strat").write_text(
        'policy "P" version "1"\n'
        'source law "AI Act"\n'
        "input org { size: integer 0..1000  public: bool }\n"
        'decision size { big when org.size > 250 cites law "Art. 1"\n  otherwise small }\n'
        'obligation register when org.public cites law "Art. 2"\n',
        encoding="utf-8",
    )
    (folder / "p.test.yaml").write_text(
        "policy: p.strat\nas_of: 2026-11-26\ncases:\n  - name: small\n    assessment: {org: {size: 10, public: false}}\n    expect: {size: small}\n",
        encoding="utf-8",
    )


def test_coverage_writes_json_and_lcov_with_a_per_file_summary(tmp_path):
    _policy(tmp_path)
    done = subprocess.run(
        [*stratdsl_command(), "test", "p.test.yaml", "--coverage", "--coverage-json", "c.json", "--coverage-lcov", "c.info", "--lang", "en"],
        cwd=tmp_path, capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "coverage per file:\n  p.strat  1/5  20.0%\n" in done.stdout
    data = json.loads((tmp_path / "c.json").read_text())
    assert data["total"] == {"hit": 1, "total": 5, "percent": 20.0}
    assert data["files"]["p.strat"]["kinds"] == {"rule": {"hit": 1, "total": 2}, "obligation": {"hit": 0, "total": 1}, "clause": {"hit": 0, "total": 2}}
    assert [(i["kind"], i["id"], i["line"], i["hit"]) for i in data["items"]] == [
        ("clause", "AI Act Art. 1", 4, False),
        ("rule", "size.big", 4, False),
        ("rule", "size.small", 5, True),
        ("clause", "AI Act Art. 2", 6, False),
        ("obligation", "register", 6, False),
    ]
    lcov = (tmp_path / "c.info").read_text().splitlines()
    assert lcov[0] == "TN:" and lcov[1] == f"SF:{tmp_path / 'p.strat'}" and lcov[-1] == "end_of_record"
    assert "FNDA:1,rule:size.small" in lcov and "FNDA:0,obligation:register" in lcov
    assert "FNF:5" in lcov and "FNH:1" in lcov
    assert "DA:4,0" in lcov and "DA:5,1" in lcov and "DA:6,0" in lcov
