"""Diagnostics → SARIF 2.1.0, so code-scanning tools show policy errors on a pull request's lines."""

from __future__ import annotations

import json
from pathlib import Path

from .. import __version__
from ..language.diagnostics import Diagnostic

_DESCRIPTIONS = {
    "E0": "Syntax or file error",
    "E01": "Name resolution error",
    "E02": "Type error",
    "E03": "Dependency cycle",
    "E04": "Decision or band analysis error",
    "W1": "Policy quality warning",
}


def _describe(code: str) -> str:
    for prefix in sorted(_DESCRIPTIONS, key=len, reverse=True):
        if code.startswith(prefix):
            return _DESCRIPTIONS[prefix]
    return "stratdsl diagnostic"


def render(diagnostics: list[Diagnostic], base: Path | None = None) -> str:
    codes = sorted({d.code for d in diagnostics})
    results = []
    for d in diagnostics:
        message = d.message + (f" ({d.hint})" if d.hint else "")
        result: dict[str, object] = {
            "ruleId": d.code,
            "level": "error" if d.is_error else "warning",
            "message": {"text": message},
        }
        if d.span is not None and d.span.line > 0:
            uri = d.span.file
            if base is not None:
                try:
                    uri = str((Path.cwd() / d.span.file).resolve().relative_to(base.resolve()))
                except ValueError:
                    uri = d.span.file
            result["locations"] = [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri.replace("\\", "/")},
                        "region": {
                            "startLine": d.span.line,
                            "startColumn": d.span.column,
                            "endLine": d.span.end_line,
                            "endColumn": d.span.end_column,
                        },
                    }
                }
            ]
        results.append(result)
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "stratdsl",
                        "version": __version__,
                        "informationUri": "https://github.com/stratdsl/stratdsl",
                        "rules": [
                            {"id": code, "shortDescription": {"text": _describe(code)}, "helpUri": f"docs/errors.md#{code.lower()}"}
                            for code in codes
                        ],
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(sarif, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
