"""One sync run: the listings, the one-by-one reads, and what each model's hub facts change in the knowledge base.

The package docstring (embedwise/kb/sync/__init__.py) describes a run. `listings` says which listings it reads,
`discovered` builds a new model's record, `write.Batch` applies each batch of changes in one transaction."""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from embedwise.errors import BadInput, SyncError
from embedwise.kb.sync.config import SyncConfig, load_config, resolve_endpoint
from embedwise.kb.sync.discovered import discovered_record
from embedwise.kb.sync.listings import Listing, listings
from embedwise.kb.sync.summary import (
    ConflictEvent,
    FlagEvent,
    SyncSummary,
    format_summary,
)
from embedwise.kb.sync.values import (
    SOURCE_NOTE,
    as_text,
    db_value,
    hub_license_to_spdx,
    iso,
    short,
)
from embedwise.kb.sync.write import Batch, transaction

log = logging.getLogger("embedwise.sync")

# hub_facts columns that are facts (history rows `hub.<name>`); downloads/likes are tracked on `models`.
HUB_FIELDS = ("hf_id", "sha", "last_modified", "tags", "gated", "license_tag", "pipeline_tag", "library", "parameters")
POPULARITY = ("downloads", "likes")
# models columns of a discovered model that are derived from its hub facts.
DERIVED_COLUMNS = ("name", "provider", "description", "tags", "modality", "input_modalities", "languages",
                   "multilingual", "license", "commercial_use", "open_weights", "hosting", "parameters",
                   "safetensors", "trust_remote_code")
VAGUE_LICENSES = {"LicenseRef-Other", "LicenseRef-Unknown"}


def run(config: SyncConfig | None = None, *, db: Any = None, endpoint: str | None = None,
        discover: bool | None = None) -> SyncSummary:
    """One sync run. Returns its summary (status ok / partial / failed / interrupted); raises only on bad setup."""
    from huggingface_hub import HfApi, constants

    from embedwise.kb import store
    from embedwise.kb.sync import hub

    config = config or load_config()
    if constants.HF_HUB_OFFLINE:
        raise SyncError("HF_HUB_OFFLINE is set, so huggingface_hub refuses to reach the hub; unset it to sync")
    endpoint = resolve_endpoint(endpoint, config)
    if not endpoint.startswith(("http://", "https://")):
        raise BadInput(f"endpoint {hub.redact_url(endpoint)!r} is not an http(s) URL")
    if db is None or isinstance(db, (str, Path)):
        db = store.open_db(Path(db) if db else None, build_if_missing=db is None)
    store.create_schema(db)
    with hub.hub_session(endpoint=endpoint, timeout=config.request_timeout, max_retries=config.max_retries,
                         backoff_base=config.backoff_base, backoff_max=config.backoff_max,
                         retry_after_max=config.retry_after_max) as transport:
        api = HfApi(endpoint=endpoint, token=os.environ.get("HF_TOKEN") or False)
        sync = _Run(db, config, endpoint, config.discover.enabled if discover is None else discover, api, transport)
        return sync.execute()


