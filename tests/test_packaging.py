"""Packaging and first run: the wheel carries the methodology; `stratdsl init` gives a user something to run.

The wheel is built from this checkout and installed into a fresh virtual
environment; the environment sees the already-installed dependencies (lark,
pydantic, …) through a .pth line, so the test needs no network, and it runs the
wheel's own `stratdsl`, not the editable checkout.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import REPO
from stratdsl.commands import cli, starter


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    (found,) = out.glob("stratdsl-*.whl")
    return found


def test_the_wheel_ships_the_methodology_the_grammar_and_py_typed(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "stratdsl/py.typed" in names
    assert "stratdsl/grammar/stratdsl.lark" in names
    assert "stratdsl/methodology/policies/strategy.strat" in names
    assert "stratdsl/methodology/policies/tests/method.test.yaml" in names
    assert "stratdsl/methodology/examples/cabinet-comptable.yaml" in names
    assert "stratdsl/locale/fr/LC_MESSAGES/stratdsl.mo" in names and "stratdsl/locale/fr/LC_MESSAGES/stratdsl.po" in names
    # the web questionnaire's templates (stratdsl serve)
    for page in ("page", "macros", "questionnaire", "result", "message"):
        assert f"stratdsl/commands/templates/{page}.html" in names
    # the HTML report's templates: every one the source tree has
    templates = {f"stratdsl/report/templates/{p.name}" for p in (REPO / "src/stratdsl/report/templates").iterdir()}
    assert templates and templates <= names, sorted(templates - names)


def test_the_wheel_metadata_declares_extras_urls_and_classifiers(wheel):
    meta = next(n for n in zipfile.ZipFile(wheel).namelist() if n.endswith("METADATA"))
    text = zipfile.ZipFile(wheel).read(meta).decode()
    requires = [line for line in text.splitlines() if line.startswith("Requires-Dist:")]
    core = [r for r in requires if "extra ==" not in r]
    assert not any("fastapi" in r or "pygls" in r or "dask" in r for r in core), core
    for extra in ("serve", "lsp", "dask", "test"):
        assert f"Provides-Extra: {extra}" in text
    assert "Project-URL: Source," in text and "Classifier: Typing :: Typed" in text


def test_fresh_venv_init_eval_and_test(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps", str(wheel)], check=True, capture_output=True)
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True, check=True)
    # the dependencies, from the running environment (plain path lines: its editable stratdsl is not imported)
    Path(purelib.stdout.strip(), "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    bindir = env_dir / "bin"
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}/usr/bin:/bin", "LANG": "C.UTF-8"}
    work = tmp_path / "home"
    work.mkdir()

    where = subprocess.run([str(bindir / "stratdsl"), "--version"], cwd=work, env=env, capture_output=True, text=True)
    assert where.returncode == 0, where.stderr
    origin = subprocess.run([str(py), "-c", "import stratdsl; print(stratdsl.__file__)"], cwd=work, env=env, capture_output=True, text=True)
    assert origin.stdout.startswith(str(env_dir)), origin.stdout  # the wheel, not the checkout

    init = subprocess.run([str(bindir / "stratdsl"), "init", "ma-methode"], cwd=work, env=env, capture_output=True, text=True)
    assert init.returncode == 0, init.stderr
    assert (work / "ma-methode" / "policies" / "strategy.strat").is_file()
    assert (work / "ma-methode" / ".gitignore").is_file()
    folder = work / "ma-methode"
    run = subprocess.run(
        [str(bindir / "stratdsl"), "eval", "policies/strategy.strat", "examples/cabinet-comptable.yaml", "--as-of", "2026-09-01", "--lang", "en"],
        cwd=folder, env=env, capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "maturity" in run.stdout
    tests = subprocess.run([str(bindir / "stratdsl"), "test", "policies/tests"], cwd=folder, env=env, capture_output=True, text=True)
    assert tests.returncode == 0, tests.stdout[-2000:] + tests.stderr
    assert " passed, 0 failed" in tests.stdout
    french = subprocess.run(
        [str(bindir / "stratdsl"), "eval", "policies/strategy.strat", "examples/cabinet-comptable.yaml", "--as-of", "2026-09-01"],
        cwd=folder, env=env, capture_output=True, text=True,
    )
    assert french.stdout.splitlines()[1].startswith("au 2026-09-01"), french.stdout[:300]  # the .mo from the wheel
    # the HTML report's templates from the wheel
    report = subprocess.run(
        [str(bindir / "stratdsl"), "report", "policies/strategy.strat", "examples/cabinet-comptable.yaml", "-o", "r.html", "--as-of", "2026-09-01"],
        cwd=folder, env=env, capture_output=True, text=True,
    )
    assert report.returncode == 0, report.stderr
    assert '<h2 id="h-appendix">Annexe technique</h2>' in (folder / "r.html").read_text(encoding="utf-8")


def test_init_refuses_a_folder_with_files(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    result = CliRunner().invoke(cli.main, ["init", str(tmp_path)])
    assert result.exit_code == 1
    assert "error[E340]" in result.output
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_init_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        written = starter.init_folder(tmp_path / "m")
    finally:
        os.umask(old)
    assert written and all(p.stat().st_mode & 0o777 == 0o644 for p in written)


@pytest.mark.parametrize(("args", "extra"), [(["serve", "POLICY"], "serve"), (["lsp"], "lsp"), (["batch", "POLICY", "IN", "-o", "x.jsonl", "--engine", "dask"], "dask")])
def test_a_missing_extra_names_the_extra_to_install(monkeypatch, tmp_path, args, extra):
    policy = REPO / "policies" / "strategy.strat"
    args = [str(policy) if a == "POLICY" else str(REPO / "examples") if a == "IN" else a for a in args]
    monkeypatch.setitem(starter.EXTRAS, extra, ("stratdsl_no_such_module",))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 1, result.output
    assert "error[E341]" in result.output
    assert f"pip install 'stratdsl[{extra}]'" in result.output


def test_readmes_first_command_works_where_the_system_python_refuses_pip():
    """PEP 668 (Debian/Ubuntu): README's first command creates a virtual environment and calls pip
    and stratdsl only through it, never the system's `pip install`."""
    import re
    import shlex

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)```", readme, re.S).group(1)
    first = next(line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#"))
    steps = [shlex.split(step) for step in first.split("&&")]
    assert steps[0][:3] == ["python3", "-m", "venv"], first
    env = steps[0][3]
    for step in steps[1:]:
        assert step[0].startswith(f"{env}/bin/"), step  # pip and stratdsl of the new environment
    assert any(step[0] == f"{env}/bin/pip" and step[1] == "install" for step in steps[1:]), first
    assert steps[-1][0] == f"{env}/bin/stratdsl" and steps[-1][1] == "eval", first
    for arg in steps[-1][2:]:
        assert (REPO / arg).is_file(), arg  # the files it names are in the checkout
