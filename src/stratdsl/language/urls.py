"""Links a policy may give (`source NAME "Title" url "…"`): http and https only, written safely.

One function, `safe_url`, used by the checker (E062 for a policy that gives any other link)
and again by every output that makes a link of it — the report's HTML and Markdown, and
templates that may come later — so that a checked-out policy, a hand-built IR or an old
compiled policy can never put `javascript:`, `data:` or raw markup into a link.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

ALLOWED_SCHEMES = ("http", "https")
MAX_URL = 2000

# Characters kept as they are: unreserved and most reserved characters of RFC 3986. Left out,
# so percent-encoded: ( ) [ ] < > ' " ` \ space and controls — the characters that could end a
# Markdown link destination or an HTML attribute, or hide in one.
_KEEP = ":/?#@!$&*+,;=%-._~"


def url_problem(url: str) -> str | None:
    """Why `url` is not a link a policy may give; None when it is one."""
    if len(url) > MAX_URL:
        return f"it is longer than {MAX_URL} characters"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F or ch.isspace() for ch in url):
        return "it holds a space or a control character"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "it is not a valid address"
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        return f"only {' and '.join(ALLOWED_SCHEMES)} addresses are allowed" + (f", not '{parts.scheme}:'" if parts.scheme else "")
    if not parts.hostname:
        return "it names no host"
    return None


def safe_url(url: str | None) -> str | None:
    """`url` ready to be put in an HTML attribute (after HTML escaping) or a Markdown link
    destination: None unless it is an http(s) address; otherwise percent-encoded outside a
    conservative set of characters (an existing %XX is kept)."""
    if url is None or url_problem(url) is not None:
        return None
    return quote(url, safe=_KEEP)
