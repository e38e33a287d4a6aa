"""The report's vector-database, compression and integration-plan sections (terminal, Markdown, HTML), from
`run.index`, `run.compression` and, for the plan, `run.hybrid` and `run.rerank` (`{}`: not measured).

The integration plan is for the report's best model and states only what was measured: each choice with its measured
cost, and in so many words what was not measured (or only projected from a measurement).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from embedwise.validators.formatting import fmt, fmt_num, fmt_p, short_name
from embedwise.validators.integration.options import IntegrationOptions
from embedwise.validators.tables import as_html, as_markdown

Table = Callable[[Sequence[str], Sequence[Sequence[str]]], str]

INDEX_HEADERS = ("model", "index", "build params", "search params", "recall@10 vs exact", "nDCG@10", "build s",
                 "disk MB", "memory MB", "p50/p95/p99 ms ×1", "qps ×1", "p95 ms ×16", "qps ×16", "note")
COMPRESSION_HEADERS = ("model", "precision", "dims", "rescore", "bytes/vector", "MB at documents", "nDCG@10",
                       "loss vs float32", "recall@100", "Pareto", "recommended")
INDEX_CAPTION = ("Each setting searched through Milvus (Lite, in this process, or the server --index-uri names) for every query: the top {limit} for the metrics; "
                 "recall@10 is the share of exact search's top 10 the index returns. Build: index creation and "
                 "loading, inserts not counted. Memory: the index files Milvus Lite reads whole into memory when it "
                 "loads the collection (the index's own size; not measured against a server). Latency: single "
                 "queries (top 10, the query vector already made) at concurrency 1 and 16; Milvus Lite serves them "
                 "from this process's threads.")
COMPRESSION_CAPTION = ("The documents stored at each precision and dimension, searched exactly (queries in float32; "
                       "binary search binarises them too; rescore re-ranks binary's top 100 with the float32 vectors "
                       "kept on disk). MB: the vectors alone at the document count shown, without an index's own "
                       "overhead. Recommended: the smallest setting within the allowed nDCG@10 loss of float32.")


def _runs_with(report: Any, field: str) -> list[Any]:
    return [r for r in report.runs if r.status == "ok" and getattr(r, field, None)]


def _params(p: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in p.items()) or "–"


def _setting(e: dict) -> str:
    """A compression setting's short name, e.g. "int8 · 256d" or "binary · 384d + rescore"."""
    return f"{e['precision']} · {e['dims']}d" + (" + rescore" if e.get("rescore") else "")


def index_rows(report: Any, name: Callable[[str], str] = str) -> list[list[str]]:
    rows = []
    for r in _runs_with(report, "index"):
        for e in r.index:
            lat = e.get("latency_ms") or {}
            one, many = lat.get("1") or {}, lat.get("16") or {}
            rows.append([name(r.model), e["kind"], _params(e["params"].get("build", {})),
                         _params(e["params"].get("search", {})), fmt(e["recall_at_10"]),
                         fmt((e.get("metrics") or {}).get("ndcg_at_10")), fmt_num(e["build_s"]), fmt_num(e["disk_mb"]),
                         fmt_num(e["memory_mb"]),
                         "/".join(fmt_num(one.get(k)) for k in ("p50", "p95", "p99")) if one else "–",
                         fmt_num(one.get("qps")), fmt_num(many.get("p95")), fmt_num(many.get("qps")),
                         e.get("note") or ""])
    return rows


def compression_rows(report: Any, name: Callable[[str], str] = str) -> list[list[str]]:
    return [[name(r.model), e["precision"], str(e["dims"]), e.get("rescore") or "–", fmt_num(e["bytes_per_vector"]),
             f"{fmt_num(e.get('index_mb_at_user_docs'))} at {e.get('documents', 0):,}", fmt(e["ndcg_at_10"]),
             f"{e.get('loss', 0):+.4f}", fmt(e["recall_at_100"]), fmt(e.get("pareto")),
             "★" if e.get("recommended") else ""] for r in _runs_with(report, "compression") for e in r.compression]


def charts(report: Any) -> list[str]:
    """One Pareto chart per model: nDCG@10 against bytes per vector, one point per compression setting."""
    from embedwise.validators.charts import svg_scatter

    return [svg_scatter([(_setting(e), e["bytes_per_vector"], e["ndcg_at_10"]) for e in r.compression],
                        "bytes per vector", "nDCG@10", f"Quality vs bytes per vector: {short_name(r.model, 40)}",
                        x_unit="bytes")
            for r in _runs_with(report, "compression")]


# --- the integration plan ---------------------------------------------------------------------------------------------

def _max_loss(run: Any) -> float:
    """The nDCG@10 loss the compression choice allowed (the default when compression was not measured)."""
    first = next(iter(run.compression), {})
    return float(first.get("allowed_loss", IntegrationOptions().max_quality_loss))


