"""Tables in the reports' two written formats, and a section renderer turned into either."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from embedwise.validators.charts import _esc

Sections = Callable[[Any, Callable, Callable[[str], str], Callable[[str], str]], str]


def md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def cell(v: str) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def html_table(headers: Sequence[str], rows: Sequence[Sequence[str]], row_class: Sequence[str] | None = None,
                table_class: str = "") -> str:
    out = [f'<table class="{table_class}"><thead><tr>' if table_class else "<table><thead><tr>", *[f"<th>{_esc(h)}</th>" for h in headers], "</tr></thead><tbody>"]
    for i, row in enumerate(rows):
        cls = f' class="{row_class[i]}"' if row_class and row_class[i] else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{_esc(v)}</td>" for v in row) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def as_markdown(sections: Sections, report: Any) -> str:
    """`sections(report, table, heading, paragraph)` written as Markdown."""
    return sections(report, lambda h, rows: md_table(h, rows) + "\n", lambda t: f"\n## {t}\n\n", lambda t: f"{t}\n\n")


def as_html(sections: Sections, report: Any) -> str:
    """`sections(report, table, heading, paragraph)` written as HTML."""
    return sections(report, html_table, lambda t: f"<h2>{_esc(t)}</h2>", lambda t: f"<p>{_esc(t)}</p>")
