"""What one sync run reads, writes, flags and never touches; the real huggingface_hub client against the fake hub."""
from __future__ import annotations

import json

from fake_hub import make_model
from sync_helpers import (API, BGE, CLIP, GONE, MINILM, NOMIC, assert_history_complete, converges, curated_snapshot,
                      fast_config, latest_history)

from embedwise.kb import store, sync


def test_first_sync_refreshes_tracked_models_and_discovers_candidates(db, hub, cfg):
    before = curated_snapshot(db)
    s = sync.run(cfg, db=db, endpoint=hub.url)
    assert s.status == "ok", s
    assert curated_snapshot(db) == before

    facts = {r["model_id"]: r for r in db.query("SELECT * FROM hub_facts")}
    assert API not in facts  # no hub id: not the sync's business
    m = facts[MINILM]
    assert (m["license_tag"], m["pipeline_tag"], m["library"], m["parameters"], m["gated"]) == \
        ("apache-2.0", "sentence-similarity", "sentence-transformers", 22_713_216, "false")
    assert m["sha"] == hub.models[MINILM]["sha"] and m["last_modified"].startswith("2025-01-05T00:00:00")
    assert "sentence-similarity" in json.loads(m["tags"])
    assert facts[CLIP]["pipeline_tag"] == "zero-shot-image-classification"  # not listed: read with model_info

    # popularity is written into models, with the hub as its source
    row = db["models"].get(NOMIC)
    assert (row["downloads"], row["likes"]) == (2_000_000, 600)
    src = db.execute("SELECT ref, date, note FROM sources WHERE model_id = ? AND field = 'downloads'",
                     [NOMIC]).fetchone()
    assert src[0] == f"{hub.url}/{NOMIC}" and src[1] == s.started_at[:10]

    # discovered: above the thresholds (or trending); not the unpopular, not an id the schema refuses
    discovered = {r[0] for r in db.execute("SELECT id FROM models WHERE status = 'discovered'")}
    assert discovered == {f"org/popular-{i}" for i in range(6)} | {"org/trendy"}
    rec = store.get_record(db, "org/popular-3")
    assert rec.status == "discovered" and rec.hf_id == "org/popular-3"
    assert rec.languages == ["eng", "deu", "fra", "spa"] and rec.multilingual
    assert rec.license == "Apache-2.0" and rec.commercial_use and rec.parameters == 22_700_000
    assert rec.sources["license"].ref == f"{hub.url}/org/popular-3"
    assert str(rec.sources["license"].date) == s.started_at[:10]
    nc = store.get_record(db, "org/popular-4")
    assert nc.license == "CC-BY-NC-4.0" and not nc.commercial_use

    assert [(f.model_id, f.flag) for f in s.flags] == [(GONE, "removed")]
    assert [(c.model_id, c.field, c.curated, c.hub) for c in s.conflicts] == \
        [(CLIP, "parameters", "88000000", "151277313")]
    assert s.discovered == 7 and s.removed == 1 and s.changes > 0
    assert_history_complete(db)
    converges(db, hub, cfg)


def test_second_run_pages_only_until_the_watermark(db, hub, cfg):
    sync.run(cfg, db=db, endpoint=hub.url)
    first = len([r for r in hub.requests("list") if r.query.get("sort") == ["lastModified"]])
    assert first == 3  # sentence-similarity: 2 pages of 4; feature-extraction: 1 page
    hub.log.clear()
    s = sync.run(cfg, db=db, endpoint=hub.url)
    assert s.status == "ok" and s.changes == 0
    recent = [r for r in hub.requests("list") if r.query.get("sort") == ["lastModified"]]
    assert len(recent) == 2 and all("cursor" not in r.query for r in recent)  # the first page of each tag only

    # a model modified since: found on the first page, the rest not read
    hub.add(make_model("org/fresh", downloads=20_000, last_modified="2025-03-01T00:00:00.000Z"))
    hub.log.clear()
    s = sync.run(cfg, db=db, endpoint=hub.url)
    assert s.discovered == 1 and db["models"].get("org/fresh")["status"] == "discovered"
    assert all("cursor" not in r.query for r in hub.requests("list"))


