"""The TUI's one door to the engine, the knowledge base and the validators.

Every import of those packages happens inside a function here, called from a worker: the app starts without
loading durable-rules, torch or sentence-transformers. Results are normalised into small dataclasses so the screens
do not depend on the exact classes the other packages return.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from embedwise.errors import BadInput, EmbedwiseError
from embedwise.tui import state


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


# --- requirements ---------------------------------------------------------------------------------------------------

def build_requirements(answers: dict) -> Any:
    """The engine's Requirements object for the answers; BadInput with the field path when they are invalid."""
    from embedwise.engine.requirements import requirements_from_dict

    return requirements_from_dict(state.requirements_dict(answers))


def requirements_yaml(answers: dict) -> str:
    """The YAML text of the requirements file for the answers (the engine's own dump when it has one)."""
    try:
        from embedwise.engine import requirements as engine_req
    except ImportError:  # engine not there: plain YAML of the same dict
        engine_req = None
    if engine_req is not None and hasattr(engine_req, "dump_requirements"):
        return engine_req.dump_requirements(build_requirements(answers))
    import yaml

    return yaml.safe_dump(state.requirements_dict(answers), sort_keys=False, allow_unicode=True)


def save_requirements(answers: dict, path: Path) -> Path:
    path = Path(path).expanduser()
    text = requirements_yaml(answers)
    if path.is_dir():
        raise BadInput("is a folder; give a file name such as requirements.yaml", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load_requirements(path: Path) -> dict:
    """Read a requirements file (the engine validates it) and return it as answers."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise BadInput("no such file", str(path))
    try:
        from embedwise.engine.requirements import load_requirements as engine_load
    except ImportError:
        engine_load = None
    if engine_load is not None:
        req = engine_load(path)
        loaded = req.model_dump(mode="json") if hasattr(req, "model_dump") else dict(req)
    else:
        import yaml

        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise BadInput(f"invalid YAML: {exc}", str(path)) from None
        if not isinstance(loaded, dict):
            raise BadInput("a requirements file is a mapping (task:, data:, deployment: …)", str(path))
    return {k: v for k, v in loaded.items() if k in state.REQUIREMENT_SECTIONS}


# --- shortlist ------------------------------------------------------------------------------------------------------

@dataclass
class Term:
    term: str
    value: float
    rule: str
    reason: str


@dataclass
class Candidate:
    id: str
    name: str
    score: float
    breakdown: list[Term] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    estimates: dict[str, Any] = field(default_factory=dict)
    status: str = "curated"


@dataclass
class Excluded:
    id: str
    reasons: list[tuple[str, str]]  # (rule, text)
    status: str = "curated"


@dataclass
class ShortlistView:
    candidates: list[Candidate]
    excluded: list[Excluded]
    advice: list[tuple[str, str, str]]  # (rule, text, step)
    extra: list[tuple[str, str]] = field(default_factory=list)  # relaxation lines: (title, text)
    why_fn: Callable[[str], str] | None = None
    total_models: int = 0

    def why(self, model_id: str) -> str:
        """The engine's own explanation of one verdict ('' when it has none)."""
        if self.why_fn is None:
            return ""
        try:
            return self.why_fn(model_id)
        except Exception:  # noqa: BLE001 - an explanation that fails must not break the screen
            return ""

    def candidate(self, model_id: str) -> Candidate | None:
        return next((c for c in self.candidates if c.id == model_id), None)

    def find(self, text: str) -> tuple[str, Any] | None:
        """'why not X?': the candidate or exclusion whose id (or its last part) matches `text`."""
        needle = text.strip().lower()
        if not needle:
            return None
        for exact in (True, False):
            for rank, c in enumerate(self.candidates, 1):
                if _matches(c.id, needle, exact):
                    return ("shortlisted", (rank, c))
            for e in self.excluded:
                if _matches(e.id, needle, exact):
                    return ("excluded", e)
        return None


def _matches(model_id: str, needle: str, exact: bool) -> bool:
    mid = model_id.lower()
    if exact:
        return needle in (mid, mid.split("/")[-1])
    return needle in mid


def _text(obj: Any) -> str:
    if isinstance(obj, str):
        return obj
    return str(_get(obj, "text", "") or _get(obj, "reason", "") or obj)


def normalise_shortlist(result: Any, why: Callable[[str], str] | None = None) -> ShortlistView:
    candidates = []
    for c in _get(result, "shortlist", []) or []:
        breakdown = [Term(str(_get(t, "term", "")), float(_get(t, "value", 0) or 0), str(_get(t, "rule", "") or ""),
                          str(_get(t, "reason", "") or "")) for t in (_get(c, "breakdown", []) or [])]
        reasons = [_text(r) for r in (_get(c, "reasons", []) or [])]
        cid = str(_get(c, "id"))
        candidates.append(Candidate(cid, str(_get(c, "name", None) or cid), float(_get(c, "score", 0) or 0),
                                    breakdown, reasons, dict(_get(c, "estimates", {}) or {}),
                                    str(_get(c, "status", "curated") or "curated")))
    excluded = []
    for e in _get(result, "excluded", []) or []:
        reasons = [(str(_get(r, "rule", "") or ""), _text(r)) for r in (_get(e, "reasons", []) or [])]
        excluded.append(Excluded(str(_get(e, "id")), reasons, str(_get(e, "status", "curated") or "curated")))
    advice = [(str(_get(a, "rule", "") or ""), _text(a), str(_get(a, "step", "") or ""))
              for a in (_get(result, "advice", []) or [])]
    return ShortlistView(candidates, excluded, advice, _relaxation_lines(_get(result, "relaxation")), why,
                         int(_get(result, "total_models", 0) or 0))


def _relaxation_lines(relaxation: Any) -> list[tuple[str, str]]:
    """When few or no models survive: which constraints excluded most, and the single relaxation that helps most."""
    if not relaxation:
        return []
    lines: list[tuple[str, str]] = []
    best = _get(relaxation, "best")
    if best:
        models = list(_get(best, "models", []) or [])[:3]
        lines.append(("Relax", f"{_get(best, 'relax')}: brings back {_get(best, 'brings_back')} model(s)"
                      + (f", e.g. {', '.join(models)}" if models else "")))
    for item in (_get(relaxation, "excluded_by", []) or [])[:5]:
        lines.append(("Excluded by", f"{_get(item, 'rule')} ({_get(item, 'relax', '')}): "
                                     f"{_get(item, 'excludes')} model(s)"))
    return lines


def recommend(answers: dict, kb_path: Path | None = None, top: int | None = None) -> ShortlistView:
    """Run the rules engine on the answers (in the caller's worker thread)."""
    from embedwise.engine import recommend as engine

    req = build_requirements(answers)
    db = _open_db(kb_path) if kb_path else None
    result = engine.recommend(req, db=db, top=top)
    why_fn = getattr(engine, "why", None)
    return normalise_shortlist(result, (lambda mid: why_fn(result, mid)) if why_fn else None)


def estimate_lines(estimates: dict[str, Any]) -> list[str]:
    """The engine's estimates for one model (monthly cost, memory, storage, latency) as short lines."""
    lines = []
    for key, value in estimates.items():
        if value is None or value == "" or isinstance(value, (dict, list)):
            continue
        if isinstance(value, float):
            value = f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
        lines.append(f"{key.replace('_', ' ')}: {value}")
    return lines


# --- knowledge base -------------------------------------------------------------------------------------------------

def _open_db(kb_path: Path | None):
    from embedwise.kb import store

    if kb_path is not None:
        return store.open_db(Path(kb_path), build_if_missing=not Path(kb_path).exists())
    return store.open_db()


def kb_search(expression: str, kb_path: Path | None = None) -> list[dict]:
    """Rows of the models table matching a `kb query` expression (QueryError with a position when malformed)."""
    from embedwise.kb import query

    return query.search(_open_db(kb_path), expression)


def kb_detail(model_id: str, kb_path: Path | None = None) -> dict:
    """Every fact of one model with its source, its published scores and its measured runs."""
    from embedwise.kb import store
    from embedwise.kb.schema import ModelRecord

    db = _open_db(kb_path)
    record = store.get_record(db, model_id)
    data = record.model_dump(mode="json")
    facts = []
    for name in ModelRecord.model_fields:
        if name in ("id", "scores", "sources"):
            continue
        value = data.get(name)
        if value is None or value == [] or value == "":
            continue
        src = data["sources"].get(name)
        if src:
            where = src["ref"] + (f" ({src['date']})" if src.get("date") else "")
            if src.get("note"):
                where += f" — {src['note']}"
        elif name in ("name", "description", "tags", "family", "status", "price_confidence"):
            where = ""
        else:
            where = "default (not curated)"
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        facts.append({"field": name, "value": shown, "source": where})
    runs = []
    if db["runs"].exists():
        for run in db.query("SELECT * FROM runs WHERE model_id = ? ORDER BY created_at DESC", [model_id]):
            for key in ("metrics", "speed", "robustness", "cost"):
                try:
                    run[key] = json.loads(run[key]) if run.get(key) else None
                except (TypeError, ValueError):
                    pass
            runs.append(run)
    return {"id": record.id, "name": record.name, "description": record.description, "status": record.status,
            "facts": facts, "scores": data.get("scores", []), "runs": runs}


# --- validators -----------------------------------------------------------------------------------------------------

MAIN_METRICS = ("ndcg_at_10", "accuracy", "cosine_spearman", "v_measure", "main_score", "map_at_10", "mrr_at_10",
                "recall_at_100", "f1")


@dataclass
class RunRow:
    model: str
    status: str
    metrics: dict[str, Any]
    speed: dict[str, Any]
    robustness: dict[str, Any]
    cost: dict[str, Any]
    error: str = ""

    @property
    def main_metric(self) -> tuple[str, float] | None:
        return self.metric()

    def metric(self, preferred: tuple[str, ...] = ()) -> tuple[str, float] | None:
        """The first of the user's preferred metrics that this run measured, else the task's main metric."""
        for name in (*preferred, *MAIN_METRICS):
            value = self.metrics.get(name)
            if isinstance(value, (int, float)):
                return name, float(value)
        for name, value in self.metrics.items():
            if isinstance(value, (int, float)):
                return name, float(value)
        return None

    @property
    def latency_p95_ms(self) -> float | None:
        return _find_number(self.speed, ("latency_p95_ms", "p95_ms", "p95"), prefer=("latency", "c1", "1"))

    @property
    def throughput(self) -> float | None:
        return _find_number(self.speed, ("best_docs_per_s", "docs_per_s", "documents_per_s"))


def _find_number(tree: Any, names: tuple[str, ...], prefer: tuple[str, ...] = ()) -> float | None:
    """The first number under any of `names`, searching nested dicts (concurrency 1 first when there are several)."""
    if not isinstance(tree, dict):
        return None
    for name in names:
        value = tree.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    keys = sorted(tree, key=lambda k: (0 if any(p == str(k) or str(k).startswith(p) for p in prefer) else 1,
                                       str(k)))
    for key in keys:
        value = tree[key]
        if isinstance(value, dict):
            found = _find_number(value, names, prefer)
            if found is not None:
                return found
        elif isinstance(value, list):
            for item in value:
                found = _find_number(item, names, prefer)
                if found is not None:
                    return found
    return None


@dataclass
class ValidationView:
    runs: list[RunRow]
    report_path: str | None
    task: str = ""
    synthetic: bool = False
    raw: Any = None
    best: str | None = None
    notes: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    decision: dict | None = None
    ranking: list[dict] = field(default_factory=list)


def normalise_report(result: Any) -> ValidationView:
    report = result
    report_path = None
    if isinstance(result, tuple) and len(result) == 2:  # (report, path)
        report, report_path = result
    if report_path is None:
        for key in ("report_path", "path", "saved", "json_path", "out"):
            value = _get(report, key)
            if value and isinstance(value, (str, Path)):
                report_path = value
                break
        paths = _get(report, "paths") or _get(report, "files")
        if report_path is None and isinstance(paths, dict) and paths:
            report_path = paths.get("html") or paths.get("json") or paths.get("markdown") or next(iter(paths.values()))
    runs = []
    for r in _get(report, "runs", []) or []:
        if hasattr(r, "model_dump"):
            r = r.model_dump(mode="json")
        runs.append(RunRow(str(_get(r, "model", "?")), str(_get(r, "status", "?")), _get(r, "metrics") or {},
                           _get(r, "speed") or {}, _get(r, "robustness") or {}, _get(r, "cost") or {},
                           str(_get(r, "error") or "")))
    return ValidationView(runs, str(report_path) if report_path else None, str(_get(report, "task", "") or ""),
                          bool(_get(report, "synthetic", False)), report, _get(report, "best"),
                          [str(n) for n in (_get(report, "notes", []) or [])],
                          {str(k): str(v) for k, v in (_get(report, "files") or {}).items()},
                          _get(report, "decision"), list(_get(report, "ranking") or []))


def choose(data: str, models: list[str], progress: Callable[[str, int, int], None],
           task: str | None = None, requirements: dict | None = None,
           options: dict[str, Any] | None = None) -> ValidationView:
    """Run `choose` (screening, the finalists measured, the decision); torch loads here, in the worker thread.
    `options` are extra keyword arguments of `validators.choose.choose` (speed settings, time budget...)."""
    from embedwise.validators.choose import choose as run_choose

    req = None
    if requirements is not None:
        try:
            req = build_requirements(requirements)
        except EmbedwiseError:
            req = None  # the answers are incomplete: choose among the models given, with default priorities
    report = run_choose(Path(data), models=list(models), requirements=req, progress=progress,
                        task=task if task and task != "auto" else None, **(options or {}))
    return normalise_report(report)
