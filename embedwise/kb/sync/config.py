"""The sync's configuration: defaults for a nightly run against huggingface.co, overridden by `<home>/sync.toml`."""
from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from embedwise import paths
from embedwise.errors import BadInput
from embedwise.kb.store import SYNC_LOCK_FILE

DEFAULT_ENDPOINT = "https://huggingface.co"
CONFIG_FILE = "sync.toml"
LOCK_FILE = SYNC_LOCK_FILE  # one name, shared with kb.store.build


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
    request_timeout: float = Field(30.0, gt=0, le=3600, allow_inf_nan=False,
                                   description="seconds for one request, body included")
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


def resolve_endpoint(endpoint: str | None, config: SyncConfig) -> str:
    return (endpoint or config.endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
