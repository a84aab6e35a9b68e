"""Traceability, part 4 (issue 16, point 5): signed checkpoints and external heads.

The guarantee table of docs/audit.md §10, case by case: what `audit verify` detects
with and without the public key (`--key`) and with and without an external head
(`--expect-head`), against an attacker who can write the log but not read the private
key nor change the external head. Each row of the table is one test here; the rows
marked "not detected" are tested too, so the documentation cannot promise more than
the code does.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import FIXTURES, stratdsl_command
from stratdsl.commands.cli import main
from stratdsl.language.diagnostics import StratError
from stratdsl.provenance import audit, signing

AS_OF = "2026-11-26"
POLICY, ASSESSMENT = FIXTURES / "eval.strat", FIXTURES / "eval_ok.yaml"


def cli(*args, env: dict | None = None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def rewrite(entries: list[dict]) -> bytes:
    """A forger with write access: any entries, every hash recomputed."""
    prev = audit.GENESIS
    out = []
    for n, entry in enumerate(entries, start=1):
        text, prev = audit._line(n, prev, entry)
        out.append(text)
    return "".join(out).encode("utf-8")


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("keys")
    result = cli("audit", "keygen", "--key", folder / "audit.key")
    assert result.exit_code == 0, result.output
    return folder / "audit.key", folder / "audit.key.pub"


@pytest.fixture()
def signed(keys, tmp_path) -> Path:
    """Three evaluations, each closed by a checkpoint signed with the key (eval --audit-key)."""
    log = tmp_path / "audit.jsonl"
    for day in ("2026-11-24", "2026-11-25", "2026-11-26"):
        result = cli("eval", POLICY, ASSESSMENT, "--as-of", day, "--audit-log", log, "--audit-key", keys[0])
        assert result.exit_code == 0, result.output
        assert "signed checkpoint added" in result.stderr
    return log


def entries_of(log: Path) -> list[dict]:
    return [item["entry"] for item in audit.read(log)]


def verify(log: Path, *extra) -> tuple[int, str]:
    result = cli("audit", "verify", log, *extra)
    return result.exit_code, result.stdout


# ================================================================== keys


def test_keygen_writes_a_private_key_only_its_owner_reads(tmp_path):
    key = tmp_path / "k" / "signing.key"
    key.parent.mkdir()
    done = subprocess.run([*stratdsl_command(), "audit", "keygen"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "STRATDSL_AUDIT_KEY": str(key)})  # the path from the environment
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert (tmp_path / "k" / "signing.key.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert "key id:" in done.stdout
    again = cli("audit", "keygen", "--key", key)
    assert again.exit_code == 1 and "E418" in again.stderr and "never overwritten" in again.stderr
    assert cli("audit", "keygen").exit_code == 2  # no path at all: a usage error
    # a private key others can read is refused
    key.chmod(0o644)
    with pytest.raises(StratError) as error:
        signing.load_private(key)
    assert error.value.diagnostics[0].code == "E418" and "chmod 600" in (error.value.diagnostics[0].hint or "")


def test_the_key_never_enters_the_log(keys, signed):
    data = signed.read_bytes()
    private = keys[0].read_bytes()
    body = b"".join(private.splitlines()[1:-1])
    raw = base64.b64decode(body)[-32:]  # the Ed25519 seed at the end of the PKCS#8 structure
    assert body not in data and raw.hex().encode() not in data and base64.b64encode(raw) not in data
    assert str(keys[0]).encode() not in data


def test_each_run_ends_with_a_checkpoint_that_signs_everything_before_it(keys, signed):
    items = audit.read(signed)
    kinds = [i["entry"]["kind"] for i in items]
    assert kinds.count("checkpoint") == 3 and kinds[-1] == "checkpoint"
    for n, item in enumerate(items):
        if item["entry"]["kind"] == "checkpoint":
            cp = item["entry"]
            assert cp["size"] == str(n) and cp["head"] == items[n - 1]["hash"]
            assert cp["key"] == signing.key_id(signing.load_public(keys[1]))
    code, out = verify(signed, "--key", keys[1])
    assert code == 0, out
    assert "3 checkpoint(s), signatures valid" in out


def test_automatic_checkpoints_every_n_entries(keys, tmp_path):
    log = tmp_path / "log.jsonl"
    sign = signing.signer(signing.load_private(keys[0]))
    for n in range(12):
        audit.append(log, [{"kind": "note", "n": n}], signer=sign, checkpoint_every=5)
    items = audit.read(log)
    checkpoints = [i for i in items if i["entry"]["kind"] == "checkpoint"]
    assert len(checkpoints) >= 2
    assert all(int(c["entry"]["size"]) == c["seq"] - 1 for c in checkpoints)
    assert audit.verify_anchored(log, signing.load_public(keys[1]), allow_unsigned=5).problem is None
    # the environment configures every writer (the service, report): STRATDSL_AUDIT_KEY, …_CHECKPOINT_EVERY
    env_log = tmp_path / "env.jsonl"
    old = dict(os.environ)
    os.environ.update({"STRATDSL_AUDIT_KEY": str(keys[0]), "STRATDSL_AUDIT_CHECKPOINT_EVERY": "3"})
    try:
        for n in range(6):
            audit.append(env_log, [{"kind": "note", "n": n}])
    finally:
        os.environ.clear()
        os.environ.update(old)
    assert sum(i["entry"]["kind"] == "checkpoint" for i in audit.read(env_log)) >= 2


def test_checkpoint_and_head_commands(keys, tmp_path):
    log = tmp_path / "log.jsonl"
    assert cli("eval", POLICY, ASSESSMENT, "--as-of", AS_OF, "--audit-log", log).exit_code == 0
    head = tmp_path / "head.json"
    done = cli("audit", "checkpoint", log, "--key", keys[0], "-o", head)
    assert done.exit_code == 0, done.output
    data = json.loads(head.read_text())
    assert data["format"] == "stratdsl-audit-head" and data["size"] == str(len(audit.read(log)) - 1)
    printed = cli("audit", "head", log)
    assert json.loads(printed.stdout) == data
    code, out = verify(log, "--key", keys[1], "--expect-head", head)
    assert code == 0 and "holds the external head" in out, out
    assert cli("audit", "head", tmp_path / "none.jsonl").exit_code == 1


# ================================================================== the table of docs/audit.md §10


def _rewritten_outcome(log: Path) -> bytes:
    """Change one decision's outcome and recompute every hash (checkpoints copied as they were)."""
    entries = entries_of(log)
    n = next(k for k, e in enumerate(entries) if e["kind"] == "decision")
    entries[n]["outcome"] = "forged"
    return rewrite(entries)


