"""Caching derived forms of policies: in memory for the process, on disk across processes.

Parsing and lowering the reference methodology costs ~130 ms and Lark's import
~15 ms; a `stratdsl check` or `eval` that reads the same files as the last run
should not pay them. Each entry is keyed by the sha256 of what it was derived
from (the file's text and display name, or all of a policy's sources) and of
the engine that derived it (`fingerprint`: the version, the Python version and
the source of the modules that shape the cached forms), so an edit to a file,
the grammar or the engine misses instead of returning a stale form.

On disk the entries live in the user's cache folder (`STRATDSL_CACHE_DIR`, else
`$XDG_CACHE_HOME/stratdsl`, `~/Library/Caches/stratdsl`, `%LOCALAPPDATA%\\stratdsl`),
one JSON file per key. Writers write a temporary file and rename it over the entry,
so concurrent processes never see half an entry; a reader that finds a damaged,
truncated or foreign entry ignores it and recomputes (and rewrites it). No pickle:
an entry is plain JSON that `decode` turns back into an allow-list of our own
frozen dataclasses (the AST, spans, unknown values) and plain values only, so a
planted file can at worst describe a wrong AST of a file whose text hashes to its
key — and it would have to be written by the user's own account. `--no-cache`
(or `STRATDSL_NO_CACHE=1`) bypasses the disk; a failure to write (a read-only
home, a full disk) is silent: the cache only ever saves time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import tempfile
from collections import OrderedDict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from .. import __version__

#: Turned off by `stratdsl --no-cache` and by STRATDSL_NO_CACHE=1.
enabled = os.environ.get("STRATDSL_NO_CACHE", "") in ("", "0")

#: Entries kept in memory per kind (files for the language server and the service).
MEMORY_ENTRIES = 512
#: Entries kept on disk per kind before the oldest are removed.
DISK_ENTRIES = 2000

_MEMORY: dict[str, OrderedDict[str, Any]] = {}

# Modules whose source shapes what is cached: any change to them changes the key.
_SHAPING = ("language/ast.py", "language/lower.py", "language/syntax.py", "language/source.py", "language/cache.py",
            "backends/compiler.py", "runtime/values.py")

_fingerprint: str | None = None


def fingerprint() -> str:
    """The engine that derives the cached forms: version, Python, and the shaping modules' source."""
    global _fingerprint
    if _fingerprint is None:
        digest = hashlib.sha256(f"{__version__}|{sys.version}".encode())
        package = Path(__file__).resolve().parents[1]
        for name in _SHAPING:
            try:
                digest.update((package / name).read_bytes())
            except OSError:
                digest.update(f"missing {name}".encode())
        # the grammar where syntax.grammar_text finds it (read here without importing Lark)
        for grammar in (package / "grammar" / "stratdsl.lark", package.parents[1] / "grammar" / "stratdsl.lark"):
            if grammar.is_file():
                digest.update(grammar.read_bytes())
                break
        _fingerprint = digest.hexdigest()
    return _fingerprint


def key(*parts: str) -> str:
    digest = hashlib.sha256(fingerprint().encode())
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big"))  # no two part lists hash alike
        digest.update(data)
    return digest.hexdigest()


