"""The language server, driven over stdio by a small JSON-RPC client, and the VS Code grammar.

The server runs in a subprocess (`python -m stratdsl.lsp.server`), exactly as
an editor starts it; the client below frames messages with Content-Length
headers, answers the server's own requests with `null`, and bounds every wait
with a timeout, so a hung server fails the test instead of hanging it.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pygls")

REPO = Path(__file__).resolve().parents[1]
GRAMMAR = REPO / "editors" / "vscode" / "stratdsl.tmLanguage.json"
TIMEOUT = 20.0

FACTS = """\
policy "Faits" version "1"
source method "Méthode IA PME" url "https://example.org/methode"
input usecases: many usecase label fr "Cas d'usage" en "Use cases" {
  name: text required
  impact: integer 0..5 label fr "Impact métier" en "Business impact"
  effort: integer 0..5 label fr "Effort" en "Effort"
}
param end_date: date = 2030-01-01 label fr "Fin de validité" en "End of validity"
"""

MAIN = """\
policy "Démo" version "1"
import "facts.strat"

decision quadrant for each usecase
  label fr "Quadrant" en "Quadrant"
{
  outcome quick_win label fr "Priorité immédiate" en "Quick win"
  outcome avoid label fr "À éviter" en "Avoid"
  rule fast: quick_win "🚀 vite" when impakt >= 3 and effort < 3
    cites method "Pilier 4" from 2026-01-01 until end_date
  otherwise avoid
}
"""

# being typed: it does not parse (the cursor sits after each trailing blank)
DRAFT = (
    'policy "Brouillon" version "1"\n'
    'import "facts.strat"\n'
    "\n"
    "decision size_class for each usecase {\n"
    "  big when \n"
    "  otherwise small\n"
    "}\n"
    "define total = \n"
    "obligation review for each usecase when size_class = \n"
)


# ---------------------------------------------------------------------------- client


class LspClient:
    """A minimal LSP client: Content-Length framing over the pipes of a subprocess."""

    def __init__(self, cwd: Path, stderr_path: Path) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
        self.stderr = stderr_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "stratdsl.lsp.server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            cwd=cwd,
            env=env,
        )
        self.incoming: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.notifications: list[dict[str, Any]] = []
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        try:
            while True:
                length = None
                while True:
                    line = stream.readline()
                    if not line:
                        self.incoming.put(None)
                        return
                    line = line.strip()
                    if not line:
                        break
                    name, _, value = line.decode("ascii").partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                assert length is not None, "a message without Content-Length"
                self.incoming.put(json.loads(stream.read(length).decode("utf-8")))
        except (OSError, ValueError):
            self.incoming.put(None)

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def _next(self, deadline: float) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no message from the language server in time")
        try:
            message = self.incoming.get(timeout=remaining)
        except queue.Empty:
            raise TimeoutError("no message from the language server in time") from None
        if message is None:
            raise RuntimeError("the language server closed its output")
        if "method" in message and "id" in message:  # a request from the server: accept it
            self.send({"id": message["id"], "result": None})
        elif "method" in message:
            self.notifications.append(message)
        return message

    def request(self, method: str, params: Any, timeout: float = TIMEOUT) -> Any:
        self.next_id += 1
        wanted = self.next_id
        self.send({"id": wanted, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while True:
            message = self._next(deadline)
            if message.get("id") == wanted and "method" not in message:
                assert "error" not in message, message["error"]
                return message.get("result")

    def notify(self, method: str, params: Any) -> None:
        self.send({"method": method, "params": params})

    def wait_for(self, method: str, accept: Callable[[dict[str, Any]], bool], timeout: float = TIMEOUT) -> dict[str, Any]:
        """The first notification (already received or to come) with this method whose params pass `accept`; consumed."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for k in range(seen, len(self.notifications)):
                note = self.notifications[k]
                if note["method"] == method and accept(note["params"]):
                    del self.notifications[k]
                    return note["params"]
            seen = len(self.notifications)
            self._next(deadline)

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                self.request("shutdown", None, timeout=5)
                self.notify("exit", None)
                self.proc.wait(timeout=5)
        except Exception:
            pass
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=5)
            self.stderr.close()


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def position(text: str, needle: str, offset: int = 0, occurrence: int = 1) -> dict[str, int]:
    """The LSP position (0-based, UTF-16) of the `occurrence`-th `needle` in `text`, plus `offset` characters."""
    index = -1
    for _ in range(occurrence):
        index = text.index(needle, index + 1)
    index += offset
    line = text.count("\n", 0, index)
    start = text.rfind("\n", 0, index) + 1
    return {"line": line, "character": utf16(text[start:index])}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "facts.strat").write_text(FACTS, encoding="utf-8")
    (tmp_path / "main.strat").write_text(MAIN, encoding="utf-8")
    return tmp_path


