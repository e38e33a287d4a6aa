"""validate() end to end on small data: every task, failures that do not stop the others, the cache, progress,
the report files and the runs stored in the knowledge base."""
from __future__ import annotations

import json

import pytest

from embedwise.validators.load import SpeedConfig
from embedwise.validators.run import MAIN_METRIC, validate

TINY_SPEED = SpeedConfig(sample_texts=6, batch_sizes=(1, 4), concurrency=(1, 4, 16), requests_per_level=16)
RETRIEVAL_METRICS = {f"{fam}_at_{k}" for fam in ("ndcg", "map", "recall", "precision", "mrr") for k in (1, 3, 5, 10, 100)}


@pytest.fixture
def events():
    return []


def record(events):
    return lambda stage, done, total: events.append((stage, done, total))


def test_retrieval_end_to_end(tiny_model, beir_dir, tmp_path, kb, events):
    tiny = str(tiny_model)
    report = validate(beir_dir, models=[tiny, "nobody/not-a-model"], out=tmp_path / "out", db=kb,
                      speed_config=TINY_SPEED, progress=record(events))
    assert report.task == "retrieval" and report.main_metric == "ndcg_at_10" and not report.synthetic
    assert [r.model for r in report.runs] == [tiny, "nobody/not-a-model", "bm25"]
    ok, failed, bm25 = report.runs
    assert ok.status == "ok" and bm25.status == "ok"
    assert failed.status == "failed" and "could not load" in failed.error
    assert RETRIEVAL_METRICS <= set(ok.metrics) and RETRIEVAL_METRICS <= set(bm25.metrics)
    assert bm25.metrics["ndcg_at_10"] > 0.8  # the queries share words with their documents
    assert set(ok.per_query["ndcg_at_10"]) == {f"q{i}" for i in range(8)}
    # speed under load
    s = ok.speed
    assert [t["batch_size"] for t in s["throughput"]] == [1, 4] and s["best_docs_per_s"] > 0
    assert [lat["concurrency"] for lat in s["latency"]] == [1, 4, 16]
    assert all(lat["p50_ms"] <= lat["p95_ms"] <= lat["p99_ms"] for lat in s["latency"])
    assert s["load_seconds"] > 0 and s["peak_rss_mb"] > 0 and s["sample_texts"] == 6
    # robustness
    rob = ok.robustness
    assert rob["edge_cases_ok"] == rob["edge_cases_total"] == 9
    assert rob["edge_cases"]["very_long"]["truncated"] and "truncated" in rob["edge_cases"]["very_long"]["handling"]
    assert set(rob["queries"]["perturbations"]) == {"typos", "casing", "punctuation"}
    assert bm25.robustness["queries"]["perturbations"]["typos"]["ndcg_drop"] >= 0
    # cost
    assert ok.cost["hosting"] == "self_host" and ok.cost["hardware_class"] and ok.cost["corpus_tokens"] > 0
    # significance
    assert len(report.comparisons) == 1 and report.comparisons[0].metric == "ndcg_at_10"
    # progress: the models and each model's stages
    stages = {e[0] for e in events}
    assert ("models", 3, 3) in events and f"{tiny}: embedding corpus" in stages and f"{tiny}: speed" in stages
    # the files
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    for run in data["runs"]:
        assert {"model", "status", "metrics", "speed", "robustness", "cost"} <= set(run)
    html = (tmp_path / "out" / "report.html").read_text()
    assert html.count("<svg") >= 3 and "Quality vs latency" in html and "<script" not in html.split("<body>")[1].split("Robustness")[0]
    md = (tmp_path / "out" / "report.md").read_text()
    assert "| model |" in md and "ndcg_at_10" in md and "not-a-model" in md
    # the knowledge base has one row per model
    rows = list(kb.query("SELECT * FROM runs WHERE run_id = ?", [report.run_id]))
    assert {r["model_id"] for r in rows} == {tiny, "nobody/not-a-model", "bm25"}
    stored = next(r for r in rows if r["model_id"] == "bm25")
    assert json.loads(stored["metrics"])["ndcg_at_10"] == pytest.approx(bm25.metrics["ndcg_at_10"])
    assert stored["report_path"].endswith("report.json") and stored["task"] == "retrieval"