def directory() -> Path:
    configured = os.environ.get("STRATDSL_CACHE_DIR")
    if configured:
        return Path(configured)
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = str(Path.home() / "Library" / "Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "stratdsl"


def _path(kind: str, entry: str) -> Path:
    return directory() / kind / f"{entry}.json"


def get(kind: str, entry: str, expected: type | tuple[type, ...], persist: bool = True) -> Any:
    """The value stored under `entry`, from memory or (with `persist`) disk; None when absent or unusable."""
    memory = _MEMORY.setdefault(kind, OrderedDict())
    found = memory.get(entry)
    if found is not None:
        memory.move_to_end(entry)
        return found
    if not (enabled and persist):
        return None
    try:
        value = decode(_path(kind, entry).read_bytes())
    except Exception:  # absent, unreadable, truncated, foreign or from another engine: recompute
        return None
    if not isinstance(value, expected):
        return None
    _remember(memory, entry, value)
    return value


def put(kind: str, entry: str, value: Any, persist: bool = True) -> None:
    """Keep `value` in memory and (with `persist`, unless disabled) write it to disk atomically."""
    _remember(_MEMORY.setdefault(kind, OrderedDict()), entry, value)
    if not (enabled and persist):
        return
    target = _path(kind, entry)
    try:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = encode(value)
        fd, tmp = tempfile.mkstemp(prefix=f".{entry[:16]}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)  # atomic: readers see the old entry or the new one, whole
            _prune(target.parent)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except (OSError, RecursionError, TypeError):
        pass  # a read-only or full disk, or a value the codec does not know: just slower next time


def _prune(folder: Path) -> None:
    """Every edit of a file adds an entry: past DISK_ENTRIES, drop the least recently written."""
    entries = list(folder.glob("*.json"))
    if len(entries) <= DISK_ENTRIES:
        return
    def written(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:
            return 0.0
    for old in sorted(entries, key=written)[: len(entries) - DISK_ENTRIES * 3 // 4]:
        try:
            old.unlink()
        except OSError:
            pass  # another process pruned it first


def _remember(memory: OrderedDict[str, Any], entry: str, value: Any) -> None:
    memory[entry] = value
    memory.move_to_end(entry)
    while len(memory) > MEMORY_ENTRIES:
        memory.popitem(last=False)


def clear_memory() -> None:
    _MEMORY.clear()


# ------------------------------------------------------------------ the codec
#
# JSON with tagged arrays: ["n", class, field…] a node of an allowed dataclass
# (fields in declaration order), ["t", …] a tuple, ["l", …] a list, ["s", …] a
# frozenset, ["m", [key, value]…] a dict, ["D", "1.5"] a Decimal, ["d",
# "2026-08-02"] a date; null, booleans, integers and strings stand for themselves.


def _allowed_classes() -> dict[str, type]:
    from . import ast, source
    from .types import BoolT, DateT, EnumT, ListT, NumberT, TextT

    classes: dict[str, type] = {}
    for module in (ast, source):
        for name, obj in vars(module).items():
            if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == module.__name__:
                classes[f"{module.__name__}.{name}"] = obj
    for cls in (BoolT, DateT, EnumT, ListT, NumberT, TextT):
        classes[f"{cls.__module__}.{cls.__name__}"] = cls
    return classes


_CLASSES: dict[str, type] = {}
_FIELDS: dict[type, tuple[str, ...]] = {}


def allow(cls: type) -> None:
    """Let entries contain `cls` (a frozen dataclass of a stage above language/, e.g. Unknown)."""
    _classes()[f"{cls.__module__}.{cls.__name__}"] = cls


def _classes() -> dict[str, type]:
    if not _CLASSES:
        _CLASSES.update(_allowed_classes())
    return _CLASSES


def _fields(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def encode(value: Any) -> bytes:
    classes = _classes()

    def enc(v: Any) -> Any:
        if v is None or v.__class__ in (bool, int, str):
            return v
        cls = v.__class__
        if cls is tuple:
            return ["t", *map(enc, v)]
        if cls is list:
            return ["l", *map(enc, v)]
        if cls is frozenset:
            return ["s", *map(enc, v)]
        if cls is dict:
            return ["m", *([enc(k), enc(x)] for k, x in v.items())]
        if cls is Decimal:
            return ["D", str(v)]
        if cls is date:
            return ["d", v.isoformat()]
        name = f"{cls.__module__}.{cls.__name__}"
        if classes.get(name) is cls:
            return ["n", name, *(enc(getattr(v, f)) for f in _fields(cls))]
        raise TypeError(f"{name} cannot be cached")

    return json.dumps(enc(value), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode(data: bytes) -> Any:
    """The value `encode` wrote; raises on anything else (the caller then recomputes)."""
    classes = _classes()
    new = object.__new__
    setattr_ = object.__setattr__

    def dec(v: Any) -> Any:
        if v.__class__ is not list:
            if v is None or v.__class__ in (bool, int, str):
                return v
            raise ValueError("not a cache entry")
        tag = v[0]
        if tag == "n":
            cls = classes[v[1]]  # KeyError for a class that is not allowed
            names = _fields(cls)
            if len(v) != len(names) + 2:
                raise ValueError("wrong number of fields")
            node = new(cls)
            for name, item in zip(names, v[2:], strict=True):
                setattr_(node, name, dec(item))
            return node
        if tag == "t":
            return tuple(map(dec, v[1:]))
        if tag == "l":
            return list(map(dec, v[1:]))
        if tag == "s":
            return frozenset(map(dec, v[1:]))
        if tag == "m":
            return {dec(k): dec(x) for k, x in v[1:]}
        if tag == "D":
            return Decimal(v[1])
        if tag == "d":
            return date.fromisoformat(v[1])
        raise ValueError(f"unknown tag {tag!r}")

    return dec(json.loads(data))
