"""Compression maths on vectors whose answers are known: bytes per vector, int8 calibration, binary search with and
without float rescoring, Matryoshka truncation from the knowledge base's dimensions, the Pareto set and the
recommendation, and the memory at the user's document count."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from embedwise.validators.integration import IntegrationOptions
from embedwise.validators.integration.compression import (
    bytes_per_vector,
    int8_roundtrip,
    mark_choices,
    measure_compression,
)
from embedwise.validators.metrics import dense_search, retrieval_metrics


def noop(stage: str, done: int, total: int) -> None:
    pass


def sign_trap():
    """Query q0's answer d0 has nearly its direction but the other sign in a tiny second component, while d1 shares
    both signs at a wide angle: binary Hamming search ranks d1 first, float search and rescoring rank d0 first."""
    docs = np.array([[1.0, -0.01], [0.3, 1.0], [-1.0, -1.0]], dtype=np.float32)
    queries = np.array([[1.0, 0.01]], dtype=np.float32)
    state = {"doc_vecs": docs, "query_vecs": queries, "doc_ids": ["d0", "d1", "d2"], "query_ids": ["q0"]}
    return SimpleNamespace(qrels={"q0": {"d0": 1}}), state


def by_name(entries: list[dict]) -> dict[tuple, dict]:
    return {(e["precision"], e["dims"], e["rescore"]): e for e in entries}


def test_bytes_per_vector():
    assert bytes_per_vector("float32", 384) == 1536
    assert bytes_per_vector("float16", 384) == 768
    assert bytes_per_vector("int8", 384) == 384
    assert bytes_per_vector("binary", 384) == 48
    assert bytes_per_vector("binary", 12) == 2  # bits are stored in whole bytes


def test_int8_is_calibrated_per_dimension_on_the_corpus():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((500, 6)).astype(np.float32) * np.array([1, 10, 0.01, 3, 0.5, 100], dtype=np.float32)
    decoded = int8_roundtrip(x)
    step = (x.max(axis=0) - x.min(axis=0)) / 255
    assert np.all(np.abs(decoded - x) <= step / 2 + 1e-6)  # at most half a level off, in every dimension's own scale
    assert len(np.unique(decoded[:, 2])) <= 256


def test_binary_loses_the_answer_and_float_rescoring_recovers_it():
    ds, state = sign_trap()
    entries = measure_compression(SimpleNamespace(record=None), ds, state, IntegrationOptions(compression=True), noop)
    got = by_name(entries)
    assert got[("float32", 2, None)]["ndcg_at_10"] == pytest.approx(1.0)
    assert got[("binary", 2, None)]["ndcg_at_10"] == pytest.approx(1 / np.log2(3))  # the answer at rank 2
    rescored = got[("binary", 2, "float32 top 100")]
    assert rescored["ndcg_at_10"] == pytest.approx(1.0)
    # binary alone is 0.37 worse: the recommendation is the rescored binary, as small and as good as float32
    assert [e for e in entries if e["recommended"]] == [rescored]
    assert rescored["bytes_per_vector"] == 1 and rescored["loss"] == pytest.approx(0.0)
    assert not got[("binary", 2, None)]["pareto"] and rescored["pareto"]
    assert "no knowledge-base record" in entries[0]["note"]
    assert entries[0]["documents"] == 3 and entries[0]["documents_source"] == "data set"


def test_matryoshka_truncation_at_the_knowledge_base_dimensions_is_renormalised_exact_search():
    rng = np.random.default_rng(3)
    docs = rng.standard_normal((40, 8)).astype(np.float32)
    queries = docs[:10] + 0.8 * rng.standard_normal((10, 8)).astype(np.float32)
    doc_ids, query_ids = [f"d{i}" for i in range(40)], [f"q{i}" for i in range(10)]
    ds = SimpleNamespace(qrels={q: {d: 1} for q, d in zip(query_ids, doc_ids)})
    state = {"doc_vecs": docs, "query_vecs": queries, "doc_ids": doc_ids, "query_ids": query_ids}
    enc = SimpleNamespace(record=SimpleNamespace(dimensions=[8, 4, 2, 16]))
    entries = measure_compression(enc, ds, state, IntegrationOptions(compression=True), noop)
    got = by_name(entries)
    assert {(p, d) for p, d, _ in got if d < 8} == {("float32", 4), ("int8", 4), ("float32", 2), ("int8", 2)}
    expected, _ = retrieval_metrics(ds.qrels, dense_search(queries[:, :4], docs[:, :4], query_ids, doc_ids))
    assert got[("float32", 4, None)]["ndcg_at_10"] == pytest.approx(expected["ndcg_at_10"], abs=1e-5)
    assert got[("float32", 4, None)]["bytes_per_vector"] == 16 and got[("int8", 2, None)]["bytes_per_vector"] == 2
    assert "note" not in entries[0]


def test_a_single_listed_dimension_means_no_truncation_and_says_so():
    ds, state = sign_trap()
    enc = SimpleNamespace(record=SimpleNamespace(dimensions=[2]))
    entries = measure_compression(enc, ds, state, IntegrationOptions(compression=True), noop)
    assert {e["dims"] for e in entries} == {2}
    assert "lists one dimension (2)" in entries[0]["note"]


def test_memory_at_the_users_document_count():
    ds, state = sign_trap()
    entries = measure_compression(SimpleNamespace(record=None), ds, state,
                                  IntegrationOptions(compression=True, documents=2_000_000), noop)
    float32 = entries[0]
    assert float32["documents"] == 2_000_000 and float32["documents_source"] == "requirements"
    assert float32["index_mb_at_user_docs"] == pytest.approx(8 * 2_000_000 / 2**20, abs=1e-3)


def test_pareto_and_the_smallest_setting_within_the_allowed_loss():
    def entry(precision, size, ndcg):
        return {"precision": precision, "dims": 4, "rescore": None, "bytes_per_vector": size, "ndcg_at_10": ndcg}

    entries = [entry("float32", 16, 0.70), entry("float16", 8, 0.70), entry("int8", 4, 0.695),
               entry("binary", 1, 0.60)]
    mark_choices(entries, 0.01)
    assert [e["pareto"] for e in entries] == [False, True, True, True]  # float32 is no better than float16
    assert [e["precision"] for e in entries if e["recommended"]] == ["int8"]
    mark_choices(entries, 0.2)
    assert [e["precision"] for e in entries if e["recommended"]] == ["binary"]
    mark_choices(entries, 0.0)
    assert [e["precision"] for e in entries if e["recommended"]] == ["float16"]


def test_requirements_that_state_a_document_count_reach_the_compression_entries(beir_dir, tiny_model, kb):
    from embedwise.engine.requirements import Requirements
    from embedwise.validators.run import validate

    requirements = Requirements.model_validate({"data": {"documents": 5_000_000}})
    report = validate(beir_dir, models=[str(tiny_model)], requirements=requirements, db=kb, include_bm25=False,
                      measure_speed=False, measure_robustness=False, store=False, use_cache=False, write_files=False,
                      integration=IntegrationOptions(compression=True))
    (run,) = report.runs
    assert run.status == "ok", run.error
    assert {(e["documents"], e["documents_source"]) for e in run.compression} == {(5_000_000, "requirements")}
    assert run.index == []  # only what was asked
