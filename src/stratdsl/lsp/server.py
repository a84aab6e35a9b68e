"""The stratdsl language server (pygls 2), served over stdio.

    python -m stratdsl.lsp.server        # or: stratdsl lsp

Features: diagnostics from the checker as you type (on open and save at once,
on change after a short pause), hover (rules, fields, declarations),
go-to-definition (across imported files), completion (fields of the
current entity, definitions, decisions, parameters, outcomes after `x =`),
formatting (`stratdsl fmt`'s layout), quick fixes for "did you mean", and
rename of a decision or definition across files (see `edits`).
See `project` for which policy a document is checked with.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path, uri_scheme

from .. import __version__
from ..language import ast
from ..language.checker import check
from ..language.diagnostics import StratError
from ..language.loader import load_text
from .convert import Positions, diagnostic, from_client
from .edits import RenameError, formatted, renamable, rename, suggestion
from .project import Analysis, Project, parse_alone
from .sketch import sketch
from .symbols import Index, Item, Symbol, complete, hover, symbol_at
from .tokens import tokenize

log = logging.getLogger("stratdsl.lsp")

#: Seconds without typing before a changed document is checked again.
CHANGE_DELAY = 0.3

_ITEM_KINDS = {
    "field": types.CompletionItemKind.Field,
    "definition": types.CompletionItemKind.Variable,
    "decision": types.CompletionItemKind.Enum,
    "bands": types.CompletionItemKind.Enum,
    "outcome": types.CompletionItemKind.EnumMember,
    "enum_value": types.CompletionItemKind.EnumMember,
    "enum": types.CompletionItemKind.Enum,
    "param": types.CompletionItemKind.Constant,
    "input": types.CompletionItemKind.Module,
    "obligation": types.CompletionItemKind.Event,
    "source": types.CompletionItemKind.Reference,
    "function": types.CompletionItemKind.Function,
    "builtin": types.CompletionItemKind.Variable,
    "keyword": types.CompletionItemKind.Keyword,
    "type": types.CompletionItemKind.TypeParameter,
}


@dataclass
class Knowledge:
    """The declarations known for a document, from its last check.

    A check brings a module for every file of the policy: parsed, or
    sketched from its tokens when it does not parse (the file being typed,
    most often), so that hover, definition and completion go on working
    while the text is half written. A file the check could not read keeps
    the module it had."""

    modules: dict[str, ast.Module] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    index: Index = field(default_factory=lambda: Index([]))

    def updated(self, analysis: Analysis) -> Knowledge:
        modules = {**self.modules, **{m.file: m for m in analysis.modules}}
        texts = {**self.texts, **analysis.texts}
        order = list(analysis.files)
        modules = {name: modules[name] for name in order if name in modules}
        texts = {name: texts[name] for name in order if name in texts}
        return Knowledge(modules, texts, dict(analysis.files), Index(modules.values(), analysis.policy))


class StratLanguageServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("stratdsl", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.analyses: dict[str, Analysis] = {}
        self.knowledge: dict[str, Knowledge] = {}
        self.pending: dict[str, asyncio.TimerHandle] = {}

    # ------------------------------------------------------------ positions
    @property
    def encoding(self) -> str:
        try:
            encoding = self.workspace.position_codec.encoding
        except RuntimeError:  # before initialize
            return "utf-16"
        return str(getattr(encoding, "value", encoding) or "utf-16")

    # ------------------------------------------------------------ checking
    def overlays(self) -> dict[Path, str]:
        out = {}
        for doc in self.workspace.text_documents.values():
            path = to_fs_path(doc.uri) if uri_scheme(doc.uri) == "file" else None
            if path:
                out[Path(path)] = doc.source
        return out

    def analyse(self, uri: str) -> Analysis | None:
        doc = self.workspace.get_text_document(uri)
        path = to_fs_path(uri) if uri_scheme(uri) == "file" else None
        text = doc.source
        if path is None:
            return analyse_alone(uri, text)
        return Project(self.overlays()).analyse(path, text)

    def check(self, uri: str) -> None:
        """Check a document now and publish its diagnostics."""
        self.pending.pop(uri, None)
        if uri not in self.workspace.text_documents:
            return
        doc = self.workspace.get_text_document(uri)
        try:
            analysis = self.analyse(uri)
        except Exception:  # never let one bad check stop the server
            log.exception("checking %s failed", uri)
            return
        if analysis is None:
            return
        self.analyses[uri] = analysis
        self.knowledge[uri] = (self.knowledge.get(uri) or Knowledge()).updated(analysis)
        if analysis.root != analysis.path:
            log.info("checked %s as part of %s", analysis.path, analysis.root)
        positions = Positions({**analysis.texts, analysis.name: analysis.text}, self.encoding)
        files = analysis.files
        diagnostics = [
            diagnostic(d, positions, lambda name: files[name].as_uri() if name in files else None) for d in analysis.diagnostics
        ]
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=doc.version)
        )

    def check_later(self, uri: str) -> None:
        previous = self.pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.check(uri)
            return
        self.pending[uri] = loop.call_later(CHANGE_DELAY, self.check, uri)

    def forget(self, uri: str) -> None:
        previous = self.pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        self.analyses.pop(uri, None)
        self.knowledge.pop(uri, None)
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    # ------------------------------------------------------------ what the features read
    def context(self, uri: str, position: types.Position) -> tuple[str, int, int, Knowledge, Analysis | None]:
        doc = self.workspace.get_text_document(uri)
        text = doc.source
        line, col = from_client(text, position, self.encoding)
        return text, line, col, self.knowledge.get(uri) or Knowledge(), self.analyses.get(uri)

    def module_of(self, analysis: Analysis | None, text: str) -> ast.Module | None:
        """The document's own syntax tree for its current text, if it parses."""
        if analysis is None:
            return None
        if analysis.complete and analysis.text == text:
            module = next((m for m in analysis.modules if m.file == analysis.name), None)
            if module is not None:
                return module
        return parse_alone(analysis.name, text)  # never a sketch: rules are located by their spans