@pytest.fixture
def client(folder: Path, tmp_path_factory: pytest.TempPathFactory):
    lsp = LspClient(folder, tmp_path_factory.mktemp("log") / "server.stderr")
    try:
        result = lsp.request(
            "initialize",
            {"processId": os.getpid(), "rootUri": folder.as_uri(), "capabilities": {}, "workspaceFolders": None},
        )
        assert result["capabilities"]["hoverProvider"]
        lsp.notify("initialized", {})
        yield lsp
    except BaseException:
        stderr = (lsp.stderr.name and Path(lsp.stderr.name).read_text(errors="replace")) or ""
        print("server stderr:\n" + stderr, file=sys.stderr)
        raise
    finally:
        lsp.close()


def open_doc(client: LspClient, path: Path, text: str) -> str:
    uri = path.as_uri()
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "stratdsl", "version": 1, "text": text}})
    return uri


# ---------------------------------------------------------------------------- server


def test_diagnostics_as_you_type(client: LspClient, folder: Path) -> None:
    uri = open_doc(client, folder / "main.strat", MAIN)
    published = client.wait_for("textDocument/publishDiagnostics", lambda p: p["uri"] == uri)
    assert [d["code"] for d in published["diagnostics"]] == ["E012"]
    (problem,) = published["diagnostics"]
    start = position(MAIN, "impakt")
    # the 🚀 before it is two UTF-16 units: the server counts in the client's units
    assert start["character"] == MAIN.splitlines()[8].index("impakt") + 1
    assert problem["range"] == {"start": start, "end": {"line": start["line"], "character": start["character"] + len("impakt")}}
    assert problem["severity"] == 1
    assert problem["source"] == "stratdsl"
    assert "unknown field 'impakt'" in problem["message"]
    assert "did you mean 'impact'?" in problem["message"]

    # an incremental edit that fixes the name: the next publication is empty
    fix = {
        "range": {"start": start, "end": {"line": start["line"], "character": start["character"] + len("impakt")}},
        "text": "impact",
    }
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [fix]})
    published = client.wait_for("textDocument/publishDiagnostics", lambda p: p["uri"] == uri and p.get("version") == 2)
    assert published["diagnostics"] == []

    # a warning keeps its own severity and code: an unused parameter
    broken = MAIN.replace("impakt", "impact") + "param unused_rate: number = 3\n"
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": broken}]})
    published = client.wait_for("textDocument/publishDiagnostics", lambda p: p["uri"] == uri and p.get("version") == 3)
    assert [(d["code"], d["severity"], d["range"]["start"]["line"]) for d in published["diagnostics"]] == [("W106", 2, 12)]


def test_hover_on_a_field_and_on_a_rule(client: LspClient, folder: Path) -> None:
    text = MAIN.replace("impakt", "impact")
    uri = open_doc(client, folder / "main.strat", text)
    client.wait_for("textDocument/publishDiagnostics", lambda p: p["uri"] == uri)

    hover = client.request(
        "textDocument/hover", {"textDocument": {"uri": uri}, "position": position(text, "impact >=", offset=2)}
    )
    value = hover["contents"]["value"]
    assert hover["contents"]["kind"] == "markdown"
    assert "impact" in value and "field" in value
    assert "`integer`" in value and "0..5" in value
    assert "Impact métier" in value and "Business impact" in value
    assert hover["range"]["start"] == position(text, "impact >=")

    hover = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": position(text, "fast", offset=1)})
    value = hover["contents"]["value"]
    assert "quadrant.fast" in value and "quick_win" in value
    assert "Priorité immédiate" in value and "Quick win" in value
    assert "Méthode IA PME Pilier 4" in value
    assert "from 2026-01-01" in value
    assert "until `end_date`" in value and "2030-01-01" in value

    hover = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": position(text, "quadrant", offset=3)})
    assert "decision for each usecase" in hover["contents"]["value"]