def test_cached_rerun_never_loads_the_model(tiny_model, beir_dir, tmp_path, kb):
    from embedwise.validators.encoders import make_encoder

    first = validate(beir_dir, models=[str(tiny_model)], out=tmp_path / "a", db=kb, measure_speed=False,
                     include_bm25=False)
    enc = make_encoder(str(tiny_model))
    second = validate(beir_dir, models=[str(tiny_model)], out=tmp_path / "b", db=kb, measure_speed=False,
                      include_bm25=False, encoders={str(tiny_model): enc})
    assert not enc.loaded  # quality and perturbations all came from the cache... except the edge cases
    a, b = first.runs[0], second.runs[0]
    assert a.metrics == b.metrics and b.cache["misses"] == 0 and b.cache["hits"] > 0
    enc2 = make_encoder(str(tiny_model))
    third = validate(beir_dir, models=[str(tiny_model)], out=tmp_path / "c", db=kb, measure_speed=False,
                     measure_robustness=False, include_bm25=False, use_cache=False, encoders={str(tiny_model): enc2})
    assert enc2.loaded and third.runs[0].cache == {} and third.runs[0].metrics["ndcg_at_10"] == pytest.approx(a.metrics["ndcg_at_10"], abs=1e-6)


@pytest.mark.parametrize("task", ["classification", "clustering"])
def test_labelled_tasks(tiny_model, cls_dir, tmp_path, kb, task):
    report = validate(cls_dir, task=task, models=[str(tiny_model)], out=tmp_path / "o", db=kb, measure_speed=False,
                      n_experiments=3, samples_per_label=4)
    assert report.task == task and report.main_metric == MAIN_METRIC[task]
    for run in report.runs:
        assert run.status == "ok", run.error
        assert MAIN_METRIC[task] in run.metrics
        assert run.robustness["texts"]["typos"]["mean_cosine"] <= 1.0
    if task == "classification":
        run = report.runs[0]
        assert {"accuracy", "f1", "knn_accuracy"} <= set(run.metrics) and len(run.per_experiment["accuracy"]) == 3
        assert 12 <= run.info["train_examples_used"] <= 21  # the union of 3 draws of 4 per label
    assert len(report.comparisons) == 1


def test_sts(tiny_model, sts_file, tmp_path, kb):
    report = validate(sts_file, models=[str(tiny_model)], out=tmp_path / "o", db=kb, measure_speed=False,
                      measure_robustness=False)
    assert report.task == "sts"
    for run in report.runs:
        assert run.status == "ok" and {"cosine_spearman", "cosine_pearson"} <= set(run.metrics)
        assert len(run.per_pair) == 8
    assert report.comparisons[0].test.startswith("paired bootstrap")


def test_synthetic_set_is_labelled_everywhere(tmp_path, kb):
    p = tmp_path / "docs.txt"
    p.write_text("\n".join(f"Document {i} explains topic {i}. It has a second sentence about topic {i} details."
                           for i in range(10)))
    report = validate(p, models=["bm25"], out=tmp_path / "o", db=kb, measure_speed=False)
    assert report.synthetic and report.dataset["synthetic"]
    assert any("SYNTHETIC" in n for n in report.notes)
    assert "Synthetic evaluation set" in (tmp_path / "o" / "report.html").read_text()
    assert "Synthetic evaluation set" in (tmp_path / "o" / "report.md").read_text()
    (row,) = kb.query("SELECT synthetic FROM runs WHERE run_id = ?", [report.run_id])
    assert row["synthetic"] == 1


def test_real_minilm_on_small_retrieval(beir_dir, tmp_path, kb):
    import shutil

    scifact = tmp_path / "scifact"  # a folder named as an MTEB task: the published figure is shown beside ours
    shutil.copytree(beir_dir, scifact)
    report = validate(scifact, models=["sentence-transformers/all-MiniLM-L6-v2"], out=tmp_path / "o", db=kb,
                      measure_speed=False, measure_robustness=False)
    run = report.runs[0]
    assert run.info["published"]["task"] == "MTEB SciFact"
    assert abs(run.info["published"]["value"] - 0.645) < 0.01  # MTEB's all-MiniLM-L6-v2 SciFact nDCG@10
    assert "MTEB SciFact" in (tmp_path / "o" / "report.html").read_text()
    assert run.status == "ok" and run.metrics["ndcg_at_10"] > 0.9 and run.info["dimension"] == 384
    assert run.model_id == "sentence-transformers/all-MiniLM-L6-v2"  # the knowledge-base record was found
    # `embedwise kb show` lists the measured run beside the published scores
    from embedwise.kb.commands import show_data

    runs = show_data("sentence-transformers/all-MiniLM-L6-v2")["runs"]
    assert runs and runs[0]["run_id"] == report.run_id and runs[0]["metrics"]["ndcg_at_10"] == run.metrics["ndcg_at_10"]


def test_no_models_is_bad_input(beir_dir):
    from embedwise.errors import BadInput

    with pytest.raises(BadInput, match="--models"):
        validate(beir_dir, store=False, write_files=False)
    with pytest.raises(BadInput, match="--requirements"):
        validate(beir_dir, top=2, store=False, write_files=False)
