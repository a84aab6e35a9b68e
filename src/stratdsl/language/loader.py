"""Loading: a policy file and everything it imports → the AST of every module.

Imports are resolved relative to the importing file and must stay inside the
folder of the root policy (a policy from a pull request must not read
/etc/passwd). Each file is read once; import cycles are reported, not followed.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import ast, cache
from .diagnostics import Diagnostic, StratError
from .messages import N_, Msg
from .source import SourceFile, SourceMap, Span

MAX_FILE_BYTES = 2_000_000
MAX_IMPORTS = 200
MAX_TOTAL_BYTES = 10_000_000  # a policy and all its imports (parsing costs ~10 s per MB)


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


class _NotAFile(Exception):
    def __init__(self, what: Msg) -> None:
        self.what = what


def _read_bytes(path: Path, limit: int) -> tuple[int, bytes]:
    """(size from stat, at most limit + 1 bytes). Opened without blocking and checked to be a
    regular file: a FIFO or a device in the folder must not hang or flood the reader."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise _NotAFile(Msg(N_("it is a folder")))
        if not stat.S_ISREG(info.st_mode):
            raise _NotAFile(Msg(N_("it is not a regular file")))
        if info.st_size > limit:
            return info.st_size, b""
        handle = os.fdopen(fd, "rb")
        fd = -1  # the handle owns it now
        with handle:
            return info.st_size, handle.read(limit + 1)
    finally:
        if fd >= 0:
            os.close(fd)


def read_source(path: Path, name: str | None = None, span: Span | None = None) -> SourceFile:
    shown = name or display_name(path)
    try:
        size, data = _read_bytes(path, MAX_FILE_BYTES)
    except FileNotFoundError:
        raise StratError([Diagnostic("E004", Msg(N_("cannot read policy file '{name}': it does not exist"), name=shown), span)]) from None
    except _NotAFile as error:
        raise StratError([Diagnostic("E004", _cannot_read(shown, error.what), span)]) from None
    except (OSError, ValueError) as error:  # ValueError: a NUL character in the path
        reason = getattr(error, "strerror", None) or Msg(N_("it is not a valid file name"))
        raise StratError([Diagnostic("E004", _cannot_read(shown, reason), span)]) from None
    size = max(size, len(data))  # the file may have grown since stat
    if size > MAX_FILE_BYTES:
        raise StratError(
            [
                Diagnostic(
                    "E005", Msg(N_("policy file '{name}' is {size} bytes, above the limit of {limit}"), name=shown, size=size, limit=MAX_FILE_BYTES), span
                )
            ]
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise StratError([Diagnostic("E004", Msg(N_("policy file '{name}' is not UTF-8 text"), name=shown), span)]) from None
    # a byte-order mark (Windows Notepad) is not part of the text: columns count from after it
    return SourceFile(shown, text.removeprefix("\ufeff"), path, hashlib.sha256(data).hexdigest())


def _cannot_read(shown: str, reason: str) -> Msg:
    """E004's message; `reason` is a Msg, or the system's own words (strerror)."""
    return Msg(N_("cannot read policy file '{name}': {reason}"), name=shown, reason=reason)


def parse_source(source: SourceFile, persist: bool = True) -> ast.Module:
    """The lowered AST of one file; a file read before (same text, same name, same engine)
    comes from the cache (language/cache.py) without importing Lark. `persist=False`
    keeps it in memory only (texts that are not files: tests, the language server)."""
    entry = cache.key("module", source.name, source.text)
    module = cache.get("modules", entry, ast.Module, persist)
    if module is None:
        module = _parse_source(source)
        cache.put("modules", entry, module, persist)
    return module


def _parse_source(source: SourceFile) -> ast.Module:
    from lark.exceptions import VisitError

    from .lower import lower
    from .syntax import MAX_NESTING, parse

    try:
        return lower(parse(source), source)
    except (RecursionError, VisitError) as error:
        # syntax.parse bounds the depth first; this is the backstop for anything it missed
        if isinstance(error, VisitError) and not isinstance(error.orig_exc, RecursionError):
            raise
        message = Msg(N_("an expression of '{name}' is nested more than {limit} levels deep"), name=source.name, limit=MAX_NESTING)
        raise StratError([Diagnostic("E009", message)]) from None


def load_policy(path: str | Path, display: Callable[[Path], str] | None = None) -> Program:
    """Read, parse and lower the root policy and all its imports; collect every syntax error.

    `display` names files in messages (default: relative to the working directory)."""
    try:
        root_path = Path(path).resolve()
    except (OSError, ValueError, RuntimeError):
        raise StratError([Diagnostic("E004", _cannot_read(str(path), Msg(N_("it is not a valid file name"))))]) from None
    root_dir = root_path.parent
    source_map = SourceMap()
    modules: list[ast.Module] = []
    problems: list[Diagnostic] = []
    seen: dict[Path, str] = {}
    stack: list[Path] = []
    total = 0  # bytes of text read so far, all files together

    def visit(file_path: Path, via: Span | None) -> None:
        if file_path in seen:
            if file_path in stack:
                chain = " → ".join(seen[p] for p in stack[stack.index(file_path) :] + [file_path])
                problems.append(Diagnostic("E007", Msg(N_("import cycle: {chain}"), chain=chain), via, hint=Msg(N_("split the shared part into its own file"))))
            return
        nonlocal total
        if len(seen) >= MAX_IMPORTS:
            problems.append(Diagnostic("E008", Msg(N_("more than {limit} policy files are imported"), limit=MAX_IMPORTS), via))
            return
        if total > MAX_TOTAL_BYTES:
            return  # already reported
        try:
            source = read_source(file_path, display(file_path) if display else None, span=via)
        except StratError as error:
            problems.extend(error.diagnostics)
            return
        total += len(source.text.encode("utf-8"))
        if total > MAX_TOTAL_BYTES:
            problems.append(
                Diagnostic(
                    "E005",
                    Msg(
                        N_("with '{name}', the policy's files come to {size} bytes, above the limit of {limit} for all files together"),
                        name=source.name,
                        size=total,
                        limit=MAX_TOTAL_BYTES,
                    ),
                    via,
                    hint=Msg(N_("remove imports that are not needed, or shorten long comments")),
                )
            )
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
            if "\x00" in imp.path:  # Path.resolve() would raise ValueError
                shown = imp.path.replace("\x00", "\\0")
                message = Msg(N_("import '{path}' is not a valid file name: it contains a NUL character"), path=shown)
                problems.append(Diagnostic("E006", message, imp.span))
                continue
            try:
                target = (file_path.parent / imp.path).resolve()
            except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
                message = Msg(N_("cannot read policy file '{name}': its path cannot be resolved"), name=imp.path)
                problems.append(Diagnostic("E004", message, imp.span))
                continue
            if not target.is_relative_to(root_dir):
                problems.append(
                    Diagnostic(
                        "E006",
                        Msg(N_("import '{path}' leaves the policy's folder"), path=imp.path),
                        imp.span,
                        hint=Msg(N_("imports must stay inside the folder of the main policy file")),
                    )
                )
                continue
            visit(target, imp.span)
        stack.pop()

    visit(root_path, None)
    if problems:
        raise StratError(problems)
    return Program(modules, source_map, root_dir)


def _outside(link: Path, folder: Path) -> bool:
    """Whether `link` (found in or named inside `folder`) really lives outside it."""
    try:
        return not link.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError, ValueError):
        return True