def test_licence_change_is_flagged_and_recorded_as_a_conflict(db, hub, cfg):
    sync.run(cfg, db=db, endpoint=hub.url)
    before = curated_snapshot(db)
    hub.set_license(MINILM, "cc-by-nc-4.0")
    s = sync.run(cfg, db=db, endpoint=hub.url)
    assert s.status == "ok"
    assert curated_snapshot(db) == before  # the curated licence stays Apache-2.0
    assert db["models"].get(MINILM)["license"] == "Apache-2.0"
    assert [(f.model_id, f.flag, f.new) for f in s.flags] == \
        [(MINILM, "license_changed", "apache-2.0 -> cc-by-nc-4.0")]
    assert [(c.field, c.curated, c.hub) for c in s.conflicts] == [("license", "Apache-2.0", "cc-by-nc-4.0")]
    assert "licence changed" in sync.format_summary(s)

    flags = sync.flags_for(db, MINILM)
    assert [(f["flag"], f["detail"]) for f in flags] == [("license_changed", "apache-2.0 -> cc-by-nc-4.0")]
    assert flags[0]["text"].startswith("licence changed on the hub: apache-2.0 -> cc-by-nc-4.0")
    assert [(c["field"], c["curated"], c["hub"]) for c in sync.conflicts_for(db, MINILM)] == \
        [("license", "Apache-2.0", "cc-by-nc-4.0")]
    last = latest_history(db)
    assert last[(MINILM, "hub.license_tag")] == "cc-by-nc-4.0"
    assert last[(MINILM, "flag:license_changed")] == "apache-2.0 -> cc-by-nc-4.0"
    converges(db, hub, cfg)

    # the hub goes back: the conflict is resolved, the change stays flagged (as a change)
    hub.set_license(MINILM, "apache-2.0")
    s = sync.run(cfg, db=db, endpoint=hub.url)
    assert sync.conflicts_for(db, MINILM) == []
    assert [c["resolved"] for c in sync.conflicts_for(db, MINILM, open_only=False)] == [1]
    assert sync.flags_for(db, MINILM)[0]["detail"] == "cc-by-nc-4.0 -> apache-2.0"
    assert_history_complete(db)


def test_gated_removed_and_renamed_are_flagged(db, hub, cfg):
    sync.run(cfg, db=db, endpoint=hub.url)
    before = curated_snapshot(db)
    hub.update(BGE, touch=False, gated="manual")  # gating is a setting: lastModified does not move
    hub.remove(CLIP)
    hub.rename(MINILM, "sentence-transformers/all-MiniLM-L6-v2-renamed")
    s = sync.run(cfg, db=db, endpoint=hub.url)
    assert s.status == "ok", s
    assert curated_snapshot(db) == before
    raised = {(f.model_id, f.flag) for f in s.flags if f.new}
    assert raised == {(BGE, "gated"), (CLIP, "removed"), (MINILM, "renamed")}
    assert sync.flags_for(db, MINILM)[0]["detail"] == f"{MINILM} is now {MINILM}-renamed"
    assert sync.hub_facts_for(db, MINILM)["hf_id"] == f"{MINILM}-renamed"
    # the renamed model is not discovered a second time under its new id
    assert db["models"].count_where("id = ?", [f"{MINILM}-renamed"]) == 0
    assert ("hf_id", MINILM, f"{MINILM}-renamed") in {(c.field, c.curated, c.hub) for c in s.conflicts}
    # a removed model keeps its last known facts
    assert sync.hub_facts_for(db, CLIP)["parameters"] == 151_277_313
    converges(db, hub, cfg)

    # gating lifted, model back: the flags clear
    hub.update(BGE, touch=False, gated=False)
    hub.add(make_model(CLIP, pipeline_tag="zero-shot-image-classification",
                                              parameters=151_277_313))
    s = sync.run(cfg, db=db, endpoint=hub.url)
    assert {(f.model_id, f.flag) for f in s.flags if f.new is None} == {(BGE, "gated"), (CLIP, "removed")}
    assert sync.flags_for(db, BGE) == [] and sync.flags_for(db, CLIP) == []
    assert_history_complete(db)


