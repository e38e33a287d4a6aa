"""The hub sync: keep the knowledge base current from the Hugging Face Hub, without ever losing a curated fact.

One run (`run`):
1. Listings, through `HfApi.list_models`, for each configured pipeline tag (sentence-similarity, feature-extraction)
   and library filter: the most recently modified models (sorted by lastModified, paging stops at the first model not
   modified since the last complete listing: the watermark), the most downloaded and the trending ones (top N).
   A listed model the knowledge base tracks is refreshed; one it does not know enters as `discovered` when it passes
   the thresholds in the configuration.
2. Every curated model with a hub id that no listing showed, and discovered models not refreshed for
   `refresh_stale_days`, are read one by one with `HfApi.model_info` (404: removed; a redirect: renamed).

What is written, per batch of models, in one transaction each (a run killed at any point leaves a consistent KB):
- `hub_facts`: what the hub says (sha, last modified, tags, gated, licence tag, pipeline tag, library, safetensors
  parameter count, downloads, likes) and the model's flags (licence changed, gated, removed, renamed);
- `models.downloads` / `models.likes` (popularity is not curated) with a `sources` row naming the hub page;
- discovered models: a `models` row built from hub facts only, `status = 'discovered'`, every fact sourced to the hub;
- `conflicts`: a hub value that disagrees with a curated fact (licence, parameter count, hub id, safetensors,
  trust_remote_code) is recorded beside it; the curated fact is never touched;
- `history`: every change (model, field, old, new, when, run). Hub facts are `hub.<name>`, flags `flag:<name>`,
  models columns by their name; a newly discovered model has a `status: None -> discovered` row.
`sync_runs` remembers each run; `sync_state` holds the listing watermarks.

`kb show` reads `flags_for(db, model_id)`, `conflicts_for(db, model_id)` and `hub_facts_for(db, model_id)`, which
need neither huggingface_hub nor the network.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import os
import sqlite3
import sys
import time
import tomllib
import uuid
from pathlib import Path
from typing import Any, Iterator, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from embedwise import paths
from embedwise.errors import BadInput, SyncError
from embedwise.kb.store import SYNC_LOCK_FILE

log = logging.getLogger("embedwise.sync")

DEFAULT_ENDPOINT = "https://huggingface.co"
CONFIG_FILE = "sync.toml"
LOCK_FILE = SYNC_LOCK_FILE  # one name, shared with kb.store.build
LOG_FILE = "sync.log"

# hub_facts columns that are facts (history rows `hub.<name>`); downloads/likes are tracked on `models`.
HUB_FIELDS = ("hf_id", "sha", "last_modified", "tags", "gated", "license_tag", "pipeline_tag", "library", "parameters")
POPULARITY = ("downloads", "likes")
# models columns of a discovered model that are derived from its hub facts.
DERIVED_COLUMNS = ("name", "provider", "description", "tags", "modality", "input_modalities", "languages",
                   "multilingual", "license", "commercial_use", "open_weights", "hosting", "parameters",
                   "safetensors", "trust_remote_code")
SOURCE_NOTE = "read from the hub by `embedwise sync` (not curated)"
VAGUE_LICENSES = {"LicenseRef-Other", "LicenseRef-Unknown"}

FLAG_TEXT = {
    "license_changed": "licence changed on the hub",
    "gated": "gated on the hub (access must be requested)",
    "removed": "no longer on the hub",
    "renamed": "renamed on the hub",
}


# --- configuration ---------------------------------------------------------------------------------------------------

class DiscoverConfig(BaseModel):
    """Which hub models become `discovered` candidates."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    pipeline_tags: list[str] = ["sentence-similarity", "feature-extraction"]
    libraries: list[str] = Field([], description="library tags to list separately (e.g. sentence-transformers); "
                                                 "empty: one listing per pipeline tag, any library")
    min_downloads: int = Field(1000, ge=0, description="downloads (last 30 days) a listed model needs")
    min_likes: int = Field(0, ge=0)
    top_by_downloads: int = Field(500, ge=0, description="how many of the most downloaded to read per listing")
    top_trending: int = Field(100, ge=0, description="how many trending models to read per listing")
    trending_min_likes: int = Field(5, ge=0, description="likes a trending model needs to be discovered")
    max_new_per_run: int = Field(5000, ge=0)


class SyncConfig(BaseModel):
    """Defaults suit a nightly run against huggingface.co; `<home>/sync.toml` overrides any of them."""

    model_config = ConfigDict(extra="forbid")
    endpoint: str | None = None
    request_timeout: float = Field(30.0, gt=0, description="seconds for one request, body included")
    max_retries: int = Field(5, ge=0)
    backoff_base: float = Field(1.0, ge=0, description="first wait before a retry; doubles each time")
    backoff_max: float = Field(60.0, ge=0)
    retry_after_max: float = Field(300.0, ge=0, description="a longer Retry-After fails the request instead")
    batch_size: int = Field(200, ge=1, description="models written per transaction")
    workers: int = Field(4, ge=1, le=32, description="parallel model_info requests")
    parameter_tolerance: float = Field(0.05, ge=0, description="relative difference before a parameter conflict")
    flag_days: int = Field(30, ge=1, description="days a licence change stays flagged")
    refresh_stale_days: float = Field(7.0, ge=0, description="re-read a discovered model not refreshed for this long")
    refresh_stale_max: int = Field(500, ge=0)
    resume_window_hours: float = Field(20.0, ge=0, description="an interrupted run younger than this is resumed")
    initial_lookback_days: float | None = Field(None, gt=0, description="first run: how far back the "
                                                "lastModified listing goes (empty: all)")
    discover: DiscoverConfig = DiscoverConfig()


