"""Measure one model on one data set: quality with MTEB's protocol, robustness, speed and memory under load, cost.

`run_model` never raises for a model's own failure: the run comes back `failed` with its error, and the caller goes on
with the other models. Where the vectors are made and searched is the context's `backend` (`LocalBackend` here; a
cluster backend has the same three methods), so the measuring code is the same wherever the work runs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from embedwise.errors import BadInput, ModelRunError
from embedwise.validators.data import ClassificationSet, ClusteringSet, Dataset, RetrievalSet, STSSet
from embedwise.validators.load import SpeedConfig
from embedwise.validators.results import ModelRun

Progress = Callable[[str, int, int], None]


def _noop(stage: str, done: int, total: int) -> None:
    pass


class LocalBackend:
    """Vectors made and searched in this process."""

    name = "local"

    def embed(self, enc: Any, texts: list[str], role: str, cache: Any, progress: Progress | None = None,
              stage: str = "encode") -> tuple[np.ndarray, list[int]]:
        return enc.embed(texts, role, cache, progress, stage)

    def search(self, query_vecs: np.ndarray, doc_vecs: np.ndarray, query_ids: Sequence[str],
               doc_ids: Sequence[str]) -> dict[str, dict[str, float]]:
        from embedwise.validators.metrics import dense_search

        return dense_search(query_vecs, doc_vecs, query_ids, doc_ids)

    def measure_speed(self, enc: Any, documents: Sequence[str], queries: Sequence[str], config: SpeedConfig | None,
                      progress: Progress | None, stage: str) -> dict:
        from embedwise.validators.load import measure_speed

        return measure_speed(enc, documents, queries, config, progress, stage)

    def close(self) -> None:
        pass


@dataclass
class Context:
    """What every model of one run shares: the data, the cache, progress, the protocol's settings, the backend and the
    integration measurements asked for (`integration`: an `integration.IntegrationOptions`, or None)."""

    ds: Dataset
    cache: Any = None
    progress: Progress = _noop
    seed: int = 42
    n_experiments: int = 10
    samples_per_label: int = 8
    robustness_sample: int = 50
    backend: Any = field(default_factory=LocalBackend)
    integration: Any = None
    rankings: dict[str, dict] | None = None  # when a dict: each retrieval run's results kept under its model's name


def texts_for_speed(ds: Dataset) -> tuple[list[str], list[str]]:
    if isinstance(ds, RetrievalSet):
        return [ds.doc_text(d) for d in ds.corpus], list(ds.queries.values())
    if isinstance(ds, ClassificationSet):
        return ds.train_texts, ds.test_texts
    if isinstance(ds, STSSet):
        return ds.sentences1, ds.sentences2
    return ds.texts, ds.texts


def _quality_retrieval(enc: Any, ds: RetrievalSet, ctx: Context, stage: Callable[[str], Progress], run: ModelRun) -> dict:
    from embedwise.validators import metrics as M

    doc_ids = list(ds.corpus)
    doc_texts = [ds.doc_text(d) for d in doc_ids]
    query_ids = list(ds.queries)
    query_texts = [ds.queries[q] for q in query_ids]
    state: dict[str, Any] = {}
    if enc.kind == "sparse":
        stage("indexing corpus")("indexing corpus", 0, 1)
        enc.index(doc_ids, doc_texts)
        stage("indexing corpus")("indexing corpus", 1, 1)
        doc_tokens = enc.count_tokens(doc_texts)
        query_tokens = enc.count_tokens(query_texts)
        results_list = enc.search(query_texts, M.TOP_K)
        results = dict(zip(query_ids, results_list))

        def search(texts: list[str], ids: list[str] | None = None) -> dict[str, dict[str, float]]:
            return dict(zip(ids or query_ids, enc.search(texts, M.TOP_K)))
    else:
        doc_vecs, doc_tokens = ctx.backend.embed(enc, doc_texts, "document", ctx.cache, stage("embedding corpus"),
                                                 "embedding corpus")
        query_vecs, query_tokens = ctx.backend.embed(enc, query_texts, "query", ctx.cache, stage("embedding queries"),
                                                     "embedding queries")
        results = ctx.backend.search(query_vecs, doc_vecs, query_ids, doc_ids)

        state.update(doc_vecs=doc_vecs, query_vecs=query_vecs)

        def search(texts: list[str], ids: list[str] | None = None) -> dict[str, dict[str, float]]:
            vecs, _ = enc.embed(texts, "query", ctx.cache)
            return ctx.backend.search(vecs, doc_vecs, ids or query_ids, doc_ids)
    metrics, per_query = M.retrieval_metrics(ds.qrels, results)
    if ctx.rankings is not None:
        ctx.rankings[run.model] = results
    run.metrics = metrics
    run.per_query = per_query
    max_tokens = enc.max_tokens
    if max_tokens and enc.kind != "sparse":
        over = sum(1 for t in doc_tokens if t > max_tokens)
        run.info["truncated_documents"] = over
        run.info["truncated_documents_share"] = round(over / max(len(doc_tokens), 1), 4)
        if over:
            run.notes.append(f"{over} of {len(doc_tokens)} documents are longer than {max_tokens} tokens and were "
                             "truncated (the model reads only their beginning)")
    state.update(search=search, query_ids=query_ids, query_texts=query_texts, doc_ids=doc_ids, doc_texts=doc_texts,
                 results=results, doc_tokens=doc_tokens, query_tokens=query_tokens)
    return state


def _embed_any(enc: Any, texts: list[str], ctx: Context, progress: Progress, what: str) -> tuple[Any, list[int]]:
    return ctx.backend.embed(enc, texts, "symmetric", ctx.cache, progress, what)


def _quality_classification(enc: Any, ds: ClassificationSet, ctx: Context, stage: Callable[[str], Progress], run: ModelRun) -> dict:
    from embedwise.validators import metrics as M

    experiments = M.undersample_experiments(ds.train_labels, ctx.n_experiments, ctx.samples_per_label, ctx.seed)
    needed = sorted({i for e in experiments for i in e})
    pos = {i: j for j, i in enumerate(needed)}
    train_texts = [ds.train_texts[i] for i in needed]
    if enc.kind == "sparse":
        enc.fit(train_texts + ds.test_texts)
    train_vecs, train_tokens = _embed_any(enc, train_texts, ctx, stage("embedding train"), "embedding train")
    test_vecs, test_tokens = _embed_any(enc, ds.test_texts, ctx, stage("embedding test"), "embedding test")
    remapped = [[pos[i] for i in e] for e in experiments]
    train_labels = [ds.train_labels[i] for i in needed]
    stage("classifier")("classifier", 0, 1)
    means, per = M.classification_metrics(train_vecs, train_labels, test_vecs, ds.test_labels, remapped, seed=ctx.seed)
    stage("classifier")("classifier", 1, 1)
    run.metrics = means
    run.per_experiment = {k: [float(x) for x in v] for k, v in per.items() if k in ("accuracy", "f1", "knn_accuracy")}
    run.per_query = {"accuracy": {str(i): x for i, x in enumerate(per.get("item_accuracy", []))}}  # per test item
    run.info["train_examples_used"] = len(needed)
    return {"doc_tokens": train_tokens + test_tokens, "query_tokens": test_tokens, "sample": ds.test_texts}


def _quality_sts(enc: Any, ds: STSSet, ctx: Context, stage: Callable[[str], Progress], run: ModelRun) -> dict:
    from embedwise.validators import metrics as M

    texts = ds.sentences1 + ds.sentences2
    if enc.kind == "sparse":
        enc.fit(texts)
    vecs, tokens = _embed_any(enc, texts, ctx, stage("embedding pairs"), "embedding pairs")
    n = len(ds.sentences1)
    metrics, cos = M.sts_metrics(vecs[:n], vecs[n:], ds.scores)
    run.metrics = metrics
    run.per_pair = [round(float(c), 6) for c in cos]
    return {"doc_tokens": tokens, "query_tokens": tokens[:n], "sample": ds.sentences1}


def _quality_clustering(enc: Any, ds: ClusteringSet, ctx: Context, stage: Callable[[str], Progress], run: ModelRun) -> dict:
    from embedwise.validators import metrics as M

    if enc.kind == "sparse":
        enc.fit(ds.texts)
    vecs, tokens = _embed_any(enc, ds.texts, ctx, stage("embedding texts"), "embedding texts")
    stage("clustering")("clustering", 0, 1)
    metrics, per_run = M.clustering_metrics(vecs, ds.labels, seed=ctx.seed)
    stage("clustering")("clustering", 1, 1)
    run.metrics = metrics
    run.per_experiment = {"v_measure": per_run}
    return {"doc_tokens": tokens, "query_tokens": tokens, "sample": ds.texts}


def _media_module(ds: Dataset) -> Any:
    """`validators.media` for image and audio sets (their `modality` is not text), None for text."""
    if getattr(ds, "modality", "text") == "text":
        return None
    from embedwise.validators.media import measure as media

    return media


QUALITY = {"retrieval": _quality_retrieval, "classification": _quality_classification, "sts": _quality_sts,
           "clustering": _quality_clustering}


def run_model(ref: str, ds: Dataset, *, ctx: Context, db: Any = None, device: str | None = None,
              trust_remote_code: Sequence[str] = (), speed: SpeedConfig | None = None, measure_speed: bool = True,
              measure_robustness: bool = True, queries_per_month: int | None = None, batch_size: int = 32,
              api_base_url: str | None = None, encoder: Any = None) -> ModelRun:
    from embedwise.validators import cost as C
    from embedwise.validators import load as L
    from embedwise.validators import robustness as R
    from embedwise.validators.encoders import make_encoder

    run = ModelRun(model=ref, status="ok")
    progress = ctx.progress

    def stage(what: str) -> Progress:
        return lambda _s, done, total: progress(f"{ref}: {what}", done, total)

    enc = encoder
    t_all = time.perf_counter()
    hits0 = (ctx.cache.hits, ctx.cache.misses) if ctx.cache is not None else (0, 0)
    try:
        media = _media_module(ds)
        if enc is None and media is not None:
            enc = media.make_media_encoder(ref, ds, db=db, device=device, trust_remote_code=trust_remote_code,
                                           batch_size=batch_size)
        elif enc is None:
            enc = make_encoder(ref, db=db, device=device, trust_remote_code=trust_remote_code, batch_size=batch_size,
                               api_base_url=api_base_url)
        run.kind, run.model_id = enc.kind, enc.model_id
        run.model = enc.name  # `name=folder` and recognised folders are shown by name, not by their path
        import gc

        gc.collect()  # what earlier models left behind is freed before this one's baseline is read
        with L.MemoryMonitor() as monitor:
            t0 = time.perf_counter()
            state = (media.quality if media is not None else QUALITY[ds.task])(enc, ds, ctx, stage, run)
            run.seconds["quality"] = round(time.perf_counter() - t0, 3)
            if ctx.integration is not None and ds.task == "retrieval":
                from embedwise.validators.integration import measure_integration

                t0 = time.perf_counter()
                measure_integration(enc, ds, state, run, ctx, stage)
                run.seconds["integration"] = round(time.perf_counter() - t0, 3)
            if measure_robustness:
                t0 = time.perf_counter()
                run.robustness = (media.robustness(enc, ds, ctx, state, stage) if media is not None
                                  else _robustness(enc, ds, ctx, state, stage, R))
                run.seconds["robustness"] = round(time.perf_counter() - t0, 3)
            if measure_speed:
                t0 = time.perf_counter()
                docs, queries = media.speed_inputs(ds) if media is not None else texts_for_speed(ds)
                device_used = getattr(enc, "device", None)
                L.gpu_memory_start(device_used)
                run.speed = ctx.backend.measure_speed(enc, docs, queries, speed, stage("speed"), "speed")
                run.speed["gpu_peak_mb"] = L.gpu_memory_peak_mb(device_used)
                run.speed["device"] = device_used or ("cpu" if enc.kind == "sparse" else None)
                run.seconds["speed"] = round(time.perf_counter() - t0, 3)
        mem = monitor.result()
        if measure_speed:
            run.speed.update(mem)
        else:
            run.speed = {"load_seconds": round(enc.load_seconds, 4) if enc.load_seconds is not None else None, **mem}
        doc_tokens = state.get("doc_tokens") or []
        query_tokens = state.get("query_tokens") or []
        run.cost = C.estimate_cost(enc, corpus_tokens=int(sum(doc_tokens)), corpus_texts=len(doc_tokens),
                                   mean_query_tokens=float(np.mean(query_tokens)) if len(query_tokens) else 0.0,
                                   queries_per_month=queries_per_month, speed=run.speed)
        run.info = {**enc.describe(), **run.info}
        run.notes += enc.notes
        if getattr(enc, "empty_inputs_replaced", 0):
            run.notes.append(f"{enc.empty_inputs_replaced} empty inputs were sent as a single space (the API refuses "
                             "empty strings)")
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        run.status = "failed"
        run.error = str(exc) if isinstance(exc, (ModelRunError, BadInput)) else f"{type(exc).__name__}: {exc}"
        if enc is not None:
            try:
                run.info = {**enc.describe(), **run.info}
            except Exception:
                pass
    finally:
        if enc is not None:
            enc.close()
            del enc
            import gc

            gc.collect()  # so the next model's memory is its own
    if ctx.cache is not None:
        run.cache = {"hits": ctx.cache.hits - hits0[0], "misses": ctx.cache.misses - hits0[1]}
    run.seconds["total"] = round(time.perf_counter() - t_all, 3)
    return run


def _robustness(enc: Any, ds: Dataset, ctx: Context, state: dict, stage: Callable[[str], Progress], R: Any) -> dict:
    import random

    out: dict[str, Any] = {"edge_cases": R.edge_cases(enc, stage("edge cases"), "edge cases", cache=ctx.cache)}
    edge = out["edge_cases"]
    out["edge_cases_ok"] = sum(1 for e in edge.values() if e.get("ok"))
    out["edge_cases_total"] = len(edge)
    rng = random.Random(ctx.seed)
    n = ctx.robustness_sample
    if isinstance(ds, RetrievalSet):
        ids = state["query_ids"]
        chosen = sorted(rng.sample(range(len(ids)), min(n, len(ids))))
        q_ids = [ids[i] for i in chosen]
        q_texts = [state["query_texts"][i] for i in chosen]
        search = state["search"]
        out["queries"] = R.retrieval_robustness(enc, q_ids, q_texts, ds.qrels, lambda texts: search(texts, q_ids),
                                                cache=ctx.cache, seed=ctx.seed, progress=stage("perturbed queries"),
                                                stage="perturbed queries")
    else:
        texts = state.get("sample") or []
        picked = [texts[i] for i in sorted(rng.sample(range(len(texts)), min(n, len(texts))))]
        out["texts"] = R.perturbation_shift(enc, picked, "symmetric", cache=ctx.cache, seed=ctx.seed)
    return out
