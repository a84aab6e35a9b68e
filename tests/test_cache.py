"""The cold start: lazy imports, and the cache of parsed policies (language/cache.py).

Nothing here is timed: the tests check which modules a command imports and what
the cache reads and writes — that a second run reads the lowered AST instead of
parsing, that a damaged, truncated or planted entry is ignored, that concurrent
writers leave only whole entries, and that `--no-cache` leaves no trace.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO
from stratdsl.engine import compile_policy
from stratdsl.language import cache, loader

STRATEGY = REPO / "policies" / "strategy.strat"
HEAVY = ("fastapi", "uvicorn", "pygls", "dask", "pydantic", "lark", "jinja2", "stratdsl.report", "stratdsl.runtime")


def _imported_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    probe = f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env, cwd=REPO)
    return set(out.stdout.split())


def _heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)}


def test_importing_the_cli_imports_no_server_editor_or_batch_library():
    assert _heavy(_imported_after("import stratdsl.commands.cli")) == set()


def test_version_and_help_do_not_import_the_ast():
    """The AST and IR modules (~0.1 s of dataclass creation) load only with a policy: the
    translated frame of diagnostics needs neither (a regression that doubled `--version`)."""
    for argv in (["--version"], ["--help"]):
        run = f"from stratdsl.commands.cli import main\ntry: main({argv!r})\nexcept SystemExit as e: assert e.code in (0, None), e.code"
        loaded = _imported_after(run)
        assert {"stratdsl.language.ast", "stratdsl.language.ir"} & loaded == set(), argv


def test_check_from_the_cache_imports_neither_lark_nor_the_runtime(tmp_path):
    env = {**os.environ, "STRATDSL_CACHE_DIR": str(tmp_path)}
    run = f"import sys; from stratdsl.commands.cli import main\ntry: main(['check', {str(STRATEGY)!r}])\nexcept SystemExit as e: assert e.code in (0, None), e.code"
    first = _imported_after(run, env)
    assert "lark" in first  # the cache was empty: the files were parsed
    second = _imported_after(run, env)
    assert _heavy(second) == set()


@pytest.fixture
def disk(tmp_path, monkeypatch):
    monkeypatch.setenv("STRATDSL_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(cache, "enabled", True)
    cache.clear_memory()
    yield tmp_path / "modules"
    cache.clear_memory()


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json")) if folder.exists() else []


def _spans(node: object) -> list:
    """Every span of an AST, in walk order (AST equality ignores them)."""
    out = []
    if dataclasses.is_dataclass(node):
        out.append(getattr(node, "span", None))
        for f in dataclasses.fields(node):
            out.extend(_spans(getattr(node, f.name)))
    elif isinstance(node, (tuple, list)):
        for item in node:
            out.extend(_spans(item))
    return out


def test_a_second_load_reads_the_cache_and_gives_the_same_policy(disk, monkeypatch):
    first = loader.load_policy(STRATEGY)
    assert len(_entries(disk)) == len(first.modules) >= 14
    cache.clear_memory()  # a new process: only the disk is left

    def refuse(source):
        raise AssertionError(f"{source.name} was parsed again")

    monkeypatch.setattr(loader, "_parse_source", refuse)
    second = loader.load_policy(STRATEGY)
    assert second.modules == first.modules
    assert _spans(second.modules) == _spans(first.modules)  # spans too
    policy, _diagnostics = compile_policy(STRATEGY)
    assert policy is not None and {"quadrant", "risk", "selection", "roadmap"} <= set(policy.decisions)


def test_an_edited_file_is_parsed_again(disk, tmp_path):
    policy = tmp_path / "p.strat"
    policy.write_text('policy "P" version "1"\ninput org { x: number }\ndecision d { yes when org.x > 1  otherwise no }\n')
    before, _ = compile_policy(policy)
    policy.write_text('policy "P" version "1"\ninput org { x: number }\ndecision d { yes when org.x > 2  otherwise no }\n')
    cache.clear_memory()
    after, _ = compile_policy(policy)
    assert len(_entries(disk)) == 2
    assert after.decisions["d"] != before.decisions["d"]


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "pickle", "foreign class", "other type"])
def test_a_damaged_or_planted_entry_is_ignored_and_rewritten(disk, tmp_path, damage):
    expected = loader.load_policy(STRATEGY).modules
    victim = _entries(disk)[0]
    good = victim.read_bytes()
    marker = tmp_path / "pwned"
    if damage == "truncated":
        victim.write_bytes(good[: len(good) // 2])
    elif damage == "garbage":
        victim.write_bytes(os.urandom(len(good)))
    elif damage == "empty":
        victim.write_bytes(b"")
    elif damage == "pickle":  # a pickle that would run a command if it were ever unpickled
        victim.write_bytes(pickle.dumps(_Planted(str(marker))))
    elif damage == "foreign class":  # the codec's own form, naming a class outside the allow-list
        victim.write_bytes(json.dumps(["n", "os.system", f"touch {marker}"]).encode())
    else:
        victim.write_bytes(cache.encode({"not": "a module"}))
    cache.clear_memory()
    again = loader.load_policy(STRATEGY).modules
    assert again == expected
    assert not marker.exists()
    assert victim.read_bytes() != b"" and cache.get("modules", victim.stem, object) is not None
    cache.clear_memory()
    assert isinstance(cache.get("modules", victim.stem, object), loader.ast.Module)  # rewritten whole


class _Planted:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def _load_many(folder: str, rounds: int) -> int:
    os.environ["STRATDSL_CACHE_DIR"] = folder
    from stratdsl.engine import compile_policy as load
    from stratdsl.language import cache as c

    for _ in range(rounds):
        c.clear_memory()
        policy, _ = load(STRATEGY)
        assert policy is not None
    return len(policy.files)


def test_concurrent_writers_leave_only_whole_entries(disk):
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        counts = pool.starmap(_load_many, [(str(disk.parent), 3)] * 3)
    assert len(set(counts)) == 1 and counts[0] >= 14
    entries = _entries(disk)
    assert len(entries) == counts[0]
    assert not list(disk.glob("*.tmp"))
    for entry in entries:
        assert isinstance(cache.decode(entry.read_bytes()), loader.ast.Module)


def test_no_cache_writes_nothing(tmp_path):
    env = {**os.environ, "STRATDSL_CACHE_DIR": str(tmp_path / "c")}
    stratdsl = Path(sys.executable).with_name("stratdsl")
    command = [str(stratdsl)] if stratdsl.exists() else [sys.executable, "-m", "stratdsl"]
    out = subprocess.run([*command, "--no-cache", "check", str(STRATEGY)], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert ": ok (" in out.stdout
    assert not (tmp_path / "c").exists()
    out = subprocess.run([*command, "check", str(STRATEGY)], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and len(_entries(tmp_path / "c" / "modules")) >= 14


def test_an_unwritable_cache_folder_only_costs_time(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("STRATDSL_CACHE_DIR", str(blocker))
    monkeypatch.setattr(cache, "enabled", True)
    cache.clear_memory()
    policy, _ = compile_policy(STRATEGY)
    assert policy is not None
    cache.clear_memory()
