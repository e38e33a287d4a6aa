"""How much of the knowledge base rests on what: facts counted by source kind and confidence.

A curator reads it to see at once how many facts still rest on mteb's metadata alone, which fields those are, and
how many release dates and language lists are unconfirmed.
"""
from __future__ import annotations

from collections import Counter

import sqlite_utils

KINDS = ("card", "paper", "vendor", "hub", "results", "secondary", "mteb", "curator", "derived")
CONFIDENCES = ("high", "medium", "low")


def report_data(db: sqlite_utils.Database) -> dict:
    rows = list(db.query(
        "SELECT s.field, coalesce(s.kind, 'unknown') AS kind, coalesce(s.confidence, 'unknown') AS confidence "
        "FROM sources s JOIN models m ON m.id = s.model_id WHERE m.status = 'curated'"))
    by_kind = Counter(r["kind"] for r in rows)
    by_confidence = Counter(r["confidence"] for r in rows)
    matrix = Counter((r["kind"], r["confidence"]) for r in rows)
    mteb_only = Counter(r["field"] for r in rows if r["kind"] == "mteb")
    models = db.execute("SELECT count(*) FROM models WHERE status = 'curated'").fetchone()[0]
    one = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
    return {
        "models": models,
        "facts": len(rows),
        "by_kind": dict(by_kind.most_common()),
        "by_confidence": dict(by_confidence.most_common()),
        "kind_by_confidence": {k: {c: matrix[(k, c)] for c in CONFIDENCES if matrix[(k, c)]}
                               for k in by_kind},
        "mteb_only_by_field": dict(mteb_only.most_common()),
        "release_date_unconfirmed": one("SELECT count(*) FROM models WHERE status='curated' AND release_date IS NOT "
                                        "NULL AND coalesce(release_date_confirmed, 0) = 0"),
        "languages_benchmark_only": one("SELECT count(*) FROM models WHERE status='curated' AND "
                                        "languages_basis = 'benchmark_only'"),
        "trained_for_unchecked": one("SELECT count(*) FROM sources s JOIN models m ON m.id = s.model_id WHERE "
                                     "m.status='curated' AND s.field = 'trained_for' AND s.kind = 'curator'"),
        "open_weights_trust_remote_code_uncurated": one(
            "SELECT count(*) FROM models m WHERE m.status='curated' AND m.open_weights = 1 AND NOT EXISTS "
            "(SELECT 1 FROM sources s WHERE s.model_id = m.id AND s.field = 'trust_remote_code')"),
        "api_without_price": one("SELECT count(*) FROM models WHERE status='curated' AND hosting IN ('api','both') "
                                 "AND price_per_million_tokens IS NULL"),
        "scores": one("SELECT count(*) FROM scores"),
        "scores_self_reported": one("SELECT count(*) FROM scores WHERE self_reported = 1"),
        "scores_zero_shot_unknown": one("SELECT count(*) FROM scores WHERE zero_shot_pct IS NULL AND language IS NULL "
                                        "AND benchmark <> 'MTEB'"),
    }


def print_report(data: dict, console) -> None:
    from rich.table import Table

    console.print(f"[bold]{data['models']}[/] curated models, [bold]{data['facts']}[/] sourced facts")
    table = Table("source kind", *CONFIDENCES, "total", title="facts by source kind and confidence",
                  title_justify="left")
    for kind, total in data["by_kind"].items():
        cells = data["kind_by_confidence"].get(kind, {})
        table.add_row(kind, *(str(cells.get(c, "")) for c in CONFIDENCES), str(total))
    console.print(table)
    share = data["by_kind"].get("mteb", 0) / data["facts"] if data["facts"] else 0
    console.print(f"resting on mteb's metadata alone: {data['by_kind'].get('mteb', 0)} facts ({share:.0%}); by field: "
                  + ", ".join(f"{f} {n}" for f, n in data["mteb_only_by_field"].items()))
    for key, label in (("release_date_unconfirmed", "release dates not confirmed"),
                       ("languages_benchmark_only", "language lists from benchmarks only"),
                       ("trained_for_unchecked", "trained_for by the curator's reading only"),
                       ("open_weights_trust_remote_code_uncurated", "open-weights models without a curated "
                                                                    "trust_remote_code"),
                       ("api_without_price", "API models without a public price"),
                       ("scores_self_reported", f"self-reported benchmark figures (of {data['scores']})"),
                       ("scores_zero_shot_unknown", "benchmark figures with unknown zero-shot status")):
        console.print(f"  {label}: {data[key]}")
