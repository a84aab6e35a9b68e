"""Renderers: results, explanations and diagnostics → text, JSON (Markdown and HTML in reports).

Renderers only format; every decision, value and status they show was
computed by the evaluator and the explanation builder.

May import: runtime, language (never engine, provenance or the entry points).
"""
