"""Loading: a policy file and everything it imports → the AST of every module.

Imports are resolved relative to the importing file and must stay inside the
folder of the root policy (a policy from a pull request must not read
/etc/passwd). Each file is read once; import cycles are reported, not followed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import ast
from .diagnostics import Diagnostic, StratError
from .lower import lower
from .source import SourceFile, SourceMap, Span
from .syntax import parse

MAX_FILE_BYTES = 2_000_000
MAX_IMPORTS = 200


@dataclass
class Program:
    """The root module first, then imported modules in the order they were first reached."""

    modules: list[ast.Module]
    source_map: SourceMap
    root: Path


def display_name(path: Path) -> str:
    """The name shown in messages: relative to the working directory when possible."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def read_source(path: Path, name: str | None = None, span: Span | None = None) -> SourceFile:
    shown = name or display_name(path)
    try:
        size = path.stat().st_size
    except OSError:
        raise StratError([Diagnostic("E004", f"cannot read policy file '{shown}': it does not exist", span)]) from None
    if size > MAX_FILE_BYTES:
        raise StratError(
            [Diagnostic("E005", f"policy file '{shown}' is {size} bytes, above the limit of {MAX_FILE_BYTES}", span)]
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise StratError([Diagnostic("E004", f"policy file '{shown}' is not UTF-8 text", span)]) from None
    except OSError as error:
        raise StratError([Diagnostic("E004", f"cannot read policy file '{shown}': {error.strerror}", span)]) from None
    return SourceFile(shown, text, path)


def parse_source(source: SourceFile) -> ast.Module:
    return lower(parse(source), source)


def load_policy(path: str | Path, display: Callable[[Path], str] | None = None) -> Program:
    """Read, parse and lower the root policy and all its imports; collect every syntax error.

    `display` names files in messages (default: relative to the working directory)."""
    root_path = Path(path).resolve()
    root_dir = root_path.parent
    source_map = SourceMap()
    modules: list[ast.Module] = []
    problems: list[Diagnostic] = []
    seen: dict[Path, str] = {}
    stack: list[Path] = []

    def visit(file_path: Path, via: Span | None) -> None:
        if file_path in seen:
            if file_path in stack:
                chain = " → ".join(seen[p] for p in stack[stack.index(file_path) :] + [file_path])
                problems.append(Diagnostic("E007", f"import cycle: {chain}", via, hint="split the shared part into its own file"))
            return
        if len(seen) >= MAX_IMPORTS:
            problems.append(Diagnostic("E008", f"more than {MAX_IMPORTS} policy files are imported", via))
            return
        try:
            source = read_source(file_path, display(file_path) if display else None, span=via)
        except StratError as error:
            problems.extend(error.diagnostics)
            return
        seen[file_path] = source.name
        source_map.add(source)
        try:
            module = parse_source(source)
        except StratError as error:
            problems.extend(error.diagnostics)
            return
        modules.append(module)
        stack.append(file_path)
        for imp in module.imports:
            target = (file_path.parent / imp.path).resolve()
            if not target.is_relative_to(root_dir):
                problems.append(
                    Diagnostic(
                        "E006",
                        f"import '{imp.path}' leaves the policy's folder",
                        imp.span,
                        hint="imports must stay inside the folder of the main policy file",
                    )
                )
                continue
            visit(target, imp.span)
        stack.pop()

    visit(root_path, None)
    if problems:
        raise StratError(problems)
    return Program(modules, source_map, root_dir)


def load_text(text: str, name: str = "<policy>") -> Program:
    """Load a single in-memory policy (no imports); used by tests and the language server."""
    source = SourceFile(name, text)
    source_map = SourceMap()
    source_map.add(source)
    module = parse_source(source)
    if module.imports:
        raise StratError([Diagnostic("E006", "an in-memory policy cannot import files", module.imports[0].span)])
    return Program([module], source_map, Path.cwd())
