"""Assessments: one company's facts, validated against the policy's own input declarations.

YAML or JSON → plain data (numbers read from their text as exact decimals, and
the line and column of every value kept) → a pydantic model built from the
policy's `input` declarations → an `Assessment` the evaluator reads, in which
every fact that was left out, null or `unknown` is an `Unknown` naming itself
(`usecases[ocr].profiling`). All problems are reported at once, each with its
path and, for YAML, its line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from . import ir
from .diagnostics import Diagnostic, StratError, did_you_mean
from .source import Span
from .types import BoolT, DateT, EnumT, ListT, NumberT, TextT, Type
from .values import Unknown

MAX_ASSESSMENT_BYTES = 20_000_000
MAX_YAML_NODES = 2_000_000
MAX_DEPTH = 64
MAX_TEXT = 10_000
MAX_ENTITIES = 100_000


@dataclass(frozen=True)
class Entity:
    input_name: str
    index: int
    id: str
    values: dict[str, Any]
    path: str  # "usecases[ocr]"


@dataclass
class Assessment:
    records: dict[str, dict[str, Any]]
    entities: dict[str, list[Entity]]
    data: dict[str, Any]  # the validated data, for the canonical hash
    name: str = "<assessment>"
    spans: dict[str, Span] = field(default_factory=dict)


# ------------------------------------------------------------------ reading


class _Loader(yaml.SafeLoader):
    """Safe YAML, with numbers kept exact."""


def _decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    text = node.value.replace("_", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return node.value
    if not value.is_finite():
        return node.value
    return value


_Loader.add_constructor("tag:yaml.org,2002:float", _decimal)


def _walk_yaml(node: yaml.Node, loader: _Loader, path: str, marks: dict[str, Span], file: str, budget: list[int], depth: int) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise StratError([Diagnostic("E307", f"the assessment has more than {MAX_YAML_NODES} values (or expands YAML aliases too far)", None)])
    if depth > MAX_DEPTH:
        raise StratError([Diagnostic("E307", f"the assessment is nested more than {MAX_DEPTH} levels deep", None)])
    mark = node.start_mark
    marks[path] = Span(file, mark.line + 1, mark.column + 1, node.end_mark.line + 1, node.end_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(loader.construct_object(key_node))
            child = f"{path}.{key}" if path else key
            out[key] = _walk_yaml(value_node, loader, child, marks, file, budget, depth + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _walk_yaml(item, loader, f"{path}[{i}]", marks, file, budget, depth + 1) for i, item in enumerate(node.value)
        ]
    return loader.construct_object(node)


def read_data(path: Path, name: str) -> tuple[Any, dict[str, Span]]:
    """Read YAML or JSON into plain data and the span of every value (YAML only)."""
    try:
        size = path.stat().st_size
    except OSError:
        raise StratError([Diagnostic("E301", f"cannot read assessment '{name}': it does not exist", None)]) from None
    if size > MAX_ASSESSMENT_BYTES:
        raise StratError([Diagnostic("E307", f"assessment '{name}' is {size} bytes, above the limit of {MAX_ASSESSMENT_BYTES}", None)])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise StratError([Diagnostic("E301", f"cannot read assessment '{name}': not a UTF-8 text file", None)]) from None
    return parse_data(text, name, json_format=path.suffix.lower() == ".json")


def parse_data(text: str, name: str, json_format: bool = False) -> tuple[Any, dict[str, Span]]:
    marks: dict[str, Span] = {}
    if json_format:
        try:
            return json.loads(text, parse_float=Decimal), marks
        except (json.JSONDecodeError, RecursionError) as error:
            line = getattr(error, "lineno", 1)
            col = getattr(error, "colno", 1)
            span = Span(name, line, col, line, col + 1)
            raise StratError([Diagnostic("E301", f"the assessment is not valid JSON: {getattr(error, 'msg', error)}", span)]) from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, marks
        return _walk_yaml(node, loader, "", marks, name, [MAX_YAML_NODES], 0), marks
    except ValueError as error:  # e.g. a date that does not exist: 2001-02-30
        raise StratError([Diagnostic("E301", f"the assessment has an impossible value: {error}", Span(name, 1, 1, 1, 2))]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        span = Span(name, mark.line + 1, mark.column + 1, mark.line + 1, mark.column + 2) if mark else None
        problem = getattr(error, "problem", None) or str(error)
        raise StratError([Diagnostic("E301", f"the assessment is not valid YAML: {problem}", span)]) from None
    finally:
        loader.dispose()


# ------------------------------------------------------------------ models


_STRICT = ConfigDict(extra="forbid", arbitrary_types_allowed=False)


def _python_type(type_: Type) -> Any:
    if isinstance(type_, NumberT):
        base = int if type_.integer else Decimal
        constraints: dict[str, Any] = {}
        # whole bounds as int: the JSON Schema then shows numbers, not strings
        if type_.low is not None:
            constraints["ge"] = int(type_.low) if type_.low == type_.low.to_integral_value() else type_.low
        if type_.high is not None:
            constraints["le"] = int(type_.high) if type_.high == type_.high.to_integral_value() else type_.high
        if not type_.integer:
            constraints["allow_inf_nan"] = False
        return Annotated[base, Field(**constraints)]
    if isinstance(type_, BoolT):
        return bool
    if isinstance(type_, TextT):
        return Annotated[str, Field(max_length=MAX_TEXT)]
    if isinstance(type_, DateT):
        return date
    if isinstance(type_, EnumT):
        return Literal[type_.values]  # type: ignore[valid-type]
    if isinstance(type_, ListT):
        return Annotated[list[_python_type(type_.element)], Field(max_length=1000)]
    return Any


def _field_spec(f: ir.Field) -> tuple[Any, Any]:
    description = None
    if f.meta.help is not None:
        description = f.meta.help.get("en")
    title = f.meta.label.get("en") if f.meta.label else None
    kind = _python_type(f.type)
    if f.required:
        return (kind, Field(..., title=title, description=description))
    extra = {"default_when_unanswered": str(f.default).lower() if isinstance(f.default, bool) else str(f.default)} if f.default is not None else None
    return (Optional[kind], Field(None, title=title, description=description, json_schema_extra=extra))


def _record_model(item: ir.Input, with_id: bool) -> type[BaseModel]:
    specs: dict[str, Any] = {}
    if with_id:
        specs["id"] = (Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.\-]+$")], Field(..., description="A unique identifier"))
    for f in item.fields.values():
        specs[f.name] = _field_spec(f)
    name = (item.entity or item.name).title().replace("_", "")
    return create_model(name, __config__=_STRICT, **specs)


def build_model(policy: ir.CheckedPolicy) -> type[BaseModel]:
    """The pydantic model of an assessment, built once per checked policy."""
    model = policy.caches.get("assessment_model")
    if model is None:
        model = policy.caches["assessment_model"] = _build_model(policy)
    return model


def _build_model(policy: ir.CheckedPolicy) -> type[BaseModel]:
    """The pydantic model of an assessment, built from the policy's input declarations."""
    specs: dict[str, Any] = {"about": (Optional[dict[str, Any]], Field(None, description="Free notes about the assessment; not read by rules"))}
    for item in policy.inputs.values():
        description = item.meta.help.get("en") if item.meta.help else None
        if item.kind == "record":
            specs[item.name] = (Optional[_record_model(item, False)], Field(None, description=description))
        elif item.kind == "many":
            specs[item.name] = (
                Annotated[list[_record_model(item, True)], Field(max_length=MAX_ENTITIES)],
                Field(default_factory=list, description=description),
            )
        else:
            member = _record_model(item, False)
            members = {m: (Optional[member], None) for m in item.members}
            group = create_model(item.name.title().replace("_", ""), __config__=_STRICT, **members)
            specs[item.name] = (Optional[group], Field(None, description=description))
    return create_model("Assessment", __config__=_STRICT, **specs)


