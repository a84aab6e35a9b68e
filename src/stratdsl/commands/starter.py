"""`stratdsl init DIR`: a new methodology folder from the reference one shipped in the package.

The wheel carries the reference policies, their tests and the example
assessments under `stratdsl/methodology/` (pyproject's force-include); a source
checkout has them at the repository root. `init` copies them into a new folder
laid out like the repository (policies/, policies/tests/, examples/) so that the
relative paths inside the policy tests still hold and the folder is ready for
`git init`. Input: a target folder; output: the files written.

Also here: `require_extra`, the one message that tells which optional extra a
command needs (`pip install 'stratdsl[serve]'`) instead of an ImportError.
"""

from __future__ import annotations

import importlib.util
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from ..language.diagnostics import Diagnostic, StratError
from ..language.messages import N_, Msg

#: The folders copied by `init`, as they are named in the repository and in the new folder.
PARTS = ("policies", "examples")

#: Each optional extra and the modules it brings (pyproject.toml's [project.optional-dependencies]).
EXTRAS: dict[str, tuple[str, ...]] = {
    "serve": ("fastapi", "uvicorn"),
    "lsp": ("pygls", "lsprotocol"),
    "dask": ("dask", "distributed"),
}

_GITIGNORE = "# stratdsl outputs\n*.jsonl\n*.html\n.venv/\n"


def methodology_root() -> Traversable:
    """The folder holding policies/ and examples/: in the installed package, else the checkout."""
    packaged = resources.files("stratdsl").joinpath("methodology")
    if packaged.joinpath("policies").is_dir():
        return packaged
    return Path(__file__).resolve().parents[3]


def _copy_tree(source: Traversable, target: Path, written: list[Path]) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for item in sorted(source.iterdir(), key=lambda t: t.name):
        if item.name.startswith(".") or item.name == "__pycache__":
            continue
        if item.is_dir():
            _copy_tree(item, target / item.name, written)
        elif item.name.endswith((".strat", ".yaml", ".yml", ".json")):
            path = target / item.name
            path.write_bytes(item.read_bytes())
            written.append(path)


def init_folder(target: Path) -> list[Path]:
    """Copy the reference methodology into `target` (new or empty); return the files written.

    E340 when `target` exists and is not an empty folder: init never overwrites work."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise StratError(
            [
                Diagnostic(
                    "E340",
                    Msg(N_("'{path}' already exists and is not an empty folder"), path=target),
                    hint=Msg(N_("give a new folder name; init never overwrites files")),
                )
            ]
        )
    root = methodology_root()
    written: list[Path] = []
    for part in PARTS:
        _copy_tree(root.joinpath(part), target / part, written)
    gitignore = target / ".gitignore"
    gitignore.write_text(_GITIGNORE, encoding="utf-8")
    written.append(gitignore)
    return written  # plain writes: the user's umask decides the permissions (0644 by default)


def require_extra(extra: str, command: str) -> None:
    """E341 unless every module of `extra` is importable: say which extra to install."""
    missing = [name for name in EXTRAS[extra] if importlib.util.find_spec(name) is None]
    if missing:
        raise StratError(
            [
                Diagnostic(
                    "E341",
                    Msg(N_("`stratdsl {command}` needs the optional extra [{extra}] (missing: {missing})"), command=command, extra=extra, missing=", ".join(missing)),
                    hint=Msg(N_("install it with: pip install 'stratdsl[{extra}]'"), extra=extra),
                )
            ]
        )