def _cut_to_first_unit(log: Path) -> bytes:
    """Keep the log up to (and with) its first checkpoint: a clean cut at a unit boundary."""
    lines = log.read_bytes().splitlines(keepends=True)
    first = next(k for k, line in enumerate(lines) if b'"kind":"checkpoint"' in line)
    return b"".join(lines[: first + 1])


# --- no key, no head: only the chain


def test_without_key_or_head_a_rewrite_and_a_clean_cut_are_not_detected(signed, tmp_path):
    forged = tmp_path / "forged.jsonl"
    entries = entries_of(signed)
    entries = [e for e in entries if e["kind"] != "checkpoint"]  # the forger drops the checkpoints
    n = next(k for k, e in enumerate(entries) if e["kind"] == "decision")
    entries[n]["outcome"] = "forged"
    forged.write_bytes(rewrite(entries))
    assert verify(forged)[0] == 0
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(_cut_to_first_unit(signed))
    assert verify(cut)[0] == 0


def test_without_key_checkpoints_are_checked_for_position_but_not_signature(signed, tmp_path):
    code, out = verify(signed)
    assert code == 0 and "signatures NOT checked (no --key)" in out
    forged = tmp_path / "forged.jsonl"
    forged.write_bytes(_rewritten_outcome(signed))  # checkpoints kept: their heads no longer match
    code, out = verify(forged)
    assert code == 1 and "error[E414]" in out and "does not sign the log before it" in out


# --- key, no head