def analyse_alone(uri: str, text: str) -> Analysis:
    """A document with no file on disk (an untitled editor): checked alone, without imports."""
    name = uri
    analysis = Analysis(Path(name), Path(name), text, name, [], texts={name: text}, files={})
    try:
        program = load_text(text, name)
    except StratError as error:
        analysis.diagnostics = [d for d in error.diagnostics if d.span is None or d.span.file == name]
        analysis.modules = [parse_alone(name, text) or sketch(name, text)]
        return analysis
    policy, diagnostics = check(program)
    analysis.policy = policy
    analysis.complete = True
    analysis.modules = list(program.modules)
    analysis.texts = {name: text}
    analysis.diagnostics = [d for d in diagnostics if d.span is None or d.span.file == name]
    return analysis


def name_span(symbol: Symbol, texts: dict[str, str]) -> tuple[int, int, int] | None:
    """Where the name itself is written in its declaration: (line, column, end column)."""
    span = symbol.span
    if span is None or span.file not in texts:
        return None
    lines = texts[span.file].split("\n")
    segment = "\n".join(lines[span.line - 1 : span.end_line])
    for token in tokenize(segment):
        line = token.line + span.line - 1
        if (line, token.col) < (span.line, span.column):
            continue
        if token.kind == "name" and token.text == symbol.name:
            return line, token.col, token.end
    return None


def build_server() -> StratLanguageServer:
    server = StratLanguageServer()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: StratLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.check(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: StratLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.check_later(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: StratLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        saved = params.text_document.uri
        ls.check(saved)
        # the documents that import it, or that it imports, may read differently now
        for uri in list(ls.workspace.text_documents):
            if uri != saved:
                ls.check_later(uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: StratLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def on_hover(ls: StratLanguageServer, params: types.HoverParams) -> types.Hover | None:
        uri = params.text_document.uri
        text, line, col, known, analysis = ls.context(uri, params.position)
        texts = {**known.texts}
        if analysis is not None:
            texts[analysis.name] = text
        markdown = hover(known.index, text, line, col, ls.module_of(analysis, text), texts)
        if markdown is None:
            return None
        _, token = symbol_at(known.index, text, line, col)
        word = None
        if token is not None:
            positions = Positions({"": text}, ls.encoding)
            word = types.Range(
                start=positions.to_client("", token.line, token.col), end=positions.to_client("", token.line, token.end)
            )
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=markdown), range=word)

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def on_definition(ls: StratLanguageServer, params: types.DefinitionParams):
        uri = params.text_document.uri
        text, line, col, known, analysis = ls.context(uri, params.position)
        symbol, token = symbol_at(known.index, text, line, col)
        if symbol is None or symbol.span is None or symbol.span.line <= 0:
            return None
        if analysis is not None and symbol.span.file == analysis.name:
            target = uri
        elif symbol.span.file in known.files:
            target = known.files[symbol.span.file].as_uri()
        else:
            return None
        texts = dict(known.texts)
        positions = Positions(texts, ls.encoding)
        whole = positions.range(symbol.span)
        found = name_span(symbol, texts)
        selection = whole
        if found is not None:
            at, start, end = found
            selection = types.Range(
                start=positions.to_client(symbol.span.file, at, start), end=positions.to_client(symbol.span.file, at, end)
            )
        caps = ls.client_capabilities.text_document
        if caps is not None and caps.definition is not None and caps.definition.link_support and token is not None:
            here = Positions({"": text}, ls.encoding)
            origin = types.Range(start=here.to_client("", token.line, token.col), end=here.to_client("", token.line, token.end))
            return [
                types.LocationLink(
                    target_uri=target, target_range=whole, target_selection_range=selection, origin_selection_range=origin
                )
            ]
        return [types.Location(uri=target, range=whole)]

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=["."]))
    def on_completion(ls: StratLanguageServer, params: types.CompletionParams) -> types.CompletionList:
        text, line, col, known, _ = ls.context(params.text_document.uri, params.position)
        items = [completion_item(item) for item in complete(known.index, text, line, col)]
        return types.CompletionList(is_incomplete=False, items=items)

    _add_edit_features(server)
    return server


