"""`choose`: screening drops what is clearly worse and keeps what is close, the decision honours the hard limits,
the time budget holds, a cached re-run loads no model, and the JSON contract."""
from __future__ import annotations

import json
import shutil
import time

import pytest
from typer.testing import CliRunner
from validators_helpers import write_topics_beir

from embedwise.validators.choose import choice_json, choose
from embedwise.validators.decide import decide
from embedwise.validators.load import SpeedConfig
from embedwise.validators.results import ModelRun

SPEED = SpeedConfig(sample_texts=8, batch_sizes=(1, 8), concurrency=(1, 4), requests_per_level=8, max_seconds_per_step=2)


@pytest.fixture(scope="module")
def topics(tmp_path_factory):
    return write_topics_beir(tmp_path_factory.mktemp("topics") / "topics", topics=60)


@pytest.fixture(scope="module")
def close_minilm(tmp_path_factory, minilm_path):
    """MiniLM with a shorter max length: on these short texts a close (identical) competitor."""
    folder = tmp_path_factory.mktemp("close") / "minilm-128"
    shutil.copytree(minilm_path, folder)
    cfg = folder / "sentence_bert_config.json"
    data = json.loads(cfg.read_text())
    data["max_seq_length"] = 128
    cfg.write_text(json.dumps(data))
    return folder


def test_screening_drops_a_clearly_worse_model_and_keeps_a_close_one(topics, minilm_path, close_minilm, tiny_model,
                                                                      tmp_path, embedwise_home):
    report = choose(topics, models=[f"minilm={minilm_path}", f"close={close_minilm}", f"tiny={tiny_model}"],
                    time_budget=None, measure_speed=False, measure_robustness=False, out=tmp_path / "out",
                    store=False, include_bm25=False)  # made-up words: BM25 would beat every dense model here
    first = report.screening[0]
    assert first["queries"] < first["of_queries"] and first["documents"] < first["of_documents"]
    assert first["pooled_by"] == ["tiny"]  # the cheapest dense model, measured on the whole corpus
    dropped = {d["model"]: d for d in report.decision["dropped"]}
    assert "tiny" in dropped and dropped["tiny"]["p_holm"] < 0.05 and dropped["tiny"]["diff"] > 0.2
    assert "close" not in dropped and "minilm" not in dropped
    status = {r["model"]: r["status"] for r in report.ranking}
    assert status["tiny"] == "dropped"
    assert status["close"] in ("winner", "runner_up", "finalist")
    assert {r.model for r in report.runs} >= {"minilm", "close"} and "tiny" not in {r.model for r in report.runs}
    md = (tmp_path / "out" / "report.md").read_text()
    assert md.index("## Decision") < md.index("## Summary") if "## Summary" in md else "## Decision" in md


def _run(model: str, ndcg: float, p95: float, qps: float = 50, dps: float = 100, memory: float = 100) -> ModelRun:
    return ModelRun(model=model, status="ok", kind="dense", metrics={"ndcg_at_10": ndcg},
                    per_query={"ndcg_at_10": {f"q{i}": ndcg for i in range(60)}},
                    speed={"latency_p95_ms": p95, "best_docs_per_s": dps, "latency": [{"qps": qps}],
                           "model_memory": {"model_mb": memory}},
                    cost={"hosting": "self_host", "memory_mb": memory})


def _decide(runs, req, comparisons=None):
    cpu = {"id": "aws/t3.large", "usd_per_hour": 0.0832, "vcpus": 2}
    return decide([{"run": r, "basis": "full", "basis_text": "the whole set"} for r in runs], "retrieval", req,
                  comparisons=comparisons or {}, dropped=[], not_measured=[], documents=1_000_000,
                  queries_per_month=300_000, cpu_price=cpu)


def test_the_decision_respects_each_hard_limit():
    from embedwise.engine.requirements import Requirements

    big, small = _run("big", 0.70, p95=80, dps=20, memory=3000), _run("small", 0.60, p95=8, dps=400, memory=200)
    req = Requirements.model_validate({"deployment": {"latency_p95_ms": 50, "hardware": "cpu"}})
    decision, ranking = _decide([big, small], req)
    assert decision["model"] == "small"
    assert any("80 ms measured > the 50 ms limit" in r for r in next(x for x in ranking if x["model"] == "big")["reasons"])
    req = Requirements.model_validate({"deployment": {"hardware": "gpu", "gpu_memory_gb": 2}})
    decision, _ = _decide([big, small], req)
    assert decision["model"] == "small"  # 3000 MB does not fit a 2 GB GPU
    req = Requirements.model_validate({"budget": {"one_off_usd": 0.5}})
    decision, ranking = _decide([big, small], req)  # big: 1M docs at 20 docs/s = 13.9 h at $0.0832/h
    assert decision["model"] == "small" and next(x for x in ranking if x["model"] == "big")["status"] == "ruled_out"
    req = Requirements.model_validate({"deployment": {"latency_p95_ms": 1}})
    decision, _ = _decide([big, small], req)
    assert decision["model"] is None and "no finalist meets the hard limits" in decision["verdict"]
    # no limit broken: the better model wins when the gap is large, the cheaper one when it is within tolerance
    decision, _ = _decide([big, small], Requirements())
    assert decision["model"] == "big"
    close = _run("close", 0.695, p95=8, dps=400, memory=200)
    decision, _ = _decide([big, close], Requirements())
    assert decision["model"] == "close" and "within 0.5 points" in decision["verdict"]
    decision, _ = _decide([big, close], Requirements.model_validate({"budget": {"priority": "accuracy"}}))
    assert decision["model"] == "big"


