"""What integration measurements a run asks for (`validate --index/--compression/--hybrid/--rerank`)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class IntegrationOptions:
    index: str | None = None  # "milvus": index each dense model's documents in Milvus (Lite by default)
    index_uri: str | None = None  # a Milvus server URI; None = a Milvus Lite file under `out_dir`
    keep_index: bool = False  # keep the Milvus Lite file after the run
    index_requests: int = 48  # single queries per concurrency level in the index latency test (at least 2 per thread)
    out_dir: Path | None = None  # the run's output folder
    compression: bool = False  # float16, int8, binary (+ rescore) and Matryoshka truncation
    max_quality_loss: float = 0.01  # the compression recommendation: the smallest setting within this nDCG@10 loss
    documents: int | None = None  # the user's document count (the requirements'), for the memory needed at that scale
    hybrid: bool = False  # BM25 + dense: reciprocal rank fusion and a weighted combination
    rerank: str | None = None  # a cross-encoder (hub id or folder) that reranks the top `rerank_depth`
    rerank_depth: int = 100
    seed: int = 42

    def any(self) -> bool:
        return bool(self.index or self.compression or self.hybrid or self.rerank)
