"""A model's document vectors indexed in a real vector database, Milvus, as a team would deploy them (`validate --index
milvus`): Milvus Lite (embedded, one local folder under the run's output folder) by default, or the user's own server
(`--index-uri`), through the same client code.

Each index setting gets one entry of `run.index`:
`{"kind", "params", "recall_at_10", "metrics", "build_s", "disk_mb", "memory_mb", "latency_ms"}`, plus a `note` where
a figure could not be measured.

- FLAT is the exact reference through the database; HNSW at two graph sizes (M, efConstruction) and IVF_FLAT at one
  `nlist` are each searched at two settings (ef; nprobe) so the recall/latency trade-off shows; IVF_SQ8 stores int8
  codes inside the index. Below 78 documents (two lists of 39) there is no IVF setting, and an ef that already
  reaches every document is not tried twice.
- Every search asks for the top `SEARCH_LIMIT` (100: what a reranker or a fusion stage reads), so HNSW's ef starts at
  100 (a Milvus server refuses ef below the limit). `recall_at_10` is the share of exact search's top 10 that the
  index returns in its top 10; `metrics` are the project's retrieval metrics on the index's results.
- `build_s`: index creation and loading (the inserts are not counted). `disk_mb`: the collection's folder in the Milvus
  Lite database (data, index files, log). `memory_mb`: the collection's index files, which Milvus Lite reads whole
  into memory when it loads the collection (faiss `read_index`, numpy for FLAT): the index's own size in memory. An
  RSS delta was tried and rejected: the allocator reuses what the previous setting's released index freed, so it
  read 0.1 MB for an 8 MB HNSW graph. Against a server both are left empty (its own metrics hold them), with a note.
- `latency_ms`: single queries (one query vector, top 10, the vectors already made) through the database at
  concurrency 1, 4 and 16: p50/p95/p99 and queries per second. Milvus Lite answers from threads of this process.

Milvus Lite 3.x builds its indexes with faiss (HNSW, IVF_FLAT, IVF_SQ8) and passes ef and nprobe through (checked
here: recall moves with them). Milvus Lite 2.x searched every collection by brute force whatever index was asked
(milvus-io/milvus-lite#220): with it each entry says so.
"""
from __future__ import annotations

import math
import os
import re
import secrets
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import numpy as np

from embedwise.errors import ModelRunError
from embedwise.validators.integration.options import IntegrationOptions

Progress = Callable[[str, int, int], None]

SEARCH_LIMIT = 100
LATENCY_TOP_K = 10
CONCURRENCY = (1, 4, 16)
INSERT_BATCH = 1000
QUERY_BATCH = 100


