"""The kb commands through the real CLI entry point: tables for people, JSON for scripts, exit codes."""
from __future__ import annotations

import json
import subprocess
import sys

import yaml

from embedwise.kb import store
from embedwise.kb.curated_files import load_curated
from kb_helpers import GOOD, write_curated


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "embedwise.cli", *args], capture_output=True, text=True, timeout=120)


def test_build_query_show_stats(curated_dir):
    assert run("kb", "build", "--curated", str(curated_dir)).returncode == 0
    out = run("kb", "query", "lang=zho", "--json")
    assert out.returncode == 0, out.stderr
    assert [r["id"] for r in json.loads(out.stdout)] == ["acme/big-multi"]
    table = run("kb", "query", "modality=text")
    assert "acme/tiny-en" in table.stdout and "3 models" in table.stdout
    shown = json.loads(run("kb", "show", "acme/embed-api", "--json").stdout)
    assert shown["price_per_million_tokens"] == 0.1
    assert shown["sources"]["price_per_million_tokens"]["ref"] == "https://huggingface.co/example"
    assert "source" in run("kb", "show", "acme/embed-api").stdout
    stats = json.loads(run("kb", "stats", "--json").stdout)
    assert stats["models"] == 3 and stats["hosting"] == {"self_host": 2, "api": 1}
    assert stats["domain"]["legal"] == 1


def test_errors_exit_non_zero_with_a_message(tmp_path, curated_dir):
    run("kb", "build", "--curated", str(curated_dir))
    bad = run("kb", "query", "params<lots")
    assert bad.returncode == 2 and "not a number" in bad.stderr and "Traceback" not in bad.stderr
    missing = run("kb", "show", "nobody/nothing")
    assert missing.returncode == 2 and "no model 'nobody/nothing'" in missing.stderr  # bad input: exit 2
    broken = write_curated(tmp_path / "broken", GOOD.replace("license: Apache-2.0", "license: Apache2"))
    failed = run("kb", "build", "--curated", str(broken))
    assert failed.returncode == 2 and "models.yaml:" in failed.stderr and "license" in failed.stderr
    assert json.loads(run("kb", "stats", "--json").stdout)["models"] == 3  # the old knowledge base is intact


def test_yaml_sqlite_export_round_trip(tmp_path, curated_dir):
    run("kb", "build", "--curated", str(curated_dir))
    original = {r.id: r for r in load_curated(curated_dir)}
    for fmt in ("yaml", "json", "csv"):
        out = run("kb", "export", "--format", fmt)
        assert out.returncode == 0, out.stderr
    exported = run("kb", "export", "--format", "yaml").stdout
    again_dir = tmp_path / "again"
    again_dir.mkdir()
    (again_dir / "export.yaml").write_text(exported)
    again = {r.id: r for r in load_curated(again_dir)}
    assert again == original
    as_json = json.loads(run("kb", "export", "--format", "json").stdout)
    assert {m["id"] for m in as_json} == set(original)
    assert yaml.safe_load(exported)["models"][0]["sources"]
    bad = run("kb", "export", "--format", "xml")
    assert bad.returncode == 2 and "xml" in bad.stderr
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(run("kb", "export", "--format", "csv").stdout)))
    assert {"mteb_mean", "license", "sources", "first_source"} <= set(rows[0])
    assert not any(v.startswith(("[", "{")) for r in rows for v in r.values() if v), "flat cells, no JSON inside"
    missing = run("kb", "export", "--format", "csv", "-o", str(tmp_path / "no" / "such" / "dir" / "x.csv"))
    assert missing.returncode == 2 and "cannot write" in missing.stderr and "Traceback" not in missing.stderr


def test_shipped_curated_knowledge_base_round_trips(tmp_path):
    db_path = tmp_path / "kb.sqlite"
    store.build(db_path)
    original = load_curated()
    loaded = store.load_records(store.open_db(db_path))
    assert len(loaded) == len(original) >= 250
    by_id = {r.id: r for r in loaded}
    for record in original:
        assert by_id[record.id].model_dump(mode="json") == record.model_dump(mode="json"), record.id


def test_show_groups_benchmark_figures_with_zero_shot_and_query_filters_new_facts():
    shown = run("kb", "show", "BAAI/bge-m3")
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert "published benchmark figures" in out and "zero-shot" in out and "MTEB(eng, v2)" in out
    assert "partial" in out  # bge-m3's MTEB(eng, v2) mean is over an incomplete task set
    data = json.loads(run("kb", "show", "BAAI/bge-m3", "--json").stdout)
    assert {"zero_shot_pct", "self_reported", "comparable", "language"} <= set(data["scores"][0])
    code = json.loads(run("kb", "query", 'trained_for=code score."MTEB(Code, v1)">60', "--json").stdout)
    assert code and all("code" in m["trained_for"] for m in code)
    retired = json.loads(run("kb", "query", "lifecycle=retired", "--json").stdout)
    assert "google/text-embedding-004" in {m["id"] for m in retired}
    assert all(m["lifecycle"] == "active" for m in json.loads(run("kb", "query", "lifecycle=active limit=20",
                                                                    "--json").stdout))
    report = json.loads(run("kb", "curation-report", "--json").stdout)
    assert report["models"] >= 400 and report["by_kind"]["card"] > 0 and "mteb" in report["by_kind"]
    assert report["open_weights_trust_remote_code_uncurated"] == 0
