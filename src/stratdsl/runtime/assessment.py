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
import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Optional

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo, create_model
from pydantic_core import PydanticCustomError
from yaml.constructor import SafeConstructor

from ..language import ir
from ..language.diagnostics import Diagnostic, StratError, did_you_mean
from ..language.messages import N_, Msg
from ..language.source import Span
from ..language.types import MAX_DIGITS, MAX_MAGNITUDE, BoolT, DateT, EnumT, ListT, NumberT, TextT, Type, number_problem
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

    def __post_init__(self) -> None:
        # not a field (equality, hashing and the constructor are unchanged): whether every value
        # is known, so compiled code tests an entity once instead of each field it reads
        object.__setattr__(self, "known", not any(v.__class__ is Unknown for v in self.values.values()))

    known: ClassVar[bool]  # set per instance by __post_init__


@dataclass
class Assessment:
    records: dict[str, dict[str, Any]]
    entities: dict[str, list[Entity]]
    data: dict[str, Any]  # the validated data, for the canonical hash
    name: str = "<assessment>"
    spans: dict[str, Span] = field(default_factory=dict)
    #: The facts a declared `default` filled because the question was left out, path → value:
    #: answers the company did not give, shown as assumed wherever a decision rests on them.
    assumed: dict[str, Any] = field(default_factory=dict)

    #: Not a field: input name → the values of its entity, for each input that has exactly one
    #: entity whose values are all known (a call per record): compiled outcome code reads it in
    #: one step. Set at construction; the entities are not changed afterwards.
    single: ClassVar[dict[str, dict[str, Any]]]

    def __post_init__(self) -> None:
        self.single = {name: rows[0].values for name, rows in self.entities.items() if len(rows) == 1 and rows[0].known}

    def without_assumptions(self) -> Assessment:
        """The same facts with every defaulted answer unknown again: what the decisions would be
        had the company answered nothing beyond what it wrote."""
        if not self.assumed:
            return self

        def strip(values: dict[str, Any], prefix: str) -> dict[str, Any]:
            return {k: Unknown(frozenset({f"{prefix}.{k}"})) if f"{prefix}.{k}" in self.assumed else v for k, v in values.items()}

        records = {name: strip(values, name) for name, values in self.records.items()}
        entities = {
            name: [Entity(e.input_name, e.index, e.id, strip(e.values, e.path), e.path) for e in rows] for name, rows in self.entities.items()
        }
        return Assessment(records, entities, self.data, self.name, self.spans, {})


# ------------------------------------------------------------------ reading


class _Loader(yaml.SafeLoader):
    """Safe YAML, with numbers kept exact (pure Python; also used by policytest)."""