def test_definition_across_files(client: LspClient, folder: Path) -> None:
    text = MAIN.replace("impakt", "impact")
    uri = open_doc(client, folder / "main.strat", text)
    client.wait_for("textDocument/publishDiagnostics", lambda p: p["uri"] == uri)
    facts_uri = (folder / "facts.strat").as_uri()

    (found,) = client.request(
        "textDocument/definition", {"textDocument": {"uri": uri}, "position": position(text, "until end_date", offset=8)}
    )
    assert found["uri"] == facts_uri
    assert found["range"]["start"] == {"line": 7, "character": 0}

    (found,) = client.request("textDocument/definition", {"textDocument": {"uri": uri}, "position": position(text, "effort <")})
    assert found["uri"] == facts_uri
    assert found["range"]["start"] == {"line": 5, "character": 2}

    (found,) = client.request(
        "textDocument/definition", {"textDocument": {"uri": uri}, "position": position(text, "otherwise avoid", offset=11)}
    )
    assert found["uri"] == uri
    assert found["range"]["start"] == {"line": 7, "character": 2}


def test_completion(client: LspClient, folder: Path) -> None:
    uri = open_doc(client, folder / "draft.strat", DRAFT)
    client.wait_for("textDocument/publishDiagnostics", lambda p: p["uri"] == uri)

    def labels(at: dict[str, int]) -> dict[str, int]:
        result = client.request("textDocument/completion", {"textDocument": {"uri": uri}, "position": at})
        items = result["items"] if isinstance(result, dict) else result
        return {item["label"]: item.get("kind") for item in items}

    # inside a `for each usecase` decision: the entity's fields, and the parameters
    inside = labels(position(DRAFT, "big when ", offset=len("big when ")))
    assert {"name", "impact", "effort"} <= set(inside)
    assert inside["impact"] == 5  # CompletionItemKind.Field
    assert "end_date" in inside and "size_class" in inside

    # a global definition cannot read a use case's fields
    outside = labels(position(DRAFT, "define total = ", offset=len("define total = ")))
    assert "impact" not in outside and "end_date" in outside

    # after `decision =`: its outcomes
    outcomes = labels(position(DRAFT, "size_class = ", offset=len("size_class = ")))
    assert set(outcomes) == {"big", "small"}
    assert set(outcomes.values()) == {20}  # CompletionItemKind.EnumMember


def test_a_part_is_checked_with_the_policy_that_imports_it(client: LspClient, folder: Path) -> None:
    # part.strat reads the use cases declared in facts.strat without importing it: alone it would not check
    part = 'policy "Partie" version "1"\ndefine heavy for each usecase label fr "Lourd" en "Heavy" = effort >= 4\n'
    (folder / "part.strat").write_text(part, encoding="utf-8")
    (folder / "main.strat").write_text(
        MAIN.replace("impakt", "impact").replace('import "facts.strat"', 'import "facts.strat"\nimport "part.strat"')
    )
    uri = open_doc(client, folder / "part.strat", part)
    published = client.wait_for("textDocument/publishDiagnostics", lambda p: p["uri"] == uri)
    assert published["diagnostics"] == []

    typo = part.replace("effort >=", "efort >=")
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": typo}]})
    published = client.wait_for("textDocument/publishDiagnostics", lambda p: p["uri"] == uri and p.get("version") == 2)
    assert [(d["code"], d["range"]["start"]) for d in published["diagnostics"]] == [("E012", position(typo, "efort"))]

    # main.strat, opened now, is checked with the editor's text of part.strat: the error shows on its import
    main_text = (folder / "main.strat").read_text(encoding="utf-8")
    main_uri = open_doc(client, folder / "main.strat", main_text)
    published = client.wait_for("textDocument/publishDiagnostics", lambda p: p["uri"] == main_uri)
    (summary,) = published["diagnostics"]
    assert summary["code"] == "E012" and "part.strat:2:" in summary["message"]
    assert summary["range"]["start"] == position(main_text, '"part.strat"')
    assert summary["relatedInformation"][0]["location"]["uri"] == uri


def test_sketch_reads_the_declarations_the_parser_reads() -> None:
    """Completion in a file that does not parse relies on the sketch: it must agree with the parser."""
    from stratdsl.language import ast
    from stratdsl.lsp.project import parse_alone
    from stratdsl.lsp.sketch import sketch
    from stratdsl.lsp.symbols import Index

    def summary(module: ast.Module) -> dict[tuple[str, str], list[Any]]:
        index = Index([module])
        out = {}
        for d in module.decls:
            value: list[Any] = [getattr(d, "for_each", None), getattr(getattr(d, "meta", None), "label", None)]
            if isinstance(d, ast.InputDecl):
                value += [d.kind, d.entity, d.over] + [(f.name, f.type, f.required, f.meta.label) for f in d.fields]
            if isinstance(d, (ast.DecisionDecl, ast.BandsDecl)):
                value += [(o.name, index.outcome_label(d.name, o.name)) for o in index.outcomes(d.name)]
            if isinstance(d, ast.EnumDecl):
                value += [(v.name, v.meta.label) for v in d.values]
            if isinstance(d, ast.ParamDecl):
                value += [d.type, d.default]
            if isinstance(d, ast.SourceDecl):
                value += [d.title, d.url]
            out[(type(d).__name__, d.name)] = value
        return out

    files = sorted((REPO / "policies").glob("*.strat")) + sorted((REPO / "tests" / "fixtures").glob("*.strat"))
    assert len(files) > 10
    for path in files:
        text = path.read_text(encoding="utf-8")
        parsed = parse_alone(path.name, text)
        if parsed is not None:
            assert summary(sketch(path.name, text)) == summary(parsed), path.name


