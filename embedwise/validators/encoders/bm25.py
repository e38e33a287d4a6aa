"""BM25 (bm25s): the keyword baseline; bm25s is imported when the encoder is built or loaded, not at module import."""
from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np

from embedwise.errors import ModelRunError
from embedwise.validators.encoders.base import BaseEncoder, Progress, _noop


class BM25Encoder(BaseEncoder):
    """The keyword baseline: bm25s with English stopwords and a Snowball stemmer, as MTEB's `baseline-bm25s`.

    For retrieval it indexes the corpus and searches it. For the other tasks `embed` gives BM25-weighted sparse
    bag-of-words vectors (scipy CSR, IDF fitted on the task's texts), so cosine, logistic regression and k-means
    work on them as on dense vectors.
    """

    kind = "sparse"

    def __init__(self, name: str = "bm25", k1: float = 1.5, b: float = 0.75, stopwords: str = "en",
                 stemmer_language: str | None = "english"):
        super().__init__()
        self.name = name
        self.k1, self.b = k1, b
        self.stopwords = stopwords
        self.stemmer_language = stemmer_language
        self.retriever: Any = None
        self.doc_ids: list[str] = []
        self._vocab: dict[str, int] | None = None
        self._idf: np.ndarray | None = None
        self._avgdl = 1.0
        try:
            import bm25s

            self.revision = f"bm25s-{bm25s.__version__}"
        except Exception:  # pragma: no cover
            self.revision = None

    def _load(self) -> None:
        import bm25s

        self._bm25s = bm25s
        self._stemmer = None
        if self.stemmer_language:
            try:
                import Stemmer

                self._stemmer = Stemmer.Stemmer(self.stemmer_language)
            except ImportError:  # pragma: no cover - PyStemmer is a dependency
                self.notes.append("PyStemmer is not installed: BM25 runs without stemming")

    def tokenize(self, texts: Sequence[str]) -> list[list[str]]:
        self.load()
        return self._bm25s.tokenize(list(texts), stopwords=self.stopwords, stemmer=self._stemmer, return_ids=False,
                                    show_progress=False)

    def index(self, doc_ids: Sequence[str], texts: Sequence[str]) -> float:
        """Index the corpus; returns the seconds it took (BM25's 'load time')."""
        self.load()
        t0 = time.perf_counter()
        tokens = self._bm25s.tokenize(list(texts), stopwords=self.stopwords, stemmer=self._stemmer,
                                      show_progress=False)
        self.retriever = self._bm25s.BM25(k1=self.k1, b=self.b)
        self.retriever.index(tokens, show_progress=False)
        self.doc_ids = list(doc_ids)
        seconds = time.perf_counter() - t0
        self.load_seconds = (self.load_seconds or 0.0) + seconds
        return seconds

    def search(self, queries: Sequence[str], k: int) -> list[dict[str, float]]:
        if self.retriever is None:
            raise ModelRunError("BM25: search before index")
        k = min(k, len(self.doc_ids))
        tokens = self.tokenize(queries)
        docs, scores = self.retriever.retrieve(tokens, k=k, show_progress=False, n_threads=1)
        out = []
        for qi in range(len(tokens)):
            out.append({self.doc_ids[int(d)]: float(s) for d, s in zip(docs[qi], scores[qi])})
        return out

    def query_once(self, text: str) -> None:
        with self._request_lock:
            if self.retriever is not None:
                self.search([text], 10)
            else:
                self.embed([text])

    def encode_batch(self, texts: list[str], batch_size: int) -> None:
        for start in range(0, len(texts), batch_size):
            self.tokenize(texts[start:start + batch_size])

    def count_tokens(self, texts: Sequence[str], role: str = "document") -> list[int]:
        return [len(t) for t in self.tokenize(texts)]

    def fit(self, texts: Sequence[str]) -> None:
        """Vocabulary, IDF and average length for the sparse vectors of non-retrieval tasks."""
        toks = self.tokenize(texts)
        vocab: dict[str, int] = {}
        df: dict[int, int] = {}
        total = 0
        for doc in toks:
            total += len(doc)
            for t in dict.fromkeys(doc):  # first-seen order: the same vocabulary ids on every run
                i = vocab.setdefault(t, len(vocab))
                df[i] = df.get(i, 0) + 1
        n = max(len(toks), 1)
        idf = np.zeros(len(vocab), dtype=np.float32)
        for i, d in df.items():
            idf[i] = np.log(1 + (n - d + 0.5) / (d + 0.5))  # Lucene's BM25 idf
        self._vocab, self._idf, self._avgdl = vocab, idf, max(total / n, 1.0)

    def embed(self, texts: Sequence[str], role: str = "document", cache: Any = None, progress: Progress | None = None,
              stage: str = "encode", batch_size: int | None = None):  # type: ignore[override]
        from scipy import sparse

        progress = progress or _noop
        texts = list(texts)
        if self._vocab is None:
            self.fit(texts)
        assert self._vocab is not None and self._idf is not None
        rows, cols, vals = [], [], []
        toks = self.tokenize(texts)
        for r, doc in enumerate(toks):
            counts: dict[int, int] = {}
            for t in doc:
                i = self._vocab.get(t)
                if i is not None:
                    counts[i] = counts.get(i, 0) + 1
            norm = self.k1 * (1 - self.b + self.b * len(doc) / self._avgdl)
            for i, tf in counts.items():
                rows.append(r)
                cols.append(i)
                vals.append(self._idf[i] * tf * (self.k1 + 1) / (tf + norm))
        progress(stage, len(texts), len(texts))
        mat = sparse.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)),
                                shape=(len(texts), len(self._vocab)))
        return mat, [len(d) for d in toks]

    def describe(self) -> dict:
        d = super().describe()
        d.update({"k1": self.k1, "b": self.b, "stopwords": self.stopwords, "stemmer": self.stemmer_language})
        return d
