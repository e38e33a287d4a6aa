"""Compressed document vectors against float32 (`validate --compression`): quality against bytes per vector.

Each setting is one entry of `run.compression`: `{"precision", "dims", "ndcg_at_10", "recall_at_100",
"bytes_per_vector", "rescore", "loss", "allowed_loss", "index_mb_at_user_docs", "documents", "documents_source",
"pareto", "recommended"}` (and `note` on the float32 entry when Matryoshka truncation was not measured).

- `precision` is that of the stored document vectors; queries stay float32 (asymmetric search, as quantised indexes
  such as IVF_SQ8 run it), except for binary, where a Hamming search needs binary queries too.
- float16: the vectors rounded to half precision. int8: scalar quantisation, each dimension mapped onto 256 levels
  between its minimum and maximum over the corpus (the calibration), scored on the decoded values. binary: one sign
  bit per dimension, scored by Hamming similarity; "rescore" re-ranks its top 100 with the float32 vectors (kept on
  disk, read for those 100 only: `bytes_per_vector` counts what the search holds in memory).
- Matryoshka truncation: the first d dimensions, renormalised, at the dimensions the knowledge base lists for the
  model (float32 and int8 at each); none when the model has no record or a single dimension.
- `loss`: float32's nDCG@10 minus the setting's. `recommended`: the smallest setting (bytes per vector) whose loss is
  at most `options.max_quality_loss` (`allowed_loss`). `pareto`: no other setting is both smaller and better.
- `index_mb_at_user_docs`: the vectors alone at the user's document count (`documents`: the requirements' count when
  stated, else the data set's), without an index's own overhead.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from embedwise.validators.integration.options import IntegrationOptions

Progress = Callable[[str, int, int], None]

TOP_K = 100  # enough for nDCG@10 and recall@100
RESCORE_DEPTH = 100
BYTES = {"float32": 4.0, "float16": 2.0, "int8": 1.0, "binary": 1 / 8}


def measure_compression(enc: Any, ds: Any, state: dict, options: IntegrationOptions, progress: Progress) -> list[dict]:
    from embedwise.validators import metrics as M

    docs = np.asarray(state["doc_vecs"], dtype=np.float32)
    queries = np.asarray(state["query_vecs"], dtype=np.float32)
    full = int(docs.shape[1])
    truncations, note = matryoshka_dims(enc, full)
    settings = [("float32", full, None), ("float16", full, None), ("int8", full, None), ("binary", full, None),
                ("binary", full, f"float32 top {RESCORE_DEPTH}")]
    settings += [(precision, d, None) for d in truncations for precision in ("float32", "int8")]
    documents, source = (options.documents, "requirements") if options.documents else (len(docs), "data set")
    entries = []
    for i, (precision, dims, rescore) in enumerate(settings):
        progress("compression", i, len(settings))
        results = search(docs, queries, precision, dims, rescore is not None, state["query_ids"], state["doc_ids"])
        metrics, _ = M.retrieval_metrics(ds.qrels, results)
        size = bytes_per_vector(precision, dims)
        entries.append({"precision": precision, "dims": dims, "ndcg_at_10": round(metrics["ndcg_at_10"], 5),
                        "recall_at_100": round(metrics["recall_at_100"], 5), "bytes_per_vector": size,
                        "rescore": rescore, "index_mb_at_user_docs": round(size * documents / 2**20, 3),
                        "documents": documents, "documents_source": source})
    progress("compression", len(settings), len(settings))
    if note:
        entries[0]["note"] = note
    mark_choices(entries, options.max_quality_loss)
    return entries


def matryoshka_dims(enc: Any, full: int) -> tuple[list[int], str | None]:
    """The truncated dimensions to measure (below `full`, largest first) and, when there are none, why."""
    record = getattr(enc, "record", None)
    listed = list(getattr(record, "dimensions", None) or [])
    if record is None:
        return [], "no Matryoshka truncation measured: the model has no knowledge-base record of its dimensions"
    if len(listed) <= 1:
        return [], (f"no Matryoshka truncation measured: the knowledge base lists one dimension "
                    f"({listed[0] if listed else 'none'}), so the model is not known to support it")
    return sorted({d for d in listed if d < full}, reverse=True), None


def bytes_per_vector(precision: str, dims: int) -> float:
    return float(math.ceil(dims / 8)) if precision == "binary" else BYTES[precision] * dims


def search(docs: np.ndarray, queries: np.ndarray, precision: str, dims: int, rescore: bool, query_ids: list[str],
           doc_ids: list[str]) -> dict[str, dict[str, float]]:
    """The top `TOP_K` of every query against the documents stored at `precision` and `dims`."""
    d = _unit(docs[:, :dims])
    q = _unit(queries[:, :dims])
    if precision == "binary":
        bits_d, bits_q = _signs(d), _signs(q)
        if rescore:
            return _scored(_top_indices(bits_q, bits_d, RESCORE_DEPTH), q, d, query_ids, doc_ids)
        return _scored(_top_indices(bits_q, bits_d, TOP_K), bits_q, bits_d, query_ids, doc_ids)
    if precision == "float16":
        d = d.astype(np.float16).astype(np.float32)
    elif precision == "int8":
        d = int8_roundtrip(d)
    return _scored(_top_indices(q, d, TOP_K), q, d, query_ids, doc_ids)


def int8_roundtrip(x: np.ndarray) -> np.ndarray:
    """Scalar quantisation calibrated on `x` itself: int8 codes per dimension, decoded back to float32."""
    low, high = x.min(axis=0), x.max(axis=0)
    step = (high - low) / 255
    step[step == 0] = 1.0
    codes = (np.clip(np.round((x - low) / step), 0, 255) - 128).astype(np.int8)
    return ((codes.astype(np.float32) + 128) * step + low).astype(np.float32)


def mark_choices(entries: list[dict], max_quality_loss: float) -> None:
    """`loss`, `pareto` and `recommended` on every entry (the first entry is float32 at full dimensions)."""
    reference = entries[0]["ndcg_at_10"]
    for e in entries:
        e["loss"] = round(reference - e["ndcg_at_10"], 5)
        e["pareto"] = not any(_dominates(o, e) for o in entries)
        e["recommended"] = False
        e["allowed_loss"] = max_quality_loss
    within = [e for e in entries if e["loss"] <= max_quality_loss + 1e-9]
    min(within, key=lambda e: (e["bytes_per_vector"], -e["ndcg_at_10"], e["rescore"] is not None))["recommended"] = True


def _dominates(a: dict, b: dict) -> bool:
    """`a` is no larger and no worse than `b`, and smaller or better."""
    smaller, better = a["bytes_per_vector"] < b["bytes_per_vector"], a["ndcg_at_10"] > b["ndcg_at_10"]
    return (a["bytes_per_vector"] <= b["bytes_per_vector"] and a["ndcg_at_10"] >= b["ndcg_at_10"]
            and (smaller or better))


def _signs(x: np.ndarray) -> np.ndarray:
    """One bit per dimension as ±1, so a dot product is dims − 2·Hamming distance."""
    return np.where(x > 0, 1.0, -1.0).astype(np.float32)


def _top_indices(q: np.ndarray, d: np.ndarray, k: int) -> list[np.ndarray]:
    """The rows of `d` with the `k` highest dot products, for each row of `q` (unordered)."""
    out: list[np.ndarray] = []
    chunk = max(1, min(256, 64_000_000 // max(len(d), 1)))  # each similarity block under ~256 MB
    for start in range(0, len(q), chunk):
        out += list(_top_of(q[start:start + chunk] @ d.T, k))
    return out


def _scored(candidates: list[np.ndarray], q: np.ndarray, d: np.ndarray, query_ids: list[str],
            doc_ids: list[str]) -> dict[str, dict[str, float]]:
    """{query id: {doc id: score}} for each query's candidate documents, scored as q · d."""
    return {query_ids[row]: {doc_ids[int(i)]: float(s) for i, s in zip(idx, d[idx] @ q[row])}
            for row, idx in enumerate(candidates)}


def _top_of(sims: np.ndarray, k: int) -> np.ndarray:
    k = min(k, sims.shape[1])
    if k < sims.shape[1]:
        return np.argpartition(-sims, k - 1, axis=1)[:, :k]
    return np.tile(np.arange(sims.shape[1]), (sims.shape[0], 1))


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (x / norms).astype(np.float32)
