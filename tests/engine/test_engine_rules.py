from __future__ import annotations

import shutil
from collections import Counter

import pytest

from embedwise.engine.rules import STEPS, RuleFileError, default_rules_dir, load_rules, parse_rule_text


def test_shipped_rules_cover_the_six_steps():
    ruleset = load_rules()
    assert len(ruleset.rules) >= 40
    steps = Counter(r.step for r in ruleset.rules)
    assert set(steps) == set(STEPS)
    outcomes = Counter(r.outcome for r in ruleset.rules)
    assert {"exclude", "score", "advise", "derive"} <= set(outcomes)
    assert all(r.description for r in ruleset.rules)
    assert all(r.relax for r in ruleset.rules if r.outcome == "exclude"), "every exclusion says what to relax"


BASE = """rules:
  - id: a.rule
    step: research
    description: something
"""


@pytest.mark.parametrize("body, words", [
    ("    exclude: x\n    colour: red\n", ["unknown key 'colour'"]),
    ("    match: {licence: MIT}\n    exclude: x\n", ["unknown field 'licence'", "license"]),
    ("    match: {license: {like: MIT}}\n    exclude: x\n", ["unknown operator 'like'"]),
    ("    match: {parameters: {gt: big}}\n    exclude: x\n", ["needs a number"]),
    ("    match: {languages: {eq: eng}}\n    exclude: x\n", ["is a list"]),
    ("    match: {license: $data.nothing}\n    exclude: x\n", ["names no requirement"]),
    ("    if: {task: $data.modality}\n    exclude: x\n", ["only in 'match'"]),
    ("    if: {tsak: rag}\n    exclude: x\n", ["unknown field 'tsak'"]),
    ("    exclude: x\n    advise: y\n", ["exactly one outcome"]),
    ("    match: {license: MIT}\n", ["exactly one outcome"]),
    ("    exclude: 'bad {model.colour}'\n", ["unknown placeholder"]),
    ("    score: {term: t, weight: heavy, reason: r}\n", ["'weight' must be a number"]),
    ("    score: {term: t, weight: 1, reason: r, value: mteb_mean}\n", ["needs a 'scale"]),
    ("    score: {term: t, weight: 1, reason: r, value: license, scale: [0, 1]}\n", ["numeric model field"]),
    ("    if: {derived.nothing: true}\n    exclude: x\n", ["produced by no rule"]),
    ("    if: {derived.x: false}\n    exclude: x\n", ["only 'true'"]),
    ("    derive: x\n    match: {license: MIT}\n", ["remove 'match'"]),
])
def test_malformed_rules_are_named(tmp_path, body, words):
    (tmp_path / "r.yaml").write_text(BASE + body)
    with pytest.raises(RuleFileError) as err:
        load_rules(tmp_path)
    msg = str(err.value)
    assert f"{tmp_path / 'r.yaml'}:" in msg
    assert "a.rule" in msg or "derived" in msg
    for w in words:
        assert w in msg, msg


def test_bad_step_id_and_yaml(tmp_path):
    with pytest.raises(RuleFileError, match="'step' must be one of"):
        parse_rule_text(BASE.replace("research", "shopping") + "    exclude: x\n")
    with pytest.raises(RuleFileError, match="needs an 'id'"):
        parse_rule_text(BASE.replace("a.rule", "A Rule") + "    exclude: x\n")
    with pytest.raises(RuleFileError, match=r"<rules>:\d+: invalid YAML"):
        parse_rule_text("rules:\n  - id: [x\n")
    with pytest.raises(RuleFileError, match="only 'rules'"):
        parse_rule_text("something: else\n")
    with pytest.raises(RuleFileError, match="'rules' must be a list"):
        parse_rule_text("rules: 3\n")


def test_duplicate_ids_across_files(tmp_path):
    (tmp_path / "a.yaml").write_text(BASE + "    exclude: x\n")
    (tmp_path / "b.yaml").write_text(BASE + "    advise: y\n")
    with pytest.raises(RuleFileError, match="used twice"):
        load_rules(tmp_path)


def test_empty_folder(tmp_path):
    with pytest.raises(RuleFileError, match="no rule files"):
        load_rules(tmp_path)


def test_shipped_rules_copy_loads(tmp_path):
    for f in default_rules_dir().glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    assert len(load_rules(tmp_path).rules) == len(load_rules().rules)
