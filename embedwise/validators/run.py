"""The orchestration: `validate()` runs every model on the user's data and returns a `Report`.

For each model: resolve it (knowledge-base id, hub id, local folder, `bm25`, `api:NAME`), measure quality with MTEB's
protocol, robustness, speed and memory under load, and cost. A model that fails to load or run is reported as failed
with its error and the others go on. Then paired significance tests between the models, the report files (JSON,
Markdown, HTML) and one row per model in the knowledge base's `runs` table.

`progress(stage, done, total)` is called as work advances: stage "models" counts models; the other stages are
"<model>: <what>" with their own counts. The TUI and the CLI's progress bars hang off it.
"""
from __future__ import annotations

import datetime as dt
import json
import platform
import secrets
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from embedwise.errors import BadInput, ModelRunError
from embedwise.validators.data import (
    ClassificationSet,
    ClusteringSet,
    Dataset,
    RetrievalSet,
    STSSet,
    load_data,
)
from embedwise.validators.load import SpeedConfig
from embedwise.validators.results import MAIN_METRIC, Comparison, ModelRun, Report

Progress = Callable[[str, int, int], None]

def _noop(stage: str, done: int, total: int) -> None:
    pass


# --- choosing the models ------------------------------------------------------------------------------------------------

def choose_models(models: Sequence[str] | str | None, top: int | None, requirements: Any, db: Any) -> tuple[list[str], list[str] | None]:
    """(models to run, the shortlist when requirements gave one)."""
    if isinstance(models, str):
        models = [m for m in models.split(",")]
    refs = [m.strip() for m in (models or []) if m and m.strip()]
    shortlist = None
    if requirements is not None:
        if refs:  # the models are given: the shortlist is context only, and its failure stops nothing
            try:
                shortlist = shortlist_from_requirements(requirements, top or 3, db)
            except Exception:
                shortlist = None
        else:
            shortlist = shortlist_from_requirements(requirements, top or 3, db)
            refs = shortlist[: top or 3]
    elif top is not None and not refs:
        raise BadInput("--top takes the top models of the shortlist: give --requirements FILE too, or --models",
                       where="--top")
    if not refs:
        raise BadInput("no models to validate: give --models ID,ID (knowledge-base ids, hub ids, model folders, bm25) "
                       "or --requirements FILE", where="--models")
    seen, out = set(), []
    for r in refs:
        if r not in seen:
            seen.add(r)
            out.append(r)
    return out, shortlist


def shortlist_from_requirements(requirements: Any, top: int, db: Any) -> list[str]:
    try:
        from embedwise.engine.recommend import recommend
        from embedwise.engine.requirements import load_requirements
    except ImportError as exc:
        raise BadInput(f"the rules engine is not available ({exc}); pass --models instead", where="--requirements") from None
    req = load_requirements(Path(requirements)) if isinstance(requirements, (str, Path)) else requirements
    if db is None:
        from embedwise.kb.store import open_db

        db = open_db()
    result = recommend(req, db, top)
    ids = [c.id for c in result.shortlist]
    if not ids:
        raise BadInput("the requirements leave no model on the shortlist (see `embedwise recommend`); "
                       "relax them or pass --models", where=str(requirements) if isinstance(requirements, (str, Path)) else "requirements")
    return ids


def load_requirements_object(requirements: Any) -> Any:
    """A requirements file (path) as the engine's Requirements object; objects pass through."""
    if requirements is None or not isinstance(requirements, (str, Path)):
        return requirements
    try:
        from embedwise.engine.requirements import load_requirements
    except ImportError as exc:
        raise BadInput(f"the rules engine is not available ({exc}); pass --models instead", where="--requirements") from None
    return load_requirements(Path(requirements))


def _requirements_queries_per_month(requirements: Any) -> int | None:
    per_day = getattr(getattr(requirements, "deployment", None), "queries_per_day", None)
    if isinstance(per_day, (int, float)) and per_day > 0:
        return int(per_day * 30)
    return None


def _task_from_requirements(requirements: Any) -> str | None:
    """The requirements' task as a validator task: classification and clustering as they are, the rest retrieval."""
    task = getattr(requirements, "task", None)
    if task is None:
        return None
    return task if task in ("classification", "clustering") else "retrieval"


# --- one model ----------------------------------------------------------------------------------------------------------

class _Ctx:
    def __init__(self, ds: Dataset, cache: Any, progress: Progress, seed: int, n_experiments: int,
                 samples_per_label: int, robustness_sample: int):
        self.ds, self.cache, self.progress, self.seed = ds, cache, progress, seed
        self.n_experiments, self.samples_per_label = n_experiments, samples_per_label
        self.robustness_sample = robustness_sample


