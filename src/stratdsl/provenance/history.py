"""A policy as it was at a git revision: materialised from history into a
temporary folder and compiled, never read from the working tree."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..engine import require_policy
from ..language import ir
from ..language.diagnostics import Diagnostic, StratError
from ..language.messages import N_, Msg
from . import gitutil


@contextlib.contextmanager
def policy_at(policy_path: str | Path, rev: str, repo: Path | None = None) -> Iterator[ir.CheckedPolicy]:
    """Yield the checked policy `policy_path` as it was at revision `rev`."""
    path = Path(policy_path).resolve()
    root = gitutil.repo_root(repo or path.parent)
    if root is None:
        raise StratError([Diagnostic("E401", Msg(N_("'{path}' is not in a git repository, so it has no history"), path=policy_path))])
    commit = gitutil.resolve(rev, root)
    rel = str(path.relative_to(root)) if path.is_relative_to(root) else str(policy_path)
    with policy_at_commit(rel, commit, root, label=rev) as policy:
        yield policy


@contextlib.contextmanager
def policy_at_commit(rel_path: str, commit: str, root: Path, label: str | None = None) -> Iterator[ir.CheckedPolicy]:
    """The policy at `rel_path` (from the repository root) as it was at `commit`.
    Its files are named `path@revision` in messages and explanations."""
    tag = label or commit[:12]
    with tempfile.TemporaryDirectory(prefix="stratdsl-") as tmp:
        base = Path(tmp).resolve()
        root_file = gitutil.materialize(commit, rel_path, root, base)
        policy, _ = require_policy(root_file, lambda p: f"{p.resolve().relative_to(base)}@{tag}")
        yield policy
