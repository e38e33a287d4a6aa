"""Encoders behind one protocol: local sentence-transformers models, BM25 (bm25s) and OpenAI-compatible HTTP APIs.

- `base`: `BaseEncoder`, the shared part (load timing, prefixes, the embedding cache, progress);
- `local`: `SentenceTransformerEncoder` (torch and sentence-transformers load inside it, never at module import);
- `bm25`: `BM25Encoder`, the keyword baseline (retrieval by index and search, sparse vectors for the other tasks);
- `api`: `APIEncoder`, an OpenAI-compatible `/embeddings` endpoint;
- `resolve`: `make_encoder`, the encoder for one `--models` entry.
"""
from __future__ import annotations

from embedwise.validators.encoders.api import APIEncoder
from embedwise.validators.encoders.base import BaseEncoder
from embedwise.validators.encoders.bm25 import BM25Encoder
from embedwise.validators.encoders.local import SentenceTransformerEncoder
from embedwise.validators.encoders.resolve import make_encoder

__all__ = ["APIEncoder", "BM25Encoder", "BaseEncoder", "SentenceTransformerEncoder", "make_encoder"]