def _texts_for_speed(ds: Dataset) -> tuple[list[str], list[str]]:
    if isinstance(ds, RetrievalSet):
        return [ds.doc_text(d) for d in ds.corpus], list(ds.queries.values())
    if isinstance(ds, ClassificationSet):
        return ds.train_texts, ds.test_texts
    if isinstance(ds, STSSet):
        return ds.sentences1, ds.sentences2
    return ds.texts, ds.texts


def _quality_retrieval(enc: Any, ds: RetrievalSet, ctx: _Ctx, stage: Callable[[str], Progress], run: ModelRun) -> dict:
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
        doc_vecs, doc_tokens = enc.embed(doc_texts, "document", ctx.cache, stage("embedding corpus"), "embedding corpus")
        query_vecs, query_tokens = enc.embed(query_texts, "query", ctx.cache, stage("embedding queries"), "embedding queries")
        results = M.dense_search(query_vecs, doc_vecs, query_ids, doc_ids)

        def search(texts: list[str], ids: list[str] | None = None) -> dict[str, dict[str, float]]:
            vecs, _ = enc.embed(texts, "query", ctx.cache)
            return M.dense_search(vecs, doc_vecs, ids or query_ids, doc_ids)
    metrics, per_query = M.retrieval_metrics(ds.qrels, results)
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
    state.update(search=search, query_ids=query_ids, query_texts=query_texts, doc_tokens=doc_tokens,
                 query_tokens=query_tokens)
    return state


def _embed_any(enc: Any, texts: list[str], ctx: _Ctx, progress: Progress, what: str) -> tuple[Any, list[int]]:
    return enc.embed(texts, "symmetric", ctx.cache, progress, what)


def _quality_classification(enc: Any, ds: ClassificationSet, ctx: _Ctx, stage: Callable[[str], Progress], run: ModelRun) -> dict:
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
    run.info["train_examples_used"] = len(needed)
    return {"doc_tokens": train_tokens + test_tokens, "query_tokens": test_tokens, "sample": ds.test_texts}


def _quality_sts(enc: Any, ds: STSSet, ctx: _Ctx, stage: Callable[[str], Progress], run: ModelRun) -> dict:
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


def _quality_clustering(enc: Any, ds: ClusteringSet, ctx: _Ctx, stage: Callable[[str], Progress], run: ModelRun) -> dict:
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


QUALITY = {"retrieval": _quality_retrieval, "classification": _quality_classification, "sts": _quality_sts,
           "clustering": _quality_clustering}


