"""Shared by the hub sync tests and bench/sync.py: the curated test records, the fake hub's models, and checks.

A module with its own name (not conftest): every test folder has a conftest, and a late `from conftest import`
picks up whichever was imported last."""
from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from fake_hub import make_model  # noqa: E402

from embedwise.kb import store, sync  # noqa: E402
from embedwise.kb.curated_files import curated_fingerprint  # noqa: E402
from embedwise.kb.schema import FACT_FIELDS, ModelRecord  # noqa: E402
from embedwise.kb.sync import runner  # noqa: E402
from embedwise.kb.sync.values import as_text  # noqa: E402

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
BGE = "BAAI/bge-small-en-v1.5"
CLIP = "openai/clip-vit-base-patch32"
NOMIC = "nomic-ai/nomic-embed-text-v1.5"
GONE = "acme/gone-embedder"
API = "openai/text-embedding-3-small"


def curated(**kw: object) -> ModelRecord:
    """A curated record whose every given fact is sourced."""
    facts = [f for f in FACT_FIELDS if f in kw or (f in ("trust_remote_code", "safetensors") and kw.get("open_weights"))]
    src = {"ref": f"https://example.org/cards/{kw['id']}", "date": "2025-01-01"}
    return ModelRecord(status="curated", sources={", ".join(facts): src}, **kw)


def curated_records() -> list[ModelRecord]:
    text = dict(modality="text", input_modalities=["text"], open_weights=True, hosting="self_host",
                commercial_use=True)
    return [
        curated(id=MINILM, name="all-MiniLM-L6-v2", provider="sentence-transformers", hf_id=MINILM, languages=["eng"],
                license="Apache-2.0", parameters=22_700_000, dimensions=[384], max_tokens=256, safetensors=True,
                **text),
        curated(id=BGE, name="bge-small-en-v1.5", provider="BAAI", hf_id=BGE, languages=["eng"], license="MIT",
                parameters=33_400_000, dimensions=[384], max_tokens=512, **text),
        curated(id=CLIP, name="clip-vit-base-patch32", provider="OpenAI", hf_id=CLIP, modality="multimodal",
                input_modalities=["text", "image"], license="MIT", commercial_use=True, open_weights=True,
                hosting="self_host", parameters=88_000_000, dimensions=[512]),
        curated(id=NOMIC, name="nomic-embed-text-v1.5", provider="Nomic", hf_id=NOMIC, license="Apache-2.0",
                parameters=137_000_000, trust_remote_code=True, dimensions=[768, 512, 256], downloads=1,
                **text),
        curated(id=GONE, name="gone-embedder", provider="Acme", hf_id=GONE, license="Apache-2.0", **text),
        curated(id=API, name="text-embedding-3-small", provider="OpenAI", modality="text", input_modalities=["text"],
                license="proprietary", commercial_use=True, open_weights=False, hosting="api", api_name=API,
                dimensions=[1536, 512], price_per_million_tokens=0.02, price_date=dt.date(2026, 6, 1)),
    ]


def hub_models() -> list[dict]:
    """The fake hub's models: the curated ones (bar GONE), popular, unpopular and trending candidates."""
    t = lambda n: f"2025-01-{n:02d}T00:00:00.000Z"  # noqa: E731
    return [
        make_model(MINILM, downloads=90_000_000, likes=3000, parameters=22_713_216, last_modified=t(5)),
        make_model(BGE, downloads=5_000_000, likes=300, pipeline_tag="feature-extraction", license="mit",
                   parameters=33_360_000, last_modified=t(6)),
        make_model(CLIP, downloads=15_000_000, likes=1500, pipeline_tag="zero-shot-image-classification",
                   library="transformers", license=None, parameters=151_277_313, last_modified=t(2)),
        make_model(NOMIC, downloads=2_000_000, likes=600, parameters=136_731_648, extra_tags=("custom_code",),
                   last_modified=t(7)),
        *[make_model(f"org/popular-{i}", downloads=10_000 + i * 1000, likes=10 + i, last_modified=t(8 + i),
                     pipeline_tag="sentence-similarity" if i % 2 else "feature-extraction",
                     languages=("en", "de", "fr", "es") if i == 3 else ("en",), license="cc-by-nc-4.0" if i == 4
                     else "apache-2.0") for i in range(6)],
        make_model("org/tiny", downloads=10, likes=0, last_modified=t(20)),
        make_model("org/trendy", downloads=50, likes=40, trending=99.0, last_modified=t(21)),
        make_model("legacy-no-owner", downloads=9_000_000, likes=100, last_modified=t(3)),
    ]