def index_settings(n_docs: int) -> list[tuple[str, dict, list[dict]]]:
    """(kind, build params, search params to try) for a collection of `n_docs` vectors. An ef that reaches every
    vector is tried once; IVF needs at least two lists (one list is a flat scan)."""
    limit = min(SEARCH_LIMIT, n_docs)
    efs = [{"ef": limit}] if limit >= n_docs else [{"ef": limit}, {"ef": 4 * limit}]
    settings = [("FLAT", {}, [{}]), ("HNSW", {"M": 8, "efConstruction": 64}, efs),
                ("HNSW", {"M": 16, "efConstruction": 200}, efs)]
    nlist = ivf_lists(n_docs)
    if nlist >= 2:
        probes = sorted({max(1, nlist // 32), max(1, nlist // 8)})
        settings += [("IVF_FLAT", {"nlist": nlist}, [{"nprobe": p} for p in probes]),
                     ("IVF_SQ8", {"nlist": nlist}, [{"nprobe": probes[-1]}])]
    return settings


def ivf_lists(n_docs: int) -> int:
    """Milvus's rule of thumb, 4·sqrt(n) lists, with at least 39 training vectors per list (faiss's minimum)."""
    return max(1, min(round(4 * math.sqrt(n_docs)), n_docs // 39))


def measure_index(enc: Any, ds: Any, state: dict, options: IntegrationOptions, progress: Progress) -> list[dict]:
    doc_vecs = _unit(np.asarray(state["doc_vecs"], dtype=np.float32))
    query_vecs = _unit(np.asarray(state["query_vecs"], dtype=np.float32))
    settings = index_settings(len(doc_vecs))
    total = sum(len(searches) for _, _, searches in settings)
    db = MilvusDatabase(options, getattr(enc, "name", "model"))
    entries: list[dict] = []
    try:
        for i, (kind, build, searches) in enumerate(settings):
            progress("index", len(entries), total)
            entries += _measure_setting(db, f"{db.prefix}_{i}", kind, build, searches, doc_vecs, query_vecs, ds,
                                        state, options.index_requests, options.seed)
        progress("index", total, total)
    finally:
        kept = db.close()
    if db.lite_note:
        for entry in entries:
            entry["note"] = _join(entry.get("note"), db.lite_note)
    if kept and entries:
        entries[0]["note"] = _join(entries[0].get("note"), f"index kept: {kept}")
    return entries


class MilvusDatabase:
    """One connection for one model's collections: a Milvus Lite folder (removed on close unless `keep_index`) or the
    server at `options.index_uri` (the collections dropped on close unless `keep_index`)."""

    def __init__(self, options: IntegrationOptions, model_name: str):
        try:
            from pymilvus import MilvusClient
        except ImportError:
            raise ModelRunError("--index milvus needs pymilvus and milvus-lite: pip install 'embedwise[milvus]'") \
                from None
        self.keep = options.keep_index
        slug = re.sub(r"[^0-9A-Za-z]+", "_", model_name).strip("_")[-40:] or "model"
        self.prefix = f"embedwise_{slug}_{secrets.token_hex(3)}"
        self.collections: list[str] = []
        self.lite_path: Path | None = None
        self.own_folder: Path | None = None
        self.lite_note: str | None = None
        uri = options.index_uri
        if uri is None:
            folder = Path(options.out_dir) if options.out_dir is not None else None
            if folder is None:
                folder = self.own_folder = Path(tempfile.mkdtemp(prefix="embedwise-milvus-"))
            folder.mkdir(parents=True, exist_ok=True)
            self.lite_path = folder / f"milvus-{slug}.db"
            uri = str(self.lite_path)
            self.lite_note = _old_lite_note()
        try:
            self.client = MilvusClient(uri=uri, token=os.environ.get("MILVUS_TOKEN", ""))
        except Exception as exc:
            raise ModelRunError(f"cannot open Milvus at {uri}: {exc}") from None
        self.uri = uri

    def collection_mb(self, name: str) -> tuple[float | None, float | None]:
        """(the collection's folder, its index files) in a Milvus Lite database, in MB; (None, None) for a server."""
        if self.lite_path is None:
            return None, None
        folder = self.lite_path / "collections" / name
        files = [f for f in folder.rglob("*") if f.is_file()]
        indexes = [f for f in files if f.parent.name == "indexes"]
        return _mb(files), (_mb(indexes) if indexes else None)

    def close(self) -> str | None:
        """Drop or keep what was made; the path or URI kept, if any."""
        for name in self.collections:
            try:
                if self.keep:
                    self.client.release_collection(name)
                else:
                    self.client.drop_collection(name)
            except Exception:  # noqa: BLE001 - a half-made collection must not hide the measurements
                pass
        self.client.close()
        if self.lite_path is not None:
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(str(self.lite_path))
            if not self.keep:
                shutil.rmtree(self.lite_path, ignore_errors=True)
                if self.own_folder is not None:
                    shutil.rmtree(self.own_folder, ignore_errors=True)
        if not self.keep:
            return None
        return str(self.lite_path) if self.lite_path is not None else f"{self.uri} ({', '.join(self.collections)})"


def _measure_setting(db: MilvusDatabase, name: str, kind: str, build: dict, searches: list[dict],
                     doc_vecs: np.ndarray, query_vecs: np.ndarray, ds: Any, state: dict, requests: int,
                     seed: int) -> list[dict]:
    from embedwise.validators import metrics as M

    client = db.client
    limit = min(SEARCH_LIMIT, len(doc_vecs))
    db.collections.append(name)  # dropped on close, even half-made
    try:
        _create(client, name, doc_vecs)
        t0 = time.perf_counter()
        client.create_index(name, _index_params(client, kind, build), sync=False)
        _wait_for_index(client, name)
        client.load_collection(name)
        build_s = time.perf_counter() - t0
        built = _built_params(client, name, build)
    except Exception as exc:  # this kind could not be built here (an older Milvus, a server without it)
        return [_entry(kind, build, search, limit, note=f"not built: {exc}") for search in searches]
    disk_mb, memory_mb = db.collection_mb(name)
    note = None
    if db.lite_path is None:
        note = "disk and memory not measured: the Milvus server keeps them (see its own metrics)"
    elif memory_mb is None:
        note = "memory not measured: no index file found in the Milvus Lite folder"
    if built != {k: str(v) for k, v in build.items()}:
        note = _join(note, f"the database reports build parameters {built or 'none'}, not the {build} asked: "
                           "the figures are those of the index it built")
    entries = []
    exact_top = {q: _top(state["results"][q], LATENCY_TOP_K) for q in state["query_ids"]}
    for search in searches:
        results = _search_all(client, name, query_vecs, state["query_ids"], state["doc_ids"], search, limit)
        metrics, _ = M.retrieval_metrics(ds.qrels, results)
        recall = float(np.mean([len(set(_top(results[q], LATENCY_TOP_K)) & set(exact_top[q])) /
                                max(1, len(exact_top[q])) for q in state["query_ids"]]))
        entries.append(_entry(kind, build, search, limit, recall_at_10=round(recall, 4),
                              metrics={k: round(v, 5) for k, v in metrics.items()}, build_s=round(build_s, 3),
                              disk_mb=disk_mb, memory_mb=memory_mb,
                              latency_ms=_latency(client, name, query_vecs, search, requests, seed), note=note))
    client.release_collection(name)
    return entries


def _entry(kind: str, build: dict, search: dict, limit: int, *, recall_at_10: float | None = None,
           metrics: dict | None = None, build_s: float | None = None, disk_mb: float | None = None, memory_mb: float | None = None,
           latency_ms: dict | None = None, note: str | None = None) -> dict:
    entry = {"kind": kind, "params": {"build": dict(build), "search": dict(search), "metric": "COSINE",
                                      "limit": limit},
             "recall_at_10": recall_at_10, "metrics": metrics or {}, "build_s": build_s, "disk_mb": disk_mb,
             "memory_mb": memory_mb, "latency_ms": latency_ms or {}}
    if note:
        entry["note"] = note
    return entry


def _create(client: Any, name: str, doc_vecs: np.ndarray) -> None:
    """A collection of (row number, vector), its rows flushed into sealed segments: Milvus indexes sealed segments;
    rows still in the growing segment are searched by brute force."""
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=int(doc_vecs.shape[1]))
    client.create_collection(name, schema=schema)
    for start in range(0, len(doc_vecs), INSERT_BATCH):
        block = doc_vecs[start:start + INSERT_BATCH]
        client.insert(name, [{"id": start + j, "vector": v} for j, v in enumerate(block)])
    client.flush(name)


def _index_params(client: Any, kind: str, build: dict) -> Any:
    index = client.prepare_index_params()
    index.add_index(field_name="vector", index_type=kind, metric_type="COSINE", params=build)
    if build:
        # pymilvus 2.5+ sends the build parameters as flat keys, which Milvus Lite 3.2 ignores (it would build with
        # its defaults); it reads them from a JSON "params" entry, as older clients sent them and servers still read.
        index[0].get_index_configs()["params"] = dict(build)
    return index


def _wait_for_index(client: Any, name: str) -> None:
    """Until the index is built, polled every 20 ms (pymilvus's own wait polls every 0.5 s, which would be the build
    time of any small index)."""
    while True:
        described = client.describe_index(name, "vector") or {}
        if described.get("state") == "Failed":
            raise RuntimeError(described.get("index_state_fail_reason") or "index build failed")
        if described.get("state") == "Finished" and not described.get("pending_index_rows"):
            return
        time.sleep(0.02)


def _built_params(client: Any, name: str, build: dict) -> dict[str, str]:
    """The build parameters the database says its index has (Milvus Lite nests them under "params")."""
    described = client.describe_index(name, "vector") or {}
    nested = described.get("params")
    source = nested if isinstance(nested, dict) else described
    return {k: str(source[k]) for k in build if k in source}


def _search_params(search: dict) -> dict:
    return {"metric_type": "COSINE", "params": dict(search)}


def _search_all(client: Any, name: str, query_vecs: np.ndarray, query_ids: list[str], doc_ids: list[str],
                search: dict, limit: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    for start in range(0, len(query_vecs), QUERY_BATCH):
        hits = client.search(name, data=list(query_vecs[start:start + QUERY_BATCH]), limit=limit,
                             search_params=_search_params(search), anns_field="vector", output_fields=["id"])
        for j, row in enumerate(hits):
            results[query_ids[start + j]] = {doc_ids[int(h["id"])]: float(h["distance"]) for h in row}
    return results


def _latency(client: Any, name: str, query_vecs: np.ndarray, search: dict, requests: int, seed: int) -> dict:
    """p50/p95/p99 (ms) and queries per second of single-vector searches at each concurrency level."""
    rng = np.random.default_rng(seed)
    params = _search_params(search)

    def one(i: int) -> float:
        t = time.perf_counter()
        client.search(name, data=[query_vecs[i]], limit=LATENCY_TOP_K, search_params=params, anns_field="vector",
                      output_fields=["id"])
        return time.perf_counter() - t

    for i in range(min(2, len(query_vecs))):  # warm-up: connection and first-search costs are not latency
        one(i)
    out = {}
    for level in CONCURRENCY:
        picks = rng.integers(0, len(query_vecs), size=max(requests, 2 * level))
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=level) as pool:
            times = np.asarray(list(pool.map(one, picks)), dtype=float) * 1000
        wall = time.perf_counter() - t0
        out[str(level)] = {"p50": round(float(np.percentile(times, 50)), 3),
                           "p95": round(float(np.percentile(times, 95)), 3),
                           "p99": round(float(np.percentile(times, 99)), 3),
                           "qps": round(len(times) / wall, 1)}
    return out


def _top(scores: dict[str, float], k: int) -> list[str]:
    return [d for d, _ in sorted(scores.items(), key=lambda item: -item[1])[:k]]


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return x / norms


def _mb(files: list[Path]) -> float:
    return round(sum(f.stat().st_size for f in files) / 2**20, 3)


def _join(a: str | None, b: str) -> str:
    return f"{a}; {b}" if a else b


def _old_lite_note() -> str | None:
    from importlib import metadata

    try:
        version = metadata.version("milvus-lite")
    except metadata.PackageNotFoundError:
        return None
    if int(version.split(".")[0]) >= 3:
        return None
    return (f"milvus-lite {version} searches by brute force whatever index is asked (milvus-io/milvus-lite#220): "
            "these figures are not the index's; install milvus-lite>=3.2 or use --index-uri")