def run_model(ref: str, ds: Dataset, *, ctx: _Ctx, db: Any = None, device: str | None = None,
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
        if enc is None:
            enc = make_encoder(ref, db=db, device=device, trust_remote_code=trust_remote_code, batch_size=batch_size,
                               api_base_url=api_base_url)
        run.kind, run.model_id = enc.kind, enc.model_id
        run.model = enc.name  # `name=folder` and recognised folders are shown by name, not by their path
        import gc

        gc.collect()  # what earlier models left behind is freed before this one's baseline is read
        with L.MemoryMonitor() as monitor:
            t0 = time.perf_counter()
            state = QUALITY[ds.task](enc, ds, ctx, stage, run)
            run.seconds["quality"] = round(time.perf_counter() - t0, 3)
            if measure_robustness:
                t0 = time.perf_counter()
                run.robustness = _robustness(enc, ds, ctx, state, stage, R)
                run.seconds["robustness"] = round(time.perf_counter() - t0, 3)
            if measure_speed:
                t0 = time.perf_counter()
                docs, queries = _texts_for_speed(ds)
                device_used = getattr(enc, "device", None)
                L.gpu_memory_start(device_used)
                run.speed = L.measure_speed(enc, docs, queries, speed, stage("speed"), "speed")
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


def _robustness(enc: Any, ds: Dataset, ctx: _Ctx, state: dict, stage: Callable[[str], Progress], R: Any) -> dict:
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


# --- comparisons --------------------------------------------------------------------------------------------------------

def compare_runs(runs: list[ModelRun], task: str, gold: Sequence[float] | None = None) -> list[Comparison]:
    from embedwise.validators import metrics as M

    ok = [r for r in runs if r.status == "ok"]
    main = MAIN_METRIC[task]
    ok.sort(key=lambda r: r.metrics.get(main, float("-inf")), reverse=True)
    if len(ok) < 2:
        return []
    pairs = [(a, b) for i, a in enumerate(ok) for b in ok[i + 1:]] if len(ok) <= 6 else [(ok[0], b) for b in ok[1:]]
    out = []
    for a, b in pairs:
        if task == "retrieval":
            pa, pb = a.per_query.get("ndcg_at_10", {}), b.per_query.get("ndcg_at_10", {})
            keys = sorted(set(pa) & set(pb))
            res = M.paired_test([pa[k] for k in keys], [pb[k] for k in keys])
            test, metric, p = "wilcoxon signed-rank (per-query ndcg_at_10)", "ndcg_at_10", res["wilcoxon_p"]
        elif task == "sts" and gold is not None:
            res = M.bootstrap_spearman_test(gold, a.per_pair, b.per_pair)
            test, metric, p = "paired bootstrap (1000 resamples of pairs)", "cosine_spearman", res["bootstrap_p"]
        else:
            key = "accuracy" if task == "classification" else "v_measure"
            xa, xb = a.per_experiment.get(key, []), b.per_experiment.get(key, [])
            n = min(len(xa), len(xb))
            res = M.paired_test(xa[:n], xb[:n])
            test, metric, p = f"paired t-test (per-{'experiment' if task == 'classification' else 'run'} {key})", key, res["ttest_p"]
            res["significant"] = bool(p < 0.05)
        out.append(Comparison(a=a.model, b=b.model, metric=metric, test=test, n=res["n"], mean_a=res["mean_a"],
                              mean_b=res["mean_b"], diff=res["diff"], p_value=p, significant=bool(res["significant"]),
                              details={k: v for k, v in res.items() if k not in ("n", "mean_a", "mean_b", "diff")}))
    return out


# --- the entry point ----------------------------------------------------------------------------------------------------

def _environment() -> dict:
    import sys

    env = {"python": sys.version.split()[0], "platform": platform.platform(), "machine": platform.machine()}
    for mod in ("torch", "sentence_transformers", "bm25s", "pytrec_eval", "sklearn"):
        module = sys.modules.get(mod)
        if module is not None:
            env[mod] = getattr(module, "__version__", None)
    return env


def new_run_id() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def validate(data: str | Path, *, task: str | None = None, models: Sequence[str] | str | None = None,
             top: int | None = None, requirements: Any = None, out: str | Path | None = None,
             use_cache: bool = True, progress: Progress | None = None, device: str | None = None,
             trust_remote_code: Sequence[str] = (), measure_speed: bool = True, measure_robustness: bool = True,
             speed_config: SpeedConfig | None = None, queries_per_month: int | None = None, seed: int = 42,
             db: Any = None, store: bool = True, write_files: bool = True, include_bm25: bool = True,
             batch_size: int = 32, cache: Any = None, n_experiments: int = 10, samples_per_label: int = 8,
             robustness_sample: int = 50, synthetic_queries: int = 200, api_base_url: str | None = None,
             encoders: dict[str, Any] | None = None) -> Report:
    """Validate models on the user's data.

    data: a folder or file (see `validators.data`); task: retrieval|classification|sts|clustering (detected when None);
    models: ids (knowledge base, hub, folder, `bm25`, `api:NAME`) or a comma-separated string; requirements: a
    requirements file (or object) whose shortlist supplies the models (`top` of them); out: the report folder
    (default: the reports dir / run id). BM25 joins every run as the baseline unless `include_bm25` is False.
    `encoders` maps a model name to a ready encoder object (tests and the TUI can inject one).
    """
    progress = progress or _noop
    t_start = time.perf_counter()
    requirements_path = str(requirements) if isinstance(requirements, (str, Path)) else None
    requirements = load_requirements_object(requirements)
    if task is None and requirements is not None:
        wanted = _task_from_requirements(requirements)
        if wanted == "clustering":  # text,label data reads as classification unless told
            from embedwise.validators.data import detect_task

            if detect_task(Path(data).expanduser())[0] == "classification":
                task = "clustering"
    progress("loading data", 0, 1)
    ds = load_data(data, task, seed=seed, synthetic_queries=synthetic_queries)
    progress("loading data", 1, 1)
    if db is None and (store or requirements is not None or models):
        db = _open_db_quietly()
    refs, shortlist = choose_models(models, top, requirements, db)
    if include_bm25 and not any(r.lower() in ("bm25", "bm25s") for r in refs):
        refs.append("bm25")
    qpm = queries_per_month or _requirements_queries_per_month(requirements)
    own_cache = None
    if use_cache and cache is None:
        from embedwise.validators.cache import EmbeddingCache

        cache = own_cache = EmbeddingCache()
    elif not use_cache:
        cache = None
    ctx = _Ctx(ds, cache, progress, seed, n_experiments, samples_per_label, robustness_sample)
    runs: list[ModelRun] = []
    try:
        for i, ref in enumerate(refs):
            progress("models", i, len(refs))
            runs.append(run_model(ref, ds, ctx=ctx, db=db, device=device, trust_remote_code=trust_remote_code,
                                  speed=speed_config, measure_speed=measure_speed,
                                  measure_robustness=measure_robustness, queries_per_month=qpm, batch_size=batch_size,
                                  api_base_url=api_base_url, encoder=(encoders or {}).get(ref)))
        progress("models", len(refs), len(refs))
    finally:
        if own_cache is not None:
            own_cache.close()
    main = MAIN_METRIC[ds.task]
    gold = ds.scores if isinstance(ds, STSSet) else None
    comparisons = compare_runs(runs, ds.task, gold)
    ok = [r for r in runs if r.status == "ok"]
    best = max(ok, key=lambda r: r.metrics.get(main, float("-inf"))).model if ok else None
    run_id = new_run_id()
    report = Report(
        run_id=run_id, created_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), task=ds.task,
        main_metric=main, synthetic=ds.synthetic,
        dataset={"path": str(Path(data).expanduser().resolve()), "name": ds.name, "task": ds.task,
                 "synthetic": ds.synthetic, **ds.summary(), "notes": ds.notes},
        runs=runs, comparisons=comparisons, best=best, shortlist=shortlist,
        settings={"models": refs, "use_cache": use_cache, "device": device or "auto", "seed": seed,
                  "measure_speed": measure_speed, "measure_robustness": measure_robustness,
                  "speed": (speed_config or SpeedConfig()).__dict__ if measure_speed else None,
                  "queries_per_month": qpm, "n_experiments": n_experiments, "samples_per_label": samples_per_label,
                  "requirements": requirements_path},
        environment=_environment())
    if ds.synthetic:
        report.notes.append("SYNTHETIC evaluation set: queries were made from the corpus itself; figures rank models "
                            "on this data but are not comparable with MTEB's.")
    if cache is not None and getattr(cache, "reset_note", None):
        report.notes.append(cache.reset_note)
    failed = [r.model for r in runs if r.status == "failed"]
    if failed:
        report.notes.append(f"{len(failed)} model(s) failed: {', '.join(failed)} (see their errors)")
    out_dir = Path(out).expanduser() if out else None
    if write_files:
        from embedwise import paths

        out_dir = out_dir or (paths.reports_dir() / run_id)
        out_dir.mkdir(parents=True, exist_ok=True)
        report.files = {"json": str(out_dir / "report.json"), "markdown": str(out_dir / "report.md"),
                        "html": str(out_dir / "report.html")}
    if db is not None:
        _add_published(report, db)
    if store and db is not None:
        try:
            store_runs(report, db)
        except Exception as exc:  # the measurements are in the files either way
            report.notes.append(f"runs not stored in the knowledge base: {exc}")
    report.settings["seconds"] = round(time.perf_counter() - t_start, 3)
    if write_files and out_dir is not None:
        from embedwise.validators.report import write_reports

        write_reports(report, out_dir)
    return report