def make_kb(path: Path, records: list[ModelRecord]) -> None:
    import sqlite_utils

    db = sqlite_utils.Database(path)
    store.create_schema(db)
    store.write_records(db, records)
    db["meta"].upsert_all([{"key": "schema_version", "value": str(store.SCHEMA_VERSION)},
                           {"key": "curated_fingerprint", "value": curated_fingerprint()}], pk="key")
    db.close()


def fast_config(**overrides: object) -> sync.SyncConfig:
    discover = dict(min_downloads=1000, top_by_downloads=6, top_trending=3, trending_min_likes=5)
    discover.update(overrides.pop("discover", {}))
    base = dict(request_timeout=0.5, max_retries=3, backoff_base=0.01, backoff_max=0.05, retry_after_max=5,
                batch_size=3, workers=2, discover=discover)
    base.update(overrides)
    return sync.SyncConfig.model_validate(base)


# --- checks shared by the tests -------------------------------------------------------------------------------------

def curated_snapshot(db) -> dict:
    """Every curated fact: models rows (bar popularity), sources, scores, languages, domains of curated models."""
    ids = [r[0] for r in db.execute("SELECT id FROM models WHERE status = 'curated' ORDER BY id")]
    marks = ",".join("?" * len(ids))

    def rows(sql: str) -> list[tuple]:
        return [tuple(r) for r in db.execute(sql, ids)]

    models = [{k: v for k, v in r.items() if k not in ("downloads", "likes")}
              for r in db.query(f"SELECT * FROM models WHERE id IN ({marks}) ORDER BY id", ids)]
    return {
        "models": models,
        "sources": rows(f"SELECT * FROM sources WHERE model_id IN ({marks}) AND field NOT IN ('downloads', 'likes') "
                        "ORDER BY model_id, field"),
        "scores": rows(f"SELECT * FROM scores WHERE model_id IN ({marks}) ORDER BY model_id, benchmark, task"),
        "languages": rows(f"SELECT * FROM model_languages WHERE model_id IN ({marks}) ORDER BY 1, 2"),
        "domains": rows(f"SELECT * FROM model_domains WHERE model_id IN ({marks}) ORDER BY 1, 2"),
    }


def latest_history(db) -> dict[tuple[str, str], str | None]:
    out = {}
    for model_id, field, new in db.execute("SELECT model_id, field, new FROM history ORDER BY id"):
        out[(model_id, field)] = new
    return out


def assert_history_complete(db) -> None:
    """Replaying the history gives what the KB holds: every change the sync made is in it."""
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    last = latest_history(db)
    runs = {r[0] for r in db.execute("SELECT id FROM sync_runs")}
    assert {r[0] for r in db.execute("SELECT DISTINCT run_id FROM history")} <= runs
    for row in db.query("SELECT * FROM hub_facts"):
        mid = row["model_id"]
        for f in runner.HUB_FIELDS:
            assert last.get((mid, f"hub.{f}")) == as_text(row[f]), (mid, f)
        active = {fl["flag"]: fl["detail"] for fl in json.loads(row["flags"] or "[]")}
        for (m, field), new in last.items():
            if m == mid and field.startswith("flag:"):
                assert active.get(field[5:]) == new, (mid, field)
        for name, detail in active.items():
            assert last.get((mid, f"flag:{name}")) == detail, (mid, name)
    for row in db.query("SELECT * FROM models WHERE id IN (SELECT model_id FROM hub_facts)"):
        for col in runner.POPULARITY:
            if (row["id"], col) in last:
                assert last[(row["id"], col)] == as_text(row[col]), (row["id"], col)
    for row in db.query("SELECT * FROM models WHERE status = 'discovered'"):
        assert last.get((row["id"], "status")) == "discovered", row["id"]
        for col in runner.DERIVED_COLUMNS:
            if (row["id"], col) in last:
                assert last[(row["id"], col)] == as_text(row[col]), (row["id"], col)
        assert db.execute("SELECT count(*) FROM hub_facts WHERE model_id = ?", [row["id"]]).fetchone()[0] == 1


def converges(db, hub, cfg, **kw) -> sync.SyncSummary:
    """Run until a run is ok, then once more: that run must change nothing."""
    for _ in range(3):
        s = sync.run(cfg, db=db, endpoint=hub.url, **kw)
        if s.status == "ok":
            break
    assert s.status == "ok", s
    again = sync.run(cfg, db=db, endpoint=hub.url, **kw)
    assert again.status == "ok" and again.changes == 0, again
    assert not again.conflicts and not again.flags
    assert_history_complete(db)
    return again
