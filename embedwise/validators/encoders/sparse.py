"""Learned sparse models (SPLADE and its kin) through sentence-transformers' `SparseEncoder`.

The surface is BM25's (`encoders/bm25.py`): `index(doc_ids, texts)` encodes the corpus, `search(texts, k)` scores
queries against it, `embed` gives sparse rows for the other tasks, so `measure._quality_retrieval`'s sparse path runs
it unchanged. Vectors stay sparse end to end: each batch comes out of the model as a torch sparse tensor and becomes a
scipy CSR block; nothing is densified to the vocabulary size for the whole corpus.

The embedding cache stores dense float32 rows of a fixed width; a sparse row would have to be densified to the
vocabulary (30,522 floats for a BERT vocabulary) to fit, so learned sparse vectors are not cached and a re-run encodes
the corpus again.

torch and sentence-transformers are imported when the model loads, never at module import.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from embedwise.errors import ModelRunError
from embedwise.validators.encoders.base import Progress, _noop
from embedwise.validators.encoders.local import SentenceTransformerEncoder

CHUNK = 256  # texts per encode call: progress and memory stay bounded on large corpora


def local_folder(source: str) -> Path | None:
    """The folder holding `source`: itself, or its snapshot in the local hub cache (no download)."""
    p = Path(source)
    if p.is_dir():
        return p
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(source, local_files_only=True))
    except Exception:
        return None


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def is_sparse_encoder(folder: Path) -> bool:
    """A folder saved by sentence-transformers as a sparse encoder (`model_type` in its config)."""
    return _read_json(folder / "config_sentence_transformers.json").get("model_type") == "SparseEncoder"


def _is_masked_lm(folder: Path) -> bool:
    """A bare masked-LM checkpoint: sentence-transformers puts SPLADE pooling on it (the original SPLADE releases)."""
    return any(str(a).endswith("ForMaskedLM") for a in _read_json(folder / "config.json").get("architectures") or [])


class LearnedSparseEncoder(SentenceTransformerEncoder):
    """A `SparseEncoder` model: the vocabulary-sized sparse vectors of SPLADE-style models, scored by the model's
    similarity (dot product for SPLADE)."""

    kind = "sparse"

    def __init__(self, name: str, source: str, **kwargs: Any):
        super().__init__(name, source, **kwargs)
        self.retriever: Any = None  # the corpus as a CSR matrix once indexed (named as BM25's, for the shared code)
        self.doc_ids: list[str] = []
        self.index_seconds: float | None = None
        self.mean_active_dims: float | None = None
        self.notes.append("learned sparse vectors are not kept in the embedding cache (it stores dense rows): a re-run "
                          "encodes the corpus again")

    def _check_sparse_head(self) -> None:
        """Refuse a model sentence-transformers would only turn sparse by adding an untrained head (it does that to
        a dense model, bge-m3 included: bge-m3's sparse weights are a FlagEmbedding file it does not read)."""
        folder = local_folder(self.source)
        if folder is not None and not (is_sparse_encoder(folder) or _is_masked_lm(folder)):
            raise ModelRunError(f"{self.name}: {self.source} is neither a sentence-transformers sparse encoder nor a "
                                "masked-LM (SPLADE) checkpoint, so it has no sparse head sentence-transformers can "
                                "load (bge-m3's sparse head needs FlagEmbedding)")

    def _load(self) -> None:
        try:
            from sentence_transformers import SparseEncoder
        except ImportError as exc:
            raise ModelRunError(f"{self.name}: learned sparse models need sentence-transformers 5 or later "
                                f"({exc})") from exc
        from embedwise.validators.encoders.local import resolve_device

        self._check_sparse_head()
        try:
            self.device = resolve_device(self.device_request)
            self.model = SparseEncoder(self.source, device=self.device, trust_remote_code=self.trust_remote_code)
        except Exception as exc:
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            hint = "" if Path(self.source).exists() else (" (not found locally; the hub may be unreachable: download "
                                                          "it first or pass a local folder)")
            raise ModelRunError(f"could not load {self.name}: {type(exc).__name__}: {msg}{hint}") from exc
        self._check_sparse_head()  # a model that was downloaded just now
        if self.model.similarity_fn_name not in ("dot", "cosine"):
            raise ModelRunError(f"{self.name}: similarity {self.model.similarity_fn_name!r} is not supported for "
                                "sparse search (dot or cosine)")
        self.max_tokens = int(self.model.max_seq_length) if self.model.max_seq_length else self.max_tokens
        self.weights_mb = round(sum(p.numel() * p.element_size() for p in self.model.parameters()) / 2**20, 1)
        self.parameters = int(sum(p.numel() for p in self.model.parameters()))

    def _sparse_rows(self, texts: list[str], role: str, batch_size: int, progress: Progress = _noop,
                     stage: str = "encode") -> Any:
        """A CSR matrix (texts x vocabulary), encoded in chunks; queries take the model's query route and prompt."""
        from scipy import sparse

        self.load()
        encode = self.model.encode_query if role == "query" else self.model.encode_document
        prefix = self.prefix_for(role) or None
        blocks = []
        for start in range(0, len(texts), CHUNK):
            try:
                rows = encode(texts[start:start + CHUNK], prompt=prefix, batch_size=batch_size,
                              show_progress_bar=False, convert_to_sparse_tensor=True, save_to_cpu=True)
            except Exception as exc:
                raise ModelRunError(f"{self.name} failed while encoding: {type(exc).__name__}: {exc}") from exc
            rows = rows.coalesce()
            idx = rows.indices().numpy()
            blocks.append(sparse.csr_matrix((rows.values().float().numpy(), (idx[0], idx[1])), shape=tuple(rows.shape)))
            self.dimension = int(rows.shape[1])  # the vocabulary; SPLADE pooling learns it on its first forward pass
            progress(stage, min(start + CHUNK, len(texts)), len(texts))
        if not blocks:
            return sparse.csr_matrix((0, self.dimension or 0), dtype=np.float32)
        out = sparse.vstack(blocks, format="csr").astype(np.float32)
        if self.model.similarity_fn_name == "cosine":
            from sklearn.preprocessing import normalize

            out = normalize(out)
        return out

    def index(self, doc_ids: Sequence[str], texts: Sequence[str]) -> float:
        """Encode the corpus; returns the seconds it took."""
        t0 = time.perf_counter()
        self.retriever = self._sparse_rows(list(texts), "document", self.batch_size).tocsc()
        self.doc_ids = list(doc_ids)
        self.index_seconds = time.perf_counter() - t0
        n = max(self.retriever.shape[0], 1)
        self.mean_active_dims = round(self.retriever.nnz / n, 1)
        return self.index_seconds

    def search(self, queries: Sequence[str], k: int) -> list[dict[str, float]]:
        if self.retriever is None:
            raise ModelRunError(f"{self.name}: search before index")
        scores = (self._sparse_rows(list(queries), "query", self.batch_size) @ self.retriever.T).tocsr()
        out = []
        for row in range(scores.shape[0]):
            start, end = scores.indptr[row], scores.indptr[row + 1]
            cols, vals = scores.indices[start:end], scores.data[start:end]
            top = np.argsort(-vals, kind="stable")[:k]  # documents sharing no active term score 0 and are left out
            out.append({self.doc_ids[int(cols[j])]: float(vals[j]) for j in top})
        return out

    def fit(self, texts: Sequence[str]) -> None:
        """Nothing to fit: the vocabulary and weights are the model's (BM25 fits its IDF here)."""

    def embed(self, texts: Sequence[str], role: str = "document", cache: Any = None, progress: Progress | None = None,
              stage: str = "encode", batch_size: int | None = None):  # type: ignore[override]
        """Sparse rows (scipy CSR) and token counts; `cache` is not used (see the module docstring)."""
        texts = list(texts)
        role = "document" if role == "symmetric" else role
        rows = self._sparse_rows(texts, role, batch_size or self.batch_size, progress or _noop, stage)
        return rows, self.count_tokens(texts, role)

    def query_once(self, text: str) -> None:
        self.load()
        with self._request_lock:
            self._sparse_rows([text], "query", 1)

    def encode_batch(self, texts: list[str], batch_size: int) -> None:
        self._sparse_rows(list(texts), "document", batch_size)

    def describe(self) -> dict:
        d = super().describe()
        d.update({"similarity": getattr(self.model, "similarity_fn_name", None), "index_seconds":
                  round(self.index_seconds, 3) if self.index_seconds is not None else None,
                  "mean_active_dims": self.mean_active_dims})
        return d