def _open_db_quietly() -> Any:
    try:
        from embedwise.kb.store import open_db

        return open_db()
    except Exception:
        return None


# MTEB task names whose published per-task figure the knowledge base holds (kb/curated/reference/scores.csv)
PUBLISHED_TASKS = {"scifact": "SciFact", "nfcorpus": "NFCorpus", "arguana": "ArguAna", "fiqa": "FiQA2018",
                   "fiqa2018": "FiQA2018", "trec-covid": "TRECCOVID", "treccovid": "TRECCOVID"}


def _add_published(report: Report, db: Any) -> None:
    """Where the user's data is an MTEB task (a folder named scifact, ...), the model's published figure beside the
    measured one: `run.info["published"]`."""
    name = Path(str(report.dataset.get("path") or "")).name.lower()
    task = PUBLISHED_TASKS.get(name)
    if task is None or report.main_metric != "ndcg_at_10":
        return
    for r in report.runs:
        if not r.model_id:
            continue
        try:
            rows = list(db.query("SELECT value, source FROM scores WHERE model_id = ? AND task = ? AND "
                                 "metric = 'ndcg_at_10' LIMIT 1", [r.model_id, task]))
        except Exception:  # noqa: BLE001 - an older knowledge base: no published figure, nothing else changes
            return
        if rows:
            r.info["published"] = {"task": f"MTEB {task}", "metric": "ndcg_at_10", "value": rows[0]["value"] / 100,
                                   "source": rows[0]["source"]}


def store_runs(report: Report, db: Any) -> None:
    """One row per model in the knowledge base's `runs` table (JSON text in the dict columns)."""
    rows = []
    for r in report.runs:
        rows.append({
            "run_id": report.run_id, "model_id": r.model_id or r.model, "dataset": report.dataset.get("path"),
            "task": report.task, "synthetic": int(report.synthetic), "status": r.status,
            "created_at": report.created_at, "metrics": json.dumps(r.metrics), "speed": json.dumps(r.speed, default=str),
            "robustness": json.dumps(r.robustness, default=str), "cost": json.dumps(r.cost, default=str),
            "error": r.error, "report_path": report.files.get("json")})
    with db.conn:
        db["runs"].insert_all(rows, alter=True)