# ---------------------------------------------------------------------------- TextMate grammar


def _patterns(grammar: dict[str, Any], node: dict[str, Any]) -> list[dict[str, Any]]:
    """The patterns a node stands for, with `include`s of the repository expanded."""
    out = []
    for pattern in node.get("patterns", []):
        if "include" in pattern:
            out += _patterns(grammar, {"patterns": [grammar["repository"][pattern["include"].lstrip("#")]]})
        elif "match" in pattern or "begin" in pattern:
            out.append(pattern)
        else:
            out += _patterns(grammar, pattern)
    return out


def _tokenize(grammar: dict[str, Any], line: str) -> list[tuple[str, str]]:
    """A small TextMate-like tokenizer: at each step the pattern matching earliest wins (ties: first listed)."""
    patterns = [(p, re.compile(p.get("match") or p["begin"])) for p in _patterns(grammar, grammar)]
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(line):
        best = None
        for pattern, regex in patterns:
            m = regex.search(line, pos)
            if m and m.end() > m.start() and (best is None or m.start() < best[1].start()):
                best = (pattern, m)
        if best is None:
            break
        pattern, m = best
        end = m.end()
        if "begin" in pattern:
            closing = re.compile(pattern["end"]).search(line, end)
            end = closing.end() if closing else len(line)
            tokens.append((line[m.start() : end], pattern["name"]))
        elif "captures" in pattern:
            for group, capture in pattern["captures"].items():
                if m.group(int(group)) is not None:
                    tokens.append((m.group(int(group)), capture["name"]))
        else:
            tokens.append((m.group(), pattern["name"]))
        pos = end
    return tokens


def test_textmate_grammar_is_valid_and_tokenizes_keywords() -> None:
    grammar = json.loads(GRAMMAR.read_text(encoding="utf-8"))
    assert grammar["scopeName"] == "source.stratdsl"
    regexes = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("match", "begin", "end"):
                if key in node:
                    regexes.append(node[key])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(grammar)
    assert len(regexes) > 10
    for regex in regexes:
        re.compile(regex)  # Oniguruma is a superset of what the grammar uses
    for pattern in grammar["patterns"]:
        assert pattern["include"].lstrip("#") in grammar["repository"]

    package = json.loads((GRAMMAR.parent / "package.json").read_text(encoding="utf-8"))
    (contributed,) = package["contributes"]["grammars"]
    assert (GRAMMAR.parent / contributed["path"]).resolve() == GRAMMAR.resolve()
    json.loads((GRAMMAR.parent / "language-configuration.json").read_text(encoding="utf-8"))

    def scopes(line: str) -> dict[str, str]:
        return dict(_tokenize(grammar, line))

    line = scopes('decision quadrant for each usecase label fr "Quadrant" en "Quadrant"  # the matrix')
    assert line["decision"].startswith("storage.type")
    assert line["quadrant"].startswith("entity.name.function")
    assert line["for"].startswith("keyword") and line["each"].startswith("keyword")
    assert line["usecase"].startswith("entity.name.type")
    assert line["label"].startswith("keyword")
    assert line['"Quadrant"'].startswith("string.quoted.double")
    assert line["# the matrix"].startswith("comment.line")

    line = scopes('  rule r2: structuring "Projet" en "Major project" when impact >= 3 and not effort < 2.5')
    assert line["rule"].startswith("keyword") and line["r2"].startswith("entity.name.label")
    assert line["structuring"] == "constant.other.outcome.stratdsl"
    assert line["when"].startswith("keyword.control")
    assert line["and"].startswith("keyword.operator") and line["not"].startswith("keyword.operator")
    assert line["3"] == "constant.numeric.stratdsl" and line["2.5"] == "constant.numeric.stratdsl"
    assert line[">="].startswith("keyword.operator")

    line = scopes('  high when purpose = recruitment cites ai_act "Annex III 4(a)" from 2026-08-02 until end_date')
    assert line["high"] == "constant.other.outcome.stratdsl"
    assert line["cites"].startswith("keyword") and line["ai_act"].startswith("entity.name.namespace")
    assert line['"Annex III 4(a)"'].startswith("string.quoted.double.citation")
    assert line["from"].startswith("keyword.control") and line["until"].startswith("keyword.control")
    assert line["2026-08-02"] == "constant.numeric.date.stratdsl"

    line = scopes("  otherwise avoid")
    assert line["otherwise"].startswith("keyword.control") and line["avoid"] == "constant.other.outcome.stratdsl"
    line = scopes("define share = round(count(usecase where known(impact)) / 3, 2)")
    assert line["round"].startswith("support.function") and line["count"].startswith("support.function")
    assert line["where"].startswith("keyword.control")


