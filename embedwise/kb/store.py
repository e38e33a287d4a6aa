"""The knowledge base as a plain SQLite file, through sqlite-utils.

Built from the curated YAML on first use (and again when the curated files change). A build happens in a file
beside the live one and is swapped in with an atomic rename, so a failed build leaves the old knowledge base as it was.
Tables that hold what the user or the sync produced (validator runs, sync history, discovered models) are carried
over into every rebuild.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Iterable

import sqlite_utils

from embedwise import paths
from embedwise.errors import BadInput, CuratedDataError, NotFound
from embedwise.kb.curated_files import curated_fingerprint, load_curated, load_hardware
from embedwise.kb.schema import HardwarePrice, ModelRecord, Score, Source

SCHEMA_VERSION = 2

LIST_COLUMNS = ("tags", "input_modalities", "domains", "trained_for", "languages", "dimensions")

# Denormalised MTEB(eng, v2) means (comparable only) for sorting and ranking: column -> task_type.
MTEB_COLUMNS = {
    "mteb_mean": "Mean",
    "mteb_retrieval": "Retrieval",
    "mteb_classification": "Classification",
    "mteb_clustering": "Clustering",
    "mteb_sts": "STS",
    "mteb_reranking": "Reranking",
    "mteb_pair_classification": "PairClassification",
    "mteb_summarization": "Summarization",
}
MTEB_MAIN_BENCHMARK = "MTEB(eng, v2)"
MTEB_MULTILINGUAL_BENCHMARK_PREFIX = "MTEB(Multilingual"

MODEL_COLUMNS = {
    "id": str, "name": str, "provider": str, "family": str, "description": str, "tags": str, "hf_id": str,
    "api_name": str, "status": str, "modality": str, "input_modalities": str, "output": str, "domains": str,
    "trained_for": str, "languages": str, "languages_basis": str, "languages_claim": str, "multilingual": int,
    "license": str, "commercial_use": int, "permissive": int, "base_model": str, "base_model_license": str,
    "open_weights": int, "hosting": str, "parameters": int, "active_parameters": int, "memory_mb": float,
    "dimensions": str, "default_dimension": int, "min_dimension": int, "max_tokens": int, "similarity": str,
    "query_prefix": str, "document_prefix": str, "trust_remote_code": int, "safetensors": int, "release_date": str,
    "release_date_confirmed": int, "lifecycle": str, "lifecycle_date": str, "replacement": str,
    "price_per_million_tokens": float, "price_date": str, "price_confidence": str, "price_status": str,
    "batch_price_per_million_tokens": float, "free_tokens": int, "downloads": int, "likes": int,
    **{col: float for col in MTEB_COLUMNS}, "mteb_multilingual_mean": float,
}

# Tables whose rows are not derived from the curated files: every rebuild carries them over.
SYNC_LOCK_FILE = "sync.lock"  # the lock `embedwise sync` holds (kb/sync/config.py), in the same folder as the KB
PRESERVED_TABLES = ("runs", "sync_runs", "history", "conflicts", "hub_facts", "sync_state")
BOOL_COLUMNS = ("multilingual", "commercial_use", "open_weights", "trust_remote_code")
OPTIONAL_BOOL_COLUMNS = ("safetensors", "permissive", "release_date_confirmed")
DATE_COLUMNS = ("release_date", "lifecycle_date", "price_date")


def open_db(path: Path | None = None, build_if_missing: bool = True) -> sqlite_utils.Database:
    """Open the knowledge base, building it from the curated files on first use or when they changed."""
    path = Path(path) if path else paths.kb_path()
    writable = _writable(path.parent)
    if build_if_missing:
        if not path.exists():
            if not writable:
                raise BadInput("no knowledge base here and the folder is read-only: run `embedwise kb build` where "
                               "you can write, or set EMBEDWISE_HOME", str(path.parent))
            build(path)
        else:
            stale, curated_dir = _staleness(path, writable)
            if stale and not writable:
                sys.stderr.write(f"warning: {path} is older than the curated files, but its folder is read-only: "
                                 "using it as it is\n")
            elif stale:
                damaged = build(path, curated_dir)["carried_over"].get("damaged_file_kept_as")
                if damaged:
                    sys.stderr.write(f"warning: the knowledge base was damaged and has been rebuilt from the curated "
                                     f"files; the damaged file is kept as {damaged}\n")
    if not writable and path.exists():
        # a read-only home: no WAL/shm or lock files can be made, so read the file as an immutable snapshot
        return sqlite_utils.Database(sqlite3.connect(f"file:{path}?immutable=1", uri=True))
    db = sqlite_utils.Database(path)
    db.execute("PRAGMA busy_timeout = 10000")
    return db


def _writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK)


def _staleness(path: Path, writable: bool = True) -> tuple[bool, Path | None]:
    """Whether the file must be rebuilt, and from which curated folder it was built (None: the shipped one)."""
    try:
        conn = sqlite3.connect(f"file:{path}?{'mode=ro' if writable else 'immutable=1'}", uri=True)
        try:
            rows = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        finally:
            conn.close()
    except sqlite3.Error:
        return True, None
    directory = Path(rows["curated_dir"]) if rows.get("curated_dir") else None
    if rows.get("schema_version") != str(SCHEMA_VERSION):
        return True, directory
    if directory is not None and not directory.is_dir():
        return False, None  # built from a folder that is gone: keep what we have
    try:
        return rows.get("curated_fingerprint") != curated_fingerprint(directory), directory
    except CuratedDataError:
        return False, directory


def build(path: Path | None = None, curated_dir: Path | None = None) -> dict:
    curated_dir = Path(curated_dir) if curated_dir else None
    """(Re)build the knowledge base from the curated files. Returns counts. Raises CuratedDataError, touching nothing."""
    path = Path(path) if path else paths.kb_path()
    records = load_curated(curated_dir)  # validates everything before any file is touched
    path.parent.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock, Timeout

    # A sync writes into the live file; swapping the file under it would lose its writes. Wait for it, then build.
    sync_lock = FileLock(str(path.parent / SYNC_LOCK_FILE))
    try:
        with FileLock(str(path) + ".lock", timeout=120), sync_lock.acquire(timeout=120):
            return _build_locked(path, records, curated_dir)
    except Timeout:
        raise CuratedDataError(f"another build or a sync holds {path}: try again when it has finished") from None


def _build_locked(path: Path, records: list[ModelRecord], curated_dir: Path | None) -> dict:
    tmp = path.with_name(path.name + ".building")
    for stale in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        stale.unlink(missing_ok=True)
    db = sqlite_utils.Database(tmp)
    try:
        create_schema(db)
        write_records(db, records)
        write_hardware(db, load_hardware(curated_dir))
        carried = _carry_over(db, path)
        db["meta"].upsert_all(
            [
                {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                {"key": "curated_fingerprint", "value": curated_fingerprint(curated_dir)},
                {"key": "curated_dir", "value": str(Path(curated_dir).resolve()) if curated_dir else ""},
                {"key": "built_at", "value": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")},
            ],
            pk="key",
        )
        db.conn.commit()
        db.execute("ANALYZE")  # statistics for the query planner: which index narrows a filter most
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
    except BaseException:
        db.close()
        tmp.unlink(missing_ok=True)
        raise
    _swap_in(tmp, path)
    return {"models": len(records), "carried_over": carried, "path": str(path)}


def _swap_in(tmp: Path, path: Path) -> None:
    if path.exists():
        try:  # fold the old WAL into the main file so nothing is left behind in -wal
            conn = sqlite3.connect(path)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.close()
        except sqlite3.Error:
            pass
    os.replace(tmp, path)
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)


def create_schema(db: sqlite_utils.Database) -> None:
    db.execute("PRAGMA journal_mode = WAL")
    db["meta"].create({"key": str, "value": str}, pk="key", if_not_exists=True)
    db["models"].create(MODEL_COLUMNS, pk="id", if_not_exists=True)
    db["model_languages"].create({"model_id": str, "language": str}, pk=("model_id", "language"), if_not_exists=True)
    db["model_domains"].create({"model_id": str, "domain": str}, pk=("model_id", "domain"), if_not_exists=True)
    db["scores"].create(
        {"model_id": str, "benchmark": str, "task_type": str, "task": str, "metric": str, "value": float,
         "comparable": int, "zero_shot_pct": float, "self_reported": int, "language": str, "source": str},
        if_not_exists=True)
    db["sources"].create({"model_id": str, "field": str, "ref": str, "date": str, "note": str, "kind": str,
                          "confidence": str}, pk=("model_id", "field"), if_not_exists=True)
    db["hardware_prices"].create(
        {"id": str, "cloud": str, "instance": str, "gpu": str, "gpu_count": int, "gpu_memory_gb": float,
         "vcpus": int, "memory_gb": float, "usd_per_hour": float, "pricing": str, "region": str, "source_ref": str,
         "source_date": str, "confidence": str, "note": str}, pk="id", if_not_exists=True)
    db["runs"].create(
        {"id": int, "run_id": str, "model_id": str, "dataset": str, "task": str, "synthetic": int, "status": str,
         "created_at": str, "metrics": str, "speed": str, "robustness": str, "cost": str, "error": str,
         "report_path": str}, pk="id", if_not_exists=True)
    db["sync_runs"].create(
        {"id": str, "started_at": str, "finished_at": str, "status": str, "endpoint": str, "models_seen": int,
         "changes": int, "error": str}, pk="id", if_not_exists=True)
    db["sync_state"].create({"key": str, "value": str}, pk="key", if_not_exists=True)
    db["history"].create(
        {"id": int, "model_id": str, "field": str, "old": str, "new": str, "at": str, "run_id": str},
        pk="id", if_not_exists=True)
    db["conflicts"].create(
        {"id": int, "model_id": str, "field": str, "curated": str, "hub": str, "at": str, "run_id": str,
         "resolved": int}, pk="id", if_not_exists=True)
    db["hub_facts"].create(
        {"model_id": str, "hf_id": str, "sha": str, "last_modified": str, "tags": str, "gated": str,
         "license_tag": str, "pipeline_tag": str, "library": str, "parameters": int, "downloads": int,
         "likes": int, "flags": str, "synced_at": str, "run_id": str}, pk="model_id", if_not_exists=True)
    for table, cols in [
        ("models", ["modality"]), ("models", ["hosting"]), ("models", ["license"]), ("models", ["parameters"]),
        ("models", ["default_dimension"]), ("models", ["min_dimension"]), ("models", ["output"]),
        ("models", ["status"]), ("models", ["commercial_use"]), ("models", ["mteb_mean"]),
        ("models", ["mteb_retrieval"]), ("models", ["max_tokens"]), ("models", ["price_per_million_tokens"]),
        ("models", ["downloads"]), ("models", ["release_date"]), ("models", ["provider"]),
        ("models", ["lifecycle"]), ("scores", ["benchmark", "task_type", "task"]),
        ("model_languages", ["language", "model_id"]), ("model_domains", ["domain", "model_id"]),
        ("scores", ["model_id"]), ("scores", ["task_type", "benchmark"]), ("runs", ["model_id"]),
        ("history", ["model_id"]), ("conflicts", ["model_id"]),
    ]:
        db[table].create_index(cols, if_not_exists=True)
    if not db["models_fts"].exists():
        db["models"].enable_fts(["id", "name", "description", "tags", "provider", "family"], create_triggers=True,
                                tokenize="porter")


def record_to_row(record: ModelRecord) -> dict:
    row = record.model_dump(exclude={"scores", "sources"}, mode="json")
    for col in LIST_COLUMNS:
        row[col] = json.dumps(row[col])
    row["default_dimension"] = record.default_dimension
    row["min_dimension"] = record.min_dimension
    for col, task_type in MTEB_COLUMNS.items():
        row[col] = _mteb_value(record.scores, MTEB_MAIN_BENCHMARK, task_type)
    row["mteb_multilingual_mean"] = _mteb_value(record.scores, MTEB_MULTILINGUAL_BENCHMARK_PREFIX, "Mean")
    return row


def _mteb_value(scores: list[Score], benchmark: str, task_type: str) -> float | None:
    task = "Mean (Task)" if task_type == "Mean" else "mean"
    for s in scores:
        if s.benchmark.startswith(benchmark) and s.task_type == task_type and s.task == task and s.comparable:
            return s.value
    return None


def write_records(db: sqlite_utils.Database, records: Iterable[ModelRecord]) -> None:
    """Insert or replace records with their scores, sources, languages and domains, in one transaction.

    Plain executemany rather than sqlite-utils' insert_all, which commits after each table: a crash halfway must
    leave either the old rows or the new ones, and a caller's own transaction must not be committed under it.
    """
    records = list(records)
    rows = [record_to_row(r) for r in records]
    columns = list(MODEL_COLUMNS)
    conn = db.conn
    savepoint = "write_records"
    conn.execute(f"SAVEPOINT {savepoint}")
    try:
        ids = [(r.id,) for r in records]
        for table in ("scores", "sources", "model_languages", "model_domains"):
            conn.executemany(f"DELETE FROM {table} WHERE model_id = ?", ids)
        conn.executemany(
            f"INSERT OR REPLACE INTO models ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            ([row.get(c) for c in columns] for row in rows))
        conn.executemany(
            "INSERT INTO scores (model_id, benchmark, task_type, task, metric, value, comparable, zero_shot_pct, "
            "self_reported, language, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ((r.id, s.benchmark, s.task_type, s.task, s.metric, s.value, int(s.comparable), s.zero_shot_pct,
              int(s.self_reported), s.language, s.source) for r in records for s in r.scores))
        conn.executemany(
            "INSERT OR REPLACE INTO sources (model_id, field, ref, date, note, kind, confidence) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            ((r.id, f, s.ref, s.date.isoformat() if s.date else None, s.note, s.kind, s.confidence)
             for r in records for f, s in r.sources.items()))
        conn.executemany("INSERT OR REPLACE INTO model_languages (model_id, language) VALUES (?, ?)",
                         ((r.id, lang) for r in records for lang in r.languages))
        conn.executemany("INSERT OR REPLACE INTO model_domains (model_id, domain) VALUES (?, ?)",
                         ((r.id, d) for r in records for d in r.domains))
    except BaseException:
        conn.execute(f"ROLLBACK TO {savepoint}")
        conn.execute(f"RELEASE {savepoint}")
        raise
    conn.execute(f"RELEASE {savepoint}")


def write_hardware(db: sqlite_utils.Database, prices: list[HardwarePrice]) -> None:
    db["hardware_prices"].insert_all(
        ({"id": p.id, "cloud": p.cloud, "instance": p.instance, "gpu": p.gpu, "gpu_count": p.gpu_count,
          "gpu_memory_gb": p.gpu_memory_gb, "vcpus": p.vcpus, "memory_gb": p.memory_gb, "usd_per_hour": p.usd_per_hour,
          "pricing": p.pricing, "region": p.region, "source_ref": p.src.ref, "source_date": p.src.date.isoformat(),
          "confidence": p.src.confidence, "note": p.src.note} for p in prices), replace=True)


def load_hardware_prices(db: sqlite_utils.Database) -> list[dict]:
    return list(db.query("SELECT * FROM hardware_prices ORDER BY gpu IS NOT NULL, usd_per_hour"))


def _carry_over(db: sqlite_utils.Database, old_path: Path) -> dict:
    """Copy user and sync data from the previous knowledge base, and the discovered models."""
    if not old_path.exists():
        return {}
    if not _readable(old_path):
        # A damaged file cannot be carried over; keep it beside the new one for whoever wants to rescue it.
        aside = old_path.with_name(f"{old_path.name}.damaged-{dt.datetime.now():%Y%m%d-%H%M%S}")
        os.replace(old_path, aside)
        for suffix in ("-wal", "-shm"):
            Path(f"{old_path}{suffix}").unlink(missing_ok=True)
        return {"damaged_file_kept_as": str(aside)}
    counts = {}
    db.execute("ATTACH DATABASE ? AS old", [str(old_path)])
    try:
        old_tables = {r[0] for r in db.execute("SELECT name FROM old.sqlite_master WHERE type='table'")}
        for table in PRESERVED_TABLES:
            if table in old_tables:
                cols = _common_columns(db, table)
                db.execute(f"INSERT OR REPLACE INTO main.{table} ({cols}) SELECT {cols} FROM old.{table}")
                counts[table] = db.execute(f"SELECT count(*) FROM main.{table}").fetchone()[0]
        if "models" in old_tables:
            cols = _common_columns(db, "models")
            db.execute(f"INSERT OR IGNORE INTO main.models ({cols}) SELECT {cols} FROM old.models "
                       "WHERE status = 'discovered'")
            for table in ("sources", "model_languages", "model_domains", "scores"):
                if table in old_tables:
                    tcols = _common_columns(db, table)
                    db.execute(f"INSERT OR IGNORE INTO main.{table} ({tcols}) SELECT {tcols} FROM old.{table} "
                               "WHERE model_id IN (SELECT id FROM old.models WHERE status = 'discovered')")
            counts["discovered"] = db.execute("SELECT count(*) FROM main.models WHERE status='discovered'").fetchone()[0]
            # Popularity changes daily: the figure the sync last read from the hub wins over a curated snapshot.
            db.execute("""UPDATE main.models SET
                downloads = coalesce((SELECT o.downloads FROM old.models o WHERE o.id = models.id), downloads),
                likes = coalesce((SELECT o.likes FROM old.models o WHERE o.id = models.id), likes)
                WHERE status = 'curated'""")
            db.execute("""INSERT OR REPLACE INTO main.sources (model_id, field, ref, date, note)
                SELECT s.model_id, s.field, s.ref, s.date, s.note FROM old.sources s
                JOIN old.models o ON o.id = s.model_id
                WHERE s.field IN ('downloads', 'likes') AND o.status = 'curated'
                  AND ((s.field = 'downloads' AND o.downloads IS NOT NULL) OR (s.field = 'likes' AND o.likes IS NOT NULL))
                  AND s.model_id IN (SELECT id FROM main.models)""")
        db.conn.commit()
    except sqlite3.DatabaseError as exc:
        raise CuratedDataError(f"could not read the previous knowledge base {old_path}: {exc}") from None
    finally:
        db.execute("DETACH DATABASE old")
    return counts


def _readable(path: Path) -> bool:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return False


def _common_columns(db: sqlite_utils.Database, table: str) -> str:
    new = [r[1] for r in db.execute(f"PRAGMA main.table_info({table})")]
    old = {r[1] for r in db.execute(f"PRAGMA old.table_info({table})")}
    return ", ".join(f'"{c}"' for c in new if c in old)


def row_to_record(row: dict, scores: list[dict], sources: list[dict]) -> ModelRecord:
    data = {k: row[k] for k in ModelRecord.model_fields if k in row and k not in ("scores", "sources")}
    for col in LIST_COLUMNS:
        data[col] = json.loads(data[col]) if data.get(col) else []
    for col in BOOL_COLUMNS:
        data[col] = bool(data[col])
    for col in OPTIONAL_BOOL_COLUMNS:
        if data.get(col) is not None:
            data[col] = bool(data[col])
    data = {k: v for k, v in data.items() if v is not None}
    for col in DATE_COLUMNS:
        if isinstance(data.get(col), str):
            data[col] = dt.date.fromisoformat(data[col])
    data["scores"] = [Score.model_construct(**{k: s.get(k) for k in Score.model_fields}) for s in scores]
    for score in data["scores"]:
        score.comparable = bool(score.comparable)
        score.self_reported = bool(score.self_reported)
    data["sources"] = {s["field"]: Source.model_construct(ref=s["ref"], date=dt.date.fromisoformat(s["date"])
                                                          if s["date"] else None, note=s["note"],
                                                          kind=s.get("kind"), confidence=s.get("confidence"))
                       for s in sources}
    # Rows were validated on the way in; construct without re-checking the sourcing rules.
    return ModelRecord.model_construct(**{**_defaults(), **data})


def _defaults() -> dict:
    return {name: f.get_default(call_default_factory=True) for name, f in ModelRecord.model_fields.items()
            if not f.is_required()}


def load_records(db: sqlite_utils.Database, ids: list[str] | None = None) -> list[ModelRecord]:
    """Every model (or the given ids, in that order) as a ModelRecord with its scores and sources."""
    if ids is None:
        rows = list(db.query("SELECT * FROM models ORDER BY id"))
    else:
        marks = ",".join("?" * len(ids))
        found = {r["id"]: r for r in db.query(f"SELECT * FROM models WHERE id IN ({marks})", ids)}
        rows = [found[i] for i in ids if i in found]
    by_model_scores: dict[str, list[dict]] = {}
    by_model_sources: dict[str, list[dict]] = {}
    wanted = {r["id"] for r in rows}
    for s in db.query("SELECT * FROM scores"):
        if s["model_id"] in wanted:
            by_model_scores.setdefault(s["model_id"], []).append(s)
    for s in db.query("SELECT * FROM sources"):
        if s["model_id"] in wanted:
            by_model_sources.setdefault(s["model_id"], []).append(s)
    return [row_to_record(r, by_model_scores.get(r["id"], []), by_model_sources.get(r["id"], [])) for r in rows]


def get_record(db: sqlite_utils.Database, model_id: str) -> ModelRecord:
    records = load_records(db, [model_id])
    if not records:
        raise NotFound(f"no model {model_id!r} in the knowledge base; try `embedwise kb query {model_id.split('/')[-1]}`")
    return records[0]
