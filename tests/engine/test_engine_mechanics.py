"""The durable-rules mechanics: sessions, locking, clean-up, exceptions, floats, lazy imports."""
from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from embedwise.engine import compile as comp
from embedwise.engine.estimates import model_view, prepare_rows, req_view
from embedwise.engine.recommend import recommend
from embedwise.engine.requirements import requirements_from_dict
from embedwise.engine.rules import RuleSet, load_rules, parse_rule_text
from embedwise.engine.synthetic import random_rows

from engine_helpers import make_db, record


def test_engine_modules_do_not_import_torch_or_durable_rules():
    code = ("import sys, embedwise.engine.recommend, embedwise.engine.render, embedwise.engine.requirements;"
            "import embedwise.cli;"
            "bad = [m for m in ('torch', 'sentence_transformers', 'durable', 'durable_rules_engine') if m in sys.modules];"
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_small_kb_from_records(tmp_path):
    db = make_db(tmp_path / "kb.sqlite", [
        record(id="a/good"),
        record(id="a/nc", license="CC-BY-NC-4.0", commercial_use=False),
        record(id="a/unknown", license="LicenseRef-Unknown", commercial_use=True),
        record(id="a/api", hosting="api", open_weights=False, license="proprietary", price_per_million_tokens=0.1),
        record(id="a/huge", parameters=40_000_000_000),
    ])
    req = requirements_from_dict({"deployment": {"data_must_stay_on_premises": True, "gpu_memory_gb": 24}})
    shortlist = recommend(req, db=db)
    assert [c.id for c in shortlist.shortlist] == ["a/good"]
    reasons = {e.id: [r.rule for r in e.reasons] for e in shortlist.excluded}
    assert reasons["a/nc"] == ["research.license.non_commercial"]
    assert reasons["a/unknown"] == ["research.license.unknown"]
    assert reasons["a/api"] == ["research.hosting.self_host_only"]
    assert reasons["a/huge"] == ["integrate.memory.gpu_fit"]
    assert shortlist.shortlist[0].status == "discovered"
    assert any("discovered" in r for r in shortlist.shortlist[0].reasons)


def test_sessions_clean_up_and_state_is_not_shared(monkeypatch):
    deleted = []
    h = comp.host()
    original = type(h).delete_state

    def spy(self, ruleset_name, sid=None):
        deleted.append(sid)
        return original(self, ruleset_name, sid)

    monkeypatch.setattr(type(h), "delete_state", spy)
    rows = prepare_rows(random_rows(300, 3))
    a = recommend(requirements_from_dict({"task": "rag"}), rows=rows)
    b = recommend(requirements_from_dict({"task": "clustering"}), rows=rows)
    c = recommend(requirements_from_dict({"task": "rag"}), rows=rows)
    assert len(deleted) == 3 and len(set(deleted)) == 3
    assert a.model_dump(exclude={"engine"}) == c.model_dump(exclude={"engine"})
    assert a.model_dump(exclude={"engine"}) != b.model_dump(exclude={"engine"})


def test_concurrent_evaluations_agree_with_serial_ones():
    rows = prepare_rows(random_rows(500, 4))
    reqs = [requirements_from_dict({"task": t, "deployment": {"hosting": h}})
            for t in ("rag", "classification", "deduplication", "reranking") for h in ("any", "self_host")]
    expected = [recommend(r, rows=rows).model_dump(exclude={"engine"}) for r in reqs]
    results: dict[int, dict] = {}
    errors = []

    def run(i):
        try:
            results[i] = recommend(reqs[i], rows=rows).model_dump(exclude={"engine"})
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i % len(reqs),)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i, got in results.items():
        assert got == expected[i]


def test_an_exception_inside_an_action_is_not_swallowed(monkeypatch):
    ruleset = load_rules()
    compiled = comp.compiled(ruleset)

    class Broken(comp._Collector):
        def __init__(self, sid):
            super().__init__(sid)
            self.fired = None  # .append fails inside the action

    monkeypatch.setattr(comp, "_Collector", Broken)
    with pytest.raises(comp.EngineError, match="rule action failed"):
        compiled.session(req_view(requirements_from_dict({})))
    monkeypatch.undo()
    assert compiled.session(req_view(requirements_from_dict({})))[0]  # and the engine still works


def test_a_fact_no_rule_matches_is_caught_by_the_catch_all():
    rules = parse_rule_text("""rules:
  - id: only.rag
    step: task
    description: fires for RAG only
    if: {task: rag}
    advise: hello
""", "inline.yaml")
    ruleset = RuleSet(rules, "inline-catch-all-test")
    rv = req_view(requirements_from_dict({"task": "clustering"}))
    assert comp.evaluate(ruleset, rv, []).active == set()
    rv = req_view(requirements_from_dict({"task": "rag"}))
    assert comp.evaluate(ruleset, rv, []).advice == ["only.rag"]


def test_floats_the_engine_cannot_parse_are_sanitised():
    assert comp.sanitize(1e-05) == 0.0
    assert comp.sanitize(1e20) == 10**20
    assert comp.sanitize([1e-7, 2.5]) == [0.0, 2.5]
    rows = prepare_rows(random_rows(50, 5))
    req = requirements_from_dict({"deployment": {"gpu_memory_gb": 0.00001, "latency_p95_ms": 0.00002},
                                  "budget": {"monthly_usd": 1e-7}})
    shortlist = recommend(req, rows=rows)
    assert shortlist.total_models == 50


def test_large_batch_one_fact_per_model_completes():
    """The notes' trap: with the global host's timer thread, a 2000-fact batch evaluated only a few facts."""
    rows = prepare_rows(random_rows(2500, 6))
    req = requirements_from_dict({"task": "rag", "license": {"commercial_use": True}})
    rv = req_view(req)
    views = [model_view(r, req, rv) for r in rows]
    per_model = comp.evaluate_per_model(load_rules(), rv, views)
    shaped = comp.evaluate(load_rules(), rv, views)
    assert per_model.canonical() == shaped.canonical()
    assert len(per_model.excludes) > 100
