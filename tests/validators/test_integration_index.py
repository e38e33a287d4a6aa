"""The vector-database measurements through a real Milvus Lite (embedded, no mock): index settings, recall against
exact search, the server code path (a Milvus Lite gRPC server on 127.0.0.1 stands in for the user's cluster), and
`validate --index milvus --compression` end to end, in Python and through the CLI."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from embedwise.validators.integration import IntegrationOptions
from embedwise.validators.integration.vectordb import measure_index
from embedwise.validators.metrics import dense_search, retrieval_metrics

ENTRY_KEYS = {"kind", "params", "recall_at_10", "metrics", "build_s", "disk_mb", "memory_mb", "latency_ms"}


def clustered(n_docs: int, n_queries: int, dim: int, seed: int = 0):
    """Documents around 24 centres; each query is a noisy copy of one document, which is its one relevant answer."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((24, dim))
    docs = (centres[rng.integers(0, 24, n_docs)] + 0.6 * rng.standard_normal((n_docs, dim))).astype(np.float32)
    answer = rng.integers(0, n_docs, n_queries)
    queries = (docs[answer] + 0.4 * rng.standard_normal((n_queries, dim))).astype(np.float32)
    doc_ids = [f"d{i}" for i in range(n_docs)]
    query_ids = [f"q{i}" for i in range(n_queries)]
    qrels = {q: {doc_ids[a]: 1} for q, a in zip(query_ids, answer)}
    state = {"doc_vecs": docs, "query_vecs": queries, "doc_ids": doc_ids, "query_ids": query_ids,
             "results": dense_search(queries, docs, query_ids, doc_ids)}
    return SimpleNamespace(qrels=qrels), state


def progress_log():
    calls = []
    return calls, lambda stage, done, total: calls.append((stage, done, total))


def test_each_index_is_really_built_and_searched_through_milvus_lite(tmp_path):
    ds, state = clustered(800, 40, 16)
    calls, progress = progress_log()
    entries = measure_index(SimpleNamespace(name="tiny/model"), ds, state,
                            IntegrationOptions(index="milvus", out_dir=tmp_path, index_requests=16), progress)
    assert all(set(e) == ENTRY_KEYS for e in entries), [set(e) - ENTRY_KEYS for e in entries]
    assert [e["kind"] for e in entries] == ["FLAT", "HNSW", "HNSW", "HNSW", "HNSW", "IVF_FLAT", "IVF_FLAT", "IVF_SQ8"]
    exact_metrics, _ = retrieval_metrics(ds.qrels, {q: dict(sorted(r.items(), key=lambda x: -x[1])[:100])
                                                    for q, r in state["results"].items()})
    flat = entries[0]
    assert flat["recall_at_10"] == 1.0
    assert flat["metrics"]["ndcg_at_10"] == pytest.approx(exact_metrics["ndcg_at_10"], abs=1e-4)
    ivf_few, ivf_many = entries[5], entries[6]
    assert ivf_few["params"]["build"] == {"nlist": 20}
    assert ivf_few["params"]["search"]["nprobe"] < ivf_many["params"]["search"]["nprobe"]
    # one probe of 20 lists misses neighbours: a brute-force scan (unflushed rows, an old Milvus Lite) would not
    assert ivf_few["recall_at_10"] < 0.99 and ivf_few["recall_at_10"] <= ivf_many["recall_at_10"]
    small_graph, big_graph = entries[1], entries[3]
    assert small_graph["params"]["build"] == {"M": 8, "efConstruction": 64}
    # M=16 stores twice the links: the build params reached the index
    assert big_graph["memory_mb"] > small_graph["memory_mb"] and big_graph["disk_mb"] > small_graph["disk_mb"]
    assert entries[-1]["memory_mb"] < ivf_few["memory_mb"] / 2  # IVF_SQ8 keeps int8 codes, IVF_FLAT float32
    assert ivf_few["memory_mb"] >= 800 * 16 * 4 / 2**20  # at least the vectors themselves
    for e in entries:
        assert e["build_s"] > 0 and e["memory_mb"] > 0 and 0 <= e["recall_at_10"] <= 1
        assert set(e["latency_ms"]) == {"1", "4", "16"}
        for level in e["latency_ms"].values():
            assert 0 < level["p50"] <= level["p95"] <= level["p99"] and level["qps"] > 0
    assert calls[-1] == ("index", 8, 8)
    assert not list(tmp_path.iterdir()), "the Milvus Lite folder is removed after the run"