class _Run:
    def __init__(self, db: Any, config: SyncConfig, endpoint: str, discover: bool, api: Any, transport: Any):
        from embedwise.kb.sync.hub import redact_url

        self.db, self.conn, self.config, self.api, self.transport = db, db.conn, config, api, transport
        self.endpoint = endpoint
        self.public_endpoint = redact_url(endpoint)
        self.discover = discover
        self.started = time.monotonic()
        self.now = dt.datetime.now(dt.timezone.utc)
        self.at = self.now.isoformat(timespec="seconds")
        self.today = self.now.date().isoformat()
        self.run_id = f"{self.now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
        self.ops = Batch()
        self.seen: set[str] = set()
        self.refreshed: set[str] = set()
        self.discovered = 0
        self.removed = 0
        self.candidates: dict[str, Any] = {}  # hub id (lower) -> HubFacts, added after the tracked models
        self.watermarks: dict[str, str] = {}  # completed listings, written with the last discoveries
        self.skipped: list[dict] = []

    # -- bookkeeping ---------------------------------------------------------------------------------------------
    def execute(self) -> SyncSummary:
        from embedwise.kb.sync.hub import HubError

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
        with transaction(self.conn):
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
        with transaction(self.conn):
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

        from embedwise.kb.sync.hub import HubBadAnswer, facts_from_info

        key = f"watermark:{listing.key}"
        stop_before = None
        if listing.kind == "recent":
            if self.state.get(key):
                stop_before = dt.datetime.fromisoformat(self.state[key])
            elif self.config.initial_lookback_days:
                stop_before = self.now - dt.timedelta(days=self.config.initial_lookback_days)
        newest: dt.datetime | None = None
        read = 0
        listed: set[str] = set()
        read_cap = max(100_000, 20 * self.config.discover.max_new_per_run)  # a listing that never ends is cut here
        try:
            for info in self.api.list_models(**listing.kwargs(self.config)):
                read += 1
                model_id = str(getattr(info, "id", ""))
                if model_id in listed:  # a Link header pointing back at a page already read
                    self._skip(f"listing {listing.key} after {read - 1} models",
                               f"the hub repeated a page ({model_id} listed twice): stopped, the watermark is kept")
                    self._flush()
                    return
                listed.add(model_id)
                if read > read_cap or (self.discover and len(self.candidates) >= self.config.discover.max_new_per_run
                                       and listing.kind != "recent"):
                    self._skip(f"listing {listing.key} after {read - 1} models",
                               f"stopped at {'max_new_per_run' if read <= read_cap else f'{read_cap} models read'}: "
                               "the rest is read by the next run")
                    self._flush()
                    return
                try:
                    facts = facts_from_info(info)
                except (ValidationError, TypeError, ValueError) as exc:
                    self._skip(f"{listing.key} item {getattr(info, 'id', '?')}", short(exc))
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
            self._skip(f"listing {listing.key} after {read} models", short(exc))
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
        from huggingface_hub.errors import (
            DisabledRepoError,
            HfHubHTTPError,
            RepositoryNotFoundError,
        )

        from embedwise.kb.sync.hub import EXPAND, HubBadAnswer, facts_from_info

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
            return mid, None, None, short(exc)
        except (HubBadAnswer, ValidationError, TypeError, KeyError, ValueError) as exc:
            return mid, None, None, short(exc)

    def _refresh(self, mid: str, facts: Any, removed: str | None = None, record: Any = None) -> None:
        """Compare what the hub says with what the KB holds; queue every change, flag and conflict."""
        self.refreshed.add(mid)
        row = self.models[mid]
        old = self.facts.get(mid)
        ops = self.ops
        hist = ops.history

        def change(field: str, before: object, after: object) -> None:
            hist.append((mid, field, as_text(before), as_text(after), self.at, self.run_id))

        if facts is not None:
            new = {"hf_id": facts.hf_id, "sha": facts.sha, "last_modified": iso(facts.last_modified),
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
            curated_t, hub_t = as_text(curated), as_text(hub)
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

    def _add_discovered(self, facts: Any) -> None:
        from embedwise.kb.store import record_to_row

        try:
            record = discovered_record(facts, self._url(facts.hf_id), self.today)
        except ValidationError as exc:
            log.info("not discovered %s: %s", facts.hf_id, short(exc))
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
                record = discovered_record(facts, self._url(facts.hf_id), self.today)
            except ValidationError as exc:
                self._skip(f"model {mid}", short(exc))
                return
        if record.id != mid:  # renamed: keep the row under its id; the flag tells
            return
        new_row = record_to_row(record)
        diff = {c: new_row[c] for c in DERIVED_COLUMNS if db_value(new_row[c]) != db_value(row.get(c))}
        if not diff:
            return
        for c, v in diff.items():
            change(c, db_value(row.get(c)), db_value(v))
        self.ops.updates.setdefault(mid, {}).update({c: db_value(v) for c, v in diff.items()})
        row.update({c: db_value(v) for c, v in diff.items()})
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
        if self.ops.write(self.conn, state):
            self.ops = Batch()
