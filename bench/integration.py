"""Integration as deployed, on SciFact with all-MiniLM-L6-v2: exact search against each Milvus Lite index (recall@10
of exact search's top 10, nDCG@10 through the index, build time, disk, memory, latency), and the compression table
(float16, int8, binary with and without rescoring), beside MTEB's published nDCG@10 (REFERENCE.csv: 0.64508).

    python bench/integration.py [--eval DIR] [--model ID_OR_FOLDER] [--no-cache] [--keep-index]

It runs `validate --index milvus --compression` (the CLI's code path) without the speed and robustness tests. On 2 CPU
cores the first run spends a few minutes embedding SciFact's 5,183 abstracts; the embedding cache (EMBEDWISE_HOME,
default /tmp/ewh-bench-milvus) makes a re-run spend its time on the indexes alone. Prints figures, asserts nothing.
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


def published(eval_dir: Path, model: str) -> float | None:
    with open(eval_dir / "REFERENCE.csv", newline="", encoding="utf-8") as fh:
        return next((float(r["published_value"]) for r in csv.DictReader(fh)
                     if r["dataset"] == "scifact" and r["metric"] == "ndcg_at_10" and r["model"] == model), None)


def print_index(run) -> None:
    exact = run.metrics["ndcg_at_10"]
    print(f"{'Milvus Lite index':<44} {'recall@10':>9} {'nDCG@10':>8} {'vs exact':>9} {'build s':>8} {'disk MB':>8} "
          f"{'mem MB':>7} {'p50 ms':>7} {'p95 ms x16':>10} {'qps x16':>8}")
    print(f"{'exact (float32, numpy in this process)':<44} {1.0:>9.4f} {exact:>8.4f}")
    for e in run.index:
        params = ", ".join(f"{k}={v}" for k, v in {**e["params"]["build"], **e["params"]["search"]}.items())
        name = f"{e['kind']} {params}".strip()
        if e["recall_at_10"] is None:
            print(f"{name:<44} {e.get('note')}")
            continue
        one, many = e["latency_ms"]["1"], e["latency_ms"]["16"]
        ndcg = e["metrics"]["ndcg_at_10"]
        change = round(ndcg - exact, 4) + 0.0  # no "-0.0000" for a float's last bit
        print(f"{name:<44} {e['recall_at_10']:>9.4f} {ndcg:>8.4f} {change:>+9.4f} {e['build_s']:>8.2f} "
              f"{e['disk_mb']:>8.1f} {e['memory_mb']:>7.1f} {one['p50']:>7.2f} {many['p95']:>10.1f} {many['qps']:>8.0f}")
        if e.get("note"):
            print(f"{'':<44} note: {e['note']}")


def print_compression(run) -> None:
    documents = run.compression[0]["documents"]
    print(f"{'setting':<40} {'bytes/vec':>9} {'nDCG@10':>8} {'loss':>8} {'recall@100':>10} "
          f"{'MB at ' + format(documents, ','):>14}")
    for e in run.compression:
        name = f"{e['precision']} {e['dims']}d" + (f" + rescore ({e['rescore']})" if e["rescore"] else "")
        mark = "  <- recommended" if e["recommended"] else ""
        print(f"{name:<40} {e['bytes_per_vector']:>9.0f} {e['ndcg_at_10']:>8.4f} {e['loss']:>+8.4f} "
              f"{e['recall_at_100']:>10.4f} {e['index_mb_at_user_docs']:>14.2f}{mark}")
    if run.compression[0].get("note"):
        print(f"note: {run.compression[0]['note']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval", help="folder with scifact/ and REFERENCE.csv (default ../shared/eval)")
    parser.add_argument("--model", default=MINILM, help="the dense model (default all-MiniLM-L6-v2, from its package)")
    parser.add_argument("--no-cache", action="store_true", help="embed everything afresh")
    parser.add_argument("--keep-index", action="store_true", help="keep the Milvus Lite folder (printed at the end)")
    args = parser.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("EMBEDWISE_HOME", "/tmp/ewh-bench-milvus")
    sys.path.insert(0, str(REPO))
    from embedwise.validators.integration import IntegrationOptions
    from embedwise.validators.run import validate

    eval_dir = Path(args.eval or os.environ.get("EMBEDWISE_EVAL_DIR") or REPO.parent / "shared" / "eval").expanduser()
    if not (eval_dir / "scifact").is_dir():
        sys.exit(f"no scifact/ in {eval_dir}: pass --eval DIR")
    t0 = time.perf_counter()
    report = validate(eval_dir / "scifact", models=[args.model], include_bm25=False, store=False, write_files=False,
                      measure_speed=False, measure_robustness=False, use_cache=not args.no_cache,
                      integration=IntegrationOptions(index="milvus", compression=True, keep_index=args.keep_index))
    seconds = time.perf_counter() - t0
    (run,) = report.runs
    if run.status != "ok":
        sys.exit(f"{run.model} failed: {run.error}")
    reference = published(eval_dir, args.model)
    print(f"SciFact test, {report.dataset['documents']:,} documents, {report.dataset['queries']} queries, "
          f"{run.model} ({seconds:.0f} s; integration {run.seconds.get('integration', 0):.0f} s)")
    print(f"exact search nDCG@10 {run.metrics['ndcg_at_10']:.5f}; MTEB published "
          f"{reference if reference is not None else '–'}\n")
    print_index(run)
    print()
    print_compression(run)
    # Hybrid BM25 + dense rows go here: bench/hybrid.py's fusion_rows(report) on a run with hybrid=True.
    if args.keep_index:
        print(f"\n{run.index[0].get('note')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