def json_schema(policy: ir.CheckedPolicy) -> dict[str, Any]:
    schema = build_model(policy).model_json_schema()
    schema["title"] = f"Assessment for {policy.name} {policy.version}"
    # every optional answer may also be the word "unknown", as the loader accepts
    for definition in schema.get("$defs", {}).values():
        for prop in definition.get("properties", {}).values():
            options = prop.get("anyOf")
            if options and {"type": "null"} in options and {"const": "unknown"} not in options:
                options.append({"const": "unknown"})
    return schema


# ------------------------------------------------------------------ validation


def _path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _known_fields(policy: ir.CheckedPolicy, parent: tuple) -> list[str]:
    """The names allowed under `parent` (the location of the mapping that holds a bad key)."""
    if not parent:
        return ["about", *policy.inputs]
    item = policy.inputs.get(str(parent[0]))
    if item is None:
        return []
    if item.kind == "group" and len(parent) == 1:
        return list(item.members)
    return list(item.fields) + (["id"] if item.kind == "many" else [])


def _message(error: dict[str, Any], policy: ir.CheckedPolicy) -> tuple[str, str | None]:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    shown = value if not isinstance(value, (dict, list)) else type(value).__name__
    if kind == "greater_than_equal":
        return f"{shown} is below the minimum {ctx.get('ge')}", None
    if kind == "less_than_equal":
        return f"{shown} is above the maximum {ctx.get('le')}", None
    if kind == "literal_error":
        expected = ctx.get("expected", "")
        options = [o.strip().strip("'") for o in expected.replace(" or ", ",").split(",") if o.strip()]
        return f"'{shown}' is not one of: {', '.join(options)}", did_you_mean(str(value), options)
    if kind == "extra_forbidden":
        key = error["loc"][-1]
        return f"unknown field '{key}'", did_you_mean(str(key), _known_fields(policy, error["loc"][:-1]))
    if kind == "missing":
        return "is required but missing", None
    if value is None and kind not in ("model_type", "dict_type", "model_attributes_type", "list_type"):
        return "is required: it cannot be left unknown", None
    if kind in ("bool_parsing", "bool_type"):
        return f"'{shown}' is not true or false", None
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return f"'{shown}' is not a whole number", None
    if kind.startswith("decimal") or kind in ("float_parsing", "float_type", "finite_number"):
        return f"'{shown}' is not a number", None
    if kind.startswith("date"):
        return f"'{shown}' is not a date (YYYY-MM-DD)", None
    if kind in ("string_type",):
        return f"'{shown}' is not a text", None
    if kind == "string_too_long":
        return f"the text is longer than {ctx.get('max_length')} characters", None
    if kind == "string_pattern_mismatch":
        return f"'{shown}' may only contain letters, digits, '_', '-' and '.'", None
    if kind in ("list_type",):
        return "must be a list", None
    if kind == "too_long":
        return f"has more than {ctx.get('max_length')} items", None
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return "must be a set of fields (a mapping)", None
    return error.get("msg", "is not valid"), None


