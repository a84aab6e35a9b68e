"""The package layout is the pipeline: each stage imports only the stages below it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parents[1]


def test_import_contract_holds():
    """`lint-imports` checks the layers declared in pyproject.toml ([tool.importlinter])."""
    beside = Path(sys.executable).with_name("lint-imports")  # the test environment's own copy first
    exe = str(beside) if beside.exists() else shutil.which("lint-imports") or "lint-imports"
    proc = subprocess.run([exe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 kept, 0 broken" in proc.stdout


def test_no_two_modules_import_each_other():
    graph = grimp.build_graph("stratdsl")
    pairs = sorted(
        (a, b)
        for a in graph.modules
        for b in graph.find_modules_directly_imported_by(a)
        if a < b and a in graph.find_modules_directly_imported_by(b)
    )
    assert pairs == []


def test_the_stages_are_the_folders():
    """A newcomer reads the pipeline from `ls src/stratdsl`."""
    package = REPO / "src" / "stratdsl"
    stages = {p.name for p in package.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert stages == {"language", "runtime", "backends", "render", "provenance", "report", "lsp", "commands"}
    loose = {p.name for p in package.glob("*.py")}
    assert loose == {"__init__.py", "__main__.py", "engine.py"}
    for stage in stages:
        doc = (package / stage / "__init__.py").read_text(encoding="utf-8")
        assert "May import" in doc, stage