def test_a_server_uri_takes_the_same_code_path_and_drops_its_collections(tmp_path):
    from milvus_lite.server_manager import server_manager_instance
    from pymilvus import MilvusClient

    server_db = str(tmp_path / "server.db")
    uri = server_manager_instance.start_and_get_uri(server_db)
    try:
        ds, state = clustered(60, 6, 8, seed=1)
        _, progress = progress_log()
        entries = measure_index(SimpleNamespace(name="m"), ds, state,
                                IntegrationOptions(index="milvus", index_uri=uri, out_dir=tmp_path / "out",
                                                   index_requests=16), progress)
        assert entries[0]["recall_at_10"] == 1.0
        assert all(e["disk_mb"] is None and e["memory_mb"] is None and "server" in e["note"] for e in entries)
        assert all(e["latency_ms"]["16"]["qps"] > 0 for e in entries)
        client = MilvusClient(uri=uri)
        assert client.list_collections() == []
        client.close()
        assert not (tmp_path / "out").exists(), "no Milvus Lite file is made when a server is named"
    finally:
        server_manager_instance.release_server(server_db)


def test_validate_measures_the_index_and_compression_and_reports_the_plan(beir_dir, tiny_model, tmp_path):
    from embedwise.validators.run import validate

    out = tmp_path / "report"
    report = validate(beir_dir, models=[str(tiny_model)], include_bm25=False, measure_speed=False,
                      measure_robustness=False, store=False, use_cache=False, out=out,
                      integration=IntegrationOptions(index="milvus", compression=True, index_requests=16))
    (run,) = report.runs
    assert run.status == "ok", run.error
    assert [e["kind"] for e in run.index] == ["FLAT", "HNSW", "HNSW"]  # 20 documents: too few for IVF lists
    assert run.index[0]["metrics"]["ndcg_at_10"] == pytest.approx(run.metrics["ndcg_at_10"], abs=1e-4)
    assert run.compression[0]["ndcg_at_10"] == pytest.approx(run.metrics["ndcg_at_10"], abs=1e-4)
    assert sum(e["recommended"] for e in run.compression) == 1
    assert not list(out.glob("*.db")), "the Milvus Lite file is removed without keep_index"
    markdown = (out / "report.md").read_text()
    for section in ("## Vector database (Milvus)", "## Compression", "## Integration plan"):
        assert section in markdown
    plan = markdown[markdown.index("## Integration plan"):]
    assert "Index: Milvus " in plan and "Vectors: " in plan
    assert "Hybrid BM25 + dense: not measured" in plan and "Reranker: not measured" in plan
    html = (out / "report.html").read_text()
    assert "Quality vs bytes per vector" in html and "<h2>Integration plan</h2>" in html


@pytest.mark.parametrize("keep", [False, True])
def test_cli_json_has_the_index_and_compression_and_keeps_the_file_only_when_asked(beir_dir, tiny_model, tmp_path,
                                                                                   kb, keep):
    from typer.testing import CliRunner

    from embedwise.cli import app

    out = tmp_path / "out"
    args = ["validate", "--data", str(beir_dir), "--models", str(tiny_model), "--out", str(out), "--json",
            "--no-speed", "--no-robustness", "--no-bm25", "--no-cache", "--index", "milvus", "--compression"]
    result = CliRunner().invoke(app, args + (["--keep-index"] if keep else []))
    assert result.exit_code == 0, result.output
    (run,) = json.loads(result.stdout)["runs"]
    assert run["status"] == "ok", run["error"]
    assert run["index"] and all(ENTRY_KEYS <= set(e) for e in run["index"])
    assert run["compression"] and all({"precision", "dims", "ndcg_at_10", "recall_at_100", "bytes_per_vector"}
                                      <= set(e) for e in run["compression"])
    kept = list(out.glob("*.db"))
    if not keep:
        assert kept == []
        return
    (db,) = kept
    assert str(db) in run["index"][0]["note"]
    from milvus_lite.server_manager import server_manager_instance
    from pymilvus import MilvusClient

    client = MilvusClient(str(db))  # the kept file opens as a database with one collection per index build
    try:
        names = client.list_collections()
        assert len(names) == 3
        assert client.get_collection_stats(names[0])["row_count"] == len(Path(beir_dir, "corpus.jsonl").read_text()
                                                                        .splitlines())
    finally:
        client.close()
        server_manager_instance.release_server(str(db))