def config_path() -> Path:
    return paths.home() / CONFIG_FILE


def lock_path() -> Path:
    """The file lock a sync holds while it runs (filelock.FileLock); `kb build` can take it too."""
    return paths.home() / LOCK_FILE


def load_config(path: Path | None = None) -> SyncConfig:
    """The configuration from `<home>/sync.toml` (all keys optional), or the defaults."""
    path = Path(path) if path else config_path()
    if not path.exists():
        return SyncConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"not valid TOML ({exc}); fix or delete the file", where=str(path)) from None
    try:
        return SyncConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise BadInput(f"{where}: {err['msg']} (see docs/sync.md for the keys)", where=str(path)) from None


# --- what `kb show` reads -------------------------------------------------------------------------------------------

def flags_for(db: Any, model_id: str) -> list[dict]:
    """The model's active sync flags: [{flag, detail, since, run_id, text}], newest first. No network."""
    try:
        row = db.execute("SELECT flags FROM hub_facts WHERE model_id = ?", [model_id]).fetchone()
    except sqlite3.OperationalError:
        return []
    flags = json.loads(row[0]) if row and row[0] else []
    for f in flags:
        f["text"] = flag_text(f)
    return sorted(flags, key=lambda f: f.get("since") or "", reverse=True)


def flag_text(flag: dict) -> str:
    """One line for a flag, e.g. 'licence changed on the hub: apache-2.0 -> cc-by-nc-4.0 (since 2025-06-01)'."""
    text = FLAG_TEXT.get(flag["flag"], flag["flag"])
    if flag.get("detail"):
        text += f": {flag['detail']}"
    if flag.get("since"):
        text += f" (since {flag['since']})"
    return text


def conflicts_for(db: Any, model_id: str, open_only: bool = True) -> list[dict]:
    """Hub values that disagree with curated facts: [{field, curated, hub, at, run_id, resolved}]."""
    sql = "SELECT field, curated, hub, at, run_id, resolved FROM conflicts WHERE model_id = ?"
    if open_only:
        sql += " AND coalesce(resolved, 0) = 0"
    try:
        cur = db.execute(sql + " ORDER BY at, id", [model_id])
    except sqlite3.OperationalError:
        return []
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def hub_facts_for(db: Any, model_id: str) -> dict | None:
    """What the hub said at the last sync (tags as a list, flags as a list), or None if never synced."""
    try:
        cur = db.execute("SELECT * FROM hub_facts WHERE model_id = ?", [model_id])
    except sqlite3.OperationalError:
        return None
    row = cur.fetchone()
    if row is None:
        return None
    out = dict(zip([c[0] for c in cur.description], row))
    out["tags"] = json.loads(out["tags"]) if out.get("tags") else []
    out["flags"] = flags_for(db, model_id)
    return out


# --- the run --------------------------------------------------------------------------------------------------------

class FlagEvent(BaseModel):
    model_id: str
    flag: str
    old: str | None
    new: str | None


class ConflictEvent(BaseModel):
    model_id: str
    field: str
    curated: str | None
    hub: str | None


class SyncSummary(BaseModel):
    run_id: str
    status: Literal["ok", "partial", "failed", "interrupted"]
    endpoint: str
    started_at: str
    finished_at: str
    seconds: float
    models_seen: int = 0
    refreshed: int = 0
    discovered: int = 0
    removed: int = 0
    changes: int = 0
    retries: int = 0
    flags: list[FlagEvent] = []
    conflicts: list[ConflictEvent] = []
    skipped: list[dict] = []
    error: str | None = None


@dataclasses.dataclass(frozen=True)
class Listing:
    kind: Literal["recent", "downloads", "trending"]
    pipeline_tag: str
    library: str | None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.pipeline_tag}:{self.library or '*'}"

    def kwargs(self, config: SyncConfig) -> dict:
        from embedwise.kb.hub_client import EXPAND

        kw: dict = {"pipeline_tag": self.pipeline_tag, "expand": list(EXPAND)}
        if self.library:
            kw["filter"] = self.library
        if self.kind == "recent":
            kw["sort"] = "last_modified"
        elif self.kind == "downloads":
            kw["sort"], kw["limit"] = "downloads", config.discover.top_by_downloads
        else:
            kw["sort"], kw["limit"] = "trending_score", config.discover.top_trending
        return kw


def listings(config: SyncConfig) -> list[Listing]:
    d = config.discover
    out = []
    for kind in ("recent", "downloads", "trending"):
        if kind == "downloads" and not d.top_by_downloads or kind == "trending" and not d.top_trending:
            continue
        for tag in d.pipeline_tags:
            for lib in d.libraries or [None]:
                out.append(Listing(kind, tag, lib))
    return out


