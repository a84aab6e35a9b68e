"""The language: from policy text to a checked policy.

Owns: source files and spans (source), the Lark parser (syntax), the AST
(ast, built by lower), imports (loader), types, the checker and its static
analyses (checker, analysis), the checked form every back end reads (ir),
diagnostics (errors as data) and the formatter (fmt).

    text ─syntax.parse─▶ parse tree ─lower─▶ ast.Module ─loader─▶ Program
         ─checker.check─▶ ir.CheckedPolicy

May import: the standard library, lark, and the package root (version).
Nothing here knows about assessments, evaluation or output formats.
"""
