"""The report as one self-contained HTML page: no network, no CDN, opens offline, prints on A4.

Everything is inline: the style sheet, the charts (SVG) and a six-line script
that opens an explanation when a link points at it. A Content-Security-Policy
with the hashes of that style and script forbids any other resource, so a
report can never fetch anything. Page 1 is the summary for management; the
charts, the risk table, the explanations (each in a `<details>`) and the
provenance follow, each section starting a new printed page.

The markup lives in Jinja2 templates (report/templates/*.j2, one per section,
the small pieces in _macros.html.j2), rendered with autoescape and
StrictUndefined. Escaping is html.escape's (`&quot;`, `&#x27;`), as before the
templates, so the bytes of a report do not depend on how it is produced. This
module only prepares the context: the Report, its Locale, and a few helpers
(charts, badge classes) that the templates call. docs/reports.md lists the
templates and the variables they receive.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox
from markupsafe import Markup

from ..language.diagnostics import Diagnostic, StratError
from ..language.messages import N_, Msg
from ..language.source import Span
from ..language.urls import safe_url
from .i18n import Locale
from .model import DecisionView, EntityView, ObligationView, Report, ValueView, safe_id
from .svg import PHASE_COLOURS, gantt, matrix, phase_label, quadrant_colours, radar
from .theme import DEFAULT_THEME, Theme

TEMPLATES = Path(__file__).parent / "templates"

SCRIPT = (
    "(function(){function open(){var id=decodeURIComponent(location.hash.slice(1));"
    "if(!id)return;var e=document.getElementById(id);"
    "while(e){if(e.tagName==='DETAILS'){e.open=true;}e=e.parentElement;}}"
    "window.addEventListener('hashchange',open);open();})();"
)


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


@jinja2.pass_eval_context
def _finalize(eval_ctx: Any, value: Any) -> Any:
    """Every `{{ … }}` in an HTML template: html.escape (quote=True) unless already markup; CSS templates print as is."""
    if not eval_ctx.autoescape or hasattr(value, "__html__"):
        return value
    return Markup(escape(str(value), quote=True))


def _css_string(text: str) -> str:
    """Text inside a CSS string: escape backslashes and quotes, and '<' so that no text can close the <style> element."""
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("<", "\\3c ")


def _numbered(uc: EntityView) -> str:
    return f"{uc.number}. {uc.name}"


@lru_cache(maxsize=8)
def environment(template_dir: str | None = None) -> jinja2.Environment:
    """The templates of `template_dir` (when given) first, by name, then the packaged ones."""
    loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(str(TEMPLATES))]
    if template_dir is not None:
        loaders.insert(0, jinja2.FileSystemLoader(template_dir))
    # a user's templates run sandboxed: they read the report, they cannot reach Python's internals;
    # the packaged ones are ours, and the sandbox's checks on every attribute would cost ~40% of the time
    kind = jinja2.Environment if template_dir is None else jinja2.sandbox.SandboxedEnvironment
    env = kind(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=lambda name: name is not None and name.endswith(".html.j2"),
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters["css_string"] = _css_string
    env.filters["numbered"] = _numbered
    return env


class _Context:
    """What the templates receive besides the Report: its Locale and the helpers that compute classes and charts."""

    def __init__(self, report: Report, theme: Theme) -> None:
        self.r = report
        self.loc = Locale(report.lang)
        self.theme = theme

    def quadrant_class(self, d: DecisionView | None) -> str | None:
        if d is None or not d.decided:
            return None
        for name, _, hi, he in self.r.quadrant_outcomes:
            if name == d.outcome:
                return f"q-{'hi' if hi else 'lo'}-{'hi' if he else 'lo'}"
        return None

    def severity_class(self, d: DecisionView | None) -> str | None:
        """Outcomes declared first are the most severe (prohibited, high, …, minimal): dark red to green."""
        if d is None or not d.decided or d.outcome_index is None:
            return None
        level = 0 if d.outcome_count <= 1 else round(d.outcome_index * 3 / (d.outcome_count - 1))
        return f"sev-{level}"

    def obligation_dates(self, o: ObligationView) -> str:
        dates = []
        if o.valid_from:
            key = "in_force_from" if o.valid_from > self.r.as_of else "in_force_since"
            dates.append(self.loc.t(key, date=self.loc.date(o.valid_from)))
        if o.valid_until:
            dates.append(self.loc.t("in_force_until", date=self.loc.date(o.valid_until)))
        return ", ".join(dates)

    def month_text(self, v: ValueView) -> str:
        n = v.as_int()
        text = self.loc.t("month_short", n=n) if n is not None else self.loc.number(v.value)
        if n is not None and self.r.horizon and n > self.r.horizon:
            text += f" ({self.loc.t('beyond_horizon', n=self.r.horizon)})"
        return text

    def undetermined_weak(self) -> list[EntityView]:
        return [d for d in self.r.dimensions if (w := d.decisions.get(self.r.spec.weakness)) is not None and w.undetermined]

    def decision_label(self, name: str) -> str:
        for uc in self.r.usecases:
            if name in uc.decisions:
                return uc.decisions[name].label
        return name

    def unplaced(self) -> list[EntityView]:
        spec = self.r.spec
        return [uc for uc in self.r.usecases if not all((v := uc.values.get(k)) is not None and v.known for k in (spec.impact, spec.effort))]

    def id_rows(self) -> list[list[tuple[str, str, str | None]]]:
        """The decision ids in two columns: the first half down the left, the rest down the right."""
        ids = self.r.decision_ids
        half = (len(ids) + 1) // 2
        return [[ids[i]] + ([ids[i + half]] if i + half < len(ids) else []) for i in range(half)]

    def variables(self) -> dict[str, Any]:
        r, loc = self.r, self.loc
        return {
            "report": r,
            "theme": self.theme,
            "links": True,  # figures link to their explanations (report.html.j2 sets it false for the management view)
            "summary_only": False,
            "loc": loc,
            "spec": r.spec,
            "anchors": r.anchors,
            "colon": " : " if r.lang == "fr" else ": ",
            "sep": " ; " if r.lang == "fr" else "; ",
            "git": r.provenance.get("git") or {},
            "unplaced": self.unplaced(),
            "id_rows": self.id_rows(),
            "title": f"{r.title} — {loc.t('as_of', date=loc.date(r.as_of))}",
            "script": Markup(SCRIPT),
            # helpers
            "gantt": lambda chart_id="chart-gantt", links=True: Markup(gantt(r, loc, chart_id, links)),
            "matrix_chart": lambda: Markup(matrix(r, loc)),
            "radar": lambda: Markup(radar(r, loc)),
            "phase_label": lambda key: phase_label(loc, key),
            "safe_id": safe_id,
            "safe_url": safe_url,
            "quadrant_class": self.quadrant_class,
            "severity_class": self.severity_class,
            "obligation_dates": self.obligation_dates,
            "month_text": self.month_text,
            "undetermined_weak": self.undetermined_weak,
            "decision_label": self.decision_label,
        }


def render_html(report: Report, template_dir: str | Path | None = None, theme: Theme = DEFAULT_THEME, summary_only: bool = False) -> str:
    """The page (only its cover and summary with `summary_only`); templates in `template_dir`
    replace the packaged ones of the same name.

    An error in one of those templates (syntax, an unknown variable, a forbidden
    attribute, anything raised while it renders) is a StratError E611 located at
    the template's file and line; an error in a packaged template is a bug."""
    folder = str(template_dir) if template_dir is not None else None
    env = environment(folder)
    try:
        variables = _Context(report, theme).variables()
        variables["summary_only"] = summary_only
        style = env.get_template("style.css.j2").render(variables).strip()
        variables["style"] = Markup(style)
        variables["csp"] = (
            "default-src 'none'; "
            f"style-src {_csp_hash(style)}; script-src {_csp_hash(SCRIPT)}; "
            "img-src data:; base-uri 'none'; form-action 'none'"
        )
        return env.get_template("report.html.j2").render(variables)
    except Exception as error:
        where = _user_template_line(error, folder) if folder is not None else None
        if where is None:
            raise
        file, line = where
        message = getattr(error, "message", None) or str(error) or type(error).__name__
        raise StratError([
            Diagnostic(
                "E611",
                Msg(N_("template syntax error: {message}"), message=message)
                if isinstance(error, jinja2.TemplateSyntaxError)
                else Msg(N_("template error: {message}"), message=message),
                Span(file, line, 1, line, 1),
                hint=Msg(N_("docs/reports.md lists each template's variables; remove the file to use the packaged template")),
            )
        ]) from None


def _user_template_line(error: BaseException, folder: str) -> tuple[str, int] | None:
    """The file and line, in the user's template folder, where rendering failed (the innermost such frame)."""
    root = Path(folder).resolve()

    def mine(name: str | None) -> bool:
        if not name:
            return False
        try:
            return Path(name).resolve().is_relative_to(root)
        except (OSError, ValueError):
            return False

    if isinstance(error, jinja2.TemplateSyntaxError) and mine(error.filename):
        return str(error.filename), error.lineno
    found = None
    tb = error.__traceback__
    while tb is not None:
        if mine(tb.tb_frame.f_code.co_filename):
            found = (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
        tb = tb.tb_next
    return found


__all__ = ["PHASE_COLOURS", "TEMPLATES", "environment", "quadrant_colours", "render_html"]
