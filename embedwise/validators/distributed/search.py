"""Exact cosine search sharded across Ray workers: each task scores every query against one slice of the corpus and
keeps its top k; the driver merges the shards' candidates into the global top k. The result equals
`metrics.dense_search` (the same normalisation, the same top-k rule), so the same metric code runs on it."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from embedwise.validators.metrics import TOP_K, _normalise


def shard_top_k(queries: np.ndarray, docs: np.ndarray, offset: int, k: int,
                chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(doc positions + offset, scores) of each query's top min(k, len(docs)) in one shard, unordered."""
    k = min(k, docs.shape[0])
    chunk = max(1, min(chunk, 64_000_000 // max(docs.shape[0], 1)))  # each similarity block stays under ~256 MB
    idx = np.empty((queries.shape[0], k), dtype=np.int64)
    scores = np.empty((queries.shape[0], k), dtype=np.float32)
    for start in range(0, queries.shape[0], chunk):
        sims = queries[start:start + chunk] @ docs.T
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < sims.shape[1] else \
            np.tile(np.arange(sims.shape[1]), (sims.shape[0], 1))
        idx[start:start + chunk] = top + offset
        scores[start:start + chunk] = np.take_along_axis(sims, top, axis=1)
    return idx, scores


def merge(idx: np.ndarray, scores: np.ndarray, query_ids: Sequence[str], doc_ids: Sequence[str],
          k: int) -> dict[str, dict[str, float]]:
    """The global top k of every query from its shards' candidates (one row per query), best first."""
    results: dict[str, dict[str, float]] = {}
    for row, qid in enumerate(query_ids):
        cand, sc = idx[row], scores[row]
        if k < len(sc):
            keep = np.argpartition(-sc, k - 1)[:k]
            cand, sc = cand[keep], sc[keep]
        order = np.argsort(-sc, kind="stable")
        results[qid] = {doc_ids[int(cand[j])]: float(sc[j]) for j in order}
    return results


def sharded_search(query_vecs: np.ndarray, doc_vecs: np.ndarray, query_ids: Sequence[str], doc_ids: Sequence[str],
                   shards: int, top_k: int = TOP_K) -> dict[str, dict[str, float]]:
    """{query id: {doc id: cosine}} for the top `top_k` documents of every query, the corpus cut into `shards`."""
    import ray

    q = _normalise(np.asarray(query_vecs, dtype=np.float32))
    d = _normalise(np.asarray(doc_vecs, dtype=np.float32))
    k = min(top_k, d.shape[0])
    if k == 0 or q.shape[0] == 0:
        return {qid: {} for qid in query_ids}
    bounds = np.linspace(0, d.shape[0], min(shards, d.shape[0]) + 1).astype(int)
    task = ray.remote(num_cpus=1)(shard_top_k)
    q_ref = ray.put(q)  # sent once, read by every shard
    parts = ray.get([task.remote(q_ref, d[lo:hi], int(lo), k) for lo, hi in zip(bounds[:-1], bounds[1:])])
    idx = np.concatenate([p[0] for p in parts], axis=1)
    scores = np.concatenate([p[1] for p in parts], axis=1)
    return merge(idx, scores, query_ids, doc_ids, k)
