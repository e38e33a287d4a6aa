"""An embedding cache: one SQLite file in `paths.cache_dir()`, one row per (model key, text hash).

The model key hashes the model's id, its revision (a commit or a fingerprint of its files), the prefix put before the
text and any option that changes the vector; the text hash is SHA-256 of the text. A re-run of the same model on the
same texts reads every vector back and never loads the model. Token counts are kept with the vectors so that cost
figures need no tokenizer on a cached run.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from embedwise import paths

SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    model_key TEXT NOT NULL,
    text_hash BLOB NOT NULL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL,
    tokens INTEGER,
    PRIMARY KEY (model_key, text_hash)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS measurements (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS models (
    model_key TEXT PRIMARY KEY,
    model TEXT, revision TEXT, prefix TEXT, options TEXT
);
"""


def model_key(model: str, revision: str | None, prefix: str | None, options: str = "") -> str:
    raw = "\x1f".join([model, revision or "", prefix or "", options])
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


def text_hash(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:20]


class EmbeddingCache:
    """get/put vectors by (model key, text). Safe to share between threads (one connection, a lock)."""

    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path else paths.cache_dir() / "embeddings.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.reset_note: str | None = None
        try:
            self._connect()
        except sqlite3.DatabaseError as exc:
            # A damaged cache only costs a re-embedding: set it aside and start an empty one.
            aside = self.path.with_name(self.path.name + ".damaged")
            os.replace(self.path, aside)
            for suffix in ("-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            self.reset_note = f"the embedding cache was damaged ({exc}); started an empty one, the old file is {aside}"
            self._connect()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def _connect(self) -> None:
        self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.executescript(SCHEMA)
        self._conn.execute("SELECT count(*) FROM models").fetchone()

    def register(self, key: str, model: str, revision: str | None, prefix: str | None, options: str = "") -> None:
        with self._lock, self._conn:
            self._conn.execute("INSERT OR REPLACE INTO models VALUES (?, ?, ?, ?, ?)",
                               (key, model, revision, prefix, options))

    def get_many(self, key: str, texts: Sequence[str]) -> tuple[dict[int, np.ndarray], dict[int, int | None]]:
        """Vectors and token counts found, by position in `texts`."""
        hashes = [text_hash(t) for t in texts]
        positions: dict[bytes, list[int]] = {}
        for i, h in enumerate(hashes):
            positions.setdefault(h, []).append(i)
        found: dict[int, np.ndarray] = {}
        tokens: dict[int, int | None] = {}
        unique = list(positions)
        with self._lock:
            for start in range(0, len(unique), 500):
                chunk = unique[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for h, dim, blob, ntok in self._conn.execute(
                        f"SELECT text_hash, dim, vector, tokens FROM embeddings WHERE model_key = ? AND text_hash IN ({marks})",
                        [key, *chunk]):
                    vec = np.frombuffer(blob, dtype=np.float32)
                    for i in positions[bytes(h)]:
                        found[i] = vec
                        tokens[i] = ntok
        self.hits += len(found)
        self.misses += len(texts) - len(found)
        return found, tokens

    def missing(self, key: str, texts: Sequence[str]) -> list[int]:
        """Positions in `texts` with no vector under `key` (the vectors themselves are not read)."""
        hashes = [text_hash(t) for t in texts]
        present: set[bytes] = set()
        unique = list(dict.fromkeys(hashes))
        with self._lock:
            for start in range(0, len(unique), 500):
                chunk = unique[start:start + 500]
                marks = ",".join("?" * len(chunk))
                present.update(bytes(h) for (h,) in self._conn.execute(
                    f"SELECT text_hash FROM embeddings WHERE model_key = ? AND text_hash IN ({marks})", [key, *chunk]))
        return [i for i, h in enumerate(hashes) if h not in present]

    def get_measurement(self, key: str) -> tuple[dict, str] | None:
        """A stored speed/memory measurement and when it was made (the load test is what needs the model)."""
        import json

        with self._lock:
            row = self._conn.execute("SELECT value, created_at FROM measurements WHERE key = ?", (key,)).fetchone()
        return (json.loads(row[0]), row[1]) if row else None

    def put_measurement(self, key: str, value: dict) -> None:
        import datetime as dt
        import json

        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        with self._lock, self._conn:
            self._conn.execute("INSERT OR REPLACE INTO measurements VALUES (?, ?, ?)",
                               (key, json.dumps(value, default=str), now))

    def put_many(self, key: str, texts: Sequence[str], vectors: np.ndarray, tokens: Sequence[int | None] | None = None) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        rows = [(key, text_hash(t), int(vectors.shape[1]), vectors[i].tobytes(),
                 None if tokens is None else tokens[i]) for i, t in enumerate(texts)]
        with self._lock, self._conn:
            self._conn.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?, ?)", rows)

    def clear(self, key: str | None = None) -> None:
        with self._lock, self._conn:
            if key is None:
                self._conn.execute("DELETE FROM embeddings")
                self._conn.execute("DELETE FROM models")
            else:
                self._conn.execute("DELETE FROM embeddings WHERE model_key = ?", (key,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()
