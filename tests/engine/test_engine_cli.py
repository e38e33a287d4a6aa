"""The real command line: JSON contract, --why, template, and bad input with a clear message and a non-zero exit."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXE = Path(sys.executable).with_name("embedwise")


def run(*args, env_home=None):
    env = dict(os.environ)
    if env_home:
        env["EMBEDWISE_HOME"] = str(env_home)
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def home_with_kb(curated_kb, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    import shutil

    shutil.copy(curated_kb, home / "kb.sqlite")
    return home


def test_template_then_recommend_json(tmp_path, home_with_kb):
    req = tmp_path / "req.yaml"
    r = run("requirements", "template", "--output", str(req), env_home=home_with_kb)
    assert r.returncode == 0 and req.exists()
    r = run("recommend", "--requirements", str(req), "--json", "--top", "5", env_home=home_with_kb)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert {"shortlist", "excluded", "advice"} <= set(data)
    assert 0 < len(data["shortlist"]) <= 5
    for c in data["shortlist"]:
        assert {"id", "score", "breakdown", "reasons"} <= set(c)
        assert all({"term", "value", "rule", "reason"} <= set(t) for t in c["breakdown"])
    for e in data["excluded"]:
        assert e["reasons"] and all({"rule", "text"} <= set(x) for x in e["reasons"])
    assert all({"rule", "text"} <= set(a) for a in data["advice"])
    top = data["shortlist"][0]["id"]
    r = run("recommend", "--requirements", str(req), "--why", top, env_home=home_with_kb)
    assert r.returncode == 0 and "ranks #1" in r.stdout
    r = run("recommend", "--requirements", str(req), "--why", "nobody/nothing", env_home=home_with_kb)
    assert r.returncode != 0 and "no model" in r.stderr
    r = run("recommend", "--requirements", str(req), "--top", "3", env_home=home_with_kb)
    assert r.returncode == 0 and "Advice" in r.stdout


def test_template_to_stdout():
    r = run("requirements", "template")
    assert r.returncode == 0 and "task: semantic_search" in r.stdout and "#" in r.stdout


@pytest.mark.parametrize("text, words", [
    ("task: rag\nbudgett:\n  monthly_usd: 3\n", ["unknown field 'budgett'", ":2:"]),
    ("deployment:\n  gpu_memory_gb: lots\n", ["deployment.gpu_memory_gb", "number"]),
    ("deployment:\n  hosting: api\n  data_must_stay_on_premises: true\n", ["contradictory", "hosting"]),
    ("data: [oops\n", ["invalid YAML"]),
])
def test_bad_requirements_exit_2_with_a_message(tmp_path, text, words):
    req = tmp_path / "req.yaml"
    req.write_text(text)
    r = run("recommend", "--requirements", str(req))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    for w in words:
        assert w in r.stderr, r.stderr


def test_missing_requirements_file(tmp_path):
    r = run("recommend", "--requirements", str(tmp_path / "none.yaml"))
    assert r.returncode == 2 and "requirements template" in r.stderr


def test_malformed_rule_file_exits_2(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bad.yaml").write_text("rules:\n  - id: x.y\n    step: task\n    description: d\n"
                                    "    match: {parameters: {gt: many}}\n    exclude: too big\n")
    req = tmp_path / "req.yaml"
    req.write_text("task: rag\n")
    r = run("recommend", "--requirements", str(req), "--rules", str(rules))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{rules / 'bad.yaml'}:" in r.stderr and "x.y" in r.stderr and "needs a number" in r.stderr


def test_requirements_check(tmp_path):
    req = tmp_path / "req.yaml"
    req.write_text("data:\n  languages: [en, zh]\n")
    r = run("requirements", "check", str(req), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["data"]["languages"] == ["eng", "zho"]
