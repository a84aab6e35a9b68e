"""Charts as inline SVG: the maturity radar, the impact/effort matrix, the roadmap Gantt chart.

Plain strings, no script, no external resource, no font download: each chart
is an `<svg role="img">` with a `<title>` and a `<desc>` that says in words
what it shows, and every mark links to its explanation in the report. Colour
is never the only carrier of meaning: points carry numbers, bars carry
letters, and a legend names them. Coordinates are written with one decimal,
so the same report gives the same bytes everywhere.
"""

from __future__ import annotations

import math
from decimal import Decimal
from html import escape

from ..runtime.values import format_value
from .i18n import Locale
from .model import EntityView, Report

FONT = "DejaVu Sans, Verdana, Arial, sans-serif"
INK = "#1a1a1a"
MUTED = "#555555"
GRID = "#c8c8c8"

# Quadrant colours (text on white and white on them both pass WCAG AA 4.5:1).
QUADRANT_COLOURS = {
    (True, False): ("#176b32", "#e6f2e9"),  # high impact, low effort
    (True, True): ("#1d4f91", "#e7eef8"),  # high impact, high effort
    (False, False): ("#745600", "#f7f0dc"),  # low impact, low effort
    (False, True): ("#a4201b", "#f9e5e4"),  # low impact, high effort
}
UNDETERMINED = ("#555555", "#eeeeee")

PHASE_COLOURS = {
    "groundwork": "#8a3b12",
    "prerequisites": "#5f5f5f",
    "test": "#1d4f91",
    "adjustment": "#6a3d9a",
    "deployment": "#176b32",
    "standardisation": "#745600",
}
PHASE_LETTERS = {
    "fr": {"groundwork": "F", "prerequisites": "P", "test": "T", "adjustment": "A", "deployment": "D", "standardisation": "S"},
    "en": {"groundwork": "G", "prerequisites": "P", "test": "T", "adjustment": "A", "deployment": "D", "standardisation": "S"},
}


def _f(x: float) -> str:
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _a(text: str) -> str:
    return escape(text, quote=True)


def _open(chart_id: str, width: int, height: int, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{chart_id}" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'font-family="{FONT}" font-size="12" fill="{INK}">',
        f'<title id="{chart_id}-title">{_a(title)}</title>',
        f'<desc id="{chart_id}-desc">{_a(desc)}</desc>',
    ]


def _wrap(text: str, width: int, lines: int = 2) -> list[str]:
    """Split a label into at most `lines` lines of about `width` characters; '…' when cut."""
    words = text.split()
    out: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}".strip()
        if len(candidate) <= width or not current:
            current = candidate
        else:
            out.append(current)
            current = word
    if current:
        out.append(current)
    if len(out) > lines:
        out = out[:lines]
        last = out[-1]
        out[-1] = (last[: width - 1].rstrip() if len(last) >= width else last) + "…"
    return [line if len(line) <= width + 6 else line[: width + 5] + "…" for line in out]


def _score_text(loc: Locale, value, max_: int) -> str:
    return loc.t("to_complete") if value is None else loc.t("scale", value=loc.number(value), max=max_)


# ------------------------------------------------------------------ radar