def _whole(text: str) -> types.Range:
    lines = text.split("\n")
    return types.Range(start=types.Position(line=0, character=0), end=types.Position(line=len(lines), character=0))


def _add_edit_features(server: StratLanguageServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    def on_formatting(ls: StratLanguageServer, params: types.DocumentFormattingParams) -> list[types.TextEdit] | None:
        doc = ls.workspace.get_text_document(params.text_document.uri)
        analysis = ls.analyses.get(params.text_document.uri)
        name = analysis.name if analysis is not None else params.text_document.uri
        out = formatted(name, doc.source)
        return None if out is None else [types.TextEdit(range=_whole(doc.source), new_text=out)]

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix])
    )
    def on_code_action(ls: StratLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        actions = []
        for d in params.context.diagnostics:
            proposed = suggestion(d.message)
            if proposed is None or d.range.start == d.range.end:
                continue
            actions.append(
                types.CodeAction(
                    title=f"Replace with '{proposed}'",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[d],
                    is_preferred=True,
                    edit=types.WorkspaceEdit(changes={uri: [types.TextEdit(range=d.range, new_text=proposed)]}),
                )
            )
        return actions

    @server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)
    def on_prepare_rename(ls: StratLanguageServer, params: types.PrepareRenameParams) -> types.Range | None:
        text, line, col, knowledge, _ = ls.context(params.text_document.uri, params.position)
        found = renamable(knowledge.index, text, line, col)
        if found is None:
            return None
        _, (at, start, end) = found
        positions = Positions({"doc": text}, ls.encoding)
        return types.Range(start=positions.to_client("doc", at, start), end=positions.to_client("doc", at, end))

    @server.feature(types.TEXT_DOCUMENT_RENAME)
    def on_rename(ls: StratLanguageServer, params: types.RenameParams) -> types.WorkspaceEdit | None:
        uri = params.text_document.uri
        text, line, col, knowledge, analysis = ls.context(uri, params.position)
        found = renamable(knowledge.index, text, line, col)
        if found is None:
            return None
        symbol, _ = found
        own = analysis.name if analysis is not None else uri
        texts = {**knowledge.texts, own: text}
        try:
            replacements = rename(knowledge.index, texts, symbol, params.new_name)
        except RenameError as error:
            raise ValueError(str(error)) from None
        positions = Positions(texts, ls.encoding)
        changes: dict[str, list[types.TextEdit]] = {}
        for r in replacements:
            target = uri if r.file == own else (knowledge.files[r.file].as_uri() if r.file in knowledge.files else None)
            if target is None:
                continue
            edit_range = types.Range(start=positions.to_client(r.file, r.line, r.col), end=positions.to_client(r.file, r.line, r.end_col))
            changes.setdefault(target, []).append(types.TextEdit(range=edit_range, new_text=r.text))
        return types.WorkspaceEdit(changes=changes)


def completion_item(item: Item) -> types.CompletionItem:
    return types.CompletionItem(
        label=item.label,
        kind=_ITEM_KINDS.get(item.kind, types.CompletionItemKind.Text),
        detail=item.detail,
        documentation=types.MarkupContent(kind=types.MarkupKind.PlainText, value=item.documentation)
        if item.documentation
        else None,
        sort_text=f"{item.rank}_{item.label}",
    )


def main(argv: list[str] | None = None) -> None:
    """Serve the language server over stdio until the client exits.

    `argv` defaults to the command line; arguments it does not know (a
    subcommand name, `--stdio` added by some clients) are ignored."""
    parser = argparse.ArgumentParser(prog="stratdsl lsp", description="stratdsl language server (stdio)")
    parser.add_argument(
        "--stdio", action="store_true", help="serve over stdin/stdout (the default; accepted for LSP clients that pass it)"
    )
    parser.add_argument("--log-file", help="write the server's log to this file (default: stderr)")
    parser.add_argument("--log-level", default="WARNING", help="DEBUG, INFO, WARNING (default) or ERROR")
    args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    handler: logging.Handler = (
        logging.FileHandler(args.log_file, encoding="utf-8") if args.log_file else logging.StreamHandler(sys.stderr)
    )
    logging.basicConfig(level=getattr(logging, str(args.log_level).upper(), logging.WARNING), handlers=[handler])
    build_server().start_io()


if __name__ == "__main__":
    main(sys.argv[1:])
