"""Tracing: the evaluator reports the value of each expression it computes to a tracer.

The evaluator only emits; it never formats. With no tracer (the default) it
pays one boolean test per node. A `RecordingTracer` keeps every value, keyed by
the scope it was computed in ("" for global, "usecases[ocr]" for an entity)
and the expression's id, which is what explanations are built from.
"""

from __future__ import annotations

from typing import Any


class RecordingTracer:
    def __init__(self) -> None:
        self.values: dict[tuple[str, int], Any] = {}

    def value(self, scope: str, node_id: int, value: Any) -> None:
        self.values[(scope, node_id)] = value

    def get(self, scope: str, node_id: int, default: Any = None) -> Any:
        return self.values.get((scope, node_id), default)