def resolve_endpoint(endpoint: str | None, config: SyncConfig) -> str:
    return (endpoint or config.endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def run(config: SyncConfig | None = None, *, db: Any = None, endpoint: str | None = None,
        discover: bool | None = None) -> SyncSummary:
    """One sync run. Returns its summary (status ok / partial / failed / interrupted); raises only on bad setup."""
    from huggingface_hub import HfApi, constants

    from embedwise.kb import hub_client, store

    config = config or load_config()
    if constants.HF_HUB_OFFLINE:
        raise SyncError("HF_HUB_OFFLINE is set, so huggingface_hub refuses to reach the hub; unset it to sync")
    endpoint = resolve_endpoint(endpoint, config)
    if not endpoint.startswith(("http://", "https://")):
        raise BadInput(f"endpoint {hub_client.redact_url(endpoint)!r} is not an http(s) URL")
    if db is None or isinstance(db, (str, Path)):
        db = store.open_db(Path(db) if db else None, build_if_missing=db is None)
    store.create_schema(db)
    with hub_client.hub_session(endpoint=endpoint, timeout=config.request_timeout, max_retries=config.max_retries,
                                backoff_base=config.backoff_base, backoff_max=config.backoff_max,
                                retry_after_max=config.retry_after_max) as transport:
        api = HfApi(endpoint=endpoint, token=os.environ.get("HF_TOKEN") or False)
        sync = _Run(db, config, endpoint, config.discover.enabled if discover is None else discover, api, transport)
        return sync.execute()


class _Ops:
    """Writes collected for one batch; `flush` applies them in one transaction."""

    def __init__(self) -> None:
        self.new_models: list[dict] = []
        self.updates: dict[str, dict] = {}
        self.sources: list[tuple] = []
        self.languages: dict[str, list[str]] = {}
        self.domains: dict[str, list[str]] = {}
        self.hub_facts: dict[str, dict] = {}
        self.resolve: list[tuple[str, str]] = []
        self.conflicts: list[tuple] = []
        self.history: list[tuple] = []

    def __len__(self) -> int:
        return len(self.hub_facts) + len(self.new_models)


class _Run:
    def __init__(self, db: Any, config: SyncConfig, endpoint: str, discover: bool, api: Any, transport: Any):
        from embedwise.kb.hub_client import redact_url

        self.db, self.conn, self.config, self.api, self.transport = db, db.conn, config, api, transport
        self.endpoint = endpoint
        self.public_endpoint = redact_url(endpoint)
        self.discover = discover
        self.started = time.monotonic()
        self.now = dt.datetime.now(dt.timezone.utc)
        self.at = self.now.isoformat(timespec="seconds")
        self.today = self.now.date().isoformat()
        self.run_id = f"{self.now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
        self.ops = _Ops()
        self.seen: set[str] = set()
        self.refreshed: set[str] = set()
        self.discovered = 0
        self.removed = 0
        self.candidates: dict[str, Any] = {}  # hub id (lower) -> HubFacts, added after the tracked models
        self.watermarks: dict[str, str] = {}  # completed listings, written with the last discoveries
        self.skipped: list[dict] = []

    # -- bookkeeping ---------------------------------------------------------------------------------------------
    def execute(self) -> SyncSummary:
        from embedwise.kb.hub_client import HubError

        self._start()
        status, error = "ok", None
        keep_pending = True
        try:
            self._load()
            for listing in listings(self.config):
                self._listing(listing)
            self._refresh_tracked()
            self._discover_candidates()
            if self.skipped:
                status = "partial"
        except KeyboardInterrupt:
            # May have struck in the middle of one model's comparison: drop the unwritten batch, the next run redoes it.
            status, error, keep_pending = "interrupted", "interrupted (signal)", False
        except HubError as exc:  # raised by a request, between two models: the batch so far is whole
            status, error = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - a failed run is recorded, then reported
            status, error, keep_pending = "failed", f"{type(exc).__name__}: {exc}", False
            log.exception("sync %s failed", self.run_id)
        try:
            if keep_pending:
                self._flush()
        except Exception as exc:  # noqa: BLE001
            status, error = "failed", error or f"writing the knowledge base failed: {exc}"
            log.exception("sync %s: final write failed", self.run_id)
        summary = self._finish(status, error)
        (log.info if status == "ok" else log.warning)("%s", format_summary(summary))
        return summary

    def _start(self) -> None:
        with _transaction(self.conn):
            # A run still marked running holds no lock any more (we hold it now): it was killed.
            self.conn.execute("UPDATE sync_runs SET status = 'interrupted', finished_at = coalesce(finished_at, ?) "
                              "WHERE status = 'running'", [self.at])
            self.conn.execute("INSERT INTO sync_runs (id, started_at, status, endpoint, models_seen, changes) "
                              "VALUES (?, ?, 'running', ?, 0, 0)", [self.run_id, self.at, self.public_endpoint])
        log.info("sync %s started against %s", self.run_id, self.public_endpoint)

    def _finish(self, status: str, error: str | None) -> SyncSummary:
        if error is None and self.skipped:
            error = f"{len(self.skipped)} answers skipped; first: {self.skipped[0]['what']}: {self.skipped[0]['error']}"
        finished = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        changes = self.conn.execute("SELECT count(*) FROM history WHERE run_id = ?", [self.run_id]).fetchone()[0]
        with _transaction(self.conn):
            self.conn.execute("UPDATE sync_runs SET finished_at = ?, status = ?, models_seen = ?, changes = ?, "
                              "error = ? WHERE id = ?",
                              [finished, status, len(self.seen), changes, error, self.run_id])
            if status in ("ok", "partial"):
                self.conn.execute("INSERT OR REPLACE INTO sync_state (key, value) VALUES ('last_complete_run', ?)",
                                  [self.run_id])
        flags = [FlagEvent(model_id=m, flag=f[5:], old=o, new=n) for m, f, o, n in self.conn.execute(
            "SELECT model_id, field, old, new FROM history WHERE run_id = ? AND field LIKE 'flag:%' ORDER BY id",
            [self.run_id])]
        conflicts = [ConflictEvent(model_id=m, field=f, curated=c, hub=h) for m, f, c, h in self.conn.execute(
            "SELECT model_id, field, curated, hub FROM conflicts WHERE run_id = ? ORDER BY id", [self.run_id])]
        return SyncSummary(
            run_id=self.run_id, status=status, endpoint=self.public_endpoint, started_at=self.at,
            finished_at=finished, seconds=round(time.monotonic() - self.started, 3), models_seen=len(self.seen),
            refreshed=len(self.refreshed), discovered=self.discovered, removed=self.removed, changes=changes,
            retries=self.transport.retries, flags=flags, conflicts=conflicts, skipped=self.skipped, error=error)

    def _skip(self, what: str, error: object) -> None:
        log.warning("skipped %s: %s", what, error)
        self.skipped.append({"what": what, "error": str(error)[:500]})

    # -- state ---------------------------------------------------------------------------------------------------
    def _load(self) -> None:
        db = self.db
        self.models: dict[str, dict] = {r["id"]: r for r in db.query(
            "SELECT * FROM models WHERE hf_id IS NOT NULL AND hf_id != ''")}
        self.all_ids: set[str] = {r[0] for r in self.conn.execute("SELECT id FROM models")}
        self.facts: dict[str, dict] = {r["model_id"]: r for r in db.query("SELECT * FROM hub_facts")}
        self.by_hf: dict[str, str] = {}
        self.shared_repos: set[str] = set()  # one hub repo behind several records (a repo of many checkpoints)
        for mid, row in self.models.items():
            key = row["hf_id"].lower()
            if key in self.by_hf:
                self.shared_repos.add(key)
            self.by_hf.setdefault(key, mid)
        for mid, f in self.facts.items():  # the hub's current id of a renamed model
            if f.get("hf_id") and mid in self.models:
                self.by_hf.setdefault(f["hf_id"].lower(), mid)
        self.open_conflicts: dict[tuple[str, str], dict] = {
            (r["model_id"], r["field"]): r for r in db.query(
                "SELECT * FROM conflicts WHERE coalesce(resolved, 0) = 0 ORDER BY id")}
        self.state = {r["key"]: r["value"] for r in db.query("SELECT key, value FROM sync_state")}
        self.resume_from = self._resume_point()

    def _resume_point(self) -> str | None:
        """Start of the unfinished runs just before this one (within the window): their refreshes are not redone."""
        window = (self.now - dt.timedelta(hours=self.config.resume_window_hours)).isoformat(timespec="seconds")
        start = None
        for status, started in self.conn.execute(
                "SELECT status, started_at FROM sync_runs WHERE id != ? ORDER BY started_at DESC, rowid DESC",
                [self.run_id]):
            if status not in ("interrupted", "failed") or started < window:
                break
            start = started
        if start:
            log.info("resuming: models refreshed since %s are not read again", start)
        return start

    # -- listings ------------------------------------------------------------------------------------------------
    def _listing(self, listing: Listing) -> None:
        from huggingface_hub.errors import HfHubHTTPError

        from embedwise.kb.hub_client import HubBadAnswer, facts_from_info

        key = f"watermark:{listing.key}"
        stop_before = None
        if listing.kind == "recent":
            if self.state.get(key):
                stop_before = dt.datetime.fromisoformat(self.state[key])
            elif self.config.initial_lookback_days:
                stop_before = self.now - dt.timedelta(days=self.config.initial_lookback_days)
        newest: dt.datetime | None = None
        read = 0
        try:
            for info in self.api.list_models(**listing.kwargs(self.config)):
                read += 1
                try:
                    facts = facts_from_info(info)
                except (ValidationError, TypeError, ValueError) as exc:
                    self._skip(f"{listing.key} item {getattr(info, 'id', '?')}", _short(exc))
                    continue
                if listing.kind == "recent" and facts.last_modified is not None:
                    if stop_before is not None and facts.last_modified < stop_before:
                        break  # sorted newest first: nothing below changed since the last complete listing
                    newest = max(newest, facts.last_modified) if newest else facts.last_modified
                if listing.kind == "downloads" and (facts.downloads or 0) < self.config.discover.min_downloads:
                    self._consider(facts, listing)
                    break  # sorted by downloads: the rest are below the threshold
                self._consider(facts, listing)
                if len(self.ops) >= self.config.batch_size:
                    self._flush()
        except (HubBadAnswer, HfHubHTTPError, KeyError, TypeError, ValueError) as exc:
            self._skip(f"listing {listing.key} after {read} models", _short(exc))
            self._flush()
            return
        if listing.kind == "recent" and newest is not None:
            self.watermarks[key] = newest.isoformat()
        self._flush()
        log.info("listing %s: %d models read", listing.key, read)

    def _consider(self, facts: Any, listing: Listing) -> None:
        key = facts.hf_id.lower()
        self.seen.add(key)
        mid = self.by_hf.get(key)
        if mid is not None:
            if mid not in self.refreshed:
                self._refresh(mid, facts)
        elif (self.discover and key not in self.candidates and facts.hf_id not in self.all_ids
              and self._qualifies(facts, listing)):  # a model too small by downloads may qualify as trending
            self.candidates[key] = facts

    def _qualifies(self, facts: Any, listing: Listing) -> bool:
        d = self.config.discover
        if len(self.candidates) >= d.max_new_per_run:
            return False
        if listing.kind == "trending":
            return (facts.likes or 0) >= d.trending_min_likes
        return (facts.downloads or 0) >= d.min_downloads and (facts.likes or 0) >= d.min_likes

    # -- one model at a time -------------------------------------------------------------------------------------
    def _refresh_tracked(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        stale_before = (self.now - dt.timedelta(days=self.config.refresh_stale_days)).isoformat(timespec="seconds")
        curated, stale = [], []
        for mid, row in self.models.items():
            if mid in self.refreshed:
                continue
            synced = (self.facts.get(mid) or {}).get("synced_at") or ""
            if self.resume_from and synced >= self.resume_from:
                continue  # an interrupted run just read it
            if row["status"] == "curated":
                curated.append((synced, mid))
            elif synced <= stale_before:
                stale.append((synced, mid))
        todo = [m for _, m in sorted(curated)] + [m for _, m in sorted(stale)[: self.config.refresh_stale_max]]
        if not todo:
            return
        log.info("reading %d models one by one (%d curated, %d stale discovered)", len(todo), len(curated),
                 len(todo) - len(curated))
        pool = ThreadPoolExecutor(max_workers=self.config.workers, thread_name_prefix="hub")
        try:
            for start in range(0, len(todo), self.config.batch_size):
                chunk = todo[start:start + self.config.batch_size]
                for mid, facts, removed, error in pool.map(self._fetch, chunk):
                    if error:
                        self._skip(f"model {mid}", error)
                    elif removed:
                        self._refresh(mid, None, removed=removed)
                    else:
                        self.seen.add(facts.hf_id.lower())
                        self.by_hf.setdefault(facts.hf_id.lower(), mid)
                        self._refresh(mid, facts)
                self._flush()
        finally:  # on a failure or an interrupt, requests not started are dropped
            pool.shutdown(wait=True, cancel_futures=True)

    def _fetch(self, mid: str) -> tuple[str, Any, str | None, str | None]:
        """(model_id, facts, removed reason, error) for one model; runs in a worker thread, never touches the DB."""
        from huggingface_hub.errors import DisabledRepoError, HfHubHTTPError, RepositoryNotFoundError

        from embedwise.kb.hub_client import EXPAND, HubBadAnswer, facts_from_info

        hf_id = self.models[mid]["hf_id"]
        try:
            info = self.api.model_info(hf_id, expand=list(EXPAND))
            return mid, facts_from_info(info), None, None
        except RepositoryNotFoundError:
            return mid, None, "not found on the hub (404)", None
        except DisabledRepoError:
            return mid, None, "disabled on the hub", None
        except HfHubHTTPError as exc:
            code = exc.response.status_code if exc.response is not None else None
            if code in (404, 410):
                return mid, None, f"not found on the hub ({code})", None
            return mid, None, None, _short(exc)
        except (HubBadAnswer, ValidationError, TypeError, KeyError, ValueError) as exc:
            return mid, None, None, _short(exc)

    def _refresh(self, mid: str, facts: Any, removed: str | None = None, record: Any = None) -> None:
        """Compare what the hub says with what the KB holds; queue every change, flag and conflict."""
        self.refreshed.add(mid)
        row = self.models[mid]
        old = self.facts.get(mid)
        ops = self.ops
        hist = ops.history

        def change(field: str, before: object, after: object) -> None:
            hist.append((mid, field, _text(before), _text(after), self.at, self.run_id))

        if facts is not None:
            new = {"hf_id": facts.hf_id, "sha": facts.sha, "last_modified": _iso(facts.last_modified),
                   "tags": json.dumps(facts.tags), "gated": facts.gated, "license_tag": facts.license_tag,
                   "pipeline_tag": facts.pipeline_tag, "library": facts.library, "parameters": facts.parameters}
        else:  # removed: keep the last known facts
            new = {f: (old or {}).get(f) for f in HUB_FIELDS}
            new["hf_id"] = new["hf_id"] or row["hf_id"]
            self.removed += 1
        for f in HUB_FIELDS:
            before = old.get(f) if old else None
            if before != new[f]:
                change(f"hub.{f}", before, new[f])

        old_flags = {f["flag"]: f for f in json.loads(old["flags"])} if old and old.get("flags") else {}
        flags = self._flags(row, old, new, old_flags, facts, removed)
        for name in sorted(set(old_flags) | set(flags)):
            before = old_flags.get(name, {}).get("detail")
            after = flags.get(name, {}).get("detail")
            if before != after or (name in old_flags) != (name in flags):
                change(f"flag:{name}", before, after)

        popularity = {}
        if facts is not None:
            for col in POPULARITY:
                value = getattr(facts, col)
                if value is not None and value != row.get(col):
                    change(col, row.get(col), value)
                    popularity[col] = value
                    ops.sources.append((mid, col, self._url(facts.hf_id), self.today, SOURCE_NOTE))
            if popularity:
                ops.updates.setdefault(mid, {}).update(popularity)
                row.update(popularity)
            if row["status"] == "curated":
                self._conflicts(mid, row, facts)
            elif row["status"] == "discovered":
                self._rederive(mid, row, facts, record, change)

        hub_row = {"model_id": mid, **new, "downloads": facts.downloads if facts else (old or {}).get("downloads"),
                   "likes": facts.likes if facts else (old or {}).get("likes"),
                   "flags": json.dumps(sorted(flags.values(), key=lambda f: f["flag"])),
                   "synced_at": self.at, "run_id": self.run_id}
        ops.hub_facts[mid] = hub_row
        self.facts[mid] = hub_row

    def _flags(self, row: dict, old: dict | None, new: dict, old_flags: dict, facts: Any,
               removed: str | None) -> dict[str, dict]:
        flags: dict[str, dict] = {}

        def keep(name: str, detail: str) -> None:
            prior = old_flags.get(name)
            since = prior["since"] if prior and prior.get("detail") == detail else self.today
            run_id = prior["run_id"] if prior and prior.get("detail") == detail else self.run_id
            flags[name] = {"flag": name, "detail": detail, "since": since, "run_id": run_id}

        if removed:
            keep("removed", removed)
            for name in ("gated", "renamed", "license_changed"):  # unknown now: keep what was known
                if name in old_flags:
                    flags[name] = old_flags[name]
            return flags
        if new["gated"] not in (None, "false"):
            keep("gated", f"access {new['gated']}")
        if new["hf_id"] != row["hf_id"]:
            keep("renamed", f"{row['hf_id']} is now {new['hf_id']}")
        before = old.get("license_tag") if old else None
        if before is not None and new["license_tag"] != before:
            keep("license_changed", f"{before} -> {new['license_tag'] or 'none'}")
        elif "license_changed" in old_flags:
            prior = old_flags["license_changed"]
            since = dt.date.fromisoformat(prior["since"])
            if (self.now.date() - since).days < self.config.flag_days:
                flags["license_changed"] = prior
        return flags

    def _conflicts(self, mid: str, row: dict, facts: Any) -> None:
        checks: list[tuple[str, object, object, bool]] = []
        hub_license = hub_license_to_spdx(facts.license_tag)
        if hub_license and hub_license not in VAGUE_LICENSES and row["license"] not in VAGUE_LICENSES:
            checks.append(("license", row["license"], facts.license_tag, hub_license != row["license"]))
        if facts.parameters and row.get("parameters") and row["hf_id"].lower() not in self.shared_repos:
            rel = abs(facts.parameters - row["parameters"]) / max(row["parameters"], 1)
            checks.append(("parameters", row["parameters"], facts.parameters, rel > self.config.parameter_tolerance))
        checks.append(("hf_id", row["hf_id"], facts.hf_id, facts.hf_id != row["hf_id"]))
        if row.get("safetensors") is not None and facts.parameters is not None:
            checks.append(("safetensors", bool(row["safetensors"]), True, not row["safetensors"]))
        remote_code = "custom_code" in facts.tags
        if remote_code and not row.get("trust_remote_code"):
            checks.append(("trust_remote_code", bool(row.get("trust_remote_code")), True, True))
        for field, curated, hub, disagree in checks:
            open_ = self.open_conflicts.get((mid, field))
            curated_t, hub_t = _text(curated), _text(hub)
            if disagree:
                if open_ and open_["curated"] == curated_t and open_["hub"] == hub_t:
                    continue
                if open_:
                    self.ops.resolve.append((mid, field))
                self.ops.conflicts.append((mid, field, curated_t, hub_t, self.at, self.run_id, 0))
                self.open_conflicts[(mid, field)] = {"curated": curated_t, "hub": hub_t}
                log.info("conflict %s %s: curated %s, hub %s", mid, field, curated_t, hub_t)
            elif open_:
                self.ops.resolve.append((mid, field))
                del self.open_conflicts[(mid, field)]

    # -- discovered models ---------------------------------------------------------------------------------------
    def _discover_candidates(self) -> None:
        """Add the new models the listings found, now that renamed tracked models are known under their new ids.

        The listing watermarks are written with the last batch: a run killed before leaves them where they were, so
        the next run lists these models again."""
        for key, facts in self.candidates.items():
            if key in self.by_hf or facts.hf_id in self.all_ids:
                continue  # a tracked model under its new name
            self._add_discovered(facts)
            if len(self.ops) >= self.config.batch_size:
                self._flush()
        self._flush(self.watermarks)
        self.state.update(self.watermarks)

    def _record(self, facts: Any) -> Any:
        from embedwise.kb.languages import normalise_language
        from embedwise.kb.licenses import COPYLEFT, PERMISSIVE
        from embedwise.kb.schema import ModelRecord, Source

        tags = facts.tags
        languages: list[str] = []
        for t in tags:
            if len(t) == 2 and t.isalpha():
                try:
                    languages.append(normalise_language(t))
                except ValueError:
                    pass
        multimodal = bool({"clip", "multimodal", "image-feature-extraction", "vision"} & set(tags))
        spdx = hub_license_to_spdx(facts.license_tag) or "LicenseRef-Unknown"
        owner, _, name = facts.hf_id.rpartition("/")
        src = Source(ref=self._url(facts.hf_id), date=dt.date.fromisoformat(self.today), note=SOURCE_NOTE)
        data: dict = {
            "id": facts.hf_id, "name": name, "provider": owner or "unknown", "hf_id": facts.hf_id,
            "status": "discovered",
            "description": f"Discovered on the Hugging Face Hub ({facts.pipeline_tag or 'no pipeline tag'}, "
                           f"{facts.library or 'no library'}); not curated: check before relying on it.",
            "tags": [t for t in tags if not t.startswith(("license:", "region:", "base_model:"))][:64],
            "modality": "multimodal" if multimodal else "text",
            "input_modalities": ["text", "image"] if multimodal else ["text"],
            "languages": languages, "multilingual": "multilingual" in tags or len(set(languages)) > 3,
            "license": spdx, "commercial_use": spdx in PERMISSIVE or spdx in COPYLEFT,
            "open_weights": True, "hosting": "self_host",
            "parameters": facts.parameters, "safetensors": True if facts.parameters is not None else None,
            "trust_remote_code": "custom_code" in tags,
        }
        sourced = ["provider", "hf_id", "modality", "input_modalities", "multilingual", "license", "commercial_use",
                   "open_weights", "hosting", "trust_remote_code"]
        sourced += [f for f in ("languages", "parameters", "safetensors") if data[f]]
        return ModelRecord(**data, sources={f: src for f in sourced})

    def _add_discovered(self, facts: Any) -> None:
        from embedwise.kb.store import record_to_row

        try:
            record = self._record(facts)
        except ValidationError as exc:
            log.info("not discovered %s: %s", facts.hf_id, _short(exc))
            return
        row = record_to_row(record)
        self.ops.new_models.append(row)
        self._queue_sources(record, record.sources)
        self.ops.languages[record.id] = record.languages
        self.ops.domains[record.id] = record.domains
        self.ops.history.append((record.id, "status", None, "discovered", self.at, self.run_id))
        self.models[record.id] = dict(row)
        self.all_ids.add(record.id)
        self.by_hf[facts.hf_id.lower()] = record.id
        self.discovered += 1
        self._refresh(record.id, facts, record=record)

    def _rederive(self, mid: str, row: dict, facts: Any, record: Any, change: Any) -> None:
        """A discovered model's columns follow its hub facts: recompute, write what differs."""
        from embedwise.kb.store import record_to_row

        if record is None:
            try:
                record = self._record(facts)
            except ValidationError as exc:
                self._skip(f"model {mid}", _short(exc))
                return
        if record.id != mid:  # renamed: keep the row under its id; the flag tells
            return
        new_row = record_to_row(record)
        diff = {c: new_row[c] for c in DERIVED_COLUMNS if _db_value(new_row[c]) != _db_value(row.get(c))}
        if not diff:
            return
        for c, v in diff.items():
            change(c, _db_value(row.get(c)), _db_value(v))
        self.ops.updates.setdefault(mid, {}).update({c: _db_value(v) for c, v in diff.items()})
        row.update({c: _db_value(v) for c, v in diff.items()})
        self._queue_sources(record, {f: s for f, s in record.sources.items() if f in diff})
        if "languages" in diff:
            self.ops.languages[mid] = record.languages

    def _queue_sources(self, record: Any, sources: dict) -> None:
        for field, s in sources.items():
            self.ops.sources.append((record.id, field, s.ref, s.date.isoformat() if s.date else None, s.note))

    def _url(self, hf_id: str) -> str:
        return f"{self.public_endpoint}/{hf_id}"

    # -- writing -------------------------------------------------------------------------------------------------
    def _flush(self, state: dict[str, str] | None = None) -> None:
        ops = self.ops
        if not len(ops) and not ops.history and not state:
            return
        conn = self.conn
        with _transaction(conn):
            if ops.new_models:
                cols = list(ops.new_models[0])
                marks = ", ".join("?" * len(cols))
                conn.executemany(f"INSERT OR IGNORE INTO models ({', '.join(cols)}) VALUES ({marks})",
                                 [[_db_value(r[c]) for c in cols] for r in ops.new_models])
            for mid, cols in ops.updates.items():
                conn.execute(f"UPDATE models SET {', '.join(f'{c} = ?' for c in cols)} WHERE id = ?",
                             [*cols.values(), mid])
            conn.executemany("INSERT OR REPLACE INTO sources (model_id, field, ref, date, note) VALUES (?, ?, ?, ?, ?)",
                             ops.sources)
            for table, col, values in (("model_languages", "language", ops.languages),
                                       ("model_domains", "domain", ops.domains)):
                for mid, items in values.items():
                    conn.execute(f"DELETE FROM {table} WHERE model_id = ?", [mid])
                    conn.executemany(f"INSERT OR IGNORE INTO {table} (model_id, {col}) VALUES (?, ?)",
                                     [(mid, v) for v in dict.fromkeys(items)])
            if ops.hub_facts:
                cols = list(next(iter(ops.hub_facts.values())))
                conn.executemany(
                    f"INSERT OR REPLACE INTO hub_facts ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                    [[r[c] for c in cols] for r in ops.hub_facts.values()])
            conn.executemany("UPDATE conflicts SET resolved = 1 WHERE model_id = ? AND field = ? "
                             "AND coalesce(resolved, 0) = 0", ops.resolve)
            conn.executemany("INSERT INTO conflicts (model_id, field, curated, hub, at, run_id, resolved) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)", ops.conflicts)
            conn.executemany("INSERT INTO history (model_id, field, old, new, at, run_id) VALUES (?, ?, ?, ?, ?, ?)",
                             ops.history)
            if state:
                conn.executemany("INSERT OR REPLACE INTO sync_state (key, value) VALUES (?, ?)", list(state.items()))
        self.ops = _Ops()


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    if conn.in_transaction:
        conn.commit()
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


# --- values ---------------------------------------------------------------------------------------------------------

def _text(value: object) -> str | None:
    """How a value is written into history and conflicts: None stays NULL, strings as they are, the rest as JSON."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def _db_value(value: object) -> object:
    return int(value) if isinstance(value, bool) else value


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds") if value else None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


_HUB_LICENSES = {
    "gpl-2.0": "GPL-2.0-only", "gpl-3.0": "GPL-3.0-only", "lgpl-3.0": "LGPL-3.0-only", "agpl-3.0": "AGPL-3.0-only",
    "openrail": "OpenRAIL", "openrail++": "OpenRAIL-M", "creativeml-openrail-m": "CreativeML-OpenRAIL-M",
    "bigscience-openrail-m": "BigScience-OpenRAIL-M", "gemma": "LicenseRef-Gemma", "llama3": "LicenseRef-Llama-3",
    "llama3.1": "LicenseRef-Llama-3.1", "llama3.2": "LicenseRef-Llama-3.2", "other": "LicenseRef-Other",
    "unknown": "LicenseRef-Unknown",
}


def hub_license_to_spdx(tag: str | None) -> str | None:
    """The SPDX (or LicenseRef-) id for a hub licence tag ('apache-2.0' -> 'Apache-2.0'), None when unknown."""
    if not tag:
        return None
    from embedwise.kb.licenses import KNOWN_LICENSES

    tag = tag.strip().lower()
    if tag in _HUB_LICENSES:
        return _HUB_LICENSES[tag]
    for spdx in KNOWN_LICENSES:
        if spdx.lower() == tag:
            return spdx
    return None


# --- the command ----------------------------------------------------------------------------------------------------

def format_summary(s: SyncSummary) -> str:
    lines = [f"sync {s.run_id}: {s.status} in {s.seconds:.1f} s against {s.endpoint}",
             f"  {s.models_seen} hub models read, {s.refreshed} refreshed, {s.discovered} discovered, "
             f"{s.removed} removed, {s.changes} changes, {s.retries} retried requests"]
    raised = [f for f in s.flags if f.new is not None]
    cleared = [f for f in s.flags if f.new is None]
    if raised:
        lines.append(f"  flagged ({len(raised)}):")
        lines += [f"    {f.model_id}: {FLAG_TEXT.get(f.flag, f.flag)}: {f.new}" for f in raised[:50]]
        if len(raised) > 50:
            lines.append(f"    ... and {len(raised) - 50} more (`--json` lists them all)")
    if cleared:
        lines.append("  flags cleared: " + ", ".join(f"{f.model_id} ({f.flag})" for f in cleared[:20]))
    if s.conflicts:
        lines.append(f"  new conflicts with curated facts ({len(s.conflicts)}), review with `embedwise kb show`:")
        lines += [f"    {c.model_id} {c.field}: curated {c.curated}, hub {c.hub}" for c in s.conflicts[:50]]
    if s.skipped:
        lines.append(f"  skipped ({len(s.skipped)}, see the log):")
        lines += [f"    {k['what']}: {k['error']}" for k in s.skipped[:10]]
    if s.error and s.status in ("failed", "interrupted"):
        lines.append(f"  error: {s.error}")
    return "\n".join(lines)


def command(endpoint: str | None = None, nightly: bool = False, discover: bool | None = None,
            json_out: bool = False) -> int:
    """`embedwise sync`: lock, log, run, print the summary. Returns the exit code (0 only when the run is ok)."""
    import signal

    from filelock import FileLock, Timeout

    config = load_config()
    logger = logging.getLogger("embedwise.sync")
    if nightly:
        from logging.handlers import RotatingFileHandler

        handler: logging.Handler = RotatingFileHandler(paths.logs_dir() / LOG_FILE, maxBytes=5_000_000,
                                                       backupCount=5, encoding="utf-8")
        handler.setLevel(logging.INFO)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    lock = FileLock(str(lock_path()))
    old_term = None
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            logger.error("another sync holds %s; this run did nothing", lock.lock_file)
            raise SyncError(f"another `embedwise sync` is running (lock {lock.lock_file} is held); "
                            "wait for it to finish") from None
        try:
            if nightly:
                with contextlib.suppress(ValueError):  # not in the main thread: leave signals alone
                    old_term = signal.signal(signal.SIGTERM, _raise_interrupt)
            summary = run(config, endpoint=endpoint, discover=discover)
        finally:
            if old_term is not None:
                signal.signal(signal.SIGTERM, old_term)
            lock.release()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        handler.close()
    if json_out:
        sys.stdout.write(summary.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write(format_summary(summary) + "\n")
    if summary.status != "ok":  # for cron's mail and the journal
        where = f"; log: {paths.logs_dir() / LOG_FILE}" if nightly else ""
        sys.stderr.write(f"embedwise sync {summary.run_id}: {summary.status}: {summary.error}{where}\n")
    return 0 if summary.status == "ok" else 1


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
