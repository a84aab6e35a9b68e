"""The tamper-evident audit log: decision records appended to a JSONL file as a hash chain.

Each line is one entry `{"seq", "prev", "entry", "hash"}`: `prev` is the hash
of the previous line's entry (64 zeros for the first) and `hash` the sha256 of
the canonical JSON of `seq`, `prev` and `entry`. Each line must be *exactly*
its canonical serialisation (sorted keys, no whitespace, UTF-8, numbers as
strings inside entries), so no two byte strings verify with one hash.

Format 2 (this version): line 1 is the header `{"kind": "log", "format":
"stratdsl-audit-log", "version": "2"}`; an evaluation is one unit — its
evaluation entry, its decision entries and a closing `commit` entry — so an
append cut short is visible; `checkpoint` entries are Ed25519 signatures of
(size, head hash, time) made with a key kept outside the log (signing.py).
A log written by 0.1.0 has no header: it is read and verified as it is, and
the first append upgrades it in place with a header entry chained after its
last line.

Appends open the file without following a symlink, take an exclusive lock,
write all new lines in one write, then fsync, so concurrent writers lose
nothing and keep the chain valid. A torn last line (a crash in the middle of
a write) is detected on the next append and overwritten by a `repair` entry
recording the bytes removed (and the evaluation it cut short), chained in its
place, followed by the new entries — never silently, even if that append is
itself killed half-way.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..language.diagnostics import Diagnostic, StratError
from ..language.messages import N_, Msg
from ..runtime.values import canonical_json, sha256_text, to_json_value

GENESIS = "0" * 64
FORMAT = "stratdsl-audit-log"
VERSION = "2"
HEADER: dict[str, Any] = {"kind": "log", "format": FORMAT, "version": VERSION}
UPGRADE: dict[str, Any] = {**HEADER, "upgraded_from": "0.1.0"}
#: the kinds a 0.1.0 log can start with (anything else on line 1 is not a stratdsl log)
LEGACY_FIRST = frozenset({"evaluation", "decision", "repair"})
#: the only JSON numbers an entry may hold; every other number is written as a string
NUMBER_FIELDS = frozenset({("repair", "removed_bytes")})
_HEX = frozenset("0123456789abcdef")


def entry_hash(seq: int, prev: str, entry: dict[str, Any]) -> str:
    return sha256_text(canonical_json({"seq": seq, "prev": prev, "entry": entry}))


def _serialise(item: dict[str, Any]) -> str:
    return json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _line(seq: int, prev: str, entry: dict[str, Any]) -> tuple[str, str]:
    digest = entry_hash(seq, prev, entry)
    return _serialise({"seq": seq, "prev": prev, "entry": entry, "hash": digest}) + "\n", digest


# ------------------------------------------------------------------ strict reading of one line


_NOT_REGULAR = N_("the audit log '{path}' is not a regular file")


class BadLine(Exception):
    def __init__(self, code: str, message: Msg) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise BadLine("E409", Msg(N_("the key '{key}' is written twice in this line"), key=key))
        out[key] = value
    return out


def _no_float(text: str) -> Any:
    raise BadLine("E409", Msg(N_("the number {text} is not an integer (entries write numbers as strings)"), text=text))


def _no_constant(text: str) -> Any:
    raise BadLine("E409", Msg(N_("{text} is not JSON"), text=text))


def _numbers(entry: dict[str, Any]) -> str | None:
    """The path of a JSON number an entry may not hold, or None."""
    kind = entry.get("kind")
    stack: list[tuple[str, Any, bool]] = [(k, v, True) for k, v in entry.items()]
    while stack:
        path, value, top = stack.pop()
        if isinstance(value, bool) or value is None or isinstance(value, str):
            continue
        if isinstance(value, int):
            if top and (kind, path) in NUMBER_FIELDS and value >= 0:
                continue
            return path
        if isinstance(value, dict):
            stack.extend((f"{path}.{k}", v, False) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", v, False) for i, v in enumerate(value))
    return None


def parse_line(raw: bytes) -> dict[str, Any]:
    """One line of a log (without its newline), checked to be a canonical entry; else BadLine."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadLine("E409", Msg(N_("this line is not UTF-8 text"))) from None
    try:
        item = json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_no_float, parse_constant=_no_constant)
    except BadLine:
        raise
    except (ValueError, RecursionError):
        raise BadLine("E409", Msg(N_("this line is not a valid audit entry (not JSON: altered or corrupted)"))) from None
    if not isinstance(item, dict) or set(item) != {"seq", "prev", "entry", "hash"}:
        raise BadLine("E409", Msg(N_("this line is not a valid audit entry (it must hold exactly seq, prev, entry and hash)")))
    seq, prev, entry, digest = item["seq"], item["prev"], item["entry"], item["hash"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise BadLine("E409", Msg(N_("this line's seq is {seq}: it must be a whole number from 1"), seq=json.dumps(seq, ensure_ascii=False)))
    for name, value in (("prev", prev), ("hash", digest)):
        if not (isinstance(value, str) and len(value) == 64 and set(value) <= _HEX):
            raise BadLine("E409", Msg(N_("this line's {name} is not 64 lower-case hex digits"), name=name))
    if not isinstance(entry, dict):
        raise BadLine("E409", Msg(N_("this line's entry is not a JSON object")))
    where = _numbers(entry)
    if where is not None:
        raise BadLine("E409", Msg(N_("this entry holds a JSON number at '{where}' where the canonical form writes a string"), where=where))
    if _serialise(item).encode("utf-8") != raw:
        raise BadLine("E409", Msg(N_("this line is not in canonical form (key order, spacing or escapes differ from what stratdsl writes)")))
    return item


# ------------------------------------------------------------------ appending


def _is_stratdsl_first(first: dict[str, Any]) -> bool | None:
    """True: a format-2 header; False: a 0.1.0 log; None: not a stratdsl log."""
    if first["seq"] != 1 or first["prev"] != GENESIS or entry_hash(1, GENESIS, first["entry"]) != first["hash"]:
        return None
    if first["entry"] == HEADER:
        return True
    if first["entry"].get("kind") in LEGACY_FIRST:
        return False
    return None


def _read_back(fd: int, size: int) -> tuple[bytes, int]:
    """The last bytes of the file holding at least two complete lines (or all of it), and their offset."""
    chunk = 1 << 16
    data = b""
    pos = size
    while pos > 0:
        step = min(chunk, pos)
        pos -= step
        os.lseek(fd, pos, os.SEEK_SET)
        data = os.read(fd, step) + data
        if data.count(b"\n") >= 3:
            break
    return data, pos


def _first_line(fd: int) -> bytes | None:
    os.lseek(fd, 0, os.SEEK_SET)
    data = b""
    while b"\n" not in data:
        more = os.read(fd, 1 << 16)
        if not more:
            return None
        data += more
    return data.split(b"\n", 1)[0]


def _upgraded(fd: int) -> bool:
    """Whether a 0.1.0 log already holds the header that upgrades it (read once per append)."""
    os.lseek(fd, 0, os.SEEK_SET)
    rest = b""
    while True:
        more = os.read(fd, 1 << 20)
        if not more:
            return False
        lines = (rest + more).split(b"\n")
        rest = lines.pop()
        for line in lines:
            if b'"kind":"log"' in line:
                try:
                    if parse_line(line)["entry"] == UPGRADE:
                        return True
                except BadLine:
                    continue


@dataclass
class _Tail:
    seq: int = 0
    prev: str = GENESIS
    torn_at: int | None = None
    torn: bytes = b""
    last: dict[str, Any] | None = None
    header: bool = False  # the file needs a header (new, or 0.1.0 not yet upgraded)
    legacy: bool = False


def _tail_state(fd: int, path: Path) -> _Tail:
    size = os.lseek(fd, 0, os.SEEK_END)
    if size == 0:
        return _Tail(header=True)
    first = _first_line(fd)
    header_line = _line(1, GENESIS, HEADER)[0].encode("utf-8")
    if first is None:
        os.lseek(fd, 0, os.SEEK_SET)
        only = os.read(fd, len(header_line) + 1)
        if header_line.startswith(only):  # the first append of this file was cut short
            return _Tail(torn_at=0, torn=only, header=True)
        raise _not_a_log(path, Msg(N_("its first line is not a stratdsl audit entry")))
    try:
        kind = _is_stratdsl_first(parse_line(first))
    except BadLine:
        kind = None
    if kind is None:
        raise _not_a_log(path, Msg(N_("its first line is not the header of a stratdsl audit log")))
    data, _ = _read_back(fd, size)
    state = _Tail(legacy=not kind)
    if not kind:
        state.header = not _upgraded(fd)
    if not data.endswith(b"\n"):
        cut = data.rfind(b"\n")
        state.torn = data[cut + 1 :]
        state.torn_at = size - len(state.torn)
        data = data[: cut + 1]
    else:
        # a complete last line that is not a valid entry is also a torn write
        last = data[:-1].rsplit(b"\n", 1)[-1]
        try:
            parse_line(last)
        except BadLine:
            state.torn = last + b"\n"
            state.torn_at = size - len(state.torn)
            data = data[: len(data) - len(state.torn)]
    lines = [line for line in data.split(b"\n") if line]
    if not lines:
        raise StratError([Diagnostic("E403", Msg(N_("the audit log's last line is too long to read back")))])
    try:
        last = parse_line(lines[-1])
    except BadLine:
        raise StratError([Diagnostic("E403", Msg(N_("the audit log '{path}' does not end with a valid entry; run 'stratdsl audit verify {path}'"), path=path))]) from None
    state.seq, state.prev, state.last = last["seq"], last["hash"], last["entry"]
    return state


def _not_a_log(path: Path, why: Msg) -> StratError:
    return StratError(
        [
            Diagnostic(
                "E407",
                Msg(N_("'{path}' is not a stratdsl audit log: {why}; nothing was written"), path=path, why=why),
                hint=Msg(N_("give a new file name, or the path of an existing stratdsl audit log")),
            )
        ]
    )


def open_log(path: Path, flags: int) -> int:
    """Open an audit log without following a symlink at its last component; a regular file only."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0), 0o644)
    except OSError as error:
        if error.errno == errno.ELOOP:  # O_NOFOLLOW: the last component is a symbolic link
            raise StratError(
                [
                    Diagnostic(
                        "E408",
                        Msg(N_("the audit log '{path}' is a symbolic link: stratdsl never follows one to write evidence"), path=path),
                        hint=Msg(N_("give the path of the real file")),
                    )
                ]
            ) from None
        raise StratError([Diagnostic("E404", Msg(N_("cannot open audit log '{path}': {reason}"), path=path, reason=error.strerror))]) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise StratError([Diagnostic("E408", Msg(_NOT_REGULAR, path=path), hint=Msg(N_("give the path of a regular file")))])
    return fd


def _open_unit(state: _Tail) -> str | None:
    """The evaluation a format-2 log's last entry leaves without its closing entry."""
    if state.legacy and state.header:
        return None
    last = state.last or {}
    if last.get("kind") == "evaluation":
        return str(last.get("id"))
    if last.get("kind") == "decision":
        return str(last.get("evaluation"))
    return None


Signer = Callable[[int, str], dict[str, Any]]


def append(
    path: str | Path,
    entries: list[dict[str, Any]],
    signer: Signer | None = None,
    checkpoint_every: int | None = None,
    checkpoint_at_end: bool = False,
) -> list[int]:
    """Append entries atomically and durably; return their sequence numbers.

    Entries starting with an evaluation form one unit: a `commit` entry closing it is added.
    With a signer (by default the key named by STRATDSL_AUDIT_KEY, if any), a signed checkpoint
    is added at the end (`checkpoint_at_end`) or whenever the log crosses a multiple of
    `checkpoint_every` entries (default STRATDSL_AUDIT_CHECKPOINT_EVERY, else 100)."""
    from . import signing

    path = Path(path)
    if signer is None:
        signer = signing.from_env()
    if checkpoint_every is None:
        checkpoint_every = signing.every()
    entries = [to_json_value(e) for e in entries]
    if entries and entries[0].get("kind") == "evaluation":
        entries = [*entries, {"kind": "commit", "evaluation": entries[0].get("id"), "entries": str(len(entries) + 1)}]
    fd = open_log(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            state = _tail_state(fd, path)
        except (KeyError, TypeError):
            raise StratError([Diagnostic("E403", Msg(N_("the audit log '{path}' does not end with a valid entry; run 'stratdsl audit verify {path}'"), path=path))]) from None
        before: list[dict[str, Any]] = []
        if state.header and state.torn_at == 0:
            before.append(HEADER)
        elif state.header:
            before.append(UPGRADE if state.legacy else HEADER)
        abandoned = _open_unit(state)
        if state.torn_at is not None or abandoned:
            repair: dict[str, Any] = {"kind": "repair", "removed_bytes": len(state.torn), "removed_sha256": hashlib.sha256(state.torn).hexdigest()}
            if abandoned:
                repair["abandoned"] = abandoned
            before.append(repair)
        new = [*before, *entries]
        seq, prev = state.seq, state.prev
        text = []
        out = []
        for index, entry in enumerate(new):
            seq += 1
            line, prev = _line(seq, prev, entry)
            text.append(line)
            if index >= len(before):
                out.append(seq)
        if signer is not None and (checkpoint_at_end or (checkpoint_every > 0 and state.seq // checkpoint_every != seq // checkpoint_every)):
            seq += 1
            line, prev = _line(seq, prev, signer(seq - 1, prev))
            text.append(line)
        payload = "".join(text).encode("utf-8")
        at = os.lseek(fd, 0, os.SEEK_END) if state.torn_at is None else state.torn_at
        # (A crash between the write and the cut can leave the end of a long garbage line after the
        # new lines: it is not a valid entry, so the next append treats it as a torn tail again.
        # No padding: every line must be exactly its canonical bytes.)
        # Write over the torn bytes, then cut what is left of them, then fsync: a crash at any
        # point leaves a torn tail (old bytes, new ones, or both) for the next append to record.
        # Cutting first would lose them without a trace if the process died before writing.
        written = 0
        while written < len(payload):
            written += os.pwrite(fd, payload[written:], at + written)
        if state.torn_at is not None:
            os.ftruncate(fd, at + len(payload))
        os.fsync(fd)
        return out
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


# ------------------------------------------------------------------ verifying


@dataclass(frozen=True)
class Problem:
    line: int
    message: Msg
    code: str = "E410"


@dataclass
class Report:
    """What `verify` found: entries intact, the first problem, and what it could and could not check."""

    count: int = 0
    problem: Problem | None = None
    legacy: int = 0  # lines written by 0.1.0 (before the upgrade header, or all of a 0.1.0 log)
    evaluations: int = 0  # complete units
    abandoned: list[tuple[int, int, str]] = field(default_factory=list)  # (first line, repair line, evaluation)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)  # {"line", "size", "head", "time", "key"}
    hashes: list[str] = field(default_factory=list)  # hash of entry n at index n - 1


CheckpointCheck = Callable[[dict[str, Any]], str | None]


def _lines(raw: bytes) -> tuple[list[bytes], bool]:
    lines = raw.split(b"\n")
    torn = False
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        torn = True
        lines.pop()
    return lines, torn


def read_bytes(path: str | Path) -> bytes:
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise StratError([Diagnostic("E404", Msg(N_("cannot read audit log '{path}': {reason}"), path=path, reason=error.strerror))]) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise StratError([Diagnostic("E408", Msg(_NOT_REGULAR, path=path))])
        chunks = []
        while True:
            more = os.read(fd, 1 << 20)
            if not more:
                break
            chunks.append(more)
        return b"".join(chunks)
    finally:
        os.close(fd)


def check(path: str | Path, checkpoint: CheckpointCheck | None = None) -> Report:
    """Walk the whole log: the first problem, with its line; the units and checkpoints seen.
    `checkpoint` checks a checkpoint entry's signature (None when no key was given)."""
    lines, torn = _lines(read_bytes(path))
    report = Report()
    prev = GENESIS
    seen: dict[str, int] = {}
    legacy = False
    unit: tuple[int, str, int] | None = None  # (line of the evaluation, its id, entries so far)

    def fail(number: int, message: Msg, code: str) -> Report:
        report.count = number - 1
        report.problem = Problem(number, message, code)
        return report

    for number, line in enumerate(lines, start=1):
        try:
            item = parse_line(line)
        except BadLine as bad:
            if number == len(lines) and not torn and number > 1:  # what the next append treats as a torn tail
                return fail(number, Msg(N_("the last line is incomplete or not an entry ({problem}): a torn write, or altered; the next append repairs it"), problem=bad.message), "E412")
            return fail(number, bad.message, bad.code)
        seq, claimed_prev, entry, digest = item["seq"], item["prev"], item["entry"], item["hash"]
        if entry_hash(seq, claimed_prev, entry) != digest:
            return fail(number, Msg(N_("this entry was altered: its content does not match its hash")), "E410")
        if seq != number:
            if seq > number:
                if seq - number == 1:
                    removed = N_("{n} entry removed before this line (expected entry {number}, found entry {seq})")
                else:
                    removed = N_("{n} entries removed before this line (expected entry {number}, found entry {seq})")
                return fail(number, Msg(removed, n=seq - number, number=number, seq=seq), "E411")
            return fail(number, Msg(N_("this entry was inserted or moved: it is entry {seq}, expected entry {number}"), seq=seq, number=number), "E411")
        if claimed_prev != prev:
            where = seen.get(claimed_prev)
            if where:
                broken = Msg(
                    N_("the chain is broken here: this entry does not follow the previous line (it follows line {line}); an entry was removed, inserted or reordered"),
                    line=where,
                )
            else:
                broken = Msg(N_("the chain is broken here: this entry does not follow the previous line; an entry was removed, inserted or reordered"))
            return fail(number, broken, "E411")
        kind = entry.get("kind")
        if number == 1:
            if entry == HEADER:
                legacy = False
            elif kind in LEGACY_FIRST:
                legacy = True
            else:
                return fail(1, Msg(N_("this is not a stratdsl audit log: its first entry is neither the log header nor a 0.1.0 record")), "E407")
        elif kind == "log":
            if not (legacy and entry == UPGRADE):
                return fail(number, Msg(N_("a log header can only open the log (or upgrade a 0.1.0 log once)")), "E409")
            legacy = False
            report.legacy = number - 1
        if not legacy and number > 1:
            problem = None
            if unit is not None:
                first, ident, size = unit
                if kind == "decision" and entry.get("evaluation") == ident:
                    unit = (first, ident, size + 1)
                elif kind == "commit" and entry.get("evaluation") == ident:
                    if entry.get("entries") != str(size + 1):
                        problem = Msg(N_("the commit of the evaluation at line {first} counts {counted} entries, the unit has {size}"), first=first, counted=entry.get("entries"), size=size + 1)
                    unit = None
                    report.evaluations += 1
                elif kind == "repair" and entry.get("abandoned") == ident:
                    report.abandoned.append((first, number, ident))
                    unit = None
                else:
                    problem = Msg(N_("the evaluation at line {first} was cut short before this line: no commit entry closes it, and no repair entry records it"), first=first)
                if problem:
                    return fail(number, problem, "E413")
            elif kind in ("decision", "commit"):
                return fail(number, Msg(N_("this {kind} entry belongs to no open evaluation: a unit was cut or its entries moved"), kind=kind), "E413")
            elif kind == "repair" and entry.get("abandoned"):
                return fail(number, Msg(N_("this repair names an abandoned evaluation that is not open here")), "E413")
            if kind == "evaluation":
                unit = (number, str(entry.get("id")), 1)
        if kind == "checkpoint":
            problem_text = _check_checkpoint(entry, number, prev, checkpoint)
            if problem_text:
                return fail(number, problem_text, "E414")
            report.checkpoints.append({"line": number, "size": int(entry["size"]), "head": entry["head"], "time": entry["time"], "key": entry.get("key")})
        seen[digest] = number
        prev = digest
        report.hashes.append(digest)
    report.count = len(lines)
    if legacy:
        report.legacy = len(lines)
    if torn:
        report.problem = Problem(len(lines) + 1, Msg(N_("the last line is incomplete (a torn write); the next append repairs it")), "E412")
    elif unit is not None:
        report.problem = Problem(
            unit[0],
            Msg(
                N_(
                    "the evaluation at line {first} has no commit entry: an append was cut short after {size} of its entries "
                    "(or its end was removed); the next append records it"
                ),
                first=unit[0],
                size=unit[2],
            ),
            "E413",
        )
    return report


def _check_checkpoint(entry: dict[str, Any], number: int, prev: str, checkpoint: CheckpointCheck | None) -> Msg | None:
    if not all(isinstance(entry.get(k), str) for k in ("size", "head", "time", "signature", "key")) or not entry["size"].isdigit():
        return Msg(N_("this checkpoint is malformed (size, head, time, key and signature must be strings)"))
    if int(entry["size"]) != number - 1 or entry["head"] != prev:
        return Msg(N_("this checkpoint does not sign the log before it (it claims {size} entries ending with {head}…)"), size=entry["size"], head=entry["head"][:16])
    if checkpoint is not None:
        return checkpoint(entry)
    return None


def verify_anchored(
    path: str | Path, public: Any = None, head: dict[str, Any] | list[dict[str, Any]] | None = None, allow_unsigned: int = 0
) -> Report:
    """`check`, then with a public key: every checkpoint's signature, their times in order, and at
    most `allow_unsigned` entries after the last one; with an external head: that the log holds
    it (same hash at the same size), so it was neither cut before it nor rewritten."""
    from . import signing

    verify_sig = signing.verifier(public) if public is not None else None
    report = check(path, verify_sig)
    if report.problem is not None and report.problem.code != "E412":
        return report
    last_time = ""
    for cp in report.checkpoints:
        if cp["time"] < last_time:
            report.problem = Problem(
                cp["line"],
                Msg(
                    N_("this checkpoint's time {time} is before the previous checkpoint's ({last}): entries were reordered or the clock was set back"),
                    time=cp["time"],
                    last=last_time,
                ),
                "E414",
            )
            return report
        last_time = cp["time"]
    heads = [] if head is None else head if isinstance(head, list) else [head]
    for head in heads:  # several heads: each must be a prefix of the log, so they are consistent with each other
        size = int(head["size"])
        if public is not None:
            problem = verify_sig(head, external=True) if verify_sig else None
            if problem:
                report.problem = Problem(0, problem, "E414")
                return report
        if size > report.count:
            report.problem = Problem(
                report.count + 1 if report.count else 1,
                Msg(
                    N_("the log was cut: the external head (signed {time}) covers {size} entries, the log holds {count} valid ones"),
                    time=head["time"],
                    size=size,
                    count=report.count,
                ),
                "E416",
            )
            return report
        if size > 0 and report.hashes[size - 1] != head["head"]:
            report.problem = Problem(size, Msg(N_("the log was rewritten: entry {size} does not have the hash of the external head (signed {time})"), size=size, time=head["time"]), "E417")
            return report
    if public is not None and report.problem is None:
        covered = report.checkpoints[-1]["line"] if report.checkpoints else 0
        unsigned = report.count - covered
        if unsigned > allow_unsigned:
            where = Msg(N_("after the last checkpoint (line {line})"), line=covered) if covered else Msg(N_("and the log holds no checkpoint"))
            if unsigned == 1:
                text = N_("{n} entry is not signed {where}; at most {allowed} allowed (--allow-unsigned)")
            else:
                text = N_("{n} entries are not signed {where}; at most {allowed} allowed (--allow-unsigned)")
            report.problem = Problem(covered + 1, Msg(text, n=unsigned, where=where, allowed=allow_unsigned), "E415")
    return report


def verify(path: str | Path) -> tuple[int, Problem | None]:
    """(number of valid entries, the first problem or None)."""
    report = check(path)
    return report.count, report.problem


# ------------------------------------------------------------------ reading for show and replay


def read(path: str | Path) -> list[dict[str, Any]]:
    """Every complete entry (a torn last line is left out); a malformed line is E409."""
    lines, _ = _lines(read_bytes(path))
    out = []
    for number, line in enumerate(lines, start=1):
        try:
            out.append(parse_line(line))
        except BadLine as bad:
            raise StratError([Diagnostic(bad.code, Msg(N_("{path}:{line}: {problem}; run 'stratdsl audit verify {path}'"), path=path, line=number, problem=bad.message))]) from None
    return out


def committed(entries: list[dict[str, Any]]) -> set[str]:
    """The evaluations of the log whose unit is complete (every evaluation of a 0.1.0 part)."""
    out: set[str] = set()
    legacy = bool(entries) and entries[0]["entry"] != HEADER
    for item in entries:
        entry = item["entry"]
        if entry == UPGRADE:
            legacy = False
        elif entry.get("kind") == "evaluation" and legacy:
            out.add(str(entry.get("id")))
        elif entry.get("kind") == "commit":
            out.add(str(entry.get("evaluation")))
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
