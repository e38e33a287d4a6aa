"""SVG charts for the HTML report, self-contained (no JavaScript, no external assets)."""
from __future__ import annotations

import html
import math
from typing import Any

from embedwise.validators.formatting import fmt_num, short_name

PALETTE = ["#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4b5563"]


def _esc(s: Any) -> str:
    return html.escape(str(s), quote=True)


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if m * exp >= v:
            return m * exp
    return 10 * exp


def svg_scatter(points: list[tuple[str, float, float]], x_label: str, y_label: str, title: str,
                width: int = 640, height: int = 380, x_unit: str = "ms") -> str:
    """Quality (y) against latency (x, log scale when the range is wide)."""
    if not points:
        return ""
    ml, mr, mt, mb = 64, 24, 36, 48
    xs = [p[1] for p in points]
    ys = [p[2] for p in points]
    log = min(xs) > 0 and max(xs) / max(min(xs), 1e-9) > 20
    fx = (lambda v: math.log10(v)) if log else (lambda v: v)
    x0, x1 = (fx(min(xs)), fx(max(xs))) if len(xs) > 1 else (fx(xs[0]) - 1, fx(xs[0]) + 1)
    pad = (x1 - x0) * 0.12 or 1
    x0, x1 = x0 - pad, x1 + pad
    if not log:
        x0 = max(0.0, x0)
    y0, y1 = max(0.0, min(ys) - 0.05), min(1.0, max(ys) + 0.05) if max(ys) <= 1 else max(ys) * 1.05
    if y1 - y0 < 1e-6:
        y0, y1 = y0 - 0.05, y1 + 0.05
    pw, ph = width - ml - mr, height - mt - mb

    def px(v: float) -> float:
        return ml + (fx(v) - x0) / (x1 - x0) * pw

    def py(v: float) -> float:
        return mt + ph - (v - y0) / (y1 - y0) * ph

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{_esc(title)}">',
             f'<text x="{width / 2}" y="20" text-anchor="middle" class="t">{_esc(title)}</text>',
             f'<line x1="{ml}" y1="{mt + ph}" x2="{ml + pw}" y2="{mt + ph}" class="ax"/>',
             f'<line x1="{ml}" y1="{mt}" x2="{ml}" y2="{mt + ph}" class="ax"/>']
    for i in range(5):
        yv = y0 + (y1 - y0) * i / 4
        parts.append(f'<line x1="{ml}" y1="{py(yv):.1f}" x2="{ml + pw}" y2="{py(yv):.1f}" class="grid"/>')
        parts.append(f'<text x="{ml - 6}" y="{py(yv) + 4:.1f}" text-anchor="end" class="l">{yv:.3f}</text>')
    for i in range(5):
        fv = x0 + (x1 - x0) * i / 4
        xv = 10 ** fv if log else fv
        parts.append(f'<text x="{ml + pw * i / 4:.1f}" y="{mt + ph + 16}" text-anchor="middle" class="l">{fmt_num(xv)}</text>')
    parts.append(f'<text x="{ml + pw / 2}" y="{height - 8}" text-anchor="middle" class="l">{_esc(x_label)}{" (log)" if log else ""}</text>')
    parts.append(f'<text x="14" y="{mt + ph / 2}" text-anchor="middle" class="l" transform="rotate(-90 14 {mt + ph / 2})">{_esc(y_label)}</text>')
    for i, (name, xv, yv) in enumerate(points):
        color = PALETTE[i % len(PALETTE)]
        parts.append(f'<circle cx="{px(xv):.1f}" cy="{py(yv):.1f}" r="6" fill="{color}"><title>{_esc(name)}: '
                     f'{yv:.4f} at {xv:.2f} {_esc(x_unit)}</title></circle>')
        label = short_name(name)
        right = px(xv) > ml + pw * 0.6
        anchor = "end" if right else "start"
        lx = px(xv) - 9 if right else px(xv) + 9
        ly = py(yv) - 8 - (i % 2) * 12
        if ly < mt + 8:  # no room above the point: write below it
            ly = py(yv) + 16 + (i % 2) * 12
        parts.append(f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="{anchor}" class="l">{_esc(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def svg_grouped_bars(groups: list[str], series: list[str], values: list[list[float | None]], title: str,
                     y_label: str = "", width: int = 640, height: int = 340, y_max: float | None = None,
                     log: bool | None = None) -> str:
    """values[g][s]: one group per model (or metric), one bar per series. `log`: a log scale (None: when the values
    span more than 20x, so that BM25's 1 ms bar stays visible beside a model's 500 ms)."""
    if not groups or not series:
        return ""
    rotate = any(len(g) * 6.5 > (width - 72) / len(groups) for g in groups)
    if rotate:
        height += 50
    ml, mr, mt, mb = 56, 16, 36, 70 + (50 if rotate else 0)
    flat = [v for row in values for v in row if v is not None]
    positive = [v for v in flat if v > 0]
    if log is None:
        log = bool(positive) and len(positive) == len(flat) and max(positive) / min(positive) > 20
    top = y_max or _nice_max(max(flat) if flat else 1.0)
    lo_exp = math.floor(math.log10(min(positive))) if log and positive else 0
    hi_exp = math.ceil(math.log10(max(positive))) if log and positive else 1
    hi_exp = max(hi_exp, lo_exp + 1)

    def frac(v: float) -> float:  # the share of the plot's height a value fills
        if log:
            return (math.log10(max(v, 10 ** lo_exp)) - lo_exp) / (hi_exp - lo_exp)
        return min(v, top) / top
    pw, ph = width - ml - mr, height - mt - mb
    gw = pw / len(groups)
    bw = max(2.0, gw * 0.8 / len(series))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{_esc(title)}">',
             f'<text x="{width / 2}" y="20" text-anchor="middle" class="t">{_esc(title)}</text>',
             f'<line x1="{ml}" y1="{mt + ph}" x2="{ml + pw}" y2="{mt + ph}" class="ax"/>']
    ticks = ([(10 ** e, (e - lo_exp) / (hi_exp - lo_exp)) for e in range(lo_exp, hi_exp + 1)] if log
             else [(top * i / 4, i / 4) for i in range(5)])
    for yv, f in ticks:
        y = mt + ph - ph * f
        parts.append(f'<line x1="{ml}" y1="{y:.1f}" x2="{ml + pw}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{ml - 6}" y="{y + 4:.1f}" text-anchor="end" class="l">{fmt_num(yv) if (top > 2 or log) else f"{yv:.2f}"}</text>')
    if y_label:
        label = y_label + (" (log scale)" if log else "")
        parts.append(f'<text x="12" y="{mt + ph / 2}" text-anchor="middle" class="l" transform="rotate(-90 12 {mt + ph / 2})">{_esc(label)}</text>')
    for g, group in enumerate(groups):
        gx = ml + g * gw + gw * 0.1
        for s, name in enumerate(series):
            v = values[g][s]
            if v is None:
                continue
            h = ph * frac(v)
            x = gx + s * bw
            parts.append(f'<rect x="{x:.1f}" y="{mt + ph - h:.1f}" width="{bw - 1:.1f}" height="{h:.1f}" '
                         f'fill="{PALETTE[s % len(PALETTE)]}"><title>{_esc(group)} · {_esc(name)}: {v:.4g}</title></rect>')
        cx, cy = ml + g * gw + gw / 2, mt + ph + 14
        if rotate:
            parts.append(f'<text x="{cx:.1f}" y="{cy:.1f}" text-anchor="end" class="l" '
                         f'transform="rotate(-30 {cx:.1f} {cy:.1f})">{_esc(group)}</text>')
        else:
            parts.append(f'<text x="{cx:.1f}" y="{cy + 2:.1f}" text-anchor="middle" class="l">{_esc(group)}</text>')
    lx = ml
    for s, name in enumerate(series):
        parts.append(f'<rect x="{lx}" y="{height - 22}" width="10" height="10" fill="{PALETTE[s % len(PALETTE)]}"/>'
                     f'<text x="{lx + 14}" y="{height - 13}" class="l">{_esc(name)}</text>')
        lx += 24 + 7 * len(name)
    parts.append("</svg>")
    return "".join(parts)


