"""How figures are written in the validators' reports (terminal, Markdown, HTML, charts)."""
from __future__ import annotations

import math
from typing import Any


def fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:.{digits}f}"
    return str(value)


def fmt_p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3g}"


def fmt_num(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, (int, float)):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value)


def fmt_usd(value: Any) -> str:
    return "–" if value is None else f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def short_name(model: str, width: int = 22) -> str:
    """A chart label: the last part of an id or path, cut to `width`."""
    name = model.rstrip("/").split("/")[-1] or model
    return name if len(name) <= width else name[: width - 1] + "…"
