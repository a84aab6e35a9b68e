"""The pre-commit hooks of .pre-commit-hooks.yaml, run for real by pre-commit in a
temporary git repository that uses this project (at its current commit) as a hook repo."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is needed")

GOOD = """policy "P" version "1"

source method "Méthode"

input usecases: many usecase {
  impact: number 0..5
}

decision quadrant for each usecase {
  high when impact >= 3 cites method "Pilier 4"
  otherwise low
}
"""

BAD_LAYOUT = GOOD.replace("  high when", "      high    when")

TESTS = """policy: ../p.strat
as_of: 2026-11-26
cases:
  - name: high impact
    assessment: {usecases: [{id: a, impact: 4}]}
    expect: {quadrant.a: high}
"""


def _git(args: list[str], cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _pre_commit() -> list[str]:
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        pytest.skip("pre-commit is not installed")
    return [sys.executable, "-m", "pre_commit"]


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A snapshot of this project (working tree included) as a git repository pre-commit can clone."""
    if not (ROOT / ".pre-commit-hooks.yaml").exists():
        pytest.skip("no .pre-commit-hooks.yaml")
    snapshot = tmp_path_factory.mktemp("hookrepo")
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy(ROOT / name, snapshot / name)
    shutil.copytree(ROOT / "src", snapshot / "src", ignore=shutil.ignore_patterns("__pycache__"))
    for folder in ("grammar", "policies", "examples"):  # the wheel carries all three (pyproject's force-include)
        shutil.copytree(ROOT / folder, snapshot / folder)
    _git(["init", "-q"], snapshot)
    _git(["-c", "user.email=ci@example.org", "-c", "user.name=CI", "add", "-A"], snapshot)
    _git(["-c", "user.email=ci@example.org", "-c", "user.name=CI", "commit", "-qm", "snapshot"], snapshot)
    return snapshot, _git(["rev-parse", "HEAD"], snapshot).strip()


def _project(tmp_path: Path, hook_repo: tuple[Path, str], policy_text: str) -> Path:
    repo, rev = hook_repo
    project = tmp_path / "project"
    (project / "policies" / "tests").mkdir(parents=True)
    (project / "policies" / "p.strat").write_text(policy_text, encoding="utf-8")
    (project / "policies" / "tests" / "p.test.yaml").write_text(TESTS, encoding="utf-8")
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {repo}\n    rev: {rev}\n    hooks:\n"
        "      - id: stratdsl-check\n      - id: stratdsl-fmt\n      - id: stratdsl-test\n",
        encoding="utf-8",
    )
    _git(["init", "-q"], project)
    _git(["add", "-A"], project)
    return project


def _run(project: Path, home: Path) -> subprocess.CompletedProcess:
    env = {"PRE_COMMIT_HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home)}
    import os

    env = {**os.environ, **env}
    return subprocess.run([*_pre_commit(), "run", "--all-files"], cwd=project, capture_output=True, text=True, env=env, timeout=900)


def test_hooks_pass_on_a_clean_policy_and_fail_on_a_bad_layout(tmp_path: Path, hook_repo: tuple[Path, str]) -> None:
    home = tmp_path / "pre-commit-home"
    good = _run(_project(tmp_path / "good", hook_repo, GOOD), home)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "stratdsl check" in good.stdout and "Passed" in good.stdout
    assert "stratdsl test" in good.stdout

    bad = _run(_project(tmp_path / "bad", hook_repo, BAD_LAYOUT), home)
    assert bad.returncode != 0
    assert "would reformat" in bad.stdout
    # the check hook still passes: the layout is wrong, the policy is not
    assert "stratdsl check" in bad.stdout

    broken = _run(_project(tmp_path / "broken", hook_repo, GOOD.replace("impact >= 3", "impakt >= 3")), home)
    assert broken.returncode != 0
    assert "E012" in broken.stdout or "E010" in broken.stdout