def find_policy_files(paths: list[str] | tuple[str, ...]) -> tuple[list[Path], list[Diagnostic]]:
    """The policy files named on a command line: folders are scanned for `*.strat`.

    A file found by scanning a folder that resolves outside that folder (a symlink to
    `/proc/self/environ` added by a pull request) is refused with E060 *before it is
    read*, like an import that leaves the policy's folder: CI must never print a line
    of it. A file named directly that is a symbolic link leading out of the folder
    that holds the link is refused too, because a shell glob (`policies/*.strat`)
    names the link, not the person running the command."""
    files: list[Path] = []
    problems: list[Diagnostic] = []
    for raw in paths:
        given = Path(raw)
        if given.is_dir():
            for found in sorted(given.rglob("*.strat")):
                if _outside(found, given):
                    problems.append(_escape(found, given))
                else:
                    files.append(found)
        elif given.is_symlink() and _outside(given, given.parent):
            problems.append(_escape(given, given.parent))
        else:
            files.append(given)
    return files, problems


def _escape(found: Path, folder: Path) -> Diagnostic:
    return Diagnostic(
        "E060",
        Msg(
            N_("policy file '{name}' is a link to a file outside the folder '{folder}': it is not read"),
            name=display_name(found),
            folder=display_name(folder),
        ),
        Span(display_name(found), 0, 0, 0, 0),
        hint=Msg(N_("policy files and their imports must live inside the policy folder; replace the link by the file itself")),
    )


def load_text(text: str, name: str = "<policy>") -> Program:
    """Load a single in-memory policy (no imports); used by tests and the language server."""
    source = SourceFile(name, text)
    source_map = SourceMap()
    source_map.add(source)
    module = parse_source(source, persist=False)
    if module.imports:
        raise StratError([Diagnostic("E006", Msg(N_("an in-memory policy cannot import files")), module.imports[0].span)])
    return Program([module], source_map, Path.cwd())
