"""Hybrid search: BM25 + this dense model, fused two ways, judged on queries the fusion was not tuned on.

The judged queries are split in two halves with the run's seed. On the tuning half the weighted combination's weight
is chosen (a grid of 0.0 to 1.0 by 0.1) and the better of the two fusion methods is picked; every figure below is
measured on the other, held-out half:

- reciprocal rank fusion (Cormack et al. 2009): score(d) = sum over the two lists of 1 / (k + rank(d)), k = 60;
- weighted: w * dense + (1 - w) * BM25, each list's scores min-max normalised per query (a document absent from a
  list gets that list's 0).

`run.hybrid` (the keys the integration plan reads are starred):

    {"status": "ok",
     "queries": {"tuning": 150, "held_out": 150}, "seed": 42,
     "bm25": {"metrics": {...}}, "dense": {"metrics": {...}},       # each part alone, held-out queries
     "methods": {
        "rrf":      {"k": 60, "metrics": {...}, "tuning_ndcg_at_10": 0.61,
                     "vs_dense": paired_test, "vs_bm25": paired_test},   # on per-query ndcg_at_10
        "weighted": {"weight": 0.7, "metrics": {...}, "tuning_ndcg_at_10": 0.62, "vs_dense": ..., "vs_bm25": ...}},
     "weight": 0.7,                 # the chosen dense share of the weighted combination
     "best_single": "dense",        # the better part alone on the held-out queries
     "best_method": "weighted",     # * the fusion method picked on the tuning half
     "gain_ndcg_at_10": 0.012,      # * best method minus the best part alone, held-out nDCG@10
     "p_value": 0.004,              # the paired test of best method against the best part alone
     "recommended": True,           # * the best method beats the best part alone significantly
     "added_latency_ms": {"p50": 2.1, "p95": 3.4},  # BM25's search of one query + the fusion (best method),
                                                    # on top of the dense search; up to 100 held-out queries timed
     "verdict": "..."}

`metrics` are `metrics.retrieval_metrics` names (ndcg_at_10, recall_at_100, ...); `paired_test` is
`metrics.paired_test` (mean_a is the fusion, mean_b the part). With fewer than two judged queries there is nothing
to split: `{"status": "skipped", "reason": ...}`.

BM25 is the `encoders.bm25.BM25Encoder` validate runs as its baseline, indexed once per data set (not per model): the
index stays in memory until another data set's hybrid run replaces it.
"""
from __future__ import annotations

import random
import time
import weakref
from typing import Any, Callable

from embedwise.validators.formatting import fmt_p

RRF_K = 60
WEIGHTS = tuple(round(0.1 * i, 1) for i in range(11))
Results = dict[str, dict[str, float]]

LATENCY_QUERIES = 100  # held-out queries timed for the latency hybrid adds
_bm25_cache: tuple[Any, Any, Results] | None = None  # (weak reference to the data set, its BM25 index, the results)


def bm25_run(ds: Any, doc_ids: list[str], doc_texts: list[str], query_ids: list[str],
             query_texts: list[str]) -> tuple[Any, Results]:
    """BM25 on the corpus and its top 1000 for every query, indexed once per data set: the models of one run share
    it."""
    global _bm25_cache
    if _bm25_cache is not None and _bm25_cache[0]() is ds:
        return _bm25_cache[1], _bm25_cache[2]
    from embedwise.validators.encoders.bm25 import BM25Encoder
    from embedwise.validators.metrics import TOP_K

    bm25 = BM25Encoder()
    bm25.index(doc_ids, doc_texts)
    results = dict(zip(query_ids, bm25.search(query_texts, TOP_K)))
    _bm25_cache = (weakref.ref(ds), bm25, results)
    return bm25, results


def rrf(lists: list[dict[str, float]], k: int = RRF_K) -> dict[str, float]:
    fused: dict[str, float] = {}
    for scores in lists:
        for rank, doc in enumerate(sorted(scores, key=scores.__getitem__, reverse=True), start=1):
            fused[doc] = fused.get(doc, 0.0) + 1.0 / (k + rank)
    return fused


