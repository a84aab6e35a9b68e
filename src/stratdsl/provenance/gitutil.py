"""Reading policy history from git: the commit a file is at, its content at a
revision, and who last changed which lines. Uses the `git` command; every
function degrades to None when git or the repository is not there."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..language.diagnostics import Diagnostic, StratError
from ..language.messages import N_, Msg


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout


def repo_root(path: Path) -> Path | None:
    out = _git(["rev-parse", "--show-toplevel"], path if path.is_dir() else path.parent)
    return Path(out.strip()).resolve() if out else None


@dataclass(frozen=True)
class GitState:
    root: Path
    commit: str
    dirty: bool


def state(files: list[Path]) -> GitState | None:
    """The commit HEAD points at, and whether any of `files` differs from it."""
    if not files:
        return None
    root = repo_root(files[0])
    if root is None:
        return None
    commit = _git(["rev-parse", "HEAD"], root)
    if commit is None:
        return None
    rel = [str(f.resolve().relative_to(root)) for f in files if f.resolve().is_relative_to(root)]
    status = _git(["status", "--porcelain", "--ignored", "--untracked-files=all", "--", *rel], root) or ""
    return GitState(root, commit.strip(), bool(status.strip()))


def resolve(rev: str, cwd: Path) -> str:
    out = _git(["rev-parse", "--verify", f"{rev}^{{commit}}"], cwd)
    if out is None:
        raise StratError([Diagnostic("E401", Msg(N_("'{rev}' is not a git revision of the repository holding the policy"), rev=rev))])
    return out.strip()


def resolve_commit(commit: str, cwd: Path) -> str | None:
    """The commit if the repository has it, else None (never an error)."""
    out = _git(["rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"], cwd)
    return out.strip() if out else None


def show(commit: str, rel_path: str, root: Path) -> str | None:
    return _git(["show", f"{commit}:{rel_path}"], root)


def materialize(commit: str, rel_root_policy: str, root: Path, target: Path) -> Path:
    """Write every .strat file of the policy's folder as it was at `commit` under `target`;
    return the path of the root policy there. Imports resolve as they did then."""
    folder = str(Path(rel_root_policy).parent)
    listing = _git(["ls-tree", "-r", "--name-only", commit, "--", folder if folder != "." else "."], root)
    if listing is None or rel_root_policy not in listing.splitlines():
        raise StratError([Diagnostic("E402", Msg(N_("'{path}' does not exist at commit {commit}"), path=rel_root_policy, commit=commit[:12]))])
    for name in listing.splitlines():
        if not name.endswith(".strat"):
            continue
        text = show(commit, name, root)
        if text is None:
            continue
        out = target / name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    return target / rel_root_policy


@dataclass(frozen=True)
class BlameLine:
    commit: str
    author: str
    date: str
    summary: str


def blame(path: Path, start: int, end: int) -> BlameLine | None:
    """The most recent change among lines start..end of a file."""
    root = repo_root(path)
    if root is None:
        return None
    out = _git(["blame", "--porcelain", "-L", f"{start},{end}", "--", str(path.resolve().relative_to(root))], root)
    if out is None:
        return None
    commits: dict[str, dict[str, str]] = {}
    current = None
    for line in out.splitlines():
        parts = line.split(" ")
        if len(parts[0]) == 40 and all(c in "0123456789abcdef" for c in parts[0]):
            current = parts[0]
            commits.setdefault(current, {})
        elif current and " " in line and not line.startswith("\t"):
            key, _, value = line.partition(" ")
            commits[current].setdefault(key, value)
    if not commits:
        return None
    if "0" * 40 in commits:
        sha, info = "0" * 40, commits["0" * 40]
    else:
        # the descendant of all others: history decides, not (rebased or equal) dates
        sha = next(iter(commits))
        for other in commits:
            if other != sha and _git(["merge-base", "--is-ancestor", sha, other], root) is not None:
                sha = other
        info = commits[sha]
    from datetime import UTC, datetime

    when = datetime.fromtimestamp(int(info.get("author-time", "0")), tz=UTC).date().isoformat()
    if sha == "0" * 40:
        return BlameLine("uncommitted", "you", when, "not committed yet")
    return BlameLine(sha, info.get("author", "?"), when, info.get("summary", ""))