def test_with_the_key_a_rewrite_is_detected_even_with_re_signed_positions(keys, signed, tmp_path):
    forged = tmp_path / "forged.jsonl"
    forged.write_bytes(_rewritten_outcome(signed))
    assert verify(forged, "--key", keys[1])[0] == 1
    # the forger also fixes each checkpoint's size and head (he cannot sign them)
    entries = entries_of(signed)
    n = next(k for k, e in enumerate(entries) if e["kind"] == "decision")
    entries[n]["outcome"] = "forged"
    prev = audit.GENESIS
    lines = []
    for seq, entry in enumerate(entries, start=1):
        if entry["kind"] == "checkpoint":
            entry = {**entry, "size": str(seq - 1), "head": prev}
        text, prev = audit._line(seq, prev, entry)
        lines.append(text)
    forged.write_text("".join(lines), encoding="utf-8")
    assert verify(forged)[0] == 0  # without the key this rewrite passes …
    code, out = verify(forged, "--key", keys[1])  # … with it, the signature does not
    assert code == 1 and "error[E414]" in out and "signature is not valid" in out


def test_with_the_key_a_checkpoint_signed_by_another_key_is_detected(keys, signed, tmp_path):
    other = tmp_path / "other.key"
    signing.keygen(other)
    log = tmp_path / "mixed.jsonl"
    log.write_bytes(signed.read_bytes())
    audit.append(log, [], signer=signing.signer(signing.load_private(other)), checkpoint_at_end=True)
    code, out = verify(log, "--key", keys[1])
    assert code == 1 and "signed by another key" in out


def test_with_the_key_unsigned_entries_after_the_last_checkpoint_are_detected(keys, signed, tmp_path):
    log = tmp_path / "tail.jsonl"
    log.write_bytes(signed.read_bytes())
    assert cli("eval", POLICY, ASSESSMENT, "--as-of", AS_OF, "--audit-log", log).exit_code == 0  # no key: no checkpoint
    code, out = verify(log, "--key", keys[1])
    assert code == 1 and "error[E415]" in out and "not signed after the last checkpoint" in out
    unsigned = len(audit.read(log)) - len(audit.read(signed))
    assert verify(log, "--key", keys[1], "--allow-unsigned", unsigned)[0] == 0
    # dropping every checkpoint (and re-hashing) leaves a log with none: detected too
    stripped = tmp_path / "stripped.jsonl"
    stripped.write_bytes(rewrite([e for e in entries_of(signed) if e["kind"] != "checkpoint"]))
    code, out = verify(stripped, "--key", keys[1])
    assert code == 1 and "E415" in out and "holds no checkpoint" in out


def test_with_the_key_but_no_head_a_cut_at_a_checkpoint_is_not_detected(keys, signed, tmp_path):
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(_cut_to_first_unit(signed))
    assert verify(cut, "--key", keys[1])[0] == 0


def test_with_the_key_checkpoint_times_must_not_go_back(keys, tmp_path):
    log = tmp_path / "log.jsonl"
    private = signing.load_private(keys[0])
    ident = signing.key_id(private.public_key())

    def at(time: str):
        def sign(size: int, head: str) -> dict:
            sig = private.sign(signing.statement(str(size), head, time, ident))
            return {"kind": "checkpoint", "size": str(size), "head": head, "time": time, "key": ident, "signature": base64.b64encode(sig).decode()}
        return sign

    audit.append(log, [{"kind": "note"}], signer=at("2026-11-26T10:00:00Z"), checkpoint_at_end=True)
    audit.append(log, [{"kind": "note"}], signer=at("2026-11-25T10:00:00Z"), checkpoint_at_end=True)
    code, out = verify(log, "--key", keys[1])
    assert code == 1 and "is before the previous checkpoint" in out


# --- head, no key


@pytest.fixture()
def head(signed, tmp_path) -> Path:
    path = tmp_path / "head.json"
    assert cli("audit", "head", signed, "-o", path).exit_code == 0
    return path


def test_with_a_head_a_cut_before_it_is_detected(signed, head, tmp_path):
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(_cut_to_first_unit(signed))
    code, out = verify(cut, "--expect-head", head)
    assert code == 1 and "error[E416]" in out and "the log was cut" in out


