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

Modules: `config` (sync.toml), `status` (what `kb show` reads), `runner` (one run), `listings` (which hub listings a
run reads), `discovered` (a discovered model's record), `write` (a batch of changes in one transaction), `summary`
(what a run reports), `values` (value helpers), `cli` (`embedwise sync`), `hub` (the HTTP transport and the hub's
answers). huggingface_hub is imported only when a run starts.
"""
from __future__ import annotations

from embedwise.kb.sync.cli import command
from embedwise.kb.sync.config import (
    DiscoverConfig,
    SyncConfig,
    config_path,
    load_config,
    lock_path,
)
from embedwise.kb.sync.runner import run
from embedwise.kb.sync.status import (
    FLAG_TEXT,
    conflicts_for,
    flag_text,
    flags_for,
    hub_facts_for,
)
from embedwise.kb.sync.summary import (
    ConflictEvent,
    FlagEvent,
    SyncSummary,
    format_summary,
)
from embedwise.kb.sync.values import hub_license_to_spdx

__all__ = [
    "FLAG_TEXT", "ConflictEvent", "DiscoverConfig", "FlagEvent", "SyncConfig", "SyncSummary", "command", "config_path",
    "conflicts_for", "flag_text", "flags_for", "format_summary", "hub_facts_for", "hub_license_to_spdx", "load_config",
    "lock_path", "run",
]
