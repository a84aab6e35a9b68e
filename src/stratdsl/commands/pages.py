"""The web questionnaire's HTML: Jinja2 templates, the theme, and their check at start-up.

Owns: the template environment of `stratdsl serve` (the package's `templates/` folder, searched
after `--template-dir DIR` when one is given; `stratdsl/NAME` always reaches the built-in NAME),
the theme (`--logo`, `--accent`, `--company-name`), and the start-up check that compiles every
template of DIR and renders every page once, so that a broken template is a coded error
(E620–E625, docs/errors.md) before the service listens, never a 500 with a traceback.
Input: a page's context, plain data built by service.py; output: the page's text.

Autoescape is on, with `html.escape` as the escaping function (the environment's `finalize`
returns Markup): the pages keep the bytes they had before the templates (`&quot;`, `&#x27;`),
those of the report. Undefined names raise (StrictUndefined). Environments are built once per
app, and templates are never reloaded from disk while it runs.
"""

from __future__ import annotations

import base64
import html
import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from ..language.diagnostics import Diagnostic, StratError
from ..language.messages import N_, Msg
from ..language.source import Span

TEMPLATES = Path(__file__).with_name("templates")
#: the pages the service renders; every other template is a piece of them (page.html, macros.html)
PAGES = ("questionnaire.html", "result.html", "message.html")
ACCENT = "#12355b"
MAX_LOGO = 256 * 1024  # bytes: the logo is inlined (a data: URI) in every page
MAX_COMPANY_NAME = 100
CSRF_FIELD = "csrf"
ENV = {  # the app factory's environment variables (app_from_env, `serve --workers N`)
    "template_dir": "STRATDSL_SERVE_TEMPLATE_DIR",
    "logo": "STRATDSL_SERVE_LOGO",
    "accent": "STRATDSL_SERVE_ACCENT",
    "company_name": "STRATDSL_SERVE_COMPANY_NAME",
}
_IMAGES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"))


@dataclass(frozen=True)
class ThemeOptions:
    """The theme as given on the command line or in the environment, not checked yet."""

    template_dir: str | None = None
    logo: str | None = None
    accent: str | None = None
    company_name: str | None = None

    def to_env(self) -> dict[str, str]:
        return {var: getattr(self, key) or "" for key, var in ENV.items()}

    @classmethod
    def from_env(cls, environ: Any) -> ThemeOptions:
        return cls(**{key: environ.get(var) or None for key, var in ENV.items()})


@dataclass(frozen=True)
class Theme:
    """A checked theme: a template folder, the logo as a data: URI, a #rrggbb accent colour."""

    template_dir: Path | None = None
    logo: str | None = None
    accent: str = ACCENT
    company_name: str | None = None


def load_theme(options: ThemeOptions) -> Theme:
    """Check every option and read the logo; every problem at once, as E620 and E623–E625."""
    problems: list[Diagnostic] = []
    template_dir = None
    if options.template_dir is not None:
        path = Path(options.template_dir)
        if path.is_dir():
            template_dir = path.resolve()
        else:
            if path.exists():
                message = Msg(N_("--template-dir: '{path}' is not a folder"), path=options.template_dir)
            else:
                message = Msg(N_("--template-dir: '{path}' does not exist"), path=options.template_dir)
            problems.append(Diagnostic("E620", message,
                                       hint=Msg(N_("give the folder that holds your page.html, questionnaire.html, result.html or message.html"))))
    logo = None
    if options.logo is not None:
        logo, problem = _read_logo(options.logo)
        if problem is not None:
            problems.append(problem)
    accent = ACCENT
    if options.accent is not None:
        if re.fullmatch(r"#[0-9a-fA-F]{6}", options.accent.strip()):
            accent = options.accent.strip().lower()
        else:
            problems.append(Diagnostic("E624", Msg(N_("--accent: '{accent}' is not a colour #rrggbb"), accent=options.accent[:40]),
                                       hint=Msg(N_("write six hexadecimal digits, e.g. --accent '{example}'"), example="#0b6e4f")))
    company = None
    if options.company_name is not None:
        company = " ".join(options.company_name.split())
        if not company or len(company) > MAX_COMPANY_NAME or any(unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs") for c in company):
            problems.append(Diagnostic("E625", Msg(N_("--company-name: give 1 to {n} printable characters"), n=MAX_COMPANY_NAME),
                                       hint=Msg(N_("the name is shown at the top of every page; leave the option out for none"))))
    if problems:
        raise StratError(problems)
    return Theme(template_dir, logo, accent, company)


def _read_logo(given: str) -> tuple[str | None, Diagnostic | None]:
    """The logo file → a data: URI (the pages load nothing from the network)."""
    hint = Msg(N_("give a PNG, JPEG, GIF, WebP or SVG file"))
    path = Path(given)
    try:
        data = path.read_bytes()
    except OSError as error:
        return None, Diagnostic("E623", Msg(N_("--logo: cannot read '{path}': {reason}"), path=given, reason=error.strerror or error), hint=hint)
    if len(data) > MAX_LOGO:
        return None, Diagnostic("E623", Msg(N_("--logo: '{path}' has {size} bytes, more than {limit}"), path=given, size=len(data), limit=MAX_LOGO),
                          hint=Msg(N_("the logo is inlined in every page: shrink it")))
    kind = next((k for magic, k in _IMAGES if data.startswith(magic)), None)
    if kind is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        kind = "image/webp"
    if kind is None and b"<svg" in data[:4096] and data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"<?xml", b"<svg", b"<!--", b"<!DOCTYPE")):
        kind = "image/svg+xml"  # shown by <img>, where an SVG's scripts never run
    if kind is None:
        return None, Diagnostic("E623", Msg(N_("--logo: '{path}' is not an image stratdsl knows"), path=given), hint=hint)
    return f"data:{kind};base64,{base64.b64encode(data).decode()}", None


