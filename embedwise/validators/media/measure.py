"""Measure one model on image or audio data: what `validators.measure.run_model` calls when `ds.modality` is not text.

Quality uses the text paths' protocols and metric names (`metrics.retrieval_metrics`, MTEB's classification
protocol), so the report, the paired tests and `choose` read a media run as they read a text one. The returned state
holds one token count per item (a file counts 1) for the cost step, and what robustness needs.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from embedwise.validators.media.data import MediaClassificationSet, MediaRetrievalSet
from embedwise.validators.media.encoders import make_media_encoder

Progress = Callable[[str, int, int], None]
Stage = Callable[[str], Progress]

__all__ = ["make_media_encoder", "quality", "robustness", "speed_inputs"]


def quality(enc: Any, ds: MediaRetrievalSet | MediaClassificationSet, ctx: Any, stage: Stage, run: Any) -> dict:
    if ds.bad_files:
        run.notes.append(f"{len(ds.bad_files)} unreadable {ds.modality} file(s) were left out of this run (the data "
                         "set's notes give each file and reason)")
    run.info["modality"] = ds.modality
    run.info["bad_files"] = len(ds.bad_files)
    if isinstance(ds, MediaRetrievalSet):
        return _retrieval(enc, ds, ctx, stage, run)
    return _classification(enc, ds, ctx, stage, run)


def _retrieval(enc: Any, ds: MediaRetrievalSet, ctx: Any, stage: Stage, run: Any) -> dict:
    from embedwise.validators import metrics as M

    doc_ids, query_ids = list(ds.corpus), list(ds.queries)
    docs, queries = [ds.corpus[d] for d in doc_ids], [ds.queries[q] for q in query_ids]
    doc_vecs, doc_tokens = ctx.backend.embed(enc, docs, "document", ctx.cache, stage("embedding corpus"),
                                             "embedding corpus")
    query_vecs, query_tokens = ctx.backend.embed(enc, queries, "query", ctx.cache, stage("embedding queries"),
                                                 "embedding queries")
    results = ctx.backend.search(query_vecs, doc_vecs, query_ids, doc_ids)
    metrics, per_query = M.retrieval_metrics(ds.qrels, results)
    run.metrics, run.per_query = metrics, per_query
    if getattr(ctx, "rankings", None) is not None:
        ctx.rankings[run.model] = results
    run.info["by_query_kind"] = _by_query_kind(ds, per_query)
    return {"doc_vecs": doc_vecs, "query_vecs": query_vecs, "doc_ids": doc_ids, "query_ids": query_ids,
            "docs": docs, "queries": queries, "results": results, "per_query": per_query,
            "doc_tokens": doc_tokens, "query_tokens": query_tokens}


def _by_query_kind(ds: MediaRetrievalSet, per_query: dict[str, dict[str, float]]) -> dict:
    """Text-to-media and media-to-media queries scored apart: one set often holds both, and they differ."""
    out = {}
    for kind in sorted({q.kind for q in ds.queries.values()}):
        ids = [q for q, item in ds.queries.items() if item.kind == kind]
        out[kind] = {"queries": len(ids), **{m: round(float(np.mean([per_query[m].get(q, 0.0) for q in ids])), 5)
                                             for m in ("ndcg_at_10", "recall_at_10", "mrr_at_10") if m in per_query}}
    return out


def _classification(enc: Any, ds: MediaClassificationSet, ctx: Any, stage: Stage, run: Any) -> dict:
    from embedwise.validators import metrics as M

    experiments = M.undersample_experiments(ds.train_labels, ctx.n_experiments, ctx.samples_per_label, ctx.seed)
    needed = sorted({i for e in experiments for i in e})
    pos = {i: j for j, i in enumerate(needed)}
    train = [ds.train_items[i] for i in needed]
    train_vecs, train_tokens = ctx.backend.embed(enc, train, "symmetric", ctx.cache, stage("embedding train"),
                                                 "embedding train")
    test_vecs, test_tokens = ctx.backend.embed(enc, ds.test_items, "symmetric", ctx.cache, stage("embedding test"),
                                               "embedding test")
    stage("classifier")("classifier", 0, 1)
    means, per = M.classification_metrics(train_vecs, [ds.train_labels[i] for i in needed], test_vecs,
                                          ds.test_labels, [[pos[i] for i in e] for e in experiments], seed=ctx.seed)
    stage("classifier")("classifier", 1, 1)
    run.metrics = means
    run.per_experiment = {k: [float(x) for x in v] for k, v in per.items() if k in ("accuracy", "f1", "knn_accuracy")}
    run.info["train_examples_used"] = len(needed)
    return {"doc_tokens": train_tokens + test_tokens, "query_tokens": test_tokens, "sample": list(ds.test_items),
            "docs": train + list(ds.test_items)}


def robustness(enc: Any, ds: MediaRetrievalSet | MediaClassificationSet, ctx: Any, state: dict, stage: Stage) -> dict:
    from embedwise.validators.media import robustness as R

    return R.measure(enc, ds, ctx, state, stage)


def speed_inputs(ds: MediaRetrievalSet | MediaClassificationSet) -> tuple[list, list]:
    """(documents, queries) for the load test: the files themselves, read and preprocessed on every request as a
    deployed service would."""
    if isinstance(ds, MediaRetrievalSet):
        return list(ds.corpus.values()), list(ds.queries.values())
    return ds.train_items + ds.test_items, list(ds.test_items)
