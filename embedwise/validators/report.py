"""The report: a terminal summary, Markdown, a self-contained HTML file with inline SVG charts (quality vs latency,
metric bars, latency percentiles), and JSON (`{"runs": [{"model", "status", "metrics", "speed", "robustness",
"cost", ...}], ...}`)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from embedwise.validators.charts import _esc, svg_grouped_bars, svg_scatter
from embedwise.validators.choose_render import decision_html, decision_markdown
from embedwise.validators.formatting import fmt, fmt_num, fmt_p, fmt_usd, short_name
from embedwise.validators.integration import render as integration_render
from embedwise.validators.integration import render_fusion
from embedwise.validators.results import Report
from embedwise.validators.tables import html_table, md_table

RETRIEVAL_BARS = ("ndcg_at_10", "map_at_10", "recall_at_10", "mrr_at_10", "recall_at_100")
TASK_BARS = {"classification": ("accuracy", "f1", "knn_accuracy"), "sts": ("cosine_spearman", "cosine_pearson"),
             "clustering": ("v_measure",)}


def to_json(report: Report) -> str:
    return json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False, default=str)


def write_reports(report: Report, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"json": out_dir / "report.json", "markdown": out_dir / "report.md", "html": out_dir / "report.html"}
    report.files = {k: str(v) for k, v in files.items()}
    files["json"].write_text(to_json(report) + "\n", encoding="utf-8")
    files["markdown"].write_text(to_markdown(report), encoding="utf-8")
    files["html"].write_text(to_html(report), encoding="utf-8")
    return files


# --- formatting helpers -------------------------------------------------------------------------------------------------

def summary_rows(report: Report) -> list[dict[str, str]]:
    """One row per model with the figures every view shows."""
    rows = []
    main = report.main_metric
    for r in report.runs:
        s, c = r.speed or {}, r.cost or {}
        rows.append({
            "model": r.model + (" (best)" if r.model == report.best else ""),
            "status": r.status,
            main: fmt(r.metrics.get(main)) if r.status == "ok" else "–",
            "published": (f"{fmt(r.info['published']['value'])} ({r.info['published']['task']})"
                          if (r.info or {}).get("published") else "–"),
            "load s": fmt_num(s.get("load_seconds")),
            "docs/s": fmt_num(s.get("best_docs_per_s")),
            "p50 ms": fmt_num(s.get("latency_p50_ms")),
            "p95 ms": fmt_num(s.get("latency_p95_ms")),
            "p99 ms": fmt_num(s.get("latency_p99_ms")),
            "model MB": fmt_num(s.get("rss_delta_mb")),
            "peak RSS MB": fmt_num(s.get("peak_rss_mb")),
            "cost": _cost_cell(c),
        })
    return rows


def _cost_cell(c: dict) -> str:
    if not c:
        return "–"
    if c.get("hosting") == "api":
        if c.get("corpus_usd") is not None:
            return f"corpus {fmt_usd(c['corpus_usd'])}, {fmt_usd(c.get('monthly_queries_usd'))}/month"
        return f"{c.get('corpus_tokens', 0):,} tokens (no price)"
    return c.get("hardware_class") or "–"


def _secondary_metrics(report: Report) -> Sequence[str]:
    return RETRIEVAL_BARS if report.task == "retrieval" else TASK_BARS.get(report.task, ())


# --- terminal -----------------------------------------------------------------------------------------------------------

def print_summary(report: Report, console: Any = None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    ds = report.dataset
    title = f"{report.task} on {ds.get('name')}" + ("  [bold red]SYNTHETIC[/]" if report.synthetic else "")
    sizes = ", ".join(f"{k} {v:,}" for k, v in ds.items() if isinstance(v, int) and not isinstance(v, bool))
    console.print(f"[bold]{title}[/]  ({sizes})")
    for r in report.runs:  # failures first: they are what to fix before reading the figures
        if r.status != "ok":
            console.print(f"[red]failed[/] {r.model}: {r.error}")
    table = Table(show_lines=False, header_style="bold")
    main = report.main_metric
    for col in ("model", "status", main, "load s", "docs/s", "p50/p95/p99 ms", "model MB", "cost / hardware"):
        table.add_column(col, overflow="fold", justify="left" if col in ("model", "status", "cost / hardware") else "right")
    for r in report.runs:
        s, c = r.speed or {}, r.cost or {}
        lat = "/".join(fmt_num(s.get(k)) for k in ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms")) if s.get("latency_p50_ms") is not None else "–"
        table.add_row(r.model + (" ★" if r.model == report.best else ""), r.status,
                      fmt(r.metrics.get(main)) if r.status == "ok" else "–", fmt_num(s.get("load_seconds")),
                      fmt_num(s.get("best_docs_per_s")), lat, fmt_num(s.get("rss_delta_mb")), _cost_cell(c),
                      style="red" if r.status != "ok" else None)
    console.print(table)
    extra = [m for m in _secondary_metrics(report) if m != report.main_metric]
    if extra:
        t2 = Table(header_style="bold", title="quality")
        t2.add_column("model")
        for m in extra:
            t2.add_column(m, justify="right")
        for r in report.runs:
            if r.status == "ok":
                t2.add_row(r.model, *[fmt(r.metrics.get(m)) for m in extra])
        console.print(t2)
    for c in report.comparisons:
        verdict = "[green]significant[/]" if c.significant else "not significant"
        console.print(f"  {c.a} vs {c.b}: {c.metric} {c.mean_a:.4f} vs {c.mean_b:.4f} "
                      f"(diff {c.diff:+.4f}, p={fmt_p(c.p_value)}, {c.test}) → {verdict}")
    for line in render_fusion.terminal_lines(report):
        console.print(line)
    integration_render.print_terminal(report, console)
    for r in report.runs:
        rob = r.robustness or {}
        if r.status == "ok" and rob.get("edge_cases_total"):
            line = f"  {r.model}: edge cases {rob['edge_cases_ok']}/{rob['edge_cases_total']} ok"
            pert = (rob.get("queries") or {}).get("perturbations") or {}
            if pert:
                line += "; ndcg@10 change under perturbation (− is worse) " + ", ".join(
                    f"{k} {-v['ndcg_drop']:+.3f}" for k, v in pert.items())
            console.print(line)
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}")
    if report.files:
        console.print("report: " + "  ".join(f"{v}" for v in report.files.values()))


# --- Markdown -----------------------------------------------------------------------------------------------------------

def to_markdown(report: Report) -> str:
    ds = report.dataset
    out = [f"# embedwise validation: {report.task} on {ds.get('name')}\n"]
    out += decision_markdown(report)
    if report.synthetic:
        out.append("> **Synthetic evaluation set**: the queries were made from the corpus itself. The figures rank the "
                   "models on this data; they are not comparable with MTEB's.\n")
    out.append(f"Run `{report.run_id}`, {report.created_at}. Data: `{ds.get('path')}` "
               f"({', '.join(f'{k} {v}' for k, v in ds.items() if isinstance(v, int) and not isinstance(v, bool))}). "
               f"Main metric: `{report.main_metric}`. Best: **{report.best or '–'}**.\n")
    rows = summary_rows(report)
    if rows:
        out.append("## Summary\n")
        out.append(md_table(list(rows[0].keys()), [list(r.values()) for r in rows]))
    metrics = list(_secondary_metrics(report))
    ok = [r for r in report.runs if r.status == "ok"]
    if ok:
        out.append("\n## Quality\n")
        out.append(md_table(["model", *metrics], [[r.model, *[fmt(r.metrics.get(m)) for m in metrics]] for r in ok]))
        if report.task == "retrieval":
            ks = (1, 3, 5, 10, 100)
            for family in ("ndcg", "map", "recall", "precision", "mrr"):
                out.append(f"\n`{family}_at_k`\n\n")
                out.append(md_table(["model", *[f"@{k}" for k in ks]],
                                     [[r.model, *[fmt(r.metrics.get(f"{family}_at_{k}")) for k in ks]] for r in ok]))
    if report.comparisons:
        out.append("\n## Significance (paired tests)\n")
        out.append(md_table(["A", "B", "metric", "A", "B", "diff", "p", "significant", "test"],
                             [[c.a, c.b, c.metric, fmt(c.mean_a), fmt(c.mean_b), f"{c.diff:+.4f}", fmt_p(c.p_value),
                               "yes" if c.significant else "no", c.test] for c in report.comparisons]))
    out.append(render_fusion.markdown(report))
    out.append(integration_render.markdown(report))
    out.append("\n## Speed and memory\n")
    for r in ok:
        s = r.speed or {}
        out.append(f"\n### {r.model}\n\n")
        out.append(f"Load {fmt_num(s.get('load_seconds'))} s; peak RSS {fmt_num(s.get('peak_rss_mb'))} MB "
                   f"(+{fmt_num(s.get('rss_delta_mb'))} MB during the run)"
                   + (f"; GPU peak {fmt_num(s.get('gpu_peak_mb'))} MB" if s.get("gpu_peak_mb") else "")
                   + (f"; device {s.get('device')}" if s.get("device") else "") + ".\n\n")
        if s.get("throughput"):
            pool = ["actors"] if "actors" in s["throughput"][0] else []  # on Ray: one row per actor pool size
            out.append(md_table(pool + ["batch size", "texts", "docs/s", "tokens/s"],
                                 [[t[k] for k in pool] + [t["batch_size"], t["texts"], fmt_num(t["docs_per_s"]),
                                                          fmt_num(t["tokens_per_s"])] for t in s["throughput"]]))
        if s.get("latency"):
            if s.get("serialized_requests"):
                out.append("\nOne model replica serves the requests one at a time: latency at concurrency > 1 "
                           "includes the wait in the queue.\n")
            out.append("\n")
            out.append(md_table(["concurrency", "requests", "p50 ms", "p95 ms", "p99 ms", "qps"],
                                 [[lat["concurrency"], lat["requests"], fmt_num(lat["p50_ms"]), fmt_num(lat["p95_ms"]),
                                   fmt_num(lat["p99_ms"]), fmt_num(lat["qps"])] for lat in s["latency"]]))
    if any(r.robustness for r in ok):
        out.append("\n## Robustness\n")
        for r in ok:
            rob = r.robustness or {}
            if not rob:
                continue
            out.append(f"\n### {r.model}\n\n")
            edge = rob.get("edge_cases", {})
            out.append(md_table(["input", "ok", "tokens", "truncated", "handling / error"],
                                 [[name, fmt(e.get("ok")), fmt(e.get("tokens")), fmt(e.get("truncated")),
                                   e.get("error") or e.get("handling") or ""] for name, e in edge.items()]))
            q = rob.get("queries")
            if q:
                out.append(f"\nPerturbed queries ({q['queries']} sampled, ndcg@10 {fmt(q['ndcg_at_10'])} unperturbed):\n\n")
                out.append(md_table(["perturbation", "ndcg@10", "change vs clean (− is worse)", "mean cosine to original"],
                                     [[k, fmt(v["ndcg_at_10"]), f"{-v['ndcg_drop']:+.4f}", fmt(v.get("mean_cosine"))]
                                      for k, v in q["perturbations"].items()]))
            t = rob.get("texts") or rob.get("media")  # media: images or audio changed (grayscale, clipped, ...)
            if t:
                out.append("\n")
                out.append(md_table(["perturbation", "mean cosine", "min cosine"],
                                     [[k, fmt(v["mean_cosine"]), fmt(v["min_cosine"])] for k, v in t.items()]))
    if ok:
        out.append("\n## Cost\n")
        out.append(md_table(
            ["model", "hosting", "corpus tokens", "corpus cost", "queries/month", "monthly query cost", "memory MB",
             "hardware", "replicas"],
            [[r.model, r.cost.get("hosting", "–"), f"{r.cost.get('corpus_tokens', 0):,}", fmt_usd(r.cost.get("corpus_usd")),
              f"{r.cost.get('queries_per_month', 0):,}", fmt_usd(r.cost.get("monthly_queries_usd")),
              fmt_num(r.cost.get("memory_mb")), r.cost.get("hardware_class") or "–",
              fmt(r.cost.get("replicas_needed"))] for r in ok]))
    failed = [r for r in report.runs if r.status != "ok"]
    if failed:
        out.append("\n## Failed models\n\n")
        out += [f"- **{r.model}**: {r.error}\n" for r in failed]
    notes = report.notes + [f"{r.model}: {n}" for r in report.runs for n in r.notes] + list(ds.get("notes") or [])
    if notes:
        out.append("\n## Notes\n\n")
        out += [f"- {n}\n" for n in notes]
    import re

    text = re.sub(r"^(#+ .*)\n(?!\n)", r"\1\n\n", "".join(out), flags=re.M)
    return re.sub(r"([^\n])\n(#+ )", r"\1\n\n\2", text)


CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#111;padding:0 1rem}
h1{font-size:1.5rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}table{border-collapse:collapse;margin:.5rem 0}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}th{background:#f5f5f5}
td:first-child,th:first-child,.summary td:nth-child(2){text-align:left}.failed{color:#b91c1c}.synthetic{background:#fef3c7;border:1px solid #f59e0b;padding:.5rem 1rem}
.charts{display:flex;flex-wrap:wrap;gap:1rem}svg{background:#fff;border:1px solid #eee;max-width:100%;height:auto}
svg .t{font-size:14px;font-weight:600}svg .l{font-size:11px;fill:#333}svg .ax{stroke:#333}svg .grid{stroke:#eee}
.muted{color:#666}
"""


