"""The tamper-evident audit log: decision records appended to a JSONL file as a hash chain.

Each line is one entry `{"seq", "prev", "entry", "hash"}`: `prev` is the hash
of the previous line's entry (64 zeros for the first) and `hash` the sha256 of
the canonical JSON of `seq`, `prev` and `entry`. Altering, removing,
inserting or reordering a line breaks the chain at a line that `verify` names.
Appends take an exclusive lock on the file, write all new lines in one write,
then fsync, so concurrent writers lose nothing and keep the chain
valid. A torn last line (a crash in the middle of a write) is detected on the
next append and overwritten by a `repair` entry recording the bytes removed,
chained in its place, followed by the new entries — never silently, even if
that append is itself killed half-way.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..language.diagnostics import Diagnostic, StratError
from ..runtime.values import canonical_json, sha256_text

GENESIS = "0" * 64


def entry_hash(seq: int, prev: str, entry: dict[str, Any]) -> str:
    return sha256_text(canonical_json({"seq": seq, "prev": prev, "entry": entry}))


def _line(seq: int, prev: str, entry: dict[str, Any]) -> tuple[str, str]:
    digest = entry_hash(seq, prev, entry)
    text = json.dumps({"seq": seq, "prev": prev, "entry": entry, "hash": digest}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text + "\n", digest


def _tail_state(fd: int) -> tuple[int, str, int | None, bytes]:
    """(last seq, last hash, offset where a torn tail starts or None, the torn bytes)."""
    size = os.lseek(fd, 0, os.SEEK_END)
    if size == 0:
        return 0, GENESIS, None, b""
    # read backwards until two newlines are found (or the start)
    chunk = 1 << 16
    data = b""
    pos = size
    while pos > 0:
        step = min(chunk, pos)
        pos -= step
        os.lseek(fd, pos, os.SEEK_SET)
        data = os.read(fd, step) + data
        # three newlines: the last line (maybe invalid) and one complete line before it
        if data.count(b"\n") >= 3 or pos == 0:
            break
    torn_at = None
    torn = b""
    if not data.endswith(b"\n"):
        cut = data.rfind(b"\n")
        torn = data[cut + 1 :]
        torn_at = size - len(torn)
        data = data[: cut + 1]
    else:
        # a complete line that is not valid JSON is also a torn write
        last = data[:-1].rsplit(b"\n", 1)[-1]
        try:
            json.loads(last)
        except ValueError:
            torn = last + b"\n"
            torn_at = size - len(torn)
            data = data[: len(data) - len(torn)]
    lines = [line for line in data.split(b"\n") if line.strip()]
    if not lines:
        if pos > 0:
            raise StratError([Diagnostic("E403", "the audit log's last line is too long to read back")])
        return 0, GENESIS, torn_at, torn
    last = json.loads(lines[-1])
    return int(last["seq"]), str(last["hash"]), torn_at, torn


def append(path: str | Path, entries: list[dict[str, Any]]) -> list[int]:
    """Append entries atomically and durably; return their sequence numbers."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise StratError([Diagnostic("E404", f"cannot open audit log '{path}': {error.strerror}")]) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            seq, prev, torn_at, torn = _tail_state(fd)
        except (ValueError, KeyError, TypeError):  # TypeError: a last line of JSON that is not an object
            raise StratError([Diagnostic("E403", f"the audit log '{path}' does not end with a valid entry; run 'stratdsl audit verify {path}'")]) from None
        if torn_at is not None:
            repair = {"kind": "repair", "removed_bytes": len(torn), "removed_sha256": hashlib.sha256(torn).hexdigest()}
            entries = [repair, *entries]
        text = []
        out = []
        for entry in entries:
            seq += 1
            line, prev = _line(seq, prev, entry)
            text.append(line)
            out.append(seq)
        payload = "".join(text).encode("utf-8")
        at = os.lseek(fd, 0, os.SEEK_END) if torn_at is None else torn_at
        if torn.endswith(b"\n") and len(payload) < len(torn):
            # a complete garbage line longer than the payload: pad the last line with spaces (JSON
            # ignores them) so that no leftover of it can be read as a line of its own after a crash
            payload = payload[:-1] + b" " * (len(torn) - len(payload)) + b"\n"
        # Write over the torn bytes, then cut what is left of them, then fsync: a crash at any
        # point leaves a torn tail (old bytes, new ones, or both) for the next append to record.
        # Cutting first would lose them without a trace if the process died before writing.
        written = 0
        while written < len(payload):
            written += os.pwrite(fd, payload[written:], at + written)
        if torn_at is not None:
            os.ftruncate(fd, at + len(payload))
        os.fsync(fd)
        return out
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


@dataclass(frozen=True)
class Problem:
    line: int
    message: str


def verify(path: str | Path) -> tuple[int, Problem | None]:
    """(number of valid entries, the first problem or None)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError:
        raise StratError([Diagnostic("E404", f"cannot read audit log '{path}'")]) from None
    lines = raw.split(b"\n")
    torn = False
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        torn = True
        lines.pop()
    prev = GENESIS
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        try:
            item = json.loads(line)
            seq, claimed_prev, entry, digest = item["seq"], item["prev"], item["entry"], item["hash"]
        except (ValueError, KeyError, TypeError):
            return number - 1, Problem(number, "this line is not a valid audit entry (altered or corrupted)")
        if entry_hash(seq, claimed_prev, entry) != digest:
            return number - 1, Problem(number, "this entry was altered: its content does not match its hash")
        if seq != number:
            if seq > number:
                return number - 1, Problem(number, f"{seq - number} entr{'y' if seq - number == 1 else 'ies'} removed before this line (expected entry {number}, found entry {seq})")
            return number - 1, Problem(number, f"this entry was inserted or moved: it is entry {seq}, expected entry {number}")
        if claimed_prev != prev:
            where = seen.get(claimed_prev)
            detail = f" (it follows line {where})" if where else ""
            return number - 1, Problem(number, f"the chain is broken here: this entry does not follow the previous line{detail}; an entry was removed, inserted or reordered")
        seen[digest] = number
        prev = digest
    if torn:
        return len(lines), Problem(len(lines) + 1, "the last line is incomplete (a torn write); the next append repairs it")
    return len(lines), None


def read(path: str | Path) -> list[dict[str, Any]]:
    out = []
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise StratError([Diagnostic("E404", f"cannot read audit log '{path}': {error.strerror}")]) from None
    for line in raw.split(b"\n"):
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def find_decision(entries: list[dict[str, Any]], decision_id: str) -> dict[str, Any] | None:
    for item in entries:
        entry = item.get("entry", {})
        if entry.get("kind") == "decision" and (entry.get("id") == decision_id or entry.get("id", "").startswith(decision_id)):
            return item
    return None


def find_evaluation(entries: list[dict[str, Any]], evaluation_id: str) -> dict[str, Any] | None:
    for item in entries:
        entry = item.get("entry", {})
        if entry.get("kind") == "evaluation" and entry.get("id") == evaluation_id:
            return entry
    return None
