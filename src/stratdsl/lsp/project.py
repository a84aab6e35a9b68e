"""Checking the policy a document belongs to, with the editor's unsaved text.

The checker reads files from disk (`loader.load_policy`), and imports must
stay inside the folder of the root policy. For a document open in the editor:

1. The policy to check is the document itself, unless another `.strat` file
   of the same folder imports it (directly or not): then the top-most such
   file is checked, so that a part of a policy (`ai-act.strat`, imported by
   `strategy.strat`) is checked with the names its siblings declare. Only the
   diagnostics located in the document are shown; for a root policy, errors
   found in the files it imports are summed up on the `import` line that
   leads to them.
2. The files that policy reaches are copied to a temporary folder, keeping
   their paths relative to the policy's folder, with the editor's text in
   place of the disk's for every open document; the copy is loaded and
   checked by the ordinary pipeline, naming files relative to the policy's
   folder, and thrown away. The copy is what makes the loader's rules
   (folder, cycles, missing files) apply unchanged.

Nothing here imports pygls.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..language import ast, ir
from ..language.checker import check
from ..language.diagnostics import Diagnostic, Severity, StratError
from ..language.loader import MAX_FILE_BYTES, MAX_IMPORTS, load_policy, parse_source
from ..language.source import SourceFile, Span
from .sketch import sketch
from .tokens import imports_of

#: At most this many `.strat` files of a folder are read to find a document's root policy.
MAX_SCAN_FILES = 200


def normalize(path: str | Path) -> Path:
    """An absolute path without `..`; symbolic links are kept, so names match the editor's."""
    return Path(os.path.normpath(os.path.abspath(path)))


@dataclass
class Analysis:
    """What the language server knows about one document after a check."""

    path: Path  # the document
    root: Path  # the policy that was checked: the document, or a file that imports it
    text: str  # the document's text that was checked
    name: str  # the document's file name in spans
    diagnostics: list[Diagnostic]  # located in the document (errors of imported files summed up on imports)
    modules: list[ast.Module] = field(default_factory=list)  # root first; sketched (`sketch`) when a file does not parse
    texts: dict[str, str] = field(default_factory=dict)  # file name in spans → text
    files: dict[str, Path] = field(default_factory=dict)  # file name in spans → path on disk, root first
    policy: ir.CheckedPolicy | None = None  # when the policy checked without errors
    complete: bool = False  # every file loaded (then the checker ran)