def test_time_budget_is_honoured(tmp_path, minilm_path, embedwise_home):
    data = write_topics_beir(tmp_path / "big", topics=3000)  # whole-set MiniLM here takes longer than the budget
    budget = 90.0
    t0 = time.perf_counter()
    report = choose(data, models=[f"minilm={minilm_path}"], time_budget=budget, speed_config=SPEED,
                    out=tmp_path / "out", store=False)
    wall = time.perf_counter() - t0
    assert wall <= 1.2 * budget, f"{wall:.1f} s for a {budget:.0f} s budget"
    assert report.settings["within_budget"] is True
    assert report.decision["model"] in ("minilm", "bm25")
    assert report.decision["not_measured"]  # what the budget left out is said


def test_cli_json_contract_and_cached_rerun(topics, minilm_path, close_minilm, tmp_path, embedwise_home):
    from embedwise.cli import app

    args = ["choose", "--data", str(topics), "--models", f"minilm={minilm_path},close={close_minilm}",
            "--time-budget", "none", "--no-bm25", "--no-speed", "--no-robustness", "--out", str(tmp_path / "out"),
            "--json"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    out = json.loads(first.output)
    assert set(out) == {"decision", "ranking", "screening", "runs"}
    d = out["decision"]
    assert d["model"] in ("minilm", "close") and d["verdict"].startswith(d["model"])
    assert d["confidence"]["level"] in ("high", "medium", "low") and "tied with" in d["verdict"]
    assert {(r["model"], r["status"]) for r in out["ranking"]} == {(d["model"], "winner"), (d["runner_up"], "runner_up")}
    assert all({"model", "status", "metrics", "speed", "cost"} <= set(r) for r in out["runs"])
    assert (tmp_path / "out" / "report.html").read_text().index("Decision") > 0
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    rerun = json.loads(again.output)
    minilm = next(r for r in rerun["runs"] if r["model"] == "minilm")
    assert minilm["cache"]["misses"] == 0 and minilm["info"].get("load_seconds") is None  # no model loaded
    assert rerun["decision"]["model"] == d["model"]
    assert [r["queries"] for r in rerun["screening"]] == [r["queries"] for r in out["screening"]]  # the same plan


def test_every_model_failing_exits_non_zero(topics, tmp_path, embedwise_home):
    from embedwise.cli import app

    result = CliRunner().invoke(app, ["choose", "--data", str(topics), "--models", "nobody/not-a-model",
                                      "--no-bm25", "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert [(r["model"], r["status"]) for r in report["ranking"]] == [("nobody/not-a-model", "failed")]
    assert "every model failed" in str(result.exception) or "every model failed" in result.output


def test_choice_json_keeps_validate_runs(topics, minilm_path, tmp_path, embedwise_home):
    report = choose(topics, models=[f"minilm={minilm_path}"], full=True, measure_speed=False,
                    measure_robustness=False, write_files=False, store=False)
    out = choice_json(report)
    assert out["screening"] == [] and {r["quality_basis"] for r in out["ranking"]} == {"full"}
    assert out["runs"][0]["metrics"]["ndcg_at_10"] == report.runs[0].metrics["ndcg_at_10"]


def test_memory_is_measured_alone_in_a_fresh_process(tiny_model):
    from embedwise.validators.encoders import make_encoder
    from embedwise.validators.memory import probe

    enc = make_encoder(str(tiny_model))
    result = probe(enc, ["a cat purrs at night"] * 40, batch_size=8)
    from sentence_transformers import SentenceTransformer

    params = sum(p.numel() for p in SentenceTransformer(str(tiny_model), device="cpu").parameters())
    assert result["weights_mb"] == pytest.approx(params * 4 / 2**20, abs=0.1)
    assert result["import_mb"] > 100  # torch and sentence-transformers are the runtime, not the model
    assert result["model_mb"] == pytest.approx(result["load_mb"] + result["encode_peak_mb"], abs=0.2)
    assert probe(make_encoder("bm25"), ["x"]) is None  # only local models are probed


def test_choose_on_images_measures_every_candidate_whole(tmp_path, embedwise_home):
    from media_helpers import build_tiny_clip, write_image_retrieval

    clip = build_tiny_clip(tmp_path / "clip")
    photos = write_image_retrieval(tmp_path / "photos")
    report = choose(photos, models=[f"clip={clip}"], time_budget=120, measure_speed=False,
                    measure_robustness=False, write_files=False, store=False)
    assert report.screening == [] and [r.model for r in report.runs] == ["clip"]  # no BM25 on images
    assert report.decision["model"] == "clip" and report.runs[0].metrics["ndcg_at_10"] > 0
    assert any("image or audio" in n for n in report.decision["not_measured"])


def test_the_whole_corpus_estimate_counts_the_distractors_left_out_of_the_pool():
    from embedwise.validators.data import RetrievalSet
    from embedwise.validators.screen import MIN_RANDOM_DOCS, Sampler

    corpus = {f"d{i}": ("", f"text {i}") for i in range(2000)}
    queries = {f"q{i}": f"query {i}" for i in range(5)}
    qrels = {f"q{i}": {f"d{i}": 1} for i in range(5)}
    sampler = Sampler(RetrievalSet(corpus, queries, qrels, "synthetic", "test"))
    sampler.rankings["pooler"] = {q: {} for q in queries}  # a pooling model that found nothing: the core is the qrels
    sub = sampler.subset(4)
    core, sample = sampler.pool_parts(list(sub.queries))
    assert core == {f"d{i}" for i in range(5) if f"q{i}" in sub.queries} and len(sample) == MIN_RANDOM_DOCS
    outside = sorted(d for d in sample if d not in core)
    # model A ranks the relevant document first among every pooled one: a perfect pooled nDCG@10 ...
    perfect = {q: {d: (1.0 if d in qrels[q] else 0.0) for d in sub.corpus} for q in sub.queries}
    assert set(sampler.estimate_whole_corpus(sub, perfect).values()) == {1.0}
    # ... model B too, except that 3 of the random documents outrank it: ~3 x 20 distractors in the whole corpus
    noisy = {q: {**ranks, **{d: 2.0 for d in outside[:3]}} for q, ranks in perfect.items()}
    estimate = sampler.estimate_whole_corpus(sub, noisy)
    assert all(v == 0.0 for v in estimate.values())  # the relevant document falls far below rank 10
    one = {q: {**ranks, outside[0]: 2.0} for q, ranks in perfect.items()}  # one random document: rank ~21
    assert all(v == 0.0 for v in sampler.estimate_whole_corpus(sub, one).values())


def test_a_figure_from_a_small_sample_does_not_outrank_one_measured_in_full():
    from embedwise.engine.requirements import Requirements

    sampled = _run("sampled", 0.75, p95=90, dps=2, memory=800)
    measured = _run("measured", 0.69, p95=3, dps=2000, memory=50)
    finalists = [{"run": sampled, "basis": "pool", "basis_text": "10 of 300 queries"},
                 {"run": measured, "basis": "full", "basis_text": "the whole set"}]
    cpu = {"id": "aws/t3.large", "usd_per_hour": 0.0832, "vcpus": 2}
    tie = type("C", (), {"significant": False})()
    decision, _ = decide(finalists, "retrieval", Requirements(), comparisons={("sampled", "measured"): tie},
                         dropped=[], not_measured=[], documents=100_000, queries_per_month=300_000, cpu_price=cpu)
    assert decision["model"] == "measured" and "measured on the whole set" in decision["verdict"]
    assert any("sampled scored 0.750 on 10 of 300 queries" in r for r in decision["reasons"])
    assert decision["confidence"]["level"] == "low"
    win = type("C", (), {"significant": True})()
    decision, _ = decide(finalists, "retrieval", Requirements(), comparisons={("sampled", "measured"): win},
                         dropped=[], not_measured=[], documents=100_000, queries_per_month=300_000, cpu_price=cpu)
    assert decision["model"] == "sampled"  # significantly better even on the sample


def test_a_candidate_the_budget_never_measured_is_in_the_ranking_with_its_reason():
    from embedwise.engine.requirements import Requirements

    cpu = {"id": "aws/t3.large", "usd_per_hour": 0.0832, "vcpus": 2}
    _, ranking = decide([{"run": _run("fast", 0.6, p95=5), "basis": "full", "basis_text": "the whole set"}],
                        "retrieval", Requirements(), comparisons={}, dropped=[], not_measured=[], documents=1000,
                        queries_per_month=1000, cpu_price=cpu,
                        unmeasured=[{"model": "huge", "reason": "too slow to measure within the budget"}])
    assert ranking[-1] == {"rank": None, "model": "huge", "status": "not_measured", "ndcg_at_10": None,
                           "quality_basis": None, "reasons": ["too slow to measure within the budget"]}