_SPECIAL = re.compile(r"[&<>\"']")


def _finalize(value: Any) -> Any:
    """Every `{{ value }}`, escaped by html.escape (autoescape then leaves the Markup as is).
    Most values have nothing to escape: those go through as they are, autoescape finds nothing."""
    if hasattr(value, "__html__"):
        return value
    text = value if type(value) is str else str(value)
    return Markup(html.escape(text, quote=True)) if _SPECIAL.search(text) else text


class _Environment(jinja2.Environment):
    """`q.name` on a plain dict (every context of the pages) looks the key up first: Jinja's
    own order, attribute then item, raises and catches an AttributeError for each of the
    thousand or so lookups of a form, a third of its rendering time."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


def _environment(template_dir: Path | None, theme: Theme) -> jinja2.Environment:
    builtin = jinja2.FileSystemLoader(TEMPLATES)
    loaders: list[jinja2.BaseLoader] = [jinja2.PrefixLoader({"stratdsl": builtin})]
    if template_dir is not None:
        loaders.insert(0, jinja2.FileSystemLoader(template_dir))
    loaders.append(builtin)
    env = _Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        auto_reload=False,  # no stat() of every template on every request
        cache_size=-1,
    )
    env.globals.update(accent=theme.accent, logo=theme.logo, company_name=theme.company_name, csrf_field=CSRF_FIELD)
    return env


class PageError(Exception):
    """A page of --template-dir failed while rendered (E622): `page` is the built-in page that says so."""

    def __init__(self, page: str) -> None:
        super().__init__("a page template failed")
        self.page = page


class Pages:
    """The pages of one app: its environment, built once, and the compiled page templates."""

    def __init__(self, theme: Theme | None = None) -> None:
        self.theme = theme or Theme()
        self._builtin = _environment(None, Theme(accent=self.theme.accent))
        self._env = self._builtin if self.theme == Theme(accent=self.theme.accent) else _environment(self.theme.template_dir, self.theme)
        self._templates = {name: self._env.get_template(name) for name in PAGES}

    @property
    def custom(self) -> bool:
        return self._env is not self._builtin

    def render(self, name: str, context: dict[str, Any]) -> str:
        if not self.custom:
            return self._templates[name].render(context)
        try:
            return self._templates[name].render(context)
        except Exception as error:  # a template of the user's: say which, and never a traceback
            diagnostic = _render_error(name, error)
            print(f"stratdsl: error[{diagnostic.code}]: {diagnostic.message}", file=sys.stderr, flush=True)
            lang = context.get("lang", "fr")
            words = context["w"]
            fallback = {"lang": lang, "w": words, "kind": "broken", "title": words["broken"], "message": words["broken_help"], "back": False}
            raise PageError(self._builtin.get_template("message.html").render(fallback)) from None


def _render_error(name: str, error: Exception) -> Diagnostic:
    where = _template_line(error)
    kind = type(error).__name__
    if where:
        message = Msg(N_("the template {name} failed (at {where}): {kind}: {error}"), name=name, where=where, kind=kind, error=error)
    else:
        message = Msg(N_("the template {name} failed: {kind}: {error}"), name=name, kind=kind, error=error)
    return Diagnostic("E622", message, hint=Msg(N_("fix the template in --template-dir; `stratdsl serve` checks every page at start-up")))


def _template_line(error: Exception) -> str:
    """'FILE:LINE' from the traceback of a render error ('' when none): Jinja marks its template frames."""
    tb = error.__traceback__
    found = ""
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".html") and Path(filename).exists():
            found = f"{filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found


_NO_COMPILE = N_("the template {name} does not compile: {error}")


def check_pages(theme: Theme, samples: dict[str, list[dict[str, Any]]]) -> Pages:
    """The app's Pages, after compiling every template of the theme's folder (E621) and rendering
    each page with `samples` (E622): a broken template stops the service before it listens."""
    problems: list[Diagnostic] = []
    pages = None
    if theme.template_dir is not None:
        env = _environment(theme.template_dir, theme)
        for path in sorted(theme.template_dir.rglob("*.html")):
            name = path.relative_to(theme.template_dir).as_posix()
            try:
                env.get_template(name)
            except jinja2.TemplateSyntaxError as error:
                line = error.lineno or 1
                problems.append(Diagnostic("E621", Msg(_NO_COMPILE, name=name, error=error.message),
                                           Span(str(path), line, 1, line, 2), hint=Msg(N_("see {url}"), url="https://jinja.palletsprojects.com/en/stable/templates/")))
            except (UnicodeDecodeError, OSError) as error:
                problems.append(Diagnostic("E621", Msg(N_("the template {name} cannot be read: {error}"), name=name, error=error), Span(str(path), 1, 1, 1, 2)))
    if not problems:
        try:
            pages = Pages(theme)
        except jinja2.TemplateSyntaxError as error:  # a template reached from a page, outside the folder
            problems.append(Diagnostic("E621", Msg(_NO_COMPILE, name=error.name, error=error.message)))
        except jinja2.TemplateNotFound as error:
            problems.append(Diagnostic("E621", Msg(N_("the template {name} is not found"), name=error.name),
                                           hint=Msg(N_("a template of --template-dir extends or imports it"))))
    if pages is not None and pages.custom:
        for name, contexts in samples.items():
            for context in contexts:
                try:
                    pages._templates[name].render(context)
                except Exception as error:  # any failure of a user's template is reported, not raised
                    problems.append(_render_error(name, error))
                    break
    if problems:
        raise StratError(problems)
    assert pages is not None
    return pages