def min_max(scores: dict[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    span = hi - lo
    return {d: (s - lo) / span if span else 1.0 for d, s in scores.items()}


def weighted(dense: dict[str, float], bm25: dict[str, float], weight: float) -> dict[str, float]:
    """weight * dense + (1 - weight) * BM25 on scores already `min_max`-normalised; absent from a list counts as
    that list's 0."""
    return {d: weight * dense.get(d, 0.0) + (1 - weight) * bm25.get(d, 0.0) for d in dense.keys() | bm25.keys()}


def split_queries(query_ids: list[str], seed: int) -> tuple[list[str], list[str]]:
    """(tuning half, held-out half) of the queries, shuffled with the seed."""
    shuffled = list(query_ids)
    random.Random(seed).shuffle(shuffled)
    half = len(shuffled) // 2
    return shuffled[:half], shuffled[half:]


def _evaluate(qrels: dict, results: Results, queries: list[str]) -> tuple[dict[str, float], list[float]]:
    """Mean metrics and per-query ndcg_at_10 (in `queries` order) on those queries only."""
    from embedwise.validators.metrics import retrieval_metrics

    metrics, per_query = retrieval_metrics({q: qrels[q] for q in queries}, {q: results.get(q, {}) for q in queries})
    return metrics, [per_query["ndcg_at_10"].get(q, 0.0) for q in queries]


def measure_hybrid(enc: Any, ds: Any, state: dict, options: Any,
                   progress: Callable[[str, int, int], None]) -> dict:
    from embedwise.validators.metrics import paired_test

    judged = [q for q in state["query_ids"] if q in ds.qrels]
    if len(judged) < 2:
        return {"status": "skipped", "reason": "fewer than two judged queries: nothing to tune on and hold out"}
    steps = len(WEIGHTS) + 3
    progress("hybrid", 0, steps)
    bm25_index, bm25 = bm25_run(ds, state["doc_ids"], state["doc_texts"], state["query_ids"], state["query_texts"])
    dense: Results = state["results"]
    progress("hybrid", 1, steps)
    tuning, held_out = split_queries(judged, options.seed)
    normalised = {q: (min_max(dense.get(q, {})), min_max(bm25.get(q, {}))) for q in judged}

    def fuse(method: str, weight: float, queries: list[str]) -> Results:
        if method == "rrf":
            return {q: rrf([dense.get(q, {}), bm25.get(q, {})]) for q in queries}
        return {q: weighted(*normalised[q], weight) for q in queries}

    tuned = []
    for i, w in enumerate(WEIGHTS):
        tuned.append((_evaluate(ds.qrels, fuse("weighted", w, tuning), tuning)[0]["ndcg_at_10"], w))
        progress("hybrid", 2 + i, steps)
    tuning_weighted, weight = max(tuned, key=lambda t: t[0])  # the first of equal scores: the lowest weight
    tuning_rrf = _evaluate(ds.qrels, fuse("rrf", 0.0, tuning), tuning)[0]["ndcg_at_10"]

    parts = {name: _evaluate(ds.qrels, res, held_out) for name, res in (("bm25", bm25), ("dense", dense))}
    methods: dict[str, dict] = {}
    for name, w, tuning_score in (("rrf", 0.0, tuning_rrf), ("weighted", weight, tuning_weighted)):
        metrics, per_query = _evaluate(ds.qrels, fuse(name, w, held_out), held_out)
        entry: dict[str, Any] = {"k": RRF_K} if name == "rrf" else {"weight": weight}
        entry.update({"metrics": metrics, "tuning_ndcg_at_10": round(tuning_score, 5)})
        for part, (_, part_per_query) in parts.items():
            entry[f"vs_{part}"] = paired_test(per_query, part_per_query)
        methods[name] = entry
    progress("hybrid", steps, steps)

    best_single = max(parts, key=lambda p: parts[p][0]["ndcg_at_10"])
    best_method = "weighted" if tuning_weighted > tuning_rrf else "rrf"
    test = methods[best_method][f"vs_{best_single}"]
    gain = methods[best_method]["metrics"]["ndcg_at_10"] - parts[best_single][0]["ndcg_at_10"]
    recommended = bool(gain > 0 and test["significant"])
    query_text = dict(zip(state["query_ids"], state["query_texts"]))
    latency = _added_latency(bm25_index, dense, [(q, query_text[q]) for q in held_out[:LATENCY_QUERIES]],
                             best_method, weight)
    return {"status": "ok", "queries": {"tuning": len(tuning), "held_out": len(held_out)}, "seed": options.seed,
            "bm25": {"metrics": parts["bm25"][0]}, "dense": {"metrics": parts["dense"][0]}, "methods": methods,
            "weight": weight, "best_single": best_single, "best_method": best_method,
            "gain_ndcg_at_10": round(gain, 5), "p_value": p_value(test), "recommended": recommended,
            "added_latency_ms": latency,
            "verdict": _verdict(best_method, best_single, gain, test, recommended, len(held_out))}


def _added_latency(bm25: Any, dense: Results, queries: list[tuple[str, str]], method: str, weight: float) -> dict:
    """p50/p95 of what hybrid adds to one query beside the dense search: BM25's search and the fusion."""
    import numpy as np

    from embedwise.validators.metrics import TOP_K

    seconds = []
    for qid, text in queries:
        t0 = time.perf_counter()
        keyword = bm25.search([text], TOP_K)[0]
        if method == "rrf":
            rrf([dense.get(qid, {}), keyword])
        else:
            weighted(min_max(dense.get(qid, {})), min_max(keyword), weight)
        seconds.append(time.perf_counter() - t0)
    ms = np.asarray(seconds) * 1000.0
    if not len(ms):
        return {"p50": None, "p95": None}
    return {"p50": round(float(np.percentile(ms, 50)), 3), "p95": round(float(np.percentile(ms, 95)), 3)}


def p_text(p: float) -> str:
    """'p=0.03' or 'p<0.001'."""
    text = fmt_p(p)
    return f"p{text}" if text.startswith("<") else f"p={text}"


def p_value(test: dict) -> float:
    """The p-value of the test `metrics.paired_test` decides by: Wilcoxon from 10 pairs, the t-test below."""
    return test["wilcoxon_p"] if test["n"] >= 10 else test["ttest_p"]


def _verdict(method: str, single: str, gain: float, test: dict, recommended: bool, n: int) -> str:
    name = {"rrf": "reciprocal rank fusion", "weighted": "the weighted combination"}[method]
    part = "the dense model" if single == "dense" else "BM25"
    figures = f"{gain:+.4f} nDCG@10 over {part} alone on {n} held-out queries, {p_text(p_value(test))}"
    if recommended:
        return f"hybrid: {name} beats {part} alone significantly ({figures})"
    return f"no significant gain from hybrid: {name}, the better fusion, is at {figures}; {part} alone is enough"