def charts(report: Report) -> list[str]:
    ok = [r for r in report.runs if r.status == "ok"]
    out = []
    main = report.main_metric
    pts = [(r.model, r.speed.get("latency_p50_ms"), r.metrics.get(main)) for r in ok
           if r.speed.get("latency_p50_ms") is not None and r.metrics.get(main) is not None]
    if pts:
        out.append(svg_scatter(pts, "single-query latency p50 (ms)", main, f"Quality vs latency ({main})"))
    metrics = [m for m in _secondary_metrics(report) if any(m in r.metrics for r in ok)]
    if ok and metrics:
        out.append(svg_grouped_bars([short_name(r.model) for r in ok], metrics,
                                    [[r.metrics.get(m) for m in metrics] for r in ok], "Quality metrics", y_max=1.0))
    lat_models = [r for r in ok if r.speed.get("latency")]
    if lat_models:
        levels = sorted({lat["concurrency"] for r in lat_models for lat in r.speed["latency"]})
        groups, values = [], []
        for r in lat_models:
            by = {lat["concurrency"]: lat for lat in r.speed["latency"]}
            for c in levels:
                if c in by:
                    groups.append(f"{short_name(r.model, 16)} ×{c}")
                    values.append([by[c].get("p50_ms"), by[c].get("p95_ms"), by[c].get("p99_ms")])
        out.append(svg_grouped_bars(groups, ["p50", "p95", "p99"], values, "Latency percentiles by concurrency",
                                    y_label="ms", width=max(640, 70 * len(groups) + 80)))
    tp_models = [r for r in ok if r.speed.get("throughput") and r.kind != "sparse"]  # BM25 only tokenizes
    if tp_models:
        sizes = sorted({t["batch_size"] for r in tp_models for t in r.speed["throughput"]})
        # the best figure at each batch size (on Ray, that of the best actor pool size)
        vals = [[max((t["docs_per_s"] for t in r.speed["throughput"] if t["batch_size"] == b and t["docs_per_s"]),
                     default=None) for b in sizes] for r in tp_models]
        out.append(svg_grouped_bars([short_name(r.model) for r in tp_models], [f"batch {b}" for b in sizes], vals,
                                    "Throughput of the embedding models (documents/s)", y_label="docs/s"))
    out += integration_render.charts(report)  # the Pareto charts of quality against bytes per vector
    return out