def chosen_index(run: Any) -> dict | None:
    """The fastest index setting (p50 at concurrency 1) whose nDCG@10 is within the allowed loss of exact search."""
    exact = run.metrics.get("ndcg_at_10")
    measured = [e for e in run.index if e.get("latency_ms") and (e.get("metrics") or {}).get("ndcg_at_10") is not None]
    within = [e for e in measured if exact is None or exact - e["metrics"]["ndcg_at_10"] <= _max_loss(run) + 1e-9]
    if not within:
        return None
    return min(within, key=lambda e: (e["latency_ms"]["1"]["p50"], e.get("memory_mb") or 0))


def plan_lines(report: Any) -> list[str]:
    """The integration plan for the best model, one statement per line; [] when nothing of it was measured."""
    run = next((r for r in report.runs if r.model == report.best and r.status == "ok"), None)
    if run is None or not (run.index or run.compression or run.hybrid or run.rerank):
        return []
    documents, source = _documents(report, run)
    lines = [f"Model: {run.model} (nDCG@10 {fmt(run.metrics.get('ndcg_at_10'))} with exact float32 search)."]
    lines.append(_vectors_line(run))
    lines += _index_lines(run, documents, source, report.dataset.get("documents"))
    lines.append(_memory_line(run, documents, source, int(report.dataset.get("documents") or 0)))
    lines.append(_hybrid_line(run))
    lines.append(_rerank_line(run))
    return lines


def _documents(report: Any, run: Any) -> tuple[int, str]:
    entry = next(iter(run.compression), None)
    if entry and entry.get("documents"):
        return int(entry["documents"]), entry.get("documents_source", "data set")
    return int(report.dataset.get("documents") or 0), "data set"


def _vectors_line(run: Any) -> str:
    dims = run.info.get("dimension")
    if not run.compression:
        return f"Vectors: float32 at {dims} dimensions, as measured (compression not measured: add --compression)."
    e = next(x for x in run.compression if x.get("recommended"))
    full = run.compression[0]
    line = (f"Vectors: {_setting(e)}, {fmt_num(e['bytes_per_vector'])} bytes per vector against "
            f"{fmt_num(full['bytes_per_vector'])} for float32 · {full['dims']}d; cost: nDCG@10 {fmt(e['ndcg_at_10'])} "
            f"vs {fmt(full['ndcg_at_10'])} ({0.0 - e['loss']:+.4f}, allowed −{_max_loss(run):g}), "
            f"recall@100 {fmt(e['recall_at_100'])} vs {fmt(full['recall_at_100'])}.")
    if e.get("rescore"):
        line += " The float32 vectors stay on disk for the rescoring."
    if full.get("note"):
        line += f" ({full['note']}.)"
    return line


def _index_lines(run: Any, documents: int, source: str, measured_docs: Any) -> list[str]:
    if not run.index:
        return ["Index: not measured (add --index milvus): the figures above are exact search in this process."]
    e = chosen_index(run)
    if e is None:
        return ["Index: no setting measured came within the allowed nDCG@10 loss of exact search; see the index "
                "table."]
    lat = e["latency_ms"]
    line = (f"Index: Milvus {e['kind']} ({_params(e['params'].get('build', {}))}; search "
            f"{_params(e['params'].get('search', {}))}), the fastest setting within −{_max_loss(run):g} nDCG@10 of "
            f"exact search; cost: recall@10 {fmt(e['recall_at_10'])} of exact search's top 10, nDCG@10 "
            f"{fmt(e['metrics']['ndcg_at_10'])} vs {fmt(run.metrics.get('ndcg_at_10'))} exact; build "
            f"{fmt_num(e['build_s'])} s; latency p50/p95 {fmt_num(lat['1']['p50'])}/{fmt_num(lat['1']['p95'])} ms "
            f"at concurrency 1, {fmt_num(lat.get('16', {}).get('qps'))} queries/s at 16.")
    lines = [line]
    if measured_docs and documents and documents != measured_docs:
        lines.append(f"Measured at {measured_docs:,} documents: latency and recall at {documents:,} ({source}) "
                     "were not measured (an index's recall and speed change with its size).")
    if e.get("note"):
        lines.append(f"Index note: {e['note']}.")
    return lines


