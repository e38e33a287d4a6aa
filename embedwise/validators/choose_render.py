"""The decision `choose` reached, as the report opens with it: terminal, Markdown and HTML."""
from __future__ import annotations

from typing import Any

from embedwise.validators.charts import _esc
from embedwise.validators.formatting import fmt, fmt_num, short_name
from embedwise.validators.results import Report
from embedwise.validators.tables import html_table, md_table


def _usd(value: Any) -> str:
    return "–" if value is None else f"${value:,.0f}"


def ranking_rows(report: Report) -> list[list[str]]:
    main = (report.decision or {}).get("main_metric") or report.main_metric
    rows = []
    for r in report.ranking or []:
        why = "; ".join(r.get("reasons") or []) or r.get("quality_basis") or ""
        rows.append([str(r["rank"] or "–"), r["model"], r["status"].replace("_", " "), fmt(r.get(main)),
                     fmt_num(r.get("latency_p95_ms")), fmt_num(r.get("memory_mb")), _usd(r.get("first_year_usd")),
                     why])
    return rows


def ranking_headers(report: Report) -> list[str]:
    main = (report.decision or {}).get("main_metric") or report.main_metric
    return ["rank", "model", "status", main, "p95 ms", "memory MB", "first year", "basis / why"]


def decision_markdown(report: Report) -> list[str]:
    d = report.decision
    if not d:
        return []
    conf = d.get("confidence") or {}
    out = ["## Decision\n", f"**{d.get('verdict')}**\n",
           f"Priority: `{d.get('priority')}`. Confidence: **{conf.get('level', '–')}** "
           f"({'; '.join(conf.get('why') or [])}).\n"]
    if d.get("runner_up"):
        out.append(f"Runner-up: **{d['runner_up']}** ({d.get('runner_up_reason')}).\n")
    out += [f"- {r}" for r in d.get("reasons") or []]
    out.append("")
    out.append(md_table(ranking_headers(report), ranking_rows(report)))
    for s in report.screening or []:
        size = (f"{s['queries']} of {s['of_queries']} queries, {s['documents']} of {s['of_documents']} documents"
                if "queries" in s else f"{s['items']} of {s['of_items']} items")
        out.append(f"- screening round {s['round']} ({size}, {s['seconds']:.0f} s): best {s['best']}; "
                   f"dropped {', '.join(s['dropped']) or 'none'}")
    if d.get("not_measured"):
        out.append("\n**Not measured:**\n")
        out += [f"- {n}" for n in d["not_measured"]]
    out.append("")
    return out


def decision_html(report: Report) -> str:
    d = report.decision
    if not d:
        return ""
    conf = d.get("confidence") or {}
    parts = ['<section class="decision"><h2>Decision</h2>', f"<p><b>{_esc(d.get('verdict'))}</b></p>",
             f"<p>Priority <code>{_esc(d.get('priority'))}</code> · confidence <b>{_esc(conf.get('level'))}</b> "
             f"({_esc('; '.join(conf.get('why') or []))})</p>"]
    if d.get("runner_up"):
        parts.append(f"<p>Runner-up: <b>{_esc(d['runner_up'])}</b> ({_esc(d.get('runner_up_reason'))})</p>")
    parts.append("<ul>" + "".join(f"<li>{_esc(r)}</li>" for r in d.get("reasons") or []) + "</ul>")
    parts.append(html_table(ranking_headers(report), ranking_rows(report)))
    if d.get("not_measured"):
        parts.append("<p><b>Not measured:</b></p><ul>" +
                     "".join(f"<li>{_esc(n)}</li>" for n in d["not_measured"]) + "</ul>")
    parts.append("</section>")
    return "\n".join(parts)


def print_decision(report: Report, console: Any) -> None:
    """The decision, the ranking and the screening rounds (the finalists' summary follows it)."""
    from rich.table import Table

    d = report.decision or {}
    conf = d.get("confidence") or {}
    console.print(f"[bold green]decision:[/] [bold]{d.get('verdict')}[/]")
    console.print(f"  priority {d.get('priority')} · confidence {conf.get('level')}: {'; '.join(conf.get('why') or [])}")
    if d.get("runner_up"):
        console.print(f"  runner-up: {d['runner_up']} ({d.get('runner_up_reason')})")
    for r in d.get("reasons") or []:
        console.print(f"  · {r}")
    table = Table(header_style="bold", title="ranking")
    for h in ranking_headers(report)[:-1]:  # the reasons follow the table: a column of them is unreadable at 80
        table.add_column(h, overflow="fold")
    rows = ranking_rows(report)
    for row in rows:
        table.add_row(row[0], short_name(row[1], 28), *row[2:-1])
    console.print(table)
    for row in rows:
        if row[2] not in ("winner", "runner up", "finalist"):
            console.print(f"  {row[2]}: {row[1]}: {row[-1]}")
    for s in report.screening or []:
        size = (f"{s['queries']}/{s['of_queries']} queries, {s['documents']}/{s['of_documents']} docs"
                if "queries" in s else f"{s['items']}/{s['of_items']} items")
        console.print(f"  round {s['round']} ({size}, {s['seconds']:.0f} s): best {s['best']}, "
                      f"dropped {', '.join(s['dropped']) or 'none'}")
    for n in d.get("not_measured") or []:
        console.print(f"  [yellow]not measured:[/] {n}")