# ---------------------------------------------------------------------------- edits


LIB = 'policy "Lib" version "1"\nimport "facts.strat"\n\ndefine score for each usecase = impact * 2 - effort\n'
USE = (
    'policy "Use" version "1"\n'
    'import "lib.strat"\n'
    "\n"
    "decision level for each usecase {\n"
    "  high when score >= 4\n"
    "  otherwise low\n"
    "}\n"
    "obligation review for each usecase when score > 8 and level = high\n"
)


def test_formatting_gives_the_fmt_layout(client: LspClient, folder: Path) -> None:
    from stratdsl.language.fmt import format_source
    from stratdsl.language.source import SourceFile

    messy = MAIN.replace("impakt", "impact").replace("  otherwise avoid", "      otherwise    avoid")
    uri = open_doc(client, folder / "main.strat", messy)
    client.wait_for("textDocument/publishDiagnostics", lambda p: p["uri"] == uri)
    (edit,) = client.request("textDocument/formatting", {"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": True}})
    assert edit["range"]["start"] == {"line": 0, "character": 0}
    assert edit["newText"] == format_source(SourceFile("main.strat", messy))
    assert "\n  otherwise avoid\n" in edit["newText"]
    # a document that does not parse is left alone
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": DRAFT}]})
    assert client.request("textDocument/formatting", {"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": True}}) is None


def test_quick_fix_for_did_you_mean(client: LspClient, folder: Path) -> None:
    uri = open_doc(client, folder / "main.strat", MAIN)
    published = client.wait_for("textDocument/publishDiagnostics", lambda p: p["uri"] == uri)
    (problem,) = published["diagnostics"]
    (action,) = client.request(
        "textDocument/codeAction",
        {"textDocument": {"uri": uri}, "range": problem["range"], "context": {"diagnostics": [problem]}},
    )
    assert action["kind"] == "quickfix" and action["title"] == "Replace with 'impact'"
    (edit,) = action["edit"]["changes"][uri]
    assert edit == {"range": problem["range"], "newText": "impact"}


def test_rename_a_definition_across_files(client: LspClient, folder: Path) -> None:
    (folder / "lib.strat").write_text(LIB, encoding="utf-8")
    (folder / "use.strat").write_text(USE, encoding="utf-8")
    uri = open_doc(client, folder / "use.strat", USE)
    published = client.wait_for("textDocument/publishDiagnostics", lambda p: p["uri"] == uri)
    assert published["diagnostics"] == []
    at = position(USE, "score >= 4", offset=2)
    prepared = client.request("textDocument/prepareRename", {"textDocument": {"uri": uri}, "position": at})
    assert prepared == {"start": position(USE, "score >= 4"), "end": position(USE, "score >= 4", offset=5)}
    edit = client.request("textDocument/rename", {"textDocument": {"uri": uri}, "position": at, "newName": "priority_score"})
    lib_uri = (folder / "lib.strat").as_uri()
    assert set(edit["changes"]) == {uri, lib_uri}
    assert sorted(e["range"]["start"]["line"] for e in edit["changes"][uri]) == [4, 7]
    (declared,) = edit["changes"][lib_uri]
    assert declared["range"]["start"] == position(LIB, "score for") and declared["newText"] == "priority_score"
    # the decision too, but not the outcome `high` nor a field
    edit = client.request("textDocument/rename", {"textDocument": {"uri": uri}, "position": position(USE, "level for"), "newName": "tier"})
    assert [e["range"]["start"]["line"] for e in edit["changes"][uri]] == [3, 7]
    assert client.request("textDocument/prepareRename", {"textDocument": {"uri": uri}, "position": position(USE, "high when")}) is None