def _memory_line(run: Any, documents: int, source: str, measured_docs: int) -> str:
    parts = []
    chosen = next((x for x in run.compression if x.get("recommended")), None)
    if chosen:
        parts.append(f"the vectors ({_setting(chosen)}) take {fmt_num(chosen['index_mb_at_user_docs'])} MB "
                     "(computed: bytes per vector × documents, without the index's overhead)")
    e = chosen_index(run) if run.index else None
    if e is not None and e.get("disk_mb") is not None and measured_docs:
        scale = documents / measured_docs
        part = (f"Milvus {e['kind']} measured {fmt_num(e['disk_mb'])} MB on disk and {fmt_num(e['memory_mb'])} MB "
                f"of memory at {measured_docs:,} documents")
        if scale != 1:
            part += (f", about {fmt_num(e['disk_mb'] * scale)} MB on disk and {fmt_num((e['memory_mb'] or 0) * scale)}"
                     " MB in memory projected linearly (not measured)")
        parts.append(part)
    elif e is not None:
        parts.append("the index's disk and memory were not measured (a Milvus server keeps them)")
    if not parts:
        return "Memory and disk: not measured (add --compression and --index milvus)."
    return f"Memory and disk at {documents:,} documents ({source}): " + "; ".join(parts) + "."


def _hybrid_line(run: Any) -> str:
    h = run.hybrid or {}
    if not h:
        return "Hybrid BM25 + dense: not measured (add --hybrid)."
    if h.get("status") != "ok":
        return f"Hybrid BM25 + dense: not measured ({h.get('reason') or h.get('status')})."
    verdict = "yes" if h.get("recommended") else "no"
    lat = h.get("added_latency_ms") or {}
    cost = (f"adding {fmt_num(lat.get('p50'))} ms p50 and {fmt_num(lat.get('p95'))} ms p95 per query" if lat
            else "its added latency was not measured")
    return (f"Hybrid BM25 + dense: {verdict}; {h.get('best_method')} fusion against the better part alone: "
            f"{h.get('gain_ndcg_at_10', 0):+.4f} nDCG@10 on held-out queries (p={fmt_p(h.get('p_value', 1.0))}), "
            f"{cost}.")


def _rerank_line(run: Any) -> str:
    x = run.rerank or {}
    if not x:
        return "Reranker: not measured (add --rerank MODEL)."
    if x.get("status") != "ok":
        return f"Reranker: not measured ({x.get('model')} failed: {x.get('error')})."
    lat = x.get("added_latency_ms") or {}
    pays = x.get("significant") and x.get("gain_ndcg_at_10", 0) > 0
    return (f"Reranker: {'yes' if pays else 'no'}; {x.get('model')} over the top {x.get('depth')}: "
            f"{x.get('gain_ndcg_at_10', 0):+.4f} nDCG@10 (p={fmt_p(x.get('p_value', 1.0))}), adding "
            f"{fmt_num(lat.get('p50'))} ms p50 and {fmt_num(lat.get('p95'))} ms p95 per query.")


# --- the three formats ------------------------------------------------------------------------------------------------

def sections(report: Any, table: Table, heading: Callable[[str], str], paragraph: Callable[[str], str]) -> str:
    """The sections in one format: `table(headers, rows)`, `heading(text)` and `paragraph(text)` write it."""
    out = []
    rows = index_rows(report)
    if rows:
        limit = next(e["params"].get("limit") for r in _runs_with(report, "index") for e in r.index)
        out.append(heading("Vector database (Milvus)"))
        out.append(paragraph(INDEX_CAPTION.format(limit=limit)))
        out.append(table(INDEX_HEADERS, rows))
    rows = compression_rows(report)
    if rows:
        out.append(heading("Compression"))
        out.append(paragraph(COMPRESSION_CAPTION))
        out.append(table(COMPRESSION_HEADERS, rows))
    lines = plan_lines(report)
    if lines:
        out.append(heading("Integration plan"))
        out += [paragraph(line) for line in lines]
    return "".join(out)


def markdown(report: Any) -> str:
    return as_markdown(sections, report)


def html(report: Any) -> str:
    return as_html(sections, report)


TERMINAL_INDEX_COLUMNS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12)  # no qps ×1, p95 ×16 or note: 80 columns are few


def print_terminal(report: Any, console: Any) -> None:
    from rich.table import Table as RichTable

    index = [[row[i] for i in TERMINAL_INDEX_COLUMNS] for row in index_rows(report, short_name)]
    for title, headers, rows in (("vector database (Milvus)", [INDEX_HEADERS[i] for i in TERMINAL_INDEX_COLUMNS],
                                  index),
                                 ("compression", COMPRESSION_HEADERS, compression_rows(report, short_name))):
        if not rows:
            continue
        table = RichTable(title=title, header_style="bold")
        for h in headers:
            table.add_column(h, justify="left" if h in ("model", "index", "precision", "rescore") else "right",
                             overflow="fold")
        for row in rows:
            table.add_row(*row)
        console.print(table)
    lines = plan_lines(report)
    if lines:
        console.print("[bold]integration plan[/]")
        for line in lines:
            console.print(f"  {line}")