def _decimal(loader: Any, node: yaml.ScalarNode) -> Any:
    text = node.value.replace("_", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return node.value
    if not value.is_finite():
        return node.value
    return value


_Loader.add_constructor("tag:yaml.org,2002:float", _decimal)

#: With libyaml (C) scanning, a YAML assessment is read about 6 times faster than with PyYAML's
#: pure-Python scanner (H1). The composing below (events → data) is ours for both, so tags,
#: limits, spans and errors do not depend on which one is installed. Set False to use the pure one.
_FAST = getattr(yaml, "CSafeLoader", None) if getattr(yaml, "__with_libyaml__", False) else None
USE_LIBYAML = _FAST is not None

_CORE = "tag:yaml.org,2002:"
#: The only tags a value may have (explicit or resolved) and how each is read. Collections
#: are built here, never by a constructor; no other tag is ever constructed (B1).
_SCALARS: dict[str, Any] = {
    _CORE + "null": SafeConstructor.construct_yaml_null,
    _CORE + "bool": SafeConstructor.construct_yaml_bool,
    _CORE + "int": SafeConstructor.construct_yaml_int,
    _CORE + "float": _decimal,
    _CORE + "str": SafeConstructor.construct_yaml_str,
    _CORE + "timestamp": SafeConstructor.construct_yaml_timestamp,
}
_KINDS = {
    "null": Msg(N_("nothing")),
    "bool": Msg(N_("true or false")),
    "int": Msg(N_("a whole number")),
    "float": Msg(N_("a number")),
    "str": Msg(N_("text")),
    "timestamp": Msg(N_("a date")),
}
#: Aliases may reach at most this many times the values written, plus the allowance
#: (the "excessive aliasing" rule of other YAML libraries; B6).
MAX_ALIAS_RATIO = 10
ALIAS_ALLOWANCE = 100_000
#: The characters YAML allows in a document (YAML 1.1, as PyYAML and libyaml check them).
_NOT_PRINTABLE = re.compile("[^\\x09\\x0A\\x0D\\x20-\\x7E\\x85\\xA0-\\uD7FF\\uE000-\\uFFFD\\U00010000-\\U0010FFFF]")


_TOO_DEEP = N_("the assessment is nested more than {n} levels deep")
_TWICE = N_("the key '{key}' is written twice {where}: keep one")
#: The messages of the custom pydantic errors (_given_number), said again as Msg by _message.
_NOT_BOOL = N_("a number is expected, not {given}")
_TEXT_NOT_NUMBER = N_("'{shown}' is text, not a number")
_REFUSED = N_("{shown} is refused: {problem}")
#: A problem of one value: its path first.
_AT_PATH = N_("{path}: {message}")


def _refuse(code: str, message: Msg, span: Span | None = None) -> StratError:
    return StratError([Diagnostic(code, message, span)])


def _span(file: str, start: Any, end: Any) -> Span:
    return Span(file, start.line + 1, start.column + 1, end.line + 1, end.column + 1)


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag


def _at(path: str) -> Msg:
    return Msg(N_("at '{path}'"), path=path) if path else Msg(N_("at the top level"))


def _in(path: str) -> Msg:
    return Msg(N_("in '{path}'"), path=path) if path else Msg(N_("in the top level"))


def _text_ok(text: str) -> bool:
    """False for a string holding lone surrogates (`\\ud800`), which cannot be written as UTF-8 (B5)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _bad_text(path: str, span: Span | None = None, key: bool = False) -> StratError:
    if key:
        message = Msg(N_("a key {where} holds half of a character (a lone surrogate such as \\ud83d): write the character itself"), where=_in(path))
    else:
        message = Msg(N_("the text {where} holds half of a character (a lone surrogate such as \\ud83d): write the character itself"), where=_at(path))
    return _refuse("E301", message, span)


@dataclass
class _Open:
    """A mapping or sequence being composed."""

    value: dict[str, Any] | list[Any]
    path: str
    anchor: str | None
    start: Any  # the mark of its first character
    key: str | None = None  # a mapping's key waiting for its value
    awaiting_key: bool = True
    size: int = 1  # values in it, aliases expanded
    height: int = 0  # levels below it


def _too_many(expanded: int) -> StratError:
    if expanded:
        return _refuse("E307", Msg(N_("the assessment has more than {n} values once its YAML aliases are expanded"), n=MAX_YAML_NODES))
    return _refuse("E307", Msg(N_("the assessment has more than {n} values"), n=MAX_YAML_NODES))


def _compose(loader: Any, file: str) -> tuple[Any, dict[str, Span]]:
    """Plain data and the span of every value, built from YAML events with an explicit stack (no
    recursion, B3). An alias counts the size of its anchor's data and records one span; the data is
    copied only at the end, once the budgets are known to hold (billion laughs costs nothing, B6)."""
    marks: dict[str, Span] = {}
    anchors: dict[str, tuple[Any, int, int] | None] = {}  # name → (value, size, height); None while open
    stack: list[_Open] = []
    own = expanded = 0  # values written, values reached through aliases
    resolved: dict[str, str] = {}  # plain scalar → its tag
    shared: list[tuple[Any, Any]] = []  # (container, key) holding an alias's data, copied once all is counted
    root: Any = None
    loader.get_event()  # stream start
    if loader.check_event(yaml.StreamEndEvent):
        return {}, marks
    loader.get_event()  # document start
    while True:
        event = loader.get_event()
        if isinstance(event, yaml.DocumentEndEvent):
            break
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            done = stack.pop()
            marks[done.path] = _span(file, done.start, event.end_mark)
            if done.anchor is not None:
                anchors[done.anchor] = (done.value, done.size, done.height)
            value, size, height, is_key = done.value, done.size, done.height, False
        else:
            top = stack[-1] if stack else None
            is_key = top is not None and top.awaiting_key and isinstance(top.value, dict)
            if top is None:
                path = ""
            elif is_key:
                path = top.path  # a key has no span of its own; messages name its mapping
            elif isinstance(top.value, list):
                path = f"{top.path}[{len(top.value)}]"
            else:
                path = f"{top.path}.{top.key}" if top.path else str(top.key)
            span = _span(file, event.start_mark, event.end_mark)
            if isinstance(event, yaml.AliasEvent):
                if event.anchor not in anchors:
                    raise _refuse("E301", Msg(N_("the assessment is not valid YAML: the alias *{anchor} names no anchor"), anchor=event.anchor), span)
                target = anchors[event.anchor]
                if target is None:
                    raise _refuse("E307", Msg(N_("the YAML alias *{anchor} is used inside its own anchor: it would never end"), anchor=event.anchor), span)
                value, size, height = target
                if len(stack) + height > MAX_DEPTH:
                    raise _refuse("E307", Msg(_TOO_DEEP, n=MAX_DEPTH))
                if is_key and isinstance(value, (dict, list)):
                    raise _refuse("E301", Msg(N_("a key must be a single word or number, not a list or a set of fields")), span)
                if not is_key:
                    expanded += size
                    if own + expanded > MAX_YAML_NODES:
                        raise _too_many(expanded)
                    marks[path] = span  # none below: the data under an alias has no place of its own
            else:
                if len(stack) > MAX_DEPTH:
                    raise _refuse("E307", Msg(_TOO_DEEP, n=MAX_DEPTH))
                anchor = event.anchor
                if anchor is not None and anchor in anchors:
                    raise _refuse("E301", Msg(N_("the assessment is not valid YAML: the anchor &{anchor} is defined twice"), anchor=anchor), span)
                if not is_key:
                    own += 1
                    if own + expanded > MAX_YAML_NODES:
                        raise _too_many(expanded)
                if not isinstance(event, yaml.ScalarEvent):
                    mapping = isinstance(event, yaml.MappingStartEvent)
                    if event.tag not in (None, "!", _CORE + ("map" if mapping else "seq")):
                        raise _refuse("E301", Msg(N_("the YAML tag {tag} is not allowed: remove it"), tag=_short_tag(event.tag)), span)
                    if is_key:
                        raise _refuse("E301", Msg(N_("a key must be a single word or number, not a list or a set of fields")), span)
                    if anchor is not None:
                        anchors[anchor] = None
                    stack.append(_Open({} if mapping else [], path, anchor, event.start_mark))
                    marks[path] = span  # its end is known at its end event; set now to keep the order of paths
                    continue
                value, size, height = _scalar(loader, event, path, span, is_key, resolved), 1, 0
                if anchor is not None:
                    anchors[anchor] = (value, 1, 0)
                if not is_key:
                    marks[path] = span
        # a complete value: into its parent
        top = stack[-1] if stack else None
        if top is None:
            root = value
        elif isinstance(top.value, list):
            if isinstance(event, yaml.AliasEvent) and isinstance(value, (dict, list)):
                shared.append((top.value, len(top.value)))
            top.value.append(value)
        elif is_key:
            key = str(value)
            if key in top.value:
                raise _refuse("E301", Msg(_TWICE, key=key, where=_in(top.path)), _span(file, event.start_mark, event.end_mark))
            top.key, top.awaiting_key = key, False
            continue
        else:
            if isinstance(event, yaml.AliasEvent) and isinstance(value, (dict, list)):
                shared.append((top.value, top.key))
            top.value[top.key] = value
            top.awaiting_key = True
        if top is not None:
            top.size += size
            top.height = max(top.height, height + 1)
    if not loader.check_event(yaml.StreamEndEvent):
        event = loader.get_event()
        raise _refuse("E301", Msg(N_("the assessment holds more than one YAML document (a second '---'): keep one")), _span(file, event.start_mark, event.end_mark))
    if expanded > MAX_ALIAS_RATIO * own + ALIAS_ALLOWANCE:
        raise _refuse(
            "E307",
            Msg(
                N_(
                    "the assessment expands YAML aliases too far: {expanded} values reached through aliases for {own} written "
                    "(at most {ratio} times as many, plus {allowance})"
                ),
                expanded=expanded,
                own=own,
                ratio=MAX_ALIAS_RATIO,
                allowance=ALIAS_ALLOWANCE,
            ),
        )
    for container, key in shared:  # within the budget now: each place gets data of its own, as if written out
        container[key] = _copy(container[key])
    return root, marks


def _copy(value: Any) -> Any:
    """A copy of nested dicts and lists, without recursion and without keeping anything shared."""
    if not isinstance(value, (dict, list)):
        return value
    root: Any = {} if isinstance(value, dict) else []
    stack = [(value, root)]
    while stack:
        source, target = stack.pop()
        for key, item in source.items() if isinstance(source, dict) else enumerate(source):
            if isinstance(item, (dict, list)):
                fresh: Any = {} if isinstance(item, dict) else []
                stack.append((item, fresh))
                item = fresh
            if isinstance(target, dict):
                target[key] = item
            else:
                target.append(item)
    return root


def _scalar(loader: Any, event: Any, path: str, span: Span, is_key: bool, resolved: dict[str, str]) -> Any:
    tag = event.tag
    if tag is None or tag == "!":
        tag = resolved.get(event.value) if event.implicit[0] else None
        if tag is None:
            tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
            if event.implicit[0] and len(resolved) < 10_000:  # the same words recur: true, yes, enum values
                resolved[event.value] = tag
    if tag == _CORE + "str":
        value = event.value
        if event.style == '"' and not _text_ok(value):  # only an escape can make a lone surrogate
            raise _bad_text(path, span, is_key)
        return value
    construct = _SCALARS.get(tag)
    if construct is None:
        if tag == _CORE + "merge":
            raise _refuse("E301", Msg(N_("YAML merge keys (<<) are not supported: write the fields out")), span)
        raise _refuse("E301", Msg(N_("the YAML tag {tag} is not allowed: remove it"), tag=_short_tag(tag)), span)
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    try:
        return construct(loader, node)
    except (ValueError, KeyError, IndexError, AttributeError, TypeError, OverflowError) as error:
        shown = event.value if len(event.value) <= 40 else event.value[:40] + "…"
        kind = _KINDS[tag[len(_CORE) :]]
        where = _at(path)
        if not isinstance(error, ValueError):
            message = Msg(N_("the value '{shown}' {where} cannot be read as {kind}"), shown=shown, where=where, kind=kind)
        elif "digits" in str(error):  # more digits than int() converts
            message = Msg(N_("the value '{shown}' {where} cannot be read as {kind} (it has too many digits)"), shown=shown, where=where, kind=kind)
        else:  # an impossible date
            message = Msg(N_("the value '{shown}' {where} cannot be read as {kind} ({error})"), shown=shown, where=where, kind=kind, error=error)
        raise _refuse("E301", message, span) from None


def read_data(path: Path, name: str) -> tuple[Any, dict[str, Span]]:
    """Read YAML or JSON into plain data and the span of every value (YAML only)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except (FileNotFoundError, NotADirectoryError, ValueError):
        raise _refuse("E301", Msg(N_("cannot read assessment '{name}': it does not exist"), name=name)) from None
    except OSError as error:
        raise _refuse("E301", Msg(N_("cannot read assessment '{name}': {reason}"), name=name, reason=error.strerror or error)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # a FIFO would block, /dev/zero never end (B14)
            raise _refuse("E301", Msg(N_("cannot read assessment '{name}': it is not a regular file"), name=name))
        if info.st_size > MAX_ASSESSMENT_BYTES:
            raise _refuse("E307", Msg(N_("assessment '{name}' is {size} bytes, above the limit of {limit}"), name=name, size=info.st_size, limit=MAX_ASSESSMENT_BYTES))
        chunks, total = [], 0
        while chunk := os.read(fd, min(1 << 20, MAX_ASSESSMENT_BYTES + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > MAX_ASSESSMENT_BYTES:  # it grew after fstat
                raise _refuse("E307", Msg(N_("assessment '{name}' is more than {limit} bytes, above the limit"), name=name, limit=MAX_ASSESSMENT_BYTES))
    except OSError as error:
        raise _refuse("E301", Msg(N_("cannot read assessment '{name}': {reason}"), name=name, reason=error.strerror or error)) from None
    finally:
        os.close(fd)
    try:
        text = b"".join(chunks).decode("utf-8-sig")  # without the byte-order mark of Windows editors
    except UnicodeDecodeError:
        raise _refuse("E301", Msg(N_("cannot read assessment '{name}': not a UTF-8 text file"), name=name)) from None
    return parse_data(text, name, json_format=path.suffix.lower() == ".json")


def parse_data(text: str, name: str, json_format: bool = False, libyaml: bool | None = None) -> tuple[Any, dict[str, Span]]:
    """Plain data and spans from YAML or JSON text; `libyaml` picks the scanner (default: the fast one when installed)."""
    if json_format:
        return _parse_json(text, name), {}
    bad = _NOT_PRINTABLE.search(text)
    if bad:  # a control character pasted from a spreadsheet; checked here for a clear message (B2)
        line = text.count("\n", 0, bad.start()) + 1
        column = bad.start() - text.rfind("\n", 0, bad.start())
        code = f"U+{ord(bad.group()):04X}"
        if "\ud800" <= bad.group() <= "\udfff":
            message = Msg(N_("the assessment holds half of a character (a lone surrogate) ({code}) that YAML does not allow: remove it"), code=code)
        else:
            message = Msg(N_("the assessment holds a control character ({code}) that YAML does not allow: remove it"), code=code)
        raise _refuse("E301", message, Span(name, line, column, line, column + 1))
    fast = _FAST if (USE_LIBYAML if libyaml is None else libyaml) else None
    loader = None
    try:
        loader = (fast or _Loader)(text)  # inside the try: the reader may refuse the text (B2)
        return _compose(loader, name)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        span = Span(name, mark.line + 1, mark.column + 1, mark.line + 1, mark.column + 2) if mark else None
        problem = getattr(error, "problem", None) or str(error)
        if "maximum nesting depth" in problem:  # libyaml >= 0.2.5 (PyYAML 6.0.4 wheels) stops deep input itself
            raise _refuse("E307", Msg(_TOO_DEEP, n=MAX_DEPTH), span) from None
        raise _refuse("E301", Msg(N_("the assessment is not valid YAML: {problem}"), problem=problem), span) from None
    finally:
        if loader is not None:
            loader.dispose()


# ------------------------------------------------------------------ JSON


class _Repeated(dict):
    """A JSON object in which a key was written twice (refused with its path by _check_plain)."""

    repeated = ""


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) == len(pairs):
        return out
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            break
        seen.add(key)
    repeated = _Repeated(out)
    repeated.repeated = key
    return repeated


def _parse_json(text: str, name: str) -> Any:
    try:
        data = json.loads(text.removeprefix("\ufeff"), parse_float=Decimal, object_pairs_hook=_json_object)
    except json.JSONDecodeError as error:
        span = Span(name, error.lineno, error.colno, error.lineno, error.colno + 1)
        raise _refuse("E301", Msg(N_("the assessment is not valid JSON: {problem}"), problem=error.msg), span) from None
    except ValueError:  # int() refuses more than 4,300 digits
        raise _refuse("E301", Msg(N_("the assessment holds a whole number with too many digits to read"))) from None
    except RecursionError:
        raise _refuse("E307", Msg(_TOO_DEEP, n=MAX_DEPTH)) from None
    _check_plain(data)
    return data


def _check_plain(data: Any, top: str = "") -> None:
    """Depth, size, repeated keys and text of plain data (JSON, or data given to `validate`),
    with an explicit stack: deep data would crash canonical JSON (B4), lone surrogates the hash (B5).
    Paths are only worked out to name a problem (the walk is on every value)."""
    if isinstance(data, str) and not _text_ok(data):
        raise _bad_text(top)
    count = 1
    stack: list[tuple[Any, int]] = [(data, 0)] if isinstance(data, (dict, list)) and data else []
    while stack:
        value, depth = stack.pop()
        if depth >= MAX_DEPTH:
            raise _refuse("E307", Msg(_TOO_DEEP, n=MAX_DEPTH))
        count += len(value)
        if count > MAX_YAML_NODES:
            raise _too_many(0)
        if isinstance(value, dict):
            if isinstance(value, _Repeated):
                raise _refuse("E301", Msg(_TWICE, key=value.repeated, where=_in(_path_of(data, top, _same(value)))))
            for key in value:
                if not (isinstance(key, str) and key.isascii()) and not _text_ok(str(key)):
                    raise _bad_text(_path_of(data, top, _same(value)), key=True)
            value = value.values()
        for item in value:
            if isinstance(item, str):
                if not item.isascii() and not _text_ok(item):
                    raise _bad_text(_path_of(data, top, lambda v: isinstance(v, str) and not _text_ok(v)))
            elif isinstance(item, (dict, list)) and item:
                stack.append((item, depth + 1))


def _check_free_numbers(about: Any, name: str, spans: dict[str, Span]) -> None:
    """The free notes (`about`) have no declared types, but their numbers are written into
    records and the audit log like any other: the same bounds (types.number_problem), E302."""
    problems = []
    stack: list[tuple[Any, str]] = [(about, "about")]
    while stack and len(problems) < 20:
        value, path = stack.pop()
        if isinstance(value, dict):
            stack.extend((v, f"{path}.{k}") for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(value))
        elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            number = Decimal(repr(value)) if isinstance(value, float) else value
            problem = number_problem(number)
            if problem is not None:
                text = str(value)
                shown = text if len(text) <= 40 else text[:20] + "…" + text[-12:]
                problems.append(Diagnostic("E302", Msg(_AT_PATH, path=path, message=Msg(_REFUSED, shown=shown, problem=problem)), spans.get(path) or Span(name, 0, 0, 0, 0)))
    if problems:
        raise StratError(sorted(problems, key=lambda d: d.message))


def _same(target: Any) -> Any:
    return lambda v: v is target


def _path_of(data: Any, top: str, found: Any) -> str:
    """The path of the first value for which `found` is true (only called to name a problem)."""
    stack: list[tuple[Any, str]] = [(data, top)]
    while stack:
        value, path = stack.pop()
        if found(value):
            return path
        if isinstance(value, dict):
            stack.extend((v, f"{path}.{k}" if path else str(k)) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((v, f"{path}[{i}]") for i, v in reversed(list(enumerate(value))))
    return top


# ------------------------------------------------------------------ models


_STRICT = ConfigDict(extra="forbid", arbitrary_types_allowed=False)


def _given_number(value: Any, info: ValidationInfo) -> Any:
    """A number field takes numbers only, within the bounds of types.number_problem.

    Text is refused even when it reads as a number ("5", "1e-999999"): the schema says
    `number`, and every reader that gets text from people — the web form, CSV cells,
    `--param` — converts it explicitly from the policy's declarations before this. The one
    other explicit path: data read back from a decision record (`validate(…,
    decimals_as_text=True)`), where canonical JSON writes every decimal as text."""
    if value is None or isinstance(value, Unknown):
        return value
    if isinstance(value, bool):
        raise PydanticCustomError("number_bool", _NOT_BOOL, {"given": str(value).lower()})
    if isinstance(value, str) and info.context and info.context.get("decimals_as_text") and _CANONICAL_DECIMAL.fullmatch(value):
        value = Decimal(value)
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise PydanticCustomError("number_text", _TEXT_NOT_NUMBER, {"shown": shown})
    if isinstance(value, float):
        value = Decimal(repr(value))  # a caller's float: the number it was written as
    if isinstance(value, (int, Decimal)):
        problem = number_problem(value)
        if problem is not None:
            text = str(value)
            shown = text if len(text) <= 40 else text[:20] + "…" + text[-12:]
            raise PydanticCustomError("number_bounds", _REFUSED, {"shown": shown, "problem": problem})
    return value


def _nfc(text: str) -> str:
    """Texts are compared in Unicode NFC, as the policy's string literals are (lower._unquote):
    "Réunion" with a combining accent equals "Réunion" with a precomposed é."""
    return unicodedata.normalize("NFC", text)


#: A decimal as values.canonical_json writes it (no exponent, no spaces, no "+").
_CANONICAL_DECIMAL = re.compile(r"-?\d{1,40}(\.\d{1,40})?")


def _python_type(type_: Type) -> Any:
    if isinstance(type_, NumberT):
        base = int if type_.integer else Decimal
        constraints: dict[str, Any] = {}
        # whole bounds as int: the JSON Schema then shows numbers, not strings
        if type_.low is not None:
            constraints["ge"] = int(type_.low) if type_.low == type_.low.to_integral_value() else type_.low
        if type_.high is not None:
            constraints["le"] = int(type_.high) if type_.high == type_.high.to_integral_value() else type_.high
        # NaN and infinities are refused by _given_number (pydantic's own allow_inf_nan check
        # would go through float and call 9e999999 infinite)
        return Annotated[base, BeforeValidator(_given_number), Field(**constraints)]
    if isinstance(type_, BoolT):
        return bool
    if isinstance(type_, TextT):
        return Annotated[str, AfterValidator(_nfc), Field(max_length=MAX_TEXT)]
    if isinstance(type_, DateT):
        return date
    if isinstance(type_, EnumT):
        return Literal[type_.values]  # type: ignore[valid-type]
    if isinstance(type_, ListT):
        return Annotated[list[_python_type(type_.element)], Field(max_length=1000)]
    return Any


def _field_spec(f: ir.Field) -> tuple[str, Any, dict[str, Any]]:
    description = None
    if f.meta.help is not None:
        description = f.meta.help.get("en")
    title = f.meta.label.get("en") if f.meta.label else None
    kind = _python_type(f.type)
    if f.required:
        return (f.name, kind, {"default": ..., "title": title, "description": description})
    extra = {"default_when_unanswered": str(f.default).lower() if isinstance(f.default, bool) else str(f.default)} if f.default is not None else None
    return (f.name, Optional[kind], {"default": None, "title": title, "description": description, "json_schema_extra": extra})


def _model(title: str, fields: list[tuple[str, Any, dict[str, Any]]]) -> type[BaseModel]:
    """A model whose attributes are f0, f1 … and whose aliases are the policy's names: a name such
    as `_x`, `__code__`, `model_dump` or `json` would clash with Python or pydantic (B19).
    Data is validated and dumped by alias, and the JSON Schema shows the aliases."""
    specs = {f"f{i}": (kind, Field(alias=name, **info)) for i, (name, kind, info) in enumerate(fields)}
    return create_model(title, __config__=_STRICT, **specs)


def _record_model(item: ir.Input, with_id: bool) -> type[BaseModel]:
    fields: list[tuple[str, Any, dict[str, Any]]] = []
    if with_id:
        ident = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.\-]+$")]
        fields.append(("id", ident, {"default": ..., "description": "A unique identifier"}))
    fields += [_field_spec(f) for f in item.fields.values()]
    return _model((item.entity or item.name).title().replace("_", ""), fields)


def build_model(policy: ir.CheckedPolicy) -> type[BaseModel]:
    """The pydantic model of an assessment, built once per checked policy."""
    model = policy.caches.get("assessment_model")
    if model is None:
        model = policy.caches["assessment_model"] = _build_model(policy)
    return model


def _build_model(policy: ir.CheckedPolicy) -> type[BaseModel]:
    """The pydantic model of an assessment, built from the policy's input declarations."""
    fields: list[tuple[str, Any, dict[str, Any]]] = [
        ("about", Optional[dict[str, Any]], {"default": None, "description": "Free notes about the assessment; not read by rules"})
    ]
    for item in policy.inputs.values():
        description = item.meta.help.get("en") if item.meta.help else None
        if item.kind == "record":
            fields.append((item.name, Optional[_record_model(item, False)], {"default": None, "description": description}))
        elif item.kind == "many":
            rows = Annotated[list[_record_model(item, True)], Field(max_length=MAX_ENTITIES)]
            fields.append((item.name, rows, {"default_factory": list, "description": description}))
        else:
            member = Optional[_record_model(item, False)]
            group = _model(item.name.title().replace("_", ""), [(m, member, {"default": None}) for m in item.members])
            fields.append((item.name, Optional[group], {"default": None, "description": description}))
    return _model("Assessment", fields)


def _numbers_only(schema: Any) -> None:
    """pydantic lets a Decimal be given as text (`anyOf: number, string`); ours may not be
    (see _given_number), so the schema says number only."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            options = node.get("anyOf")
            if isinstance(options, list) and any(isinstance(o, dict) and o.get("type") == "number" for o in options):
                node["anyOf"] = [o for o in options if o != {"type": "string"}]
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def json_schema(policy: ir.CheckedPolicy) -> dict[str, Any]:
    schema = build_model(policy).model_json_schema()
    schema["title"] = f"Assessment for {policy.name} {policy.version}"
    _numbers_only(schema)
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
        return Msg(N_("{shown} is below the minimum {minimum}"), shown=shown, minimum=ctx.get("ge")), None
    if kind == "less_than_equal":
        return Msg(N_("{shown} is above the maximum {maximum}"), shown=shown, maximum=ctx.get("le")), None
    if kind == "literal_error":
        expected = ctx.get("expected", "")
        options = [o.strip().strip("'") for o in expected.replace(" or ", ",").split(",") if o.strip()]
        return Msg(N_("'{shown}' is not one of: {options}"), shown=shown, options=", ".join(options)), did_you_mean(str(value), options)
    if kind == "extra_forbidden":
        key = error["loc"][-1]
        return Msg(N_("unknown field '{key}'"), key=key), did_you_mean(str(key), _known_fields(policy, error["loc"][:-1]))
    if kind == "missing":
        return Msg(N_("is required but missing")), None
    if value is None and kind not in ("model_type", "dict_type", "model_attributes_type", "list_type"):
        return Msg(N_("is required: it cannot be left unknown")), None
    bounds = Msg(
        N_("numbers have at most {digits} significant digits, from 10^-{magnitude} to 10^{magnitude}"), digits=MAX_DIGITS, magnitude=MAX_MAGNITUDE
    )
    if kind == "number_text":
        return Msg(_TEXT_NOT_NUMBER, shown=ctx.get("shown")), Msg(N_("write the number without quotes; {bounds}"), bounds=bounds)
    if kind == "number_bool":
        return Msg(_NOT_BOOL, given=ctx.get("given")), bounds
    if kind == "number_bounds":
        return Msg(_REFUSED, shown=ctx.get("shown"), problem=ctx.get("problem")), bounds
    if kind in ("bool_parsing", "bool_type"):
        return Msg(N_("'{shown}' is not true or false"), shown=shown), None
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return Msg(N_("'{shown}' is not a whole number"), shown=shown), None
    if kind.startswith("decimal") or kind in ("float_parsing", "float_type", "finite_number"):
        return Msg(N_("'{shown}' is not a number"), shown=shown), None
    if kind.startswith("date"):
        return Msg(N_("'{shown}' is not a date (YYYY-MM-DD)"), shown=shown), None
    if kind in ("string_type",):
        return Msg(N_("'{shown}' is not a text"), shown=shown), None
    if kind == "string_too_long":
        return Msg(N_("the text is longer than {n} characters"), n=ctx.get("max_length")), None
    if kind == "string_pattern_mismatch":
        return Msg(N_("'{shown}' may only contain letters, digits, '_', '-' and '.'"), shown=shown), None
    if kind in ("list_type",):
        return Msg(N_("must be a list")), None
    if kind == "too_long":
        return Msg(N_("has more than {n} items"), n=ctx.get("max_length")), None
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return Msg(N_("must be a set of fields (a mapping)")), None
    return error.get("msg", "is not valid"), None  # pydantic's own words: not ours to translate


def _unknown_to_none(data: Any, policy: ir.CheckedPolicy) -> Any:
    """`unknown` (any case) may stand for a missing answer in any non-text field."""

    def clean(record: Any, item: ir.Input) -> Any:
        if not isinstance(record, dict):
            return record
        out = dict(record)
        fields = item.fields
        for name, value in record.items():  # the answers given, not every declared field
            if not isinstance(value, str) or (f := fields.get(name)) is None:
                continue
            if not isinstance(f.type, TextT) and value.strip().lower() == "unknown":
                out[name] = None
            elif isinstance(f.type, ListT):
                out[name] = [value]  # a single answer to a list question (a CSV cell, a form)
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


def validate(
    policy: ir.CheckedPolicy, data: Any, name: str = "<assessment>", spans: dict[str, Span] | None = None, decimals_as_text: bool = False
) -> Assessment:
    """Validate plain data against the policy's inputs; raise StratError listing every problem.

    `decimals_as_text`: the data comes from a decision record (canonical JSON), where a number
    field holds its decimal as text ("2.5"); anywhere else a number given as text is E302."""
    spans = spans or {}
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise StratError([Diagnostic("E302", Msg(N_("the assessment must be a mapping of inputs (organization:, usecases: …)")), Span(name, 1, 1, 1, 2))])
    _check_plain(data)  # data that did not come through parse_data: the service, policy tests, callers
    _check_free_numbers(data.get("about"), name, spans)
    retired = _retired_answers(policy, data, name, spans)
    if retired:
        raise StratError(retired)
    data = _unknown_to_none(data, policy)
    duplicates = _duplicate_ids(policy, data, name, spans)
    model = build_model(policy)
    try:
        validated = model.model_validate(data, context={"decimals_as_text": decimals_as_text})
    except ValidationError as error:
        problems = list(duplicates)
        for e in error.errors():
            path = _path(e["loc"])
            message, hint = _message(e, policy)
            span = spans.get(path) or spans.get(_path(e["loc"][:-1])) or Span(name, 0, 0, 0, 0)
            problems.append(Diagnostic("E302", Msg(_AT_PATH, path=path, message=message) if path else message, span, hint=hint))
        raise StratError(problems) from None
    if duplicates:
        raise StratError(duplicates)
    plain = validated.model_dump(exclude_none=False, by_alias=True)
    return _runtime(policy, plain, name, spans, data)


def _retired_answers(policy: ir.CheckedPolicy, data: dict[str, Any], name: str, spans: dict[str, Span]) -> list[Diagnostic]:
    """E320: an assessment written for an older version of the questionnaire still answers a
    question the policy retired (`retired NAME "hint" { value "…" }`). Each answer is reported with
    what to answer instead — per old value when the policy says — so that the file can be
    migrated by hand; nothing is guessed."""
    problems = []
    for item in policy.inputs.values():
        if not item.retired:
            continue
        raw = data.get(item.name)
        if item.kind == "record":
            rows = [(item.name, raw)]
        elif item.kind == "many":
            rows = [(f"{item.name}[{i}]", row) for i, row in enumerate(raw)] if isinstance(raw, list) else []
        else:
            rows = [(f"{item.name}.{m}", v) for m, v in raw.items()] if isinstance(raw, dict) else []
        for where, row in rows:
            if not isinstance(row, dict):
                continue
            for field_name, (hint, per_value) in item.retired.items():
                if field_name not in row:
                    continue
                answer = row[field_name]
                values = answer if isinstance(answer, list) else [answer]
                instead = [f"'{v}' → {per_value[v]}" for v in values if isinstance(v, str) and v in per_value]
                shown = f"{item.name}[{row.get('id')}]" if item.kind == "many" and isinstance(row.get("id"), str) else where
                span = spans.get(f"{where}.{field_name}") or spans.get(where) or Span(name, 0, 0, 0, 0)
                problems.append(
                    Diagnostic(
                        "E320",
                        Msg(N_("{path}: this question is no longer asked — {hint}"), path=f"{shown}.{field_name}", hint=hint),
                        span,
                        hint=Msg(N_("answer instead: {answers}"), answers="; ".join(instead))
                        if instead
                        else Msg(N_("remove the answer once the new questions are answered")),
                    )
                )
    return problems


def _same_id(name: str, index: int, ident: str, first: int) -> Msg:
    return Msg(N_("{path}: '{ident}' is already the id of {other}"), path=f"{name}[{index}].id", ident=ident, other=f"{name}[{first}]")


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
                problems.append(Diagnostic("E306", _same_id(item.name, i, ident, seen[ident]), span))
            seen[ident] = i
    return problems


def _runtime(
    policy: ir.CheckedPolicy, plain: dict[str, Any], name: str, spans: dict[str, Span], given: dict[str, Any] | None = None
) -> Assessment:
    records: dict[str, dict[str, Any]] = {}
    entities: dict[str, list[Entity]] = {}
    problems: list[Diagnostic] = []
    given = given or {}
    assumed: dict[str, Any] = {}

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
                assumed[f"{prefix}.{fname}"] = v
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
                        Diagnostic("E306", _same_id(item.name, i, ident, seen[ident]), span)
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
    return Assessment(records, entities, plain, name, spans, assumed)


def load_assessment(policy: ir.CheckedPolicy, path: str | Path, name: str | None = None) -> Assessment:
    path = Path(path)
    shown = name or str(path)
    data, spans = read_data(path, shown)
    return validate(policy, data, shown, spans)
