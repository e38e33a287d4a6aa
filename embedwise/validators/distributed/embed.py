"""Encoding on the cluster: what `BaseEncoder.embed` does locally, with the model run by an actor pool.

The texts (or image and audio items) the cache does not hold, longest first and each once, become a Ray Data dataset
in blocks; `map_batches` runs `EncodeBatches` on a pool of actors that each load the model once; the vectors stream
back to the driver, which writes them to its embedding cache as they come, in groups (so a re-run, here or on the
cluster, reads them back).
"""
from __future__ import annotations

import math
import pickle
import warnings
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from embedwise.errors import ModelRunError
from embedwise.validators.distributed.cluster import RESTARTS, model_failure

Progress = Callable[[str, int, int], None]
# Vectors are written to the cache in groups this large: one SQLite transaction per group keeps the driver ahead of a
# GPU pool (per 128-row batch it writes ~3,000 rows/s on two busy cores, per 8,192 rows more than twice that).
CACHE_WRITE_ROWS = 8192


class EncodeBatches:
    """The `map_batches` class: the encoder (shipped as its spec) loaded once per actor, then one call per batch."""

    def __init__(self, encoder: Any, role: str):
        self.encoder = encoder
        self.role = role
        self.error: str | None = None
        try:
            encoder.load()
        except Exception as exc:  # noqa: BLE001
            # A model that cannot load is no worker death to restart: every batch reports it and the run fails once.
            self.error = str(exc) if isinstance(exc, ModelRunError) else f"{type(exc).__name__}: {exc}"

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.error is not None:
            raise ModelRunError(self.error)
        vectors, tokens = self.encoder.embed([pickle.loads(item) for item in batch["item"]], self.role)
        return {"row": batch["row"], "vector": vectors, "tokens": np.asarray(tokens, dtype=np.int64)}


def embed(enc: Any, texts: Sequence[str], role: str, cache: Any, progress: Progress, stage: str, *, actors: int,
          cpus_per_actor: float, gpus_per_actor: float) -> tuple[np.ndarray, list[int]]:
    """Vectors (float32, one row per text) and token counts, as `enc.embed(texts, role, cache)` returns them."""
    texts = list(texts)
    n = len(texts)
    vectors: list[np.ndarray | None] = [None] * n
    tokens: list[int | None] = [None] * n
    key = enc.cache_key(role) if cache is not None and n else None
    if key is not None:
        found, found_tokens = cache.get_many(key, texts)
        for i, vec in found.items():
            vectors[i] = vec
            tokens[i] = found_tokens.get(i)
    missing = [i for i in range(n) if vectors[i] is None]
    done = n - len(missing)
    progress(stage, done, n)
    if missing:
        if key is not None:
            cache.register(key, enc.model_id or enc.name, enc.revision, enc.prefix_for(role), enc.kind)
        order, repeats = _unique_longest_first(texts, missing)
        unwritten: list[int] = []

        def write() -> None:
            if key is not None and unwritten:
                cache.put_many(key, [texts[i] for i in unwritten], np.vstack([vectors[i] for i in unwritten]),
                               [tokens[i] for i in unwritten])
            unwritten.clear()

        try:
            for rows, vecs, toks in _run(enc, [texts[i] for i in order], role, actors, cpus_per_actor,
                                         gpus_per_actor):
                idx = [order[int(r)] for r in rows]
                for j, i in enumerate(idx):
                    vectors[i] = vecs[j]
                    tokens[i] = int(toks[j])
                unwritten += idx
                if len(unwritten) >= CACHE_WRITE_ROWS:
                    write()
                done += len(idx)
                progress(stage, min(done, n), n)
        finally:
            write()  # what arrived before a failure is kept: the re-run starts from there
        for i, first in repeats:
            vectors[i], tokens[i] = vectors[first], tokens[first]
        progress(stage, n, n)
    if n == 0:
        return np.zeros((0, enc.dimension or 0), dtype=np.float32), []
    out = np.vstack(vectors)  # type: ignore[arg-type]
    if enc.dimension is None:
        enc.dimension = int(out.shape[1])
    return out, [int(t) if t is not None else 0 for t in tokens]


def _unique_longest_first(texts: list[str], positions: list[int]) -> tuple[list[int], list[tuple[int, int]]]:
    """Positions to encode (longest text first, each text once) and (repeat, first occurrence) pairs."""
    order: list[int] = []
    seen: dict[str, int] = {}
    repeats: list[tuple[int, int]] = []
    for i in sorted(positions, key=lambda i: -len(texts[i])):
        if texts[i] in seen:
            repeats.append((i, seen[texts[i]]))
        else:
            seen[texts[i]] = i
            order.append(i)
    return order, repeats


def _run(enc: Any, texts: list[str], role: str, actors: int, cpus_per_actor: float,
         gpus_per_actor: float) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(rows, vectors, tokens) per finished batch; `rows` index `texts`."""
    import pyarrow as pa
    import ray.data

    chunk = max(enc.batch_size * 4, 64)  # as BaseEncoder.embed: the same neighbours meet in one model call
    n_chunks = math.ceil(len(texts) / chunk)
    actors = max(1, min(actors, n_chunks))
    # Blocks hold whole chunks (so batches never straddle two), a few blocks per actor (at least one), at most 64
    # chunks each. The pool starts whole (an autoscaling pool stays at one actor on a short job); an actor the
    # cluster cannot place yet waits while the others work.
    rows_per_block = chunk * max(1, min(64, math.ceil(n_chunks / (4 * actors))))
    rows = np.arange(len(texts), dtype=np.int64)
    # Items travel pickled: a text, or an image or audio item (a str subclass that carries its file) arrives whole.
    items = pa.array([pickle.dumps(t, protocol=5) for t in texts], type=pa.binary())
    blocks = [pa.table({"row": rows[s:s + rows_per_block], "item": items[s:s + rows_per_block]})
              for s in range(0, len(texts), rows_per_block)]
    try:
        with warnings.catch_warnings():
            # Ray 2.60 names no parameter for an actor's restarts yet and warns on the keyword form it still takes.
            warnings.simplefilter("ignore", DeprecationWarning)
            encoded = ray.data.from_arrow(blocks).map_batches(
                EncodeBatches, fn_constructor_args=(enc, role), batch_size=chunk, batch_format="numpy",
                compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=cpus_per_actor,
                num_gpus=gpus_per_actor or None, max_restarts=RESTARTS, max_task_retries=RESTARTS)
        for batch in encoded.iter_batches(batch_size=None, batch_format="numpy"):
            yield batch["row"], np.asarray(batch["vector"], dtype=np.float32), batch["tokens"]
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever Ray raises, the run gets one message
        raise model_failure(enc.name, exc) from None
