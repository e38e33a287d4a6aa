from __future__ import annotations

import pytest
import yaml

from embedwise.engine.requirements import (Requirements, dump_requirements, load_requirements, parse_requirements,
                                           requirements_from_dict, template_yaml)
from embedwise.errors import BadInput


def test_template_round_trips_to_the_defaults():
    text = template_yaml()
    assert parse_requirements(text) == Requirements()
    # every field has a comment
    for line in text.splitlines():
        if line and not line.startswith("#") and not line.endswith(":"):
            assert "# " in line, line


def test_template_names_every_field():
    text = template_yaml()
    for section, field in Requirements.model_fields.items():
        assert f"{section}:" in text
        sub = getattr(Requirements(), section)
        for name in getattr(type(sub), "model_fields", {}):
            assert f"  {name}:" in text


def test_issue_example_loads():
    text = """
task: semantic_search
data: {modality: text, query_modality: text, languages: [en, zh], cross_lingual: false, domain: general,
       keyword_heavy: false, avg_doc_tokens: 300, documents: 1000000}
deployment: {hosting: any, data_must_stay_on_premises: false, hardware: gpu, gpu_memory_gb: 24,
             latency_p95_ms: 100, queries_per_day: 50000}
budget: {monthly_usd: 1000, priority: balanced}
license: {commercial_use: true, permissive_only: false}
constraints: {max_dimensions: null, max_parameters: null, embedding_type: auto, fine_tuning: false}
"""
    req = parse_requirements(text)
    assert req.data.languages == ["eng", "zho"]
    assert req.deployment.latency_p95_ms == 100


def test_dump_load_round_trip(tmp_path):
    req = requirements_from_dict({"task": "rag", "data": {"languages": ["de", "fra"], "domain": "Legal"},
                                  "constraints": {"max_parameters": "1.5B"}})
    assert req.data.languages == ["deu", "fra"] and req.data.domain == "legal"
    assert req.constraints.max_parameters == 1_500_000_000
    path = tmp_path / "r.yaml"
    path.write_text(dump_requirements(req))
    assert load_requirements(path) == req


def test_empty_file_is_the_defaults(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert load_requirements(path) == Requirements()


@pytest.mark.parametrize("text, field, words", [
    ("tsk: rag\n", "tsk", ["unknown field 'tsk'", "task"]),
    ("data:\n  langs: [en]\n", "data.langs", ["unknown field 'langs'", "languages"]),
    ("deployment:\n  gpu_mem: 3\n", "deployment.gpu_mem", ["unknown field"]),
    ("budget:\n  monthly: 3\n", "budget.monthly", ["unknown field"]),
    ("license:\n  commercial: true\n", "license.commercial", ["unknown field"]),
    ("constraints:\n  dims: 3\n", "constraints.dims", ["unknown field"]),
    ("task: search\n", "task", ["semantic_search"]),
    ("data:\n  documents: lots\n", "data.documents", ["integer"]),
    ("data:\n  languages: [klingon]\n", "data.languages", ["unknown language code 'klingon'"]),
    ("deployment:\n  gpu_memory_gb: -1\n", "deployment.gpu_memory_gb", ["greater than or equal"]),
    ("constraints:\n  max_parameters: huge\n", "constraints.max_parameters", ["not a size"]),
])
def test_bad_fields_are_named_with_their_line(tmp_path, text, field, words):
    path = tmp_path / "req.yaml"
    path.write_text("# a comment\n" + text)
    with pytest.raises(BadInput) as err:
        load_requirements(path)
    msg = str(err.value)
    assert f"{path}:" in msg and field in msg
    line = int(msg.split(f"{path}:")[1].split(":")[0])
    assert line >= 2
    for w in words:
        assert w in msg


@pytest.mark.parametrize("data, words", [
    ({"deployment": {"hosting": "api", "data_must_stay_on_premises": True}}, ["hosting", "premises"]),
    ({"data": {"cross_lingual": True, "languages": ["en"]}}, ["cross_lingual"]),
    ({"data": {"modality": "image"}, "constraints": {"embedding_type": "sparse"}}, ["embedding_type"]),
    ({"task": "code_search", "data": {"modality": "audio"}}, ["code_search"]),
])
def test_contradictions(data, words):
    with pytest.raises(BadInput) as err:
        requirements_from_dict(data)
    assert "contradictory" in str(err.value)
    for w in words:
        assert w in str(err.value)


def test_invalid_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("task: rag\ndata: [unclosed\n")
    with pytest.raises(BadInput, match="invalid YAML"):
        load_requirements(bad)
    with pytest.raises(BadInput, match="template"):
        load_requirements(tmp_path / "nope.yaml")
    dup = tmp_path / "dup.yaml"
    dup.write_text("task: rag\ntask: clustering\n")
    with pytest.raises(BadInput, match="twice"):
        load_requirements(dup)
    top = tmp_path / "list.yaml"
    top.write_text("- a\n")
    with pytest.raises(BadInput, match="mapping"):
        load_requirements(top)


def test_dump_is_plain_yaml():
    assert yaml.safe_load(dump_requirements(Requirements()))["task"] == "semantic_search"
