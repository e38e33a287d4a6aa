"""`choose()`: from requirements and data to a validated, costed decision within a time budget.

1. plan: the shortlist (or the models given) plus the BM25 baseline; each dense model's speed probed on a few texts;
2. screen (`screen.py`): successive halving on growing samples, the significantly worse dropped after each round;
3. measure: the finalists in full (quality on the whole set where the budget allows it, the load test, memory alone,
   robustness, cost at the user's volume);
4. decide (`decide.py`): the verdict with its reasons and confidence, the runner-up, the ranking.
Work is planned from measured throughput and the embedding cache (only uncached texts cost time), so a run fits
`time_budget` seconds; `full=True` skips screening and measures every candidate in full.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from embedwise.validators import plan
from embedwise.validators.budget import Candidate, Clock
from embedwise.validators.compare import paired
from embedwise.validators.data import Dataset, STSSet
from embedwise.validators.load import SpeedConfig
from embedwise.validators.measure import Context, LocalBackend
from embedwise.validators.results import ModelRun, Report
from embedwise.validators.run import (
    finish,
    load_dataset,
    new_report,
    new_run_id,
    open_cache,
    report_folder,
)
from embedwise.validators.schedule import Worker

Progress = Callable[[str, int, int], None]


def _noop(stage: str, done: int, total: int) -> None:
    pass
def choose(data: str | Path, *, requirements: Any = None, models: Sequence[str] | str | None = None,
           top: int | None = None, time_budget: float | None = 600.0, full: bool = False,
           out: str | Path | None = None, task: str | None = None, use_cache: bool = True,
           progress: Progress | None = None, device: str | None = None, trust_remote_code: Sequence[str] = (),
           measure_speed: bool = True, measure_robustness: bool = True, speed_config: SpeedConfig | None = None,
           queries_per_month: int | None = None, include_bm25: bool = True, seed: int = 42, db: Any = None,
           store: bool = True, write_files: bool = True, batch_size: int = 32, cache: Any = None,
           integration: Any = None, backend: Any = None) -> Report:
    """The decision as a `Report` whose `decision`, `ranking` and `screening` fields open it (see `choice_json`)."""
    progress = progress or _noop
    clock = Clock(None if full else time_budget)
    requirements_path = str(requirements) if isinstance(requirements, (str, Path)) else None
    req = plan.load_requirements_object(requirements)
    ds = load_dataset(data, task, req, seed=seed, progress=progress)
    db = db if db is not None else plan.open_db_quietly()
    refs, shortlist = plan.models_to_run(models, top, req, db)
    if include_bm25 and getattr(ds, "modality", "text") == "text" and not any(r.lower() in ("bm25", "bm25s") for r in refs):
        refs.append("bm25")
    qpm = queries_per_month or plan.queries_per_month(req) or 300_000
    run_id = new_run_id()
    out_dir = report_folder(out, run_id) if write_files else None
    if integration is not None and getattr(integration, "out_dir", None) is None:
        integration.out_dir = out_dir
    cache, own_cache = open_cache(use_cache, cache)
    ctx = Context(ds, cache, progress, seed, backend=backend or LocalBackend(), rankings={})
    options = {"db": db, "device": device, "trust_remote_code": trust_remote_code, "batch_size": batch_size,
               "queries_per_month": qpm}
    worker = Worker(ds, ctx, clock, options, progress)
    try:
        candidates = [Candidate(ref) for ref in refs]
        screening: list[dict] = []
        dropped: list[dict] = []
        for c in candidates:
            worker.identify(c)
        plan_key = worker.plan_key(candidates, clock.budget)
        if not full:
            worker.load_plan(plan_key)
        media = getattr(ds, "modality", "text") != "text"
        if full or media:  # the sampler knows text sets; image and audio candidates are measured whole
            finalists = [(c, ds, "full") for c in candidates]
            if media and not full:
                worker.stop("no screening on image or audio data: every candidate was measured whole")
        else:
            finalists = worker.screen(candidates, screening, dropped)
        final_runs = worker.measure(finalists, measure_speed=measure_speed, measure_robustness=measure_robustness,
                                    speed_config=speed_config, integration=integration)
        if not full:
            worker.save_plan(plan_key)
    finally:
        if own_cache is not None:
            own_cache.close()
    failed = [c.last for c in candidates if c.last is not None and c.last.status == "failed"
              and all(r.model != c.last.model for r, _ in final_runs)]
    runs = [r for r, _ in final_runs] + failed
    report = new_report(run_id, data, ds, runs, shortlist, cache)
    measured = final_runs + [(r, {"basis": "full", "basis_text": "the whole set"}) for r in failed]
    report.decision, report.ranking = _decide(ds, req, measured, dropped, worker.not_measured(final_runs, full,
                                                                                              measure_speed), db, qpm,
                                              worker.unmeasured)
    report.screening = screening
    report.settings = {"models": refs, "time_budget_s": time_budget if not full else None, "full": full,
                       "use_cache": use_cache, "device": device or "auto", "seed": seed,
                       "queries_per_month": qpm, "requirements": requirements_path,
                       "backend": getattr(ctx.backend, "name", "local")}
    finish(report, db, out_dir, store=store, t_start=clock.start)
    report.settings["within_budget"] = None if clock.budget is None else bool(clock.elapsed() <= clock.budget * 1.2)
    return report


def choice_json(report: Report) -> dict:
    """The `choose --json` contract: {"decision", "ranking", "screening", "runs"}, the runs as `validate` writes them."""
    import json

    full = json.loads(report.model_dump_json())
    decision = dict(full.get("decision") or {})
    decision.update({"run_id": report.run_id, "task": report.task, "dataset": report.dataset,
                     "files": report.files, "seconds": report.settings.get("seconds"),
                     "time_budget_s": report.settings.get("time_budget_s")})
    return {"decision": decision, "ranking": full.get("ranking") or [], "screening": full.get("screening") or [],
            "runs": full["runs"]}


def _decide(ds: Dataset, req: Any, final_runs: list[tuple[ModelRun, dict]], dropped: list[dict],
            not_measured: list[str], db: Any, qpm: int, unmeasured: list[dict]) -> tuple[dict, list[dict]]:
    from embedwise.validators.decide import decide

    gold = ds.scores if isinstance(ds, STSSet) else None
    ok = [r for r, _ in final_runs if r.status == "ok"]
    comparisons = {(a.model, b.model): paired(a, b, ds.task, gold) for i, a in enumerate(ok) for b in ok[i + 1:]}
    documents = getattr(getattr(req, "data", None), "documents", None) or _items(ds)
    finalists = [{"run": r, **basis} for r, basis in final_runs]
    return decide(finalists, ds.task, req, comparisons=comparisons, dropped=dropped, not_measured=not_measured,
                  documents=documents, queries_per_month=qpm, cpu_price=_cpu_price(db), unmeasured=unmeasured)


def _cpu_price(db: Any) -> dict | None:
    if db is None:
        return None
    try:
        from embedwise.kb.store import load_hardware_prices

        cpus = [p for p in load_hardware_prices(db) if not p.get("gpu")]
    except Exception:  # noqa: BLE001 - an older knowledge base without the table: no price
        return None
    return min(cpus, key=lambda p: p["usd_per_hour"]) if cpus else None


def _items(ds: Dataset) -> int:
    """The documents to index (retrieval, any modality), else the largest count the data set reports."""
    corpus = getattr(ds, "corpus", None)
    if corpus is not None:
        return len(corpus)
    return max((v for v in ds.summary().values() if isinstance(v, int) and not isinstance(v, bool)), default=0)

