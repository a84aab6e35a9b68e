"""stratdsl — a declarative policy language and explaining rules engine for the
AI strategy of small and mid-size companies.

One folder per pipeline stage, each importing only the stages below it
(enforced by the import-linter contract in pyproject.toml; docs/architecture.md
draws it):

    language/    source text → parse tree → AST → Program → CheckedPolicy (ir)
    runtime/     CheckedPolicy + assessment → Result + trace → explanations
    backends/    the checked policy compiled (Python), checked against runtime
    engine.py    the small public façade: compile, run, explain
    render/      results, explanations, diagnostics → text, JSON, SARIF
    provenance/  records, audit log, replay, history, decision diffs
    report/      the management report (HTML, Markdown)
    lsp/         the language server
    commands/    the CLI, the service, questionnaires, batch, policy tests
"""

__version__ = "0.1.0"
