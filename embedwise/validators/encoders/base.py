"""The shared part of every encoder: load timing, prefixes, the embedding cache and progress reports.

Every encoder has a `name` (as the user gave it), a `kind` ("dense", "sparse" or "api"), a `revision`, a `max_tokens`,
`load()` (timed into `load_seconds`), `embed(texts, role)` (through the embedding cache when one is given),
`count_tokens(texts)` and `close()`. BM25 also has `index()` and `search()`; dense encoders are searched with
`metrics.dense_search`.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Sequence

import numpy as np

Progress = Callable[[str, int, int], None]


def _noop(stage: str, done: int, total: int) -> None:
    pass


class BaseEncoder:
    name: str = ""
    kind: str = "dense"
    revision: str | None = None
    max_tokens: int | None = None
    dimension: int | None = None
    query_prefix: str = ""
    document_prefix: str = ""
    load_seconds: float | None = None
    batch_size: int = 32
    price_per_million_tokens: float | None = None
    model_id: str | None = None  # the knowledge-base id when the model has a record
    record: Any = None

    def __init__(self) -> None:
        self._loaded = False
        self._lock = threading.Lock()
        self._request_lock = threading.Lock()
        self.notes: list[str] = []

    # What stays in the process that loaded it: a pickled encoder is its spec (source, prefixes, device rule,
    # trust_remote_code decision), and the process that unpickles it (a Ray actor) loads the model itself.
    _process_local = ("model", "_lock", "_request_lock")

    def __getstate__(self) -> dict:
        state = {k: v for k, v in self.__dict__.items() if k not in self._process_local}
        state["_loaded"] = False
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._request_lock = threading.Lock()

    # Subclasses implement these three.
    def _load(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _encode(self, texts: list[str], prefix: str, batch_size: int) -> tuple[np.ndarray, list[int] | None]:
        """Vectors for `texts` (prefix applied by the subclass) and, when known, each text's token count."""
        raise NotImplementedError  # pragma: no cover

    def count_tokens(self, texts: Sequence[str], role: str = "document") -> list[int]:
        return [max(1, len(t) // 4) for t in texts]

    def _import(self) -> None:
        """Import heavy libraries (timed apart from the model's own load time)."""

    import_seconds: float | None = None

    def load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            t0 = time.perf_counter()
            self._import()
            self.import_seconds = time.perf_counter() - t0
            t0 = time.perf_counter()
            self._load()
            self.load_seconds = time.perf_counter() - t0
            self._loaded = True

    @property
    def loaded(self) -> bool:
        return self._loaded

    def prefix_for(self, role: str) -> str:
        """Retrieval queries get the query prefix and documents the document prefix. Symmetric tasks (role
        "symmetric") use the query prefix only when the model has both (e5's "query: "/"passage: "), none otherwise."""
        if role == "query":
            return self.query_prefix or ""
        if role == "document":
            return self.document_prefix or ""
        return self.query_prefix if (self.query_prefix and self.document_prefix) else ""

    def cache_key(self, role: str) -> str:
        from embedwise.validators.cache import model_key

        return model_key(self.name if self.model_id is None else self.model_id, self.revision, self.prefix_for(role),
                         f"{self.kind}")

    def embed(self, texts: Sequence[str], role: str = "document", cache: Any = None, progress: Progress | None = None,
              stage: str = "encode", batch_size: int | None = None) -> tuple[np.ndarray, list[int]]:
        """Vectors for `texts` (float32, one row per text) and token counts; cached vectors are read back, the rest
        encoded in length-sorted chunks with progress reports, then stored."""
        progress = progress or _noop
        texts = list(texts)
        n = len(texts)
        vectors: list[np.ndarray | None] = [None] * n
        tokens: list[int | None] = [None] * n
        key = None
        if cache is not None and n:
            key = self.cache_key(role)
            found, found_tokens = cache.get_many(key, texts)
            for i, v in found.items():
                vectors[i] = v
                tokens[i] = found_tokens.get(i)
        missing = [i for i in range(n) if vectors[i] is None]
        done = n - len(missing)
        progress(stage, done, n)
        if missing:
            self.load()
            if cache is not None and key is not None:
                cache.register(key, self.model_id or self.name, self.revision, self.prefix_for(role), self.kind)
            bs = batch_size or self.batch_size
            # Longest first, as sentence-transformers sorts inside one call: chunks keep padding low.
            missing.sort(key=lambda i: -len(texts[i]))
            # Unique texts only: a repeated text is encoded once.
            order: list[int] = []
            seen: dict[str, int] = {}
            dupes: list[tuple[int, int]] = []
            for i in missing:
                if texts[i] in seen:
                    dupes.append((i, seen[texts[i]]))
                else:
                    seen[texts[i]] = i
                    order.append(i)
            chunk = max(bs * 4, 64)  # progress every few batches; the global length sort keeps padding low
            for start in range(0, len(order), chunk):
                idx = order[start:start + chunk]
                batch = [texts[i] for i in idx]
                vecs, toks = self._encode(batch, self.prefix_for(role), bs)
                if toks is None:
                    toks = self.count_tokens(batch, role)
                vecs = np.asarray(vecs, dtype=np.float32)
                for j, i in enumerate(idx):
                    vectors[i] = vecs[j]
                    tokens[i] = toks[j]
                if cache is not None and key is not None:
                    cache.put_many(key, batch, vecs, toks)
                done += len(idx)
                progress(stage, min(done, n), n)
            for i, j in dupes:
                vectors[i] = vectors[j]
                tokens[i] = tokens[j]
            progress(stage, n, n)
        if n == 0:
            dim = self.dimension or 0
            return np.zeros((0, dim), dtype=np.float32), []
        out = np.vstack(vectors)  # type: ignore[arg-type]
        if self.dimension is None:
            self.dimension = int(out.shape[1])
        return out, [int(t) if t is not None else 0 for t in tokens]

    # Local models serve one request at a time (a model replica; fast tokenizers and stemmers are not thread-safe),
    # so latency under concurrency includes the queueing. API requests run truly concurrently.
    serialize_requests = True

    def query_once(self, text: str) -> None:
        """One single-text request, as a live query would be (no cache): the unit of the latency test."""
        self.load()
        if self.serialize_requests:
            with self._request_lock:
                self._encode([text], self.prefix_for("query"), 1)
        else:
            self._encode([text], self.prefix_for("query"), 1)

    def encode_batch(self, texts: list[str], batch_size: int) -> None:
        """Uncached encoding of `texts` at `batch_size`: the unit of the throughput test."""
        self.load()
        self._encode(texts, self.prefix_for("document"), batch_size)

    def describe(self) -> dict:
        return {"model": self.name, "kind": self.kind, "model_id": self.model_id, "revision": self.revision,
                "load_seconds": self.load_seconds, "import_seconds": self.import_seconds,
                "max_tokens": self.max_tokens, "dimension": self.dimension,
                "query_prefix": self.query_prefix or None, "document_prefix": self.document_prefix or None}

    def close(self) -> None:
        pass
