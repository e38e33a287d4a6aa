"""A cross-encoder reranking stage: the reranker rescores the top `options.rerank_depth` of this model's exact results
for every query; quality gained against latency added.

The reranker is `sentence_transformers.CrossEncoder(options.rerank)`: a folder, or a hub id already in the local
cache (nothing is downloaded), never with `trust_remote_code`. Documents below the depth keep their order after the
reranked ones, so metrics at any k compare like with like.

`run.rerank` (the keys the integration plan reads are starred):

    {"status": "ok", "model": "cross-encoder/ms-marco-MiniLM-L6-v2", "depth": 100, "queries": 300,
     "candidates_per_query": 100.0,                      # documents reranked per query (fewer in a small corpus)
     "metrics_before": {...}, "metrics_after": {...},    # metrics.retrieval_metrics names, the same queries
     "gain_ndcg_at_10": 0.04,                            # * after minus before
     "test": paired_test,                                # metrics.paired_test on per-query ndcg_at_10 (after, before)
     "p_value": 0.001, "significant": True,
     "added_latency_ms": {"p50": 41.0, "p95": 55.2, "mean": 42.3},  # * reranking one query's candidates
     "verdict": "..."}

A reranker that cannot be loaded or fails while scoring gives `{"status": "failed", "model": ..., "error": ...}`;
the model's run goes on.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from embedwise.errors import ModelRunError
from embedwise.validators.integration.hybrid import p_text, p_value

Results = dict[str, dict[str, float]]


def load_reranker(ref: str, device: str | None) -> Any:
    """The cross-encoder for `ref`, from its folder or the local hub cache; ModelRunError when it cannot load."""
    try:
        import transformers
        from sentence_transformers import CrossEncoder

        transformers.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
        local = Path(ref).expanduser()
        return CrossEncoder(str(local) if local.exists() else ref, device=device, trust_remote_code=False,
                            local_files_only=True)
    except Exception as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelRunError(f"could not load the reranker {ref}: {type(exc).__name__}: {msg} (give a folder, or a "
                            "hub id already downloaded to the local cache)") from exc


def rerank_query(reranker: Any, query: str, ranked: list[str], doc_text: dict[str, str], depth: int) -> list[str]:
    """`ranked` (doc ids, best first) with its top `depth` in the reranker's order."""
    head = ranked[:depth]
    if not head:
        return ranked
    scores = reranker.predict([(query, doc_text[d]) for d in head], batch_size=32, show_progress_bar=False)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    return [head[i] for i in order] + ranked[depth:]


def measure_rerank(enc: Any, ds: Any, state: dict, options: Any, progress: Callable[[str, int, int], None]) -> dict:
    try:
        return _measure(enc, ds, state, options, progress)
    except Exception as exc:  # the reranker's failure is its own: the model's run goes on
        error = str(exc) if isinstance(exc, ModelRunError) else f"{type(exc).__name__}: {exc}"
        return {"status": "failed", "model": options.rerank, "error": error}


def _measure(enc: Any, ds: Any, state: dict, options: Any, progress: Callable[[str, int, int], None]) -> dict:
    from embedwise.validators.metrics import paired_test, retrieval_metrics

    reranker = load_reranker(options.rerank, getattr(enc, "device", None))
    depth = options.rerank_depth
    doc_text = dict(zip(state["doc_ids"], state["doc_texts"]))
    query_text = dict(zip(state["query_ids"], state["query_texts"]))
    before: Results = state["results"]
    queries = [q for q in state["query_ids"] if q in ds.qrels]
    after: Results = {}
    seconds, candidates = [], []
    if queries:  # the first call allocates buffers: not a query's latency
        rerank_query(reranker, query_text[queries[0]], _ranked(before, queries[0]), doc_text, depth)
    for i, q in enumerate(queries):
        ranked = _ranked(before, q)
        t0 = time.perf_counter()
        reordered = rerank_query(reranker, query_text[q], ranked, doc_text, depth)
        seconds.append(time.perf_counter() - t0)
        candidates.append(min(depth, len(ranked)))
        after[q] = {d: float(len(reordered) - r) for r, d in enumerate(reordered)}  # rank as score: order kept
        progress("rerank", i + 1, len(queries))
    qrels = {q: ds.qrels[q] for q in queries}
    metrics_before, per_before = retrieval_metrics(qrels, {q: before.get(q, {}) for q in queries})
    metrics_after, per_after = retrieval_metrics(qrels, after)
    test = paired_test([per_after["ndcg_at_10"].get(q, 0.0) for q in queries],
                       [per_before["ndcg_at_10"].get(q, 0.0) for q in queries])
    gain = metrics_after["ndcg_at_10"] - metrics_before["ndcg_at_10"]
    ms = np.asarray(seconds) * 1000.0
    latency = {"p50": round(float(np.percentile(ms, 50)), 3), "p95": round(float(np.percentile(ms, 95)), 3),
               "mean": round(float(ms.mean()), 3)} if len(ms) else {"p50": None, "p95": None, "mean": None}
    p = p_value(test)
    per_query = round(float(np.mean(candidates)), 1) if candidates else 0.0
    return {"status": "ok", "model": options.rerank, "depth": depth, "queries": len(queries),
            "candidates_per_query": per_query,
            "metrics_before": metrics_before, "metrics_after": metrics_after, "gain_ndcg_at_10": round(gain, 5),
            "test": test, "p_value": p, "significant": bool(test["significant"]), "added_latency_ms": latency,
            "verdict": _verdict(gain, p, bool(test["significant"]), latency, per_query)}


def _ranked(results: Results, query_id: str) -> list[str]:
    scores = results.get(query_id, {})
    return sorted(scores, key=scores.__getitem__, reverse=True)


def _verdict(gain: float, p: float, significant: bool, latency: dict, candidates: float) -> str:
    cost = (f"{latency['p50']:.1f} ms p50 added per query to rerank {candidates:g} candidates"
            if latency["p50"] is not None else "no query reranked")
    if significant and gain > 0:
        return f"reranking pays: {gain:+.4f} nDCG@10 ({p_text(p)}) for {cost}"
    if significant:
        return f"reranking hurts: {gain:+.4f} nDCG@10 ({p_text(p)}), and costs {cost}"
    return f"no significant gain from reranking ({gain:+.4f} nDCG@10, {p_text(p)}) for {cost}"