def radar(report: Report, loc: Locale, chart_id: str = "chart-radar") -> str:
    spec = report.spec
    dims = report.dimensions
    max_ = spec.score_max
    items = []
    for d in dims:
        score = d.values.get(spec.dimension_score)
        level = d.decisions.get(spec.dimension_level)
        text = f"{d.name} {_score_text(loc, score.value if score else None, max_)}"
        if level is not None and level.decided:
            text += f" ({level.outcome_label})"
        items.append(text)
    sep = " ; " if loc.lang == "fr" else "; "
    width, height = 500, 360
    out = _open(chart_id, width, height, loc.t("radar_title"), loc.t("radar_desc", items=sep.join(items)))
    cx, cy, radius = 250.0, 185.0, 115.0
    n = len(dims)
    if n == 0:
        out.append("</svg>")
        return "\n".join(out)

    def point(i: int, r: float) -> tuple[float, float]:
        angle = -math.pi / 2 + 2 * math.pi * i / n
        return cx + r * math.cos(angle), cy + r * math.sin(angle)

    # grid rings and their values
    out.append(f'<g class="grid" fill="none" stroke="{GRID}" stroke-width="1">')
    for level in range(1, max_ + 1):
        r = radius * level / max_
        if n >= 3:
            pts = " ".join(f"{_f(x)},{_f(y)}" for x, y in (point(i, r) for i in range(n)))
            out.append(f'<polygon points="{pts}"/>')
        else:
            out.append(f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="{_f(r)}"/>')
    for i in range(n):
        x, y = point(i, radius)
        out.append(f'<line x1="{_f(cx)}" y1="{_f(cy)}" x2="{_f(x)}" y2="{_f(y)}"/>')
    out.append("</g>")
    out.append(f'<g class="ticks" font-size="10" fill="{MUTED}" aria-hidden="true">')
    for level in range(1, max_ + 1):
        x, y = point(0, radius * level / max_)
        out.append(f'<text x="{_f(x + 4)}" y="{_f(y + 3)}">{level}</text>')
    out.append("</g>")

    # the scores
    values: list[float | None] = []
    for d in dims:
        score = d.values.get(spec.dimension_score)
        values.append(float(score.value) if score is not None and score.known else None)
    colour = "#1d4f91"
    if n >= 3 and all(v is not None for v in values):
        pts = " ".join(f"{_f(x)},{_f(y)}" for x, y in (point(i, radius * v / max_) for i, v in enumerate(values)))
        out.append(f'<polygon class="scores" points="{pts}" fill="{colour}" fill-opacity="0.18" stroke="{colour}" stroke-width="2"/>')
    else:
        for i in range(n):
            j = (i + 1) % n
            if n < 3 and j == 0:
                continue
            if values[i] is not None and values[j] is not None:
                x1, y1 = point(i, radius * values[i] / max_)
                x2, y2 = point(j, radius * values[j] / max_)
                out.append(f'<line class="scores" x1="{_f(x1)}" y1="{_f(y1)}" x2="{_f(x2)}" y2="{_f(y2)}" stroke="{colour}" stroke-width="2"/>')
    for i, d in enumerate(dims):
        score = d.values.get(spec.dimension_score)
        anchor = score.anchor if score is not None else None
        label = f"{d.name} : {_score_text(loc, score.value if score else None, max_)}" if loc.lang == "fr" else f"{d.name}: {_score_text(loc, score.value if score else None, max_)}"
        if values[i] is not None:
            x, y = point(i, radius * values[i] / max_)
            mark = f'<circle cx="{_f(x)}" cy="{_f(y)}" r="5" fill="{colour}" stroke="#ffffff" stroke-width="1.5"/>'
        else:
            x, y = point(i, radius + 2)
            mark = (
                f'<circle cx="{_f(x)}" cy="{_f(y)}" r="8" fill="#ffffff" stroke="{MUTED}" stroke-dasharray="3 2"/>'
                f'<text x="{_f(x)}" y="{_f(y + 4)}" text-anchor="middle" font-weight="bold" fill="{MUTED}">?</text>'
            )
        body = f'<g class="dimension" data-dimension="{_a(d.id)}"><title>{_a(label)}</title>{mark}</g>'
        out.append(f'<a href="#{anchor}">{body}</a>' if anchor else body)

    # labels around
    out.append('<g class="labels">')
    for i, d in enumerate(dims):
        angle = -math.pi / 2 + 2 * math.pi * i / n
        x, y = point(i, radius + 22)
        c = math.cos(angle)
        anchor_ = "start" if c > 0.3 else "end" if c < -0.3 else "middle"
        score = d.values.get(spec.dimension_score)
        lines = _wrap(d.name, 15)
        dy0 = -4 - 14 * (len(lines) - 1) if math.sin(angle) < -0.5 else (10 if math.sin(angle) > 0.5 else -6 * (len(lines) - 1))
        tspans = "".join(f'<tspan x="{_f(x)}" dy="{_f(dy0 if k == 0 else 14)}">{_a(line)}</tspan>' for k, line in enumerate(lines))
        score_text = _score_text(loc, score.value if score else None, max_)
        tspans += f'<tspan x="{_f(x)}" dy="14" font-weight="bold">{_a(score_text)}</tspan>'
        out.append(f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="{anchor_}">{tspans}</text>')
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


# ------------------------------------------------------------------ impact / effort matrix

MATRIX = {"x0": 70.0, "y0": 40.0, "w": 360.0, "h": 340.0}


def matrix_geometry(report: Report) -> dict[str, float]:
    """The plot area and scale of the matrix (the structural tests read them back)."""
    return {**MATRIX, "max": float(report.axis_max)}


def quadrant_colours(report: Report, outcome: str | None) -> tuple[str, str]:
    for name, _, high_impact, high_effort in report.quadrant_outcomes:
        if name == outcome:
            return QUADRANT_COLOURS[(high_impact, high_effort)]
    return UNDETERMINED


def matrix(report: Report, loc: Locale, chart_id: str = "chart-matrix") -> str:
    spec = report.spec
    g = matrix_geometry(report)
    x0, y0, w, h, max_ = g["x0"], g["y0"], g["w"], g["h"], g["max"]
    ti = report.impact_threshold
    te = report.effort_threshold

    def sx(effort: Decimal) -> float:
        return x0 + w * float(effort) / max_

    def sy(impact: Decimal) -> float:
        return y0 + h - h * float(impact) / max_

    placed: list[tuple[EntityView, Decimal, Decimal]] = []
    unplaced: list[EntityView] = []
    for uc in report.usecases:
        impact, effort = uc.values.get(spec.impact), uc.values.get(spec.effort)
        if impact is not None and effort is not None and impact.known and effort.known:
            placed.append((uc, impact.value, effort.value))
        else:
            unplaced.append(uc)
    sep = " ; " if loc.lang == "fr" else "; "
    items = []
    for uc, impact, effort in placed:
        q = uc.decisions.get(spec.quadrant)
        where = q.outcome_label if q is not None and q.decided else loc.t("to_complete")
        items.append(f"{uc.number}. {uc.name} : {where} (impact {loc.number(impact)}, effort {loc.number(effort)})" if loc.lang == "fr"
                     else f"{uc.number}. {uc.name}: {where} (impact {loc.number(impact)}, effort {loc.number(effort)})")
    if unplaced:
        items.append(loc.t("not_placed", items=", ".join(f"{uc.number}. {uc.name}" for uc in unplaced)))
    desc = loc.t(
        "matrix_desc",
        max=int(max_),
        ti=loc.number(ti) if ti is not None else "?",
        te=loc.number(te) if te is not None else "?",
        items=sep.join(items),
    )
    width, height = 460, 456
    out = _open(chart_id, width, height, loc.t("matrix_title"), desc)
    out.append(
        f'<g id="{chart_id}-plot" data-x0="{_f(x0)}" data-y0="{_f(y0)}" data-width="{_f(w)}" data-height="{_f(h)}" '
        f'data-max="{_f(max_)}" data-impact-threshold="{format_value(ti) if ti is not None else ""}" '
        f'data-effort-threshold="{format_value(te) if te is not None else ""}">'
    )
    # quadrants
    if ti is not None and te is not None:
        xt, yt = sx(te), sy(ti)
        regions = {
            (True, False): (x0, y0, xt - x0, yt - y0),
            (True, True): (xt, y0, x0 + w - xt, yt - y0),
            (False, False): (x0, yt, xt - x0, y0 + h - yt),
            (False, True): (xt, yt, x0 + w - xt, y0 + h - yt),
        }
        for outcome, label, high_impact, high_effort in report.quadrant_outcomes:
            rx, ry, rw, rh = regions[(high_impact, high_effort)]
            ink, tint = QUADRANT_COLOURS[(high_impact, high_effort)]
            out.append(
                f'<rect class="quadrant" data-quadrant="{_a(outcome)}" x="{_f(rx)}" y="{_f(ry)}" width="{_f(rw)}" height="{_f(rh)}" fill="{tint}"/>'
            )
            # labels outside the plot, next to their quadrant, so that no point hides them
            lx = rx + 2 if not high_effort else rx + rw - 2
            anchor_ = "start" if not high_effort else "end"
            ly = y0 - 16 if high_impact else y0 + h + 36
            out.append(f'<text class="quadrant-label" x="{_f(lx)}" y="{_f(ly)}" text-anchor="{anchor_}" font-weight="bold" fill="{ink}">{_a(label)}</text>')
    # grid and axes
    out.append(f'<g class="grid" stroke="{GRID}" stroke-width="1">')
    for k in range(int(max_) + 1):
        out.append(f'<line x1="{_f(sx(Decimal(k)))}" y1="{_f(y0)}" x2="{_f(sx(Decimal(k)))}" y2="{_f(y0 + h)}" stroke-dasharray="2 3"/>')
        out.append(f'<line x1="{_f(x0)}" y1="{_f(sy(Decimal(k)))}" x2="{_f(x0 + w)}" y2="{_f(sy(Decimal(k)))}" stroke-dasharray="2 3"/>')
    out.append("</g>")
    out.append(f'<rect x="{_f(x0)}" y="{_f(y0)}" width="{_f(w)}" height="{_f(h)}" fill="none" stroke="{MUTED}"/>')
    if ti is not None and te is not None:
        out.append(f'<line class="threshold" data-axis="effort" x1="{_f(sx(te))}" y1="{_f(y0)}" x2="{_f(sx(te))}" y2="{_f(y0 + h)}" stroke="{INK}" stroke-width="2"/>')
        out.append(f'<line class="threshold" data-axis="impact" x1="{_f(x0)}" y1="{_f(sy(ti))}" x2="{_f(x0 + w)}" y2="{_f(sy(ti))}" stroke="{INK}" stroke-width="2"/>')
    out.append(f'<g class="ticks" font-size="11" fill="{MUTED}" aria-hidden="true">')
    for k in range(int(max_) + 1):
        out.append(f'<text x="{_f(sx(Decimal(k)))}" y="{_f(y0 + h + 16)}" text-anchor="middle">{k}</text>')
        out.append(f'<text x="{_f(x0 - 8)}" y="{_f(sy(Decimal(k)) + 4)}" text-anchor="end">{k}</text>')
    out.append("</g>")
    impact_label = _definition_label(report, spec.impact, loc.t("impact"))
    effort_label = _definition_label(report, spec.effort, loc.t("effort"))
    out.append(f'<text x="{_f(x0 + w / 2)}" y="{_f(y0 + h + 58)}" text-anchor="middle" font-weight="bold">{_a(effort_label)} →</text>')
    out.append(
        f'<text x="{_f(x0 - 40)}" y="{_f(y0 + h / 2)}" text-anchor="middle" font-weight="bold" '
        f'transform="rotate(-90 {_f(x0 - 40)} {_f(y0 + h / 2)})">{_a(impact_label)} →</text>'
    )
    # points: a number in a circle, in the colour of the decided quadrant
    groups: dict[tuple[Decimal, Decimal], list[tuple[EntityView, Decimal, Decimal]]] = {}
    for item in placed:
        groups.setdefault((item[1], item[2]), []).append(item)
    radius = 11.0
    for (impact, effort), members in groups.items():
        for k, (uc, _, _) in enumerate(members):
            q = uc.decisions.get(spec.quadrant)
            outcome = q.outcome if q is not None and q.decided else None
            x, y = sx(effort), sy(impact)
            if len(members) > 1:  # same scores: spread around the exact position
                angle = 2 * math.pi * k / len(members)
                x += 1.6 * radius * math.cos(angle)
                y += 1.6 * radius * math.sin(angle)
            x, y = _inside(report, outcome, x, y, sx, sy, radius)
            ink, _ = quadrant_colours(report, outcome)
            where = q.outcome_label if outcome else loc.t("to_complete")
            tip = f"{uc.number}. {uc.name} — {where} · impact {loc.number(impact)} · effort {loc.number(effort)}"
            target = q.anchor if q is not None else ""
            out.append(
                f'<a href="#{target}"><g class="point" data-usecase="{_a(uc.id)}" data-impact="{format_value(impact)}" data-effort="{format_value(effort)}" '
                f'data-quadrant="{_a(outcome or "undetermined")}" data-cx="{_f(x)}" data-cy="{_f(y)}"><title>{_a(tip)}</title>'
                f'<circle cx="{_f(x)}" cy="{_f(y)}" r="{_f(radius)}" fill="{ink}" stroke="#ffffff" stroke-width="2"/>'
                f'<text x="{_f(x)}" y="{_f(y + 4)}" text-anchor="middle" font-size="11" font-weight="bold" fill="#ffffff">{uc.number}</text></g></a>'
            )
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def _inside(report: Report, outcome: str | None, x: float, y: float, sx, sy, radius: float) -> tuple[float, float]:
    """Keep a point on its quadrant's side of each threshold (a point on a threshold moves just inside the
    quadrant its decision gives it) and inside the plot."""
    g = MATRIX
    ti, te = report.impact_threshold, report.effort_threshold
    side = next(((hi, he) for name, _, hi, he in report.quadrant_outcomes if name == outcome), None)
    gap = 3.0
    if side is not None and ti is not None and te is not None:
        xt, yt = sx(te), sy(ti)
        high_impact, high_effort = side
        if high_effort and x < xt + gap:
            x = xt + gap
        if not high_effort and x > xt - gap:
            x = xt - gap
        if high_impact and y > yt - gap:
            y = yt - gap
        if not high_impact and y < yt + gap:
            y = yt + gap
    x = min(max(x, g["x0"] + 2), g["x0"] + g["w"] - 2)
    y = min(max(y, g["y0"] + 2), g["y0"] + g["h"] - 2)
    return x, y


def _definition_label(report: Report, name: str, fallback: str) -> str:
    for uc in report.usecases:
        if name in uc.values:
            return uc.values[name].label
    return fallback


# ------------------------------------------------------------------ roadmap Gantt chart

GANTT = {"label_w": 230.0, "x0": 240.0, "w": 456.0, "row_h": 32.0, "bar_h": 20.0, "top": 30.0}
LABEL_X = 8.0
LABEL_SIZE = 11.0
LINE_H = 13.0
MIN_LABEL_SIZE = 8.0

# Advance widths of DejaVu Sans (the charts' first font), in em; other characters count as "m"-wide
# lower case (0.64), which overestimates: a label measured here is never wider on the page.
_EM = {
    **dict.fromkeys("iljI'|!.,:;", 0.30), **dict.fromkeys("ftJ()[]/ -", 0.40), "r": 0.42, "s": 0.53, "c": 0.56, "z": 0.53,
    **dict.fromkeys("akvxy", 0.60), **dict.fromkeys("bdeghnopqu0123456789éèêëàâäôöûüùîïç", 0.64), "w": 0.82, "m": 0.98,
    **dict.fromkeys("LFTZ", 0.62), **dict.fromkeys("ABEKPRSVXY", 0.70), **dict.fromkeys("CDGHNOQU", 0.80), "M": 0.87, "W": 0.99,
}


def text_width(text: str, size: float) -> float:
    """The width of `text` at `size` px in DejaVu Sans, rounded up (the geometry tests use it too)."""
    return sum(_EM.get(c, 0.64 if c.isalpha() and c.islower() else 0.8) for c in text) * size


def wrap_words(text: str, width: float, size: float = LABEL_SIZE) -> tuple[list[str], float]:
    """Lines of whole words, each at most `width` px, and the font size: a word too long for the
    column shrinks the label (down to MIN_LABEL_SIZE); nothing is cut and no word is split."""
    words = text.split()
    while size > MIN_LABEL_SIZE and any(text_width(w, size) > width for w in words):
        size -= 0.5
    lines: list[str] = []
    for word in words:
        if lines and text_width(f"{lines[-1]} {word}", size) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines, size


def _legend_lines(loc: Locale, keys: tuple[str, ...], width: int) -> int:
    x, lines = 8.0, 1
    for key in keys:
        step = 21 + text_width(phase_label(loc, key), 11) + 18
        if x > 8 and x + step - 18 > width - 4:
            x, lines = 8.0, lines + 1
        x += step
    return lines


def phase_label(loc: Locale, key: str) -> str:
    return loc.t("phase_" + key)


def _label(name: str, note: str | None) -> tuple[list[str], float, list[str]]:
    """A row's label in the label column: the name on whole words, then an optional muted note."""
    width = GANTT["x0"] - LABEL_X - 10
    lines, size = wrap_words(name, width)
    notes = wrap_words(note, width, 10.0)[0] if note else []
    return lines, size, notes


def _row_height(lines: list[str], notes: list[str]) -> float:
    return max(GANTT["row_h"], (len(lines) + len(notes)) * LINE_H + 10)


def _label_text(y: float, row_h: float, name: str, lines: list[str], size: float, notes: list[str]) -> str:
    count = len(lines) + len(notes)
    first_y = y + row_h / 2 - (count - 1) * LINE_H / 2 + 4
    tspans = "".join(f'<tspan x="{_f(LABEL_X)}" dy="{0 if k == 0 else _f(LINE_H)}">{_a(line)}</tspan>' for k, line in enumerate(lines))
    tspans += "".join(
        f'<tspan x="{_f(LABEL_X)}" dy="{_f(LINE_H)}" font-size="10" fill="{MUTED}" class="note">{_a(line)}</tspan>' for line in notes
    )
    return f'<text class="row-label" x="{_f(LABEL_X)}" y="{_f(first_y)}" font-size="{_f(size)}"><title>{_a(name)}</title>{tspans}</text>'


def gantt(report: Report, loc: Locale, chart_id: str = "chart-gantt", links: bool = True) -> str:
    """Names in the label column on the left, on whole words (a long name takes more lines, its row
    grows), never over a bar; the bars carry only their phase letter; "beyond the horizon" is a note
    under the name."""
    horizon = report.horizon or 12
    rows = report.roadmap
    lane = report.groundwork
    g = GANTT
    x0, w, bar_h, top = g["x0"], g["w"], g["bar_h"], g["top"]
    month_w = w / horizon
    legend_h = 40.0
    lane_labels = [_label(gw.obligation.label, None) for gw in lane]
    row_labels = [_label(row.usecase.name, f"{loc.t('beyond_horizon', n=horizon)} →" if row.beyond else None) for row in rows]
    lane_h = [_row_height(lines, notes) for lines, _, notes in lane_labels]
    rows_h = [_row_height(lines, notes) for lines, _, notes in row_labels] or [g["row_h"]]
    top_rows = top + sum(lane_h)  # the groundwork lane comes first: done once, at the start
    bottom = top_rows + sum(rows_h)
    width = int(x0 + w + 14)
    legend_keys = (*(("groundwork",) if lane else ()), "prerequisites", "test", "adjustment", "deployment", "standardisation")
    legend_h += (LINE_H + 6) * (_legend_lines(loc, legend_keys, width) - 1)
    height = int(bottom + legend_h + 8)
    sep = " ; " if loc.lang == "fr" else "; "
    items = []
    for row in rows:
        if row.phases:
            parts = ", ".join(f"{phase_label(loc, p.key)} {_range(loc, p)}" for p in row.phases)
            if row.beyond:
                parts += ", " + loc.t("beyond_horizon", n=horizon)
            items.append(f"{row.usecase.name} : {parts}" if loc.lang == "fr" else f"{row.usecase.name}: {parts}")
        else:
            what = f"{loc.t('beyond_horizon', n=horizon)} ({row.decision.outcome_label})" if row.deferred and row.decision else loc.t("to_complete")
            items.append(f"{row.usecase.name} : {what}" if loc.lang == "fr" else f"{row.usecase.name}: {what}")
    for gw in lane:
        when = month_span(loc, gw.start, gw.end) if gw.start is not None else loc.t("to_complete")
        items.insert(0, f"{gw.obligation.label} : {when}" if loc.lang == "fr" else f"{gw.obligation.label}: {when}")
    desc = loc.t("gantt_desc", n=horizon, items=sep.join(items) if items else loc.t("no_priorities"))
    out = _open(chart_id, width, height, loc.t("gantt_title", n=horizon), desc)
    out.append(f'<g class="months" font-size="11" fill="{MUTED}">')
    for m in range(1, horizon + 1):
        x = x0 + (m - 1) * month_w
        out.append(f'<text x="{_f(x + month_w / 2)}" y="{_f(top - 12)}" text-anchor="middle">{_a(loc.t("month_short", n=m))}</text>')
    out.append("</g>")
    out.append(f'<g class="grid" stroke="{GRID}" stroke-width="1">')
    for m in range(horizon + 1):
        x = x0 + m * month_w
        out.append(f'<line x1="{_f(x)}" y1="{_f(top - 4)}" x2="{_f(x)}" y2="{_f(bottom)}"/>')
    out.append("</g>")
    letters = PHASE_LETTERS[loc.lang]
    colour = PHASE_COLOURS["groundwork"]
    y = top
    for gw, (lines, size, notes), row_h in zip(lane, lane_labels, lane_h):
        name = gw.obligation.label
        out.append(_label_text(y, row_h, name, lines, size, notes))
        out.append(f'<g class="row groundwork" data-groundwork="{_a(gw.obligation.name)}">')
        if gw.start is None or gw.end is None:
            out.append(f'<text x="{_f(x0 + 6)}" y="{_f(y + row_h / 2 + 4)}" font-style="italic" fill="{MUTED}">{_a(loc.t("to_complete"))}</text>')
        else:
            bx = x0 + (gw.start - 1) * month_w + 1
            bw = (gw.end - gw.start + 1) * month_w - 2
            by = y + (row_h - bar_h) / 2
            tip = f"{name} — {month_span(loc, gw.start, gw.end)}"
            shape = f'<rect x="{_f(bx)}" y="{_f(by)}" width="{_f(bw)}" height="{_f(bar_h)}" rx="3" fill="{colour}"/>'
            shape += f'<text x="{_f(bx + bw / 2)}" y="{_f(by + bar_h / 2 + 4)}" text-anchor="middle" font-size="11" font-weight="bold" fill="#ffffff">{letters["groundwork"]}</text>'
            bar = f'<g class="phase" data-phase="groundwork" data-start="{gw.start}" data-end="{gw.end}"><title>{_a(tip)}</title>{shape}</g>'
            out.append(f'<a href="#{gw.obligation.anchor}">{bar}</a>' if links else bar)
        out.append("</g>")
        y += row_h
    if not rows:
        out.append(f'<text x="{_f(x0 + w / 2)}" y="{_f(top_rows + g["row_h"] / 2 + 4)}" text-anchor="middle" font-style="italic" fill="{MUTED}">{_a(loc.t("no_priorities"))}</text>')
    y = top_rows
    for row, (lines, size, notes), row_h in zip(rows, row_labels, rows_h):
        out.append(_label_text(y, row_h, row.usecase.name, lines, size, notes))
        out.append(f'<g class="row" data-usecase="{_a(row.usecase.id)}">')
        if row.deferred and row.decision:  # after the horizon, with the policy's reason as the tooltip
            text = f"{loc.t('beyond_horizon', n=horizon)} →"
            out.append(
                f'<g class="deferred" data-deferred="{_a(row.decision.outcome or "")}"><title>{_a(row.decision.outcome_label)}</title>'
                f'<text x="{_f(x0 + w - 6)}" y="{_f(y + row_h / 2 + 4)}" text-anchor="end" font-style="italic" fill="{MUTED}">{_a(text)}</text></g>'
            )
        elif not row.phases:
            text = loc.t("to_complete") + (f" — {loc.t('n_missing', n=len(row.missing))}" if row.missing else "")
            out.append(f'<text x="{_f(x0 + 6)}" y="{_f(y + row_h / 2 + 4)}" font-style="italic" fill="{MUTED}">{_a(text)}</text>')
        for p in row.phases:
            bx = x0 + (p.start - 1) * month_w + 1
            bw = (p.end - p.start + 1) * month_w - 2
            by = y + (row_h - bar_h) / 2
            colour = PHASE_COLOURS.get(p.key, "#444444")
            tip = f"{phase_label(loc, p.key)} : {_range(loc, p)}" if loc.lang == "fr" else f"{phase_label(loc, p.key)}: {_range(loc, p)}"
            if p.key == "prerequisites" and row.prerequisites:
                tip += " — " + " ; ".join(o.label for o in row.prerequisites)
            shape = f'<rect x="{_f(bx)}" y="{_f(by)}" width="{_f(bw)}" height="{_f(bar_h)}" rx="3" fill="{colour}"'
            if p.key == "prerequisites":
                shape += ' fill-opacity="0.85" stroke="#333333" stroke-dasharray="3 2"'
            shape += "/>"
            if p.ongoing:
                tx = bx + bw
                shape += f'<path d="M{_f(tx - 1)},{_f(by)} l8,{_f(bar_h / 2)} l-8,{_f(bar_h / 2)} z" fill="{colour}"/>'
            shape += f'<text x="{_f(bx + bw / 2)}" y="{_f(by + bar_h / 2 + 4)}" text-anchor="middle" font-size="11" font-weight="bold" fill="#ffffff">{letters.get(p.key, "")}</text>'
            bar = f'<g class="phase" data-phase="{p.key}" data-start="{p.start}" data-end="{p.end}"><title>{_a(tip)}</title>{shape}</g>'
            out.append(f'<a href="#{p.anchor}">{bar}</a>' if links else bar)
        out.append("</g>")
        y += row_h
    # legend: as many lines as the chart's width needs
    ly = bottom + 18
    out.append('<g class="legend" font-size="11">')
    x = 8.0
    for key in legend_keys:
        label = phase_label(loc, key)
        step = 21 + text_width(label, 11) + 18
        if x > 8 and x + step - 18 > width - 4:
            x, ly = 8.0, ly + LINE_H + 6
        out.append(f'<rect x="{_f(x)}" y="{_f(ly - 10)}" width="16" height="14" rx="2" fill="{PHASE_COLOURS[key]}"/>')
        out.append(f'<text x="{_f(x + 8)}" y="{_f(ly + 1)}" text-anchor="middle" font-size="9" font-weight="bold" fill="#ffffff">{letters[key]}</text>')
        out.append(f'<text x="{_f(x + 21)}" y="{_f(ly + 1)}">{_a(label)}</text>')
        x += step
    out.append(f'<text x="8" y="{_f(ly + 20)}" fill="{MUTED}" font-size="10">{_a(loc.t("month_axis"))} · ▶ {_a(loc.t("ongoing"))}</text>')
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def month_span(loc: Locale, start: int, end: int) -> str:
    """M3, or M1 to M2."""
    return loc.t("month_short", n=start) if start == end else loc.t("months_range", a=start, b=end)


def _range(loc: Locale, p) -> str:
    if p.start == p.end and not p.ongoing:
        return loc.t("month_short", n=p.start)
    if p.ongoing:
        return loc.t("from_month", n=p.start) + f" ({loc.t('ongoing')})"
    return loc.t("months_range", a=p.start, b=p.end)
