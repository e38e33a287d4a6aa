"""The validators' overhead: `validate()` against a bare `SentenceTransformer.encode` of the same texts, in one process,
and a cached re-run against the first run.

Goals: the validator's quality run takes at most 10% more wall time than loading the model and encoding the same
texts bare; a re-run on the embedding cache takes at most 5% of the first run. Prints figures, asserts nothing
(shared machines are noisy).

    python bench/validate.py [--eval DIR] [--data DIR] [--max-docs 1000] [--model ID] [--batch-size 32]

By default a subset of SciFact (the judged documents first, then others, up to --max-docs; --max-docs 0 for all
5,183) is written to a temporary BEIR folder; --data takes any BEIR folder instead. The validator runs quality only
(no speed test, no robustness, no BM25), with a fresh cache in a temporary EMBEDWISE_HOME.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def subset(src: Path, dst: Path, max_docs: int) -> Path:
    """A BEIR folder with every judged document of `src` and other documents up to `max_docs`."""
    dst.mkdir(parents=True, exist_ok=True)
    qrels_lines = (src / "qrels.tsv").read_text(encoding="utf-8").splitlines()
    judged = {line.split("\t")[1] for line in qrels_lines[1:] if line.strip()}
    kept = []
    with open(src / "corpus.jsonl", encoding="utf-8") as fh:
        docs = [json.loads(line) for line in fh if line.strip()]
    for doc in docs:
        if doc["_id"] in judged:
            kept.append(doc)
    for doc in docs:
        if max_docs and len(kept) >= max_docs:
            break
        if doc["_id"] not in judged:
            kept.append(doc)
    with open(dst / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for doc in kept:
            fh.write(json.dumps(doc) + "\n")
    (dst / "queries.jsonl").write_text((src / "queries.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    (dst / "qrels.tsv").write_text("\n".join(qrels_lines) + "\n", encoding="utf-8")
    return dst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval", help="evaluation folder (default $EMBEDWISE_EVAL_DIR or ../shared/eval)")
    parser.add_argument("--data", help="a BEIR folder to use instead of the SciFact subset")
    parser.add_argument("--max-docs", type=int, default=1000, help="SciFact documents to use (0: all)")
    parser.add_argument("--model", default=MINILM)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of bare and validator runs")
    args = parser.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    tmp = Path(tempfile.mkdtemp(prefix="embedwise-bench-"))
    os.environ["EMBEDWISE_HOME"] = str(tmp / "home")

    if args.data:
        data = Path(args.data)
    else:
        root = Path(args.eval or os.environ.get("EMBEDWISE_EVAL_DIR") or (REPO.parent / "shared" / "eval"))
        if not (root / "scifact" / "corpus.jsonl").exists():
            sys.exit(f"no scifact/ in {root}: pass --eval DIR, set EMBEDWISE_EVAL_DIR, or give --data")
        data = subset(root / "scifact", tmp / "scifact-subset", args.max_docs)

    from embedwise.kb.store import open_db
    from embedwise.validators.cache import EmbeddingCache
    from embedwise.validators.data import load_data
    from embedwise.validators.encoders import make_encoder
    from embedwise.validators.run import validate

    db = open_db()  # the knowledge base is built once, outside the timings
    ds = load_data(data)
    doc_texts = [ds.doc_text(d) for d in ds.corpus]
    query_texts = list(ds.queries.values())
    print(f"data: {data} ({len(doc_texts)} documents, {len(query_texts)} queries); model {args.model}; "
          f"{args.rounds} rounds, best of each")

    # Imports outside every timing: both paths pay them once per process.
    import sentence_transformers  # noqa: F401
    from sentence_transformers import SentenceTransformer

    source = make_encoder(args.model).source

    def bare() -> float:
        t0 = time.perf_counter()
        model = SentenceTransformer(source, device="cpu")
        model.encode(doc_texts, batch_size=args.batch_size, show_progress_bar=False)
        model.encode(query_texts, batch_size=args.batch_size, show_progress_bar=False)
        return time.perf_counter() - t0

    def validator(cache_file: Path) -> tuple[float, float]:
        cache = EmbeddingCache(cache_file)
        t0 = time.perf_counter()
        report = validate(data, models=[args.model], include_bm25=False, measure_speed=False,
                          measure_robustness=False, store=False, out=tmp / "reports", db=db, cache=cache,
                          batch_size=args.batch_size)
        seconds = time.perf_counter() - t0
        cache.close()
        run = report.runs[0]
        if run.status != "ok":
            sys.exit(f"the validator failed: {run.error}")
        return seconds, run.metrics["ndcg_at_10"]

    # Warm the process (allocator, kernels) on a few texts so that neither path pays it alone.
    SentenceTransformer(source, device="cpu").encode(doc_texts[:64], batch_size=args.batch_size)

    bare_times, first_times = [], []
    for i in range(args.rounds):  # alternate, so that a busy moment on a shared machine hits both
        bare_times.append(bare())
        seconds, ndcg = validator(tmp / f"cache-{i}.sqlite")  # a fresh cache: every text is embedded
        first_times.append(seconds)
    t_cached, ndcg_cached = validator(tmp / "cache-0.sqlite")
    t_bare, t_first = min(bare_times), min(first_times)
    overhead = (t_first - t_bare) / t_bare
    ratio = t_cached / t_first
    samples = lambda xs: ", ".join(f"{x:.2f}" for x in xs)  # noqa: E731
    print(f"bare SentenceTransformer load + encode:   {t_bare:8.2f} s  ({samples(bare_times)})")
    print(f"validator, first run (quality, cache on): {t_first:8.2f} s  ({samples(first_times)})  ndcg_at_10 {ndcg:.5f}")
    print(f"validator, cached re-run:                 {t_cached:8.2f} s  ndcg_at_10 {ndcg_cached:.5f}")
    print(f"overhead vs bare encode: {overhead:+.1%}  (goal <= +10%)  {'ok' if overhead <= 0.10 else 'over'}")
    print(f"cached re-run / first:   {ratio:.1%}   (goal <= 5%)    {'ok' if ratio <= 0.05 else 'over'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
