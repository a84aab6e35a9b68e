"""The report's theme: accent colour, logo and the issuer's name, checked before any work.

    --accent #rrggbb, --logo FILE, --company-name TEXT ─load_theme─▶ Theme (or ThemeProblem)

A logo is embedded as a data URI (the report stays one offline file, and the
Content-Security-Policy already allows `img-src data:` only); it must be a
PNG, JPEG or SVG by its bytes, not by its name, and at most LOGO_MAX bytes.
An SVG shown through <img> runs no script. The accent colours headings, links
and borders, so it must be readable on white (contrast at least 4.5:1, WCAG AA).
"""

from __future__ import annotations

import base64
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..language.diagnostics import Diagnostic
from ..language.messages import N_, Msg

DEFAULT_ACCENT = "#1d4f91"
LOGO_MAX = 256 * 1024
NAME_MAX = 80
_HEX = re.compile(r"#[0-9a-fA-F]{6}")
_SVG_PROLOGUE = re.compile(r"^(\s+|<\?xml[^>]*\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*", re.S)


@dataclass(frozen=True)
class Theme:
    accent: str = DEFAULT_ACCENT
    logo: str | None = None  # a data: URI
    company_name: str | None = None


DEFAULT_THEME = Theme()


class ThemeProblem(Exception):
    """A bad theme option: its diagnostic, and whether it is a usage error (exit 2) or a bad file (exit 1)."""

    def __init__(self, diagnostic: Diagnostic, usage: bool) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic
        self.usage = usage


def contrast_on_white(colour: str) -> float:
    """The WCAG contrast ratio of `#rrggbb` on white."""

    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    lum = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    return 1.05 / (lum + 0.05)


def check_accent(accent: str) -> str:
    if not _HEX.fullmatch(accent):
        raise ThemeProblem(Diagnostic(
                "E615",
                Msg(N_("--accent '{accent}' is not a colour #rrggbb"), accent=accent),
                hint=Msg(N_("write six hexadecimal digits, e.g. --accent '{example}'"), example="#1d4f91"),
            ), True)
    accent = accent.lower()
    ratio = contrast_on_white(accent)
    if ratio < 4.5:
        raise ThemeProblem(
            Diagnostic(
                "E616",
                Msg(N_("--accent {accent} is too light to read on white (contrast {ratio}:1, at least 4.5:1 needed)"), accent=accent, ratio=f"{ratio:.2f}"),
                hint=Msg(N_("choose a darker colour")),
            ),
            True,
        )
    return accent


def logo_kind(data: bytes) -> str | None:
    """The MIME type of a logo by its first bytes: PNG, JPEG or SVG; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    rest = text[_SVG_PROLOGUE.match(text).end() :]
    return "image/svg+xml" if re.match(r"<svg[\s>/]", rest) else None


def load_logo(path: str) -> str:
    file = Path(path)
    if not file.is_file():
        raise ThemeProblem(Diagnostic("E612", Msg(N_("--logo '{path}' is not a file"), path=path), hint=Msg(N_("give the path of a PNG, JPEG or SVG image"))), True)
    size = file.stat().st_size
    if size > LOGO_MAX:
        raise ThemeProblem(
            Diagnostic(
                "E614",
                Msg(N_("--logo '{path}' is {size} bytes, more than {limit} (256 KiB)"), path=path, size=size, limit=LOGO_MAX),
                hint=Msg(N_("export a smaller image: a logo prints at most 60 × 16 mm")),
            ),
            False,
        )
    try:
        data = file.read_bytes()
    except OSError as error:
        raise ThemeProblem(Diagnostic("E612", Msg(N_("--logo '{path}' cannot be read: {reason}"), path=path, reason=error.strerror or error)), True) from None
    kind = logo_kind(data)
    if kind is None:
        raise ThemeProblem(Diagnostic("E613", Msg(N_("--logo '{path}' is not a PNG, JPEG or SVG image"), path=path), hint=Msg(N_("the type is read from the file's bytes, not its name"))), False)
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


def check_company_name(name: str) -> str:
    text = " ".join(name.split())
    if not text or len(text) > NAME_MAX or any(unicodedata.category(c).startswith("C") for c in text):
        raise ThemeProblem(
            Diagnostic(
                "E617",
                Msg(N_("--company-name must be 1 to {n} printable characters (got {given})"), n=NAME_MAX, given=len(text)),
                hint=Msg(N_("e.g. --company-name '{example}'"), example="Cabinet Dupont Conseil"),
            ),
            True,
        )
    return text


def load_theme(accent: str | None = None, logo: str | None = None, company_name: str | None = None) -> Theme:
    """Check every option (raises ThemeProblem on the first bad one)."""
    return Theme(
        accent=check_accent(accent) if accent is not None else DEFAULT_ACCENT,
        logo=load_logo(logo) if logo is not None else None,
        company_name=check_company_name(company_name) if company_name is not None else None,
    )