def _unknown_to_none(data: Any, policy: ir.CheckedPolicy) -> Any:
    """`unknown` (any case) may stand for a missing answer in any non-text field."""

    def clean(record: Any, item: ir.Input) -> Any:
        if not isinstance(record, dict):
            return record
        out = dict(record)
        for name, f in item.fields.items():
            if not isinstance(f.type, TextT) and isinstance(out.get(name), str) and out[name].strip().lower() == "unknown":
                out[name] = None
            elif isinstance(f.type, ListT) and isinstance(out.get(name), str):
                out[name] = [out[name]]  # a single answer to a list question (a CSV cell, a form)
        return out

    if not isinstance(data, dict):
        return data
    data = dict(data)
    for item in policy.inputs.values():
        value = data.get(item.name)
        if item.kind == "record":
            data[item.name] = clean(value, item)
        elif item.kind == "many" and isinstance(value, list):
            data[item.name] = [clean(v, item) for v in value]
        elif item.kind == "group" and isinstance(value, dict):
            data[item.name] = {k: clean(v, item) for k, v in value.items()}
    return data


def validate(policy: ir.CheckedPolicy, data: Any, name: str = "<assessment>", spans: dict[str, Span] | None = None) -> Assessment:
    """Validate plain data against the policy's inputs; raise StratError listing every problem."""
    spans = spans or {}
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise StratError([Diagnostic("E302", "the assessment must be a mapping of inputs (organization:, usecases: …)", Span(name, 1, 1, 1, 2))])
    data = _unknown_to_none(data, policy)
    duplicates = _duplicate_ids(policy, data, name, spans)
    model = build_model(policy)
    try:
        validated = model.model_validate(data)
    except ValidationError as error:
        problems = list(duplicates)
        for e in error.errors():
            path = _path(e["loc"])
            message, hint = _message(e, policy)
            span = spans.get(path) or spans.get(_path(e["loc"][:-1])) or Span(name, 0, 0, 0, 0)
            problems.append(Diagnostic("E302", f"{path}: {message}" if path else message, span, hint=hint))
        raise StratError(problems) from None
    if duplicates:
        raise StratError(duplicates)
    plain = validated.model_dump(exclude_none=False)
    return _runtime(policy, plain, name, spans, data)


