"""Scenarios on the real curated knowledge base. The engine's verdicts are checked against the model facts read
straight from the knowledge base (conftest.violations), not against the engine's own views."""
from __future__ import annotations

import pytest

from embedwise.engine.recommend import recommend, why
from embedwise.engine.requirements import requirements_from_dict
from embedwise.kb import store

from engine_helpers import assert_shortlist_sound

SCENARIOS = {
    "english_search_gpu": {"task": "semantic_search"},
    "rag_chinese_english_legal": {
        "task": "rag", "data": {"languages": ["en", "zh"], "domain": "legal", "documents": 20_000_000},
        "deployment": {"gpu_memory_gb": 16, "latency_p95_ms": 100}, "budget": {"monthly_usd": 500}},
    "qa_on_prem_cpu": {
        "task": "question_answering",
        "deployment": {"data_must_stay_on_premises": True, "hardware": "cpu", "latency_p95_ms": 200}},
    "classification_german_permissive": {
        "task": "classification", "data": {"languages": ["de"]}, "license": {"permissive_only": True}},
    "clustering_small_dims": {"task": "clustering", "constraints": {"max_dimensions": 256}},
    "dedup_api_budget": {
        "task": "deduplication", "deployment": {"hosting": "api", "queries_per_day": 100_000},
        "data": {"documents": 5_000_000}, "budget": {"monthly_usd": 200, "priority": "cost"}},
    "reranking_accuracy": {"task": "reranking", "budget": {"priority": "accuracy"}},
    "code_search": {"task": "code_search", "data": {"domain": "code"}},
    "cross_modal_text_to_image": {
        "task": "cross_modal_search", "data": {"modality": "image", "query_modality": "text"}},
    "image_similarity": {"task": "recommendation", "data": {"modality": "image", "languages": []}},
    "audio_search": {"task": "semantic_search", "data": {"modality": "audio", "query_modality": "text"}},
    "multilingual_cross_lingual": {
        "task": "semantic_search", "data": {"languages": ["en", "fr", "es", "ar"], "cross_lingual": True}},
    "medical_fine_tune": {
        "task": "semantic_search", "data": {"domain": "medical"}, "constraints": {"fine_tuning": True}},
    "keyword_heavy_sparse": {
        "task": "semantic_search", "data": {"keyword_heavy": True}, "constraints": {"embedding_type": "sparse"}},
    "non_commercial_research": {"task": "rag", "license": {"commercial_use": False}},
    "small_gpu_max_params": {
        "task": "rag", "deployment": {"gpu_memory_gb": 4}, "constraints": {"max_parameters": "400M"}},
    "multi_vector_only": {"task": "semantic_search", "constraints": {"embedding_type": "multi_vector"}},
    "video_multimodal": {"task": "semantic_search", "data": {"modality": "video", "query_modality": "text"}},
}


@pytest.fixture(scope="module")
def records(curated_kb):
    db = store.open_db(curated_kb, build_if_missing=False)
    return {r.id: r for r in store.load_records(db)}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_is_sound(name, curated_db, records):
    req = requirements_from_dict(SCENARIOS[name])
    shortlist = recommend(req, db=curated_db)
    assert shortlist.total_models == len(records) >= 250
    assert len(shortlist.shortlist) + len(shortlist.excluded) == len(records)
    assert_shortlist_sound(shortlist, records, req, store.load_hardware_prices(curated_db))
    # ranked by score, except that a third model of one family is moved below the top five (family diversity)
    top5 = shortlist.shortlist[:5]
    families = [c.family or c.id for c in top5]
    assert all(families.count(f) <= 2 for f in families)
    held = [c for c in shortlist.shortlist if any("family diversity" in r for r in c.reasons)]
    rest = [c.score for c in shortlist.shortlist if c not in held]
    assert rest == sorted(rest, reverse=True)
    for c in shortlist.shortlist:
        assert round(sum(t.value for t in c.breakdown), 3) == pytest.approx(c.score, abs=1e-6)
        assert all(t.rule and t.reason for t in c.breakdown)
    assert shortlist.advice, "every scenario gets some advice"
    if shortlist.survivors == 0:
        assert shortlist.relaxation is not None and shortlist.relaxation.excluded_by


@pytest.mark.parametrize("name", ["english_search_gpu", "rag_chinese_english_legal", "qa_on_prem_cpu",
                                  "classification_german_permissive", "code_search", "cross_modal_text_to_image",
                                  "multilingual_cross_lingual", "dedup_api_budget", "non_commercial_research"])
def test_scenario_has_candidates(name, curated_db):
    shortlist = recommend(requirements_from_dict(SCENARIOS[name]), db=curated_db)
    assert shortlist.survivors > 0, [e.reasons for e in shortlist.excluded[:5]]


