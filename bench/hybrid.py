"""Hybrid BM25 + dense on SciFact with all-MiniLM-L6-v2: BM25 alone, MiniLM alone, reciprocal rank fusion and the
weighted combination, each with its paired test, through `validate --hybrid` (the same code path as the CLI).

    python bench/hybrid.py [--eval DIR] [--model ID_OR_FOLDER] [--rerank CROSS_ENCODER] [--no-cache]

The fusion weight and method are chosen on a seeded half of the queries; the fusion figures are on the other half,
beside each part alone on the same queries. Each part's nDCG@10 on all 300 queries is printed beside MTEB's published
figure (REFERENCE.csv). `--rerank` adds a cross-encoder stage (a folder, or a hub id already in the local cache).
On 2 CPU cores the first run takes a few minutes (embedding SciFact's 5,183 abstracts); the embedding cache makes a
re-run take seconds. `fusion_rows(report)` gives the rows for `bench/integration.py`.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def fusion_rows(report) -> list[tuple[str, str, str, str]]:
    """(what, nDCG@10 on the held-out queries, against MiniLM alone, against BM25 alone) for each dense run."""
    from embedwise.validators.integration.hybrid import p_text, p_value

    rows = []
    for run in report.runs:
        h = run.hybrid or {}
        if h.get("status") != "ok":
            continue
        rows.append((f"BM25 alone ({h['queries']['held_out']} held-out queries)",
                     f"{h['bm25']['metrics']['ndcg_at_10']:.4f}", "", ""))
        rows.append((f"{run.model.split('/')[-1]} alone", f"{h['dense']['metrics']['ndcg_at_10']:.4f}", "", ""))
        for name, label in (("rrf", "RRF (k=60)"), ("weighted", f"weighted (dense weight {h['weight']:.1f})")):
            m = h["methods"][name]
            vs = [f"{m[f'vs_{part}']['diff']:+.4f} ({p_text(p_value(m[f'vs_{part}']))})" for part in ("dense", "bm25")]
            rows.append((label, f"{m['metrics']['ndcg_at_10']:.4f}", *vs))
    return rows


def published(eval_dir: Path) -> dict[str, float]:
    with open(eval_dir / "REFERENCE.csv", newline="", encoding="utf-8") as fh:
        return {r["model"]: float(r["published_value"]) for r in csv.DictReader(fh)
                if r["dataset"] == "scifact" and r["metric"] == "ndcg_at_10"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval", help="folder with scifact/ and REFERENCE.csv (default ../shared/eval)")
    parser.add_argument("--model", default=MINILM, help="the dense model (default all-MiniLM-L6-v2, from its package)")
    parser.add_argument("--rerank", help="a cross-encoder to rerank the top 100 (folder or cached hub id)")
    parser.add_argument("--no-cache", action="store_true", help="embed everything afresh")
    args = parser.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    sys.path.insert(0, str(REPO))
    from embedwise.validators.integration import IntegrationOptions
    from embedwise.validators.run import validate

    eval_dir = Path(args.eval or os.environ.get("EMBEDWISE_EVAL_DIR") or REPO.parent / "shared" / "eval").expanduser()
    if not (eval_dir / "scifact").is_dir():
        sys.exit(f"no scifact/ in {eval_dir}: pass --eval DIR")
    t0 = time.perf_counter()
    report = validate(eval_dir / "scifact", models=[args.model], store=False, write_files=False,
                      measure_speed=False, measure_robustness=False, use_cache=not args.no_cache,
                      integration=IntegrationOptions(hybrid=True, rerank=args.rerank))
    seconds = time.perf_counter() - t0
    failed = [r for r in report.runs if r.status != "ok"]
    if failed:
        sys.exit("; ".join(f"{r.model} failed: {r.error}" for r in failed))
    dense, bm25 = report.runs
    reference = published(eval_dir)
    print(f"SciFact test, {report.dataset['documents']:,} documents, {report.dataset['queries']} queries "
          f"({seconds:.0f} s)\n")
    print(f"{'all queries':<40} {'nDCG@10':>8} {'MTEB':>8}")
    for run, ref in ((bm25, reference.get("mteb/baseline-bm25s")), (dense, reference.get(args.model))):
        print(f"{run.model:<40} {run.metrics['ndcg_at_10']:>8.4f} {ref if ref is not None else '–':>8}")
    h = dense.hybrid
    print(f"\nfusion, chosen on {h['queries']['tuning']} queries, judged on the other {h['queries']['held_out']} "
          f"(seed {h['seed']}); paired Wilcoxon on per-query nDCG@10\n")
    print(f"{'held-out queries':<40} {'nDCG@10':>8} {'vs dense':>20} {'vs BM25':>20}")
    for what, value, vs_dense, vs_bm25 in fusion_rows(report):
        print(f"{what[:40]:<40} {value:>8} {vs_dense:>20} {vs_bm25:>20}")
    print(f"\nbest fusion: {h['best_method']}; hybrid adds {h['added_latency_ms']['p50']:.2f} ms p50 / "
          f"{h['added_latency_ms']['p95']:.2f} ms p95 per query (BM25 search + fusion)")
    print(f"verdict: {h['verdict']}")
    x = dense.rerank
    if x:
        if x["status"] != "ok":
            print(f"\nreranker failed: {x['error']}")
        else:
            print(f"\nreranking the top {x['depth']} with {x['model']}: nDCG@10 {x['metrics_before']['ndcg_at_10']:.4f}"
                  f" -> {x['metrics_after']['ndcg_at_10']:.4f}, {x['added_latency_ms']['p50']:.1f} ms p50 added; "
                  f"{x['verdict']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