def _duplicate_ids(policy: ir.CheckedPolicy, data: dict[str, Any], name: str, spans: dict[str, Span]) -> list[Diagnostic]:
    problems = []
    for item in policy.inputs.values():
        rows = data.get(item.name) if item.kind == "many" else None
        if not isinstance(rows, list):
            continue
        seen: dict[str, int] = {}
        for i, row in enumerate(rows):
            ident = row.get("id") if isinstance(row, dict) else None
            if not isinstance(ident, str):
                continue
            if ident in seen:
                span = spans.get(f"{item.name}[{i}].id") or Span(name, 0, 0, 0, 0)
                problems.append(Diagnostic("E306", f"{item.name}[{i}].id: '{ident}' is already the id of {item.name}[{seen[ident]}]", span))
            seen[ident] = i
    return problems


def _runtime(
    policy: ir.CheckedPolicy, plain: dict[str, Any], name: str, spans: dict[str, Span], given: dict[str, Any] | None = None
) -> Assessment:
    records: dict[str, dict[str, Any]] = {}
    entities: dict[str, list[Entity]] = {}
    problems: list[Diagnostic] = []
    given = given or {}

    def answered(path: tuple) -> set[str]:
        """The keys written in the assessment for one record: a default fills only a question
        left out, never one answered `unknown` or null."""
        node: Any = given
        for part in path:
            if isinstance(node, dict):
                node = node.get(part)
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                return set()
        return set(node) if isinstance(node, dict) else set()

    def values(item: ir.Input, raw: dict[str, Any] | None, prefix: str, path: tuple = ()) -> dict[str, Any]:
        raw = raw or {}
        written = answered(path)
        out: dict[str, Any] = {}
        for fname, f in item.fields.items():
            v = raw.get(fname)
            if v is None and f.default is not None and fname not in written:
                v = f.default
            if v is None:
                out[fname] = Unknown(frozenset({f"{prefix}.{fname}"}))
            elif isinstance(f.type, NumberT):
                out[fname] = Decimal(v)
            elif isinstance(f.type, ListT):
                out[fname] = frozenset(v)
            elif isinstance(v, datetime):
                out[fname] = v.date()
            else:
                out[fname] = v
        return out

    for item in policy.inputs.values():
        raw = plain.get(item.name)
        if item.kind == "record":
            records[item.name] = values(item, raw, item.name, (item.name,))
        elif item.kind == "many":
            seen: dict[str, int] = {}
            out = []
            for i, row in enumerate(raw or []):
                ident = row["id"]
                if ident in seen:
                    span = spans.get(f"{item.name}[{i}].id") or Span(name, 0, 0, 0, 0)
                    problems.append(
                        Diagnostic("E306", f"{item.name}[{i}].id: '{ident}' is already the id of {item.name}[{seen[ident]}]", span)
                    )
                seen[ident] = i
                prefix = f"{item.name}[{ident}]"
                out.append(Entity(item.name, i, ident, values(item, row, prefix, (item.name, i)), prefix))
            entities[item.name] = out
        else:
            raw = raw or {}
            entities[item.name] = [
                Entity(item.name, i, member, values(item, raw.get(member), f"{item.name}.{member}", (item.name, member)), f"{item.name}.{member}")
                for i, member in enumerate(item.members)
            ]
    if problems:
        raise StratError(problems)
    return Assessment(records, entities, plain, name, spans)


def load_assessment(policy: ir.CheckedPolicy, path: str | Path, name: str | None = None) -> Assessment:
    path = Path(path)
    shown = name or str(path)
    data, spans = read_data(path, shown)
    return validate(policy, data, shown, spans)
