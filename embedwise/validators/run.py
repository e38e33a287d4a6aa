"""`validate()`: run every model on the user's data and return a `Report`.

For each model (`measure.run_model`): quality with MTEB's protocol, robustness, speed and memory under load, cost, and
the integration measurements asked for. A model that fails to load or run is reported as failed with its error and the
others go on. Then the paired significance tests (`compare`), the report files (JSON, Markdown, HTML) and one row per
model in the knowledge base's `runs` table.

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

from embedwise.validators import plan
from embedwise.validators.compare import compare_runs
from embedwise.validators.data import Dataset, STSSet, detect_task, load_data
from embedwise.validators.load import SpeedConfig
from embedwise.validators.measure import Context, LocalBackend, run_model
from embedwise.validators.results import MAIN_METRIC, ModelRun, Report

Progress = Callable[[str, int, int], None]


def _noop(stage: str, done: int, total: int) -> None:
    pass


def validate(data: str | Path, *, task: str | None = None, models: Sequence[str] | str | None = None,
             top: int | None = None, requirements: Any = None, out: str | Path | None = None,
             use_cache: bool = True, progress: Progress | None = None, device: str | None = None,
             trust_remote_code: Sequence[str] = (), measure_speed: bool = True, measure_robustness: bool = True,
             speed_config: SpeedConfig | None = None, queries_per_month: int | None = None, seed: int = 42,
             db: Any = None, store: bool = True, write_files: bool = True, include_bm25: bool = True,
             batch_size: int = 32, cache: Any = None, n_experiments: int = 10, samples_per_label: int = 8,
             robustness_sample: int = 50, synthetic_queries: int = 200, api_base_url: str | None = None,
             encoders: dict[str, Any] | None = None, integration: Any = None, backend: Any = None) -> Report:
    """Validate models on the user's data.

    data: a folder or file (see `validators.data`); task: retrieval|classification|sts|clustering (detected when None);
    models: ids (knowledge base, hub, folder, `bm25`, `api:NAME`) or a comma-separated string; requirements: a
    requirements file (or object) whose shortlist supplies the models (`top` of them); out: the report folder
    (default: the reports dir / run id). BM25 joins every run as the baseline unless `include_bm25` is False.
    `encoders` maps a model name to a ready encoder object (tests and the TUI can inject one). `integration`: an
    `integration.IntegrationOptions` (vector database, compression, hybrid, reranker); `backend`: where vectors are
    made and searched (`measure.LocalBackend` by default; a Ray backend for a cluster).
    """
    progress = progress or _noop
    t_start = time.perf_counter()
    requirements_path = str(requirements) if isinstance(requirements, (str, Path)) else None
    requirements = plan.load_requirements_object(requirements)
    ds = load_dataset(data, task, requirements, seed=seed, synthetic_queries=synthetic_queries, progress=progress)
    if db is None and (store or requirements is not None or models):
        db = plan.open_db_quietly()
    refs, shortlist = plan.models_to_run(models, top, requirements, db)
    text = getattr(ds, "modality", "text") == "text"  # BM25 reads text: no baseline for image or audio search
    if include_bm25 and text and not any(r.lower() in ("bm25", "bm25s") for r in refs):
        refs.append("bm25")
    qpm = queries_per_month or plan.queries_per_month(requirements)
    run_id = new_run_id()
    out_dir = report_folder(out, run_id) if write_files else (Path(out).expanduser() if out else None)
    if integration is not None and getattr(integration, "out_dir", None) is None:
        integration.out_dir = out_dir
    stated = getattr(requirements, "data", None)
    if integration is not None and stated is not None and "documents" in stated.model_fields_set:
        integration.documents = stated.documents  # the memory at the user's scale (compression, integration plan)
    cache, own_cache = open_cache(use_cache, cache)
    ctx = Context(ds, cache, progress, seed, n_experiments, samples_per_label, robustness_sample,
                  backend=backend or LocalBackend(), integration=integration)
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
    report = new_report(run_id, data, ds, runs, shortlist, cache)
    report.settings = {"models": refs, "use_cache": use_cache, "device": device or "auto", "seed": seed,
                       "measure_speed": measure_speed, "measure_robustness": measure_robustness,
                       "speed": (speed_config or SpeedConfig()).__dict__ if measure_speed else None,
                       "queries_per_month": qpm, "n_experiments": n_experiments,
                       "samples_per_label": samples_per_label, "requirements": requirements_path,
                       "backend": getattr(ctx.backend, "name", "local")}
    finish(report, db, out_dir if write_files else None, store=store, t_start=t_start)
    return report


# --- the steps `validate` and `choose` share ----------------------------------------------------------------------------

def load_dataset(data: str | Path, task: str | None, requirements: Any, *, seed: int, synthetic_queries: int = 200,
                 progress: Progress = _noop) -> Dataset:
    if task is None and requirements is not None:
        if plan.task_from_requirements(requirements) == "clustering":  # text,label reads as classification unless told
            if detect_task(Path(data).expanduser())[0] == "classification":
                task = "clustering"
    progress("loading data", 0, 1)
    ds = load_data(data, task, seed=seed, synthetic_queries=synthetic_queries)
    progress("loading data", 1, 1)
    return ds


def open_cache(use_cache: bool, cache: Any) -> tuple[Any, Any]:
    """(the cache to use, the one this call opened and must close)."""
    if not use_cache:
        return None, None
    if cache is not None:
        return cache, None
    from embedwise.validators.cache import EmbeddingCache

    own = EmbeddingCache()
    return own, own


def report_folder(out: str | Path | None, run_id: str) -> Path:
    from embedwise import paths

    folder = Path(out).expanduser() if out else paths.reports_dir() / run_id
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def new_report(run_id: str, data: str | Path, ds: Dataset, runs: list[ModelRun], shortlist: list[str] | None,
               cache: Any) -> Report:
    main = MAIN_METRIC[ds.task]
    gold = ds.scores if isinstance(ds, STSSet) else None
    ok = [r for r in runs if r.status == "ok"]
    report = Report(
        run_id=run_id, created_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), task=ds.task,
        main_metric=main, synthetic=ds.synthetic,
        dataset={"path": str(Path(data).expanduser().resolve()), "name": ds.name, "task": ds.task,
                 "synthetic": ds.synthetic, **ds.summary(), "notes": ds.notes},
        runs=runs, comparisons=compare_runs(runs, ds.task, gold),
        best=max(ok, key=lambda r: r.metrics.get(main, float("-inf"))).model if ok else None,
        shortlist=shortlist, environment=_environment())
    if ds.synthetic:
        report.notes.append("SYNTHETIC evaluation set: queries were made from the corpus itself; figures rank models "
                            "on this data but are not comparable with MTEB's.")
    if cache is not None and getattr(cache, "reset_note", None):
        report.notes.append(cache.reset_note)
    failed = [r.model for r in runs if r.status == "failed"]
    if failed:
        report.notes.append(f"{len(failed)} model(s) failed: {', '.join(failed)} (see their errors)")
    return report


def finish(report: Report, db: Any, out_dir: Path | None, *, store: bool, t_start: float) -> None:
    """Published figures beside the measured ones, the runs stored in the knowledge base, the report files."""
    if out_dir is not None:
        report.files = {"json": str(out_dir / "report.json"), "markdown": str(out_dir / "report.md"),
                        "html": str(out_dir / "report.html")}
    if db is not None:
        add_published(report, db)
    if store and db is not None:
        try:
            store_runs(report, db)
        except Exception as exc:  # the measurements are in the files either way
            report.notes.append(f"runs not stored in the knowledge base: {exc}")
    report.settings["seconds"] = round(time.perf_counter() - t_start, 3)
    if out_dir is not None:
        from embedwise.validators.report import write_reports

        write_reports(report, out_dir)


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


# MTEB task names whose published per-task figure the knowledge base holds (kb/curated/reference/scores.csv)
PUBLISHED_TASKS = {"scifact": "SciFact", "nfcorpus": "NFCorpus", "arguana": "ArguAna", "fiqa": "FiQA2018",
                   "fiqa2018": "FiQA2018", "trec-covid": "TRECCOVID", "treccovid": "TRECCOVID"}


def add_published(report: Report, db: Any) -> None:
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