def test_parameter_conflict_tolerance_and_discovered_models_follow_the_hub(db, hub):
    cfg = fast_config(parameter_tolerance=0.0001)
    s = sync.run(cfg, db=db, endpoint=hub.url)
    fields = {(c.model_id, c.field) for c in s.conflicts}
    assert (MINILM, "parameters") in fields and (BGE, "parameters") in fields  # 22.7M vs 22,713,216 etc.
    assert (NOMIC, "trust_remote_code") not in fields  # custom_code on the hub, curated True: agree

    # a discovered model is hub facts only: its columns follow the hub, with history
    hub.update("org/popular-2", downloads=99_999, tags=[*hub.models["org/popular-2"]["tags"], "de"])
    s = sync.run(cfg, db=db, endpoint=hub.url)
    row = db["models"].get("org/popular-2")
    assert row["downloads"] == 99_999 and json.loads(row["languages"]) == ["eng", "deu"]
    assert {r[0] for r in db.execute("SELECT language FROM model_languages WHERE model_id = 'org/popular-2'")} == \
        {"eng", "deu"}
    last = latest_history(db)
    assert last[("org/popular-2", "downloads")] == "99999"
    assert last[("org/popular-2", "languages")] == '["eng", "deu"]'
    converges(db, hub, cfg)


def test_no_discover_refreshes_only(db, hub, cfg):
    s = sync.run(cfg, db=db, endpoint=hub.url, discover=False)
    assert s.status == "ok" and s.discovered == 0
    assert db["models"].count_where("status = 'discovered'") == 0
    assert db["hub_facts"].count == 5  # MINILM, BGE, CLIP, NOMIC, GONE
    assert_history_complete(db)


def test_stale_discovered_models_are_reread(db, hub):
    cfg = fast_config(refresh_stale_days=0)
    sync.run(cfg, db=db, endpoint=hub.url)
    hub.remove("org/popular-0")  # not listed any more: only model_info can tell
    hub.log.clear()
    s = sync.run(cfg, db=db, endpoint=hub.url)
    assert ("org/popular-0", "removed") in {(f.model_id, f.flag) for f in s.flags}
    assert any(r.path == "/api/models/org/popular-0" for r in hub.requests("info"))


def test_hub_licence_tags_map_to_spdx():
    assert sync.hub_license_to_spdx("apache-2.0") == "Apache-2.0"
    assert sync.hub_license_to_spdx("cc-by-nc-4.0") == "CC-BY-NC-4.0"
    assert sync.hub_license_to_spdx("gpl-3.0") == "GPL-3.0-only"
    assert sync.hub_license_to_spdx("gemma") == "LicenseRef-Gemma"
    assert sync.hub_license_to_spdx("weird-licence") is None and sync.hub_license_to_spdx(None) is None


def test_fake_hub_honours_the_parameters_huggingface_hub_sends(hub):
    from huggingface_hub import HfApi

    api = HfApi(endpoint=hub.url, token=False)
    ids = [m.id for m in api.list_models(search="popular", sort="downloads", limit=3)]
    assert ids == ["org/popular-5", "org/popular-4", "org/popular-3"]
    items = list(api.list_models(filter="feature-extraction", expand=["downloads", "sha"]))
    assert {m.pipeline_tag for m in items} == {None}  # not expanded, not sent
    assert all(m.downloads and m.sha for m in items) and BGE in {m.id for m in items}
    assert len(hub.requests("list")) >= 2  # paginated (page size 4)
    info = api.model_info(BGE, revision="main")
    assert info.id == BGE and info.safetensors.total == 33_360_000
