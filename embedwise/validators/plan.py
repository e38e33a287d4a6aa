"""Which models to run, and what the requirements say about the run: the shortlist (or the models given), the task,
the query volume."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from embedwise.errors import BadInput


def models_to_run(models: Sequence[str] | str | None, top: int | None, requirements: Any,
                  db: Any) -> tuple[list[str], list[str] | None]:
    """(models to run, the shortlist when requirements gave one)."""
    if isinstance(models, str):
        models = models.split(",")
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
    return list(dict.fromkeys(refs)), shortlist


def shortlist_from_requirements(requirements: Any, top: int, db: Any) -> list[str]:
    req = load_requirements_object(requirements)
    from embedwise.engine.recommend import recommend

    if db is None:
        from embedwise.kb.store import open_db

        db = open_db()
    ids = [c.id for c in recommend(req, db, top).shortlist]
    if not ids:
        raise BadInput("the requirements leave no model on the shortlist (see `embedwise recommend`); "
                       "relax them or pass --models",
                       where=str(requirements) if isinstance(requirements, (str, Path)) else "requirements")
    return ids


def load_requirements_object(requirements: Any) -> Any:
    """A requirements file (path) as the engine's Requirements object; objects pass through."""
    if requirements is None or not isinstance(requirements, (str, Path)):
        return requirements
    from embedwise.engine.requirements import load_requirements

    return load_requirements(Path(requirements))


def queries_per_month(requirements: Any) -> int | None:
    per_day = getattr(getattr(requirements, "deployment", None), "queries_per_day", None)
    if isinstance(per_day, (int, float)) and per_day > 0:
        return int(per_day * 30)
    return None


def task_from_requirements(requirements: Any) -> str | None:
    """The requirements' task as a validator task: classification and clustering as they are, the rest retrieval."""
    task = getattr(requirements, "task", None)
    if task is None:
        return None
    return task if task in ("classification", "clustering") else "retrieval"


def open_db_quietly() -> Any:
    try:
        from embedwise.kb.store import open_db

        return open_db()
    except Exception:
        return None
