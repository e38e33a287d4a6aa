"""Integration measured as deployed (retrieval): an approximate index in a vector database, compressed vectors,
hybrid BM25 + dense fusion, a cross-encoder reranking stage. Each part adds its own field to the model's run
(`index`, `compression`, `hybrid`, `rerank`); `plan` turns them into the report's integration plan."""
from __future__ import annotations

from typing import Any, Callable

from embedwise.validators.integration.options import IntegrationOptions

__all__ = ["IntegrationOptions", "measure_integration"]


def measure_integration(enc: Any, ds: Any, state: dict, run: Any, ctx: Any,
                        stage: Callable[[str], Callable[[str, int, int], None]]) -> None:
    """The integration measurements `ctx.integration` asks for, on the vectors and results the quality step made.

    `state` holds doc_ids, doc_texts, query_ids, query_texts, results (exact search) and, for dense models,
    doc_vecs and query_vecs. Learned-sparse and BM25 runs have no vectors: only the parts that need none apply.
    """
    options: IntegrationOptions = ctx.integration
    dense = state.get("doc_vecs") is not None
    if options.index and dense:
        from embedwise.validators.integration.vectordb import measure_index

        run.index = measure_index(enc, ds, state, options, stage("index"))
    if options.compression and dense:
        from embedwise.validators.integration.compression import measure_compression

        run.compression = measure_compression(enc, ds, state, options, stage("compression"))
    text = getattr(ds, "modality", "text") == "text"  # BM25 fusion and cross-encoders read text
    if (options.hybrid or options.rerank) and not text:
        run.notes.append("hybrid search and reranking need text documents: not measured on image or audio data")
    if options.hybrid and enc.kind != "sparse" and text:
        from embedwise.validators.integration.hybrid import measure_hybrid

        run.hybrid = measure_hybrid(enc, ds, state, options, stage("hybrid"))
    if options.rerank and text:
        from embedwise.validators.integration.rerank import measure_rerank

        run.rerank = measure_rerank(enc, ds, state, options, stage("rerank"))
