"""A plain-text scatter chart (quality vs latency). Deterministic: the same points draw the same characters."""
from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

MARKS = "123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    if abs(v) >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def draw(points: list[tuple[str, float, float]], width: int, height: int, x_label: str, y_label: str) -> Text:
    """Draw points (label, x, y) in a width × height box with axes; a legend line per point follows."""
    out = Text()
    if not points:
        out.append("(no measured points to draw)", style="dim")
        return out
    gutter = 7
    plot_w = max(10, width - gutter - 1)
    plot_h = max(3, height - 3 - len(points))
    xs = [p[1] for p in points]
    ys = [p[2] for p in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x0, x1 = x0 * 0.9 if x0 else -1.0, x1 * 1.1 if x1 else 1.0
    if y1 == y0:
        y0, y1 = y0 - 0.05 * (abs(y0) or 1), y1 + 0.05 * (abs(y1) or 1)
    grid = [[" "] * plot_w for _ in range(plot_h)]
    for i, (_, x, y) in enumerate(points):
        col = round((x - x0) / (x1 - x0) * (plot_w - 1))
        row = plot_h - 1 - round((y - y0) / (y1 - y0) * (plot_h - 1))
        mark = MARKS[i % len(MARKS)]
        grid[row][col] = mark if grid[row][col] == " " else "*"
    out.append(f"{y_label}\n", style="bold")
    for r, cells in enumerate(grid):
        if r == 0:
            tick = _fmt(y1)
        elif r == plot_h - 1:
            tick = _fmt(y0)
        else:
            tick = ""
        out.append(f"{tick:>{gutter - 1}} │", style="dim")
        for ch in cells:
            out.append(ch, style="bold" if ch != " " else "")
        out.append("\n")
    out.append(" " * (gutter - 1) + " └" + "─" * plot_w + "\n", style="dim")
    left, right = _fmt(x0), _fmt(x1)
    pad = max(1, plot_w - len(left) - len(right) - len(x_label) - 2)
    out.append(" " * (gutter + 1) + left + " " * (pad // 2) + f" {x_label} " + " " * (pad - pad // 2) + right + "\n",
               style="dim")
    for i, (label, x, y) in enumerate(points):
        out.append(f"  {MARKS[i % len(MARKS)]} ", style="bold")
        out.append(f"{label}  ({_fmt(y)}, {_fmt(x)})" + ("\n" if i < len(points) - 1 else ""))
    return out


class ScatterChart(Widget):
    """Quality (y) against latency (x). `points` are (label, x, y)."""

    DEFAULT_CSS = "ScatterChart { height: auto; min-height: 8; }"

    def __init__(self, points: list[tuple[str, float, float]] | None = None, x_label: str = "latency p95 ms",
                 y_label: str = "quality", **kwargs) -> None:
        super().__init__(**kwargs)
        self.points = points or []
        self.x_label = x_label
        self.y_label = y_label

    def set_points(self, points: list[tuple[str, float, float]], x_label: str | None = None,
                   y_label: str | None = None) -> None:
        self.points = points
        self.x_label = x_label or self.x_label
        self.y_label = y_label or self.y_label
        self.refresh(layout=True)

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(8, 10 + len(self.points)) if self.points else 1

    def render(self) -> Text:
        width = max(20, self.size.width)
        height = max(8, self.size.height)
        return draw(self.points, width, height, self.x_label, self.y_label)