def test_the_plan_states_each_measured_choice_with_its_cost_and_names_what_was_not_measured():
    from embedwise.validators.integration import render
    from embedwise.validators.report import to_html, to_markdown
    from embedwise.validators.results import ModelRun, Report

    def index_entry(kind, ndcg, p50, disk=10.0, memory=20.0):
        return {"kind": kind, "params": {"build": {"M": 16}, "search": {"ef": 100}, "metric": "COSINE", "limit": 100},
                "recall_at_10": 0.9, "metrics": {"ndcg_at_10": ndcg}, "build_s": 1.5, "disk_mb": disk,
                "memory_mb": memory, "latency_ms": {str(c): {"p50": p50, "p95": p50 * 2, "p99": p50 * 3, "qps": 100.0}
                                                    for c in (1, 4, 16)}}

    def compression_entry(precision, size, ndcg, recommended):
        return {"precision": precision, "dims": 384, "ndcg_at_10": ndcg, "recall_at_100": 0.9, "rescore": None,
                "bytes_per_vector": size, "index_mb_at_user_docs": size * 1e6 / 2**20, "documents": 1_000_000,
                "documents_source": "requirements", "loss": 0.70 - ndcg, "allowed_loss": 0.01, "pareto": True,
                "recommended": recommended}

    run = ModelRun(model="m", status="ok", metrics={"ndcg_at_10": 0.70}, info={"dimension": 384},
                   index=[index_entry("HNSW", 0.60, 1.0), index_entry("IVF_FLAT", 0.695, 2.0)],
                   compression=[compression_entry("float32", 1536, 0.70, False),
                                compression_entry("int8", 384, 0.695, True)],
                   rerank={"status": "ok", "model": "ce", "depth": 100, "queries": 8, "candidates_per_query": 20.0,
                           "metrics_before": {"ndcg_at_10": 0.70}, "metrics_after": {"ndcg_at_10": 0.73},
                           "gain_ndcg_at_10": 0.03, "p_value": 0.001, "significant": True,
                           "added_latency_ms": {"p50": 40.0, "p95": 55.0, "mean": 42.0}, "verdict": "pays"})
    report = Report(run_id="r", created_at="now", task="retrieval", main_metric="ndcg_at_10", synthetic=False,
                    dataset={"name": "d", "documents": 1000}, runs=[run], best="m")
    assert render.chosen_index(run)["kind"] == "IVF_FLAT"  # HNSW is faster but loses 0.10 nDCG@10
    plan = "\n".join(render.plan_lines(report))
    assert "Vectors: int8 · 384d, 384 bytes per vector" in plan and "-0.0050" in plan
    assert "Index: Milvus IVF_FLAT" in plan and "p50/p95 2.00/4.00 ms" in plan
    assert "at 1,000,000 documents (requirements)" in plan and "projected linearly (not measured)" in plan
    assert "latency and recall at 1,000,000 (requirements) were not measured" in plan
    assert "Hybrid BM25 + dense: not measured (add --hybrid)" in plan
    assert "Reranker: yes; ce over the top 100: +0.0300 nDCG@10" in plan and "40.0 ms p50" in plan
    assert "## Integration plan" in to_markdown(report) and "Quality vs bytes per vector" in to_html(report)
