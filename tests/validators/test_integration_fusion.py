"""Hybrid BM25 + dense fusion and cross-encoder reranking, measured through `validate` on small data with a tiny
random BERT (dense) and a tiny random cross-encoder (BertForSequenceClassification, one label) built here; the
fusion's verdict on hand-made rankings where the answer is known."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from embedwise.validators.data import RetrievalSet, load_data
from embedwise.validators.integration import IntegrationOptions
from embedwise.validators.integration import hybrid as H
from embedwise.validators.integration.rerank import load_reranker, rerank_query
from embedwise.validators.run import validate


@pytest.fixture(scope="module")
def tiny_cross_encoder(tiny_model, tmp_path_factory) -> Path:
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    folder = tmp_path_factory.mktemp("tiny_ce") / "ce"
    torch.manual_seed(2)
    config = BertConfig.from_pretrained(tiny_model, num_labels=1)
    BertForSequenceClassification(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_model).save_pretrained(folder)
    return folder


def test_rrf_and_weighted_fusion():
    dense, bm25 = {"a": 0.9, "b": 0.5, "c": 0.1}, {"b": 12.0, "d": 3.0}
    fused = H.rrf([dense, bm25])
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61) and fused["a"] == pytest.approx(1 / 61)
    assert fused["d"] == pytest.approx(1 / 62) and max(fused, key=fused.get) == "b"
    nd, nb = H.min_max(dense), H.min_max(bm25)
    assert nd == pytest.approx({"a": 1.0, "b": 0.5, "c": 0.0}) and nb == {"b": 1.0, "d": 0.0}
    assert H.weighted(nd, nb, 1.0) == pytest.approx({"a": 1.0, "b": 0.5, "c": 0.0, "d": 0.0})
    assert H.weighted(nd, nb, 0.5)["b"] == pytest.approx(0.75)
    tuning, held_out = H.split_queries([f"q{i}" for i in range(9)], seed=3)
    assert len(tuning) == 4 and len(held_out) == 5 and not set(tuning) & set(held_out)
    assert H.split_queries([f"q{i}" for i in range(9)], seed=3) == (tuning, held_out)


def _crossed_rankings(n: int = 40) -> tuple[RetrievalSet, dict]:
    """Queries whose relevant document is second in both lists, behind a different distractor in each: BM25 puts the
    document sharing both query words first, the dense list (made here) a document without them."""
    corpus, queries, qrels, dense = {}, {}, {}, {}
    for i in range(n):
        corpus[f"rel{i}"] = ("", f"zork{i} plain words")
        corpus[f"kw{i}"] = ("", f"zork{i} blip{i} plain words")
        corpus[f"sem{i}"] = ("", f"other text {i}")
        queries[f"q{i}"] = f"zork{i} blip{i}"
        qrels[f"q{i}"] = {f"rel{i}": 1}
        dense[f"q{i}"] = {f"sem{i}": 0.95, f"rel{i}": 0.9, f"kw{i}": 0.1}
    ds = RetrievalSet(corpus=corpus, queries=queries, qrels=qrels, name="crossed", source="test")
    state = {"doc_ids": list(corpus), "doc_texts": [ds.doc_text(d) for d in corpus], "query_ids": list(queries),
             "query_texts": list(queries.values()), "results": dense}
    return ds, state


def test_fusion_that_fixes_both_parts_is_recommended():
    ds, state = _crossed_rankings()
    h = H.measure_hybrid(None, ds, state, IntegrationOptions(hybrid=True, seed=7), lambda *a: None)
    assert h["status"] == "ok" and h["queries"] == {"tuning": 20, "held_out": 20}
    assert h["dense"]["metrics"]["ndcg_at_10"] == pytest.approx(1 / 1.5849625, rel=1e-4)  # second place: 1/log2(3)
    assert h["bm25"]["metrics"]["ndcg_at_10"] == pytest.approx(1 / 1.5849625, rel=1e-4)
    weighted = h["methods"]["weighted"]
    assert weighted["metrics"]["ndcg_at_10"] == 1.0 and 0.0 < weighted["weight"] < 1.0
    assert weighted["vs_dense"]["significant"] and weighted["vs_bm25"]["n"] == 20
    best = h["methods"][h["best_method"]]
    assert h["gain_ndcg_at_10"] == pytest.approx(best["metrics"]["ndcg_at_10"] - 1 / 1.5849625, abs=1e-4)
    assert h["recommended"] is True and h["p_value"] < 0.001 and h["verdict"].startswith("hybrid:")
    assert 0 < h["added_latency_ms"]["p50"] <= h["added_latency_ms"]["p95"]


def test_fusing_a_ranking_with_itself_is_not_recommended():
    ds, state = _crossed_rankings()
    _, state["results"] = H.bm25_run(ds, state["doc_ids"], state["doc_texts"], state["query_ids"],
                                     state["query_texts"])
    h = H.measure_hybrid(None, ds, state, IntegrationOptions(hybrid=True), lambda *a: None)
    assert h["gain_ndcg_at_10"] == pytest.approx(0.0) and h["recommended"] is False
    assert h["verdict"].startswith("no significant gain")


def test_bm25_is_indexed_once_per_data_set():
    ds, state = _crossed_rankings(4)
    args = (state["doc_ids"], state["doc_texts"], state["query_ids"], state["query_texts"])
    index, first = H.bm25_run(ds, *args)
    assert H.bm25_run(ds, *args) == (index, first) and H.bm25_run(ds, *args)[1] is first
    other, _ = _crossed_rankings(4)
    assert H.bm25_run(other, *args)[0] is not index


def test_validate_hybrid_and_rerank_end_to_end(tiny_model, tiny_cross_encoder, beir_dir, tmp_path):
    from embedwise.validators.report import to_html, to_markdown

    options = IntegrationOptions(hybrid=True, rerank=str(tiny_cross_encoder), seed=5)
    report = validate(beir_dir, models=[str(tiny_model)], out=tmp_path / "out", store=False, measure_speed=False,
                      measure_robustness=False, use_cache=False, device="cpu", integration=options)
    dense_run, bm25_run = report.runs
    assert dense_run.status == "ok" and bm25_run.status == "ok"

    h = dense_run.hybrid
    assert h["status"] == "ok" and h["queries"] == {"tuning": 4, "held_out": 4} and h["weight"] in H.WEIGHTS
    tuning, held_out = H.split_queries([f"q{i}" for i in range(8)], 5)
    # each part alone: the model's own per-query figures and validate's BM25 baseline, on the held-out half
    mean_dense = sum(dense_run.per_query["ndcg_at_10"][q] for q in held_out) / 4
    assert h["dense"]["metrics"]["ndcg_at_10"] == pytest.approx(mean_dense)
    assert h["bm25"]["metrics"]["ndcg_at_10"] == pytest.approx(
        sum(bm25_run.per_query["ndcg_at_10"][q] for q in held_out) / 4)
    assert set(h["methods"]) == {"rrf", "weighted"} and h["best_method"] in h["methods"]
    for method in h["methods"].values():
        assert method["vs_dense"]["n"] == 4 and method["vs_bm25"]["n"] == 4
    assert isinstance(h["recommended"], bool) and h["best_single"] in ("dense", "bm25")
    assert not bm25_run.hybrid  # BM25 is not fused with itself

    x = dense_run.rerank
    assert x["status"] == "ok" and x["queries"] == 8 and x["candidates_per_query"] == 20.0
    assert x["metrics_before"]["ndcg_at_10"] == pytest.approx(dense_run.metrics["ndcg_at_10"])
    assert x["metrics_after"]["recall_at_100"] == x["metrics_before"]["recall_at_100"] == 1.0  # same documents
    assert x["gain_ndcg_at_10"] == pytest.approx(x["metrics_after"]["ndcg_at_10"] - x["metrics_before"]["ndcg_at_10"],
                                                 abs=1e-4)
    assert 0 < x["added_latency_ms"]["p50"] <= x["added_latency_ms"]["p95"] and x["test"]["n"] == 8
    assert bm25_run.rerank["status"] == "ok"  # a sparse run is reranked too

    md, html = to_markdown(report), to_html(report)
    assert "## Hybrid search (BM25 + dense)" in md and "## Reranking" in md and h["verdict"] in md
    assert "<h2>Hybrid search (BM25 + dense)</h2>" in html and "<h2>Reranking</h2>" in html
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["runs"][0]["hybrid"]["best_method"] == h["best_method"]
    assert saved["runs"][0]["rerank"]["added_latency_ms"]["p50"] == x["added_latency_ms"]["p50"]


def test_the_reranker_orders_the_top_by_its_scores(tiny_cross_encoder, beir_dir):
    ds = load_data(beir_dir)
    reranker = load_reranker(str(tiny_cross_encoder), "cpu")
    texts = {d: ds.doc_text(d) for d in ds.corpus}
    ranked = list(ds.corpus)
    reordered = rerank_query(reranker, ds.queries["q0"], ranked, texts, depth=5)
    scores = reranker.predict([(ds.queries["q0"], texts[d]) for d in ranked[:5]])
    assert reordered[:5] == [ranked[i] for i in sorted(range(5), key=lambda i: -scores[i])]
    assert reordered[5:] == ranked[5:]  # below the depth the order is kept


def test_a_reranker_that_cannot_load_fails_alone(tiny_model, beir_dir, tmp_path):
    from rich.console import Console

    from embedwise.validators.report import print_summary

    options = IntegrationOptions(rerank=str(tmp_path / "no-such-reranker"))
    report = validate(beir_dir, models=[str(tiny_model)], out=tmp_path / "out", store=False, measure_speed=False,
                      measure_robustness=False, include_bm25=False, use_cache=False, device="cpu",
                      integration=options)
    (run,) = report.runs
    assert run.status == "ok" and run.metrics["ndcg_at_10"] > 0
    assert run.rerank["status"] == "failed" and "could not load the reranker" in run.rerank["error"]
    console = Console(record=True, width=200)
    print_summary(report, console)
    assert "reranker failed" in console.export_text()


def test_cli_hybrid_and_rerank(tiny_model, tiny_cross_encoder, beir_dir, tmp_path, kb):
    from typer.testing import CliRunner

    from embedwise.cli import app

    result = CliRunner().invoke(app, ["validate", "--data", str(beir_dir), "--models", str(tiny_model), "--hybrid",
                                      "--rerank", str(tiny_cross_encoder), "--no-speed", "--no-robustness",
                                      "--no-cache", "--out", str(tmp_path / "o"), "--json"])
    assert result.exit_code == 0, result.output
    runs = json.loads(result.stdout)["runs"]
    assert runs[0]["hybrid"]["status"] == "ok" and runs[0]["rerank"]["status"] == "ok"
    assert {"recommended", "best_method", "gain_ndcg_at_10"} <= set(runs[0]["hybrid"])