def test_with_a_head_a_rewrite_before_it_is_detected_without_the_key(signed, head, tmp_path):
    forged = tmp_path / "forged.jsonl"
    entries = entries_of(signed)
    n = next(k for k, e in enumerate(entries) if e["kind"] == "decision")
    entries[n]["outcome"] = "forged"
    prev = audit.GENESIS
    lines = []
    for seq, entry in enumerate(entries, start=1):
        if entry["kind"] == "checkpoint":
            entry = {**entry, "size": str(seq - 1), "head": prev}
        text, prev = audit._line(seq, prev, entry)
        lines.append(text)
    forged.write_text("".join(lines), encoding="utf-8")
    code, out = verify(forged, "--expect-head", head)
    assert code == 1 and "error[E417]" in out and "the log was rewritten" in out


def test_with_a_head_entries_after_it_are_only_chained(signed, head, tmp_path):
    log = tmp_path / "more.jsonl"
    log.write_bytes(signed.read_bytes())
    assert cli("eval", POLICY, ASSESSMENT, "--as-of", "2026-11-27", "--audit-log", log).exit_code == 0
    code, out = verify(log, "--expect-head", head)
    assert code == 0 and "holds the external head" in out
    # … so removing them again is not detected by that head
    log.write_bytes(signed.read_bytes())
    assert verify(log, "--expect-head", head)[0] == 0


# --- key and head


def test_with_key_and_head_a_forged_head_is_detected(keys, signed, head, tmp_path):
    data = json.loads(head.read_text())
    forged = tmp_path / "forged-head.json"
    forged.write_text(json.dumps({**data, "size": str(int(data["size"]) - 1)}), encoding="utf-8")
    code, out = verify(signed, "--key", keys[1], "--expect-head", forged)
    assert code == 1 and "error[E414]" in out and "the external head" in out
    # the same forged head without the key: not signed-checked, but it no longer matches the log
    code, out = verify(signed, "--expect-head", forged)
    assert code == 1 and "error[E417]" in out
    code, out = verify(signed, "--key", keys[1], "--expect-head", head)
    assert code == 0 and "signatures valid" in out and "holds the external head" in out


def test_two_heads_are_consistent_through_the_log(keys, signed, head, tmp_path):
    """CT's consistency between two heads: an old head and a newer one, both prefixes of the log."""
    log = tmp_path / "grown.jsonl"
    log.write_bytes(signed.read_bytes())
    assert cli("eval", POLICY, ASSESSMENT, "--as-of", "2026-11-27", "--audit-log", log, "--audit-key", keys[0]).exit_code == 0
    newer = tmp_path / "newer.json"
    assert cli("audit", "head", log, "-o", newer).exit_code == 0
    code, out = verify(log, "--key", keys[1], "--expect-head", head, "--expect-head", newer)
    assert code == 0 and out.count("holds the external head") == 2, out
    # a log rewritten between the two heads: consistent with the old one, not with the new one
    entries = entries_of(log)
    old_size = int(json.loads(head.read_text())["size"])
    n = next(k for k, e in enumerate(entries) if k >= old_size and e["kind"] == "decision")
    entries[n]["outcome"] = "forged"
    prev = audit.GENESIS
    lines = []
    for seq, entry in enumerate(entries, start=1):
        if entry["kind"] == "checkpoint":
            entry = {**entry, "size": str(seq - 1), "head": prev}
        text, prev = audit._line(seq, prev, entry)
        lines.append(text)
    log.write_text("".join(lines), encoding="utf-8")
    assert verify(log, "--expect-head", head)[0] == 0
    code, out = verify(log, "--expect-head", head, "--expect-head", newer)
    assert code == 1 and "error[E417]" in out


def test_a_head_file_that_is_not_one_is_a_coded_error(signed, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"size": 3}', encoding="utf-8")
    result = cli("audit", "verify", signed, "--expect-head", bad)
    assert result.exit_code == 1 and "E419" in result.stderr
    result = cli("audit", "verify", signed, "--expect-head", tmp_path / "missing.json")
    assert result.exit_code == 1 and "E419" in result.stderr
    result = cli("audit", "verify", signed, "--key", tmp_path / "missing.pub")
    assert result.exit_code == 1 and "E418" in result.stderr