def test_commercial_use_excludes_nc_and_unknown_licences(curated_db, records):
    req = requirements_from_dict({"license": {"commercial_use": True}})
    shortlist = recommend(req, db=curated_db)
    nc = [r for r in records.values() if r.license.startswith("CC-BY-NC")]
    unknown = [r for r in records.values() if r.license == "LicenseRef-Unknown"]
    assert nc and unknown
    for rec in nc + unknown:
        exc = shortlist.exclusion(rec.id)
        assert exc is not None, rec.id
        assert any(r.rule.startswith("research.license") for r in exc.reasons)
    text = next(r.text for r in shortlist.exclusion(unknown[0].id).reasons if r.rule == "research.license.unknown")
    assert "unknown" in text and "commercial" in text
    # without the commercial requirement, the non-commercial models come back
    free = recommend(requirements_from_dict({"license": {"commercial_use": False}}), db=curated_db)
    assert any(free.candidate(r.id) for r in nc)


def test_on_premises_never_lists_an_api(curated_db, records):
    req = requirements_from_dict({"deployment": {"data_must_stay_on_premises": True}})
    shortlist = recommend(req, db=curated_db)
    assert shortlist.shortlist
    assert all(records[c.id].hosting != "api" and records[c.id].open_weights for c in shortlist.shortlist)
    api = [r for r in records.values() if r.hosting == "api"]
    assert api and all(shortlist.exclusion(r.id) for r in api)


def test_cross_modal_top_model_embeds_both(curated_db, records):
    req = requirements_from_dict(SCENARIOS["cross_modal_text_to_image"])
    top = recommend(req, db=curated_db, top=3).shortlist
    assert top
    for c in top:
        assert {"text", "image"} <= set(records[c.id].input_modalities)


def test_retrieval_ranks_by_retrieval_score(curated_db):
    shortlist = recommend(requirements_from_dict({"task": "rag"}), db=curated_db)
    first = shortlist.shortlist[0]
    bench = [t for t in first.breakdown if t.rule == "task.benchmark.evidence"]
    assert bench and "MTEB(eng, v2) retrieval" in bench[0].reason
    assert first.evidence and first.evidence[0]["benchmark"] == "MTEB(eng, v2)"
    assert first.evidence[0]["task_type"] == "Retrieval"


def test_api_cost_estimate_and_budget(curated_db, records):
    req = requirements_from_dict({"deployment": {"hosting": "api", "queries_per_day": 100_000},
                                  "data": {"documents": 1_000_000, "avg_doc_tokens": 500}})
    shortlist = recommend(req, db=curated_db)
    priced = [c for c in shortlist.shortlist if records[c.id].price_per_million_tokens is not None]
    assert priced
    c = priced[0]
    p = records[c.id].price_per_million_tokens
    assert c.cost["breakdown"]["queries_usd_per_month"] == pytest.approx(100_000 * 30 * 32 / 1e6 * p, abs=0.01)
    index_price = records[c.id].batch_price_per_million_tokens or p
    free = records[c.id].free_tokens or 0
    assert c.cost["one_off_usd"] == pytest.approx(max(1_000_000 * 500 - free, 0) / 1e6 * index_price, abs=0.01)
    assert c.cost["monthly_usd"] < c.cost["one_off_usd"] + c.cost["monthly_usd"]  # indexing is not spread over months
    tight = requirements_from_dict({"deployment": {"hosting": "api", "queries_per_day": 100_000},
                                    "data": {"documents": 1_000_000, "avg_doc_tokens": 500},
                                    "budget": {"monthly_usd": c.cost["monthly_usd"] / 2,
                                               "one_off_usd": c.cost["one_off_usd"] * 10 + 1}})
    assert recommend(tight, db=curated_db).exclusion(c.id) is not None


def test_impossible_requirements_explain_the_best_relaxation(curated_db):
    req = requirements_from_dict({"task": "semantic_search", "deployment": {"hardware": "cpu", "hosting": "self_host"},
                                  "constraints": {"max_parameters": "1M", "embedding_type": "dense",
                                                  "max_dimensions": 16}})
    shortlist = recommend(req, db=curated_db)
    assert shortlist.survivors == 0
    relax = shortlist.relaxation
    assert relax.best is not None and relax.best.brings_back > 0
    assert "max_parameters" in relax.best.relax or "max_dimensions" in relax.best.relax
    assert relax.excluded_by[0]["excludes"] >= relax.excluded_by[-1]["excludes"]


def test_why_explains_rank_and_exclusion(curated_db):
    shortlist = recommend(requirements_from_dict({"license": {"commercial_use": True}}), db=curated_db)
    top = shortlist.shortlist[0]
    assert "ranks #1" in why(shortlist, top.id)
    excluded = shortlist.excluded[0]
    text = why(shortlist, excluded.id)
    assert "excluded" in text and excluded.reasons[0].rule in text


@pytest.mark.parametrize("data, family", [({"modality": "audio"}, "MAEB"),
                                          ({"modality": "image", "query_modality": "text"}, "MIEB")])
def test_text_benchmarks_never_rank_non_text_data(curated_db, data, family):
    """MTEB measures text embeddings: an omni model's text classification score says nothing about audio; the
    benchmark of the modality (MAEB, MIEB) does."""
    req = requirements_from_dict({"task": "classification", "data": data})
    result = recommend(req, curated_db)
    assert result.shortlist
    for candidate in result.shortlist:
        assert all(e["benchmark"].startswith(family) for e in candidate.evidence), candidate.id
        assert not any(e["benchmark"].startswith("MTEB(") for e in candidate.evidence), candidate.id
    assert any(c.evidence for c in result.shortlist[:5])
