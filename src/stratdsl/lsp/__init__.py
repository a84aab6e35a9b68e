"""Editor support: a language server for stratdsl policies (pygls).

`server` holds the pygls glue and `main()`; the rest works on plain data and
does not import pygls: `tokens` (a forgiving tokenizer for half-typed text),
`project` (which policy to check, with the editor's unsaved text), `symbols`
(declarations, name resolution, hover text, completion items) and `convert`
(spans and diagnostics to LSP types).

Run it with `python -m stratdsl.lsp.server` (or `python -m stratdsl.lsp`).

May import: language only.
"""
