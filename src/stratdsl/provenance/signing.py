"""Signed checkpoints of the audit log (Ed25519, the `cryptography` package).

A checkpoint is the log's signed tree head, as in Certificate Transparency
(RFC 6962 §3.5, RFC 9162 §4.10) reduced to a hash chain: the signature of
`(size, head, time)` where `size` is the number of entries it covers and
`head` the hash of entry `size`. Inside the log it is an entry of its own,
chained after the entries it covers; outside (`audit head`, `audit
checkpoint -o`) it is a small JSON file — a *head* — kept where the writer of
the log cannot change it. Consistency between a head and a log (CT's
consistency proof) is, for a chain, recomputing the chain to `size` and
finding `head` there: then the log extends the head, and was neither cut
before it nor rewritten.

Key files: the private key is PKCS#8 PEM, created 0600 and refused when group
or others can read it; the public key (PEM) sits next to it as `KEY.pub`.
Neither is ever written to the log: a checkpoint names its key by the sha256
of the raw public key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..language.diagnostics import Diagnostic, StratError
from ..language.messages import N_, Msg

KEY_ENV = "STRATDSL_AUDIT_KEY"
EVERY_ENV = "STRATDSL_AUDIT_CHECKPOINT_EVERY"
DEFAULT_EVERY = 100
DOMAIN = b"stratdsl audit checkpoint v1\n"
HEAD_FORMAT = "stratdsl-audit-head"


def _crypto() -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return serialization, ed25519


def _key_error(message: Msg, hint: Msg | None = None) -> StratError:
    return StratError([Diagnostic("E418", message, hint=hint)])


def key_id(public: Any) -> str:
    serialization, _ = _crypto()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def keygen(path: str | Path) -> tuple[Path, Path, str]:
    """Create a private key file (0600, never overwritten) and its public key `PATH.pub`."""
    serialization, ed25519 = _crypto()
    path = Path(path)
    pub_path = path.with_name(path.name + ".pub")
    private = ed25519.Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    pub_pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    for target in (path, pub_path):
        if target.exists() or target.is_symlink():
            raise _key_error(
                Msg(N_("'{path}' already exists: a key is never overwritten"), path=target), Msg(N_("choose another path, or remove the old key yourself"))
            )
    for target, data, mode in ((path, pem, 0o600), (pub_path, pub_pem, 0o644)):
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
        except OSError as error:
            raise _key_error(Msg(N_("cannot create key file '{path}': {reason}"), path=target, reason=error.strerror)) from None
        try:
            os.fchmod(fd, mode)  # the umask may have removed bits, never added any: make it exact
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    return path, pub_path, key_id(private.public_key())


def _read_key_file(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        raise _key_error(Msg(N_("cannot read key file '{path}': {reason}"), path=path, reason=error.strerror)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > 64 * 1024:
            raise _key_error(Msg(N_("'{path}' is not a key file"), path=path))
        return os.read(fd, 64 * 1024)
    finally:
        os.close(fd)


def load_private(path: str | Path) -> Any:
    serialization, ed25519 = _crypto()
    path = Path(path)
    data = _read_key_file(path)
    mode = path.stat().st_mode
    if mode & 0o077:
        raise _key_error(
            Msg(N_("the private key '{path}' can be read by other users (mode {mode})"), path=path, mode=f"{stat.S_IMODE(mode):04o}"),
            Msg(N_("run 'chmod 600 {path}': a key others can read proves nothing"), path=path),
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise _key_error(Msg(N_("'{path}' is not an unencrypted PEM private key"), path=path)) from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise _key_error(Msg(N_("'{path}' is not an Ed25519 key"), path=path))
    return key


def load_public(path: str | Path) -> Any:
    """A public key file, or the public half of a private key file."""
    serialization, ed25519 = _crypto()
    data = _read_key_file(Path(path))
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        try:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError):
            raise _key_error(Msg(N_("'{path}' is not a PEM public or private key"), path=path)) from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise _key_error(Msg(N_("'{path}' is not an Ed25519 key"), path=path))
    return key


def statement(size: str, head: str, time: str, key: str) -> bytes:
    """The bytes signed: a domain tag, then the canonical JSON of the four fields."""
    from ..runtime.values import canonical_json  # not at import: the CLI imports this module for KEY_ENV

    return DOMAIN + canonical_json({"size": size, "head": head, "time": time, "key": key}).encode("utf-8")


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def signer(private: Any) -> Any:
    """A function (size, head) → checkpoint entry, signing with `private`."""
    ident = key_id(private.public_key())

    def sign(size: int, head: str) -> dict[str, Any]:
        when = _now()
        signature = private.sign(statement(str(size), head, when, ident))
        return {"kind": "checkpoint", "size": str(size), "head": head, "time": when, "key": ident, "signature": base64.b64encode(signature).decode("ascii")}

    return sign


def from_env() -> Any:
    """The signer of the key named by STRATDSL_AUDIT_KEY, or None."""
    path = os.environ.get(KEY_ENV)
    return signer(load_private(path)) if path else None


def every() -> int:
    raw = os.environ.get(EVERY_ENV, "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_EVERY


def verifier(public: Any) -> Any:
    """A function checkpoint entry → problem text or None; with `external=True` the entry is an
    external head, and the problem says so."""
    from cryptography.exceptions import InvalidSignature

    ident = key_id(public)

    def check(entry: dict[str, Any], external: bool = False) -> Msg | None:
        if entry.get("key") != ident:
            if external:
                other = N_("the external head: it was signed by another key ({key}…, expected {expected}…)")
            else:
                other = N_("this checkpoint was signed by another key ({key}…, expected {expected}…)")
            return Msg(other, key=str(entry.get("key"))[:16], expected=ident[:16])
        try:
            signature = base64.b64decode(str(entry.get("signature")), validate=True)
            public.verify(signature, statement(entry["size"], entry["head"], entry["time"], entry["key"]))
        except (InvalidSignature, ValueError):
            if external:
                return Msg(N_("the external head: its signature is not valid for the key given: it was forged or altered"))
            return Msg(N_("this checkpoint's signature is not valid for the key given: it was forged or altered"))
        return None

    return check


def head_of(entry: dict[str, Any]) -> dict[str, Any]:
    """The external copy of a checkpoint entry."""
    return {"format": HEAD_FORMAT, **{k: entry[k] for k in ("size", "head", "time", "key", "signature")}}


def dumps_head(entry: dict[str, Any]) -> str:
    return json.dumps(head_of(entry), sort_keys=True, indent=2) + "\n"


def load_head(path: str | Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise StratError([Diagnostic("E419", Msg(N_("cannot read the head file '{path}': {reason}"), path=path, reason=error.strerror))]) from None
    except (ValueError, UnicodeDecodeError):
        raise StratError([Diagnostic("E419", Msg(N_("'{path}' is not a head file (not JSON)"), path=path))]) from None
    fields = ("size", "head", "time", "key", "signature")
    if not isinstance(data, dict) or data.get("format") != HEAD_FORMAT or not all(isinstance(data.get(k), str) for k in fields) or not data["size"].isdigit():
        raise StratError(
            [
                Diagnostic(
                    "E419",
                    Msg(N_("'{path}' is not a stratdsl audit head"), path=path),
                    hint=Msg(N_("write one with 'stratdsl audit head LOG -o FILE' or 'stratdsl audit checkpoint LOG --key KEY -o FILE'")),
                )
            ]
        )
    return data
