"""What `kb show` reads of the sync: a model's flags, conflicts and hub facts. Needs neither huggingface_hub nor the
network."""
from __future__ import annotations

import json
import sqlite3
from typing import Any

FLAG_TEXT = {
    "license_changed": "licence changed on the hub",
    "gated": "gated on the hub (access must be requested)",
    "removed": "no longer on the hub",
    "renamed": "renamed on the hub",
}


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
