"""The report's hybrid-search and reranking sections (terminal, Markdown, HTML), from `run.hybrid` and `run.rerank`
(their keys: the docstrings of `integration.hybrid` and `integration.rerank`)."""
from __future__ import annotations

from typing import Any, Callable, Sequence

from embedwise.validators.formatting import fmt, fmt_num, fmt_p
from embedwise.validators.tables import as_html, as_markdown

Table = Callable[[Sequence[str], Sequence[Sequence[str]]], str]

HYBRID_HEADERS = ("model", "queries held out", "BM25", "dense", "RRF (k=60)", "weighted", "dense weight",
                  "best fusion", "gain vs best part", "p", "added p50 ms", "use hybrid")
RERANK_HEADERS = ("model", "queries", "nDCG@10 before", "after", "gain", "p", "added p50 ms", "added p95 ms",
                  "reranker verdict")


def _runs_with(report: Any, field: str) -> list[Any]:
    return [r for r in report.runs if r.status == "ok" and getattr(r, field, None)]


def hybrid_rows(report: Any) -> list[list[str]]:
    rows = []
    for r in _runs_with(report, "hybrid"):
        h = r.hybrid
        if h.get("status") != "ok":
            rows.append([r.model, "–", *["–"] * 9, h.get("reason") or h.get("status", "")])
            continue
        m = h["methods"]
        rows.append([r.model, str(h["queries"]["held_out"]), fmt(h["bm25"]["metrics"]["ndcg_at_10"]),
                     fmt(h["dense"]["metrics"]["ndcg_at_10"]), fmt(m["rrf"]["metrics"]["ndcg_at_10"]),
                     fmt(m["weighted"]["metrics"]["ndcg_at_10"]), fmt(h["weight"], 1), h["best_method"],
                     f"{h['gain_ndcg_at_10']:+.4f}", fmt_p(h["p_value"]), fmt_num(h["added_latency_ms"]["p50"]),
                     fmt(h["recommended"])])
    return rows


def rerank_rows(report: Any) -> list[list[str]]:
    rows = []
    for r in _runs_with(report, "rerank"):
        x = r.rerank
        if x.get("status") != "ok":
            rows.append([r.model, *["–"] * 7, f"failed: {x.get('error')}"])
            continue
        lat = x["added_latency_ms"]
        rows.append([r.model, str(x["queries"]), fmt(x["metrics_before"]["ndcg_at_10"]),
                     fmt(x["metrics_after"]["ndcg_at_10"]), f"{x['gain_ndcg_at_10']:+.4f}", fmt_p(x["p_value"]),
                     fmt_num(lat["p50"]), fmt_num(lat["p95"]), "pays" if x["significant"] and x["gain_ndcg_at_10"] > 0
                     else "hurts" if x["significant"] else "no significant change"])
    return rows


def _reranker(report: Any) -> str:
    x = next((r.rerank for r in _runs_with(report, "rerank")), {})
    return f"{x.get('model')} over the top {x.get('depth')}" if x.get("status") == "ok" else str(x.get("model"))


def terminal_lines(report: Any) -> list[str]:
    """One line per model and measurement, with rich markup."""
    lines = []
    for r in _runs_with(report, "hybrid"):
        h = r.hybrid
        text = h["verdict"] if h.get("status") == "ok" else f"skipped: {h.get('reason')}"
        lines.append(f"  hybrid {r.model}: " + (f"[green]{text}[/]" if h.get("recommended") else text))
    for r in _runs_with(report, "rerank"):
        x = r.rerank
        text = x["verdict"] if x.get("status") == "ok" else f"[red]reranker failed[/]: {x.get('error')}"
        lines.append(f"  rerank {r.model}: {text}")
    return lines


def sections(report: Any, table: Table, heading: Callable[[str], str], paragraph: Callable[[str], str]) -> str:
    """The two sections in one format: `table(headers, rows)`, `heading(text)` and `paragraph(text)` write it."""
    out = []
    rows = hybrid_rows(report)
    if rows:
        out.append(heading("Hybrid search (BM25 + dense)"))
        out.append(paragraph("nDCG@10 on the held-out half of the queries; the dense weight and the fusion method "
                             "were chosen on the other half. The paired test compares the best fusion with the "
                             "better part alone on the same queries; the added latency is BM25's search of one "
                             "query and the fusion, beside the dense search."))
        out.append(table(HYBRID_HEADERS, rows))
        out += [paragraph(f"{r.model}: {r.hybrid['verdict']}") for r in _runs_with(report, "hybrid")
                if r.hybrid.get("status") == "ok"]
    rows = rerank_rows(report)
    if rows:
        out.append(heading("Reranking"))
        out.append(paragraph(f"Cross-encoder {_reranker(report)} of each model's results; latency is what "
                             "reranking one query's candidates adds."))
        out.append(table(RERANK_HEADERS, rows))
        out += [paragraph(f"{r.model}: {r.rerank['verdict']}") for r in _runs_with(report, "rerank")
                if r.rerank.get("status") == "ok"]
    return "".join(out)


def markdown(report: Any) -> str:
    return as_markdown(sections, report)


def html(report: Any) -> str:
    return as_html(sections, report)
