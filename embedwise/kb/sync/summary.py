"""What a sync run reports: its summary (counts, new flags and conflicts, skipped answers) and how it is printed."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from embedwise.kb.sync.status import FLAG_TEXT


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
