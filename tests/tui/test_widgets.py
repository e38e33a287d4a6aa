"""Pure pieces of the TUI: answer parsing, the text chart, normalising engine and validator results."""
from __future__ import annotations

import pytest

from embedwise.tui import state
from embedwise.tui.backend import normalise_report
from embedwise.tui.screens.validate import short_name
from embedwise.tui.widgets.chart import draw

F = state.FIELDS


@pytest.mark.parametrize("path, text, value", [
    ("deployment.queries_per_day", "50_000", 50_000),
    ("deployment.queries_per_day", "1.5k", 1_500),
    ("constraints.max_parameters", "350M", 350_000_000),
    ("budget.monthly_usd", "", None),
    ("budget.monthly_usd", "99.5", 99.5),
    ("data.languages", "en, de;zh", ["en", "de", "zh"]),
    ("data.languages", "eng eng", ["eng"]),
])
def test_parse_accepts(path, text, value):
    assert state.parse(F[path], text) == value


@pytest.mark.parametrize("path, text", [
    ("deployment.queries_per_day", ""), ("deployment.queries_per_day", "1e400"), ("data.avg_doc_tokens", "0"),
    ("data.languages", " , "), ("evaluation.top", "11"), ("deployment.latency_p95_ms", "-1"),
])
def test_parse_refuses(path, text):
    with pytest.raises(ValueError):
        state.parse(F[path], text)


def test_requirements_dict_keeps_the_evaluation_answers_and_no_limit():
    from embedwise.engine.requirements import requirements_from_dict

    answers = state.default_answers()
    answers["deployment"]["gpu_memory_gb"] = None
    answers["evaluation"]["metrics"] = ["ndcg_at_10", "cost"]
    req = state.requirements_dict(answers)
    assert req["evaluation"]["metrics"] == ["ndcg_at_10", "cost"]  # saved with the requirements, loaded back
    assert requirements_from_dict(req).evaluation.metrics == ["ndcg_at_10", "cost"]
    assert req["deployment"]["gpu_memory_gb"] is None  # "no limit" is an answer, not a missing one


def test_chart_is_deterministic_and_places_points():
    points = [("a", 1.0, 0.5), ("b", 10.0, 0.9)]
    first = draw(points, 60, 14, "latency", "ndcg").plain
    assert first == draw(points, 60, 14, "latency", "ndcg").plain
    lines = first.splitlines()
    assert lines[1].rstrip().endswith("2")  # best quality at the top, slowest at the right
    assert "  1 a  (0.500, 1.00)" in first and "  2 b  (0.900, 10.0)" in first
    assert draw([], 60, 14, "x", "y").plain.startswith("(no measured points")


def test_normalise_report_reads_the_validator_shape():
    view = normalise_report({
        "task": "sts", "synthetic": False, "best": "m",
        "files": {"json": "/r/report.json", "html": "/r/report.html"},
        "runs": [{"model": "m", "status": "ok", "metrics": {"cosine_spearman": 0.8},
                  "speed": {"latency_p95_ms": 3.0, "best_docs_per_s": 120.0}, "robustness": {}, "cost": {}},
                 {"model": "x", "status": "failed", "error": "cannot load", "metrics": {}, "speed": {}}],
    })
    assert view.report_path == "/r/report.html" and view.best == "m"
    m, x = view.runs
    assert m.main_metric == ("cosine_spearman", 0.8) and m.latency_p95_ms == 3.0 and m.throughput == 120.0
    assert x.error == "cannot load" and x.main_metric is None


def test_short_name():
    assert short_name("/a/b/c/model") == "…/c/model"
    assert short_name("BAAI/bge-m3") == "BAAI/bge-m3"