def to_html(report: Report) -> str:
    ds = report.dataset
    title = f"embedwise validation: {report.task} on {ds.get('name')}"
    body = [f"<h1>{_esc(title)}</h1>", decision_html(report)]
    if report.synthetic:
        body.append('<p class="synthetic"><b>Synthetic evaluation set.</b> The queries were made from the corpus itself: '
                    "the figures rank the models on this data and are not comparable with MTEB's.</p>")
    sizes = ", ".join(f"{k} {v:,}" for k, v in ds.items() if isinstance(v, int) and not isinstance(v, bool))
    body.append(f'<p class="muted">Run {_esc(report.run_id)} · {_esc(report.created_at)} · data {_esc(ds.get("path"))} '
                f"({_esc(sizes)}) · main metric <code>{_esc(report.main_metric)}</code> · best "
                f"<b>{_esc(report.best or '–')}</b></p>")
    rows = summary_rows(report)
    if rows:
        body.append("<h2>Summary</h2>")
        body.append(html_table(list(rows[0].keys()), [list(r.values()) for r in rows],
                                ["failed" if r.status != "ok" else "" for r in report.runs], "summary"))
        failed_runs = [r for r in report.runs if r.status != "ok"]
        if failed_runs:
            body.append("<ul>" + "".join(f'<li class="failed"><b>{_esc(r.model)}</b> failed: {_esc(r.error)}</li>'
                                         for r in failed_runs) + "</ul>")
    chart_svgs = charts(report)
    if chart_svgs:
        body.append('<h2>Charts</h2><div class="charts">' + "".join(chart_svgs) + "</div>")
    # The Markdown sections below the summary carry the detail tables: render them as HTML tables too.
    ok = [r for r in report.runs if r.status == "ok"]
    metrics = list(_secondary_metrics(report))
    if ok:
        body.append("<h2>Quality</h2>")
        body.append(html_table(["model", *metrics], [[r.model, *[fmt(r.metrics.get(m)) for m in metrics]] for r in ok]))
        if report.task == "retrieval":
            ks = (1, 3, 5, 10, 100)
            headers = ["model", "metric", *[f"@{k}" for k in ks]]
            table_rows = [[r.model, fam, *[fmt(r.metrics.get(f"{fam}_at_{k}")) for k in ks]]
                          for r in ok for fam in ("ndcg", "map", "recall", "precision", "mrr")]
            body.append(html_table(headers, table_rows))
    if report.comparisons:
        body.append("<h2>Significance</h2>")
        body.append(html_table(["A", "B", "metric", "A", "B", "diff", "p", "significant", "test"],
                                [[c.a, c.b, c.metric, fmt(c.mean_a), fmt(c.mean_b), f"{c.diff:+.4f}", fmt_p(c.p_value),
                                  "yes" if c.significant else "no", c.test] for c in report.comparisons]))
    body.append(render_fusion.html(report))
    body.append(integration_render.html(report))
    if ok:
        body.append("<h2>Speed and memory</h2>")
        for r in ok:
            s = r.speed or {}
            body.append(f"<h3>{_esc(r.model)}</h3><p>load {fmt_num(s.get('load_seconds'))} s · peak RSS "
                        f"{fmt_num(s.get('peak_rss_mb'))} MB (+{fmt_num(s.get('rss_delta_mb'))} MB)"
                        + (f" · GPU peak {fmt_num(s.get('gpu_peak_mb'))} MB" if s.get("gpu_peak_mb") else "") + "</p>")
            if s.get("throughput"):
                pool = ["actors"] if "actors" in s["throughput"][0] else []  # on Ray: one row per actor pool size
                body.append(html_table(pool + ["batch size", "texts", "docs/s", "tokens/s"],
                                        [[t[k] for k in pool] + [t["batch_size"], t["texts"], fmt_num(t["docs_per_s"]),
                                                                 fmt_num(t["tokens_per_s"])] for t in s["throughput"]]))
            if s.get("latency"):
                if s.get("serialized_requests"):
                    body.append('<p class="muted">One model replica serves the requests one at a time: latency at '
                                "concurrency &gt; 1 includes the wait in the queue.</p>")
                body.append(html_table(["concurrency", "requests", "p50 ms", "p95 ms", "p99 ms", "qps"],
                                        [[lat["concurrency"], lat["requests"], fmt_num(lat["p50_ms"]),
                                          fmt_num(lat["p95_ms"]), fmt_num(lat["p99_ms"]), fmt_num(lat["qps"])]
                                         for lat in s["latency"]]))
        body.append("<h2>Robustness</h2>")
        for r in ok:
            rob = r.robustness or {}
            if not rob:
                continue
            body.append(f"<h3>{_esc(r.model)}</h3>")
            body.append(html_table(["input", "ok", "tokens", "truncated", "handling / error"],
                                    [[n, fmt(e.get("ok")), fmt(e.get("tokens")), fmt(e.get("truncated")),
                                      e.get("error") or e.get("handling") or ""] for n, e in rob.get("edge_cases", {}).items()]))
            q = rob.get("queries")
            if q:
                body.append(html_table(["perturbation", "ndcg@10", "change vs clean (− is worse)", "mean cosine"],
                                        [[k, fmt(v["ndcg_at_10"]), f"{-v['ndcg_drop']:+.4f}", fmt(v.get("mean_cosine"))]
                                         for k, v in q["perturbations"].items()]))
            t = rob.get("texts") or rob.get("media")  # media: images or audio changed (grayscale, clipped, ...)
            if t:
                body.append(html_table(["perturbation", "mean cosine", "min cosine"],
                                        [[k, fmt(v["mean_cosine"]), fmt(v["min_cosine"])] for k, v in t.items()]))
        body.append("<h2>Cost</h2>")
        body.append(html_table(
            ["model", "hosting", "corpus tokens", "corpus cost", "queries/month", "monthly query cost", "memory MB",
             "hardware", "replicas"],
            [[r.model, r.cost.get("hosting", "–"), f"{r.cost.get('corpus_tokens', 0):,}", fmt_usd(r.cost.get("corpus_usd")),
              f"{r.cost.get('queries_per_month', 0):,}", fmt_usd(r.cost.get("monthly_queries_usd")),
              fmt_num(r.cost.get("memory_mb")), r.cost.get("hardware_class") or "–", fmt(r.cost.get("replicas_needed"))]
             for r in ok]))
    notes = report.notes + [f"{r.model}: {n}" for r in report.runs for n in r.notes] + list(ds.get("notes") or [])
    if notes:
        body.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_esc(n)}</li>" for n in notes) + "</ul>")
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{_esc(title)}</title>"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{CSS}</style></head>"
            f"<body>{''.join(body)}</body></html>\n")