class Project:
    """Reads the policies on disk, overlaid by the documents open in the editor."""

    def __init__(self, overlays: dict[Path, str] | None = None) -> None:
        self.overlays = {normalize(p): t for p, t in (overlays or {}).items()}
        self._imports: dict[Path, list[Path]] = {}

    # ------------------------------------------------------------ reading
    def text(self, path: Path) -> str | None:
        if path in self.overlays:
            return self.overlays[path]
        try:
            if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
                return None
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def imports(self, path: Path) -> list[Path]:
        """The files `path` imports, as written (not checked against any folder)."""
        if path not in self._imports:
            text = self.text(path)
            targets = [] if text is None else [normalize(path.parent / name) for name, _ in imports_of(text)]
            self._imports[path] = targets
        return self._imports[path]

    def closure(self, start: Path, folder: Path | None = None) -> list[Path]:
        """`start` and every file it reaches through imports that stay in `folder` (default: its own), in discovery order."""
        folder = folder or start.parent
        seen = {start: None}
        queue = [start]
        while queue and len(seen) <= MAX_IMPORTS:
            for target in self.imports(queue.pop(0)):
                if target not in seen and target.is_relative_to(folder):
                    seen[target] = None
                    queue.append(target)
        return list(seen)

    def find_root(self, path: Path) -> Path:
        """The top-most policy of the document's folder that imports it; the document itself if none does."""
        folder = path.parent
        candidates = set()
        try:
            candidates = {normalize(p) for p in sorted(folder.glob("*.strat"))[:MAX_SCAN_FILES] if p.is_file()}
        except OSError:
            pass
        candidates |= {p for p in self.overlays if p.parent == folder}
        candidates.discard(path)
        closures = {c: set(self.closure(c)) for c in sorted(candidates)}
        importers = [c for c, reach in closures.items() if path in reach]
        if not importers:
            return path
        tops = [c for c in importers if not any(c in reach for other, reach in closures.items() if other != c)]
        return min(tops or importers, key=lambda c: (-len(closures[c]), c.name))

    # ------------------------------------------------------------ checking
    def analyse(self, path: str | Path, text: str) -> Analysis:
        """Check the policy the document belongs to; keep what is located in the document."""
        path = normalize(path)
        self.overlays[path] = text
        self._imports.pop(path, None)
        root = self.find_root(path)
        folder = root.parent
        files = self.closure(root)
        names = {f: f.relative_to(folder).as_posix() for f in files}
        name = names[path] if path in names else path.name
        analysis = Analysis(path, root, text, name, [])
        program = None
        problems: list[Diagnostic] = []
        with tempfile.TemporaryDirectory(prefix="stratdsl-lsp-") as tmp:
            copy = Path(tmp).resolve()
            for f in files:
                target = copy / names[f]
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    if f in self.overlays:
                        target.write_text(self.overlays[f], encoding="utf-8")
                    elif f.is_file():
                        shutil.copyfile(f, target)
                except OSError:
                    continue  # the loader reports the file as unreadable

            def display(p: Path) -> str:
                return p.relative_to(copy).as_posix() if p.is_relative_to(copy) else str(p)

            try:
                program = load_policy(copy / names[root], display)
            except StratError as error:
                problems = list(error.diagnostics)
        if program is not None:
            policy, problems = check(program)
            analysis.policy = policy
            analysis.complete = True
            analysis.modules = list(program.modules)
            analysis.texts = {sf.name: sf.text for sf in program.source_map.files()}
        else:
            # keep what can be known: every file that parses on its own, a sketch of the others
            for f in files:
                content = self.text(f)
                if content is None:
                    continue
                analysis.texts[names[f]] = content
                analysis.modules.append(parse_alone(names[f], content) or sketch(names[f], content))
        analysis.files = {names[f]: f for f in files}
        analysis.files.setdefault(name, path)
        analysis.diagnostics = self._located(analysis, problems, loaded=analysis.complete)
        return analysis

    def _located(self, analysis: Analysis, problems: list[Diagnostic], loaded: bool) -> list[Diagnostic]:
        mine = [d for d in problems if d.span is not None and d.span.line > 0 and d.span.file == analysis.name]
        others = [d for d in problems if d not in mine and d.is_error]
        if not others:
            return mine
        if analysis.root == analysis.path:
            return mine + self._summaries(analysis, others)
        if not loaded and not any(d.is_error for d in mine):
            first = others[0]
            where = f"{first.span.file}:{first.span.line}:{first.span.column}: " if first.span else ""
            note = Diagnostic(
                first.code,
                f"not checked with '{analysis.root.name}', which imports this file: {where}{first.message}",
                Span(analysis.name, 1, 1, 1, 1),
                Severity.WARNING,
                hint="fix that error to check this file's names and types",
                notes=_notes(others),
            )
            return [*mine, note]
        return mine

    def _summaries(self, analysis: Analysis, others: list[Diagnostic]) -> list[Diagnostic]:
        """One error on each `import` line of the document that leads to files with errors."""
        lines = [(normalize(analysis.path.parent / target), token) for target, token in imports_of(analysis.text)]
        folder = analysis.root.parent
        groups: dict[int, list[Diagnostic]] = {}
        unplaced: list[Diagnostic] = []
        for d in others:
            where = analysis.files.get(d.span.file) if d.span else None
            if where is None:
                unplaced.append(d)
                continue
            for n, (target, _) in enumerate(lines):
                if target.is_relative_to(folder) and where in self.closure(target, folder):
                    groups.setdefault(n, []).append(d)
                    break
            else:
                unplaced.append(d)
        out = []
        for n, found in sorted(groups.items()):
            token = lines[n][1]
            first = found[0]
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            out.append(
                Diagnostic(
                    first.code,
                    f"error in an imported file{more}: {first.span}: {first.message}",
                    Span(analysis.name, token.line, token.col, token.line, token.end),
                    Severity.ERROR,
                    hint=first.hint,
                    notes=_notes(found),
                )
            )
        out.extend(
            Diagnostic(d.code, f"{d.span}: {d.message}" if d.span else d.message, None, d.severity, d.hint, d.notes)
            for d in unplaced
        )
        return out


def _notes(found: list[Diagnostic]) -> tuple[tuple[str, Span | None], ...]:
    return tuple((f"error[{d.code}]: {d.message}", d.span) for d in found[:20])


def parse_alone(name: str, text: str) -> ast.Module | None:
    """The document's own syntax tree, without its imports; None when it does not parse."""
    try:
        return parse_source(SourceFile(name, text))
    except StratError:
        return None
